"""Rendering for people: rich tables and event lines. Data in, text out; no decisions here."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from podium.store import EventRow, Job
from podium.text import human_duration, one_line, plural, verdict_word
from podium.workspace import WorkspaceState

if TYPE_CHECKING:
    from rich.console import Console

PIPE_WIDTH = 160
WIDE = 100  # narrower terminals drop the AGE and QUIET columns
NARROW = 80  # and narrower still, WORK
COLUMNS = ["ID", "STATE", "AGENT", "BRANCH", "AGE", "QUIET", "WORK", "TASK"]
KEEP = ("ID", "STATE", "AGENT")
MAX_WIDTH = 40  # BRANCH, WORK, AGENT's host: wider cells are cut (--json has them whole)
FLEX = ("BRANCH", "WORK", "TASK")  # what gives way on a narrow terminal
MIN_FLEX = 8  # never narrower than this
GAP = 2
HOST = " @"  # in AGENT, before the host whose worker runs the job: the part cut on a narrow terminal
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


def _console() -> Console:
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else PIPE_WIDTH)  # piped output is not cut at 80


def tests_cell(tests: dict[str, Any] | None) -> str:
    """A tester turn's verdict in a few words: ``tests passed (12 passed)``."""
    if not tests:
        return "no test run"
    word = verdict_word(tests.get("passed"))
    counts = ", ".join(f"{n} {k}" for k, n in (tests.get("counts") or {}).items())
    return f"tests {word}" + (f" ({counts})" if counts else "")


PLAIN_AFTER = 300  # rows past which the status table is plain text, without rich's styling


def print_status(rows: Sequence[Mapping[str, Any]], console: Console | None = None) -> None:
    """The jobs as a table, one row each. ID, STATE and AGENT (the agent and its role) keep their full width at
    any width (≥ 60 columns): the id is what every other command needs. BRANCH, TASK and the engine's host in
    AGENT give way first, then WORK, AGE and QUIET are left out. Laid out here, not by rich: a table of thousands
    of rows prints in one go."""
    plain = len(rows) > PLAIN_AFTER  # thousands of rows: plain fixed-width lines, one format for all
    if plain and console is None:  # and no rich at all: its import and console cost more than the rows
        out = sys.stdout
        width = shutil.get_terminal_size().columns if out.isatty() else PIPE_WIDTH
    else:
        console = console or _console()
        out, width = console.file, console.width
    if not rows:
        out.write('no jobs yet — start one with: podium delegate "describe the situation"\n')
        return
    cells = [_status_cells(r) for r in rows]  # one tuple per row, in COLUMNS order
    drop = set() if width >= WIDE else {"AGE", "QUIET"} if width >= NARROW else {"AGE", "QUIET", "WORK"}
    shown = [i for i, c in enumerate(COLUMNS) if c not in drop]
    columns = [COLUMNS[i] for i in shown]
    by_column = list(zip(*cells, strict=True))
    natural = {COLUMNS[i]: max(len(COLUMNS[i]), *map(len, by_column[i])) for i in shown}
    widths = dict(natural)
    for c in columns:
        if c not in KEEP and c != "TASK":
            widths[c] = min(widths[c], MAX_WIDTH)
    room = width - sum(widths.values()) - GAP * (len(columns) - 1)
    floors = {c: MIN_FLEX for c in FLEX if c in columns}
    agent = COLUMNS.index("AGENT")  # an engine's host in AGENT gives way too, down to the agent and its role
    floors["AGENT"] = max(len("AGENT"), *(len(c[agent].partition(HOST)[0]) for c in cells))
    widths["AGENT"] = min(widths["AGENT"], max(floors["AGENT"], MAX_WIDTH))
    while room < 0:  # the widest of BRANCH, WORK, TASK and AGENT's hosts gives way, a column at a time
        widest = max((c for c in floors if widths[c] > floors[c]), key=lambda c: widths[c], default=None)
        if widest is None:
            break
        widths[widest] -= 1
        room += 1
    gap, last = " " * GAP, columns[-1]
    cut = [(i, widths[COLUMNS[i]]) for i in shown if widths[COLUMNS[i]] < natural[COLUMNS[i]]]  # cut somewhere
    if plain:
        line = gap.join("{}" if c == last else f"{{:<{widths[c]}}}" for c in columns) + "\n"
        pick = itemgetter(*shown)
        out.write(line.format(*columns))
        for cell in cells:
            if cut:
                cell = list(cell)
                for i, w in cut:
                    cell[i] = _fit(cell[i], w, COLUMNS[i])
            out.write(line.format(*pick(cell)))
        out.flush()
        return
    assert console is not None
    from rich.markup import escape

    lines = [gap.join(f"[bold]{c if c == last else c.ljust(widths[c])}[/]" for c in columns)]
    state = COLUMNS.index("STATE")
    for cell in cells:
        parts = []
        for i in shown:
            c = COLUMNS[i]
            text = _fit(cell[i], widths[c], c)
            text = text if c == last else text.ljust(widths[c])
            style = STATE_STYLE.get(cell[state].split(" ")[0]) if i == state else None
            parts.append(f"[{style}]{escape(text)}[/]" if style else escape(text))
        lines.append(gap.join(parts))
    console.print("\n".join(lines), highlight=False, soft_wrap=True)


