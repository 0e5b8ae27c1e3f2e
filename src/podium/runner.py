"""The detached job runner: ``python -m podium.runner STORE_DIR JOB_ID``.

One runner per job, started by ``podium delegate``/``resume`` in a session of its
own, so closing the terminal (or the orchestrator) does not end it (``jobs.runner_argv``:
without ``site``, on the launching process's path). Started with the store alone it is a
prestarted runner (``jobs.Prestart``): it waits on stdin for its job. It:

1. starts the agent CLI (stdin /dev/null, its own process group) in the worktree;
2. reads the agent's stdout (a file of its own, never a pipe: nothing it wrote before it
   exited is lost) into ``logs/<id>.log`` (stderr to ``<id>.stderr``), and the parsed
   events into the store, in batches;
3. heartbeats, and acts as the watchdog: a job whose agent is silent (no output),
   idle (no CPU in its process tree) and hears nothing from its model (no bytes on
   its TCP connections: a long reasoning turn keeps its stream alive, and is
   "thinking", not stalled) longer than ``stall_after`` becomes ``stalled`` — and
   ``running`` again if it wakes up;
4. on SIGTERM (``podium cancel``) ends the agent's process group: SIGTERM, then
   SIGKILL after ``KILL_GRACE`` seconds;
5. when the agent exits, asks git what really changed and records the final state.

Writes are persisted before the runner acts on them; a runner killed at any point
leaves a job that ``reconcile`` marks ``lost`` and a worktree left as it is.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import queue
import resource
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from podium.errors import PodiumError
from podium.git import GitCall, Snapshot, changed_between, git, read_work, snapshot
from podium.processes import cpu_seconds, started, tcp_received, this_process
from podium.store import ACTIVE_STATES, Job, Store
from podium.workspace import read_env

if TYPE_CHECKING:  # loaded once the agent is on its way (``Runner.parser``): their import need not delay it
    from podium.agents import Agent, Event, Parser

HEARTBEAT = float(os.environ.get("PODIUM_HEARTBEAT", "5"))
FLUSH_EVERY = 0.25
READ_CHUNK = 1 << 20
READ_PAUSE = 0.5  # the longest an agent's line waits to be read, after a quiet spell (about 7 ms of CPU a minute)
IDLE_WAKE = 1.0  # how often a quiet runner wakes to check for exit, cancel and the heartbeat
KILL_GRACE = 5.0
EXIT_DRAIN = 2.0
IDLE_CPU_FRACTION = 0.05  # below this share of one core, a silent agent counts as idle
CLAIM_WAIT = 10.0  # how long an adopting runner waits for the podium that started it to claim the job for it

_EOF = object()


class Runner:
    def __init__(self, store: Store, job: Job):
        self.store = store
        self.job = job
        self.lines: queue.Queue[Any] = queue.Queue()
        self.cancel = threading.Event()
        self.proc: subprocess.Popen[bytes] | None = None
        self.usage: dict[str, Any] = {}
        self.session_id = job.session_id
        self.last_activity = time.time()
        self.receiving: float | None = None  # when bytes from the model last arrived while the agent was silent
        self.state = "starting"
        self.start: Snapshot | None = None
        self.redact: Callable[[str], str] = str  # the agent's environment's, made before its first line is read
        self.agent_cpu = 0.0
        self.output_read, self.output_lines = job.output_read or 0, job.output_lines or 0  # what _record covers

    @functools.cached_property
    def adapter(self) -> Agent:
        """The job's agent adapter, made once the agent is started: the agents' modules load while it starts."""
        from podium.agents import get_agent

        return get_agent(self.job.agent)

    @functools.cached_property
    def parser(self) -> Parser:
        return self.adapter.parser()

    # -- lifecycle ----------------------------------------------------------
    def run(self) -> None:
        if self.job.cancel_requested:
            self._finish(exit_code=None)
            return
        if self.job.state == "queued":
            self.store.update_job(self.job.id, **_identity())
            if not self._wait_turn():
                self._finish(exit_code=None)  # cancelled while it waited
                return
        if self.job.start_head and self.job.start_tree:  # a new worktree: delegate knew its state
            self.start = Snapshot(head=self.job.start_head, tree=self.job.start_tree)
        elif self.job.start_head:  # a new worktree at a base the fetch moved: its tree is asked while the agent starts
            pass
        elif self.job.workspace:  # an orchestrator works from the checkout, in no worktree of its own
            try:
                self.start = snapshot(self.job.workspace)
            except PodiumError as e:
                self._fail(str(e))
                return
            self.store.update_job(self.job.id, start_head=self.start.head, start_tree=self.start.tree)
        stderr_path = self.store.log_path(self.job.id, "stderr")
        env = dict(os.environ, **read_env(self.job.workspace or ""), PODIUM_JOB_ID=str(self.job.id))
        # $PWD as a shell started there has it: a CLI that works in $PWD (opencode's, kilo's) must not take the
        # folder podium was started in (the user's checkout) for the one it runs in
        env["PWD"] = self.job.workspace or os.getcwd()
        turn = None
        if self.job.role == "tester":  # its shell can call `podium screenshot` (this podium, not another)
            from podium.tester import Turn, podium_shim

            env["PATH"] = os.pathsep.join([str(podium_shim(self.store.root)), env.get("PATH", "")])
            _adopt_orphans()  # before the app under test starts: what it detaches stays this runner's
            turn = Turn(self.store, self.job)
            self._around_turn(turn.start, env)
        try:
            self._run_agent(env, stderr_path)
        finally:
            if turn is not None:  # the app and the browser never outlive the turn, whatever ended it
                self._around_turn(turn.end)
        if self.proc is not None:
            self._finish(self.proc.returncode)

    def _around_turn(self, step: Callable[..., None], *args: Any) -> None:
        """A tester turn's own step (serving the app, ending the browser, saving screenshots): what goes wrong
        there is said in the job's log, never the end of the job."""
        try:
            step(*args)
        except (PodiumError, OSError) as e:
            self.store.add_events(self.job.id, [("note", {"message": f"the tester's turn: {e}"})])

    def _run_agent(self, env: dict[str, str], stderr_path: Path) -> None:
        _adopt_orphans()
        before = _children_cpu()
        # The agent's output goes to a file of its own (unlinked: no one else can open it), never a pipe. A CLI
        # run by Node or Bun writes to a pipe asynchronously and may exit with output still queued, which is then
        # lost (the result line after a long answer); writes to a file are done when they return. The file is
        # read at podium's own pace, so an agent that prints faster than podium reads loses nothing either.
        out = tempfile.TemporaryFile(dir=self.store.log_path(self.job.id).parent)  # noqa: SIM115 (_read closes it)
        try:
            self.proc = subprocess.Popen(
                self.job.argv,
                cwd=self.job.workspace,
                stdin=subprocess.DEVNULL if self.job.stdin is None else subprocess.PIPE,
                stdout=out,
                stderr=subprocess.PIPE,
                env=env,
                start_new_session=True,
            )
        except OSError as e:
            out.close()
            self._fail(f"cannot start {self.job.agent}: {e.strerror or e}")
            return
        asking = self._ask_tree() if self.start is None and self.job.start_head else None
        now = time.time()
        self.state = "running"
        self.store.update_job_if(
            self.job.id,
            ("starting",),
            state="running",
            agent_pid=self.proc.pid,
            agent_started=started(self.proc.pid),
            started_at=now,
            heartbeat_at=now,
            last_activity_at=now,
            **_identity(),
        )
        # what masks the agent's credentials (its .env's too), made while it starts, before its first line is read
        from podium.redaction import for_environment

        self.redact = self.store.redact = for_environment(env)
        self.parser  # noqa: B018  (made now, with its adapter, while the agent starts, before its first line)
        if self.job.stdin is not None:  # the prompt, of any size: a thread, so a full pipe never blocks the watch
            threading.Thread(target=_feed, args=(self.proc, self.job.stdin), daemon=True).start()
        exited = threading.Event()
        threading.Thread(target=_await_exit, args=(self.proc, exited), daemon=True).start()
        threading.Thread(target=self._read, args=(out, exited), daemon=True).start()
        pump = threading.Thread(target=self._pump_stderr, args=(stderr_path,), daemon=True)
        pump.start()
        if asking is not None:
            self._started_from(asking)
        self._loop(stderr_path)
        exit_code = self.proc.wait()
        if exit_code < 0 or self.cancel.is_set():
            # killed (or cancelled): what it started must not work on unwatched — codex's own binary, under its
            # npm launcher, would go on writing in the worktree after the job ended, and block a resume
            _end_group(self.proc.pid)
        pump.join(EXIT_DRAIN)  # its last words are on file before its reason is read from them
        self.agent_cpu = _children_cpu() - before

    def _ask_tree(self) -> GitCall:
        return GitCall("rev-parse", "--verify", f"{self.job.start_head}^{{tree}}", cwd=self.job.workspace or ".")

    def _started_from(self, asking: GitCall) -> None:
        """The job's start: its new worktree's base commit and that commit's tree, as git answers ``asking``."""
        assert self.job.start_head is not None
        try:
            tree = asking.result()
        except PodiumError as e:
            self.store.add_events(self.job.id, [("note", {"message": f"the worktree's start is unknown: {e}"})])
            return
        self.start = Snapshot(head=self.job.start_head, tree=tree)
        self.store.update_job(self.job.id, start_tree=tree)

    def _wait_turn(self) -> bool:
        """A queued job (a resume while its workspace was busy) waits for every earlier job in the workspace
        to end — one agent per worktree at a time. False when it was cancelled while waiting."""
        from podium.jobs import reconcile  # the runner ahead may have died: only reconcile can tell

        next_check = 0.0
        while not self.cancel.is_set():
            if time.monotonic() >= next_check:
                reconcile(self.store)
                next_check = time.monotonic() + HEARTBEAT
            if self.store.job(self.job.id).cancel_requested:
                return False
            ahead = [j for j in self.store.jobs(states=ACTIVE_STATES)
                     if j.workspace == self.job.workspace and j.id < self.job.id]
            if not ahead:
                if self.store.update_job_if(self.job.id, ("queued",), state="starting", heartbeat_at=time.time()):
                    self.store.add_events(self.job.id, [("note", {"message": "the workspace is free; starting"})])
                return True
            self.store.update_job(self.job.id, heartbeat_at=time.time())
            self.cancel.wait(IDLE_WAKE)
        return False

    def _read(self, out: IO[bytes], exited: threading.Event, offset: int = 0, logged: int = 0) -> None:
        """The agent's output, line by line as it is written, into the job's log (redacted) and the watch; to
        its end as of the agent's exit (what a child it left writes after that is not the agent's). From
        ``offset`` on, the first ``logged`` lines being in the log already (a runner taking over)."""
        try:
            with out, self.store.log_path(self.job.id).open("ab") as log:
                for raw in _lines_of(out, exited, offset):
                    offset += len(raw)
                    line = self.redact(raw.decode("utf-8", errors="replace"))
                    if logged:
                        logged -= 1
                    else:
                        log.write(self.adapter.log_line(line).encode())
                        log.flush()
                    self.lines.put((line, offset))
        finally:  # even when the log cannot be written: the job must still end
            self.lines.put(_EOF)

    def _pump_stderr(self, path: Path) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        with path.open("ab") as out:
            for raw in self.proc.stderr:
                out.write(self.redact(raw.decode("utf-8", errors="replace")).encode())
                out.flush()

    def _loop(self, stderr_path: Path) -> None:
        assert self.proc is not None
        last_beat = time.time()
        next_beat = last_beat + HEARTBEAT
        cpu = _tree_cpu(self.proc.pid)
        stderr_size = _size(stderr_path)
        killed_at: float | None = None
        exited_at: float | None = None
        eof = False
        while True:
            eof = self._take(eof)
            if exited_at is None and self.proc.poll() is not None:
                exited_at = time.monotonic()
            if exited_at is not None and eof:
                break  # the agent is gone, and all it wrote is read
            if self.cancel.is_set() and killed_at is None:
                killed_at = time.monotonic()
                _signal_group(self.proc.pid, signal.SIGTERM)
            if killed_at is not None and time.monotonic() - killed_at > KILL_GRACE:
                _signal_group(self.proc.pid, signal.SIGKILL)
            now = time.time()
            if now >= next_beat:
                new_cpu, new_err = _tree_cpu(self.proc.pid), _size(stderr_path)
                busy = new_cpu - cpu > IDLE_CPU_FRACTION * (now - last_beat)
                if busy or new_err != stderr_size:
                    self.last_activity = now  # silent but working (a long test run), or talking on stderr
                else:
                    self._listen(self.proc.pid, now)
                cpu, stderr_size, last_beat, next_beat = new_cpu, new_err, now, now + HEARTBEAT
                self._watchdog(now)
                _reap_adopted(self.proc.pid)
                if not self.cancel.is_set() and _worker_gone():
                    self.store.add_events(self.job.id, [("note", {"message": "its podium worker is gone: the agent "
                                                                             "is ended; the job is another worker's"})])
                    self.cancel.set()

    def _take(self, eof: bool) -> bool:
        """Wait for the agent's next lines (at most a wake's time), then gather what follows for a moment and
        record its events in one go. Whether its output has ended (``eof``: it had already)."""
        batch: list[Event] = []
        item: Any = None
        if eof:  # stdout is closed but the agent still runs: keep watching it
            self.cancel.wait(min(IDLE_WAKE, HEARTBEAT))
        else:
            with contextlib.suppress(queue.Empty):  # sleep until the agent prints, or a check is due
                item = self.lines.get(timeout=min(IDLE_WAKE, HEARTBEAT))
        deadline = time.monotonic() + FLUSH_EVERY
        while item is not None:
            if item is _EOF:
                eof = True
                break
            line, self.output_read = item
            self.output_lines += 1
            events = self.parser.feed(line)
            batch.extend(events)
            if not events or any(e.kind != "retry" for e in events):
                self.last_activity = time.time()  # a CLI retrying its model is not making progress
            try:
                item = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                item = None
        if batch:
            self._record(batch)
        return eof

    def _listen(self, pid: int, now: float) -> None:
        """A silent, idle agent may be waiting on its model: bytes that arrived on its connections since it
        last did anything keep it alive ("thinking"); none, and it is as silent as it looks."""
        ago = _last_received(pid)
        if ago is not None and now - ago > max(self.last_activity, self.receiving or 0.0):
            self.receiving = now - ago

    def _watchdog(self, now: float) -> None:
        silent = now - max(self.last_activity, self.receiving or 0.0)
        values: dict[str, Any] = {"heartbeat_at": now, "last_activity_at": self.last_activity,
                                  "receiving_at": self.receiving}
        if self.state == "running" and silent > self.job.stall_after:
            self.state = "stalled"
            self.store.update_job_if(self.job.id, ("running",), state="stalled", **values)
            self.store.add_events(self.job.id, [("stalled", {"silent_for": round(silent, 1)})])
        elif self.state == "stalled" and silent <= self.job.stall_after:
            self.state = "running"
            self.store.update_job_if(self.job.id, ("stalled",), state="running", **values)
            self.store.add_events(self.job.id, [("awake", {"silent_for": 0})])
        elif self.state == "running" and not self.store.update_job_if(self.job.id, ("running",), **values):
            # podium saw this runner frozen (stopped, or not answering) and called the job stalled: it is back
            if self.store.update_job_if(self.job.id, ("stalled",), state="running", **values):
                self.store.add_events(self.job.id, [("awake", {"silent_for": round(silent, 1)})])
        elif self.state != "running":
            self.store.update_job(self.job.id, **values)

    def _record(self, events: list[Event]) -> None:
        values: dict[str, Any] = {"last_activity_at": self.last_activity, "output_read": self.output_read,
                                  "output_lines": self.output_lines}
        rows = []
        for event in events:
            if event.kind == "session":
                if self.session_id is not None and event.data["id"] != self.session_id:
                    from podium.agents import forks_on_resume

                    if not forks_on_resume(self.adapter):
                        # A resumed stream may report another id; the first run's id stays the session.
                        rows.append(("note", {"message": f"agent reported session {event.data['id']}; "
                                                         f"keeping {self.session_id}"}))
                        continue
                    # an agent that resumes by forking: the fork is this job's session, the chain goes on from it
                    event = dataclasses.replace(event, data={**event.data, "forked_from": self.session_id})
                    self.session_id = None
                if self.session_id is None:
                    self.session_id = event.data["id"]
                    values["session_id"] = self.session_id
                    self.store.record_session(self.session_id, self.job.agent, self.job.workspace, self.job.id)
            if event.kind == "usage":
                for key, value in event.data.items():
                    if isinstance(value, int | float) and not isinstance(value, bool):
                        self.usage[key] = self.usage.get(key, 0) + value
                values["usage"] = self.usage
            rows.append((event.kind, event.data))
        self.store.add_events(self.job.id, rows, **values)

    # -- adoption: an agent whose runner died --------------------------------------------------------------------
    def adopt(self) -> None:
        """Watch an agent whose runner died to its end, as its runner would have (heartbeat, stall, cancel), and
        end the job with its real state: the work read from git, its output read on from where the runner that
        died left it (the file that runner gave it, opened through the agent's descriptor), the final message
        from its transcript or else that output. The podium command that found it claimed the job for this
        process first (``jobs.adopt``); without that claim this runner leaves."""
        deadline = time.monotonic() + CLAIM_WAIT
        while self.store.job(self.job.id).runner_pid != os.getpid():
            if time.monotonic() > deadline:
                return
            time.sleep(0.05)
        job = self.job = self.store.job(self.job.id)
        pid = job.agent_pid
        assert pid is not None
        from podium.agents import Event
        from podium.redaction import for_environment

        self.redact = self.store.redact = for_environment(dict(os.environ, **read_env(job.workspace or "")))
        self.store.update_job(job.id, **_identity())
        self.store.add_events(job.id, [("note", {"message": f"the job's runner died while its agent (pid {pid}) "
                                                            "lives: a new runner watches the agent to its end"})])
        if job.start_head and job.start_tree:
            self.start = Snapshot(head=job.start_head, tree=job.start_tree)
        elif job.start_head:  # its first runner died before git said the base's tree
            self._started_from(self._ask_tree())
        self.state = job.state
        self.last_activity = job.last_activity_at or time.time()
        self.receiving = job.receiving_at
        from podium.jobs import group_alive

        # the agent's output goes on into the file the runner that died gave it: read on from what that runner
        # recorded (the lines after it that are in the log already are not written there again)
        self.output_read, self.output_lines = job.output_read or 0, job.output_lines or 0
        exited, out = threading.Event(), _agent_output(pid, self.store.log_path(job.id).parent)
        if out is not None:
            self.parser  # noqa: B018  (made here, with its adapter, before the reading thread needs the adapter)
            logged = _count_lines(self.store.log_path(job.id)) - self.output_lines
            threading.Thread(target=self._read, args=(out, exited, self.output_read, max(0, logged)),
                             daemon=True).start()
        else:
            self.store.add_events(job.id, [("note", {"message": "the agent's output cannot be read on: its final "
                                                                "message comes from its transcript"})])
        cpu, last_beat, killed_at, eof = _tree_cpu(pid), time.time(), None, out is None
        while group_alive(pid):
            eof = self._take(eof)
            if killed_at is None and (self.cancel.is_set() or self.store.job(job.id).cancel_requested):
                self.cancel.set()
                killed_at = time.monotonic()
                _signal_group(pid, signal.SIGTERM)
            if killed_at is not None and time.monotonic() - killed_at > KILL_GRACE:
                _signal_group(pid, signal.SIGKILL)
            now = time.time()
            if now - last_beat >= HEARTBEAT:
                new_cpu = _tree_cpu(pid)
                if new_cpu - cpu > IDLE_CPU_FRACTION * (now - last_beat):
                    self.last_activity = now
                else:
                    self._listen(pid, now)
                cpu, last_beat = new_cpu, now
                self._watchdog(now)
        exited.set()
        drained = time.monotonic() + EXIT_DRAIN
        while not eof and time.monotonic() < drained:
            eof = self._take(eof)
        # its exit code went to the runner that died: the final message is the transcript's, else its output's
        text = _final_from_transcript(job)
        said = self.parser.final(0) if text is None else None
        if said is not None and said.data.get("success") and said.data.get("text"):
            text = said.data["text"]
        self._finish(None, final=Event("final", {"success": text is not None, "text": text, "error": None if text
                                                 else "the agent ended after its runner died, and neither its "
                                                      "transcript nor its output holds a final message"}))

    def _finish(self, exit_code: int | None, final: Event | None = None) -> None:
        cancelled = self.cancel.is_set() or bool(self.store.job(self.job.id).cancel_requested)
        final = final or self.parser.final(exit_code if exit_code is not None else -1)
        work, run_files, run_changed, switched = None, [], False, None
        error = final.data.get("error")
        try:
            if self.job.workspace and self.job.base_sha:
                work = read_work(self.job.workspace, self.job.base_sha)
                if self.start is not None:
                    end = snapshot(self.job.workspace)
                    run_files = changed_between(self.job.workspace, self.start, end)
                    run_changed = bool(run_files) or end.head != self.start.head
                    switched = _switched_from(self.job.workspace, self.job.branch)
        except PodiumError as e:
            error = error or str(e)
        if cancelled:
            state = "cancelled"
        elif switched:
            state = "failed"  # the work is not on the task's branch; committing or pushing it would be wrong
            error = switched
        elif exit_code is not None and exit_code < 0:  # a signal ended it: its last words are not the reason
            state = "failed"
            error = f"the agent was killed by {_signal_name(-exit_code)} (not by podium)"
        elif not final.data.get("success"):
            state = "failed"
            error = error or _last_line(self.store.log_path(self.job.id, "stderr")) or "the agent failed"
        elif not run_changed and self.job.role == "worker":  # a tester's work is its verdict, not files
            state = "no_changes"  # the agent says it succeeded, but this run left the worktree as it found it
        else:
            state = "done"
        if cancelled:
            error = "cancelled (podium cancel)"
        self.store.add_events(self.job.id, [("final", dict(final.data, exit_code=exit_code, **self._costs()))])
        self.store.update_job(
            self.job.id,
            state=state,
            exit_code=exit_code,
            ended_at=time.time(),
            heartbeat_at=time.time(),
            final_message=final.data.get("text") or None,
            error=None if state in ("done", "no_changes") else error,
            work=dict(work.to_dict(), run_files=run_files, tests=self._tests()) if work else None,
        )

    def _tests(self) -> dict[str, Any] | None:
        """The verdict of the run's last test command, kept with the work so ``status`` need not reparse."""
        from dataclasses import asdict

        from podium.summary import verdict_from_commands

        verdict = verdict_from_commands([e.data for e in self.store.events(self.job.id, kinds=("command",))])
        return asdict(verdict) if verdict else None

    def _costs(self) -> dict[str, float]:
        """What the job cost the machine: podium's CPU (the runner and its git calls), the runner's
        peak RSS, and the agent's CPU (its whole process tree)."""
        me = resource.getrusage(resource.RUSAGE_SELF)
        podium_cpu = me.ru_utime + me.ru_stime + _children_cpu() - self.agent_cpu
        return {
            "runner_cpu_s": round(podium_cpu, 3),
            "runner_maxrss_kib": me.ru_maxrss,
            "agent_cpu_s": round(self.agent_cpu, 3),
        }

    def _fail(self, message: str) -> None:
        self.store.add_events(self.job.id, [("error", {"message": message})])
        self.store.update_job(self.job.id, state="failed", error=message, ended_at=time.time())


