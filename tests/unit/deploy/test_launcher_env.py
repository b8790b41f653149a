"""`make run`: each store and NATS's memory as the operator names them, or the defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.launcher import SERVICES, Platform, main, memory_bytes, nats_memory_env


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


@pytest.mark.parametrize(
    ("text", "size"),
    [("256MiB", 256 * 2**20), ("1GiB", 2**30), ("67108864", 2**26), (" 2GiB ", 2**31)],
)
def test_a_nats_memory_budget_reads_as_go_reads_it(text: str, size: int) -> None:
    assert memory_bytes(text) == size
    assert nats_memory_env(text) == {"GOMEMLIMIT": str(size), "GOGC": "off"}


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("256MB", "not a memory size"),  # Go wants MiB; MB would be refused at start
        ("lots", "not a memory size"),
        ("-1GiB", "not a memory size"),
        ("32MiB", "below the smallest"),
    ],
)
def test_a_bad_nats_memory_budget_is_refused_before_anything_starts(
    tmp_path: Path, text: str, named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        Platform(var_dir=tmp_path, nats_memory=text)
    assert not any(tmp_path.iterdir())


def test_the_launcher_refuses_a_bad_budget_naming_the_option(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.argv", ["launcher", "--nats-memory", "256MB"])
    with pytest.raises(SystemExit) as stopped:
        main()
    assert stopped.value.code == 2
    assert "--nats-memory: '256MB' is not a memory size" in capsys.readouterr().err
