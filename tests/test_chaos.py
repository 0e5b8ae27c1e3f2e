"""The chaos benchmark (benchmarks/chaos.py) at a small scale: real codex jobs whose runners, agents, agents'
children and podium commands are SIGKILLed at random (seeded) points lose no work, leave no job stuck, no
agent orphaned or doubled, and no error in the store."""

from __future__ import annotations

import sys
from pathlib import Path

from conftest import Env

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import chaos


def test_jobs_killed_at_random_points_lose_nothing_and_leave_nothing_behind(env: Env) -> None:
    figures = chaos.run(env, slots=6, seed=8, concurrency=3)
    report = "\n".join(figures.lines())
    assert sum(figures.kills.values()) >= 3, report  # the plan deals one strike of each kind: most must land
    assert figures.breaches() == {}, report
