"""`hulei`: users and partner clients, dead letters, the pipeline's state, the audit trail's
check, the year's figures and bulk imports (users, venues, schools), all through the gateway's
API with a token.

    hulei --url http://127.0.0.1:8000 --user admin1 users list
    HULEI_TOKEN=… hulei --json dead-letters list

Set the login once in the environment: HULEI_URL, and HULEI_TOKEN or HULEI_USER with
HULEI_PASSWORD. Every command prints a table, or JSON with `--json` (for scripts).
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from ops import imports
from ops.api import Api, ApiError

app = typer.Typer(no_args_is_help=True, help=__doc__)
users = typer.Typer(no_args_is_help=True, help="User accounts (people).")
clients = typer.Typer(no_args_is_help=True, help="Partner systems (client credentials).")
letters = typer.Typer(no_args_is_help=True, help="Events the pipeline gave up on.")
audit = typer.Typer(no_args_is_help=True, help="The audit trail.")
figures = typer.Typer(no_args_is_help=True, help="The year's figures.")
schools = typer.Typer(no_args_is_help=True, help="The school registry.")
bulk = typer.Typer(no_args_is_help=True, help="Bulk imports from CSV, checked whole first.")
for sub, name in (
    (users, "users"),
    (clients, "clients"),
    (letters, "dead-letters"),
    (audit, "audit"),
    (figures, "figures"),
    (schools, "schools"),
    (bulk, "import"),
):
    app.add_typer(sub, name=name)


@dataclass
class Session:
    api: Api
    as_json: bool
    out: Console

    def show(self, data: Any, *, columns: list[str] | None = None, title: str = "") -> None:
        if self.as_json:
            self.out.print_json(json.dumps(data, ensure_ascii=False, default=str))
            return
        rows = data if isinstance(data, list) else [data]
        columns = columns or (list(rows[0]) if rows else [])
        table = Table(title=title or None)
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*(_cell(row.get(c)) for c in columns))
        self.out.print(table)


def _cell(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


@app.callback()
def main(
    ctx: typer.Context,
    url: Annotated[str, typer.Option(envvar="HULEI_URL", help="the gateway")] = (
        "http://127.0.0.1:8000"
    ),
    token: Annotated[str | None, typer.Option(envvar="HULEI_TOKEN", show_default=False)] = None,
    user: Annotated[str | None, typer.Option(envvar="HULEI_USER")] = None,
    password: Annotated[
        str | None, typer.Option(envvar="HULEI_PASSWORD", hide_input=True, show_default=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON for scripts")] = False,
    page_size: Annotated[
        int, typer.Option(min=1, max=100, help="items per request when listing")
    ] = 100,
) -> None:
    api = Api(url, page_size=page_size)
    ctx.call_on_close(api.close)
    try:
        if token:
            api.use_token(token)
        elif user:
            api.log_in(user, password or typer.prompt("password", hide_input=True))
    except ApiError as error:
        _fail(error)
    ctx.obj = Session(api, as_json, Console(soft_wrap=True))


def _session(ctx: typer.Context) -> Session:
    session: Session = ctx.obj
    return session


def _fail(error: ApiError) -> None:
    Console(stderr=True).print(f"[red]refused[/red] {error}")
    raise typer.Exit(1)


def _run(ctx: typer.Context, method: str, path: str, **kwargs: Any) -> Any:
    try:
        return _session(ctx).api.call(method, path, **kwargs)
    except ApiError as error:
        _fail(error)


ACCOUNT = ["id", "role", "display_name", "school_id", "org_id", "school_ids", "active"]


@users.command("list")
def users_list(ctx: typer.Context) -> None:
    """Every user account, by username."""
    _list(ctx, "/v1/admin/users", ACCOUNT)


def _list(ctx: typer.Context, path: str, columns: list[str], **params: Any) -> None:
    session = _session(ctx)
    try:
        rows = list(session.api.pages(path, **params))
    except ApiError as error:
        _fail(error)
    session.show(rows, columns=columns)


@users.command("create")
def users_create(
    ctx: typer.Context,
    username: str,
    role: Annotated[str, typer.Option(help="e.g. teacher, police_officer, dispatcher")],
    display_name: Annotated[str, typer.Option()],
    school_id: Annotated[str | None, typer.Option()] = None,
    org_id: Annotated[str | None, typer.Option()] = None,
    school_ids: Annotated[str | None, typer.Option(help="';'-separated (a beat, a grid)")] = None,
) -> None:
    """A new account with a generated password, shown once."""
    raw = {"username": username, "role": role, "display_name": display_name}
    raw |= {"school_id": school_id or "", "org_id": org_id or "", "school_ids": school_ids or ""}
    body = imports.user_body(raw)
    created = _run(ctx, "POST", "/v1/admin/users", json=body)
    _session(ctx).show(imports.user_shown(body, created))


@users.command("reset-password")
def users_reset(ctx: typer.Context, username: str) -> None:
    """A new generated password, shown once; the account's tokens stop working."""
    body = imports.user_body({"username": username})
    _run(ctx, "PATCH", f"/v1/admin/users/{username}", json={"password": body["password"]})
    _session(ctx).show({"username": username, "password": body["password"]})


