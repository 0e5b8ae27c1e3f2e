"""The tester: one resumable agent session per branch, a turn at a time.

``podium test BRANCH "what to test"`` runs a turn as a background job (role ``tester``) in the branch's
workspace. The first turn starts a session with the tester's role (TESTER.md, generated from podium's
tools and the repository's test commands) and the workspace's facts; every later turn resumes that same
session, so the tester keeps what it learned (an agent that resumes by forking, droid, continues in a new
session forked from the last turn's, so each turn's session holds every turn before it). The session id
lives in podium's store, so it survives restarts. When the session cannot be resumed — its transcript is
gone, or the tester's agent changed — a fresh session starts with a summary of the earlier turns, and the
user is told.

The turn's verdict is read from the test runners' own output (``podium.verdict``), never from the
tester's prose; ``status``, the gate and ``ship`` show it.

A tester whose CLI takes MCP servers gets a live browser (``podium.browser.live``) beside podium's own
screenshot tool. The app under test (``[tester] serve``, else detected) is started by the job's runner on the
workspace's port before the turn, health-checked, and stopped after it, with the live browser's processes;
the screenshots the tester took are then recorded for the gate and the pull request (``Turn``).
"""

from __future__ import annotations

import contextlib
import os
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from podium import browser, engines, roles
from podium.agents import Agent, Preflight, Wiring, agent_input, forks_on_resume, get_agent, resuming_agents
from podium.change import find_workspace
from podium.config import Config, checked_effort
from podium.context import Context
from podium.errors import PodiumError, UsageError
from podium.git import diff_names, git, snapshot
from podium.jobs import Launched, enqueue, fork_point, reconcile
from podium.store import Job, Store, WorkspaceRecord
from podium.summary import summarize
from podium.text import Note, clip, plural
from podium.workspace import browser_home, read_env

ROLE = "tester"
HISTORY_PROMPT_CHARS = 300
HISTORY_ANSWER_CHARS = 800
MAX_CHANGED_NAMES = 12
APP_START_TIMEOUT = 60.0  # seconds the app under test has to answer on its port
APP_STOP_GRACE = 5.0


def turns(ctx: Context, record: WorkspaceRecord) -> list[Job]:
    """The tester's turns on this workspace, oldest first."""
    return [j for j in ctx.store.jobs_in(record.path) if j.role == ROLE]


