"""FastAPI pieces every service shares: its app, the internal caller, dependency aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Annotated

import jwt
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request

from shared.app import Background, Setup, build_app
from shared.identity import Principal
from shared.metrics import Metrics
from shared.runtime import Runtime, open_runtime
from shared.settings import ServiceSettings
from shared.store import Store
from shared.token_cache import VerifiedTokens

INTERNAL_HEADER = "X-Hulei-Internal"


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_caller(
    request: Request,
    token: Annotated[str | None, Header(alias=INTERNAL_HEADER)] = None,
) -> Principal:
    """The principal the gateway vouches for, in a token meant for this service. A direct call
    without it, or with a token for another service, is refused."""
    if not token:
        raise HTTPException(401, "missing internal credential")
    tokens: VerifiedTokens = request.app.state.tokens
    try:
        return tokens.principal(token)
    except jwt.InvalidTokenError as exc:
        raise HTTPException(401, "invalid internal credential") from exc


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
CallerDep = Annotated[Principal, Depends(get_caller)]


def service_app(
    *,
    name: str,
    settings: ServiceSettings,
    router: APIRouter,
    setup: Setup[Runtime],
    background: Sequence[Background[Runtime]] = (),
    store: Store | None = None,
) -> FastAPI:
    """A service's app (shared/app.py's builder) whose parts are its Runtime (store, bus,
    outbox relay, consumers), also at `app.state.runtime`. `setup(app, runtime)` runs indexes,
    demo seed and consumers; `background` tasks stop before the runtime closes. `store` lets
    tests hand in an adapter of their choice."""

    @asynccontextmanager
    async def open_parts(app: FastAPI, metrics: Metrics) -> AsyncIterator[Runtime]:
        async with open_runtime(settings, name=name, store=store, metrics=metrics) as runtime:
            app.state.runtime = runtime
            yield runtime

    app = build_app(
        name=name,
        settings=settings,
        open_parts=open_parts,
        routers=[router],
        setup=setup,
        background=background,
        title=f"Hulei {name} (internal)",
        # Internal API docs only in demo mode: outside it they map the service for an intruder
        # and serve nobody (clients use the gateway's API, documented at the gateway).
        docs=settings.demo_mode,
    )
    app.state.service_name = name
    app.state.tokens = VerifiedTokens(settings.verify_key, service=name)
    return app
