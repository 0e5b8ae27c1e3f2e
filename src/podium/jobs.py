"""Jobs: agent runs that live in the background and report the truth about themselves.

``delegate`` prepares a workspace, records the job and starts a detached runner
(``podium.runner``) that survives the terminal closing; it returns at once.
Every podium command calls ``reconcile`` first — there is no daemon: a job whose
runner died is marked ``lost`` on the next look.

States: (``queued`` →) ``starting`` → ``running`` ⇄ ``stalled`` → one of ``done`` (the agent
succeeded and git shows work), ``no_changes`` (it succeeded and nothing changed),
``failed``, ``cancelled`` or ``lost`` (the runner died; the worktree is left as it is).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium import engines, processes
from podium.config import checked_effort
from podium.context import Context
from podium.errors import PodiumError, UsageError, WaitTimeout
from podium.git import Repo, git, read_work
from podium.processes import process_alive
from podium.store import ACTIVE_STATES, EventRow, Job, Store, WorkspaceRecord
from podium.text import Note, note_events

if TYPE_CHECKING:  # the agents' and the workspaces' machinery loads where a job starts or a workspace is handled:
    from podium.workspace import WorkspaceState  # status, logs and wait need neither

ROLE = "worker"  # what a delegated job is
LAUNCH_GRACE = 30.0  # a job may sit in "starting" this long before a missing runner counts as lost
HEARTBEAT = float(os.environ.get("PODIUM_HEARTBEAT", "5"))  # the runner's beat: its liveness, read here
UNANSWERED = 60.0  # a runner silent this long counts as frozen even when its process looks alive
CANCEL_WAIT = 15.0

_children: list[subprocess.Popen[bytes]] = []


@dataclass
class Launched:
    """A job just recorded and launched, and what the caller should be told about it."""

    job: Job
    notes: list[Note] = field(default_factory=list)
    resumed: bool | None = None  # a tester turn: True when it continues the same session


def delegate(
    ctx: Context,
    prompt: str,
    *,
    agent: str | None = None,
    branch: str | None = None,
    base: str | None = None,
    stall_after: float | None = None,
    agent_options: dict[str, object] | None = None,
    allow_stale_base: bool = False,
    ticket: str | None = None,
    model: str | None = None,
    effort: str | None = None,
) -> Launched:
    """Start a worker job; returns once the runner is launched.

    Without ``ticket`` the job gets a new workspace. With one, it works in the ticket's workspace
    (``podium ticket start`` is run first if needed: the ticket is fetched, assigned, set active and
    its snapshot written), queued behind any job still active there.
    """
    if not prompt.strip():
        raise UsageError("describe the situation: the prompt is empty")
    stall_after = ctx.config.stall_after_for(ROLE, stall_after)
    name = agent if agent is not None else ctx.config.agent_for(ROLE)
    effort = checked_effort(effort)
    options = {**ctx.agent_options(name, ROLE, model=model, effort=effort), **(agent_options or {})}
    chosen = {"model": model, "effort": effort}  # this job's own choices, which its resumes keep
    engine = engines.configured(ctx.config)
    if engine is not None:  # a worker elsewhere runs it: no runner here
        reconcile(ctx.store)
        return _delegate(ctx, prompt, None, agent=name, branch=branch, base=base, stall_after=stall_after,
                         agent_options=options, allow_stale_base=allow_stale_base, ticket=ticket, engine=engine,
                         chosen=chosen)
    with Prestart(ctx.store) as runner:  # the runner starts up while the workspace is made
        reconcile(ctx.store)  # a job whose runner is gone no longer holds its workspace
        return _delegate(ctx, prompt, runner, agent=name, branch=branch, base=base, stall_after=stall_after,
                         agent_options=options, allow_stale_base=allow_stale_base, ticket=ticket, chosen=chosen)


def _delegate(ctx: Context, prompt: str, runner: Prestart | None, *, agent: str, branch: str | None,
              base: str | None, stall_after: float, agent_options: dict[str, object],
              allow_stale_base: bool, ticket: str | None, engine: engines.Engine | None = None,
              chosen: dict[str, str | None] | None = None) -> Launched:
    from podium.agents import agent_input, get_agent
    from podium.workspace import allocate_ports, create_workspace, repo_lock, write_env

    name = agent
    adapter = get_agent(name, agent_options)
    # CLI, model endpoint, config — before anything is created (a worker elsewhere checks its own)
    preflight = adapter.preflight(ctx.repo.toplevel) if engine is None else None
    notes: list[Note] = []
    fresh: dict[str, str] = {}  # a new worktree is its base, exactly: the runner need not ask git what it holds
    if ticket:
        from podium.ticket import SNAPSHOT, start

        started = start(ctx, ticket, branch=branch, base=base, allow_stale_base=allow_stale_base)
        prompt = (f"{prompt.rstrip()}\n\nThe ticket, {started.ticket.id} ({started.ticket.title}), is in "
                  f"{SNAPSHOT} in this worktree: its description, comments and links.")
        notes += started.notes()
    job = ctx.store.create_job(
        agent=name,
        prompt=prompt,
        state="starting",
        stall_after=stall_after,
        **(chosen or {}),
    )
    made: WorkspaceRecord | None = None  # the workspace this delegation made: undone with it
    try:  # all or nothing: a job with its worktree and its runner, or none of them
        if ticket:
            record = started.workspace
        else:
            ws = create_workspace(ctx.repo, prompt, branch=branch, base=base or ctx.config.base,
                                  template=ctx.config.branch_template, allow_stale_base=allow_stale_base)
            record = made = WorkspaceRecord(path=str(ws.path), branch=ws.branch, base_ref=ws.base_ref,
                                            base_sha=ws.base_sha, created_at=time.time())
            with repo_lock(ctx.repo):
                ctx.store.add_workspace(record)
                write_env(ctx.repo, ws, allocate_ports(ctx.store, str(ws.path), ws.branch))
            notes += [Note("stale_base", f"stale base accepted: {ws.stale}")] if ws.stale else []
            notes += [Note("branch", f"branch {ws.branch}: " + "; ".join(ws.naming))] if ws.naming else []
            # its tree, when the fetch moved the base, is asked of git by the runner while the agent starts
            fresh = {"start_head": ws.base_sha, **({"start_tree": ws.base_tree} if ws.base_tree else {})}
        argv = adapter.new_argv(prompt, Path(record.path), preflight) if preflight is not None else []
        with repo_lock(ctx.repo):  # one agent per worktree: a ticket's second job waits for the first
            busy = ctx.store.active_job_in(record.path)
            if busy and engine is not None:
                raise UsageError(f"job {busy.id} is still {busy.state} in {record.path}; wait for it or cancel it")
            ctx.store.update_job(job.id, workspace=record.path, branch=record.branch, base_ref=record.base_ref,
                                 base_sha=record.base_sha, argv=argv, stdin=agent_input(adapter, prompt),
                                 state="queued" if busy else "starting",
                                 **fresh)
        if busy:
            notes.insert(0, queued_note(busy))
        notes += [Note("agent", n) for n in preflight.notes] if preflight is not None else []
        if notes:
            ctx.store.add_events(job.id, note_events(notes))
        if engine is not None:
            spec = {"origin": ctx.repo.origin_url(), "branch": record.branch, "base_ref": record.base_ref,
                    "base_sha": record.base_sha, "port_base": ctx.store.port_base(record.path), "agent": name,
                    "options": agent_options, "role": ROLE, "prompt": prompt, "stall_after": stall_after,
                    "settings": ctx.settings_text()}
            if not fresh:  # a ticket's workspace, maybe with work in it: the worker starts from it as it is here
                start = engine.seed(ctx, ctx.store.job(job.id), record.path, None)
                ctx.store.update_job(job.id, start_head=start["head"], start_tree=start["tree"])
                spec.update(workspace=record.path, start=start)
            elif "start_tree" not in fresh:  # no runner here to ask git for it while the agent starts
                tree = git("rev-parse", "--verify", f"{record.base_sha}^{{tree}}", cwd=record.path)
                ctx.store.update_job(job.id, start_tree=tree)
            engine.launch(ctx, ctx.store.job(job.id), spec)
            return Launched(ctx.store.job(job.id), notes)
        proc = start_runner(ctx.store, job.id, Path(record.path), runner)  # from here on, the runner has the job
    except BaseException:
        undo(ctx, job.id, made)
        raise
    runner_started(ctx.store, job.id, proc)
    return Launched(ctx.store.job(job.id), notes)


def undo(ctx: Context, job_id: int, made: WorkspaceRecord | None) -> None:
    """Take back a delegation that failed before its runner took the job: its job row, and the workspace it
    made (a fresh worktree at its base, so nothing of anyone's is lost, and the branch it created). What cannot
    be undone stays, and the original error is the one reported."""
    from podium.workspace import WorkspaceState, remove_workspace, repo_lock

    with contextlib.suppress(Exception):
        ctx.store.delete_job(job_id)
    if made is None:
        return
    with contextlib.suppress(Exception), repo_lock(ctx.repo):
        ctx.store.forget_workspace(made.path)
    with contextlib.suppress(Exception):
        exists = Path(made.path).is_dir()
        if exists and (ctx.repo.ref_sha(f"refs/heads/{made.branch}") != made.base_sha
                       or git("status", "--porcelain", cwd=made.path)):
            return  # something was written there after all: it stays (podium workspaces shows it)
        remove_workspace(ctx.repo, WorkspaceState(path=made.path, branch=made.branch, base=made.base_ref,
                                                  exists=exists, ahead=0, behind=None, dirty=False, pushed="no",
                                                  job=None, job_state=None), forced=True)
        Path(made.path).parent.rmdir()  # the repository's folder of worktrees, when this was its first


def queued_note(busy: Job) -> Note:
    return Note("queued", f"queued behind job {busy.id} ({busy.state}) in the same workspace")


def resume(ctx: Context, job_id: int | str, message: str, *, queue: bool = True) -> Launched:
    """Continue a job's agent session with a new message, as a new job in the same workspace.

    One agent works in a worktree at a time: while another job is active there, the resume is
    ``queued`` behind it (its runner waits), or refused when ``queue`` is False. An agent that resumes
    by forking (droid) continues the newest session of the job's chain (``fork_point``).
    """
    from podium.agents import agent_input, forks_on_resume, get_agent

    reconcile(ctx.store)
    parent = ctx.job(job_id)
    if not message.strip():
        raise UsageError("the resume message is empty")
    options = ctx.agent_options(parent.agent, parent.role, model=parent.model, effort=parent.effort)
    adapter = get_agent(parent.agent, options)
    if not adapter.can_resume:
        raise UsageError(f"job {parent.id} ran the {parent.agent} agent, which cannot resume a session")
    if not parent.session_id:
        raise UsageError(f"job {parent.id} has no session to resume (its agent never reported one): run its "
                         f"command again with podium rerun {parent.id}")
    notes: list[Note] = []
    if forks_on_resume(adapter):
        parent, notes = fork_point(ctx.store, parent)
    if not parent.workspace or not Path(parent.workspace).is_dir():
        raise UsageError(f"job {parent.id}'s worktree is gone: {parent.workspace}")
    engine = engines.of(parent) or engines.configured(ctx.config)
    record = ctx.store.workspace(parent.workspace)  # its base now: a gate or podium sync may have moved it
    if engine is not None and record is not None:  # a worker resumes it, from the worktree as it is here
        return engine.launch_in(ctx, record, notes, agent_prompt=message, earlier=parent,
                                options=options, agent=parent.agent, role=parent.role, prompt=message,
                                branch=parent.branch, base_ref=record.base_ref, base_sha=record.base_sha,
                                session_id=parent.session_id, parent_id=parent.id, stall_after=parent.stall_after,
                                model=parent.model, effort=parent.effort)
    if adapter.transcript(parent.session_id) is None:
        raise UsageError(f"the transcript of session {parent.session_id} is gone; start a new job instead")
    ws = Path(parent.workspace)
    preflight = adapter.preflight(ws)
    argv = adapter.resume_argv(parent.session_id, message, ws, preflight)
    base_sha = record.base_sha if record is not None else parent.base_sha
    return enqueue(ctx, parent.workspace, [*notes, *(Note("agent", n) for n in preflight.notes)], queue=queue,
                   agent=parent.agent, role=parent.role, prompt=message, branch=parent.branch,
                   base_ref=parent.base_ref, base_sha=base_sha, session_id=parent.session_id,
                   parent_id=parent.id, argv=argv, stdin=agent_input(adapter, message), stall_after=parent.stall_after,
                   model=parent.model, effort=parent.effort)


def fork_point(store: Store, job: Job) -> tuple[Job, list[Note]]:
    """For an agent that continues a session in a new one forked from it at each resume (droid): the job whose
    session a resume of ``job`` forks from — the newest that continued it (a resume of it, or of one of those),
    whose session holds the whole conversation — and the note that says so. UsageError while that job still
    runs: its own session is known once it is done."""
    chain, newest = {job.id}, job
    for later in store.jobs_in(job.workspace) if job.workspace else []:
        if later.parent_id in chain and later.agent == job.agent and later.session_id:
            chain.add(later.id)
            newest = later
    if newest.active:
        raise UsageError(f"job {newest.id} is still {newest.state}, and {job.agent} continues a session in a new "
                         f"one at each resume: wait for it (podium wait {newest.id}) first")
    later = f" (job {job.id}'s conversation goes on in job {newest.id}'s)" if newest.id != job.id else ""
    return newest, [Note("session", f"{job.agent} resumes by forking: a new session continues session "
                                    f"{newest.session_id}{later}")]


def rerun(ctx: Context, job_id: int | str, note: str) -> Launched:
    """Run a job that never got going again, as a new job with the same command in the same worktree: for a
    job lost before its agent reported a session (there is nothing to resume)."""
    reconcile(ctx.store)
    old = ctx.job(job_id)
    if old.active:
        raise UsageError(f"job {old.id} is still {old.state}")
    if old.engine:
        raise UsageError(f"job {old.id} ran on a podium worker, which retries a job itself: delegate the task again")
    if not old.workspace:
        raise UsageError(f"job {old.id} never got a worktree (it was interrupted while being prepared): "
                         "delegate the task again")
    if not Path(old.workspace).is_dir():
        raise UsageError(f"job {old.id}'s worktree is gone: {old.workspace}")
    return enqueue(ctx, old.workspace, [Note("retry", note)], agent=old.agent, role=old.role, prompt=old.prompt,
                   branch=old.branch, base_ref=old.base_ref, base_sha=old.base_sha, parent_id=old.id,
                   argv=old.argv, stdin=old.stdin, stall_after=old.stall_after)


def enqueue(ctx: Context, workspace: str, notes: list[Note], *, queue: bool = True, **values: Any) -> Launched:
    """Record a job in a workspace and launch its runner: ``queued`` behind the job active there (one agent
    per worktree; refused instead when ``queue`` is False). Returns the job and the notes logged for it."""
    from podium.workspace import repo_lock

    with repo_lock(ctx.repo):  # two new jobs at once must not both find the workspace free
        busy = ctx.store.active_job_in(workspace)
        if busy and not queue:
            raise UsageError(f"job {busy.id} is still {busy.state} in {workspace}; wait for it or cancel it")
        job = ctx.store.create_job(workspace=workspace, state="queued" if busy else "starting", **values)
    if busy:
        notes = [queued_note(busy), *notes]
    if notes:
        ctx.store.add_events(job.id, note_events(notes))
    launch(ctx.store, job.id, Path(workspace))
    return Launched(ctx.store.job(job.id), notes)


RUNNER = "podium.runner"  # the runner's module: named in every runner's command line


def runner_path() -> list[str]:
    """Where a runner imports from: this podium first, then this process's path without its first entry (the
    current directory, or the script's): a worktree's own ``podium`` package never stands in for this one."""
    here = str(Path(__file__).resolve().parent.parent)
    return [here, *(p for p in sys.path[1:] if p and p != here)]


def runner_argv(*args: str) -> list[str]:
    """How a runner starts: this interpreter without ``site`` (``-S``), importing from ``runner_path``. ``site``
    reads every ``.pth`` file of the environment, which is most of a bare interpreter's start-up; the path it
    would build is already known here."""
    code = f"import sys; sys.path[:] = {runner_path()!r}; from {RUNNER} import main; sys.exit(main(sys.argv[1:]))"
    return [sys.executable, "-S", "-c", code, *args]


class Forked:
    """A prestarted runner forked from this process rather than started as a new interpreter: it has podium
    loaded already, so it costs the machine none of a second start-up (about a tenth of a second of CPU a job,
    on a machine many agents share). It is forked twice, so that it is nobody's child here (no zombie
    for a long-lived caller to reap), and leads a session of its own, as a runner ``runner_argv`` starts does;
    its command line reads as that runner's (``RUNNER``), which is how podium tells runners from other
    processes.

    Only a process with a single thread and no store opened yet forks (the CLI delegating): a thread of a
    server holding a lock at the fork would leave the copy waiting on it for ever, and SQLite's connections
    must not cross a fork. Only on Linux: on macOS a forked copy that touches the system's frameworks may
    crash. Any other process starts the runner as a new interpreter, and so does any with ``PODIUM_NO_FORK``
    set."""

    def __init__(self, pid: int, stdin: int) -> None:
        self.pid = pid
        self.stdin: Any = os.fdopen(stdin, "wb")

    @staticmethod
    def can() -> bool:
        import threading

        return (sys.platform.startswith("linux") and threading.active_count() == 1 and Store.open_connections == 0
                and not os.environ.get("PODIUM_NO_FORK"))

    @classmethod
    def runner(cls, store_root: str) -> Forked:
        job_r, job_w = os.pipe()
        pid_r, pid_w = os.pipe()
        between = os.fork()
        if between == 0:  # starts the runner, says its pid, leaves
            code = 1
            try:
                os.close(job_w)
                os.close(pid_r)
                runner = os.fork()
                if runner == 0:
                    os.close(pid_w)
                    _become_runner(store_root, job_r)
                os.write(pid_w, str(runner).encode())
                code = 0
            finally:
                os._exit(code)
        os.close(job_r)
        os.close(pid_w)
        try:
            os.waitpid(between, 0)
            with os.fdopen(pid_r, "rb") as said:
                pid = int(said.read() or 0)
        except (OSError, ValueError):
            pid = 0
        if not pid:
            os.close(job_w)
            raise OSError("the runner could not be forked")
        return cls(pid, job_w)

    def poll(self) -> int | None:
        return 0  # not this process's child: nothing to reap

    def wait(self) -> int:
        return 0


def _become_runner(store_root: str, job_fd: int) -> None:
    """The forked copy becomes a prestarted runner: a session of its own, the job's pipe on stdin, nothing of
    this process's open, the runner's command line. It never returns into the caller's code."""
    code = 1
    try:
        os.setsid()
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(job_fd, 0)
        os.dup2(null, 1)
        os.dup2(null, 2)
        if os.path.isdir("/proc/self/fd"):
            for fd in [int(name) for name in os.listdir("/proc/self/fd")]:
                if fd > 2:
                    with contextlib.suppress(OSError):
                        os.close(fd)
        else:
            os.closerange(3, os.sysconf("SC_OPEN_MAX"))
        sys.stdin = open(0, closefd=False)  # noqa: SIM115 — the job comes on it
        sys.stdout = sys.stderr = open(1, "w", closefd=False)  # noqa: SIM115 — the runner's log, once settled
        sys.path[:] = runner_path()
        os.environ["SPT_NOENV"] = "1"  # the title goes where the command line was; the environment stays as it is
        import setproctitle

        setproctitle.setproctitle(f"{RUNNER} {store_root}")
        del os.environ["SPT_NOENV"]
        import importlib

        code = importlib.import_module(RUNNER).main([store_root])  # the runner's program, as runner_argv runs it
    except BaseException:  # nothing of the caller's may run on in this copy
        with contextlib.suppress(Exception):
            import traceback

            traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


