"""Shared fixtures: real NATS servers started and stopped by the tests themselves."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from deploy.launcher import PORT_SLICE_ENV, Platform, Ports
from tests.pgserver import PgServer, find_bin_dir
from tests.support import StoreUrl, required

_MARKERS = {"unit": "unit", "integration": "integration", "e2e": "e2e"}


def pytest_configure() -> None:
    """Parallel workers (pytest-xdist) pick ports from disjoint slices: two workers could
    otherwise pick the same free port before either server binds it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, …
    if worker:
        os.environ[PORT_SLICE_ENV] = f"{worker[2:]}/{os.environ['PYTEST_XDIST_WORKER_COUNT']}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by the folder it lives in, so `-m integration` etc. just work."""
    for item in items:
        parts = Path(str(item.fspath)).parts
        for folder, marker in _MARKERS.items():
            if folder in parts:
                item.add_marker(getattr(pytest.mark, marker))


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[Platform]:
    """A fresh single-node NATS server with JetStream file storage, on a free port.

    Yielded as the launcher's Platform, so a test can kill and restart the server.
    """
    platform = Platform(var_dir=tmp_path / "nats-var", ports=Ports.free())
    platform.var_dir.mkdir(parents=True)
    platform.start_nats()
    try:
        yield platform
    finally:
        platform.stop()


@pytest.fixture
def nats_url(nats_server: Platform) -> str:
    return nats_server.nats_url


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """One real PostgreSQL server for the session; tests take fresh databases from it."""
    bin_dir = find_bin_dir()
    required(
        bin_dir, "PostgreSQL binaries (initdb, pg_ctl) not found; `make install` installs them"
    )
    assert bin_dir is not None
    server = PgServer(bin_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        server.remove()


@pytest.fixture
def store_backend() -> str:
    """Which store the test's services run on; suites that must pass on every store override
    this with `tests.support.every_store`."""
    return "sqlite"


@pytest.fixture
def store_url(store_backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> StoreUrl:
    """`await store_url(name)`: the URL of the test's store called `name` (one SQLite file, or
    one fresh PostgreSQL database); the same name gives the same store within a test."""
    server: PgServer | None = (
        request.getfixturevalue("pg_server") if store_backend == "postgres" else None
    )
    made: dict[str, str] = {}

    async def url(name: str) -> str:
        if name in made:
            return made[name]
        if server is not None:
            made[name] = await server.create_database(name)
        elif store_backend == "mongo":  # a fresh database on the server MONGODB_URL names
            base = os.environ["MONGODB_URL"].rstrip("/")
            made[name] = f"{base}/{name}_{uuid.uuid4().hex[:8]}"
        else:
            made[name] = f"sqlite:///{tmp_path / f'{name}.db'}"
        return made[name]

    return url


@pytest.fixture(scope="session")
def _span_exporter() -> InMemorySpanExporter:
    """One in-memory trace exporter for the whole session (OpenTelemetry allows one provider)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter


@pytest.fixture(autouse=True)
def spans(_span_exporter: InMemorySpanExporter) -> InMemorySpanExporter:
    """Spans finished during this test, in process (services started in-process report here)."""
    _span_exporter.clear()
    return _span_exporter