def turn(ctx: Context, target: str | None, message: str, *, agent: str | None = None, fresh: bool = False,
         queue: bool = True, stall_after: float | None = None, model: str | None = None,
         effort: str | None = None) -> Launched:
    """Start (or resume) the branch's tester session with ``message``; returns once the job is launched."""
    if not message.strip():
        raise UsageError("say what to test: the message is empty")
    stall_after = ctx.config.stall_after_for(ROLE, stall_after)
    reconcile(ctx.store)
    record = find_workspace(ctx.store, ctx.repo, target)
    ws = Path(record.path)
    if not ws.is_dir():
        raise UsageError(f"the workspace of {record.branch} is gone: {ws}")
    earlier = turns(ctx, record)
    last = next((j for j in reversed(earlier) if j.session_id), None)
    pending = next((j for j in reversed(earlier) if j.active and not j.session_id), None)
    if pending and (last is None or pending.id > last.id):
        raise UsageError(f"the tester's turn {pending.id} is still {pending.state} and has no session yet; "
                         f"wait for it (podium wait {pending.id}) before the next turn")
    name = agent or (last.agent if last else ctx.config.agent_for(ROLE))
    effort = checked_effort(effort)
    if last and last.agent == name:  # a model or effort chosen for an earlier turn holds until another is chosen
        model, effort = model or last.model, effort or last.effort
    options = ctx.agent_options(name, ROLE, model=model, effort=effort)
    adapter = get_agent(name, options)
    if not adapter.can_resume:
        raise UsageError(f"the {name} agent cannot resume a session; the tester needs one that can: "
                         f"{', '.join(resuming_agents())}")
    notes: list[Note] = []
    mcp = "mcp" in adapter.wires
    engine = engines.configured(ctx.config)
    session = None
    if last and not fresh:
        if last.agent != name:
            notes.append(Note("session", f"the tester was {last.agent} and is now {name}: a fresh session starts "
                              f"with a summary of the {plural(len(earlier), 'earlier turn')}"))
        elif not last.engine and adapter.transcript(str(last.session_id)) is None:
            notes.append(Note("session", f"the tester's session {last.session_id} cannot be resumed (its transcript "
                              f"is gone): a fresh session starts with a summary of the "
                              f"{plural(len(earlier), 'earlier turn')}"))
        else:  # here, or kept on origin by the worker that ran the turn
            if forks_on_resume(adapter):  # the turn forks the last turn's session: it must be done
                notes += fork_point(ctx.store, last)[1]
            session = last.session_id
    elif last and fresh:
        notes.append(Note("session", "a fresh tester session starts (--fresh), with a summary of the "
                          f"{plural(len(earlier), 'earlier turn')}"))
    preflight = live = None
    if engine is None:  # wired here, before the role is written: it says whether the live browser is there
        preflight, live = wired(ctx, adapter, adapter.preflight(ws), record.path, notes)
    if session:
        assert last is not None
        prompt = _resume_message(ctx, record, last, message)
    else:  # a worker elsewhere wires its own live browser (and says so in the turn's log when it cannot)
        role = roles.tester(ctx.repo, ctx.config, ws, mcp=mcp, live=mcp and (engine is not None or live is not None))
        prompt = first_message(ctx, record, role.text, message, earlier)
    values = {"agent": name, "role": ROLE, "prompt": message, "branch": record.branch, "base_ref": record.base_ref,
              "base_sha": record.base_sha, "session_id": session, "parent_id": last.id if last else None,
              "stall_after": stall_after, "model": model, "effort": effort}
    if engine is not None:  # a worker elsewhere runs the turn, from this worktree's state as it is now
        launched = engine.launch_in(ctx, record, notes, agent_prompt=prompt, earlier=last if session else None,
                                    options=options, **values)
    else:
        assert preflight is not None
        argv = (adapter.resume_argv(session, prompt, ws, preflight) if session
                else adapter.new_argv(prompt, ws, preflight))
        # one agent per worktree: a turn waits for the worker (or turn) ahead of it
        launched = enqueue(ctx, record.path, [*notes, *(Note("agent", n) for n in preflight.notes)], queue=queue,
                           argv=argv, stdin=agent_input(adapter, prompt), **values)
    launched.resumed = session is not None
    return launched


def wired(ctx: Context, adapter: Agent, preflight: Preflight, workspace: str,
          notes: list[Note]) -> tuple[Preflight, browser.Live | None]:
    """A tester's run wired to its tools: podium's screenshot tool (the tester's own only: it must not delegate,
    ship or touch gates through the same server) and the workspace's live browser, for a CLI that takes MCP
    servers; a note when it takes none. The live browser, when there is one."""
    if "mcp" not in adapter.wires:
        notes.append(Note("browser", f"the {adapter.name} agent takes no MCP server from podium: no live browser, "
                                     "the tester keeps podium screenshot"))
        return preflight, None
    live = _live(ctx, workspace, notes)
    servers = ((browser.LIVE_NAME, tuple(live.command)),) if live else ()
    return adapter.wire(preflight, Wiring(mcp=[sys.executable, "-m", "podium", "mcp"], allowed=("screenshot",),
                                          servers=servers)), live


def first_message(ctx: Context, record: WorkspaceRecord, role: str, message: str, earlier: list[Job]) -> str:
    """The first turn of a session: the role, the workspace's facts, earlier turns if any, the request."""
    env = read_env(record.path)
    facts = [f"- Branch `{record.branch}`, based on `{record.base_ref}`; its worktree is {record.path} (your cwd)."]
    if env.get("PORT"):
        facts.append(f"- Ports for servers you start: $PORT = {env['PORT']}, the block {env.get('PODIUM_PORTS')}.")
    app = app_for(ctx.config, record.path)
    if app:
        facts.append(f"- The app under test: podium serves it at {app.url} for each of your turns (`{app.command}`, "
                     f"{app.why}) and stops it after; do not start it yourself.")
    if record.ticket:
        facts.append("- The ticket this branch serves is in `.podium/ticket.md`.")
    parts = [role.rstrip(), "---", "## This session", "", *facts]
    history = history_summary(ctx, earlier)
    if history:
        parts += ["", "## Earlier turns (a previous session whose history is gone; podium kept this summary)", "",
                  history]
    parts += ["", "## What to test now", "", message.strip()]
    return "\n".join(parts)