class Prestart:
    """A runner started before its job exists, so that its interpreter, imports and store overlap the
    workspace's creation instead of following it: it waits for one line on its stdin (``JOB`` and the
    worktree). Closed without a job (the delegation failed), it exits. ``launch`` hands it the job, or starts
    a runner the usual way when this one is gone."""

    def __init__(self, store: Store) -> None:
        self.proc: subprocess.Popen[bytes] | Forked | None = None
        try:
            self.proc = Forked.runner(str(store.root)) if Forked.can() else subprocess.Popen(
                runner_argv(str(store.root)), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True, close_fds=True)
        except OSError:
            self.proc = None

    def hand(self, store: Store, job_id: int, cwd: Path) -> subprocess.Popen[bytes] | Forked | None:
        """Give the waiting runner its job; None when it cannot take it (it died, or never started)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.stdin is None:
            return None
        try:
            proc.stdin.write(f"{job_id}\0{cwd}\n".encode())
            proc.stdin.close()
        except OSError:  # it is gone: a runner started the usual way takes the job
            proc.wait()
            return None
        return proc

    def __enter__(self) -> Prestart:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:  # no job came: its stdin closes and it ends
            if self.proc.stdin is not None:
                self.proc.stdin.close()
            _children.append(self.proc)


def launch(store: Store, job_id: int, cwd: Path, prestarted: Prestart | None = None) -> None:
    """Start the detached runner: its own session, no terminal, output to a file."""
    runner_started(store, job_id, start_runner(store, job_id, cwd, prestarted))


def start_runner(store: Store, job_id: int, cwd: Path, prestarted: Prestart | None = None
                 ) -> subprocess.Popen[bytes]:
    """Hand the job to the prestarted runner, or start one: once this returns, a runner has the job."""
    _reap()
    proc = prestarted.hand(store, job_id, cwd) if prestarted is not None else None
    if proc is None:
        with store.log_path(job_id, "runner").open("ab") as out:
            proc = subprocess.Popen(
                runner_argv(str(store.root), str(job_id)),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
    return proc


def runner_started(store: Store, job_id: int, proc: subprocess.Popen[bytes]) -> None:
    _children.append(proc)
    # the runner records its own start time once its agent is up; until then the pid alone identifies it
    store.update_job_if(job_id, ("queued", "starting"), runner_pid=proc.pid)


def adopt(store: Store, job: Job) -> bool:
    """Start a runner that watches the living agent of a job whose runner died (``runner.Runner.adopt``), and
    claim the job for it; False when another podium command claimed it first (this runner then leaves)."""
    try:
        with store.log_path(job.id, "runner").open("ab") as out:
            proc = subprocess.Popen(runner_argv(str(store.root), str(job.id), "adopt"), cwd=job.workspace or "/",
                                    stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True, close_fds=True)
    except OSError:
        return False
    _children.append(proc)
    if store.claim_runner(job.id, job.runner_pid, proc.pid):
        return True
    proc.kill()
    return False


def _reap() -> None:
    """Collect runners this process started that have exited (long-lived callers would keep zombies)."""
    _children[:] = [p for p in _children if p.poll() is None]


def inside_job(store: Store | None = None) -> str | None:
    """Why this process counts as started from inside a podium job (by an agent, or by anything it ran), or
    None. Asked before a decision that is the human's alone (approving a gate).

    Any sign is enough: the job's variable (``PODIUM_JOB_ID``); a podium runner among this process's
    ancestors — whatever terminal it has (``script`` gives a command one of its own); or, with ``store``, this
    process's session being a job's agent's (each agent leads a session of its own, and what it starts stays
    in it unless it calls ``setsid``), which still holds after the job ended and its runner left. A runner
    adopts what its agent's processes leave behind (Linux: it is their subreaper), so a process that detaches
    with ``setsid`` or a double fork still has it as an ancestor while the job runs. Not a sandbox: see the
    README (what the gate does and does not stop)."""
    if os.environ.get("PODIUM_JOB_ID"):
        return f"it runs in podium job {os.environ['PODIUM_JOB_ID']}"
    import psutil

    try:
        me = psutil.Process()
        chain = [me, *me.parents()]
    except psutil.Error:
        return None
    if store is not None:
        for proc in chain:  # its own session, or an ancestor's (script gives its command a session of its own)
            with contextlib.suppress(OSError):
                job = agent_session_of(store, os.getsid(proc.pid))
                if job is not None:
                    return f"it was started in the session of job {job.id}'s agent"
    for proc in chain:
        try:
            runner = any(RUNNER in part for part in proc.cmdline())  # as runner_argv starts it
        except psutil.Error:
            continue
        if runner:
            return f"it was started from inside a podium job (its runner, pid {proc.pid}, is an ancestor)"
    return None


def agent_session_of(store: Store, sid: int) -> Job | None:
    """The job whose agent leads session ``sid``: the latest job with that agent pid whose agent, when it still
    lives, is that very process (its start time). A session whose leader has ended and that a job's agent
    led is taken as the agent's (a person's terminal session keeps its leader, the shell)."""
    if sid <= 1:
        return None
    row = store.db.execute("SELECT * FROM jobs WHERE agent_pid = ? ORDER BY id DESC LIMIT 1", (sid,)).fetchone()
    job = Job.from_row(row) if row is not None else None
    return job if job is not None and still_the_agents(job) else None


def still_the_agents(job: Job) -> bool:
    """Whether the process group and session ``job.agent_pid`` names are still its agent's: their leader has
    ended (an id stays taken while its group or session lives), or is that very process (its start time). A
    leader with another start time is a later process that got the pid: nothing of the agent's."""
    leader = processes.state(job.agent_pid) if job.agent_pid else None
    if leader is None or leader[0] == processes.ZOMBIE:
        return True
    return job.agent_started is not None and abs(leader[1] - job.agent_started) <= 0.5


