"""What a person reads: the status table keeps every job's id and state at any terminal width, one row per job."""

from __future__ import annotations

import io
import time

import pytest
from rich.console import Console

from podium.render import WIDE, print_status, wait_line
from podium.store import EventRow, Job
from podium.summary import event_line


def row(job_id: int, state: str, agent: str, role: str, branch: str, prompt: str) -> dict[str, object]:
    return {"id": job_id, "state": state, "agent": agent, "host": None, "role": role, "branch": branch, "age": 4000.0,
            "silent_for": 12.0 if state == "running" else None, "thinking_for": None, "files_changed": 3, "commits": 1,
            "behind_base": 2, "tests": {"passed": False, "counts": {"failed": 1, "passed": 9}}, "prompt": prompt,
            "error": "the job's runner (pid 4242) died" if state == "lost" else None}


ROWS = [
    row(10423, "running", "codex", "worker", "feature/PROJ-1234-export-orders-as-csv-with-all-the-columns",
        "Users need to export their orders as CSV.\nThe export must include every column the table shows."),
    row(10424, "stalled", "claude", "tester", "feature/PROJ-1234-export-orders-as-csv-with-all-the-columns",
        "Run the full suite and screenshot the export dialog"),
    row(7, "lost", "claude", "orchestrator", "bugfix/PROJ-9-a-very-long-branch-name-that-never-ends-at-all",
        "podium work: take ticket PROJ-9 to the human's gate.\n\nIts workspace is branch ..."),
    row(8, "no_changes", "gemini", "worker", "docs/readme", "x"),
    dict(row(12, "running", "codex", "worker", "feature/PROJ-77-on-the-cluster", "Run it where the GPUs are"),
         host="gpu-worker-17.build.eu-west-1.compute.internal"),  # an engine's worker, on a machine with a long name
]


@pytest.mark.parametrize("width", [60, 80, 100, 120, 200])
def test_status_keeps_every_id_state_and_agent_at_any_width(width: int) -> None:
    out = io.StringIO()
    print_status(ROWS, Console(file=out, width=width, force_terminal=False, color_system=None))
    lines = out.getvalue().rstrip("\n").splitlines()
    assert len(lines) == 1 + len(ROWS)  # a header and one row per job: a multi-line prompt leaks no stray row
    assert lines[0].split()[:3] == ["ID", "STATE", "AGENT"]
    for line, r in zip(lines[1:], ROWS, strict=True):
        assert len(line) <= width
        words = line.split()
        assert words[0] == str(r["id"]) and words[1] == r["state"], line
        assert words[2] == r["agent"], line
        if r["host"]:
            assert words[3].startswith("@gpu-worker") or width < WIDE, line  # cut, not left out, when there is room
    if width >= 120:
        assert "3 files, 1 commit, behind base by 2" in out.getvalue() or "tests FAILED" in out.getvalue()


def test_a_silent_job_whose_model_still_streams_reads_thinking() -> None:
    out = io.StringIO()
    thinking = dict(row(3, "running", "codex", "worker", "fix/slow", "Think it through"), silent_for=125.0,
                    thinking_for=125.0)
    print_status([thinking], Console(file=out, width=120, force_terminal=False, color_system=None))
    assert out.getvalue().splitlines()[1].split()[:4] == ["3", "running", "(thinking", "2m05s)"]


def test_the_wait_line_says_how_many_in_which_state_for_how_long() -> None:
    now = time.time()

    def job(job_id: int, state: str, quiet: float) -> Job:
        return Job(id=job_id, agent="codex", prompt="p", state=state, created_at=now - 600, stall_after=600,
                   last_activity_at=now - quiet)

    line = wait_line([job(1, "running", 30), job(2, "running", 95), job(3, "queued", 600)], 252)
    assert line == "waiting for 3 jobs: 2 running, 1 queued · 4m12s · quiet for 30s"
    assert wait_line([job(1, "done", 5)], 3).startswith("waiting for 1 job: 1 done")


def test_an_agent_a_signal_ended_reads_as_killed_not_as_a_negative_exit() -> None:
    def final(**data: object) -> str:
        return event_line(EventRow(job_id=1, seq=1, ts=time.time(), kind="final", data=data)).split(" ", 1)[1]

    assert final(exit_code=-15, success=False, error=None) == "■ agent killed by SIGTERM (failure)"
    assert final(exit_code=3, success=False, error="tests failed") == "■ agent exited 3 (failure: tests failed)"
    assert final(exit_code=0, success=True, error=None) == "■ agent exited 0 (success)"


@pytest.mark.parametrize("width", [80, 160])
def test_thousands_of_rows_read_the_same_as_a_few_plain_lines_past_plain_after(width: int) -> None:
    """Past ``PLAIN_AFTER`` rows the table is written as plain fixed-width lines: the same cells, widths and cuts
    as the styled table, row for row."""
    from podium.render import PLAIN_AFTER

    many = ROWS * (PLAIN_AFTER // len(ROWS) + 1)
    styled, plain = io.StringIO(), io.StringIO()
    print_status(ROWS, Console(file=styled, width=width, force_terminal=False, color_system=None))
    print_status(many, Console(file=plain, width=width, force_terminal=False, color_system=None))
    lines = plain.getvalue().splitlines()
    assert len(lines) == 1 + len(many)
    assert [ln.rstrip() for ln in lines[: 1 + len(ROWS)]] == [ln.rstrip() for ln in styled.getvalue().splitlines()]
    assert all(len(ln) <= width for ln in lines)
