"""Operations on tickets and branch names: start a ticket the team's way, read it, comment on it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

if TYPE_CHECKING:
    from podium.context import Context

from podium.errors import UsageError
from podium.service.catalog import operation
from podium.service.results import BranchName, TicketCommented, TicketShown, TicketStarted


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
