"""Shared fixtures: real NATS servers started and stopped by the tests themselves."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.launcher import Platform, Ports

_MARKERS = {"unit": "unit", "integration": "integration", "e2e": "e2e"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by the folder it lives in, so `-m integration` etc. just work."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        for folder, marker in _MARKERS.items():
            if folder in parts:
                item.add_marker(getattr(pytest.mark, marker))


@pytest.fixture
def nats_url(tmp_path: Path) -> Iterator[str]:
    """A fresh single-node NATS server with JetStream file storage, on a free port."""
    platform = Platform(var_dir=tmp_path / "nats-var", ports=Ports.free())
    platform.var_dir.mkdir(parents=True)
    platform.start_nats()
    try:
        yield f"nats://127.0.0.1:{platform.ports.nats}"
    finally:
        platform.stop_process("nats")
