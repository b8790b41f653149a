"""The gateway's own store: user accounts (the identity directory)."""

from __future__ import annotations

from argon2 import PasswordHasher

from shared.demo import DEMO_PASSWORD, USERS
from shared.store import Doc, Reader, Store

USERS_C = "users"


async def get_user(store: Reader, *, username: str) -> Doc | None:
    return await store.get(USERS_C, username)


async def seed_demo_users(store: Store, *, hasher: PasswordHasher) -> None:
    # One hash for the shared demo password keeps start-up fast; each is still a salted Argon2id.
    password_hash = hasher.hash(DEMO_PASSWORD)
    async with store.transaction() as tx:
        for user in USERS:
            await tx.put(
                USERS_C,
                {
                    "id": user.username,
                    "password_hash": password_hash,
                    "role": user.role,
                    "display_name": user.display_name,
                    "school_id": user.school_id,
                    "org_id": user.org_id,
                    "school_ids": list(user.school_ids),
                    "active": True,
                },
            )
