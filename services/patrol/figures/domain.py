"""Pure parts of the year's figures: percentiles and the CSV rows."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest rank: the smallest value with at least p% of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def csv_rows(figures: dict[str, Any], prefix: str = "") -> Iterable[tuple[str, str]]:
    """(figure, value) for every leaf, dotted paths, in a stable order."""
    for key in sorted(figures):
        value = figures[key]
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            yield from csv_rows(value, prefix=f"{path}.")
        elif isinstance(value, list):
            yield path, ";".join(str(v) for v in value)
        else:
            yield path, "" if value is None else str(value)
