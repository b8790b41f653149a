"""What the gateway's lifespan builds: its store, audit log, buses, the services' client.

Handed to the shared app builder (shared/app.py) as the gateway's parts; each is also on
`app.state` under its own name, where the routes read it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import httpx
from argon2 import PasswordHasher
from fastapi import FastAPI

from gateway.audit import AuditLog
from gateway.audit_check import Checkpointer
from gateway.auth import Passwords
from gateway.clients import Services
from gateway.settings import Settings
from gateway.stream import Hub
from gateway.stream_views import ScopeIndex
from shared.app import OpenParts
from shared.bus import Bus, bus_from_settings
from shared.metrics import Metrics
from shared.store import Store, open_store

NAME = "gateway"


@dataclass
class GatewayParts:
    store: Store
    audit: AuditLog
    passwords: Passwords
    bus: Bus
    replayer: Bus  # the only identity allowed to re-publish a dead letter
    services: Services
    checkpoints: Checkpointer
    stream: Hub  # this replica's reader of the event feed (gateway/stream.py)

    async def ready(self) -> dict[str, bool]:
        """The gateway itself can work (NATS, its store); the services are only reported
        (`report`): one service down must not take every route down."""
        try:
            await self.store.ping()
            store_ok = True
        except Exception:
            store_ok = False
        return {"nats": self.bus.connected, "store": store_ok}

    async def report(self) -> dict[str, object]:
        return {"services": await self.services.readiness()}


def opener(
    settings: Settings,
    *,
    store: Store | None = None,
    transports: dict[str, httpx.AsyncBaseTransport] | None = None,
) -> OpenParts[GatewayParts]:
    """The gateway's `open_parts`. `store` and `transports` (in-process services) are for
    tests. Closed in reverse: the services' client, the buses (so the erasure consumer stops
    before the audit log it appends to), the audit log (queued appends commit), the store."""

    @asynccontextmanager
    async def open_parts(app: FastAPI, metrics: Metrics) -> AsyncIterator[GatewayParts]:
        async with AsyncExitStack() as closing:
            own_store = store or await open_store(settings.store_url)
            closing.push_async_callback(own_store.close)
            audit = await AuditLog.open(
                own_store, key=settings.audit_key.get_secret_value(), chain=settings.audit_chain
            )
            closing.push_async_callback(audit.close)
            login = (settings.replayer_nats_user, settings.replayer_nats_password)
            replayer = bus_from_settings(settings, name=f"{NAME}-replayer", login=login)
            closing.push_async_callback(replayer.close)
            bus = bus_from_settings(settings, name=NAME, metrics=metrics)
            closing.push_async_callback(bus.close)
            await bus.connect()
            await replayer.connect()
            metrics.on_scrape(bus.refresh_gauges)  # the dead-letter count
            services = Services(
                urls=settings.service_urls(),
                signing_key=settings.signing_key,
                timeout_s=settings.service_timeout_s,
                transports=transports,
            )
            closing.push_async_callback(services.close)
            hub = Hub(
                bus.js,
                buffer=settings.stream_buffer,
                replay_max=settings.stream_replay_max,
                heartbeat_s=settings.stream_heartbeat_s,
            )
            index = ScopeIndex()
            hub.on_item.append(index.observe)
            parts = GatewayParts(
                store=own_store,
                audit=audit,
                passwords=Passwords(PasswordHasher()),
                bus=bus,
                replayer=replayer,
                services=services,
                checkpoints=Checkpointer(audit, bus, every_s=settings.audit_checkpoint_s),
                stream=hub,
            )
            state = app.state
            state.store, state.audit, state.passwords = own_store, audit, parts.passwords
            state.bus, state.replayer, state.services = bus, replayer, services
            state.audit_checkpoints = parts.checkpoints
            state.stream, state.stream_index = hub, index
            yield parts

    return open_parts