def not_answering(job: Job, now: float) -> str | None:
    """Why a running job's live runner counts as frozen, or None. Its heartbeat is older than two beats and the
    process is stopped (SIGSTOP, a debugger); or older than ``UNANSWERED`` whatever the cause (a runner that
    waits that long on the database is not watching its agent either)."""
    if job.state != "running" or job.heartbeat_at is None:
        return None
    late = now - job.heartbeat_at
    if late <= 2 * HEARTBEAT:
        return None
    runner = processes.state(job.runner_pid) if job.runner_pid else None
    if runner is None:
        return None
    if runner[0] in (processes.STOPPED, processes.TRACING_STOP):
        return f"its runner (pid {job.runner_pid}) is stopped: no heartbeat for {late:.0f}s"
    if late > UNANSWERED:
        return f"its runner (pid {job.runner_pid}) has not answered for {late:.0f}s"
    return None


def reconcile(store: Store) -> list[Job]:
    """Mark active jobs whose runner is gone as ``lost``, and running jobs whose runner stopped answering as
    ``stalled`` (the runner sets them ``running`` again when it wakes); the jobs of another engine are that
    engine's to reconcile (``podium.engines.reconcile``). Returns the jobs it changed."""
    _reap()
    active = store.jobs(states=ACTIVE_STATES)
    changed = engines.reconcile(store, active)
    now = time.time()
    for job in active:
        if job.engine:
            continue  # its engine's (reconciled above)
        if process_alive(job.runner_pid, job.runner_started):
            why = not_answering(job, now)
            if why and store.update_job_if(job.id, ("running",), state="stalled"):
                store.add_events(job.id, [("stalled", {"silent_for": round(now - job.heartbeat_at, 1),  # type: ignore[operator]
                                                       "reason": why})])
                changed.append(store.job(job.id))
            continue
        if job.runner_pid is None and now - job.created_at < LAUNCH_GRACE:
            continue
        if job.state in ("running", "stalled") and process_alive(job.agent_pid, job.agent_started):
            adopt(store, job)  # its agent lives on: watched to its end by a new runner, never left unseen
            continue
        work = None
        if job.workspace and job.base_sha and Path(job.workspace).is_dir():
            try:
                work = read_work(job.workspace, job.base_sha).to_dict()
            except PodiumError:
                work = None
        if job.runner_pid is None:
            error = "the job never started: podium was interrupted while preparing it"
        else:
            error = f"the job's runner (pid {job.runner_pid}) died; its worktree was left as it is"
        if store.update_job_if(job.id, ACTIVE_STATES, state="lost", ended_at=now, error=error, work=work):
            store.add_events(job.id, [("lost", {"message": error})])
            changed.append(store.job(job.id))
    return changed


