"""Schemathesis hooks for the contract test (loaded by its CLI through SCHEMATHESIS_HOOKS).

- `cn-resident-id`: the document's named format for the resident ID number, generated valid
  (17 digits and their check digit, GB 11643), so positive data is what a school would send.
- `date` and `date-time`: generated within the years the document's pattern admits
  (1900-2200), rather than drawn from all of 0001-9999 and mostly filtered away.
- `refusals_name_declared_rules`: schemathesis's positive-data check lets a 422 pass for the
  operations that declare rules (`x-hulei-rules`, what JSON Schema cannot say); this check
  holds such a 422 to naming only those declared fields, so an undocumented constraint still
  fails.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import schemathesis
from hypothesis import strategies as st

from gateway.access import RULES_KEY
from shared.contracts.school import RESIDENT_ID_FORMAT, resident_id_check

RESIDENT_IDS = st.from_regex(r"\A[0-9]{17}\Z").map(lambda first: first + resident_id_check(first))
DAYS = st.dates(min_value=date(1900, 1, 2), max_value=date(2200, 12, 30))
ZONES = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5))])
MOMENTS = st.datetimes(
    min_value=datetime(1900, 1, 2),
    max_value=datetime(2200, 12, 30),
    timezones=ZONES,
)

schemathesis.openapi.format(RESIDENT_ID_FORMAT, RESIDENT_IDS)
schemathesis.openapi.format("date", DAYS.map(date.isoformat))
schemathesis.openapi.format("date-time", MOMENTS.map(datetime.isoformat))


def where(loc: list[Any]) -> str:
    """A problem's `loc` as `x-hulei-rules` keys it: `body.student.id_number`, lists as `*`."""
    return ".".join("*" if isinstance(part, int) else str(part) for part in loc)


@schemathesis.check
def refusals_name_declared_rules(ctx: Any, response: Any, case: Any) -> bool | None:  # noqa: ARG001 - schemathesis's signature
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    rules = case.operation.definition.raw.get(RULES_KEY) or {}
    named = {where(problem["loc"]) for problem in response.json()["detail"]}
    undeclared = sorted(named - set(rules))
    if undeclared:
        raise AssertionError(f"schema-valid data refused at {undeclared}: not in {RULES_KEY}")
    return None
