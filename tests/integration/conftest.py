from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from shared.runtime import Runtime, open_runtime
from shared.settings import BaseServiceSettings

RuntimeFactory = Callable[..., AbstractAsyncContextManager[Runtime]]


@pytest.fixture
def runtime_factory(nats_url: str, tmp_path: Path) -> RuntimeFactory:
    """Open a service runtime (store + bus + relay) against the test's NATS server."""

    def make(name: str = "svc", **overrides: object) -> AbstractAsyncContextManager[Runtime]:
        settings = BaseServiceSettings(
            demo_mode=True,
            nats_url=nats_url,
            store_url=f"sqlite:///{tmp_path / f'{name}.db'}",
            **overrides,  # type: ignore[arg-type]
        )
        return open_runtime(settings, name=name)

    return make


@pytest.fixture
async def runtime(runtime_factory: RuntimeFactory) -> AsyncIterator[Runtime]:
    async with runtime_factory("svc", max_deliver=3) as rt:
        yield rt