RECENT = 86400.0
RECENT_LIMIT = 50


def listing_filter(show_all: bool = False) -> tuple[str, list[Any]]:
    """The jobs ``status`` shows by default (every active job, and the last ``RECENT_LIMIT`` of the day), or all."""
    if show_all:
        return "", []
    active = ", ".join("?" for _ in ACTIVE_STATES)
    return (f"id IN (SELECT id FROM jobs WHERE created_at >= ? ORDER BY id DESC LIMIT {RECENT_LIMIT}) "
            f"OR state IN ({active})", [time.time() - RECENT, *ACTIVE_STATES])


def behind(ctx: Context, bases: list[tuple[str, str]]) -> list[tuple[str, str, int | None]]:
    """How far each base moved on since workspaces were made from it (as of the last fetch): (ref, sha, count)."""
    counts = behind_counts(ctx.repo, bases)
    return [(ref, sha, n) for (ref, sha), n in counts.items()]


def behind_counts(repo: Repo, bases: list[tuple[str, str]]) -> dict[tuple[str, str], int | None]:
    """One git call per distinct base commit, not per job or workspace: thousands share a few bases."""
    counts: dict[tuple[str, str], int | None] = {}
    for key in bases:
        if key not in counts:
            counts[key] = repo.behind(*key)
    return counts


