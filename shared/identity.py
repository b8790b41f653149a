"""Who is calling: roles, the principal, and the internal token the gateway hands to services."""

from __future__ import annotations

import time
from enum import StrEnum

import jwt
from pydantic import BaseModel, ConfigDict

INTERNAL_AUDIENCE = "hulei-internal"
INTERNAL_ISSUER = "hulei-gateway"
INTERNAL_ALGORITHM = "HS256"
INTERNAL_TTL_S = 60


class Role(StrEnum):
    teacher = "teacher"
    school_safety_lead = "school_safety_lead"
    police_officer = "police_officer"
    dispatcher = "dispatcher"
    supervisor = "supervisor"
    social_worker = "social_worker"
    auditor = "auditor"
    admin = "admin"


SCHOOL_STAFF = frozenset({Role.teacher, Role.school_safety_lead})
# Roles that see every case and task of the station (they assign and escalate).
STATION_WIDE = frozenset({Role.dispatcher, Role.supervisor, Role.admin})


class Principal(BaseModel):
    """A caller as the services see it. Scope fields say what objects the caller may touch."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    role: Role
    school_id: str | None = None  # school staff: their school
    org_id: str | None = None  # social workers: their social-work organisation
    school_ids: tuple[str, ...] = ()  # police officers: the schools in their beat

    @property
    def inbox_keys(self) -> list[str]:
        """Inbox addresses this caller reads: personal, their organisation, their role desk."""
        keys = [f"user:{self.user_id}", f"role:{self.role.value}"]
        if self.org_id:
            keys.append(f"org:{self.org_id}")
        return keys


def mint_internal_token(principal: Principal, *, secret: str) -> str:
    now = int(time.time())
    claims = {
        "iss": INTERNAL_ISSUER,
        "aud": INTERNAL_AUDIENCE,
        "iat": now,
        "exp": now + INTERNAL_TTL_S,
        "sub": principal.user_id,
        "principal": principal.model_dump(mode="json"),
    }
    return jwt.encode(claims, secret, algorithm=INTERNAL_ALGORITHM)


def read_internal_token(token: str, *, secret: str) -> Principal:
    """Raises jwt.InvalidTokenError on any defect (signature, expiry, issuer, audience)."""
    claims = jwt.decode(
        token,
        secret,
        algorithms=[INTERNAL_ALGORITHM],
        audience=INTERNAL_AUDIENCE,
        issuer=INTERNAL_ISSUER,
        options={"require": ["exp", "iat", "iss", "aud", "sub"]},
    )
    return Principal.model_validate(claims["principal"])
