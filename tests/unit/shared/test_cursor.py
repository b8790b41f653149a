"""Page cursors: opaque to clients, and anything else handed back is refused cleanly."""

from __future__ import annotations

import pytest

from shared.store import Cursor


@pytest.mark.parametrize("cursor", [Cursor("2026-01-01T00:00:00+00:00", "t-1"), Cursor(42, "x")])
def test_a_cursor_survives_encoding(cursor: Cursor) -> None:
    token = cursor.encode()
    assert "=" not in token
    assert "/" not in token
    assert Cursor.decode(token) == cursor


@pytest.mark.parametrize("token", ["", "!!!", "bm90IGpzb24", "WzEsMl0", "WyJhIl0", "e30"])
def test_anything_but_a_cursor_is_a_value_error(token: str) -> None:
    with pytest.raises(ValueError, match="cursor"):
        Cursor.decode(token)
