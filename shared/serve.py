"""Run one service or the gateway as its own process under uvicorn."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

import uvicorn
from fastapi import FastAPI

from shared.logs import setup_logging
from shared.settings import BaseServiceSettings

S = TypeVar("S", bound=BaseServiceSettings)


def serve(create_app: Callable[[S], FastAPI], settings: S, *, name: str) -> None:
    # Before anything is created: databases and logs hold children's data, owner only.
    os.umask(0o077)
    setup_logging(service=name, level=settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,  # keep our JSON handler
        access_log=False,  # request URLs carry ids; requests are recorded as spans instead
        timeout_graceful_shutdown=10,
    )
