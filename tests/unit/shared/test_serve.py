"""A service process puts what it built at start-up out of the collector's sight before it
serves (shared/serve.py): a full collection mid-request walked every module, route and schema.
And its young generation is collected less often: what it holds is the work in flight."""

from __future__ import annotations

import gc
import os
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from shared import serve as serving
from shared.settings import BaseServiceSettings


def test_what_start_up_built_is_frozen_before_the_server_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    frozen_when_served: list[int] = []
    thresholds: list[tuple[int, int, int]] = []

    def server(app: FastAPI, **_options: Any) -> None:  # in place of uvicorn's loop
        assert isinstance(app, FastAPI)
        frozen_when_served.append(gc.get_freeze_count())
        thresholds.append(gc.get_threshold())

    monkeypatch.setattr(uvicorn, "run", server)
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
