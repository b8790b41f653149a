"""A CSV cell is text; the API takes numbers as JSON numbers (shared/contracts/body.py)."""

from __future__ import annotations

from pathlib import Path

from ops.imports import VENUES, read

HEADER = "name,kind,area,address,nearest_school_id,distance_m,contact_name,contact_phone\n"


def test_a_number_column_is_sent_as_a_number(tmp_path: Path) -> None:
    venues = tmp_path / "venues.csv"
    venues.write_text(HEADER + "Star Hotel,hotel,grid-park,1 Park Rd,sch-01,120,Li,139\n")
    rows, problems = read(venues, VENUES, taken=set())
    assert problems == []
    assert rows[0].body["distance_m"] == 120


def test_a_cell_that_is_no_number_is_refused_naming_its_line_and_field(tmp_path: Path) -> None:
    venues = tmp_path / "venues.csv"
    venues.write_text(HEADER + "Star Hotel,hotel,grid-park,1 Park Rd,sch-01,near,Li,139\n")
    rows, problems = read(venues, VENUES, taken=set())
    assert rows == []
    assert [(p.line, p.field) for p in problems] == [(2, "distance_m")]
