"""The console's texts come from its message catalogues: every key the page or script uses is
in both languages, and both catalogues have the same keys."""

from __future__ import annotations

import json
import re

from gateway.console import ASSETS, TYPES
from shared.contracts.cases import CaseStatus, DispositionKind, Escalation, TaskStatus
from shared.contracts.school import ReportCategory, Severity


def catalogue(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((ASSETS / "messages" / f"{lang}.json").read_text("utf-8"))
    return data


def test_both_catalogues_have_the_same_keys_and_no_empty_text() -> None:
    zh, en = catalogue("zh-CN"), catalogue("en")
    assert set(zh) == set(en)
    assert all(zh.values())
    assert all(en.values())


def test_every_key_the_page_and_script_name_is_in_the_catalogues() -> None:
    html = (ASSETS / "index.html").read_text("utf-8")
    script = "".join(p.read_text("utf-8") for p in sorted(ASSETS.glob("*.js")))
    used = set(re.findall(r'data-i18n="([^"]+)"', html))
    used |= set(re.findall(r'\bt\("([a-z_.]+)"', script))
    assert used, "the check found the keys"
    assert used - set(catalogue("zh-CN")) == set()


def test_the_page_loads_nothing_from_elsewhere_and_runs_no_inline_script() -> None:
    html = (ASSETS / "index.html").read_text("utf-8")
    assert "http://" not in html
    assert "https://" not in html
    assert re.search(r"<script(?![^>]*\bsrc=)", html) is None
    assert " style=" not in html
    for name in TYPES:
        assert (ASSETS / name).is_file(), name


def test_every_value_the_script_labels_by_family_has_a_text() -> None:
    """Keys built from a value (`status.${task.status}`): every value of each family."""
    families = {
        "status": [*TaskStatus, *CaseStatus],
        "risk": list(Severity),
        "category": list(ReportCategory),
        "disposition": list(DispositionKind),
        "badge.escalated": list(Escalation),
        "figures.escalation": list(Escalation),
        "alert": ["post_unstaffed", "video_patrol_missing", "rectification_overdue"],
        "figures.pending": [
            "tasks.completion_times", "escalations", "dispositions.by_kind",
            "cases.under_monitoring",
        ],
    }  # fmt: skip
    keys = set(catalogue("zh-CN"))
    missing = {f"{family}.{v}" for family, values in families.items() for v in values} - keys
    assert missing == set()
