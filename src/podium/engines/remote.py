"""One podium job run by a ``podium worker`` for a user elsewhere: the machine-side half of the Temporal engine,
with no Temporal in it (``podium.engines.worker`` wraps it in an activity).

Per job the worker keeps a mirror of the job's origin (a clone of its own), makes the job's workspace there the
team's way — the branch the user's podium named, from the very base commit it fetched, on the same ports — and
hands it to podium's own runner, as ``podium delegate`` does on one machine. It reads the job's progress from its
own store, and pushes the worktree's state to origin (``podium.snapshots``) every ``SNAPSHOT_EVERY`` seconds and
at the end, with the agent's log and session transcript (those also when only they grew, and as soon as the
session's transcript is there: an agent that thinks or runs tests without touching a file loses neither). A job
whose earlier attempt died with its machine is restored from that push: its agent resumes its session when the
transcript came along, else a fresh session is told what was done.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import socket
import time
from pathlib import Path
from typing import Any

from podium import snapshots
from podium.errors import GitError, PodiumError
from podium.git import Repo, git

SNAPSHOT_EVERY = float(os.environ.get("PODIUM_SNAPSHOT_EVERY", "120"))
RESEND_EVERY = 15.0  # seconds: a job's live values are signalled at least this often while it runs
# seconds: a job's new events are signalled at most this often (a new state or session at once). Each signal adds
# four events to the workflow's history, which a cluster caps (51 200 by default): signalling every second, a busy
# job reached that in under three hours; at this pace, in about seventeen
SIGNAL_EVERY = float(os.environ.get("PODIUM_SIGNAL_EVERY", "5"))
WORKER_PID = "PODIUM_WORKER_PID"  # set in a worker's runners: a runner whose worker is gone ends its agent
FINAL_STATES = ("done", "no_changes", "failed", "cancelled", "lost")


def host() -> str:
    return os.environ.get("PODIUM_WORKER_NAME") or socket.gethostname()


def mirror(origin: str) -> Repo:
    """This machine's clone of ``origin`` (made on first use): the jobs' worktrees hang off it."""
    import platformdirs

    name = re.sub(r"[^A-Za-z0-9._-]", "-", origin.rstrip("/").rpartition("/")[2].removesuffix(".git")) or "repo"
    path = platformdirs.user_data_path("podium") / "mirrors" / f"{name}-{hashlib.sha1(origin.encode()).hexdigest()[:8]}"
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / f"{path.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (path / ".git").is_dir():
            partial = path.with_name(f"{path.name}.{os.getpid()}")
            git("clone", "--quiet", "--no-checkout", origin, str(partial), cwd=path.parent, timeout=600)
            partial.rename(path)
    return Repo.find(path)


class RemoteJob:
    """A job of ``spec`` (the user's job, as ``podium.engines.temporal`` sends it) on this machine."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.ref = snapshots.job_ref(spec["checkout"], spec["job_id"])
        self.meta = snapshots.meta_ref(spec["checkout"], spec["job_id"])
        self.pushed: dict[str, str | None] = {self.ref: None, self.meta: None}
        self.pushed_state: tuple[str, str] | None = None  # (head, tree) of the last push
        self.pushed_logs: tuple[Any, ...] | None = None  # the sizes and times of the logs and transcript it pushed
        self.session: str | None = None  # the agent's session, once known
        self.pushed_session: str | None = None  # the session whose transcript is on origin
        self.last_push = 0.0
        self.seq = 0
        self.local_id = 0
        self.sent: tuple[Any, ...] | None = None  # what the last progress signal said (state, session, usage)
        self.sent_at = 0.0

    # -- start ------------------------------------------------------------------------------------------------------
    def start(self, attempt: int) -> None:
        from podium.context import Context
        from podium.workspace import repo_lock

        repo = mirror(self.spec["origin"])
        self.ctx = Context.open(repo.toplevel)
        with repo_lock(repo):
            repo.fetch()
            found = snapshots.fetch(repo.toplevel, self.ref, self.meta)
        self.pushed.update(found)
        path, notes, reused = self._workspace(repo, found.get(self.ref), attempt)
        self.path = path
        self._launch(path, found, notes, interrupted=attempt > 1 or reused)

    def _workspace(self, repo: Repo, restored: str | None, attempt: int) -> tuple[Path, list[str], bool]:
        from podium.store import WorkspaceRecord
        from podium.workspace import ENV_DIR, Workspace, allocate_ports, repo_lock, worktrees_root, write_env

        spec, notes = self.spec, [f"running on {host()} (attempt {attempt})"]
        path = worktrees_root(repo) / spec["branch"].replace("/", "-")
        marker, key = path / ENV_DIR / "job", f"{spec['checkout']}/{spec['job_id']}"
        reused = False
        with repo_lock(repo):
            if path.is_dir():
                earlier = self.ctx.store.active_job_in(str(path))
                if earlier is not None:  # still working there (an attempt this worker gave up on, or another job)
                    from podium import jobs

                    jobs.cancel(self.ctx, earlier.id)
                with contextlib.suppress(OSError):
                    reused = marker.read_text() == key
            if reused:  # an earlier attempt of this job on this machine: its worktree is as new as its push, or newer
                notes.append(f"the worktree of an earlier attempt on {host()} is used as it is")
            elif path.is_dir():  # an earlier job of the branch here: a copy of what origin holds, made current
                snapshots.reset_to(path, restored) if restored else snapshots.reset_to_base(path, spec["base_sha"])
                notes.append(f"this machine's worktree of {spec['branch']} was set to {restored or spec['base_sha']}")
            elif restored:
                snapshots.restore(repo.toplevel, restored, path, spec["branch"])
            else:
                repo.add_worktree(path, spec["branch"], spec["base_sha"])
            if restored and not reused:
                notes.append(f"the worktree was restored from {self.ref} ({restored[:12]})" + (
                    ", the last state an earlier attempt pushed before its machine went away" if attempt > 1
                    else ", as it was in the user's workspace"))
            ws = Workspace(path=path, branch=spec["branch"], base_ref=spec["base_ref"], base_sha=spec["base_sha"])
            if self.ctx.store.workspace(str(path)) is None:
                self.ctx.store.add_workspace(WorkspaceRecord(path=str(path), branch=ws.branch, base_ref=ws.base_ref,
                                                             base_sha=ws.base_sha, created_at=time.time()))
            port = spec.get("port_base") or allocate_ports(self.ctx.store, str(path), ws.branch)
            write_env(repo, ws, int(port))
            marker.write_text(key)
            settings = path / ENV_DIR / "podium.toml"  # the user's settings hold for the job (Context.open)
            settings.write_text(spec["settings"]) if spec.get("settings") else settings.unlink(missing_ok=True)
        return path, notes, reused

    def _launch(self, path: Path, found: dict[str, str], notes: list[str], interrupted: bool) -> None:
        from podium import jobs
        from podium.agents import agent_input, get_agent
        from podium.text import Note

        spec = self.spec
        adapter = get_agent(spec["agent"], spec.get("options") or {})
        preflight = adapter.preflight(path)
        turn_notes: list[Note] = []
        if spec.get("role") == "tester":  # its tools wired here: podium's screenshot, this machine's live browser
            from podium.context import Context
            from podium.tester import wired

            preflight, _ = wired(Context.open(path), adapter, preflight, str(path), turn_notes)
        prompt = spec["prompt"].replace(spec["workspace"], str(path)) if spec.get("workspace") else spec["prompt"]
        session = self._transcript_back(adapter, found.get(self.meta), path)
        self._podium_files_back(found.get(self.meta), path)
        if interrupted and session:
            prompt = (f"Your machine went away while you worked on this; podium restored the worktree from its "
                      f"last snapshot and resumed this session. Check what is already done (git status) and carry "
                      f"on with the task:\n\n{prompt}")
            notes.append(f"its agent resumes session {session} (the transcript came along)")
        elif interrupted:
            prompt = (f"{prompt}\n\nAn earlier attempt at this task was interrupted when its machine went away; "
                      "the worktree holds what it had done (see git status and git diff): build on it rather than "
                      "starting over.")
            notes.append("its agent starts a fresh session, told what was done (no transcript came along)")
        elif spec.get("session_id") and not session:
            notes.append(f"session {spec['session_id']}'s transcript did not come along: a fresh session starts")
        argv = (adapter.resume_argv(session, prompt, path, preflight) if session
                else adapter.new_argv(prompt, path, preflight))
        start = spec.get("start") or {"head": spec["base_sha"],
                                      "tree": git("rev-parse", f"{spec['base_sha']}^{{tree}}", cwd=path)}
        launched = jobs.enqueue(
            self.ctx, str(path),
            [Note("worker", n) for n in notes] + turn_notes + [Note("agent", n) for n in preflight.notes],
            agent=spec["agent"], role=spec.get("role", "worker"), prompt=prompt, branch=spec["branch"],
            base_ref=spec["base_ref"], base_sha=spec["base_sha"], session_id=session, argv=argv,
            stdin=agent_input(adapter, prompt), stall_after=float(spec["stall_after"]),
            start_head=start["head"], start_tree=start["tree"])  # judged from where the user's job began
        self.local_id = launched.job.id

    # -- progress ---------------------------------------------------------------------------------------------------
    def progress(self) -> dict[str, Any]:
        """What happened since the last batch sent: the job's new events, and its row's live values."""
        job = self.ctx.store.job(self.local_id)
        events = self.ctx.store.events(self.local_id, after=self.seq)
        self.session = job.session_id
        values = {k: getattr(job, k) for k in ("state", "session_id", "started_at", "heartbeat_at",
                                               "last_activity_at", "receiving_at", "usage")}
        return {"events": [[e.kind, e.data, e.ts] for e in events], "job": dict(values, host=host()),
                "seq": events[-1].seq if events else self.seq}

    def worth_sending(self, batch: dict[str, Any]) -> bool:
        """Whether a progress batch is worth a signal, and so a place in the workflow's history: a new state or
        session at once; new events or usage when ``SIGNAL_EVERY`` passed since the last; the live values alone
        when ``RESEND_EVERY`` did (such as the model's stream still bringing bytes). Marked sent if so (the next
        batch starts after its events); else its events wait for the next."""
        live, since = batch["job"], time.monotonic() - self.sent_at
        said = (live["state"], live["session_id"], json.dumps(live["usage"], sort_keys=True))
        urgent = self.sent is None or said[:2] != self.sent[:2]
        if not urgent and since < (SIGNAL_EVERY if batch["events"] or said != self.sent else RESEND_EVERY):
            return False
        self.sent, self.sent_at, self.seq = said, time.monotonic(), batch.pop("seq")
        return True

    def finished(self) -> bool:
        from podium.jobs import reconcile

        reconcile(self.ctx.store)
        return self.ctx.store.job(self.local_id).state in FINAL_STATES

    def cancel(self) -> None:
        from podium import jobs

        with contextlib.suppress(PodiumError):
            jobs.cancel(self.ctx, self.local_id)

    # -- the work kept on origin ------------------------------------------------------------------------------------
    def push_due(self) -> bool:
        """Every ``SNAPSHOT_EVERY`` seconds, and as soon as the agent's session transcript is on this disk (a retry
        elsewhere resumes that session, though the agent has changed no file yet)."""
        if time.monotonic() - self.last_push >= SNAPSHOT_EVERY:
            return True
        return (self.session is not None and self.session != self.pushed_session
                and transcript_path(self.spec["agent"], self.session) is not None)

    def push(self, final: bool = False) -> str | None:
        """Push the worktree's state when it changed, and the job's logs and transcript when they did (or the
        worktree did); the snapshot's commit."""
        from podium.git import snapshot

        self.last_push = time.monotonic()
        state = snapshot(self.path)
        session = self.ctx.store.job(self.local_id).session_id
        logs = self._logs_state(session)
        moved = final or (state.head, state.tree) != self.pushed_state
        if not moved and logs == self.pushed_logs:
            return self.pushed[self.ref]
        commit = self.pushed[self.ref]
        updates: dict[str, tuple[str, str | None]] = {}
        if moved:
            commit = snapshots.commit_state(self.path, state, f"podium job {self.spec['job_id']} on {host()}",
                                            self.pushed[self.ref])
            updates[self.ref] = (commit, self.pushed[self.ref])
        meta = snapshots.commit_files(self.path, self._meta_files(), f"podium job {self.spec['job_id']}: logs")
        updates[self.meta] = (meta, self.pushed[self.meta])
        if session and logs[-1] is not None:
            self.pushed_session = session  # pushed now, or by a later push if this one fails
        try:
            snapshots.push(self.path, updates)
        except GitError as e:
            self.ctx.store.add_events(self.local_id, [("note", {"message": f"the snapshot was not pushed: {e}"})])
            return self.pushed[self.ref]
        self.pushed.update({ref: sha for ref, (sha, _) in updates.items()})
        self.pushed_state, self.pushed_logs = (state.head, state.tree), logs
        return commit

    def _logs_state(self, session: str | None) -> tuple[Any, ...]:
        """The sizes and modification times of the job's logs and its session transcript (None: not there)."""
        paths = [self.ctx.store.log_path(self.local_id, name) for name in ("log", "stderr")]
        paths.append(transcript_path(self.spec["agent"], session) if session else None)

        def stat(path: Path | None) -> tuple[int, int] | None:
            try:
                found = path.stat() if path else None
            except OSError:
                return None
            return (found.st_size, found.st_mtime_ns) if found else None

        return tuple(stat(p) for p in paths)

    def _meta_files(self) -> dict[str, bytes]:
        store, files = self.ctx.store, {}
        for name in ("log", "stderr"):
            with contextlib.suppress(OSError):
                files[name] = store.log_path(self.local_id, name).read_bytes()
        job = store.job(self.local_id)
        if job.session_id:
            files.update(transcript_files(job.agent, job.session_id))
        files.update(podium_files(self.path))
        shots = [s for s in store.screenshots(job.branch or "") if s.job_id == self.local_id]
        kept = []
        for shot in shots:
            with contextlib.suppress(OSError):
                files[f"screenshots/{Path(shot.path).name}"] = Path(shot.path).read_bytes()
                kept.append({"name": Path(shot.path).name, "label": shot.label, "url": shot.url})
        if kept:
            files["screenshots.json"] = json.dumps(kept).encode()
        return files

    def _podium_files_back(self, meta: str | None, path: Path) -> None:
        """The workspace's own files the user's podium sent along (``.podium/ticket.md``)."""
        from podium.workspace import ENV_DIR

        for name, content in (snapshots.files_of(path, meta).items() if meta else ()):
            if name.startswith("workspace/") and "/" not in name.removeprefix("workspace/"):
                (path / ENV_DIR / name.removeprefix("workspace/")).write_bytes(content)

    def _transcript_back(self, adapter: Any, meta: str | None, path: Path) -> str | None:
        """Put the session transcript an earlier attempt pushed where this machine's agent CLI looks for it; its
        session id, or None when none came along (or the CLI cannot resume)."""
        home = transcript_home(self.spec["agent"])
        if not meta or home is None or not adapter.can_resume:
            return None
        for name, content in snapshots.files_of(path, meta).items():
            if name.startswith("transcript/"):
                _, session, rel = name.split("/", 2)
                target = home / _moved(self.spec["agent"], rel, path)
                target.parent.mkdir(parents=True, exist_ok=True)
                if not target.exists():
                    target.write_bytes(content)
                return session
        return None

    def result(self) -> dict[str, Any]:
        """The job's end, as the user's podium records it: its state, verdict, work and the snapshot holding it."""
        job = self.ctx.store.job(self.local_id)
        commit = self.push(final=True)
        return {"state": job.state, "exit_code": job.exit_code, "error": job.error,
                "final_message": job.final_message, "work": job.work, "session_id": job.session_id,
                "usage": job.usage, "started_at": job.started_at, "ended_at": job.ended_at, "host": host(),
                "ref": self.ref, "commit": commit}


def podium_files(workspace: str | Path) -> dict[str, bytes]:
    """What a workspace keeps out of git for its agents (``.podium/``: the ticket's snapshot), but its
    environment, which each machine writes for itself."""
    from podium.workspace import ENV_DIR

    folder = Path(workspace) / ENV_DIR
    return {f"workspace/{p.name}": p.read_bytes() for p in sorted(folder.glob("*"))
            if p.is_file() and p.name not in ("env", "podium.toml")} if folder.is_dir() else {}


def transcript_files(agent: str, session: str) -> dict[str, bytes]:
    """A session's transcript as a meta commit holds it (``transcript/<session>/<path under the CLI's home>``);
    nothing when this machine does not have it."""
    found, home = transcript_path(agent, session), transcript_home(agent)
    if found is None or home is None:
        return {}
    try:
        return {f"transcript/{session}/{found.relative_to(home)}": found.read_bytes()}
    except OSError:
        return {}


def transcript_path(agent: str, session: str) -> Path | None:
    """Where this machine's agent CLI keeps a session's transcript, when it does and podium can carry it."""
    from podium.agents import get_agent

    home = transcript_home(agent)
    if home is None:
        return None
    found = get_agent(agent).transcript(session)
    return found if found is not None and found.is_relative_to(home) else None


def transcript_home(agent: str) -> Path | None:
    """Where an agent CLI keeps its session transcripts (what a resume on another machine needs)."""
    if agent == "codex":
        from podium.agents.codex import codex_home

        return codex_home()
    if agent == "claude":
        from podium.agents.claude import claude_home

        return claude_home()
    return None


def _moved(agent: str, rel: str, cwd: Path) -> str:
    """A transcript's place under its CLI's home on this machine: claude files sessions by their folder."""
    if agent == "claude" and rel.startswith("projects/"):
        return f"projects/{re.sub(r'[^A-Za-z0-9]', '-', str(cwd))}/{rel.rsplit('/', 1)[-1]}"
    return rel
