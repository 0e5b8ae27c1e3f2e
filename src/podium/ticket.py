"""``podium ticket start``: a ticket becomes a workspace, assigned to you, set active, and stored locally.

Order matters so that nothing is left half-done: the ticket is read and checked
first (it exists; nobody else has it unless ``reassign``), then the workspace is
made (the step that most often fails: a fetch), then the tracker is written to
(assign, set active), then the snapshot agents read is written into the worktree
(``.podium/ticket.md``, never committed) and the ticket is stored. Every step is
idempotent: running it again reuses the workspace and refreshes the snapshot.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from podium.errors import UsageError
from podium.providers import Ticket, get_tracker, ticket_markdown
from podium.store import TicketRecord, WorkspaceRecord
from podium.text import Note
from podium.workspace import ENV_DIR, allocate_ports, create_workspace, repo_lock, write_env

if TYPE_CHECKING:
    from podium.context import Context

SNAPSHOT = f"{ENV_DIR}/ticket.md"


@dataclass
class Started:
    ticket: Ticket
    workspace: WorkspaceRecord
    created: bool  # the workspace was made now (else reused)
    assigned: bool  # podium assigned the ticket to you now
    activated: bool  # podium set it active now
    snapshot: Path
    naming: list[str] = field(default_factory=list)
    stale: str | None = None

    def notes(self) -> list[Note]:
        done = [w for w, did in (("assigned to you", self.assigned), ("set active", self.activated)) if did]
        notes = [Note("ticket", f"ticket {self.ticket.id}: " + (", ".join(done) if done else "already yours and "
                      "active") + f"; snapshot in {SNAPSHOT}")]
        if self.stale:
            notes.append(Note("stale_base", f"stale base accepted: {self.stale}"))
        if self.naming:
            notes.append(Note("branch", f"branch {self.workspace.branch}: " + "; ".join(self.naming)))
        return notes


def start(
    ctx: Context,
    ticket_id: str,
    *,
    branch: str | None = None,
    base: str | None = None,
    reassign: bool = False,
    allow_stale_base: bool = False,
) -> Started:
    tracker = get_tracker(ctx.repo, ctx.config.tracker)
    ticket = tracker.get(ticket_id)
    if ticket.closed:
        raise UsageError(f"ticket {ticket.id} is {ticket.state or 'closed'}; reopen it before starting work on it")
    me = tracker.me()
    mine = any(a.lower() == me.lower() for a in ticket.assignees)
    if ticket.assignees and not mine and not reassign:
        raise UsageError(f"ticket {ticket.id} is assigned to {', '.join(ticket.assignees)}, not you ({me}); "
                         "pass --reassign to take it over")
    stored = ctx.store.ticket(ticket.key)
    created, naming, stale = False, [], None
    with repo_lock(ctx.repo, "tickets"):  # two starts of one ticket at once must not make two workspaces
        record = next((w for w in ctx.store.workspaces() if w.ticket == ticket.key), None)
        if record is not None and not (Path(record.path) / ".git").exists():
            record = None  # deleted by hand: start again
        if record is None:
            ws = create_workspace(ctx.repo, ticket.title, branch=branch, base=base or ctx.config.base,
                                  template=ctx.config.branch_template, allow_stale_base=allow_stale_base,
                                  ticket=ticket.id, kind=ticket.kind)
            with repo_lock(ctx.repo):
                write_env(ctx.repo, ws, allocate_ports(ctx.store, str(ws.path), ws.branch))
            record = WorkspaceRecord(path=str(ws.path), branch=ws.branch, base_ref=ws.base_ref,
                                     base_sha=ws.base_sha, created_at=time.time(), ticket=ticket.key)
            ctx.store.add_workspace(record)
            created, naming, stale = True, list(ws.naming), ws.stale
    if not created and branch and branch != record.branch:
        raise UsageError(f"ticket {ticket.id} already has a workspace on {record.branch}; "
                         "podium clean it first to start over on another branch")
    assigned = activated = False
    if not mine:
        ticket = tracker.assign_to_me(ticket)
        assigned = True
    if not tracker.is_active(ticket):
        ticket = tracker.set_active(ticket)
        activated = True
    snapshot = _keep(ctx, record, ticket, stored.started_at if stored else None)
    return Started(ticket=ticket, workspace=record, created=created, assigned=assigned, activated=activated,
                   snapshot=snapshot, naming=naming, stale=stale)


def refresh_snapshot(ctx: Context, record: WorkspaceRecord) -> Ticket | None:
    """Fetch the workspace's ticket again and rewrite its snapshot and stored copy."""
    stored = ctx.store.ticket(record.ticket) if record.ticket else None
    if stored is None:
        return None
    ticket = get_tracker(ctx.repo, ctx.config.tracker).get(stored.id)
    _keep(ctx, record, ticket, stored.started_at)
    return ticket


def _keep(ctx: Context, record: WorkspaceRecord, ticket: Ticket, started_at: float | None) -> Path:
    """Write the ticket's snapshot into the workspace and store it; the snapshot's path."""
    snapshot = Path(record.path) / SNAPSHOT
    snapshot.parent.mkdir(exist_ok=True)
    snapshot.write_text(ticket_markdown(ticket))
    now = time.time()
    ctx.store.save_ticket(TicketRecord(key=ticket.key, tracker=ticket.tracker, id=ticket.id, data=ticket.to_dict(),
                                       workspace=record.path, started_at=started_at or now, refreshed_at=now))
    return snapshot


def ticket_of(ctx: Context, workspace: str) -> Ticket | None:
    """The ticket a workspace serves, as last fetched."""
    record = ctx.store.workspace(workspace)
    stored = ctx.store.ticket(record.ticket) if record and record.ticket else None
    return Ticket.from_dict(stored.data) if stored else None
