"""Fuzzing the public API for tests/e2e/test_contract.py: schemathesis's configuration per
caller and depth, its run, and the JSON values schemathesis does not generate (NaN, Infinity,
lone surrogates), sent to every field of every JSON body."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from deploy.launcher import Platform
from gateway.access import ROLES_KEY, RULES_KEY
from shared.identity import Role
from tests.support import USER_OF

EXAMPLES = 25  # per operation: bounded, a few seconds in all
OUTSIDER_EXAMPLES = 1  # all 401s and 403s; ignored_auth also drops the token in every run
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Depth:
    """How far schemathesis goes beyond the coverage phase. That phase (boundary values, every
    kind of invalid input) is deterministic, the same whoever calls, and most of the run's
    requests: it runs in full at every depth, once per operation, as its first allowed role."""

    examples: int  # the fuzzing phase's, per operation and caller
    stateful_steps: int
    stateful_roles: frozenset[str] | None  # the roles whose runs chain calls; None: every role


# `make test`: every operation covered, one fuzzed example per operation and caller, and call
# chains as the roles that create what the others read. `make test-contract` (CI runs it too):
# more examples and longer chains, as every role.
SHORT = Depth(1, 10, frozenset({Role.admin, Role.teacher, Role.police_officer}))
DEEP = Depth(5, 25, None)


# Schemathesis's own defaults, and the 422 of a rule the operation declares (x-hulei-rules),
# which the hooks' `refusals_name_declared_rules` holds to naming only declared fields.
POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
OUTSIDER = "outsider"  # no token for the public operation, a role it may not use for the rest


def _toml(value: Any) -> str:
    """TOML for the few shapes a config needs (JSON strings are TOML basic strings)."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)


def operations_of(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for item in doc["paths"].values() for op in item.values()]


def outsider_of(roles: list[str]) -> str | None:
    """A role that may not call an operation: the fewest rights first, so it is a 403."""
    for role in reversed(list(Role)):
        if roles and role.value not in roles:
            return role.value
    return None


def contract_config(
    doc: dict[str, Any], *, caller: str, tokens: dict[str, str], depth: Depth
) -> str:
    """A schemathesis config: every operation `caller` may call (an outsider: each operation
    as a role it may not use, or without a token), all checks, stateful phase for roles."""
    stateful = caller != OUTSIDER and (
        depth.stateful_roles is None or caller in depth.stateful_roles
    )
    lines = [
        "seed = 1",
        "workers = 1",
        "request-timeout = 30",
        "max-stream-events = 3",
        "suppress-health-check = ['all']",
        "[cache]",
        "enabled = false",
        "[generation]",
        f"max-examples = {OUTSIDER_EXAMPLES if caller == OUTSIDER else depth.examples}",
        "deterministic = true",
        "[phases.stateful]",
        f"enabled = {'true' if stateful else 'false'}",
        f"max-steps = {depth.stateful_steps}",
    ]
    for op in operations_of(doc):
        roles = op.get(ROLES_KEY) or []
        as_role = outsider_of(roles) if caller == OUTSIDER else caller
        settings = []
        if caller != OUTSIDER and caller not in roles:
            settings.append("enabled = false")
        elif as_role is not None:
            token = tokens[USER_OF[Role(as_role)]]
            settings.append(f"headers = {_toml({'Authorization': f'Bearer {token}'})}")
        if caller != (roles[0] if roles else OUTSIDER):  # coverage: once per operation
            settings.append("phases.coverage.enabled = false")
        if op.get(RULES_KEY):
            expected = [*POSITIVE_STATUSES, "422"]
            settings.append(
                f"checks.positive_data_acceptance.expected-statuses = {_toml(expected)}"
            )
        if op["operationId"].startswith("stream_v1_stream"):  # a live stream never ends
            settings.append(f"parameters = {_toml({'replay_only': True})}")
        if settings:
            lines += ["[[operations]]", f"include-operation-id = {_toml(op['operationId'])}"]
            lines += settings
    return "\n".join(lines) + "\n"


