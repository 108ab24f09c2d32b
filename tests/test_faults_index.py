"""SIGKILL during an index build leaves the old or the new complete index (bench/faults.py does the
killing). Slow: every round starts a process that loads the model and builds (about 25 s on two busy
cores), so 2 rounds and the full 20 run under ``-m slow``; docs/reliability.md has the 20-round figures."""

from __future__ import annotations

import importlib.util

import pytest

from conftest import ROOT


def _faults():
    spec = importlib.util.spec_from_file_location("bench_faults", ROOT / "bench" / "faults.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _check(result: dict, rounds: int) -> None:
    assert result["old"] + result["new"] == rounds and result["neither"] == 0
    assert result["damaged"] == 0
    assert result["final_open_ok"]


@pytest.mark.slow
def test_killed_builds_leave_old_or_new_index(tmp_path, encoder):
    _check(_faults().kill_during_builds(2, tmp_path, seed=3, log=lambda m: None), 2)


@pytest.mark.slow
def test_twenty_killed_builds(tmp_path, encoder):
    result = _faults().kill_during_builds(20, tmp_path, seed=8, log=lambda m: None)
    _check(result, 20)
    assert result["killed_mid_build"] >= 10  # the kills really landed inside builds
