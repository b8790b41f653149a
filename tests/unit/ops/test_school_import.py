"""The school import's pure parts: a row as sent, and a batch's refusal as the file's lines."""

from __future__ import annotations

from pathlib import Path

from ops import imports

HEADER = "id,name,district,is_liaison_station,community_officer_id,social_org_id\n"


def test_a_row_is_sent_as_the_api_takes_it(tmp_path: Path) -> None:
    path = tmp_path / "schools.csv"
    path.write_text(HEADER + " sch-81 ,North School,North district,Yes,officer1,org-x\n")
    rows, problems = imports.read(path, imports.SCHOOLS, taken=set())
    assert problems == []
    assert rows[0].body == {
        "id": "sch-81",
        "name": "North School",
        "district": "North district",
        "is_liaison_station": True,  # a JSON boolean, not the cell's text
        "community_officer_id": "officer1",
        "social_org_id": "org-x",
    }
    assert imports.unknown_officers(rows, officers={"officer1"}) == []
    assert imports.unknown_officers(rows, officers={"officer2"})[0].line == 2


def test_a_refused_batch_names_the_lines_of_its_rows() -> None:
    rows = [imports.Row(4, {}), imports.Row(9, {})]
    detail = [
        {"loc": ["body", 1, "community_officer_id"], "msg": "no active police officer"},
        {"loc": ["body", "x"], "msg": "not a row"},
        {"loc": ["body", 7, "id"], "msg": "beyond the batch"},
    ]
    found = imports.refused_lines(detail, rows)
    assert [(p.line, p.field) for p in found] == [(9, "community_officer_id")]
    assert imports.refused_lines("school sch-1 exists already", rows) == []