def _fit(text: str, width: int, column: str = "") -> str:
    """``text`` cut to ``width`` with an ellipsis; in AGENT only the host is cut (or left out), never the agent."""
    if len(text) <= width:
        return text
    if column == "AGENT":
        agent, at, host = text.partition(HOST)
        room = width - len(agent) - len(at)
        return f"{agent}{at}{host[: room - 1]}…" if at and room >= 2 else agent
    return text[: max(0, width - 1)] + "…"


def _status_cells(r: Mapping[str, Any]) -> tuple[str, ...]:
    """A row's cells as plain text, in ``COLUMNS`` order (the table styles STATE itself). ``r`` has
    ``store.TABLE_FIELDS`` (a ``status`` row, or the table's own; its ``tests`` may still be JSON text)."""
    work = "" if r["files_changed"] is None else plural(r["files_changed"], "file")
    if r["commits"]:
        work += f", {plural(r['commits'], 'commit')}"
    if r["behind_base"]:
        work += f", behind base by {r['behind_base']}"
    role = r["role"]
    if role == "tester":
        tests = r["tests"]
        work = tests_cell(json.loads(tests) if isinstance(tests, str) else tests)
    state = r["state"]
    task = r["error"] if state in ("failed", "lost") and r["error"] else r["prompt"]
    quiet = r["silent_for"]
    if r["thinking_for"] is not None:  # silent, and its model's stream still brings bytes
        state = f"{state} (thinking {human_duration(r['thinking_for'])})"
    agent = r["agent"] if role == "worker" else f"{r['agent']} ({role})"
    agent += f"{HOST}{r['host']}" if r["host"] else ""  # the machine whose worker runs it (an engine's)
    return (str(r["id"]), state, agent, r["branch"] or "",
            human_duration(r["age"]), human_duration(quiet) if quiet is not None else "", work,
            one_line(task or "", 200))  # TASK: one row per job, the first line only


def wait_line(jobs: list[Job], elapsed: float) -> str:
    """``podium wait``'s live line: how many jobs, in which states, for how long, quiet for how long."""
    from collections import Counter

    states = Counter(j.state for j in jobs)
    now = time.time()
    quiet = [now - (j.last_activity_at or j.created_at) for j in jobs if j.active]
    line = f"waiting for {plural(len(jobs), 'job')}: " + ", ".join(f"{n} {s}" for s, n in states.items())
    line += f" · {human_duration(elapsed)}"
    if quiet:
        line += f" · quiet for {human_duration(min(quiet))}"
    return line


def print_events(events: list[EventRow]) -> None:
    import click

    from podium.summary import event_line

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
