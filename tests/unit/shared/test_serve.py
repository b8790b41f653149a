"""A service process puts what it built at start-up out of the collector's sight before it
serves (shared/serve.py): a full collection mid-request walked every module, route and schema.
And its young generation is collected less often: what it holds is the work in flight. Its
server ticks once a second, not ten times, and a signal still stops it at once."""

from __future__ import annotations

import gc
import os
import signal
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import uvicorn
from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE

from shared import serve as serving
from shared.settings import BaseServiceSettings


def test_what_start_up_built_is_frozen_before_the_server_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen_when_served: list[int] = []
    thresholds: list[tuple[int, int, int]] = []

    def run(server: serving.Server) -> None:  # in place of uvicorn's loop
        assert isinstance(server.config.app, FastAPI)
        frozen_when_served.append(gc.get_freeze_count())
        thresholds.append(gc.get_threshold())
        server.started = True

    monkeypatch.setattr(serving.Server, "run", run)
    monkeypatch.setattr(serving, "setup_logging", lambda **_: None)  # the test run's stays
    monkeypatch.setattr(os, "umask", lambda mask: mask)  # nor its file modes
    before = gc.get_threshold()
    gc.unfreeze()
    try:
        serving.serve(lambda _settings: FastAPI(), BaseServiceSettings(), name="probe")
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
    assert len(frozen_when_served) == 1
    assert frozen_when_served[0] > 0
    assert thresholds == [(serving.YOUNG_THRESHOLD, *before[1:])]
    assert before[0] < serving.YOUNG_THRESHOLD


def test_a_signal_stops_the_server_without_waiting_for_its_tick(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(serving, "TICK_S", 3600.0)  # a stop that waited for the tick: an hour
    config = uvicorn.Config(FastAPI(), host="127.0.0.1", port=0, log_config=None, lifespan="off")
    server = serving.Server(config)
    # Off the main thread uvicorn installs no signal handlers: the test calls the handler.
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        thread.join(0.01)
    assert server.started
    server.handle_exit(signal.SIGTERM, None)
    thread.join(30)
    assert not thread.is_alive()


def test_a_failed_start_up_is_a_failed_process(monkeypatch: pytest.MonkeyPatch) -> None:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        raise RuntimeError("the store is not there")
        yield

    monkeypatch.setattr(serving, "setup_logging", lambda **_: None)
    monkeypatch.setattr(os, "umask", lambda mask: mask)
    before = gc.get_threshold()
    try:
        with pytest.raises(SystemExit) as exited:
            serving.serve(lambda _s: FastAPI(lifespan=lifespan), BaseServiceSettings(), name="x")
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
    assert exited.value.code == STARTUP_FAILURE
