"""The daily video patrol through the gateway on real NATS and SQLite: a student seen at risk
becomes a concern report with its case and tasks (school_liaison, over JetStream); a hazard a
rectification notice the school sees; the desk's alert names the unchecked schools, once; the
day's log and the days; 422s naming the field."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from services.patrol.video.domain import VideoConfig, local_day
from services.patrol.video.sweep import sweep_missing
from shared.events import utcnow
from tests.support import Gateway, eventually


def config_of(gateway: Gateway) -> VideoConfig:
    config: VideoConfig = gateway.apps["patrol"].state.video_config
    return config


async def record(gateway: Gateway, school: str, *findings: dict[str, Any]) -> dict[str, Any]:
    body = {"school_id": school, "findings": list(findings)}
    r = await gateway.call("officer7", "POST", "/v1/video-patrol/checks", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def names(r: Any, field: str) -> None:
    assert r.status_code == 422, r.text
    assert [d["loc"][-1] for d in r.json()["detail"]] == [field]


async def test_a_student_seen_at_risk_becomes_a_case_with_tasks(gateway: Gateway) -> None:
    seen = {
        "kind": "student_at_risk",
        "note": "A girl alone on the roof edge",
        "category": "self_harm",
    }
    done = await record(gateway, "sch-01", seen)
    report_id = done["findings"][0]["report_id"]
    tasks = await gateway.tasks_of(report_id, 2)
    assert {t["agency"] for t in tasks} == {"police", "social_work"}
    report = (await gateway.get("teacher1", f"/v1/reports/{report_id}")).json()
    assert (report["school_id"], report["category"], report["severity"]) == (
        "sch-01",
        "self_harm",
        "critical",
    )
    assert report["filed_by"] == "officer7"
    assert report["student"]["name"].startswith("Unidentified student")


async def test_a_hazard_becomes_a_notice_the_school_fixes(gateway: Gateway) -> None:
    hazard = {"kind": "hazard", "note": "Fire exit chained shut", "deadline_days": 2}
    done = await record(gateway, "sch-01", hazard)
    notice_id = done["findings"][0]["notice_id"]
    [notice] = (await gateway.get("safety1", "/v1/rectifications", status="open")).json()
    assert (notice["id"], notice["item"], notice["inspection_id"]) == (
        notice_id,
        "video_hazard",
        done["id"],
    )
    r = await gateway.call(
        "safety1", "POST", f"/v1/rectifications/{notice_id}/fixed", json={"note": "Unchained"}
    )
    assert r.status_code == 200, r.text
    r = await gateway.call(
        "officer1", "POST", f"/v1/rectifications/{notice_id}/reinspect", json={"passed": True}
    )
    assert r.json()["status"] == "closed"


async def test_the_desk_is_told_which_schools_were_not_checked_once(gateway: Gateway) -> None:
    config = config_of(gateway)
    for school in config.schools[:-2]:
        await record(gateway, school)
    today = local_day(utcnow(), config.zone)
    late = datetime.combine(today, time(23, 59, 59), tzinfo=config.zone)
    runtime = gateway.apps["patrol"].state.runtime
    assert await sweep_missing(runtime, config=config, now=late) == today
    assert await sweep_missing(runtime, config=config, now=late + timedelta(seconds=0.5)) is None

    async def told() -> list[dict[str, Any]]:
        inbox = (await gateway.get("dispatcher1", "/v1/notifications")).json()
        return [n for n in inbox if n["kind"] == "video_patrol_missing"]

    [alert] = await eventually(told)
    assert alert["title"].endswith("sch-20, sch-21")
    log = (await gateway.get("dispatcher1", f"/v1/video-patrol/days/{today}")).json()
    assert (len(log["checked"]), log["missing"], log["schools"]) == (19, ["sch-20", "sch-21"], 21)
    [day] = (await gateway.get("supervisor1", "/v1/video-patrol/days")).json()
    assert (day["checked"], day["complete"]) == (19, False)
    assert day["missing_alerted_at"] is not None


async def test_bad_video_patrol_input_is_a_422_naming_the_field(gateway: Gateway) -> None:
    tomorrow = local_day(utcnow(), config_of(gateway).zone) + timedelta(days=1)
    path = "/v1/video-patrol/checks"
    for body, field in (
        ({"school_id": "sch-99"}, "school_id"),
        ({"school_id": "sch-01", "day": tomorrow.isoformat()}, "day"),
        ({"school_id": "sch-01", "findings": [{"kind": "fire", "note": "x"}]}, "kind"),
        (
            {
                "school_id": "sch-01",
                "findings": [{"kind": "other", "note": "x", "deadline_days": 3}],
            },
            "findings",
        ),
    ):
        names(await gateway.call("officer7", "POST", path, json=body), field)
    await record(gateway, "sch-01")
    again = await gateway.call("officer7", "POST", path, json={"school_id": "sch-01"})
    assert again.status_code == 409
    names(
        await gateway.get("dispatcher1", "/v1/video-patrol/days", **{"from": "2026-13-01"}), "from"
    )
    assert (await gateway.get("dispatcher1", "/v1/video-patrol/days/yesterday")).status_code == 422
