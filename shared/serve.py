"""Run one service or the gateway as its own process under uvicorn."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

import uvicorn
from fastapi import FastAPI

from shared.settings import BaseServiceSettings

S = TypeVar("S", bound=BaseServiceSettings)


def serve(create_app: Callable[[S], FastAPI], settings: S) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format='{"time":"%(asctime)s","level":"%(levelname)s","logger":"%(name)s","msg":"%(message)s"}',
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        access_log=False,  # request URLs can carry ids; request logging happens in the spans
        timeout_graceful_shutdown=10,
    )
