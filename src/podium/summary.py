"""The context-hygiene view of a job: a few lines instead of the whole log.

``summarize`` reads the job's row and its ``command`` events (for the failed ones
and the last test run) — never the raw log, which is many times larger.
"""

from __future__ import annotations

import contextlib
import re
import signal
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from podium.errors import PodiumError
from podium.git import read_work
from podium.store import EventRow, Job, Store
from podium.text import clip, human_duration, one_line, plural, verdict_word
from podium.verdict import invocation, verdict_line
from podium.verdict import parse as parse_verdict

FINAL_CHARS = 400
MAX_FILES = 8
MAX_FAILED = 3
TEST_COMMAND = re.compile(
    r"\b(pytest|py\.test|tox|nox|(npm|pnpm|yarn|bun)( run)? test|vitest|jest|mocha|go test|cargo test|"
    r"make (test|check)|dotnet test|mvn test|gradle test|rspec|phpunit|ctest|unittest)\b"
)


@dataclass
class TestVerdict:
    command: str  # the runner: "pytest", "go test", "npm test"
    passed: bool | None  # None: neither an exit code nor the runner's own output says
    counts: dict[str, int] = field(default_factory=dict)
    failed_tests: list[str] = field(default_factory=list)
    selection: str | None = None  # what a targeted run picked ("tests/test_calc.py::test_sub"); None: the suite

    def line(self) -> str:
        return verdict_line(self.command, self.passed, self.counts, self.failed_tests)


@dataclass
class Summary:
    id: int
    state: str
    agent: str
    branch: str | None
    workspace: str | None
    duration: float | None
    prompt: str
    final: str | None
    error: str | None
    files: list[dict[str, Any]]
    added: int
    deleted: int
    commits: list[dict[str, str]]
    uncommitted: bool
    run_files: list[str] | None
    failed_commands: list[dict[str, Any]]
    tests: TestVerdict | None
    usage: dict[str, Any] | None
    session_id: str | None
    silent_for: float | None = None
    thinking_for: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        head = f"job {self.id} {self.state} · {self.agent}"
        if self.duration is not None:
            head += f" · {human_duration(self.duration)}"
        if self.branch:
            head += f" · {self.branch}"
        out = [head]
        if self.error:
            out.append(f"  error: {self.error}")
        if self.state == "stalled" and self.silent_for is not None:
            out.append(f"  stalled: silent and idle for {human_duration(self.silent_for)} "
                       "(cancel it, resume it, or wait --through-stalls)")
        if self.thinking_for is not None:
            out.append(f"  thinking: nothing printed for {human_duration(self.thinking_for)} while its model's "
                       "stream still brings bytes (a long reasoning turn, not a stall)")
        if self.final:
            out.append(f"  final: {clip(self.final, FINAL_CHARS)}")
        if self.files:
            names = ", ".join(str(f["path"]) for f in self.files[:MAX_FILES])
            more = f" (+{len(self.files) - MAX_FILES} more)" if len(self.files) > MAX_FILES else ""
            where = " uncommitted" if self.uncommitted else ""
            out.append(f"  files: {len(self.files)} changed{where} (+{self.added} -{self.deleted}): {names}{more}")
        elif self.state in ("done", "no_changes", "failed", "lost", "cancelled"):
            out.append("  files: nothing changed")
        if self.run_files is not None and [str(f["path"]) for f in self.files] != self.run_files:
            names = ", ".join(self.run_files[:MAX_FILES]) or "nothing"
            out.append(f"  this run changed: {names}")
        if self.commits:
            shown = "; ".join(f"{c['sha'][:8]} {c.get('subject', '')}" for c in self.commits[-3:])
            out.append(f"  commits: {len(self.commits)} ({shown})")
        for cmd in self.failed_commands:
            out.append(f"  failed: `{clip(cmd['command'], 80)}` → exit {cmd['exit_code']}")
        if self.tests:
            out.append(f"  tests: {self.tests.line()}")
        if self.usage:
            tin = self.usage.get("input_tokens", 0)
            tout = self.usage.get("output_tokens", 0)
            out.append(f"  tokens: {tin} in / {tout} out")
        return out


def verdict_from_commands(commands: list[dict[str, Any]]) -> TestVerdict | None:
    """The verdict of the last test-runner command the agent ran, from the runner's own output
    (counts, failing tests) and its exit code; never from the agent's prose."""
    runs = test_runs(commands)
    return runs[-1] if runs else None


def test_runs(commands: list[dict[str, Any]]) -> list[TestVerdict]:
    """Every test run among ``commands``, in order, each with what it selected (None: the whole suite)."""
    runs = []
    for cmd in commands:
        run = invocation(str(cmd.get("command", "")))
        if run is None:
            continue
        exit_code = cmd.get("exit_code")
        parsed = parse_verdict(str(cmd.get("output", "")), exit_code)
        if parsed is not None:
            runs.append(TestVerdict(command=run.runner, passed=parsed.passed, counts=parsed.counts,
                                    failed_tests=parsed.failed_tests, selection=run.selection))
        else:
            runs.append(TestVerdict(command=run.runner, passed=None if exit_code is None else exit_code == 0,
                                    selection=run.selection))
    return runs


