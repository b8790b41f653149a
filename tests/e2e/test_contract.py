"""The public API's contract, checked from outside on the platform as `make run` starts it.

- A typed client generated from `/openapi.json` by a maintained generator (openapi-python-client)
  runs the core flow with its functions and models only: if the document drifts from what the
  gateway answers (a renamed field, a status or body it does not describe, an operation it
  cannot generate), it breaks. It runs first, on the demo data as started.
- schemathesis, bounded (tests/e2e/fuzzing.py): whatever a client sends, the gateway answers
  without a server error and every answer matches the document, as every role and an outsider.
- JSON values schemathesis does not generate are 422s naming the field.

One platform for all of them: they only call the public API, as partners do.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.launcher import Platform, Ports
from tests.e2e.fuzzing import DEEP, SHORT, contract_holds, json_bodies, unsendable_sender
from tests.e2e.partner import Partner, generated_client, ok
from tests.support import USER_OF, eventually_sync


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    env = {  # the fuzzer is one very busy client: let it through the rate limits
        "HULEI_GATEWAY_RATE_PER_S": "100000",
        "HULEI_GATEWAY_RATE_BURST": "100000",
        "HULEI_GATEWAY_LOGIN_MAX_FAILURES": "100000",
        "HULEI_GATEWAY_LOGIN_SOURCE_MAX_FAILURES": "100000",
    }
    with Platform(var_dir=tmp_path_factory.mktemp("var"), ports=Ports.free(), extra_env=env) as p:
        yield p


@pytest.fixture(scope="module")
def tokens(platform: Platform) -> dict[str, str]:
    found = {}
    for user in USER_OF.values():
        form = {"username": user, "password": "demo"}
        r = httpx.post(f"{platform.gateway_url}/v1/auth/token", data=form)
        found[user] = r.json()["access_token"]
    return found


@pytest.mark.timeout(180)
def test_the_core_flow_runs_through_a_client_generated_from_the_document(
    platform: Platform, tmp_path: Path
) -> None:
    with generated_client(platform.gateway_url, tmp_path) as generated:
        core_flow(Partner(generated, platform.gateway_url))


def core_flow(partner: Partner) -> None:
    m = partner.model
    teacher, desk = partner.as_user("teacher1"), partner.as_user("dispatcher1")
    officer, social = partner.as_user("officer1"), partner.as_user("social1")

    list_schools = partner.op("schools", "list_schools_v1_schools_get")
    schools = list_schools.sync(client=teacher)
    assert [s.id for s in schools] == ["sch-01"]
    assert isinstance(schools[0], m("SchoolView"))
    # The registry's write, as a partner's admin tooling would call it.
    admin = partner.as_user("admin1")
    new = m("SchoolCreate")(
        id="sch-90",
        name="Generated School",
        district="Xijie station district",
        community_officer_id="officer2",
        social_org_id="org-harbour",
    )
    register = partner.op("schools", "register_school_v1_schools_post")
    made = ok(register.sync_detailed(client=admin, body=new), m("SchoolView"), 201)
    assert (made.id, made.is_liaison_station) == ("sch-90", False)
    taken = register.sync_detailed(client=admin, body=new)
    assert taken.status_code == 409
    assert isinstance(taken.parsed, m("Error"))
    assert "sch-90" in {s.id for s in list_schools.sync(client=admin, limit=500)}

    body = m("ReportCreate")(
        school_id="sch-01",
        category=m("ReportCategory").SELF_HARM,
        description="Cuts on both forearms, seen in PE",
        student=m("StudentDetails")(name="Gao Yan", grade="Grade 8"),
    )
    file_report = partner.op("reports", "file_report_v1_reports_post")
    first = file_report.sync_detailed(client=teacher, body=body, idempotency_key="gen-client-1")
    report = ok(first, m("ReportView"), 201)
    again = file_report.sync_detailed(client=teacher, body=body, idempotency_key="gen-client-1")
    assert ok(again, m("ReportView"), 201).id == report.id  # a retry files nothing new
    assert report.school_id == "sch-01"
    assert report.category == m("ReportCategory").SELF_HARM
    assert report.student.name == "Gao Yan"

    read_report = partner.op("reports", "get_report_v1_reports_report_id_get")
    case_id = eventually_sync(
        lambda: read_report.sync(report.id, client=teacher).case_id, within=10
    )

    list_tasks = partner.op("tasks", "list_tasks_v1_tasks_get")

    def tasks_of(client: Any, **query: Any) -> list[Any]:
        return ok(list_tasks.sync_detailed(client=client, **query), list)  # type: ignore[no-any-return]

    def both_tasks() -> list[Any] | None:
        found = tasks_of(desk, case_id=case_id)
        return found if len(found) == 2 else None

    tasks = eventually_sync(both_tasks, within=10)
    assert all(isinstance(t, m("TaskView")) for t in tasks)
    police = next(t for t in tasks if t.agency == m("Agency").POLICE)
    assert police.assignee_user_id == "officer1"
    assert police.status == m("TaskStatus").OPEN
    assert police.risk_level == m("Severity").CRITICAL
    # Each assignee finds the task among their own.
    assert police.id in {t.id for t in tasks_of(officer)}
    social_task = next(t for t in tasks if t.agency == m("Agency").SOCIAL_WORK)
    assert social_task.id in {t.id for t in tasks_of(social)}

    get_case = partner.op("cases", "get_case_v1_cases_case_id_get")
    case = ok(get_case.sync_detailed(case_id, client=officer), m("CaseView"))
    assert case.report_ids == [report.id]
    assert case.status == m("CaseStatus").OPEN

    ack = partner.op("tasks", "acknowledge_task_v1_tasks_task_id_ack_post")
    start = partner.op("tasks", "start_task_v1_tasks_task_id_start_post")
    done = partner.op("tasks", "complete_task_v1_tasks_task_id_done_post")
    acked = ok(ack.sync_detailed(police.id, client=officer), m("TaskView"))
    assert acked.status == m("TaskStatus").ACKNOWLEDGED
    assert acked.acknowledged_by == "officer1"
    started = ok(start.sync_detailed(police.id, client=officer), m("TaskView"))
    assert started.status == m("TaskStatus").IN_PROGRESS
    outcome = m("TaskDone")(outcome="Home visit made; parents agreed to a counselling plan")
    finished = ok(done.sync_detailed(police.id, client=officer, body=outcome), m("TaskView"))
    assert finished.status == m("TaskStatus").DONE
    assert finished.finished_by == "officer1"

    # The school sees feedback on its report: the police task done, nobody named.
    feedback = ok(get_case.sync_detailed(case_id, client=teacher), m("CaseFeedbackView"))
    assert feedback.report_ids == [report.id]
    mine = {t.id: t for t in feedback.tasks}
    assert mine[police.id].status == m("TaskStatus").DONE
    assert mine[police.id].acknowledged_at is not None
    assert "assignee_user_id" not in mine[police.id].additional_properties

    close = partner.op("cases", "close_case_v1_cases_case_id_close_post")
    reason = m("CaseClose")(reason="Family engaged with counselling; no further risk seen")
    refused = close.sync_detailed(case_id, client=desk, body=reason)
    assert refused.status_code == 403  # the desk may not close a case: the supervisor does
    assert isinstance(refused.parsed, m("Error"))
    closed = ok(
        close.sync_detailed(case_id, client=partner.as_user("supervisor1"), body=reason),
        m("CaseView"),
    )
    assert closed.status == m("CaseStatus").CLOSED
    assert closed.closed_at is not None
    after = ok(get_case.sync_detailed(case_id, client=teacher), m("CaseFeedbackView"))
    assert after.status == m("CaseStatus").CLOSED
    # The social-work task still open at closing was cancelled with the case.
    assert {t.id: t.status for t in after.tasks}[social_task.id] == m("TaskStatus").CANCELLED


@pytest.mark.timeout(900)
def test_the_contract_holds_for_every_caller(
    platform: Platform, tokens: dict[str, str], tmp_path: Path
) -> None:
    contract_holds(platform, tokens, tmp_path, depth=SHORT)


@pytest.mark.contract_deep
@pytest.mark.timeout(3600)
def test_the_contract_holds_for_every_caller_in_depth(
    platform: Platform, tokens: dict[str, str], tmp_path: Path
) -> None:
    contract_holds(platform, tokens, tmp_path, depth=DEEP)


def test_unsendable_json_values_are_422_naming_the_field(
    platform: Platform, tokens: dict[str, str]
) -> None:
    doc = httpx.get(f"{platform.gateway_url}/openapi.json").json()
    bodies = json_bodies(doc)
    assert len(bodies) >= 5
    with httpx.Client(base_url=platform.gateway_url) as http:
        for body in bodies:
            headers = {"Content-Type": "application/json"}
            if body.user:
                headers["Authorization"] = f"Bearer {tokens[body.user]}"
            unsendable_sender(http, body, headers)()