def _active(ctx: typer.Context, username: str, *, active: bool) -> None:
    done = _run(ctx, "PATCH", f"/v1/admin/users/{username}", json={"active": active})
    _session(ctx).show(done, columns=ACCOUNT)


@users.command("deactivate")
def users_deactivate(ctx: typer.Context, username: str) -> None:
    """Stop an account at once (its tokens stop working)."""
    _active(ctx, username, active=False)


@users.command("activate")
def users_activate(ctx: typer.Context, username: str) -> None:
    _active(ctx, username, active=True)


@clients.command("list")
def clients_list(ctx: typer.Context) -> None:
    """Every partner client, by id."""
    _list(ctx, "/v1/admin/clients", ACCOUNT)


@clients.command("create")
def clients_create(
    ctx: typer.Context,
    client_id: str,
    role: Annotated[str, typer.Option(help="e.g. social_worker, police_officer")],
    display_name: Annotated[str, typer.Option()],
    org_id: Annotated[str | None, typer.Option()] = None,
    school_id: Annotated[str | None, typer.Option()] = None,
    school_ids: Annotated[str | None, typer.Option(help="';'-separated")] = None,
) -> None:
    """Register a partner system; its secret is shown once."""
    body: dict[str, Any] = {"client_id": client_id, "role": role, "display_name": display_name}
    body |= {k: v for k, v in (("org_id", org_id), ("school_id", school_id)) if v}
    if school_ids:
        body["school_ids"] = imports.split_list(school_ids)
    _session(ctx).show(_run(ctx, "POST", "/v1/admin/clients", json=body))


@clients.command("deactivate")
def clients_deactivate(ctx: typer.Context, client_id: str) -> None:
    """Revoke a partner client at once."""
    _run(ctx, "DELETE", f"/v1/admin/clients/{client_id}")
    _session(ctx).show({"id": client_id, "active": False})


@clients.command("rotate-secret")
def clients_rotate(ctx: typer.Context, client_id: str) -> None:
    """A new secret, shown once; the old one and its tokens stop working."""
    _session(ctx).show(_run(ctx, "POST", f"/v1/admin/clients/{client_id}/secret"))


SCHOOL = ["id", "name", "district", "community_officer_id", "social_org_id", "is_liaison_station"]


@schools.command("list")
def schools_list(ctx: typer.Context) -> None:
    """The schools the caller sees (an admin: every one), by id."""
    _list(ctx, "/v1/schools", SCHOOL)


LETTER = ["id", "consumer", "event_type", "original_subject", "deliveries", "reason"]


@letters.command("list")
def letters_list(ctx: typer.Context) -> None:
    """Newest first."""
    _list(ctx, "/v1/admin/dead-letters", LETTER)


@letters.command("show")
def letters_show(ctx: typer.Context, dead_letter_id: int) -> None:
    """One dead letter, whole."""
    session = _session(ctx)
    try:
        found = [
            d for d in session.api.pages("/v1/admin/dead-letters") if d["id"] == dead_letter_id
        ]
    except ApiError as error:
        _fail(error)
    if not found:
        _fail(ApiError(404, "dead letter not found"))
    session.show(found[0])


@letters.command("replay")
def letters_replay(
    ctx: typer.Context,
    dead_letter_id: Annotated[int | None, typer.Argument(show_default=False)] = None,
    every: Annotated[bool, typer.Option("--all", help="replay every dead letter")] = False,
) -> None:
    """Republish one dead letter (or `--all`) to its original subject."""
    session = _session(ctx)
    if (dead_letter_id is None) == (not every):
        raise typer.BadParameter("give one DEAD_LETTER_ID or --all")
    try:
        ids = (
            [dead_letter_id]
            if dead_letter_id is not None
            else [d["id"] for d in session.api.pages("/v1/admin/dead-letters")]
        )
        done = []
        with Progress(console=Console(stderr=True), disable=session.as_json) as progress:
            bar = progress.add_task("replaying", total=len(ids))
            for letter in ids:
                done.append(session.api.call("POST", f"/v1/admin/dead-letters/{letter}/replay"))
                progress.advance(bar)
    except ApiError as error:
        _fail(error)
    session.show(done, columns=LETTER)


@app.command("streams")
def streams(ctx: typer.Context) -> None:
    """Every stream's size and every durable consumer's lag."""
    session = _session(ctx)
    state = _run(ctx, "GET", "/v1/admin/streams")
    if session.as_json:
        session.show(state)
        return
    session.show(state["streams"], columns=["name", "messages", "bytes", "first_seq", "last_seq"])
    lag = [{**c, "stream": s["name"]} for s in state["streams"] for c in s["consumers"]]
    columns = ["stream", "durable", "pending", "ack_pending", "redelivered", "last_active"]
    session.show(lag, columns=columns, title="consumer lag")


