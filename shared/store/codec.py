"""Documents as the SQL stores hold them: compact JSON text.

orjson, not the standard library's encoder: a store document is encoded in ~0.3 µs instead of
~4 and decoded in ~1 instead of ~3 (docs/performance.md, session 27), and a report writes and
reads dozens. What it accepts is what `json` did, with two differences kept on purpose: a
`datetime` is refused as before (the stores keep times as `events.stored_time` strings, and
orjson's own format drops a zero fraction, which would sort wrongly), and a non-finite float is
written as null, as pydantic writes it in every event, where `json` wrote `NaN`, which no
store can read back. Integers beyond 64 bits are refused (MongoDB cannot hold them either)."""

from __future__ import annotations

from typing import Any

import orjson

_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def encode(value: Any) -> str:
    return orjson.dumps(value, option=_OPTIONS).decode()


decode = orjson.loads
