"""A partner's view of the contract for tests/e2e/test_contract.py: a typed client generated
from the running gateway's `/openapi.json` by a maintained generator (openapi-python-client),
its operations and models by name, and one logged-in client per user."""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

PACKAGE = "hulei_partner_client"


@contextmanager
def generated_client(gateway_url: str, work: Path) -> Iterator[ModuleType]:
    """The client package, generated from the document the gateway serves, importable
    while the context lasts."""
    document = work / "openapi.json"
    document.write_bytes(httpx.get(f"{gateway_url}/openapi.json").content)
    config = work / "config.yaml"
    # No post hooks: the generator would run ruff over its output, which the test does not need.
    config.write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")
    out = work / PACKAGE
    argv = ["generate", f"--path={document}", f"--output-path={out}", f"--config={config}"]
    done = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", *argv, "--meta=none"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    # The generator skips what it cannot express with a warning, yet still succeeds: both fail.
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Warning" not in done.stdout + done.stderr, done.stdout + done.stderr
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(work))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


class Partner:
    """The generated package's operations, by tag and module, and one client per user."""

    def __init__(self, package: ModuleType, base_url: str) -> None:
        self.package = package
        self.base_url = base_url
        self.clients: dict[str, Any] = {}

    def op(self, tag: str, operation: str) -> Any:
        return importlib.import_module(f"{self.package.__name__}.api.{tag}.{operation}")

    def model(self, name: str) -> Any:
        return getattr(importlib.import_module(f"{self.package.__name__}.models"), name)

    def as_user(self, username: str) -> Any:
        if username not in self.clients:
            anonymous = self.package.Client(base_url=self.base_url)
            form = self.model("BodyLoginV1AuthTokenPost")(username=username, password="demo")
            login = self.op("auth", "login_v1_auth_token_post")
            token = login.sync(client=anonymous, body=form)
            assert isinstance(token, self.model("Token")), token
            assert token.token_type == "bearer"
            self.clients[username] = self.package.AuthenticatedClient(
                base_url=self.base_url, token=token.access_token
            )
        return self.clients[username]


def ok(response: Any, model: Any, status: int = 200) -> Any:
    """The parsed body of a `sync_detailed` answer, which must be `status` and a `model`."""
    assert response.status_code == status, response.content
    assert isinstance(response.parsed, model), response.parsed
    return response.parsed
