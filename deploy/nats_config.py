"""Print the NATS accounts (users, passwords, permissions) from shared/nats_auth.py.

The compose and Kubernetes NATS configs `include` the output, checked in beside them; a test
keeps both copies equal to what this prints. Passwords are not in it: the server reads each
from its environment (`$NATS_PASSWORD_<USER>`), filled from the deployment's secrets.

    python -m deploy.nats_config > deploy/compose/nats-accounts.conf
    python -m deploy.nats_config > deploy/k8s/base/nats/accounts.conf
"""

from __future__ import annotations

from pathlib import Path

from shared.nats_auth import accounts_block

DEPLOY = Path(__file__).resolve().parent
# The checked-in copies (kustomize cannot load a file from outside its directory).
COPIES = (
    DEPLOY / "compose" / "nats-accounts.conf",
    DEPLOY / "k8s" / "base" / "nats" / "accounts.conf",
)


def main() -> None:
    print(accounts_block(), end="")


if __name__ == "__main__":
    main()
