"""The pull request side of a change: its title and description, made from the commit message, and kept so.

The PR title is the commit's subject and the description its body, followed by the
ticket link (``Closes #12`` where the forge links tickets that way, else the ticket's
address), the tests' verdict and the screenshots. Every ship regenerates both from
the stored message, so the PR says what the one commit says, round after round.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from podium.providers import Forge, PullRequest, get_forge
from podium.store import Change, WorkspaceRecord

if TYPE_CHECKING:
    from podium.jobs import Context


def pr_text(ctx: Context, forge: Forge, record: WorkspaceRecord, message: str,
            facts: dict[str, Any]) -> tuple[str, str]:
    """(title, description) for the workspace's PR."""
    from podium.ticket import ticket_of

    subject, _, body = message.partition("\n")
    parts = [body.strip()] if body.strip() else []
    ticket = ticket_of(ctx, record.path)
    if ticket is not None:
        reference = forge.ticket_reference(ticket)
        if reference is None:
            reference = f"Ticket: [{ticket.id}]({ticket.url})" if ticket.url else f"Ticket: {ticket.id}"
        parts.append(reference)
    tests = facts.get("tests")
    if tests:
        word = {True: "passed", False: "failed", None: "unknown"}[tests.get("passed")]
        counts = ", ".join(f"{n} {k}" for k, n in (tests.get("counts") or {}).items())
        parts.append(f"### Tests\n\n{word}: `{tests.get('command')}`" + (f" ({counts})" if counts else ""))
    shots = facts.get("screenshots") or []
    if shots:
        parts.append("### Screenshots\n\n" + "\n".join(f"- {name.rsplit('/', 1)[-1]}" for name in shots))
    return subject.strip(), "\n\n".join(parts)


def open_or_update(ctx: Context, record: WorkspaceRecord, change: Change, title: str, body: str) -> PullRequest:
    """The branch's one PR, created or brought in line with the change (call after the push)."""
    forge = get_forge(ctx.repo, ctx.config.forge)
    pr = forge.find_pr(record.branch)
    if pr is None:
        pr = forge.create_pr(record.branch, record.base_ref.removeprefix("origin/"), title, body)
    elif pr.title != title or pr.body != body:
        pr = forge.update_pr(pr, title, body)
    change.pr_number, change.pr_url, change.pr_description = pr.number, pr.url, body
    ctx.store.save_change(change)
    return pr
