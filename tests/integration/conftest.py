"""Fixtures for in-process integration tests against a real NATS server and a real store (SQLite
files, or PostgreSQL databases where a module asks for `every_store`).

NATS admits only the identities of shared/nats_auth.py: each in-process service connects as
itself, streams and durables are declared as `admin` first (`declared`), as deployments do.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from deploy.launcher import Platform
from deploy.streams import declare
from gateway.app import create_app as gateway_app
from gateway.settings import Settings as GatewaySettings
from services.case_tracking.app import create_app as case_tracking_app
from services.case_tracking.settings import Settings as CaseSettings
from services.notifications.app import create_app as notifications_app
from services.notifications.settings import Settings as NotificationSettings
from services.patrol.app import create_app as patrol_app
from services.patrol.settings import Settings as PatrolSettings
from services.school_liaison.app import create_app as school_app
from services.school_liaison.settings import Settings as SchoolSettings
from shared.bus import Bus
from shared.events import Envelope
from shared.nats_auth import ADMIN, REPLAYER, identities
from shared.runtime import Runtime, UnitOfWork, open_runtime
from shared.settings import BaseServiceSettings
from shared.timers import Timer
from tests.support import Gateway, NatsLogin, StoreUrl

RuntimeFactory = Callable[..., AbstractAsyncContextManager[Runtime]]


async def commit(rt: Runtime, *events: Envelope, timers: Sequence[Timer] = ()) -> None:
    """`events` announced and `timers` armed by one unit of work of `rt`, as a service does."""

    async def work(uow: UnitOfWork) -> None:
        uow.emit(*events)
        uow.schedule(*timers)

    await rt.transact(work)


@pytest.fixture
def nats_login(nats_server: Platform) -> NatsLogin:
    """Settings fields that make a process connect as NATS identity `user`."""

    def login(user: str) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "nats_user": user,
            "nats_password": nats_server.nats_passwords[user],
        }
        if user == "gateway":
            fields["replayer_nats_user"] = REPLAYER
            fields["replayer_nats_password"] = nats_server.nats_passwords[REPLAYER]
        return fields

    return login


@pytest.fixture
async def declared(nats_server: Platform) -> Platform:
    """Every stream and durable consumer declared, as `admin`."""
    await declare(nats_server.nats_url, 1, **nats_server.credentials(ADMIN))
    return nats_server


@pytest.fixture
async def admin_bus(nats_server: Platform) -> AsyncIterator[Bus]:
    """A bus as `admin`, for tests that inspect streams no service may read."""
    bus = Bus(url=nats_server.nats_url, name="test-admin", **nats_server.credentials(ADMIN))
    await bus.connect()
    yield bus
    await bus.close()


@pytest.fixture
def runtime_factory(nats_url: str, store_url: StoreUrl, nats_login: NatsLogin) -> RuntimeFactory:
    """Open a runtime (store + bus + relay) against the test's NATS server.

    Named after a process, it connects as that process's identity and binds to the declared
    durables; any other name is a test harness for the bus itself: it connects as `admin` and
    declares what it consumes (ad-hoc test consumers).
    """
    users = {i.user for i in identities()}

    @asynccontextmanager
    async def make(name: str = "svc", **overrides: object) -> AsyncIterator[Runtime]:
        declare = name not in users
        settings = BaseServiceSettings(
            demo_mode=True,
            nats_url=nats_url,
            store_url=await store_url(name),
            **nats_login(ADMIN if declare else name),
            **overrides,  # type: ignore[arg-type]
        )
        async with open_runtime(settings, name=name, declare=declare) as rt:
            yield rt

    return make


@pytest.fixture
async def runtime(runtime_factory: RuntimeFactory) -> AsyncIterator[Runtime]:
    async with runtime_factory("svc", max_deliver=3) as rt:
        yield rt


@pytest.fixture
def case_tracking_settings() -> dict[str, Any]:
    """Extra case_tracking settings for the `gateway` fixture; a module overrides it (e.g. to
    scale task deadlines down to seconds)."""
    return {}


@pytest.fixture
def notifications_options() -> dict[str, Any]:
    """Extra arguments of notifications' create_app for the `gateway` fixture (a module gives
    its webhook tests a clock of their own)."""
    return {}


@pytest.fixture
def demo_data() -> dict[str, bool]:
    """Which demo data the `gateway` fixture's services seed: none (their own tests seed
    them; many events no other test needs); a module overrides it. The settings classes
    ignore the fields of others."""
    return {
        "demo_programme": False,
        "demo_cases": False,
        "demo_casework": False,
        "demo_inspections": False,
        "demo_video": False,
        "demo_venues": False,
        "demo_shifts": False,
    }


@pytest.fixture
async def gateway(
    nats_url: str,
    store_url: StoreUrl,
    declared: Platform,  # noqa: ARG001 - the streams exist before the apps start
    nats_login: NatsLogin,
    case_tracking_settings: dict[str, Any],
    notifications_options: dict[str, Any],
    demo_data: dict[str, bool],
) -> AsyncIterator[Gateway]:
    urls = {
        name: await store_url(name)
        for name in ("school_liaison", "case_tracking", "patrol", "notifications", "gateway")
    }

    def common(name: str) -> dict[str, Any]:
        return {
            **nats_login(name),
            "demo_mode": True,
            "nats_url": nats_url,
            "store_url": urls[name],
            # Fail fast: a poison event is dead-lettered after two quick deliveries.
            "max_deliver": 2,
            "retry_base_s": 0.05,
            **demo_data,
            # The unchecked-schools alert only when a test sweeps with its own clock.
            "video_check_by": "23:59:59",
            # Partner webhooks to the tests' own receivers (127.0.0.1); quick rounds.
            "webhook_allow_hosts": "127.0.0.1",
            "webhook_poll_s": 0.05,
            "webhook_timeout_s": 1.0,
        }

    apps: dict[str, FastAPI] = {
        "school_liaison": school_app(SchoolSettings(**common("school_liaison"))),
        "case_tracking": case_tracking_app(
            CaseSettings(**common("case_tracking"), **case_tracking_settings)
        ),
        "patrol": patrol_app(PatrolSettings(**common("patrol"))),
        "notifications": notifications_app(
            NotificationSettings(**common("notifications")), **notifications_options
        ),
    }
    transports: dict[str, httpx.AsyncBaseTransport] = {
        name: httpx.ASGITransport(app=app) for name, app in apps.items()
    }
    # The suite's users make hundreds of calls each as fast as the host runs them: at the
    # default 20 a second past a burst of 60, a fast host got 429s where a slow one did not
    # (the authorization matrix). The limiter is tested on its own (tests/unit/gateway/
    # test_limits.py) and through the gateway with a budget of its own (test_gateway_hardening).
    unlimited = GatewaySettings(**common("gateway"), rate_per_s=1e6, rate_burst=10**6)
    front = gateway_app(unlimited, transports=transports)
    async with AsyncExitStack() as stack:
        for app in [*apps.values(), front]:
            await stack.enter_async_context(app.router.lifespan_context(app))
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=front), base_url="http://gateway"
        )
        stack.push_async_callback(client.aclose)
        yield Gateway(client, {**apps, "gateway": front})