def _latest_jobs(ctx: Context) -> dict[str, Job]:
    latest: dict[str, Job] = {}
    for job in ctx.store.jobs():  # newest first
        if job.workspace and job.workspace not in latest and job.workspace_removed_at is None:
            latest[job.workspace] = job
    return latest


STRAY_AGE = 120.0  # a worktree of podium's without a record is a delegation's in progress until this old


def record_strays(ctx: Context) -> list[WorkspaceRecord]:
    """Record the worktrees podium made that no workspace record names — left by a delegation killed (SIGKILL)
    between making its worktree and recording it — so that they are listed, and cleaned when they hold no
    work. Its base is taken as the origin branch that holds its HEAD (none: git cannot say, and clean keeps
    it)."""
    from podium.workspace import worktrees_root

    root = str(worktrees_root(ctx.repo))
    known = {w.path for w in ctx.store.workspaces()}
    found = []
    for path, branch in ctx.repo.worktrees():
        if not path.startswith(root + os.sep) or path in known or branch is None:
            continue
        try:
            if time.time() - Path(path).stat().st_mtime < STRAY_AGE:
                continue
        except OSError:
            continue
        own = git("rev-list", "--reverse", "HEAD", "--not", "--remotes", cwd=path, check=False).split()
        base_sha = git("rev-parse", f"{own[0]}^" if own else "HEAD", cwd=path, check=False)
        holders = git("branch", "-r", "--contains", base_sha, "--format=%(refname:short)", cwd=path,
                      check=False).split() if base_sha else []
        base = next((b for b in holders if b != f"origin/{branch}" and not b.endswith("/HEAD")), None)
        if base is None:
            continue  # nothing of origin's under it: not a worktree podium started from a base
        record = WorkspaceRecord(path=path, branch=branch, base_ref=base, base_sha=base_sha, created_at=time.time())
        ctx.store.add_workspace(record)
        found.append(record)
    return found


