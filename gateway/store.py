"""The gateway's own store: user accounts and partner clients (the identity directory).

Each account has a `token_version`: tokens carry the version they were issued under, and a
change of the account's standing bumps it, which retires every token issued before.
"""

from __future__ import annotations

from gateway.demo import USERS
from shared.store import Cursor, Doc, Reader, Store, Writer
from shared.store.keyset import find_page
from shared.store.retry import transact

USERS_C = "users"
CLIENTS_C = "clients"


async def get_user(store: Reader, *, username: str) -> Doc | None:
    return await store.get(USERS_C, username)


async def list_users(
    store: Reader, *, limit: int, after: Cursor | None = None
) -> tuple[list[Doc], Cursor | None]:
    """By username; the next page's cursor, if any."""
    return await find_page(store, USERS_C, order_by="id", limit=limit, after=after)


async def insert_user(tx: Writer, *, user: Doc) -> None:
    await tx.insert(USERS_C, user)


async def put_user(tx: Writer, *, user: Doc) -> None:
    await tx.put(USERS_C, user)


async def get_client(store: Reader, *, client_id: str) -> Doc | None:
    return await store.get(CLIENTS_C, client_id)


async def list_clients(
    store: Reader, *, limit: int, after: Cursor | None = None
) -> tuple[list[Doc], Cursor | None]:
    """By client id; the next page's cursor, if any."""
    return await find_page(store, CLIENTS_C, order_by="id", limit=limit, after=after)


async def put_client(tx: Writer, *, client: Doc) -> None:
    await tx.put(CLIENTS_C, client)


def bumped(account: Doc) -> Doc:
    """The account with a new token version: every token issued before no longer works."""
    return {**account, "token_version": int(account.get("token_version", 0)) + 1}


async def seed_demo_users(store: Store, *, password_hash: str) -> None:
    """`password_hash`: of DEMO_PASSWORD. One hash for all keeps start-up fast; each is still
    a salted Argon2id."""

    async def seed(tx: Writer) -> None:
        for user in USERS:
            if await tx.get(USERS_C, user.username) is not None:
                continue  # keep changes an admin made since the last start
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
                    "token_version": 0,
                },
            )

    await transact(store, seed)  # two gateways starting together: one seeds, one re-checks
