"""What the admin API takes and shows of accounts: plain models, so the operators' CLI
(ops/imports.py) validates a CSV row exactly as the API will, without the gateway's machinery."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from shared.contracts.body import Body
from shared.identity import Role

NAME = r"^[a-z0-9][a-z0-9_.-]{2,39}$"
# What each role's scope needs. Declared as rules on the operations that take a scope
# (x-hulei-rules), not as a JSON Schema `anyOf` on the model: generated clients could not
# build that (openapi-python-client skipped every admin operation taking an account).
NEEDS: list[tuple[tuple[Role, ...], str]] = [
    ((Role.teacher, Role.school_safety_lead), "school_id"),
    ((Role.social_worker,), "org_id"),
    ((Role.police_officer, Role.grid_worker, Role.safety_volunteer), "school_ids"),
]


def scope_rules(prefix: str = "body") -> dict[str, str]:
    """The scope's needs as the operations taking one declare them (`body.scope` in an update)."""
    return {
        f"{prefix}.{field}": f"needed by {'/'.join(r.value for r in roles)} accounts"
        for roles, field in NEEDS
    }


class Scope(Body):
    model_config = ConfigDict(extra="forbid")

    role: Role
    # Checked even when absent (validate_default): a scope that does not fit the role would
    # give a user nothing, or too much; the refusal names the missing field.
    school_id: str | None = Field(default=None, max_length=40, validate_default=True)
    org_id: str | None = Field(default=None, max_length=40, validate_default=True)
    school_ids: list[str] = Field(default_factory=list, max_length=50, validate_default=True)

    @field_validator("school_id", "org_id", "school_ids")
    @classmethod
    def _needed_by_role(cls, value: Any, info: ValidationInfo) -> Any:
        role = info.data.get("role")  # absent when the role itself was refused
        for roles, field in NEEDS:
            if info.field_name == field and role in roles and not value:
                raise ValueError(f"{role} accounts need {field}")
        return value


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