def test_history(store: Store, jobs: list[Job]) -> dict[str, Any] | None:
    """The tests' verdict over ``jobs`` (a workspace's, oldest first): the last full-suite run, the targeted runs
    after it, and one ``passed`` that a targeted pass never turns green while the full run failed. Its top-level
    run fields are the full run's (else the last targeted one's), so one run's reader still reads it."""
    runs = [{**asdict(v), "job": job.id} for job in jobs
            for v in test_runs([e.data for e in store.events(job.id, kinds=("command",))])]
    if not runs:
        return None
    last_full = max((i for i, r in enumerate(runs) if r["selection"] is None), default=-1)
    full = runs[last_full] if last_full >= 0 else None
    after = runs[last_full + 1 :]
    latest = {r["selection"]: r["passed"] for r in after}  # a target run again counts as its last run
    verdicts = [*([full["passed"]] if full else []), *latest.values()]
    passed = False if False in verdicts else None if None in verdicts else True
    return {**(full or after[-1]), "passed": passed, "full": full, "targeted": after}


def history_runs(tests: dict[str, Any], limit: int = 5) -> list[tuple[str, list[str]]]:
    """A verdict's runs in words, each with its failing tests: ``full suite: 1 failed, 41 passed (pytest, job
    7)``, then ``targeted after it: tests/test_calc.py::test_sub passed (job 9)`` (the last ``limit``)."""
    if "full" not in tests:  # a verdict recorded before podium told full runs from targeted ones
        return [(f"last run: {_counts(tests)} ({tests.get('command')}, job {tests.get('job')})",
                 list(tests.get("failed_tests") or []))]
    out, full, targeted = [], tests["full"], tests.get("targeted") or []
    if full:
        out.append((f"full suite: {_counts(full)} ({full['command']}, job {full['job']})", full["failed_tests"]))
    label = "targeted after it" if full else "targeted (no full-suite run)"
    skipped = len(targeted) - limit
    if skipped > 0:
        out.append((f"{label}: {plural(skipped, 'earlier run')} not shown", []))
    for run in targeted[-limit:]:
        out.append((f"{label}: {run['selection']} {verdict_word(run['passed'])} (job {run['job']})",
                    run["failed_tests"]))
    return out


def _counts(run: dict[str, Any]) -> str:
    return ", ".join(f"{n} {k}" for k, n in (run.get("counts") or {}).items()) or verdict_word(run.get("passed"))


def summarize(store: Store, job: Job) -> Summary:
    commands = [e.data for e in store.events(job.id, kinds=("command",))]
    failed = [c for c in commands if c.get("exit_code") not in (0, None)][-MAX_FAILED:]
    work = job.work or {}
    if job.active and job.engine:  # a job on a worker elsewhere: its work so far as the worker last pushed it
        from podium import engines

        work = engines.latest(store, job) or work
    elif job.active and job.workspace and job.base_sha:
        with contextlib.suppress(PodiumError):  # a running job's work so far, straight from git
            work = read_work(job.workspace, job.base_sha).to_dict()
    files = list(work.get("files") or [])
    end = job.ended_at or time.time()
    return Summary(
        id=job.id,
        state=job.state,
        agent=job.agent,
        branch=job.branch,
        workspace=job.workspace,
        duration=(end - job.started_at) if job.started_at else None,
        prompt=job.prompt,
        final=job.final_message,
        error=job.error,
        files=files,
        added=sum(int(f.get("added", 0)) for f in files),
        deleted=sum(int(f.get("deleted", 0)) for f in files),
        commits=list(work.get("commits") or []),
        uncommitted=bool(work.get("uncommitted")),
        run_files=work.get("run_files"),
        failed_commands=[{"command": c.get("command", ""), "exit_code": c.get("exit_code")} for c in failed],
        tests=verdict_from_commands(commands),
        usage=job.usage,
        session_id=job.session_id,
        silent_for=(time.time() - job.last_activity_at) if job.active and job.last_activity_at else None,
        thinking_for=job.thinking_for(time.time()),
    )


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
        verdict = "success" if d.get("success") else f"failure: {d['error']}" if d.get("error") else "failure"
        body = f"■ agent {exit_words(d.get('exit_code'))} ({verdict})"
    elif e.kind == "session":
        body = f"session {d.get('id')}" + (f" (forked from {d['forked_from']})" if d.get("forked_from") else "")
    elif e.kind == "stalled":
        body = f"‼ stalled: silent and idle for {d.get('silent_for')}s"
    else:
        body = f"{e.kind}: {d.get('message', d)}"
    return f"{clock} {body}"


def exit_words(code: Any) -> str:
    """``exited 3``, or ``killed by SIGTERM`` for a process a signal ended (a negative exit code)."""
    if isinstance(code, int) and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited {code}"