def history_summary(ctx: Context, earlier: list[Job]) -> str:
    """What each earlier turn was asked, answered, and what its test runs said."""
    lines = []
    for n, job in enumerate(earlier, 1):
        lines.append(f"{n}. Asked: {clip(job.prompt, HISTORY_PROMPT_CHARS)}")
        if job.final_message:
            lines.append(f"   Answered: {clip(job.final_message, HISTORY_ANSWER_CHARS)}")
        elif job.error:
            lines.append(f"   Ended {job.state}: {clip(job.error, HISTORY_PROMPT_CHARS)}")
        tests = summarize(ctx.store, job).tests
        if tests:
            lines.append(f"   Tests: {tests.line()}")
    return "\n".join(lines)


def _resume_message(ctx: Context, record: WorkspaceRecord, last: Job, message: str) -> str:
    """The new message, with what changed in the worktree since the tester's last turn began, and where the app
    under test answers this turn (``[tester] serve`` may be new since the session began)."""
    app = app_for(ctx.config, record.path)
    served = f"the app under test answers at {app.url} this turn (podium serves it; do not start it)" if app else ""
    told = _changes_since(record, last)
    if told or served:
        return f"{message.rstrip()}\n\n(podium: {'; '.join(p for p in (served, told) if p)}.)"
    return message


def _changes_since(record: WorkspaceRecord, last: Job) -> str:
    """``since your last turn N files changed: …; HEAD is …``, or "" when nothing did (or it cannot be told)."""
    if not last.start_tree:
        return ""
    try:
        now = snapshot(record.path)
        own = set((last.work or {}).get("run_files") or [])
        changed = [p for p in diff_names(record.path, last.start_tree, now.tree)
                   if p not in own and not p.startswith(".podium/")]
        head = git("log", "-1", "--format=%h %s", cwd=record.path)
    except PodiumError:
        return ""
    if not changed:
        return ""
    names = ", ".join(changed[:MAX_CHANGED_NAMES]) + (f" (+{len(changed) - MAX_CHANGED_NAMES} more)"
                                                     if len(changed) > MAX_CHANGED_NAMES else "")
    return f"since your last turn {plural(len(changed), 'file')} changed: {names}; HEAD is {head}"


