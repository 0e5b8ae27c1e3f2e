"""The Temporal engine, from the user's side: jobs launched as workflows (``podium.engines.workflow``) that
``podium worker`` processes run, observed by mirroring each workflow's history into this checkout's store.

The workflow's history is the record: the activity signals the job's events and live values (``progress``) and
returns its end; the Temporal server answers history reads without any worker, so ``status`` works while every
worker is down. When a job ends, its work is fetched from the ref its worker pushed (``podium.snapshots``) into
the job's workspace here, where the gate, commit, push and ship run as with the local engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import re
import secrets
import socket
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from podium import snapshots
from podium.errors import PodiumError, UsageError
from podium.store import ACTIVE_STATES

if TYPE_CHECKING:
    from temporalio.client import Client

    from podium.context import Context
    from podium.jobs import Launched
    from podium.store import Job, Store, WorkspaceRecord
    from podium.text import Note

MISSING = "the Temporal engine needs the temporalio package: pip install 'podium[temporal]'"
HEARTBEAT = float(os.environ.get("PODIUM_HEARTBEAT", "5"))
HEARTBEAT_TIMEOUT = max(10.0, 6 * HEARTBEAT)  # a worker silent this long is gone: its job is retried elsewhere
ATTEMPTS = 10
CANCEL_WAIT = 30.0
CALL_TIMEOUT = 30.0
CONNECTION = ("kind", "address", "namespace", "task_queue", "tls", "tls_ca", "tls_cert", "tls_key", "api_key_env")
LIVE = ("queued", "starting", "running", "stalled")
GONE = object()  # a workflow the cluster does not have
UNCHANGED = object()  # a workflow whose history holds nothing this checkout has not seen
T = TypeVar("T")

OBSERVE_EVERY = 1.0  # seconds: a long-lived podium reads a job's history at most this often
_observed: dict[int, float] = {}  # job id → when this process last read its history
LATEST_EVERY = 5.0  # seconds: a long-lived podium asks origin for a running job's latest snapshot at most this often
_latest: dict[int, tuple[float, dict[str, Any] | None]] = {}  # job id → when it asked, and the work it found
_loop: asyncio.AbstractEventLoop | None = None
_clients: dict[str, Client] = {}


def run(coro: Coroutine[Any, Any, T], timeout: float = CALL_TIMEOUT) -> T:
    """Run a coroutine on this process's Temporal loop (one thread, started on first use, so that one connection
    serves every call of a long-lived podium, such as ``wait``)."""
    global _loop
    if _loop is None:
        import atexit

        _loop = asyncio.new_event_loop()
        thread = threading.Thread(target=_loop.run_forever, name="podium-temporal", daemon=True)
        thread.start()
        atexit.register(_close, _loop, thread)
    return asyncio.run_coroutine_threadsafe(coro, _loop).result(timeout)


def used() -> bool:
    """Whether this process has talked to a cluster."""
    return _loop is not None


def _close(loop: asyncio.AbstractEventLoop, thread: threading.Thread) -> None:
    """Let go of the clients and stop the loop before the interpreter ends: the SDK's core must not be torn down
    under a running thread."""
    _clients.clear()
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


async def connect(values: dict[str, Any]) -> Client:
    """A client of the cluster ``values`` names (``[engine]``, or a job's record of it), kept for reuse."""
    try:
        from temporalio.client import Client
        from temporalio.service import TLSConfig
    except ImportError:
        raise UsageError(MISSING) from None
    key = json.dumps([values.get(k) for k in CONNECTION])
    if key in _clients:
        return _clients[key]

    def pem(name: str) -> bytes | None:
        path = values.get(name)
        if not path:
            return None
        try:
            return Path(path).expanduser().read_bytes()
        except OSError as e:
            raise UsageError(f"cannot read [engine] {name} {path}: {e.strerror or e}") from None

    certs = {"server_root_ca_cert": pem("tls_ca"), "client_cert": pem("tls_cert"), "client_private_key": pem("tls_key")}
    tls: TLSConfig | bool = TLSConfig(**certs) if values.get("tls") or any(certs.values()) else False
    api_key = os.environ.get(values["api_key_env"]) if values.get("api_key_env") else None
    if values.get("api_key_env") and not api_key:
        raise UsageError(f"[engine] api_key_env names ${values['api_key_env']}, which is not set")
    try:
        client = await Client.connect(values["address"], namespace=values["namespace"], tls=tls, api_key=api_key)
    except RuntimeError as e:
        raise UsageError(f"cannot reach the Temporal cluster at {values['address']}: "
                         f"{str(e).splitlines()[0]}") from None
    _clients[key] = client
    return client


def checkout_id(store: Store) -> str:
    """This checkout's name among everyone's on the cluster and origin (job ids are per checkout)."""
    path = store.root / "checkout-id"
    with contextlib.suppress(OSError):
        return path.read_text().strip()
    name = re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname().split(".")[0])[:24] or "checkout"
    path.write_text(f"{name}-{secrets.token_hex(4)}\n")
    return path.read_text().strip()


