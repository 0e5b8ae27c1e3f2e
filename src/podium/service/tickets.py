"""Operations on tickets and branch names: start a ticket the team's way, read it, comment on it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

if TYPE_CHECKING:
    from podium.context import Context
    from podium.providers import Ticket
    from podium.ticket import Started

from podium.errors import UsageError
from podium.service.catalog import operation
from podium.service.results import with_notes
from podium.text import Note


# The results of this module's operations (``podium.service.results``: those of jobs, and what they share).
@dataclass
class TicketStarted:
    """``ticket_start``: the ticket as it is now, its workspace (made now or reused), what podium did to it."""

    ticket: Ticket
    workspace: str
    branch: str
    base: str
    created: bool  # the workspace was made now
    assigned: bool  # podium assigned the ticket to the user now
    activated: bool  # podium set it active now
    snapshot: str
    notes: list[Note] = field(default_factory=list)

    @classmethod
    def of(cls, started: Started) -> TicketStarted:
        ws = started.workspace
        return cls(ticket=started.ticket, workspace=ws.path, branch=ws.branch, base=ws.base_ref,
                   created=started.created, assigned=started.assigned, activated=started.activated,
                   snapshot=str(started.snapshot), notes=started.notes())

    def to_dict(self) -> dict[str, Any]:
        return with_notes({"ticket": self.ticket.to_dict(), "workspace": self.workspace, "branch": self.branch,
                           "base": self.base, "created": self.created, "assigned": self.assigned,
                           "activated": self.activated, "snapshot": self.snapshot}, self.notes)


@dataclass
class TicketShown:
    """``ticket_show``: the ticket as the tracker has it now."""

    ticket: Ticket

    def to_dict(self) -> dict[str, Any]:
        return self.ticket.to_dict()


@dataclass
class TicketCommented:
    """``ticket_comment``: the ticket commented on."""

    ticket: str

    def to_dict(self) -> dict[str, Any]:
        return {"ticket": self.ticket, "commented": True}


@dataclass
class BranchName:
    """``branch_name``: the name, and the branches it was learned from (in words)."""

    name: str
    evidence: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "evidence": self.evidence}


@operation()
def ticket_start(
    ctx: Context,
    ticket_id: Annotated[str, "The ticket's id in the tracker (PROJ-42, 1234, #123)."],
    branch: Annotated[str | None, "Branch for its workspace (default: named the way this "
                                  "repository names branches)."] = None,
    base: Annotated[str | None, "Base branch on origin (default as for delegate)."] = None,
    reassign: Annotated[bool, "Take the ticket over when someone else has it."] = False,
) -> TicketStarted:
    """Start a ticket: read it, assign it to the user, set it active, create its workspace (branch named the
    team's way) and write its snapshot (.podium/ticket.md) there. Idempotent: again refreshes the snapshot."""
    return start_ticket(ctx, ticket_id, branch=branch, base=base, reassign=reassign)


def start_ticket(ctx: Context, ticket_id: str, *, branch: str | None = None, base: str | None = None,
                 reassign: bool = False, allow_stale_base: bool = False) -> TicketStarted:
    """``ticket_start``, with the CLI's stale-base escape hatch."""
    from podium import jobs
    from podium.ticket import start

    jobs.reconcile(ctx.store)
    return TicketStarted.of(start(ctx, ticket_id, branch=branch, base=base, reassign=reassign,
                                  allow_stale_base=allow_stale_base))


@operation(mcp=False)
def ticket_show(ctx: Context, ticket_id: Annotated[str, "The ticket's id."]) -> TicketShown:
    """The ticket as the tracker has it now."""
    from podium.providers import get_tracker

    return TicketShown(get_tracker(ctx.repo, ctx.config.tracker).get(ticket_id))


@operation(mcp=False)
def ticket_comment(
    ctx: Context,
    ticket_id: Annotated[str, "The ticket's id."],
    body: Annotated[str, "The comment, in the tracker's markup."],
) -> TicketCommented:
    """Add a comment to the ticket, as you."""
    from podium.providers import get_tracker

    if not body.strip():
        raise UsageError("the comment is empty")
    tracker = get_tracker(ctx.repo, ctx.config.tracker)
    tracker.comment(tracker.get(ticket_id), body)
    return TicketCommented(ticket_id)


@operation()
def branch_name(
    ctx: Context,
    title: Annotated[str, "What the work is about (the ticket's title)."],
    ticket: Annotated[str | None, "Ticket id (PROJ-42, 1234, #123, AB#1234)."] = None,
    kind: Annotated[str | None, "Ticket type: bug, feature, story, task, …"] = None,
) -> BranchName:
    """The branch name a teammate would choose, learned from the repository's own branches."""
    from podium.branches import name_for

    if not title.strip() and not ticket:
        raise UsageError("say what the work is about: the title is empty")
    found = name_for(ctx.repo, title=title, ticket=ticket, kind=kind,
                     template=ctx.config.branch_template)
    return BranchName(name=found.name, evidence=found.evidence)
