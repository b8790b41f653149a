"""Admin routes: user accounts, partner clients, and the dead letters of the event pipeline.

Every change of who may do what is a permission change in the audit trail. A grant wider than
one school or organisation (several schools, or a station-wide role) is also recorded as a
privileged grant and put on the auditors' desk. Every change of an account's standing bumps
its token version, so tokens issued before it stop working.
"""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Path, Request, Response

from gateway import store
from gateway.access import AuditedRoute, CallerDep, authorized, policy
from gateway.account_forms import (
    AccountView,
    ClientCreate,
    ClientCreated,
    Scope,
    UserCreate,
    UserUpdate,
    scope_rules,
)
from gateway.accounts import AccountCache
from gateway.audit import AuditLog, Event
from gateway.auth import CLIENT_PREFIX, Passwords
from gateway.pages import Limit, paged
from shared.bus import Bus
from shared.contracts.ops import DeadLetteredView, PrivilegedGrantMade
from shared.deadletters import list_dead_letters, replay_dead_letter
from shared.errors import client_error
from shared.events import Envelope, new_id
from shared.identity import STATION_WIDE, Principal, Role
from shared.paging import AfterParam, parse_after, set_next_link
from shared.store import Cursor, Doc, DuplicateKeyError, Store, Writer
from shared.store.retry import transact
from shared.telemetry import current_trace_id

router = APIRouter(
    prefix="/v1/admin",
    tags=["admin"],
    route_class=AuditedRoute,
    # Every route here is for the policy's roles only, whether it reads the caller or not.
    dependencies=[Depends(authorized)],
)
ADMIN = policy(Role.admin)


async def user_doc(body: UserCreate, *, passwords: Passwords) -> Doc:
    """A new, active account as stored (the API and the bootstrap command both make them)."""
    return {
        "id": body.username,
        "password_hash": await passwords.hash(body.password),
        **body.model_dump(mode="json", exclude={"username", "password"}),
        "active": True,
        "token_version": 0,
    }


def is_privileged(scope: Scope) -> bool:
    """Wider than one school or organisation: several schools, or the whole station."""
    return (
        scope.role in STATION_WIDE or scope.role is Role.auditor or len(set(scope.school_ids)) > 1
    )


async def _privileged_grant(
    request: Request, admin: Principal, *, object_id: str, object_type: str, scope: Scope
) -> None:
    """Audited as such, and announced so the auditors' desk sees it (notifications)."""
    state = request.app.state
    log: AuditLog = state.audit
    await log.append(
        Event.by(admin, action="privileged_grant", object_type=object_type, object_id=object_id,
                 purpose=f"role {scope.role.value}", trace_id=current_trace_id())
    )  # fmt: skip
    account_id = (CLIENT_PREFIX if object_type == "client" else "") + object_id
    grant = PrivilegedGrantMade(
        account_id=account_id,
        role=scope.role.value,
        school_ids=tuple(scope.school_ids),
        granted_by=admin.user_id,
    )
    bus: Bus = state.bus
    await bus.publish(
        Envelope.wrap(grant, source="gateway", subject=account_id, correlation_id=new_id())
    )


async def _insert_new(accounts: Store, collection: str, account: Doc, *, taken: str) -> None:
    try:
        await accounts.insert(collection, account)
    except DuplicateKeyError as exc:
        raise HTTPException(409, taken) from exc


def _changed(request: Request, account_id: str) -> None:
    """The account changed: its cached check (gateway/accounts.py) must not outlive it."""
    cache: AccountCache = request.app.state.accounts
    cache.forget(account_id)


async def get_bus(request: Request) -> Bus:
    bus: Bus = request.app.state.bus
    return bus


BusDep = Annotated[Bus, Depends(get_bus)]


PAGED = paged({})


@router.get("/users", response_model=list[AccountView], responses=PAGED, openapi_extra=ADMIN)
async def list_users(
    request: Request, response: Response, limit: Limit = 100, after: AfterParam = None
) -> list[Doc]:
    """By username; the next page is in the `Link` header."""
    users, cursor = await store.list_users(
        request.app.state.store, limit=limit, after=parse_after(after)
    )
    set_next_link(response, request, cursor)
    return users


@router.post(
    "/users",
    response_model=AccountView,
    status_code=201,
    responses={409: {"description": "username already taken"}},
    openapi_extra=policy(
        Role.admin, audit="permission_change", object_type="user", rules=scope_rules()
    ),
)
async def create_user(body: UserCreate, admin: CallerDep, request: Request) -> Doc:
    user = await user_doc(body, passwords=request.app.state.passwords)
    await _insert_new(request.app.state.store, store.USERS_C, user, taken="username already taken")
    _changed(request, body.username)
    if is_privileged(body):
        await _privileged_grant(
            request, admin, object_id=body.username, object_type="user", scope=body
        )
    return user


@router.patch(
    "/users/{username}",
    response_model=AccountView,
    openapi_extra=policy(
        Role.admin,
        audit="permission_change",
        object_type="user",
        id_param="username",
        rules=scope_rules("body.scope"),
    ),
)
async def update_user(username: str, body: UserUpdate, admin: CallerDep, request: Request) -> Doc:
    state = request.app.state
    # Hashed once, before the transaction: no store lock is held while Argon2 works, and a
    # retried transaction reuses it.
    new_hash = await state.passwords.hash(body.password) if body.password is not None else None

    async def work(tx: Writer) -> Doc:
        user = await tx.get(store.USERS_C, username)
        if user is None:
            raise HTTPException(404, "user not found")
        if body.scope is not None:
            user.update(body.scope.model_dump(mode="json"))
        if body.display_name is not None:
            user["display_name"] = body.display_name
        if body.active is not None:
            user["active"] = body.active
        if new_hash is not None:
            user["password_hash"] = new_hash
        if body.scope is not None or body.active is not None or new_hash is not None:
            # Even a change that undoes an earlier one retires the tokens issued in between.
            user = store.bumped(user)
        await store.put_user(tx, user=user)
        return user

    try:
        user = await transact(state.store, work)
    finally:  # a failed commit may still have been applied: forget in any case
        _changed(request, username)
    if body.scope is not None and is_privileged(body.scope):
        await _privileged_grant(
            request, admin, object_id=username, object_type="user", scope=body.scope
        )
    return user


