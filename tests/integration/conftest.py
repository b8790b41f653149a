"""Fixtures for in-process integration tests against a real NATS server and a real store (SQLite
files, or PostgreSQL databases where a module asks for `every_store`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

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
from shared.runtime import Runtime, open_runtime
from shared.settings import BaseServiceSettings
from tests.support import Gateway, StoreUrl

RuntimeFactory = Callable[..., AbstractAsyncContextManager[Runtime]]


@pytest.fixture
def runtime_factory(nats_url: str, store_url: StoreUrl) -> RuntimeFactory:
    """Open a service runtime (store + bus + relay) against the test's NATS server."""

    @asynccontextmanager
    async def make(name: str = "svc", **overrides: object) -> AsyncIterator[Runtime]:
        settings = BaseServiceSettings(
            demo_mode=True,
            nats_url=nats_url,
            store_url=await store_url(name),
            **overrides,  # type: ignore[arg-type]
        )
        async with open_runtime(settings, name=name) as rt:
            yield rt

    return make


@pytest.fixture
async def runtime(runtime_factory: RuntimeFactory) -> AsyncIterator[Runtime]:
    async with runtime_factory("svc", max_deliver=3) as rt:
        yield rt


@pytest.fixture
async def gateway(nats_url: str, store_url: StoreUrl) -> AsyncIterator[Gateway]:
    urls = {
        name: await store_url(name)
        for name in ("school_liaison", "case_tracking", "patrol", "notifications", "gateway")
    }

    def common(name: str) -> dict[str, Any]:
        return {
            "demo_mode": True,
            "nats_url": nats_url,
            "store_url": urls[name],
            # Fail fast: a poison event is dead-lettered after two quick deliveries.
            "max_deliver": 2,
            "retry_base_s": 0.05,
        }

    apps: dict[str, FastAPI] = {
        "school_liaison": school_app(SchoolSettings(**common("school_liaison"))),
        "case_tracking": case_tracking_app(CaseSettings(**common("case_tracking"))),
        "patrol": patrol_app(PatrolSettings(**common("patrol"))),
        "notifications": notifications_app(NotificationSettings(**common("notifications"))),
    }
    transports = {name: httpx.ASGITransport(app=app) for name, app in apps.items()}
    front = gateway_app(GatewaySettings(**common("gateway")), transports=transports)
    async with AsyncExitStack() as stack:
        for app in [*apps.values(), front]:
            await stack.enter_async_context(app.router.lifespan_context(app))
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=front), base_url="http://gateway"
        )
        stack.push_async_callback(client.aclose)
        yield Gateway(client, {**apps, "gateway": front})
