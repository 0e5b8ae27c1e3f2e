"""Operations on workspaces and works: what podium made here, cleaning up safely, ``podium work`` runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from podium.service.catalog import operation
from podium.service.orchestration import orchestration
from podium.service.results import Document, with_notes
from podium.text import Note

if TYPE_CHECKING:
    from podium.context import Context
    from podium.rebase import Synced
    from podium.store import WorkRecord
    from podium.workspace import WorkspaceState

DEFAULT_ROUNDS = 3  # podium.work.DEFAULT_ROUNDS: a default here is read by --help, before podium.work loads


# The results of this module's operations (``podium.service.results``: those of jobs, and what they share).
@dataclass
class Workspaces:
    """``workspaces``: every workspace podium made here, as git has it now."""

    states: list[WorkspaceState]

    def to_dict(self) -> list[dict[str, Any]]:
        return [dataclasses.asdict(s) for s in self.states]


@dataclass
class SyncResult:
    """``sync``: what it did (``Synced``), and the notes of the worker it gave a conflict to."""

    synced: Synced

    @property
    def notes(self) -> list[Note]:
        return list(self.synced.worker.notes) if self.synced.worker else []

    def to_dict(self) -> dict[str, Any]:
        return with_notes(self.synced.to_dict(), self.notes)


@dataclass
class WorkInfo:
    """``work_start``, ``work_resume``: the work as it stands, and what resuming it did."""

    work: WorkRecord
    notes: list[Note] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return with_notes(self.work.to_dict(), self.notes)


@operation(mcp=False)
def workspaces(
    ctx: Context,
    fetch: Annotated[bool, "Fetch origin first, so behind and pushed are as of now."] = False,
) -> Workspaces:
    """Every workspace podium made here: branch, base, ahead/behind, dirty, pushed, last job.

    Behind and pushed are as of the last fetch (podium delegate fetches; so does fetch)."""
    from podium import jobs
    from podium.workspace import repo_lock

    jobs.reconcile(ctx.store)
    if fetch:
        with repo_lock(ctx.repo):
            ctx.repo.fetch()
    return Workspaces(jobs.workspaces(ctx))


@operation()
def sync(
    ctx: Context,
    target: Annotated[str | None, "A job id or a branch (default: the worktree podium runs in; in a work, its "
                                  "branch)."] = None,
) -> SyncResult:
    """Bring a workspace onto its base as origin has it now, the task's changes on top, uncommitted; where they
    conflict with what the base gained, the conflict goes to the branch's worker (its session resumed, told
    what moved and which files conflict). Refused while a job works in the worktree."""
    from podium import rebase

    work = ctx.work()
    return SyncResult(rebase.sync(ctx, target or (work.branch if work else None)))


def clean(ctx: Context, confirm: Callable[[WorkspaceState, str], bool] | None = None) -> Document:
    """Remove finished workspaces whose work is safe; ``confirm`` (a human at a terminal) may let one with
    unsaved work go, asked about that very workspace."""
    from podium import jobs

    result = jobs.clean(ctx, force=confirm)
    return Document({"removed": [dataclasses.asdict(s) for s in result.removed],
                     "kept": [{**dataclasses.asdict(s), "reason": why} for s, why in result.kept]})


@operation(mcp=False)
def work_start(
    ctx: Context,
    ticket_id: Annotated[str, "The ticket to take to the gate."],
    rounds: Annotated[int, "At most this many worker rounds."] = DEFAULT_ROUNDS,
    stall_after: Annotated[float | None, "Seconds of silence before a worker counts as "
                                         "stalled."] = None,
    agent: Annotated[str | None, "The orchestrator's agent CLI (default: [roles.orchestrator] agent "
                                 "in podium.toml, else claude)."] = None,
) -> WorkInfo:
    """The whole loop for a ticket, to the human's gate: an orchestrator agent (headless, with ORCHESTRATOR.md
    and podium's tools) takes it through ticket, workspace, workers, tester and ship, in the background."""
    from podium import work as work_mod

    work = work_mod.start(ctx, ticket_id, orchestration(ctx), rounds=rounds, stall_after=stall_after, agent=agent)
    return WorkInfo(work)


@operation(mcp=False)
def work_resume(
    ctx: Context,
    work_id: Annotated[int | None, "The work (default: the latest)."] = None,
) -> WorkInfo:
    """Pick a work up again after a crash or a reboot: the jobs the crash killed, then the orchestrator, each
    in its own session."""
    from podium import work as work_mod

    work, notes = work_mod.resume(ctx, orchestration(ctx), work_id)
    return WorkInfo(work, notes)


def works(ctx: Context) -> Document:
    """Every ``podium work`` run here, newest first: its ticket, branch, state, rounds of its limit, outcome."""
    return Document([w.to_dict() for w in ctx.store.works()])
