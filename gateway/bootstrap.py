"""Create the first administrator of a deployment that runs without demo data.

    HULEI_ADMIN_PASSWORD=… python -m gateway.bootstrap --username chief-admin

Reads the gateway's own settings (HULEI_GATEWAY_STORE_URL, …). Refuses to touch an existing
account, so it cannot be used to take one over.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from argon2 import PasswordHasher

from gateway import store
from gateway.account_forms import UserCreate
from gateway.admin import user_doc
from gateway.audit import AuditLog, Event
from gateway.auth import Passwords
from gateway.settings import Settings
from shared.identity import Role
from shared.store import DuplicateKeyError, open_store


async def create_admin(*, store_url: str, audit_key: str, username: str, password: str) -> None:
    body = UserCreate(
        username=username, password=password, display_name="Administrator", role=Role.admin
    )
    accounts = await open_store(store_url)
    try:
        user = await user_doc(body, passwords=Passwords(PasswordHasher(), workers=1))
        await store.insert_user(accounts, user=user)
        audit = await AuditLog.open(accounts, key=audit_key)
        await audit.append(
            Event(actor="bootstrap", action="permission_change", object_type="user",
                  object_id=username, role="admin"),
            Event(actor="bootstrap", action="privileged_grant", object_type="user",
                  object_id=username, purpose="role admin"),
        )  # fmt: skip
    finally:
        await accounts.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Create the first Hulei administrator.")
    parser.add_argument("--username", required=True)
    args = parser.parse_args()
    password = os.environ.get("HULEI_ADMIN_PASSWORD", "")
    if len(password) < 12:
        sys.exit("set HULEI_ADMIN_PASSWORD (at least 12 characters)")
    settings = Settings()
    try:
        asyncio.run(
            create_admin(
                store_url=settings.store_url,
                audit_key=settings.audit_key.get_secret_value(),
                username=args.username,
                password=password,
            )
        )
    except DuplicateKeyError:
        sys.exit(f"user {args.username} already exists; nothing changed")
    print(f"created administrator {args.username}")


if __name__ == "__main__":
    main()