def workspaces(ctx: Context) -> list[WorkspaceState]:
    """Every workspace podium made in this repository (and has not cleaned), with its latest job."""
    from podium.workspace import workspace_state

    record_strays(ctx)
    records = ctx.store.workspaces()
    latest = _latest_jobs(ctx)
    behind = behind_counts(ctx.repo, [(w.base_ref, w.base_sha) for w in records])
    return [workspace_state(ctx.repo, w, latest.get(w.path), behind[(w.base_ref, w.base_sha)], _pushed_sha(ctx, w))
            for w in records]


def _pushed_sha(ctx: Context, ws: WorkspaceRecord) -> str | None:
    change = ctx.store.change(ws.path)
    return change.pushed_sha if change else None


@dataclass
class CleanResult:
    removed: list[WorkspaceState]
    kept: list[tuple[WorkspaceState, str]]  # and why


def clean(ctx: Context, force: Callable[[WorkspaceState, str], bool] | None = None) -> CleanResult:
    """Remove finished workspaces whose work is safe: nothing uncommitted, every commit on origin.

    A workspace with work that exists nowhere else is kept, and the reason said — unless ``force``
    is given and answers yes for that very workspace (the CLI asks the user to type its branch).
    A worktree deleted by hand is forgotten (git's stale entry pruned). Running jobs' are never touched.
    """
    from podium.workspace import remove_workspace, repo_lock, unsafe_work, workspace_state

    reconcile(ctx.store)
    result = CleanResult(removed=[], kept=[])
    with repo_lock(ctx.repo):
        record_strays(ctx)
        latest = _latest_jobs(ctx)
        for record in ctx.store.workspaces():
            job = latest.get(record.path)
            state = workspace_state(ctx.repo, record, job, pushed_sha=_pushed_sha(ctx, record))
            if job and job.active:
                result.kept.append((state, f"job {job.id} is {job.state}"))
                continue
            risk = unsafe_work(state)
            if risk and not (force and force(state, risk)):
                result.kept.append((state, risk))
                continue
            remove_workspace(ctx.repo, state, forced=bool(risk))
            ctx.store.mark_workspace_removed(state.path)
            result.removed.append(state)
    return result