class TemporalEngine:
    name = "temporal"

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    # -- launch -------------------------------------------------------------------------------------------------------
    def launch(self, ctx: Context, job: Job, spec: dict[str, Any]) -> None:
        from podium.engines.workflow import WORKFLOW

        checkout = checkout_id(ctx.store)
        workflow_id = f"podium-{checkout}-{job.id}"
        spec = dict(spec, checkout=checkout, job_id=job.id, heartbeat_timeout=HEARTBEAT_TIMEOUT, attempts=ATTEMPTS)

        async def start() -> None:
            client = await connect(self.values)
            await client.start_workflow(WORKFLOW, spec, id=workflow_id, task_queue=self.values["task_queue"])

        run(start())
        record = {k: self.values[k] for k in CONNECTION if self.values.get(k) is not None}
        ctx.store.update_job(job.id, engine=dict(record, workflow_id=workflow_id, checkout=checkout, seen=0))

    def seed(self, ctx: Context, job: Job, workspace: str, earlier: Job | None) -> dict[str, str]:
        """Push what a job in an existing workspace starts from: the worktree as it is here, and the transcript of
        the session it resumes (this machine's copy, else the one the earlier job's worker pushed). Where it
        starts (its HEAD and tree)."""
        from podium.engines.remote import podium_files, transcript_files
        from podium.git import git

        checkout = checkout_id(ctx.store)
        ref, meta = snapshots.job_ref(checkout, job.id), snapshots.meta_ref(checkout, job.id)
        commit = snapshots.commit_worktree(workspace, f"podium job {job.id}: the worktree it starts from")
        files: dict[str, bytes] = {}
        if job.session_id:
            files = transcript_files(job.agent, job.session_id)
            if not files and earlier is not None and earlier.engine:
                theirs = snapshots.meta_ref(earlier.engine.get("checkout", checkout), earlier.id)
                found = snapshots.fetch(workspace, theirs)
                if theirs in found:
                    files = {k: v for k, v in snapshots.files_of(workspace, found[theirs]).items()
                             if k.startswith("transcript/")}
        files.update(podium_files(workspace))
        meta_commit = snapshots.commit_files(workspace, files, f"podium job {job.id}: the session it resumes")
        snapshots.push(workspace, {ref: (commit, None), meta: (meta_commit, None)})
        return {"head": git("rev-parse", f"{commit}^1", cwd=workspace),
                "tree": git("rev-parse", f"{commit}^{{tree}}", cwd=workspace)}

    def launch_in(self, ctx: Context, record: WorkspaceRecord, notes: list[Note], *, agent_prompt: str,
                  options: dict[str, object], earlier: Job | None, **values: Any) -> Launched:
        """A job in an existing workspace (a resume, a tester's turn) run by a worker, from this worktree's state
        as it is now and the session's transcript, pushed for it first. One agent per worktree: refused while
        another job is active there (a worker cannot queue behind a job of this machine)."""
        from podium.jobs import Launched
        from podium.text import note_events
        from podium.workspace import repo_lock

        with repo_lock(ctx.repo):
            busy = ctx.store.active_job_in(record.path)
            if busy is not None:
                raise UsageError(f"job {busy.id} is still {busy.state} in {record.path}; wait for it or cancel it")
            job = ctx.store.create_job(workspace=record.path, state="starting", **values)
        try:
            if notes:
                ctx.store.add_events(job.id, note_events(notes))
            start = self.seed(ctx, job, record.path, earlier)
            ctx.store.update_job(job.id, start_head=start["head"], start_tree=start["tree"])
            self.launch(ctx, job, {
                "origin": ctx.repo.origin_url(), "branch": record.branch, "base_ref": record.base_ref,
                "base_sha": record.base_sha, "port_base": ctx.store.port_base(record.path), "agent": job.agent,
                "options": options, "role": job.role, "prompt": agent_prompt, "stall_after": job.stall_after,
                "session_id": job.session_id, "workspace": record.path, "start": start,
                "settings": ctx.settings_text()})
        except BaseException:
            with contextlib.suppress(Exception):
                ctx.store.delete_job(job.id)
            raise
        return Launched(ctx.store.job(job.id), notes)

    # -- observe ------------------------------------------------------------------------------------------------------
    def observe(self, store: Store, jobs: list[Job]) -> list[Job]:
        """Mirror the jobs' workflow histories into the store; the jobs that ended. A cluster that cannot be
        reached leaves them as they were (``status`` still answers from the store)."""
        return self._observe(store, jobs, lose=False)

    def reconcile(self, store: Store, jobs: list[Job]) -> list[Job]:
        """The jobs brought in line with the cluster: mirrored, and ``lost`` when the cluster does not have their
        workflow (deleted, past its retention, another cluster's). A job whose worker died needs nothing here:
        the cluster retries it on another worker once its heartbeats stop."""
        return self._observe(store, jobs, lose=True)

    def _observe(self, store: Store, jobs: list[Job], lose: bool) -> list[Job]:
        now = time.monotonic()
        jobs = [j for j in jobs if now - _observed.get(j.id, 0.0) >= OBSERVE_EVERY]  # `wait` looks 5 times a second
        if not jobs:
            return []
        with _sync_lock(store) as mine:
            if not mine:
                return []  # another podium mirrors them right now
            _observed.update(dict.fromkeys((j.id for j in jobs), now))
            try:
                histories = run(self._histories({j.engine["workflow_id"]: int(j.engine.get("seen", 0))
                                                 for j in jobs if j.engine}))
            except (PodiumError, OSError, RuntimeError, TimeoutError):
                return []
            ended = []
            for job in jobs:
                events = histories.get(job.engine["workflow_id"]) if job.engine else None
                if events is None or events is UNCHANGED:
                    continue
                if events is GONE:
                    if lose and self._lost(store, store.job(job.id)):
                        ended.append(store.job(job.id))
                elif self._mirror(store, store.job(job.id), events):
                    ended.append(store.job(job.id))
            return ended

    async def _histories(self, seen: dict[str, int]) -> dict[str, Any]:
        """Each workflow's history events (workflow id → how many of them this checkout has ``seen``);
        ``UNCHANGED`` for one that has no more than those, ``GONE`` for one the cluster does not have; none for
        one it did not answer about. A history is read whole (the cluster serves none from an event on), so
        its length is asked first: a few hundred bytes, where a long job's whole history is megabytes (3 000
        events: 70 ms to read, against 1.5 ms to ask)."""
        from temporalio.service import RPCError, RPCStatusCode

        client = await connect(self.values)

        async def one(workflow_id: str) -> Any:
            handle = client.get_workflow_handle(workflow_id)
            try:
                if (await handle.describe()).history_length <= seen[workflow_id]:
                    return UNCHANGED
                return [e async for e in handle.fetch_history_events()]
            except RPCError as e:
                if e.status == RPCStatusCode.NOT_FOUND:
                    return GONE
                raise

        found = await asyncio.gather(*(one(w) for w in seen), return_exceptions=True)
        return {w: events for w, events in zip(seen, found, strict=False) if not isinstance(events, BaseException)}

    def _lost(self, store: Store, job: Job) -> bool:
        """A job whose workflow is not on the cluster: ``lost``, saying so (True when it was active)."""
        assert job.engine is not None
        error = (f"its workflow {job.engine['workflow_id']} is not on the Temporal cluster at "
                 f"{job.engine.get('address')} (namespace {job.engine.get('namespace')}): deleted, past its "
                 f"retention, or on another cluster")
        if not store.update_job_if(job.id, ACTIVE_STATES, state="lost", ended_at=time.time(), error=error):
            return False
        store.add_events(job.id, [("lost", {"message": error})])
        return True

    def _mirror(self, store: Store, job: Job, history: list[Any]) -> bool:
        """Apply the history's events this checkout has not seen; True when the job ended."""
        from temporalio.api.enums.v1 import EventType

        assert job.engine is not None
        seen = int(job.engine.get("seen", 0))
        rows: list[tuple[str, dict[str, Any]]] = []
        values: dict[str, Any] = {}
        result: dict[str, Any] | None = None
        closed: str | None = None
        for event in history[seen:]:
            kind = event.event_type
            if kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
                attrs = event.workflow_execution_signaled_event_attributes
                batch = json.loads(attrs.input.payloads[0].data) if attrs.input.payloads else {}
                rows += [(k, d) for k, d, *_ in batch.get("events", [])]
                live = batch.get("job", {})
                values.update({k: v for k, v in live.items() if k != "state" and v is not None})
                if live.get("state") in LIVE:
                    values["state"] = live["state"]
                result = batch.get("result") or result
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
                payloads = event.workflow_execution_completed_event_attributes.result.payloads
                result = (json.loads(payloads[0].data) if payloads else None) or result
                closed = "completed"
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
                closed = _deepest(event.workflow_execution_failed_event_attributes.failure)
            elif kind == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED:
                closed = "cancelled"
            elif kind in (EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
                          EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT):
                closed = "the job's workflow was terminated or timed out on the cluster"
        if "state" in values and job.state not in LIVE:
            del values["state"]  # ended here already (cancelled): the cluster's late news does not revive it
        store.add_events(job.id, rows, **values, engine=dict(job.engine, seen=len(history)))
        if result is None and closed is None:
            return False
        self._finish(store, store.job(job.id), result, closed)
        return True

    def _finish(self, store: Store, job: Job, result: dict[str, Any] | None, closed: str | None) -> None:
        """The job's end: its work brought into its workspace here from origin, its row as the worker left it."""
        from podium.git import Repo, Snapshot, read_work
        from podium.workspace import repo_lock

        notes: list[tuple[str, dict[str, Any]]] = []
        if (result and result.get("commit") and job.workspace and job.start_head and job.start_tree
                and Path(job.workspace).is_dir()):
            try:
                with repo_lock(Repo.find(job.workspace)):  # git's ref locks: a delegation may be fetching too
                    found = snapshots.fetch(job.workspace, result["ref"],
                                            result["ref"].replace("/jobs/", "/meta/", 1))
                    snapshots.bring_in(job.workspace, result["commit"], Snapshot(head=str(job.start_head),
                                                                                  tree=str(job.start_tree)))
                for ref, commit in found.items():
                    if "/meta/" in ref:
                        files = snapshots.files_of(job.workspace, commit)
                        _logs_back(store, job, files)
                        notes += _screenshots_back(store, job, files)
                notes.append(("note", {"message": f"the job's work, from {result['ref']} ({result['commit'][:12]}) "
                                                  f"on origin, is in {job.workspace}"}))
            except PodiumError as e:
                notes.append(("error", {"message": f"the job's work could not be brought in: {e}"}))
        if result is None:
            state = "cancelled" if closed == "cancelled" or job.cancel_requested else "failed"
            values: dict[str, Any] = {"state": state, "ended_at": time.time(),
                                      "error": "cancelled (podium cancel)" if state == "cancelled" else closed}
        else:
            values = {k: result.get(k) for k in ("state", "exit_code", "error", "final_message", "session_id",
                                                 "usage", "started_at", "ended_at", "host")}
            work = result.get("work")
            if work is not None and job.workspace and job.base_sha and Path(job.workspace).is_dir():
                with contextlib.suppress(PodiumError):  # the same work, as this checkout's git sees it
                    work = dict(work, **read_work(job.workspace, job.base_sha).to_dict())
            values["work"] = work
        store.add_events(job.id, notes, **{k: v for k, v in values.items() if v is not None or k == "error"})

    # -- a running job's latest snapshot -------------------------------------------------------------------------
    def latest(self, store: Store, job: Job) -> dict[str, Any] | None:
        """A running job as its worker last pushed it to origin (every ``SNAPSHOT_EVERY`` seconds, and once its
        session is known): its logs written here, where ``logs --raw``, ``--follow`` and the dashboard read a
        job's logs, and its work so far against the job's base (``Work``'s files and commits). None when nothing
        is pushed yet, or origin cannot be reached. Asked of origin at most every ``LATEST_EVERY`` seconds."""
        if not job.active or not job.workspace or not job.base_sha or not Path(job.workspace).is_dir():
            return None
        asked = _latest.get(job.id)
        if asked is not None and time.monotonic() - asked[0] < LATEST_EVERY:
            return asked[1]
        from podium.git import Repo, git, numstat
        from podium.workspace import repo_lock

        assert job.engine is not None
        checkout = job.engine.get("checkout") or checkout_id(store)
        ref, meta = snapshots.job_ref(checkout, job.id), snapshots.meta_ref(checkout, job.id)
        work: dict[str, Any] | None = None
        try:
            with repo_lock(Repo.find(job.workspace)):  # git's ref locks: a delegation may be fetching too
                found = snapshots.fetch(job.workspace, ref, meta)
            if meta in found:
                _logs_back(store, job, snapshots.files_of(job.workspace, found[meta]))
            if ref in found:
                commit = found[ref]  # its tree: the worktree there; its first parent: the worktree's HEAD
                log = git("log", "--reverse", "--format=%H%x09%s", f"{job.base_sha}..{commit}^1", cwd=job.workspace)
                trees = git("rev-parse", f"{commit}^{{tree}}", f"{commit}^1^{{tree}}", cwd=job.workspace).split()
                work = {"files": numstat(job.workspace, job.base_sha, commit),
                        "commits": [dict(zip(("sha", "subject"), line.split("\t", 1), strict=False))
                                    for line in log.splitlines() if line],
                        "uncommitted": trees[0] != trees[1], "snapshot": commit}
        except PodiumError:
            work = None
        _latest[job.id] = (time.monotonic(), work)
        return work

    # -- cancel -------------------------------------------------------------------------------------------------------
    def cancel(self, ctx: Context, job: Job) -> Job:
        """Ask the cluster to cancel the job's workflow (its worker ends the agent's process group, and pushes
        what the agent did), and wait for the end to be mirrored here."""
        ctx.store.update_job(job.id, cancel_requested=1)
        assert job.engine is not None

        async def request() -> None:
            client = await connect(self.values)
            await client.get_workflow_handle(job.engine["workflow_id"]).cancel()

        run(request())
        deadline = time.monotonic() + CANCEL_WAIT
        while time.monotonic() < deadline:
            _observed.pop(job.id, None)
            self.observe(ctx.store, [ctx.store.job(job.id)])
            if ctx.store.job(job.id).state not in ACTIVE_STATES:
                break
            time.sleep(0.3)
        return ctx.store.job(job.id)