def _switched_from(worktree: str, branch: str | None) -> str | None:
    """Why the worktree is no longer on the task's branch (an agent switched it), or None."""
    if not branch:
        return None
    head = git("symbolic-ref", "--quiet", "HEAD", cwd=worktree, check=False)
    if head == f"refs/heads/{branch}":
        return None
    now = head.removeprefix("refs/heads/") if head else "a detached HEAD"
    return f"the agent switched this worktree from {branch} to {now}; switch it back before committing"


def _adopt_orphans() -> None:
    """Linux: make this runner the subreaper of everything its agent starts, so that a process which detaches
    (``setsid``, a double fork) stays its descendant — ``jobs.inside_job`` still knows where it came from."""
    if sys.platform != "linux":
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def _reap_adopted(agent: int) -> None:
    """Collect the processes this runner adopted that have ended (as their subreaper; their zombies would
    otherwise stay until the job ends). The agent itself is left to its ``Popen``."""
    for pid in _child_pids("self"):
        if pid != agent:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)


def _end_group(pgid: int) -> None:
    """End every process left in the agent's process group (their zombies collected: this runner is their
    subreaper)."""
    from podium.jobs import end_group

    end_group(pgid, KILL_GRACE, EXIT_DRAIN, reap=lambda: _reap_adopted(pgid))