@audit.command("verify")
def audit_verify(
    ctx: typer.Context,
    full: Annotated[bool, typer.Option(help="recompute every chain from its start")] = False,
) -> None:
    """Check the hash chains against their signed checkpoints; exit 1 when one is broken."""
    result = _run(ctx, "GET", "/v1/audit/verify", params={"full": full})
    _session(ctx).show(result)
    if not result.get("ok"):
        raise typer.Exit(1)


@figures.command("export")
def figures_export(
    ctx: typer.Context,
    year: Annotated[int, typer.Option()],
    out: Annotated[Path | None, typer.Option(help="file to write (default: stdout)")] = None,
) -> None:
    """The year's figures as CSV."""
    try:
        text = _session(ctx).api.text("/v1/stats", year=year, format="csv")
    except ApiError as error:
        _fail(error)
    if out is None:
        sys.stdout.write(text)
    else:
        out.write_text(text, encoding="utf-8")


def _problems(session: Session, path: Path, problems: list[imports.Problem]) -> None:
    session.show(
        [{"line": p.line, "field": p.field, "problem": p.message} for p in problems],
        title=f"{path}: nothing imported",
    )
    raise typer.Exit(2)


# The gateway registers up to 100 schools in one transaction (gateway/school_registry.py).
SCHOOL_BATCH = 100


def _import(ctx: typer.Context, path: Path, kind: imports.Kind, endpoint: str) -> None:
    session = _session(ctx)
    try:
        taken = {u["id"] for u in session.api.pages(endpoint)} if kind.key else set()
    except ApiError as error:
        _fail(error)
    rows, problems = imports.read(path, kind, taken=taken)
    if problems:
        _problems(session, path, problems)
    created: list[dict[str, Any]] = []
    with Progress(console=Console(stderr=True), disable=session.as_json) as progress:
        bar = progress.add_task(f"importing {path.name}", total=len(rows))
        for row in rows:
            try:
                answer = session.api.call("POST", endpoint, json=row.body)
            except ApiError as error:
                Console(stderr=True).print(
                    f"[red]line {row.line} refused[/red] {error}; {len(created)} rows before "
                    "it were imported"
                )
                raise typer.Exit(1) from error
            created.append(kind.shown(row.body, answer))
            progress.advance(bar)
    session.show(created)


@bulk.command("schools")
def import_schools(ctx: typer.Context, path: Path) -> None:
    """id, name, district, is_liaison_station (true/false), community_officer_id (an active
    police officer's username), social_org_id. Sent in batches of 100, each all or nothing."""
    session = _session(ctx)
    try:
        taken = {s["id"] for s in session.api.pages("/v1/schools")}
        officers = {
            u["id"]
            for u in session.api.pages("/v1/admin/users")
            if u["role"] == "police_officer" and u["active"]
        }
    except ApiError as error:
        _fail(error)
    rows, problems = imports.read(path, imports.SCHOOLS, taken=taken)
    problems += imports.unknown_officers(rows, officers=officers)
    if problems:
        _problems(session, path, sorted(problems, key=lambda p: p.line))
    created: list[dict[str, Any]] = []
    with Progress(console=Console(stderr=True), disable=session.as_json) as progress:
        bar = progress.add_task(f"importing {path.name}", total=len(rows))
        for start in range(0, len(rows), SCHOOL_BATCH):
            batch = rows[start : start + SCHOOL_BATCH]
            try:
                answer = session.api.call("POST", "/v1/schools:batch", json=[r.body for r in batch])
            except ApiError as error:
                if created:  # an earlier batch is in: say so, as the row-by-row imports do
                    Console(stderr=True).print(
                        f"[red]lines {batch[0].line}-{batch[-1].line} refused[/red] {error}; "
                        f"{len(created)} rows before them were imported"
                    )
                    raise typer.Exit(1) from error
                named = imports.refused_lines(error.detail, batch)
                if not named:
                    _fail(error)
                _problems(session, path, named)
            created += [imports.school_shown({}, a) for a in answer]
            progress.advance(bar, len(batch))
    session.show(created)


@bulk.command("users")
def import_users(ctx: typer.Context, path: Path) -> None:
    """username, display_name, role, school_id, org_id, school_ids (';'), password (empty:
    generated and shown once)."""
    _import(ctx, path, imports.USERS, "/v1/admin/users")


@bulk.command("venues")
def import_venues(ctx: typer.Context, path: Path) -> None:
    """name, kind, area, address, nearest_school_id, distance_m, contact_name, contact_phone,
    status, officer_id."""
    _import(ctx, path, imports.VENUES, "/v1/venues")
