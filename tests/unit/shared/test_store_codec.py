"""The SQL stores' document text (shared/store/codec.py): what it refuses, what it rewrites."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from enum import StrEnum

import pytest

from shared.events import stored_time
from shared.store import codec


class Kind(StrEnum):
    VISIT = "visit"


def test_a_document_reads_back_as_it_was_written() -> None:
    doc = {
        "id": "t1",
        "kind": Kind.VISIT,
        "at": stored_time(datetime(2026, 12, 3, 14, 0, tzinfo=UTC)),
        "note": "查看学生情况 \u2028",
        "n": 2**63 - 1,
        "x": 0.5,
        "tags": ("a", "b"),
        "nested": {"ok": True, "none": None},
    }
    assert codec.decode(codec.encode(doc)) == {**doc, "kind": "visit", "tags": ["a", "b"]}


def test_a_datetime_is_refused_not_written_in_another_format() -> None:
    """Stores order times as stored_time strings; another format would sort wrongly."""
    with pytest.raises(TypeError):
        codec.encode({"at": datetime(2026, 12, 3, tzinfo=UTC)})


def test_what_no_store_can_hold_is_refused_or_made_null() -> None:
    with pytest.raises(TypeError):
        codec.encode({"n": 2**64})  # beyond 64 bits: MongoDB cannot hold it either
    with pytest.raises(TypeError):
        codec.encode({"s": "\ud800"})  # a lone surrogate is not Unicode text
    assert codec.decode(codec.encode({"x": float("nan"), "y": float("inf")})) == {
        "x": None,
        "y": None,
    }


def test_keys_that_are_not_strings_are_written_as_strings() -> None:
    assert codec.decode(codec.encode({1: "a", "b": {2: 3}})) == {"1": "a", "b": {"2": 3}}


def test_sqlite_reads_its_fields_and_the_old_ascii_text_still_decodes() -> None:
    conn = sqlite3.connect(":memory:")
    text = codec.encode({"name": "张三", "n": 7})
    assert conn.execute("SELECT json_extract(?, '$.name')", (text,)).fetchone() == ("张三",)
    assert codec.decode('{"name":"\\u5f20\\u4e09"}') == {"name": "张三"}