def run_schemathesis(url: str, config: Path) -> subprocess.CompletedProcess[str]:
    cli = Path(sys.executable).parent / "schemathesis"
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.e2e.fuzz_hooks", "PYTHONPATH": str(ROOT)}
    args = [str(cli), "--config-file", str(config), "run", f"{url}/openapi.json"]
    args += ["--checks", "all", "--output-truncate", "true", "--no-color"]
    return subprocess.run(
        args, env=env, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False
    )


CALLERS = [*(r.value for r in Role), OUTSIDER]


def longest_first(doc: dict[str, Any]) -> list[str]:
    """The callers, the longest run first, so that two at a time end together. A run's length
    is mostly its coverage phase (dozens of requests an operation), then its operations."""
    ops = [op.get(ROLES_KEY) or [] for op in operations_of(doc)]
    covers = {c: sum(1 for roles in ops if roles and roles[0] == c) for c in CALLERS}
    calls = {c: sum(1 for roles in ops if c in roles) for c in CALLERS}
    return sorted(CALLERS, key=lambda c: (covers[c], calls[c]), reverse=True)


# Per caller: every operation it may call, every check schemathesis has, its four phases. Two
# callers' runs at a time, each its own process with one worker: schemathesis's threads race
# in CPython's compiler (hypothesis parses lambdas' source), an error that reads as a failure.
def contract_holds(platform: Platform, tokens: dict[str, str], work: Path, *, depth: Depth) -> None:
    doc = httpx.get(f"{platform.gateway_url}/openapi.json").json()

    def run(caller: str) -> tuple[str, subprocess.CompletedProcess[str]]:
        config = work / f"{caller}.toml"
        config.write_text(contract_config(doc, caller=caller, tokens=tokens, depth=depth))
        return caller, run_schemathesis(platform.gateway_url, config)

    with ThreadPoolExecutor(max_workers=2) as pool:
        done = dict(pool.map(run, longest_first(doc)))
    failed = {caller: failures_of(answer) for caller, answer in done.items() if answer.returncode}
    assert failed == {}, "\n\n".join(f"== as {c}\n{text}" for c, text in failed.items())


def failures_of(answer: subprocess.CompletedProcess[str]) -> str:
    """The failures and errors schemathesis reports, without the rest of its output."""
    out = answer.stdout
    start = min(
        (i for i in (out.find("= FAILURES ="), out.find("= ERRORS =")) if i >= 0), default=0
    )
    return (out[start:][:15000] or out[-5000:]) + answer.stderr[-3000:]


# Valid JSON text that Python parses but that cannot be stored or sent on.
UNSENDABLE = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", '"\\ud800"', '"x\\udc00"'])


class Body(NamedTuple):
    method: str
    path: str  # with dummy ids
    fields: list[str]  # top-level, of each item where the body is an array (a batch)
    user: str | None  # a role allowed to call
    batch: bool


def json_bodies(doc: dict[str, Any]) -> list[Body]:
    """Every JSON body."""
    schemas = doc["components"]["schemas"]
    found = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            content = op.get("requestBody", {}).get("content", {}).get("application/json")
            if content is None:
                continue
            schema = content["schema"]
            batch = schema.get("type") == "array"
            schema = schema["items"] if batch else schema
            if "$ref" in schema:
                schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
            roles = op.get(ROLES_KEY) or []
            user = USER_OF[Role(roles[0])] if roles else None
            filled = path.replace("{", "").replace("}", "")
            found.append(Body(method.upper(), filled, list(schema["properties"]), user, batch))
    return found


def unsendable_sender(http: httpx.Client, body: Body, headers: dict[str, str]) -> Any:
    @given(field=st.sampled_from(body.fields), bad=UNSENDABLE, nested=st.booleans())
    @settings(max_examples=EXAMPLES, deadline=None, database=None)
    def sends(field: str, bad: str, nested: bool) -> None:
        value = f'{{"inner": [1, {bad}]}}' if nested else bad
        content = f'{{"{field}": {value}}}'
        content = f"[{content}]" if body.batch else content
        r = http.request(body.method, body.path, content=content, headers=headers)
        assert r.status_code == 422, (body, field, bad, r.text)
        loc = ["body", field, "inner", 1] if nested else ["body", field]
        where = [*loc[:1], 0, *loc[1:]] if body.batch else loc
        assert r.json()["detail"][0]["loc"] == where

    return sends
