"""Where jobs run: the engine seam.

An engine does four things for a job: **launch** it, **observe** it (keep its row and events in this checkout's
store current, so that ``status``, ``logs`` and ``wait`` read the store alone), **cancel** it, and **reconcile**
its active jobs with where they run (``podium.jobs.reconcile``, before every read of the store: the jobs that ended
or were lost there marked so here). Two engines:

- ``local`` (the default, ``None`` here): a detached runner per job on this machine (``podium.jobs``,
  ``podium.runner``); its runner writes the store itself, and ``podium.jobs.reconcile`` finds the runners that
  died. Nothing to start.
- ``temporal`` (``[engine] kind = "temporal"``, ``pip install 'podium[temporal]'``): ``podium worker`` processes
  on any machines run jobs as heartbeating activities of a Temporal cluster (``podium.engines.temporal``); this
  checkout mirrors each job's progress from the cluster, and brings its work in from origin when it ends.

A job remembers its engine (``Job.engine``), so it is observed where it runs whatever ``podium.toml`` says later.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Protocol

from podium.errors import UsageError

if TYPE_CHECKING:
    from podium.config import Config
    from podium.context import Context
    from podium.store import Job, Store, WorkspaceRecord
    from podium.text import Note

DEFAULTS: dict[str, Any] = {"kind": "local", "address": "localhost:7233", "namespace": "default",
                            "task_queue": "podium"}
ADDRESS_VARIABLE = "PODIUM_TEMPORAL_ADDRESS"


class Engine(Protocol):
    name: str

    def launch(self, ctx: Context, job: Job, spec: dict[str, Any]) -> None: ...

    def seed(self, ctx: Context, job: Job, workspace: str, earlier: Job | None) -> dict[str, str]: ...

    def launch_in(self, ctx: Context, record: WorkspaceRecord, notes: list[Note], *, agent_prompt: str,
                  options: dict[str, object], earlier: Job | None, **values: Any) -> Any: ...  # jobs.Launched

    def observe(self, store: Store, jobs: list[Job]) -> list[Job]: ...

    def cancel(self, ctx: Context, job: Job) -> Job: ...

    def reconcile(self, store: Store, jobs: list[Job]) -> list[Job]: ...  # its active jobs; those that changed

    def latest(self, store: Store, job: Job) -> dict[str, Any] | None: ...  # a running job's logs and work so far


def settings(config: Config) -> dict[str, Any]:
    """``[engine]`` with its defaults, ``$PODIUM_TEMPORAL_ADDRESS`` over the address."""
    values = {**DEFAULTS, **config.engine}
    if os.environ.get(ADDRESS_VARIABLE):
        values["address"] = os.environ[ADDRESS_VARIABLE]
    return values


def configured(config: Config) -> Engine | None:
    """The engine new jobs go to when it is not this machine's runner (None: local)."""
    values = settings(config)
    return None if values["kind"] == "local" else _engine(values)


def of(job: Job) -> Engine | None:
    """The engine a job runs on (None: this machine's runner)."""
    return _engine(job.engine) if job.engine else None


def latest(store: Store, job: Job) -> dict[str, Any] | None:
    """A running job on an engine elsewhere as its worker last pushed it (its logs written here, its work so
    far: ``Engine.latest``); None for any other job."""
    engine = of(job) if job.active else None
    return engine.latest(store, job) if engine is not None else None


def reconcile(store: Store, jobs: list[Job]) -> list[Job]:
    """Reconcile the jobs that run on an engine other than this machine's runner, one engine (cluster) at a time;
    the jobs that changed."""
    groups: dict[str, list[Job]] = {}
    for job in jobs:
        if job.engine:
            groups.setdefault(where(job), []).append(job)
    return [changed for group in groups.values() if (engine := of(group[0])) is not None
            for changed in engine.reconcile(store, group)]


def where(job: Job) -> str:
    """The engine (cluster) a job runs on, as a key: jobs of one cluster are observed together."""
    import json

    return json.dumps({k: v for k, v in sorted((job.engine or {}).items()) if k not in ("workflow_id", "seen")})


def _engine(values: dict[str, Any]) -> Engine:
    """An engine plugin (``podium.engines`` entry points: ``temporal``, or a package's own), for these settings."""
    from podium.plugins import load

    cls = load("podium.engines", "engine", str(values.get("kind")), UsageError, UsageError)
    return cls(values)  # type: ignore[no-any-return]
