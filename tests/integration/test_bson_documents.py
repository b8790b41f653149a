"""Every document the platform stores must be one MongoDB can hold, checked without a server:
the core flow runs on SQLite with every written document encoded as BSON on the way in
(integers within int64, no NaN). The outbox's old sequence numbers (~1.8e21) failed here."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import bson
import pytest

import gateway.parts
import shared.runtime
from services.school_liaison.retention import sweep_retention
from shared.events import utcnow
from shared.store import Doc, Store, Writer
from tests.support import REPORT, Gateway, eventually


def _bson_safe(collection: str, doc: Doc) -> None:
    try:
        bson.encode(doc)  # OverflowError past int64, InvalidDocument for other types
        json.dumps(doc, allow_nan=False)
    except (OverflowError, ValueError, bson.errors.InvalidDocument) as exc:
        raise AssertionError(f"{collection} document is not BSON-safe: {exc}") from exc


class _CheckedWriter:
    def __init__(self, inner: Writer, written: list[str]) -> None:
        self._inner = inner
        self._written = written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def insert(self, collection: str, doc: Doc) -> None:
        _bson_safe(collection, doc)
        self._written.append(collection)
        await self._inner.insert(collection, doc)

    async def insert_many(
        self, collection: str, docs: Sequence[Doc], *, texts: Sequence[str] | None = None
    ) -> None:
        for doc in docs:
            _bson_safe(collection, doc)
        self._written.append(collection)
        await self._inner.insert_many(collection, docs, texts=texts)

    async def put(self, collection: str, doc: Doc) -> None:
        _bson_safe(collection, doc)
        self._written.append(collection)
        await self._inner.put(collection, doc)


class _CheckedStore(_CheckedWriter):
    def __init__(self, inner: Store, written: list[str]) -> None:
        super().__init__(inner, written)
        self._store = inner

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Writer]:
        async with self._store.transaction() as tx:
            yield _CheckedWriter(tx, self._written)


@pytest.fixture(autouse=True)
def written(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every store the services and the gateway open is wrapped; returns the collections
    written to, so the test can tell it saw the writes it meant to check."""
    collections: list[str] = []

    for module in (shared.runtime, gateway.parts):
        real = module.open_store

        async def checked(url: str, real: Any = real) -> Any:
            return _CheckedStore(await real(url), collections)

        monkeypatch.setattr(module, "open_store", checked)
    return collections


async def test_every_document_of_the_core_flow_is_bson_encodable(
    gateway: Gateway, written: list[str]
) -> None:
    r = await gateway.file("teacher1", REPORT, key="bson-1")
    assert r.status_code == 201, r.text
    tasks = await gateway.tasks_of(r.json()["id"], 2)
    police = next(t for t in tasks if t["agency"] == "police")
    ack = await gateway.client.post(
        f"/v1/tasks/{police['id']}/ack", headers=await gateway.auth("officer1")
    )
    assert ack.status_code == 200, ack.text
    case_id = (await gateway.get("teacher1", f"/v1/reports/{r.json()['id']}")).json()["case_id"]
    closed = await gateway.call(
        "supervisor1", "POST", f"/v1/cases/{case_id}/close", json={"reason": "done"}
    )
    assert closed.status_code == 200, closed.text
    school = gateway.apps["school_liaison"].state.runtime
    child = r.json()["child_ref"]
    await eventually(lambda: school.store.get("pending_erasures", child))
    assert await sweep_retention(school, now=utcnow() + timedelta(days=10_000)) == [child]
    for collection in ("outbox", "reports", "cases", "tasks", "processed_events", "users"):
        assert collection in written, collection
