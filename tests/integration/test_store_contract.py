"""One contract for the store port: SQLite and PostgreSQL always, MongoDB wherever MONGODB_URL
points."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from shared.store import NULL, Cursor, DuplicateKeyError, Range, Store, open_store

BACKENDS = ["sqlite", "postgres", "mongo"]


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        s = await open_store(f"sqlite:///{tmp_path / 'contract.db'}")
        yield s
        await s.close()
        return
    if request.param == "postgres":
        server = request.getfixturevalue("pg_server")
        s = await open_store(await server.create_database("contract"))
        yield s
        await s.close()
        return
    base = os.environ.get("MONGODB_URL")
    if not base:
        pytest.skip("MONGODB_URL not set: no MongoDB server to run the contract against")
    from pymongo import AsyncMongoClient

    db_name = f"hulei_contract_{uuid.uuid4().hex[:8]}"
    s = await open_store(f"{base.rstrip('/')}/{db_name}")
    yield s
    await s.close()
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(base)
    await client.drop_database(db_name)
    await client.close()


async def test_insert_then_get_returns_the_same_document(store: Store) -> None:
    doc = {"id": "a", "n": 1, "tags": ["x"], "nested": {"k": "v"}, "flag": True, "none": None}
    await store.insert("things", doc)
    assert await store.get("things", "a") == doc
    assert await store.get("things", "missing") is None
    assert await store.get("never_created", "a") is None


async def test_insert_of_an_existing_id_is_a_duplicate(store: Store) -> None:
    await store.insert("things", {"id": "a", "n": 1})
    with pytest.raises(DuplicateKeyError):
        await store.insert("things", {"id": "a", "n": 2})
    assert await store.get("things", "a") == {"id": "a", "n": 1}


async def test_put_replaces_and_delete_removes(store: Store) -> None:
    await store.put("things", {"id": "a", "n": 1, "old": True})
    await store.put("things", {"id": "a", "n": 2})
    assert await store.get("things", "a") == {"id": "a", "n": 2}
    await store.delete("things", "a")
    assert await store.get("things", "a") is None
    await store.delete("things", "a")  # deleting twice is harmless


async def test_find_filters_orders_and_limits(store: Store) -> None:
    rows = [
        {"id": "1", "school": "s1", "n": 3, "open": True, "case": None},
        {"id": "2", "school": "s2", "n": 1, "open": False, "case": "c1"},
        {"id": "3", "school": "s1", "n": 2, "open": True, "case": "c2"},
        {"id": "4", "school": "s3", "n": 2, "open": True, "case": None},
    ]
    for row in rows:
        await store.insert("rows", row)

    def ids(docs: list[dict[str, object]]) -> list[object]:
        return [d["id"] for d in docs]

    assert ids(await store.find("rows")) == ["1", "2", "3", "4"]  # insertion order
    assert ids(await store.find("rows", where={"school": "s1"})) == ["1", "3"]
    assert ids(await store.find("rows", where={"school": ["s2", "s3"]})) == ["2", "4"]
    assert ids(await store.find("rows", where={"school": []})) == []
    assert ids(await store.find("rows", where={"open": False})) == ["2"]
    assert ids(await store.find("rows", where={"case": None})) == ["1", "4"]
    assert ids(await store.find("rows", where={"school": "s1", "n": 2})) == ["3"]
    assert ids(await store.find("rows", order_by="n")) == ["2", "3", "4", "1"]
    assert ids(await store.find("rows", order_by="n", descending=True)) == ["1", "4", "3", "2"]
    assert ids(await store.find("rows", order_by="n", limit=2)) == ["2", "3"]
    assert await store.find("no_such_collection", where={"x": 1}) == []


async def test_transaction_commits_all_writes_together(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.insert("a", {"id": "1"})
        await tx.put("b", {"id": "2", "v": 1})
        assert await tx.get("a", "1") == {"id": "1"}  # a transaction reads its own writes
        assert [d["id"] for d in await tx.find("b")] == ["2"]
    assert await store.get("a", "1") == {"id": "1"}
    assert await store.get("b", "2") == {"id": "2", "v": 1}


async def test_a_failed_transaction_leaves_nothing_behind(store: Store) -> None:
    await store.put("b", {"id": "kept", "v": 1})

    async def failing() -> None:
        async with store.transaction() as tx:
            await tx.insert("a", {"id": "1"})
            await tx.put("b", {"id": "kept", "v": 2})
            await tx.delete("b", "kept")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await failing()
    assert await store.get("a", "1") is None
    assert await store.get("b", "kept") == {"id": "kept", "v": 1}


async def test_a_duplicate_inside_a_transaction_rolls_it_back(store: Store) -> None:
    await store.insert("keys", {"id": "k"})

    async def duplicate() -> None:
        async with store.transaction() as tx:
            await tx.insert("reports", {"id": "r1"})
            await tx.insert("keys", {"id": "k"})

    with pytest.raises(DuplicateKeyError):
        await duplicate()
    assert await store.get("reports", "r1") is None


async def test_ensure_index_is_idempotent_and_queries_still_work(store: Store) -> None:
    await store.ensure_index("tasks", ["case_id"])
    await store.ensure_index("tasks", ["case_id"])
    await store.insert("tasks", {"id": "t1", "case_id": "c"})
    assert [d["id"] for d in await store.find("tasks", where={"case_id": "c"})] == ["t1"]
    await store.ping()


async def test_a_collection_first_seen_in_a_failed_transaction_is_usable_after(
    store: Store,
) -> None:
    async def failing() -> None:
        async with store.transaction() as tx:
            await tx.insert("fresh", {"id": "1"})
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await failing()
    async with store.transaction() as tx:
        await tx.insert("fresh", {"id": "2"})
    assert [d["id"] for d in await store.find("fresh")] == ["2"]


async def test_ranges_and_counts(store: Store) -> None:
    for i in range(10):
        await store.insert("nums", {"id": f"n{i}", "n": i, "at": f"2026-01-{i + 1:02d}T00:00:00"})
    docs = await store.find("nums", where={"n": Range(gte=3, lt=6)}, order_by="n")
    assert [d["n"] for d in docs] == [3, 4, 5]
    docs = await store.find("nums", where={"at": Range(gt="2026-01-08T00:00:00")}, order_by="n")
    assert [d["n"] for d in docs] == [8, 9]
    assert await store.count("nums") == 10
    assert await store.count("nums", where={"n": Range(lte=1)}) == 2
    assert await store.count("nums", where={"n": Range(gt=4), "id": ["n5", "n1"]}) == 1
    assert await store.count("no_such_collection") == 0


async def test_a_range_matches_only_values_of_its_bounds_type(store: Store) -> None:
    # A cancelled erasure has closed_at null; it must never look "closed long ago".
    await store.insert("closures", {"id": "null", "at": None})
    await store.insert("closures", {"id": "missing"})
    await store.insert("closures", {"id": "flag", "at": True})
    await store.insert("closures", {"id": "old", "at": "2026-01-01T00:00:00Z"})
    await store.insert("closures", {"id": "new", "at": "2026-06-01T00:00:00Z"})
    await store.insert("closures", {"id": "n", "at": 5})
    old = await store.find("closures", where={"at": Range(lt="2026-03-01T00:00:00Z")})
    assert [d["id"] for d in old] == ["old"]
    assert await store.count("closures", where={"at": Range(gte=1)}) == 1
    assert await store.count("closures", where={"at": Range(gt="")}) == 2
    # Between two strings (PostgreSQL then adds no type guard: nothing else lies there).
    between = await store.find("closures", where={"at": Range(gte="", lte="9999")})
    assert [d["id"] for d in between] == ["old", "new"]


async def test_none_matches_missing_or_null_and_null_only_a_present_null(store: Store) -> None:
    await store.ensure_index("marks", ["who", "read_at", "at"])  # NULL is sought on it
    marks: list[tuple[str, dict[str, str | None]]] = [
        ("null", {"read_at": None}),
        ("missing", {}),
        ("read", {"read_at": "x"}),
    ]
    for id_, extra in marks:
        await store.insert("marks", {"id": id_, "who": "a", "at": 1, **extra})
    await store.insert("marks", {"id": "other", "who": "b", "at": 1, "read_at": None})
    assert [d["id"] for d in await store.find("marks", where={"read_at": None})] == [
        "null",
        "missing",
        "other",
    ]
    docs = await store.find("marks", where={"who": "a", "read_at": NULL}, order_by="at")
    assert [d["id"] for d in docs] == ["null"]
    assert await store.count("marks", where={"read_at": NULL}) == 2


@pytest.mark.parametrize("descending", [False, True])
async def test_keyset_pages_visit_every_document_once_in_order(
    store: Store, descending: bool
) -> None:
    # Ties on the order field: the id breaks them, so no page repeats or skips one.
    for i in range(23):
        await store.insert("paged", {"id": f"d{i:02d}", "group": "g", "rank": i // 4})
    await store.insert("paged", {"id": "other", "group": "h", "rank": 0})
    await store.ensure_index("paged", ["group", "rank"])
    seen: list[str] = []
    after: Cursor | None = None
    while True:
        page = await store.find(
            "paged", where={"group": "g"}, order_by="rank", descending=descending,
            limit=5, after=after,
        )  # fmt: skip
        if not page:
            break
        seen.extend(d["id"] for d in page)
        after = Cursor.of(page[-1], "rank")
    expected = sorted((f"d{i:02d}" for i in range(23)), key=lambda x: (int(x[1:]) // 4, x))
    assert seen == (expected[::-1] if descending else expected)


async def test_a_unique_index_refuses_a_second_document_with_the_same_values(store: Store) -> None:
    await store.ensure_index("accounts", ["email"], unique=True)
    await store.insert("accounts", {"id": "a", "email": "x@example.org"})
    with pytest.raises(DuplicateKeyError):
        await store.insert("accounts", {"id": "b", "email": "x@example.org"})
    await store.insert("accounts", {"id": "c", "email": "y@example.org"})
    with pytest.raises(DuplicateKeyError):
        await store.put("accounts", {"id": "c", "email": "x@example.org"})

    async def duplicate() -> None:
        async with store.transaction() as tx:
            await tx.insert("accounts", {"id": "d", "email": "z@example.org"})
            await tx.put("accounts", {"id": "e", "email": "z@example.org"})

    with pytest.raises(DuplicateKeyError):
        await duplicate()
    assert await store.get("accounts", "d") is None
    assert await store.get("accounts", "c") == {"id": "c", "email": "y@example.org"}


async def test_a_partial_unique_index_counts_only_matching_documents(store: Store) -> None:
    # One open case per child; closed ones do not count.
    await store.ensure_index("cases", ["child_ref"], unique=True, where={"status": "open"})
    await store.insert("cases", {"id": "c1", "child_ref": "k", "status": "open"})
    with pytest.raises(DuplicateKeyError):
        await store.insert("cases", {"id": "c2", "child_ref": "k", "status": "open"})
    await store.put("cases", {"id": "c1", "child_ref": "k", "status": "closed"})
    await store.insert("cases", {"id": "c2", "child_ref": "k", "status": "open"})
    await store.insert("cases", {"id": "c3", "child_ref": "k", "status": "closed"})
    found = await store.find("cases", where={"child_ref": "k", "status": "open"})
    assert [d["id"] for d in found] == ["c2"]


async def test_a_duplicate_caught_inside_a_transaction_lets_it_carry_on(store: Store) -> None:
    # Two reports racing for a new child's key: the loser catches the duplicate, reads the
    # winner's key and commits the rest of its work.
    await store.insert("keys", {"id": "k", "v": 1})
    await store.ensure_index("cases", ["child_ref"], unique=True, where={"status": "open"})
    await store.insert("cases", {"id": "c1", "child_ref": "x", "status": "open"})
    async with store.transaction() as tx:
        with pytest.raises(DuplicateKeyError):
            await tx.insert("keys", {"id": "k", "v": 2})
        with pytest.raises(DuplicateKeyError):
            await tx.insert("cases", {"id": "c2", "child_ref": "x", "status": "open"})
        assert await tx.get("keys", "k") == {"id": "k", "v": 1}
        await tx.insert("reports", {"id": "r1"})
    assert await store.get("reports", "r1") == {"id": "r1"}
    assert await store.get("cases", "c2") is None


async def test_numbers_order_as_numbers_and_strings_as_strings(store: Store) -> None:
    for id_, n, s in (("a", 10, "b"), ("b", 9, "a10"), ("c", 100, "a9")):
        await store.insert("mixed", {"id": id_, "n": n, "s": s})
    assert [d["n"] for d in await store.find("mixed", order_by="n")] == [9, 10, 100]
    assert [d["s"] for d in await store.find("mixed", order_by="s")] == ["a10", "a9", "b"]
    page = await store.find("mixed", order_by="n", after=Cursor(9, "b"))
    assert [d["n"] for d in page] == [10, 100]


async def test_insert_many_stores_every_document_in_order(store: Store) -> None:
    await store.insert_many("batch", [])  # nothing to store, and no error
    await store.insert("batch", {"id": "m", "n": 0})
    docs = [{"id": f"{c}", "n": n, "tags": ["x"], "none": None} for n, c in enumerate("zay", 1)]
    await store.insert_many("batch", docs)
    async with store.transaction() as tx:
        await tx.insert_many("batch", [{"id": "b", "n": 4}])
        await tx.insert_many("fresh_batch", [{"id": "1"}, {"id": "2"}])  # a new collection
    assert await store.get("batch", "a") == docs[1]
    # Insertion order, as one insert after another would leave it.
    assert [d["id"] for d in await store.find("batch")] == ["m", "z", "a", "y", "b"]
    assert [d["id"] for d in await store.find("batch", order_by="n")] == ["m", "z", "a", "y", "b"]
    assert [d["id"] for d in await store.find("fresh_batch")] == ["1", "2"]


async def test_insert_many_with_a_duplicate_stores_none_of_them(store: Store) -> None:
    await store.insert("batch", {"id": "b", "v": 1})
    with pytest.raises(DuplicateKeyError):
        await store.insert_many("batch", [{"id": "a"}, {"id": "b", "v": 2}, {"id": "c"}])
    with pytest.raises(DuplicateKeyError):  # twice among them
        await store.insert_many("batch", [{"id": "d"}, {"id": "d"}])
    await store.ensure_index("accounts", ["email"], unique=True)
    await store.insert("accounts", {"id": "x", "email": "x@example.org"})
    with pytest.raises(DuplicateKeyError):  # a unique secondary index
        await store.insert_many(
            "accounts",
            [{"id": "y", "email": "y@example.org"}, {"id": "z", "email": "x@example.org"}],
        )
    assert [d["id"] for d in await store.find("batch")] == ["b"]
    assert await store.get("batch", "b") == {"id": "b", "v": 1}
    assert [d["id"] for d in await store.find("accounts")] == ["x"]


async def test_insert_many_refused_inside_a_transaction_lets_it_carry_on(store: Store) -> None:
    await store.insert("batch", {"id": "k"})
    async with store.transaction() as tx:
        await tx.insert("batch", {"id": "first"})
        with pytest.raises(DuplicateKeyError):
            await tx.insert_many("batch", [{"id": "lost"}, {"id": "k"}])
        assert await tx.get("batch", "lost") is None
        await tx.insert_many("batch", [{"id": "kept"}])
    assert sorted(d["id"] for d in await store.find("batch")) == ["first", "k", "kept"]


async def test_insert_many_may_take_the_documents_as_text_already(store: Store) -> None:
    docs: list[dict[str, Any]] = [{"id": "a", "n": 1, "s": "案"}, {"id": "b", "n": 2, "s": None}]
    texts = [json.dumps(d, sort_keys=True) for d in docs]  # any JSON of the same documents
    await store.insert_many("texts", docs, texts=texts)
    assert [await store.get("texts", d["id"]) for d in docs] == docs
    assert [d["id"] for d in await store.find("texts", where={"n": Range(gte=2)})] == ["b"]
    with pytest.raises(ValueError, match="1 texts for 2 documents"):
        await store.insert_many("texts", [{"id": "c"}, {"id": "d"}], texts=texts[:1])
