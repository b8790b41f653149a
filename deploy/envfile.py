"""Write deploy/compose/.env for a first `make up`: the example with fresh random secrets.

    python -m deploy.envfile deploy/compose/.env

Every secret of .env.example is replaced; the Ed25519 pair for internal tokens is generated
together, since the services' public key must match the gateway's private one.
"""

from __future__ import annotations

import base64
import re
import secrets
import sys
from pathlib import Path

from shared.identity import generate_keypair
from shared.nats_auth import identities, password_variable

EXAMPLE = Path(__file__).resolve().parent / "compose" / ".env.example"
# The processes with a store of their own: one database and role each.
PROCESSES = ("gateway", "school_liaison", "case_tracking", "patrol", "notifications")


def fresh_secrets() -> dict[str, str]:
    signing_key, verify_key = generate_keypair()
    return {
        "JWT_SECRET": secrets.token_urlsafe(48),
        "AUDIT_KEY": secrets.token_urlsafe(48),
        "PII_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "NOTES_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "INTERNAL_SIGNING_KEY": signing_key,
        "INTERNAL_VERIFY_KEY": verify_key,
        # One NATS password per identity (shared/nats_auth.py), never one shared.
        **{password_variable(i.user): "nats-" + secrets.token_hex(24) for i in identities()},
        # PostgreSQL: one role per process (compose/postgres/init.sql); hex is URL-safe.
        "PG_SUPERUSER_PASSWORD": secrets.token_hex(24),
        **{f"PG_PASSWORD_{process.upper()}": secrets.token_hex(24) for process in PROCESSES},
    }


def render(example: str, values: dict[str, str]) -> str:
    """The example's text with the listed variables' values replaced, comments kept."""
    return re.sub(
        r"^(\w+)=.*$",
        lambda m: f"{m[1]}={values[m[1]]}" if m[1] in values else m[0],
        example,
        flags=re.MULTILINE,
    )


def main() -> None:
    out = Path(sys.argv[1])
    if out.exists():
        sys.exit(f"{out} exists; not overwriting its secrets")
    out.touch(mode=0o600)  # created private, before any secret is written into it
    out.write_text(render(EXAMPLE.read_text(), fresh_secrets()))
    print(f"wrote {out} with fresh random secrets; back up PII_KEY and NOTES_KEY")


if __name__ == "__main__":
    main()
