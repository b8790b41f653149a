"""Property-based fuzzing of the public API (schemathesis, bounded): whatever a client sends,
the gateway answers without a server error and every answer matches the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from deploy.launcher import Platform, Ports
from gateway.access import ROLES_KEY
from shared.identity import Role
from tests.support import USER_OF

EXAMPLES = 25  # per operation: bounded, a few seconds in all


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    env = {  # the fuzzer is one very busy client: let it through the rate limits
        "HULEI_GATEWAY_RATE_PER_S": "100000",
        "HULEI_GATEWAY_RATE_BURST": "100000",
        "HULEI_GATEWAY_LOGIN_MAX_FAILURES": "100000",
    }
    platform = Platform(var_dir=tmp_path_factory.mktemp("fuzz"), ports=Ports.free(), extra_env=env)
    platform.start()
    try:
        yield platform
    finally:
        platform.stop()


@pytest.fixture(scope="module")
def tokens(fuzzed: Platform) -> dict[str, str]:
    found = {}
    for user in USER_OF.values():
        form = {"username": user, "password": "demo"}
        r = httpx.post(f"{fuzzed.gateway_url}/v1/auth/token", data=form)
        found[user] = r.json()["access_token"]
    return found


def fuzzer(operation: Any, base_url: str, headers: dict[str, str]) -> Any:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def fuzz(case: Any) -> None:
        case.call_and_validate(
            base_url=base_url,
            headers=headers,
            checks=[not_a_server_error, response_schema_conformance],
        )

    return fuzz


def test_no_server_error_and_every_answer_matches_the_schema(
    fuzzed: Platform, tokens: dict[str, str]
) -> None:
    api = schemathesis.openapi.from_url(f"{fuzzed.gateway_url}/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in api.get_all_operations():
        operation = result.ok()
        operations += 1
        roles = operation.definition.raw.get(ROLES_KEY) or []
        # Call as a role the endpoint allows, so the fuzzer gets past the door to the handlers.
        user = USER_OF[Role(roles[0])] if roles else None
        headers = {"Authorization": f"Bearer {tokens[user]}"} if user else {}

        fuzz = fuzzer(operation, fuzzed.gateway_url, headers)
        try:
            fuzz()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    assert operations >= 20
    assert failures == [], "\n\n".join(failures)
