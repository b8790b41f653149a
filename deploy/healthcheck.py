"""The image's HEALTHCHECK, for whichever Hulei process the container runs.

    python -m deploy.healthcheck

Finds the process from PID 1's command line (`python -m gateway`, `python -m services.patrol`),
its port from that process's own setting (HULEI_<PROCESS>_PORT, else the settings default),
and asks its /healthz. Exit 0 when it answers 2xx, 1 otherwise; a container that runs no server
(the streams job) has nothing to probe and is healthy.
"""

from __future__ import annotations

import importlib
import os
import sys
import urllib.request
from pathlib import Path


def running_module(cmdline: bytes) -> str | None:
    """`python -m X …` (NUL-separated, as /proc/<pid>/cmdline) → X."""
    args = [a.decode() for a in cmdline.split(b"\0") if a]
    if "-m" in args[:-1]:
        return args[args.index("-m") + 1]
    return None


def port_of(module: str, environ: dict[str, str]) -> int | None:
    """The port the module's Settings will listen on; None for a module without a server."""
    try:
        settings = importlib.import_module(f"{module}.settings").Settings
    except (ModuleNotFoundError, AttributeError):
        return None
    prefix = str(settings.model_config.get("env_prefix", "")).upper()
    value = environ.get(f"{prefix}PORT")
    return int(value) if value else int(settings.model_fields["port"].default)


def main() -> int:
    module = running_module(Path("/proc/1/cmdline").read_bytes())
    port = port_of(module, dict(os.environ)) if module else None
    if port is None:
        return 0
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=4) as response:
            return 0 if 200 <= response.status < 300 else 1
    except OSError:
        return 1


if __name__ == "__main__":
    sys.exit(main())
