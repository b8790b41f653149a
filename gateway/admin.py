"""Admin routes: user accounts, partner clients, and the dead letters of the event pipeline.

Every change of who may do what is a permission change in the audit trail.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from argon2 import PasswordHasher
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from gateway import store as db
from gateway.access import AuditedRoute, CallerDep, policy
from shared.bus import Bus
from shared.contracts.ops import DeadLetteredView
from shared.deadletters import list_dead_letters, replay_dead_letter
from shared.identity import Role
from shared.store import Doc, DuplicateKeyError, Store, Writer
from shared.store.retry import transact

router = APIRouter(prefix="/v1/admin", tags=["admin"], route_class=AuditedRoute)
ADMIN = policy(Role.admin)
NAME = r"^[a-z0-9][a-z0-9_.-]{2,39}$"


class Scope(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    school_id: str | None = Field(default=None, max_length=40)
    org_id: str | None = Field(default=None, max_length=40)
    school_ids: list[str] = Field(default_factory=list, max_length=50)

    @model_validator(mode="after")
    def _scope_fits_role(self) -> Scope:
        """A scope that does not fit the role would give a user nothing, or too much."""
        if self.role in (Role.teacher, Role.school_safety_lead) and not self.school_id:
            raise ValueError("school staff need school_id")
        if self.role is Role.social_worker and not self.org_id:
            raise ValueError("social workers need org_id")
        if self.role is Role.police_officer and not self.school_ids:
            raise ValueError("police officers need school_ids (their beat)")
        return self


class UserCreate(Scope):
    username: str = Field(pattern=NAME)
    password: str = Field(min_length=12, max_length=200)
    display_name: str = Field(min_length=1, max_length=100)


class UserUpdate(BaseModel):
    """Partial update: the scope, if given, is given whole with its role."""

    model_config = ConfigDict(extra="forbid")

    scope: Scope | None = None
    display_name: str | None = Field(default=None, min_length=1, max_length=100)
    active: bool | None = None
    password: str | None = Field(default=None, min_length=12, max_length=200)


class AccountView(BaseModel):
    """A user or a partner client, without its password or secret hash."""

    id: str
    role: Role
    display_name: str
    school_id: str | None
    org_id: str | None
    school_ids: list[str]
    active: bool


class ClientCreate(Scope):
    client_id: str = Field(pattern=NAME)
    display_name: str = Field(min_length=1, max_length=100)


class ClientCreated(AccountView):
    client_secret: str = Field(description="shown once; only its hash is kept")


def user_doc(body: UserCreate, *, hasher: PasswordHasher) -> Doc:
    """A new, active account as stored (the API and the bootstrap command both make them)."""
    return {
        "id": body.username,
        "password_hash": hasher.hash(body.password),
        **body.model_dump(mode="json", exclude={"username", "password"}),
        "active": True,
    }


async def _insert_new(store: Store, collection: str, account: Doc, *, taken: str) -> None:
    try:
        await store.insert(collection, account)
    except DuplicateKeyError as exc:
        raise HTTPException(409, taken) from exc


def get_bus(request: Request) -> Bus:
    bus: Bus = request.app.state.bus
    return bus


BusDep = Annotated[Bus, Depends(get_bus)]


Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
After = Annotated[str | None, Query(max_length=200, description="the last id of the previous page")]


@router.get("/users", response_model=list[AccountView], openapi_extra=ADMIN)
async def list_users(
    admin: CallerDep, request: Request, limit: Limit = 100, after: After = None
) -> list[Doc]:
    """By username; the next page starts `?after=` the last one."""
    return await db.list_users(request.app.state.store, limit=limit, after=after)


@router.post(
    "/users",
    response_model=AccountView,
    status_code=201,
    openapi_extra=policy(Role.admin, audit="permission_change", object_type="user"),
)
async def create_user(body: UserCreate, admin: CallerDep, request: Request) -> Doc:
    user = user_doc(body, hasher=request.app.state.passwords.hasher)
    await _insert_new(request.app.state.store, db.USERS_C, user, taken="username already taken")
    return user


@router.patch(
    "/users/{username}",
    response_model=AccountView,
    openapi_extra=policy(
        Role.admin, audit="permission_change", object_type="user", id_param="username"
    ),
)
async def update_user(username: str, body: UserUpdate, admin: CallerDep, request: Request) -> Doc:
    state = request.app.state
    # Hashed once, outside the transaction: a retried transaction reuses it.
    password = body.password
    password_hash = state.passwords.hasher.hash(password) if password is not None else None

    async def work(tx: Writer) -> Doc:
        user = await tx.get(db.USERS_C, username)
        if user is None:
            raise HTTPException(404, "user not found")
        if body.scope is not None:
            user.update(body.scope.model_dump(mode="json"))
        if body.display_name is not None:
            user["display_name"] = body.display_name
        if body.active is not None:
            user["active"] = body.active
        if password_hash is not None:
            user["password_hash"] = password_hash
        await db.put_user(tx, user=user)
        return user

    return await transact(state.store, work)


@router.get("/clients", response_model=list[AccountView], openapi_extra=ADMIN)
async def list_clients(
    admin: CallerDep, request: Request, limit: Limit = 100, after: After = None
) -> list[Doc]:
    """By client id; the next page starts `?after=` the last one."""
    return await db.list_clients(request.app.state.store, limit=limit, after=after)


@router.post(
    "/clients",
    response_model=ClientCreated,
    status_code=201,
    openapi_extra=policy(Role.admin, audit="permission_change", object_type="client"),
)
async def create_client(body: ClientCreate, admin: CallerDep, request: Request) -> Doc:
    """Register a partner system; it logs in with grant_type=client_credentials."""
    state = request.app.state
    secret = secrets.token_urlsafe(32)
    client = {
        "id": body.client_id,
        "secret_hash": state.passwords.hasher.hash(secret),
        **body.model_dump(mode="json", exclude={"client_id"}),
        "active": True,
    }
    await _insert_new(state.store, db.CLIENTS_C, client, taken="client_id already taken")
    return {**client, "client_secret": secret}


@router.delete(
    "/clients/{client_id}",
    status_code=204,
    openapi_extra=policy(
        Role.admin, audit="permission_change", object_type="client", id_param="client_id"
    ),
)
async def revoke_client(client_id: str, admin: CallerDep, request: Request) -> None:
    """Revoked at once: every request checks that its client is still active."""

    async def work(tx: Writer) -> None:
        client = await tx.get(db.CLIENTS_C, client_id)
        if client is None:
            raise HTTPException(404, "client not found")
        await db.put_client(tx, client={**client, "active": False})

    await transact(request.app.state.store, work)


@router.get("/dead-letters", response_model=list[DeadLetteredView], openapi_extra=ADMIN)
async def dead_letters(
    admin: CallerDep, bus: BusDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[DeadLetteredView]:
    return await list_dead_letters(bus, limit=limit)


@router.post(
    "/dead-letters/{dead_letter_id}/replay",
    response_model=DeadLetteredView,
    status_code=202,
    openapi_extra=ADMIN,
)
async def replay(
    dead_letter_id: Annotated[int, Path(ge=1, le=2**53)], admin: CallerDep, bus: BusDep
) -> DeadLetteredView:
    """Republish the event to its original subject; it leaves the dead-letter list."""
    view = await replay_dead_letter(bus, seq=dead_letter_id, by=admin.user_id)
    if view is None:
        raise HTTPException(404, "dead letter not found")
    return view