def _await_exit(proc: subprocess.Popen[bytes], exited: threading.Event) -> None:
    proc.wait()
    exited.set()


def _lines_of(out: IO[bytes], exited: threading.Event, offset: int = 0) -> Iterator[bytes]:
    """The lines written to ``out`` from ``offset`` on, as they come: read at once while there is more, then
    again after a pause that grows while it stays quiet (at most ``READ_PAUSE``); to the size it had when
    ``exited`` was set."""
    fd, rest, pause, end = out.fileno(), b"", 0.01, None
    while end is None or offset < end:
        chunk = os.pread(fd, READ_CHUNK if end is None else min(READ_CHUNK, end - offset), offset)
        if chunk:
            offset += len(chunk)
            *lines, rest = (rest + chunk).split(b"\n")
            yield from (line + b"\n" for line in lines)
            pause = 0.01
        elif end is not None:  # shorter than it was: not a file only written to
            break
        elif exited.is_set():
            end = os.fstat(fd).st_size
        else:
            exited.wait(pause)
            pause = min(pause * 2, READ_PAUSE)
    if rest:  # a last line without its newline
        yield rest


def _agent_output(pid: int, logs: Path) -> IO[bytes] | None:
    """The file an agent whose runner died writes its output to (its runner's, unlinked in ``logs``), opened
    anew through the agent's own descriptor; None when it cannot be (no /proc, or the agent holds none)."""
    for each in _tree_pids(pid):  # the agent, else what it started (it inherited the output)
        with contextlib.suppress(OSError):
            link = os.readlink(f"/proc/{each}/fd/1")
            if link.startswith(f"{logs.resolve()}{os.sep}") and link.endswith(" (deleted)"):
                return open(f"/proc/{each}/fd/1", "rb")  # closed by _read
    return None


