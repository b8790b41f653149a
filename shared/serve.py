"""Run one service or the gateway as its own process under uvicorn."""

from __future__ import annotations

import asyncio
import gc
import os
import sys
from collections.abc import Callable
from contextlib import suppress
from types import FrameType
from typing import Any, TypeVar

import uvicorn
from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE

from shared.logs import setup_logging
from shared.settings import BaseServiceSettings

S = TypeVar("S", bound=BaseServiceSettings)

# How long a server keeps an idle keep-alive connection: longer than any client keeps one (the
# gateway's calls to the services, gateway/wire.py; an ingress's upstream pool, 60 s in
# nginx). With uvicorn's 5 s default the server closed connections its clients still held,
# and the next request sent on one failed ("Server disconnected", a 503).
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
    server = Server(uvicorn.Config(app, **server_options(settings)))
    with suppress(KeyboardInterrupt):
        server.run()
    if not server.started:  # as uvicorn.run: a failed start-up is a failed process
        sys.exit(STARTUP_FAILURE)


# How often the server's loop looks at its state when nothing happens: uvicorn's own tick is
# 0.1 s, ten wake-ups a second in every process, ~7 ms of CPU a second each on this VM while
# idle (docs/performance.md, session 28). Its only timed work is the `date` header, once a
# second; a signal to stop wakes it at once.
TICK_S = 1.0


class Server(uvicorn.Server):
    """uvicorn's server, ticking once a second and stopped at once by a signal."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self._stop, self._loop = asyncio.Event(), asyncio.get_running_loop()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 10) % 864_000  # uvicorn's ticks: each of ours is ten
            with suppress(TimeoutError):
                async with asyncio.timeout(TICK_S):
                    await self._stop.wait()

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        super().handle_exit(sig, frame)
        if self._loop is not None and self._stop is not None:
            # A signal handler runs between two steps of the loop: wake it the safe way.
            self._loop.call_soon_threadsafe(self._stop.set)


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