def podium_shim(store_root: Path) -> Path:
    """A directory holding only a ``podium`` that runs this very podium: put on an agent's PATH so that
    ``podium screenshot`` works in its shell without shadowing the project's own python."""
    bin_dir = store_root / "bin"
    script = bin_dir / "podium"
    text = f'#!/bin/sh\nexec "{sys.executable}" -m podium "$@"\n'
    with contextlib.suppress(OSError):
        if not script.is_file() or script.read_text() != text:
            bin_dir.mkdir(parents=True, exist_ok=True)
            tmp = script.with_suffix(f".{os.getpid()}")
            tmp.write_text(text)
            tmp.chmod(tmp.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
            tmp.replace(script)
    return bin_dir


def _live(ctx: Context, workspace: str, notes: list[Note]) -> browser.Live | None:
    """The workspace's live browser, or None and a note saying why the tester keeps ``podium screenshot`` only."""
    try:
        return browser.live(ctx.store.root, workspace, ctx.config)
    except UsageError as e:
        notes.append(Note("browser", f"no live browser for the tester ({e}); it keeps podium screenshot"))
        return None


@dataclass(frozen=True)
class App:
    """The app under test: its command (``{port}`` filled in), where it answers, and where the command came from."""

    command: str
    url: str
    why: str


def app_for(config: Config, workspace: str) -> App | None:
    """``[tester] serve``, else the command detected in the workspace, on the workspace's ``$PORT``; None when
    there is neither (or ``serve = ""``), or the workspace has no port."""
    from podium.detect import serve_command

    port = read_env(workspace).get("PORT")
    if not port or config.tester_serve == "":
        return None
    found = (config.tester_serve, "[tester] serve") if config.tester_serve else serve_command(Path(workspace))
    if not found:
        return None
    return App(found[0].replace("{port}", port), f"http://127.0.0.1:{port}/", found[1])


class Turn:
    """What a tester's turn needs around its agent, run by the job's runner: the app under test served before
    it and stopped after, the live browser's processes ended, its screenshots and console errors recorded."""

    def __init__(self, store: Store, job: Job):
        self.store, self.job = store, job
        self.home = browser_home(store.root, job.workspace or "")
        self.ctx: Context | None = None
        self.app: App | None = None
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, env: dict[str, str]) -> None:
        """Serve the app and wait until it answers (its output goes to ``logs/<job>.app``)."""
        browser.end_live(self.home)  # what a runner that died left of an earlier turn (its browser, its app)
        self.ctx = Context.open(self.job.workspace or ".")
        self.app = app_for(self.ctx.config, self.job.workspace or "")
        if self.app is None:
            return
        env = {**env, browser.APP_MARK: str(self.home)}
        with self.store.log_path(self.job.id, "app").open("ab") as out:
            self.proc = subprocess.Popen(["/bin/sh", "-c", self.app.command], cwd=self.job.workspace, env=env,
                                         stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        began = time.monotonic()
        app = self.app
        while time.monotonic() - began < APP_START_TIMEOUT and self.proc.poll() is None and not _answers(app.url):
            time.sleep(0.2)
        took, log = time.monotonic() - began, self.store.log_path(self.job.id, "app")
        if self.proc.poll() is None and _answers(app.url):
            said = f"the app under test answers at {app.url} (`{app.command}`, {took:.1f}s)"
        elif self.proc.poll() is not None:
            said = f"the app under test (`{app.command}`) exited {self.proc.returncode}; its output: {log}"
        else:
            said = f"the app under test (`{app.command}`) did not answer in {took:.0f}s; its output: {log}"
        self.store.add_events(self.job.id, [("note", {"message": said})])

    def end(self) -> None:
        """Stop the app and the live browser; record the turn's screenshots and console errors."""
        from podium.jobs import end_group

        if self.proc is not None:
            end_group(self.proc.pid, APP_STOP_GRACE, 1.0, reap=self.proc.poll)
            self.proc.wait()
        browser.end_live(self.home)  # the browser, and whatever the app left outside its process group
        if self.ctx is None or not self.home.is_dir():
            return
        calls = _shot_calls(self.store, self.job.id)
        shots, errors = browser.adopt_live(self.ctx.repo, self.store, self.ctx.config, self.home, calls,
                                           workspace=self.job.workspace or "", branch=self.job.branch or "",
                                           job_id=self.job.id)
        if shots or errors or calls:
            said = (f"{plural(len(shots), 'screenshot')} from the live browser{': ' if shots else ''}{', '.join(shots)}"
                    f"; console errors: {'; '.join(errors) or 'none'}")
            self.store.add_events(self.job.id, [("browser", {"message": said, "screenshots": shots,
                                                             "console_errors": errors})])


def _answers(url: str) -> bool:
    """Whether something answers HTTP at ``url`` (an error status is an answer too)."""
    try:
        urllib.request.urlopen(url, timeout=2).close()
    except urllib.error.HTTPError:
        return True
    except (OSError, ValueError):
        return False
    return True


def _shot_calls(store: Store, job_id: int) -> list[tuple[dict[str, object], str]]:
    """The live browser's screenshot calls of a turn, in order, each with the URL the tester had navigated to."""
    url, calls = "", []
    for event in store.events(job_id, kinds=("tool_call",)):
        name, given = str(event.data.get("name") or ""), event.data.get("input")
        tool_input = given if isinstance(given, dict) else {}
        if name.endswith("browser_navigate") and tool_input.get("url"):
            url = str(tool_input["url"])
        elif name.endswith(browser.LIVE_SHOT_TOOL) and not event.data.get("failed"):
            calls.append((tool_input, url))
    return calls