def _logs_back(store: Store, job: Job, files: dict[str, bytes]) -> None:
    """The job's logs as a meta commit of its worker holds them, where this checkout keeps a job's logs. A log
    only grows: one that is not longer than the one here is older (a running job's snapshot read after its end
    was brought in), and leaves it as it is."""
    for name in ("log", "stderr"):
        path = store.log_path(job.id, name)
        if name in files and len(files[name]) > (path.stat().st_size if path.exists() else 0):
            part = path.with_name(f".{path.name}.part")
            part.write_bytes(files[name])
            part.replace(path)


def _screenshots_back(store: Store, job: Job, files: dict[str, bytes]) -> list[tuple[str, dict[str, Any]]]:
    """The screenshots a tester took on its worker, saved and recorded here (for the gate and the PR)."""
    if "screenshots.json" not in files or not job.workspace:
        return []
    from podium import browser
    from podium.context import Context
    from podium.text import plural

    ctx = Context.open(job.workspace)
    saved = [browser.keep(ctx.repo, store, ctx.config, files[f"screenshots/{shot['name']}"], label=shot["label"],
                          url=shot["url"], branch=job.branch or "", workspace=job.workspace, job_id=job.id,
                          suffix=Path(shot["name"]).suffix or ".png")
             for shot in json.loads(files["screenshots.json"]) if f"screenshots/{shot['name']}" in files]
    return [("browser", {"message": f"{plural(len(saved), 'screenshot')} from the worker: {', '.join(saved)}",
                         "screenshots": saved})] if saved else []


def _deepest(failure: Any) -> str:
    """A failure's own message, under the layers that wrap it (the workflow's, the activity's)."""
    message = failure.message
    while failure.HasField("cause"):
        failure = failure.cause
        message = failure.message or message
    return message or "the job's workflow failed"


@contextlib.contextmanager
def _sync_lock(store: Store) -> Any:
    with (store.root / "temporal.lock").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