@router.get("/clients", response_model=list[AccountView], responses=PAGED, openapi_extra=ADMIN)
async def list_clients(
    request: Request, response: Response, limit: Limit = 100, after: AfterParam = None
) -> list[Doc]:
    """By client id; the next page is in the `Link` header."""
    clients, cursor = await store.list_clients(
        request.app.state.store, limit=limit, after=parse_after(after)
    )
    set_next_link(response, request, cursor)
    return clients


@router.post(
    "/clients",
    response_model=ClientCreated,
    status_code=201,
    responses={409: {"description": "client_id already taken"}},
    openapi_extra=policy(
        Role.admin, audit="permission_change", object_type="client", rules=scope_rules()
    ),
)
async def create_client(body: ClientCreate, admin: CallerDep, request: Request) -> Doc:
    """Register a partner system; it logs in with grant_type=client_credentials."""
    state = request.app.state
    secret = secrets.token_urlsafe(32)
    client = {
        "id": body.client_id,
        "secret_hash": await state.passwords.hash(secret),
        **body.model_dump(mode="json", exclude={"client_id"}),
        "active": True,
        "token_version": 0,
    }
    await _insert_new(state.store, store.CLIENTS_C, client, taken="client_id already taken")
    _changed(request, CLIENT_PREFIX + body.client_id)
    if is_privileged(body):
        await _privileged_grant(
            request, admin, object_id=body.client_id, object_type="client", scope=body
        )
    return {**client, "client_secret": secret}


@router.delete(
    "/clients/{client_id}",
    status_code=204,
    openapi_extra=policy(
        Role.admin, audit="permission_change", object_type="client", id_param="client_id"
    ),
)
async def revoke_client(client_id: str, admin: CallerDep, request: Request) -> None:
    """Revoked at once: every request checks that its client is still active. Its webhook
    subscriptions are disabled first (a 503 if notifications cannot be reached: nothing is
    revoked, try again), so a revoked client is pushed nothing either."""
    if await store.get_client(request.app.state.store, client_id=client_id) is not None:
        owner = quote(CLIENT_PREFIX + client_id, safe="")
        await request.app.state.services.call(
            "notifications", "POST", f"/webhooks/owners/{owner}/disable", principal=admin
        )

    async def work(tx: Writer) -> None:
        client = await tx.get(store.CLIENTS_C, client_id)
        if client is None:
            raise HTTPException(404, "client not found")
        await store.put_client(tx, client=store.bumped({**client, "active": False}))

    try:
        await transact(request.app.state.store, work)
    finally:
        _changed(request, CLIENT_PREFIX + client_id)


@router.post(
    "/clients/{client_id}/secret",
    response_model=ClientCreated,
    openapi_extra=policy(
        Role.admin, audit="permission_change", object_type="client", id_param="client_id"
    ),
)
async def rotate_client_secret(client_id: str, request: Request) -> Doc:
    """A new secret, shown once; the old secret and every token issued with it stop working."""
    state = request.app.state
    secret = secrets.token_urlsafe(32)
    secret_hash = await state.passwords.hash(secret)

    async def work(tx: Writer) -> Doc:
        client = await tx.get(store.CLIENTS_C, client_id)
        if client is None:
            raise HTTPException(404, "client not found")
        client = store.bumped({**client, "secret_hash": secret_hash})
        await store.put_client(tx, client=client)
        return client

    try:
        client = await transact(state.store, work)
    finally:
        _changed(request, CLIENT_PREFIX + client_id)
    return {**client, "client_secret": secret}


@router.get(
    "/dead-letters", response_model=list[DeadLetteredView], responses=PAGED, openapi_extra=ADMIN
)
async def dead_letters(
    bus: BusDep,
    request: Request,
    response: Response,
    limit: Limit = 100,
    after: AfterParam = None,
) -> list[DeadLetteredView]:
    """Newest first; the next page is in the `Link` header."""
    cursor = parse_after(after)
    if cursor is not None and not isinstance(cursor.value, int):
        detail = [client_error(["query", "after"], "not a valid page cursor", "value_error")]
        raise HTTPException(422, detail)
    before = cursor.value if cursor is not None else None
    letters = await list_dead_letters(bus, limit=limit + 1, before=before)
    more = len(letters) > limit
    letters = letters[:limit]
    last = letters[-1].id if more else None
    set_next_link(response, request, Cursor(last, str(last)) if last is not None else None)
    return letters


@router.post(
    "/dead-letters/{dead_letter_id}/replay",
    response_model=DeadLetteredView,
    status_code=202,
    openapi_extra=ADMIN,
)
async def replay(
    dead_letter_id: Annotated[int, Path(ge=1, le=2**53)],
    admin: CallerDep,
    bus: BusDep,
    request: Request,
) -> DeadLetteredView:
    """Republish the event to its original subject; it leaves the dead-letter list."""
    replayer: Bus = request.app.state.replayer
    view = await replay_dead_letter(bus, replayer=replayer, seq=dead_letter_id, by=admin.user_id)
    if view is None:
        raise HTTPException(404, "dead letter not found")
    return view
