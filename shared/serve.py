"""Run one service or the gateway as its own process under uvicorn."""

from __future__ import annotations

import gc
import os
from collections.abc import Callable
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI

from shared.logs import setup_logging
from shared.settings import BaseServiceSettings

S = TypeVar("S", bound=BaseServiceSettings)

# How long a server keeps an idle keep-alive connection: longer than any client keeps one (the
# gateway's calls to the services, gateway/clients.py; an ingress's upstream pool, 60 s in
# nginx). With uvicorn's 5 s default the server closed connections its clients still held,
# and the next request sent on one failed (aiohttp: "Server disconnected", a 503).
SERVER_KEEPALIVE_S = 75


def server_options(settings: BaseServiceSettings) -> dict[str, Any]:
    """uvicorn's options for a service or the gateway (also the bench's bare floor's)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "log_config": None,  # keep our JSON handler
        "access_log": False,  # request URLs carry ids; requests are recorded as spans instead
        "timeout_graceful_shutdown": 10,
        "timeout_keep_alive": SERVER_KEEPALIVE_S,
    }


def serve(create_app: Callable[[S], FastAPI], settings: S, *, name: str) -> None:
    # Before anything is created: databases and logs hold children's data, owner only.
    os.umask(0o077)
    setup_logging(service=name, level=settings.log_level)
    app = create_app(settings)
    freeze_startup_objects()
    uvicorn.run(app, **server_options(settings))


# Objects made since the last young collection, net of those freed, that start the next one.
# A request's or a batch's objects are freed by reference counting when it ends (no cycles:
# tests/unit/shared/test_app.py, test_delivery.py), so what the young generation holds is the
# work in flight; at Python's default of 700 a busy process scanned it every few requests (the
# gateway ~24 times a second, ~20 ms of every second) and promoted it to be scanned again.
YOUNG_THRESHOLD = 10_000


def freeze_startup_objects() -> None:
    """Modules, routes and schemas live as long as the process: out of the collector's sight,
    so an oldest-generation collection no longer walks them all in the middle of a request
    (tens of ms, a list page's p99). Then the young generation's threshold is raised."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