def _count_lines(path: Path) -> int:
    """The lines of a file (0 when there is none), read in chunks: a job's log can be large."""
    count = 0
    with contextlib.suppress(OSError), path.open("rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
    return count


def _feed(proc: subprocess.Popen[bytes], text: str) -> None:
    """Write the agent's input to its stdin and close it (an agent that exits first does not read it all)."""
    assert proc.stdin is not None
    with contextlib.suppress(OSError):
        proc.stdin.write(text.encode())
    with contextlib.suppress(OSError):
        proc.stdin.close()


def _worker_gone() -> bool:
    """A runner of a ``podium worker`` (``$PODIUM_WORKER_PID``) whose worker died: the worker is its parent."""
    worker = os.environ.get("PODIUM_WORKER_PID")
    return bool(worker) and os.getppid() != int(worker)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _final_from_transcript(job: Job) -> str | None:
    """The agent's last reply of this job's run, from the transcript its CLI keeps (claude, codex)."""
    from podium import transcripts

    if not job.session_id:
        return None
    if job.agent == "claude":
        files = list((transcripts.claude_home() / "projects").glob(f"*/{job.session_id}.jsonl"))
        read = transcripts.read_claude
    elif job.agent == "codex":
        files = list((transcripts.codex_home() / "sessions").rglob(f"rollout-*{job.session_id}.jsonl"))
        read = transcripts.read_codex
    else:
        return None
    since = (job.started_at or job.created_at) - 1
    replies = [e.text for f in files for e in read(f) if e.kind == "reply" and (e.ts is None or e.ts >= since)]
    return replies[-1].strip() or None if replies else None


def _identity() -> dict[str, Any]:
    """This runner's pid and start time: with both, nobody mistakes another process that got the pid for it."""
    pid, since = this_process()
    return {"runner_pid": pid, "runner_started": since}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _signal_group(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _child_pids(pid: int | str) -> list[int]:
    """A process's children, from /proc/<pid>/task/<tid>/children (no scan of every process)."""
    children: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return children
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                children.extend(int(child) for child in f.read().split())
        except (OSError, ValueError):
            continue
    return children


def _tree_pids(pid: int) -> list[int]:
    """The process and its descendants."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(_child_pids(current))
    return found


def _tree_cpu(pid: int) -> float:
    """CPU seconds used so far by the agent and everything it started."""
    if os.path.exists(f"/proc/{pid}/task"):
        pids = _tree_pids(pid)
    else:  # no /proc (macOS): psutil walks the process table
        import psutil

        try:
            root = psutil.Process(pid)
            pids = [pid, *(c.pid for c in root.children(recursive=True))]
        except psutil.Error:
            return 0.0
    return sum(cpu_seconds(child) or 0.0 for child in pids)


def _last_received(pid: int) -> float | None:
    """Seconds since the agent (or a process it started) last received data on an established TCP connection —
    its model's stream, keep-alives and reasoning included; None when it holds none, or this system cannot tell
    (no /proc, no socket diagnostics). The connections are the sockets among the processes' open files; the
    kernel tells each one's TCP state without attaching to anything."""
    inodes = set()
    for each in _tree_pids(pid):
        with contextlib.suppress(OSError):
            for fd in os.scandir(f"/proc/{each}/fd"):
                with contextlib.suppress(OSError, ValueError):
                    link = os.readlink(fd.path)
                    if link.startswith("socket:["):
                        inodes.add(int(link[8:-1]))
    if not inodes:
        return None
    ages = tcp_received(inodes)
    return min(ages.values()) if ages else None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _last_line(path: Path) -> str | None:
    """Why the agent failed, from its stderr: its last error line (``Error: …``; a stack trace after it is
    not the reason), else its last line."""
    try:
        lines = [ln.strip() for ln in path.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return None
    errors = [ln for ln in lines if ln.lower().startswith(("error", "fatal"))]
    return (errors or lines)[-1][:500] if lines else None


def _await_job() -> tuple[int, str] | None:
    """A prestarted runner (``jobs.Prestart``) waits on stdin for its job: its id and worktree. None when no
    job came (the delegation failed)."""
    line = sys.stdin.buffer.readline().decode()
    if not line.endswith("\n"):
        return None
    job_id, cwd = line[:-1].split("\0")
    return int(job_id), cwd


def _settle(log: Path, cwd: str) -> None:
    """Be the runner ``launch`` would have started: stdin /dev/null, output to the job's runner log, in its
    worktree."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    os.close(out)
    with contextlib.suppress(OSError):
        os.chdir(cwd)


def main(argv: list[str]) -> int:
    """``STORE JOB`` runs the job; ``STORE JOB adopt`` watches the agent of a job whose runner died; ``STORE``
    alone is a prestarted runner: it opens the store and loads what it will need while the job is prepared,
    then takes the job from stdin."""
    store = Store(Path(argv[0]))
    if len(argv) == 1:  # what it needs to start the agent is loaded; the rest loads while the agent starts
        got = _await_job()
        if got is None:
            return 0
        job_id, cwd = got
        _settle(store.log_path(job_id, "runner"), cwd)
    else:
        job_id = int(argv[1])
    job = store.job(job_id)
    runner = Runner(store, job)
    signal.signal(signal.SIGTERM, lambda *_: runner.cancel.set())
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, lambda *_: runner.cancel.set())
    try:
        if argv[2:] == ["adopt"]:
            runner.adopt()
        else:
            runner.run()
    except Exception as e:
        import traceback

        traceback.print_exc()
        runner._fail(f"podium's runner crashed: {e}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
