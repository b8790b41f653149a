"""What the admin API takes and shows of accounts: plain models, so the operators' CLI
(ops/imports.py) validates a CSV row exactly as the API will, without the gateway's machinery."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.body import Body
from shared.identity import Role

NAME = r"^[a-z0-9][a-z0-9_.-]{2,39}$"
# What each role's scope needs, as `_scope_fits_role` checks it and the document says it.
NEEDS: list[tuple[tuple[Role, ...], str, dict[str, Any]]] = [
    ((Role.teacher, Role.school_safety_lead), "school_id", {"type": "string", "minLength": 1}),
    ((Role.social_worker,), "org_id", {"type": "string", "minLength": 1}),
    (
        (Role.police_officer, Role.grid_worker, Role.safety_volunteer),
        "school_ids",
        {"type": "array", "minItems": 1},
    ),
]
NEEDS_NOTHING = [r.value for r in Role if not any(r in roles for roles, _, _ in NEEDS)]
SCOPE_SCHEMA: dict[str, Any] = {
    "anyOf": [
        *(
            {
                "properties": {"role": {"enum": [r.value for r in roles]}, field: schema},
                "required": [field],
            }
            for roles, field, schema in NEEDS
        ),
        {"properties": {"role": {"enum": NEEDS_NOTHING}}},
    ]
}


class Scope(Body):
    model_config = ConfigDict(extra="forbid", json_schema_extra=SCOPE_SCHEMA)

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
        if self.role in (Role.grid_worker, Role.safety_volunteer) and not self.school_ids:
            raise ValueError("grid workers and safety volunteers need school_ids (their grid)")
        return self


class UserCreate(Scope):
    username: str = Field(pattern=NAME)
    password: str = Field(min_length=12, max_length=200)
    display_name: str = Field(min_length=1, max_length=100)


class UserUpdate(Body):
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
