"""Bulk imports from CSV, checked whole before anything is written.

Each row is validated with the model the API itself validates with (a user is the admin API's
`UserCreate`, a venue the registry's `VenueCreate`, a school `SchoolCreate`), and against the
other rows and what the platform already holds (a username twice, an officer who is none). One
bad row: every problem is reported with its line number and field, and nothing is imported.
"""

from __future__ import annotations

import contextlib
import csv
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from gateway.account_forms import UserCreate
from shared.contracts.body import scalar_type
from shared.contracts.school import SchoolCreate
from shared.contracts.venues import VenueCreate


@dataclass(frozen=True)
class Problem:
    line: int  # in the file, the header being line 1
    field: str
    message: str


@dataclass(frozen=True)
class Row:
    line: int
    body: dict[str, Any]


# What a spreadsheet writes for a boolean: the API takes only JSON's true and false.
BOOLEAN_CELLS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


def typed(model: type[BaseModel], body: dict[str, Any]) -> dict[str, Any]:
    """A CSV cell is text; the API takes a number or a boolean as its JSON type (a cell that
    is not one stays text, and validation names its field)."""
    for name, field in model.model_fields.items():
        kind = scalar_type(field.annotation)
        value = body.get(name)
        if kind is None or not isinstance(value, str):
            continue
        if kind is bool and value.lower() in BOOLEAN_CELLS:
            body[name] = BOOLEAN_CELLS[value.lower()]
        elif kind is not bool:
            with contextlib.suppress(ValueError):  # left as text: refused, naming the field
                body[name] = kind(value)
    return body


def split_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(";") if part.strip()]


def user_body(raw: dict[str, str]) -> dict[str, Any]:
    """`school_ids` is `;`-separated; an empty password gets a generated one (shown once)."""
    body: dict[str, Any] = {k: v.strip() for k, v in raw.items() if v and v.strip()}
    if "school_ids" in body:
        body["school_ids"] = split_list(body["school_ids"])
    body.setdefault("password", secrets.token_urlsafe(18))
    return body


def venue_body(raw: dict[str, str]) -> dict[str, Any]:
    """`contact_name` and `contact_phone` make the contact."""
    body: dict[str, Any] = {k: v.strip() for k, v in raw.items() if v and v.strip()}
    contact = {"name": body.pop("contact_name", ""), "phone": body.pop("contact_phone", "")}
    body["contact"] = contact
    return body


def user_shown(body: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    """The password once: the platform keeps only its hash."""
    return {"username": answer["id"], "role": answer["role"], "password": body["password"]}


def venue_shown(_body: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    return {"id": answer["id"], "name": answer["name"], "kind": answer["kind"]}


@dataclass(frozen=True)
class Kind:
    model: type[BaseModel]
    body: Callable[[dict[str, str]], dict[str, Any]]
    shown: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]
    key: str | None  # a field that must be new: unique in the file and on the platform


def school_body(raw: dict[str, str]) -> dict[str, Any]:
    """As sent: `is_liaison_station` a JSON boolean (the CSV says true/false, yes/no, 1/0)."""
    body: dict[str, Any] = typed(
        SchoolCreate, {k: v.strip() for k, v in raw.items() if v and v.strip()}
    )
    try:
        return SchoolCreate.model_validate(body).model_dump(mode="json")
    except ValidationError:
        return body  # `read` validates it again and names each problem


def school_shown(_body: dict[str, Any], answer: dict[str, Any]) -> dict[str, Any]:
    return {k: answer[k] for k in ("id", "name", "community_officer_id", "social_org_id")}


USERS = Kind(UserCreate, user_body, user_shown, key="username")
VENUES = Kind(VenueCreate, venue_body, venue_shown, key=None)
SCHOOLS = Kind(SchoolCreate, school_body, school_shown, key="id")


def unknown_officers(rows: list[Row], *, officers: set[str]) -> list[Problem]:
    """A school's community officer must be an active police officer's account: the gateway
    refuses the whole batch otherwise, so the rows are checked before it is sent."""
    field = "community_officer_id"
    return [
        Problem(r.line, field, f"{r.body[field]!r} is no active police officer")
        for r in rows
        if r.body[field] not in officers
    ]


def refused_lines(detail: Any, rows: list[Row]) -> list[Problem]:
    """A batch's 422 (`loc` ["body", index, field]) as the lines of the rows it names."""
    problems = []
    for e in detail if isinstance(detail, list) else []:
        loc = e.get("loc", []) if isinstance(e, dict) else []
        if len(loc) >= 3 and isinstance(loc[1], int) and 0 <= loc[1] < len(rows):
            field = ".".join(str(p) for p in loc[2:])
            problems.append(Problem(rows[loc[1]].line, field, str(e.get("msg"))))
    return problems


def read(path: Path, kind: Kind, *, taken: set[str]) -> tuple[list[Row], list[Problem]]:
    """The rows to send, or the problems that stop the import (then nothing is sent)."""
    rows: list[Row] = []
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        known = set(kind.model.model_fields) | {"contact_name", "contact_phone"}
        for name in reader.fieldnames or []:
            if name not in known:
                problems.append(Problem(1, name, "unknown column"))
        for raw in reader:
            line = reader.line_num
            if None in raw:  # more cells than columns
                problems.append(Problem(line, "-", "more values than columns"))
                continue
            body = typed(kind.model, kind.body(raw))
            try:
                kind.model.model_validate(body)
            except ValidationError as error:
                for e in error.errors():
                    where = ".".join(str(p) for p in e["loc"]) or "-"
                    problems.append(Problem(line, where, e["msg"]))
                continue
            if kind.key is not None:
                value = str(body[kind.key])
                if value in taken:
                    problems.append(Problem(line, kind.key, f"{value!r} already exists"))
                elif value in seen:
                    problems.append(
                        Problem(line, kind.key, f"{value!r} also on line {seen[value]}")
                    )
                seen.setdefault(value, line)
            rows.append(Row(line, body))
    if not rows and not problems:
        problems.append(Problem(1, "-", "no rows"))
    return rows, problems
