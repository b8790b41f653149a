"""The console follows a task's whole life, reassigns from the board, beeps for critical tasks
when asked to, and charts the year's figures: in a real browser (Playwright, Debian chromium).
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator
from typing import Any

import pytest

from shared.contracts.cases import Escalation, TaskEscalated, TaskOverdue
from shared.events import Envelope, EventData, utcnow
from tests.integration.sse import serving
from tests.integration.test_console import ARTIFACTS, chromium_path
from tests.support import REPORT, Gateway, eventually, resident_id

playwright_api = pytest.importorskip("playwright.async_api")

# Counts the oscillators the page starts, in an attribute the test reads by selector (the
# page's CSP forbids evaluated strings). Injected before the page's own script.
COUNT_BEEPS = """
const original = AudioContext.prototype.createOscillator;
AudioContext.prototype.createOscillator = function (...args) {
  const root = document.documentElement;
  root.dataset.beeps = String(Number(root.dataset.beeps || 0) + 1);
  return original.apply(this, args);
};
"""


NOTICES = (("schools", "school_inspections"), ("venues", "venue_inspections"))


@pytest.fixture
async def page() -> AsyncIterator[Any]:
    executable = chromium_path()
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        context = await browser.new_context(viewport={"width": 1280, "height": 800})
        await context.add_init_script(COUNT_BEEPS)
        try:
            yield await context.new_page()
        finally:
            await browser.close()


async def _ready(app: Any) -> bool:
    return bool(app.state.stream.ready.is_set())


async def sign_in(page: Any, base: str, user: str = "dispatcher1") -> None:
    await page.goto(f"{base}/console")
    await page.fill("#username", user)
    await page.fill("#password", "demo")
    await page.press("#password", "Enter")
    await page.wait_for_selector('#conn[data-state="live"]', timeout=10_000)


async def file_child(gateway: Gateway, n: int, **fields: Any) -> list[dict[str, Any]]:
    """A report about child number `n` (another ID number each: the same child again would
    join its open tasks instead of starting new ones); its two tasks."""
    student = {"name": f"Child {n}", "id_number": resident_id(n)}
    r = await gateway.file("teacher1", {**REPORT, "student": student, **fields})
    assert r.status_code == 201, r.text
    return await gateway.tasks_of(r.json()["id"], 2)


def row(task_id: str) -> str:
    return f'#rows tr[data-task="{task_id}"]'


async def publish(gateway: Gateway, data: EventData) -> None:
    bus = gateway.apps["case_tracking"].state.runtime.bus  # the subject's real owner
    await bus.publish(
        Envelope.wrap(data, source="case_tracking", subject="test", correlation_id="test")
    )


async def test_the_desk_reassigns_from_the_board_and_rows_follow_each_task_event(
    gateway: Gateway, page: Any
) -> None:
    app = gateway.apps["gateway"]
    await eventually(lambda: _ready(app))
    async with serving(app) as base:
        await sign_in(page, base)
        tasks = await file_child(gateway, 1)
        police = next(t for t in tasks if t["agency"] == "police")
        social = next(t for t in tasks if t["agency"] == "social_work")
        await page.locator(row(social["id"])).wait_for(timeout=5000)

        await page.locator(f"{row(social['id'])} button.reassign").focus()  # by keyboard
        await page.keyboard.press("Enter")
        await page.locator("#reassign").wait_for()
        assert await page.get_attribute("#reassign-to", "id") == "reassign-to"
        assert "新的承办人" in await page.inner_text('label[for="reassign-to"]')
        await page.select_option("#reassign-to", label="org-sunflower")
        await page.click("#reassign-submit")
        await page.locator("#reassign").wait_for(state="hidden")
        assignee = f"{row(social['id'])} td.assignee"
        await page.locator(f'{assignee}:text-is("org-sunflower")').wait_for(timeout=5000)
        read = await gateway.get("dispatcher1", f"/v1/tasks/{social['id']}")
        assert read.json()["assignee_org_id"] == "org-sunflower"

        # Escalated and overdue stand out.
        await publish(
            gateway,
            TaskEscalated(
                task_id=social["id"],
                case_id=social["case_id"],
                title=social["title"],
                risk_level=social["risk_level"],
                level=Escalation.supervisor,
                ack_due_at=utcnow(),
            ),
        )
        await page.locator(f"{row(social['id'])}.escalated").wait_for(timeout=5000)
        assert "已上报主管" in await page.inner_text(row(social["id"]))
        await publish(
            gateway,
            TaskOverdue(
                task_id=police["id"],
                case_id=police["case_id"],
                title=police["title"],
                assignee_user_id=police["assignee_user_id"],
                assignee_org_id=None,
                due_at=utcnow() - datetime.timedelta(minutes=1),
            ),
        )
        await page.locator(f"{row(police['id'])}.late").wait_for(timeout=5000)

        # Declined: it stays, for the desk to reassign; reassigned over the API: the row shows
        # the new assignee; cancelled, acknowledged: it leaves.
        reason = {"reason": "Not our district"}
        path = f"/v1/tasks/{social['id']}"
        assert (await gateway.call("social2", "POST", f"{path}/decline", json=reason)).is_success
        await page.locator(f"{row(social['id'])}.declined").wait_for(timeout=5000)
        assert "已退回" in await page.inner_text(row(social["id"]))
        moved = {"assignee_org_id": "org-harbour"}
        assert (
            await gateway.call("dispatcher1", "POST", f"{path}/reassign", json=moved)
        ).is_success
        await page.locator(f'{assignee}:text-is("org-harbour")').wait_for(timeout=5000)
        assert not await page.locator(f"{row(social['id'])}.declined").count()
        assert (await gateway.call("dispatcher1", "POST", f"{path}/cancel", json=reason)).is_success
        await page.locator(row(social["id"])).wait_for(state="detached", timeout=5000)
        ack = f"/v1/tasks/{police['id']}/ack"
        assert (await gateway.call("officer1", "POST", ack)).is_success
        await page.locator(row(police["id"])).wait_for(state="detached", timeout=5000)
        assert "Not our district" not in await page.content()


async def test_a_beep_for_each_critical_case_only_when_the_sound_is_on(
    gateway: Gateway, page: Any
) -> None:
    app = gateway.apps["gateway"]
    await eventually(lambda: _ready(app))
    async with serving(app) as base:
        await sign_in(page, base)
        assert not await page.is_checked("#sound")  # off by default
        quiet = await file_child(gateway, 11, severity="critical")
        await page.locator(row(quiet[0]["id"])).wait_for(timeout=5000)
        assert await page.get_attribute("html", "data-beeps") is None

        await page.check("#sound")
        loud = await file_child(gateway, 12, severity="critical")
        for task in loud:  # two tasks of one case: one beep
            await page.locator(row(task["id"])).wait_for(timeout=5000)
        assert await page.get_attribute("html", "data-beeps") == "1"
        mild = await file_child(gateway, 13, severity="medium")
        await page.locator(row(mild[0]["id"])).wait_for(timeout=5000)
        assert await page.get_attribute("html", "data-beeps") == "1"

        await sign_in(page, base)  # a new page: the toggle is remembered for this user
        assert await page.is_checked("#sound")
        await page.uncheck("#sound")
        off = await file_child(gateway, 14, severity="critical")
        await page.locator(row(off[0]["id"])).wait_for(timeout=5000)
        assert await page.get_attribute("html", "data-beeps") is None


async def test_the_years_figures_are_charted_with_the_apis_numbers(
    gateway: Gateway, page: Any
) -> None:
    app = gateway.apps["gateway"]
    await eventually(lambda: _ready(app))
    police = next(t for t in await file_child(gateway, 21) if t["agency"] == "police")
    assert (await gateway.call("officer1", "POST", f"/v1/tasks/{police['id']}/ack")).is_success
    await file_child(gateway, 22, category="truancy", severity="high")
    year = utcnow().year

    async def counted() -> dict[str, Any] | None:
        figures: dict[str, Any] = (await gateway.get("dispatcher1", "/v1/stats", year=year)).json()
        acked = any(f.get("ack_median_s") is not None for f in figures["tasks_by_kind"].values())
        return figures if sum(figures["reports_by_severity"].values()) >= 2 and acked else None

    figures = await eventually(counted)
    async with serving(app) as base:
        await sign_in(page, base)
        await page.locator("#figures-open").focus()  # reachable by keyboard
        await page.keyboard.press("Enter")
        await page.locator("#chart-category g.bar").first.wait_for(timeout=5000)
        assert await page.inner_text("#chart-category figcaption") == "报告按类别"

        expected = {
            "category": figures["reports_by_category"],
            "severity": figures["reports_by_severity"],
            "ack": {
                f"{kind}.{which}": f[f"ack_{which}_s"]
                for kind, f in figures["tasks_by_kind"].items()
                for which in ("median", "p90")
                if f.get(f"ack_{which}_s") is not None
            },
            "notices": {
                f"{where}.{what}": figures[field][what]
                for where, field in NOTICES
                for what in ("notices_issued", "notices_closed", "notices_overdue")
            },
            "video": {
                "video_days_logged": figures["video_days_logged"],
                "video_days_complete": figures["video_days_complete"],
            },
        }  # fmt: skip
        for chart, numbers in expected.items():
            assert await _bars(page, chart) == {k: float(v) for k, v in numbers.items()}, chart
        for key, value in figures["reports_by_category"].items():
            label = await page.get_attribute(f'#chart-category g[data-key="{key}"]', "aria-label")
            assert label is not None
            assert label.endswith(f": {value:,}")
        assert await page.get_attribute("#chart-category svg", "role") == "img"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        await page.locator("#figures").screenshot(path=str(ARTIFACTS / "figures.png"))

        await page.click("#lang")
        await page.locator("html[lang=en]").wait_for(state="attached")
        await page.locator('#chart-category figcaption:text-is("Reports by category")').wait_for()
        assert "Bullied" in await page.inner_text("#chart-category")


async def _bars(page: Any, chart: str) -> dict[str, float]:
    bars = page.locator(f"#chart-{chart} g.bar")
    found: dict[str, float] = {}
    for i in range(await bars.count()):
        bar = bars.nth(i)
        found[str(await bar.get_attribute("data-key"))] = float(
            str(await bar.get_attribute("data-value"))
        )
    return found
