"""Rendering for people: rich tables and event lines. Data in, text out; no decisions here."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any

from podium.store import EventRow, Job
from podium.summary import human_duration
from podium.workspace import WorkspaceState

if TYPE_CHECKING:
    from rich.console import Console

PIPE_WIDTH = 160
WIDE = 100  # narrower terminals drop the AGE and QUIET columns
COLUMNS = ["ID", "STATE", "AGENT", "BRANCH", "AGE", "QUIET", "WORK", "TASK"]
MIN_WIDTHS = {"ID": 3, "STATE": 10, "AGENT": 7, "BRANCH": 12, "AGE": 6}
STATE_STYLE = {
    "queued": "cyan",
    "starting": "cyan",
    "running": "cyan",
    "stalled": "bold yellow",
    "done": "green",
    "no_changes": "yellow",
    "failed": "bold red",
    "cancelled": "dim",
    "lost": "bold magenta",
}


def status_rows(jobs: list[Job], behind: dict[int, int | None] | None = None) -> list[dict[str, Any]]:
    """One plain dict per job: what ``status --json`` prints and the table shows."""
    behind = behind or {}
    now = time.time()
    rows = []
    for job in jobs:
        work = job.work or {}
        rows.append(
            {
                "id": job.id,
                "state": job.state,
                "agent": job.agent,
                "role": job.role,
                "branch": job.branch,
                "workspace": job.workspace,
                "parent": job.parent_id,
                "session_id": job.session_id,
                "created_at": job.created_at,
                "started_at": job.started_at,
                "ended_at": job.ended_at,
                "age": round(now - job.created_at, 1),
                "silent_for": round(now - job.last_activity_at, 1) if job.last_activity_at and job.active else None,
                "events": job.event_count,
                "files_changed": len(work.get("files") or []) if job.work else None,
                "commits": len(work.get("commits") or []) if job.work else None,
                "behind_base": behind.get(job.id),
                "tests": work.get("tests"),
                "exit_code": job.exit_code,
                "runner_pid": job.runner_pid,
                "agent_pid": job.agent_pid,
                "prompt": job.prompt[:120],
                "error": job.error,
            }
        )
    return rows


def _console() -> Console:
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else PIPE_WIDTH)  # piped output is not cut at 80


def tests_cell(tests: dict[str, Any] | None) -> str:
    """A tester turn's verdict in a few words: ``tests passed (12 passed)``."""
    if not tests:
        return "no test run"
    word = {True: "passed", False: "FAILED", None: "unknown"}[tests.get("passed")]
    counts = ", ".join(f"{n} {k}" for k, n in (tests.get("counts") or {}).items())
    return f"tests {word}" + (f" ({counts})" if counts else "")


def print_status(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    console = _console()
    if not rows:
        console.print('no jobs yet — start one with: podium delegate "describe the situation"')
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    columns = COLUMNS if console.width >= WIDE else [c for c in COLUMNS if c not in ("AGE", "QUIET")]
    for col in columns:
        # the task gives way first; the short columns keep what makes a row recognisable
        table.add_column(col, overflow="ellipsis", no_wrap=True, min_width=MIN_WIDTHS.get(col),
                         ratio=1 if col == "TASK" else None)
    for r in rows:
        work = "" if r["files_changed"] is None else f"{r['files_changed']} files"
        if r["commits"]:
            work += f", {r['commits']} commits"
        if r.get("behind_base"):
            work += f", behind base by {r['behind_base']}"
        if r.get("role") == "tester":
            work = tests_cell(r.get("tests"))
        task = r["error"] if r["state"] in ("failed", "lost") and r["error"] else r["prompt"]
        style = STATE_STYLE.get(r["state"], "")
        cells = {
            "ID": str(r["id"]),
            "STATE": f"[{style}]{r['state']}[/]" if style else r["state"],
            "AGENT": r["agent"] if r.get("role", "worker") == "worker" else f"{r['agent']} ({r['role']})",
            "BRANCH": r["branch"] or "",
            "AGE": human_duration(r["age"]),
            "QUIET": human_duration(r["silent_for"]) if r["silent_for"] is not None else "",
            "WORK": work,
            "TASK": task[:80],
        }
        table.add_row(*(cells[c] for c in columns))
    console.print(table)


def one_line(text: str, limit: int = 120) -> str:
    first, _, rest = text.strip().partition("\n")
    if rest or len(first) > limit:
        return first[: limit - 1] + "…"
    return first


def event_line(e: EventRow) -> str:
    d = e.data
    clock = time.strftime("%H:%M:%S", time.localtime(e.ts))
    if e.kind == "message":
        body = f"» {one_line(str(d.get('text', '')), 300)}"
    elif e.kind == "command":
        body = f"$ {one_line(str(d.get('command', '')))}  → exit {d.get('exit_code')}"
    elif e.kind == "file_change":
        body = f"~ {d.get('change', 'edit')} {d.get('path', '')}"
    elif e.kind == "tool_call":
        body = f"⚙ {d.get('name', '')}"
    elif e.kind == "usage":
        body = f"tokens {d.get('input_tokens', 0)} in / {d.get('output_tokens', 0)} out"
    elif e.kind == "final":
        verdict = "success" if d.get("success") else f"failure: {d.get('error')}"
        body = f"■ agent exited {d.get('exit_code')} ({verdict})"
    elif e.kind == "session":
        body = f"session {d.get('id')}"
    elif e.kind == "stalled":
        body = f"‼ stalled: silent and idle for {d.get('silent_for')}s"
    else:
        body = f"{e.kind}: {d.get('message', d)}"
    return f"{clock} {body}"


def print_events(events: list[EventRow]) -> None:
    import click

    for e in events:
        click.echo(event_line(e))


def print_workspaces(states: list[WorkspaceState]) -> None:
    from rich.table import Table

    console = _console()
    if not states:
        console.print("no workspaces yet — podium delegate creates one per job")
        return
    table = Table(box=None, pad_edge=False, header_style="bold")
    widest = {
        "BRANCH": max(len(w.branch or "") for w in states),
        "BASE": max(len(w.base or "") for w in states),
        "PUSHED": max(len(w.pushed or "") for w in states),
        "JOB": max(len(_job_cell(w)) for w in states),
    }
    for col in ("BRANCH", "BASE", "AHEAD", "BEHIND", "DIRTY", "PUSHED", "JOB", "PATH"):
        # the path gives way first (--json has it whole); the rest keep their width
        table.add_column(col, overflow="ellipsis", no_wrap=True, ratio=1 if col == "PATH" else None,
                         min_width=None if col == "PATH" else max(len(col), min(widest.get(col, 0), 48)))
    for w in states:
        if not w.exists:
            table.add_row(w.branch or "", w.base or "", "", "", "", "", _job_cell(w),
                          f"[bold magenta]missing[/] {w.path}")
            continue
        table.add_row(w.branch or "", w.base or "", _num(w.ahead), _num(w.behind),
                      "[yellow]yes[/]" if w.dirty else "no", w.pushed or "", _job_cell(w), w.path)
    console.print(table)


def _job_cell(w: WorkspaceState) -> str:
    if w.job is None:
        return f"none yet ({w.ticket})" if w.ticket else "none yet"
    return f"{w.job} {w.job_state}"


def _num(n: int | None) -> str:
    return "?" if n is None else str(n)
