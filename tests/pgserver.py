"""A real PostgreSQL server for the tests: Debian's initdb/pg_ctl in a temporary directory.

initdb refuses to run as root (CI runs as root), so the server runs as the `postgres` system
user the Debian package creates, or `nobody`, and everything lives under one temp dir.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import uuid
from pathlib import Path

from deploy.launcher import SERVICES, free_port
from tests.support import proc_stat


def find_bin_dir() -> Path | None:
    """Where initdb and pg_ctl are: PATH first, then Debian's versioned directories."""
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl"):
        return Path(os.path.realpath(initdb)).parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(found[0]).parent if found else None


def _unprivileged_user() -> pwd.struct_passwd | None:
    """Who the server runs as when we are root; None when we are not root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a postgres nor a nobody user exists")


def store_url_key(process: str) -> str:
    """The variable that names a process's store, as an operator sets it."""
    return f"HULEI_{process.upper()}_STORE_URL"


class PgServer:
    """One server for a whole test session; each test asks it for fresh databases."""

    def __init__(
        self, bin_dir: Path, *, durable: bool = False, flushed: bool = False, counted: bool = False
    ) -> None:
        """`durable`: a commit is acknowledged once its WAL is written, so it survives the
        server crashing (what the chaos scenario does); the machine does not crash in a test,
        so nothing is fsynced. Otherwise the last commits may be lost in a crash: faster.
        `flushed`: as production runs it, fsync and full-page writes on too (the benches).
        `counted`: pg_stat_statements loaded, so a bench can count the statements it ran."""
        self.bin_dir = bin_dir
        self.durable = durable or flushed
        self.flushed = flushed
        self.counted = counted
        self.root = Path(tempfile.mkdtemp(prefix="hulei-pg-"))
        self.data = self.root / "data"
        self.sock = self.root / "sock"
        self.port = free_port()
        self.user = _unprivileged_user()

    def _as_server_user(self, *args: str) -> list[str]:
        if self.user is None:
            return list(args)
        ids = [f"--reuid={self.user.pw_uid}", f"--regid={self.user.pw_gid}", "--clear-groups"]
        return ["setpriv", *ids, *args]

    def _run(self, *args: str) -> None:
        env = {**os.environ, "LC_ALL": "C", "HOME": str(self.root)}
        subprocess.run(
            self._as_server_user(*args), check=True, capture_output=True, env=env, cwd=self.root
        )

    def start(self) -> None:
        self.sock.mkdir()
        if self.user is not None:
            os.chmod(self.root, 0o755)  # noqa: S103 - the postgres user must reach its files
            for path in (self.root, self.sock):
                os.chown(path, self.user.pw_uid, self.user.pw_gid)
        self._run(
            str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "hulei",
            "--auth=trust", "--encoding=UTF8", "--no-sync",
        )  # fmt: skip
        self._options = (
            f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 -c max_connections=300"
        )
        if not self.flushed:  # a test server's data is thrown away, and flushing dominates
            self._options += " -c fsync=off -c full_page_writes=off"
        if self.counted:
            self._options += " -c shared_preload_libraries=pg_stat_statements"
        if not self.durable:
            self._options += " -c synchronous_commit=off"
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
            "-o", self._options, "-w", "-t", "30", "start",
        )  # fmt: skip

    @property
    def pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def pids(self) -> list[int]:
        """The postmaster and every process it started (its backends among them)."""
        found = [self.pid]
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and int(proc_stat(entry.name)[1]) == self.pid:
                    found.append(int(entry.name))
            except OSError:
                continue  # ended meanwhile
        return found

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://hulei@127.0.0.1:{self.port}/{database}"

    async def create_database(self, prefix: str = "t") -> str:
        """A new empty database; returns its URL."""
        import asyncpg

        name = f"{prefix[:40]}_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(self.url())
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return self.url(name)

    async def platform_databases(self) -> dict[str, str]:
        """A new database for each of the platform's processes: the environment that points
        each at its own (`store_url_key`)."""
        return {store_url_key(p): await self.create_database(p) for p in (*SERVICES, "gateway")}

    def restart(self) -> None:
        """An abrupt stop (no checkpoint, clients cut off) and a start on the same port."""
        self.stop(mode="immediate")
        self.start_again()

    def start_again(self) -> None:
        self._run(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "log"),
            "-o", self._options, "-w", "-t", "30", "start",
        )  # fmt: skip

    def stop(self, *, mode: str = "fast") -> None:
        if not (self.data / "postmaster.pid").exists():
            return
        pid = self.pid
        try:
            self._run(str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")
        except subprocess.CalledProcessError:
            os.kill(pid, signal.SIGQUIT)  # the postmaster's immediate shutdown, by its pid

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