def cancel(ctx: Context, job_id: int | str) -> Job:
    reconcile(ctx.store)
    job = ctx.job(job_id)
    engine = engines.of(job)
    if engine is not None and job.active:
        return engine.cancel(ctx, job)
    if not job.active:
        if job.agent_pid and group_alive(job.agent_pid) and still_the_agents(job):
            end_group(job.agent_pid)
            ctx.store.add_events(job.id, [("note", {"message": "stopped what the job's agent left running"})])
            return ctx.store.job(job.id)
        raise PodiumError(f"job {job.id} is not running (it is {job.state})")
    ctx.store.update_job(job.id, cancel_requested=1)
    if process_alive(job.runner_pid, job.runner_started):
        assert job.runner_pid is not None
        os.kill(job.runner_pid, signal.SIGTERM)
        os.kill(job.runner_pid, signal.SIGCONT)  # a stopped runner wakes to handle it
    deadline = time.monotonic() + CANCEL_WAIT
    while time.monotonic() < deadline:
        job = ctx.store.job(job.id)
        if not job.active:
            return job
        if not process_alive(job.runner_pid, job.runner_started) and job.runner_pid is not None:
            break
        time.sleep(0.1)
    reconcile(ctx.store)
    job = ctx.store.job(job.id)
    if job.active or job.state == "lost":
        if job.agent_pid and process_alive(job.agent_pid, None):
            end_group(job.agent_pid)
        ctx.store.update_job(job.id, state="cancelled", ended_at=time.time())
    return ctx.store.job(job.id)


