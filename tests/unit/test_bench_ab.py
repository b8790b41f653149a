"""The A/B runner's rules (tests/bench/ab.py): reading a CPU run's figures as the CPU bench
prints them, and the pairs' ratios. Its checkouts and gate are in
tests/integration/test_bench_ab.py; the whole runner, two platforms at once, in
tests/e2e/test_bench_smoke.py."""

from __future__ import annotations

import pytest

from tests.bench import ab, cpu


def _printed(capsys: pytest.CaptureFixture[str], used: dict[str, float], per: int) -> str:
    cpu._print_cost("300 reports at concurrency 16: POST 250/s,", used, per=per, what="per report")
    return capsys.readouterr().out


def test_a_runs_figures_are_read_as_the_cpu_bench_prints_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    cost = ab.Cost.parse(_printed(capsys, {"nats": 0.3, "school_liaison": 0.6}, per=300))
    assert cost.total_ms == 3.0
    assert cost.parts == {"nats": 1.0, "school_liaison": 2.0}


def test_an_open_loop_runs_figure_is_read_too() -> None:
    out = "open loop 40/s for 30 s: 1200 accepted, refused 0, CPU 7.25 ms per accepted report"
    assert ab.Cost.parse(out + " (all processes)\ngateway 2.50, nats 1.00\n").total_ms == 7.25


def test_lines_after_the_figures_do_not_change_them(capsys: pytest.CaptureFixture[str]) -> None:
    printed = _printed(capsys, {"gateway": 0.9}, per=300) + "a warning at shutdown 42\n"
    assert ab.Cost.parse(printed) == ab.Cost(3.0, {"gateway": 3.0})


def test_output_without_a_figure_is_an_error_naming_what_came() -> None:
    with pytest.raises(ValueError, match="the tasks and inbox entries did not all arrive"):
        ab.Cost.parse("the tasks and inbox entries did not all arrive in 5 min\n")


def test_the_report_gives_each_pairs_ratio_and_each_process_means() -> None:
    a1, b1 = ab.Cost(10.0, {"gateway": 4.0}), ab.Cost(9.0, {"gateway": 3.0})
    a2, b2 = ab.Cost(8.0, {"gateway": 2.0}), ab.Cost(8.8, {"gateway": 3.0})
    lines = ab.report([(a1, b1), (a2, b2)]).splitlines()
    assert lines[0] == "pair 1: A 10.00 ms, B 9.00 ms per report, B/A 0.900"
    assert lines[1] == "pair 2: A 8.00 ms, B 8.80 ms per report, B/A 1.100"
    assert lines[2] == "B/A all processes: mean 1.000 (from 0.900 to 1.100, 2 pairs)"
    assert lines[3] == "mean ms per report, A → B: gateway 3.00 → 3.00"


def test_settings_for_one_side_are_name_value_pairs() -> None:
    assert ab._env(["A=1", "B=x=y"]) == {"A": "1", "B": "x=y"}
    with pytest.raises(SystemExit, match="NAME=VALUE"):
        ab._env(["A"])
