"""`make run` starts every process on SQLite unless the operator names another store for it."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.launcher import SERVICES, Platform


def test_a_store_url_in_the_environment_wins_over_the_sqlite_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "postgresql://hulei@127.0.0.1:5432/cases"
    monkeypatch.setenv("HULEI_CASE_TRACKING_STORE_URL", url)
    monkeypatch.setenv("HULEI_GATEWAY_STORE_URL", "postgresql://hulei@127.0.0.1:5432/gw")
    platform = Platform(var_dir=tmp_path)
    assert platform._env("case_tracking")["HULEI_CASE_TRACKING_STORE_URL"] == url
    assert platform._env("gateway")["HULEI_GATEWAY_STORE_URL"].endswith("/gw")
    for name in (s for s in SERVICES if s != "case_tracking"):
        prefix = f"HULEI_{name.upper()}_"
        assert platform._env(name)[prefix + "STORE_URL"] == f"sqlite:///{tmp_path / name}.db"