def group_alive(pgid: int) -> bool:
    """True while any process of a process group (an agent's: it leads its own) is left."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def end_group(pgid: int, term_grace: float = 1.0, kill_grace: float = 1.0,
              reap: Callable[[], None] | None = None) -> None:
    """End every process of a process group: SIGTERM, then SIGKILL after ``term_grace``; returns once none is
    left, or ``kill_grace`` after the kill. ``reap`` collects the zombies of a caller that is their parent (a
    runner, their subreaper), which would otherwise keep the group alive."""
    for sig, grace in ((signal.SIGTERM, term_grace), (signal.SIGKILL, kill_grace)):
        try:
            os.killpg(pgid, sig)
        except (ProcessLookupError, PermissionError):
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if reap is not None:
                reap()
            if not group_alive(pgid):
                return
            time.sleep(0.05)


def wait_until(
    ctx: Context,
    job_ids: list[int | str],
    timeout: float | None = None,
    poll: float = 0.2,
    through_stalls: bool = False,
    on_poll: Callable[[list[Job]], None] | None = None,
) -> tuple[list[Job], bool]:
    """Block until every job is finished — or stalled, which needs a decision (cancel, resume, or keep
    waiting with ``through_stalls``) — or ``timeout`` passes. The jobs as they are, and whether time ran out.
    ``on_poll`` sees the jobs at every look (a live line for a person at a terminal)."""
    ids = [ctx.job(j).id for j in job_ids]
    deadline = None if timeout is None else time.monotonic() + timeout
    waiting_for = ("queued", "starting", "running", "stalled") if through_stalls else ("queued", "starting", "running")
    every = max(poll, min(1.0, HEARTBEAT / 2))  # runners checked alive (reconcile): a lost job is seen within 1 s
    reconciled = -every
    seen: dict[int, str] | None = None
    jobs: list[Job] = []
    while True:
        now = time.monotonic()
        due = now - reconciled >= every
        if due:
            reconcile(ctx.store)
            reconciled = now
        # at every poll one query for the states; the jobs are read whole when one changed (or, for a person's
        # live line, with its figures, at each reconcile)
        states = ctx.store.states(ids)
        if states != seen or (due and on_poll is not None):
            jobs, seen = [ctx.store.job(i) for i in ids], states
        if on_poll is not None:
            on_poll(jobs)
        if not any(state in waiting_for for state in states.values()):
            return jobs, False
        if deadline is not None and time.monotonic() >= deadline:
            return jobs, True
        time.sleep(poll)


def wait(
    ctx: Context,
    job_ids: list[int | str],
    timeout: float | None = None,
    poll: float = 0.2,
    through_stalls: bool = False,
) -> list[Job]:
    """``wait_until``, with ``WaitTimeout`` when the time runs out."""
    jobs, timed_out = wait_until(ctx, job_ids, timeout=timeout, poll=poll, through_stalls=through_stalls)
    if timed_out:
        names = ", ".join(f"{j.id} ({j.state})" for j in jobs if j.active)
        raise WaitTimeout(f"timed out after {timeout:g}s waiting for job {names}")
    return jobs


def follow(ctx: Context, job_id: int, after: int = 0, poll: float = 0.5) -> Iterator[list[EventRow]]:
    """A job's events as they come, batch by batch, until the job has ended and every event was given."""
    seq = after
    while True:
        events = ctx.store.events(job_id, after=seq)
        if events:
            seq = events[-1].seq
            yield events
        if not ctx.store.job(job_id).active:
            if ctx.store.events(job_id, after=seq):
                continue
            return
        time.sleep(poll)
        reconcile(ctx.store)


def follow_log(ctx: Context, job_id: int, poll: float = 0.5) -> Iterator[bytes]:
    """The agent's raw output as it is written, chunk by chunk, until the job has ended."""
    path = ctx.store.log_path(job_id)
    pos = 0
    while True:
        job = ctx.store.job(job_id)
        ended = not job.active  # looked at before reading: the last chunk is never missed
        engines.latest(ctx.store, job)  # on a worker elsewhere: its log as the worker last pushed it
        if path.exists():
            with path.open("rb") as f:
                f.seek(pos)
                chunk = f.read()
            pos += len(chunk)
            if chunk:
                yield chunk
        if ended:
            return
        time.sleep(poll)
        reconcile(ctx.store)
