"""The pull request side of a change: its title and description, made from the commit message, and kept so.

The PR title is the commit's subject and the description its body, followed by the
ticket link (``Closes #12`` where the forge links tickets that way, else the ticket's
address), the tests' verdict and the screenshots. Every ship regenerates both from
the stored message, so the PR says what the one commit says, round after round.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium.providers import Forge, PullRequest, get_forge
from podium.store import Change, WorkspaceRecord

if TYPE_CHECKING:
    from podium.context import Context


def pr_text(ctx: Context, forge: Forge, record: WorkspaceRecord, message: str,
            facts: dict[str, Any]) -> tuple[str, str]:
    """(title, description) for the workspace's PR, credentials masked: it is sent to the forge."""
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
        failing = "".join(f"\n- failing: `{name}`" for name in (tests.get("failed_tests") or [])[:10])
        parts.append(f"### Tests\n\n{word}: `{tests.get('command')}`" + (f" ({counts})" if counts else "") + failing)
    shots = facts.get("screenshots") or []
    if shots:
        parts.append("### Screenshots\n\n" + "\n".join(f"- {name.rsplit('/', 1)[-1]}" for name in shots))
    redact = ctx.store.redact
    return redact(subject.strip()), redact("\n\n".join(parts))


def with_images(body: str, uploaded: dict[str, str]) -> str:
    """The description with each uploaded screenshot shown where its name was listed."""
    lines = []
    for line in body.splitlines():
        name = line[2:] if line.startswith("- ") else None
        lines.append(f"![{name}]({uploaded[name]})" if name in uploaded else line)
    return "\n".join(lines)


def open_or_update(ctx: Context, record: WorkspaceRecord, change: Change, title: str, body: str,
                   screenshots: list[str]) -> PullRequest:
    """The branch's one PR, created or brought in line with the change, linked to its ticket, with the
    screenshots attached where the forge takes attachments (call after the push)."""
    from podium.ticket import ticket_of

    forge = get_forge(ctx.repo, ctx.config.forge)
    ticket = ticket_of(ctx, record.path)
    pr = forge.find_pr(record.branch)
    if pr is None:
        pr = forge.create_pr(record.branch, record.base_ref.removeprefix("origin/"), title,
                             with_images(body, change.pr_attachments), ticket)
    elif ticket is not None:
        forge.link_ticket(pr, ticket)
    for shot in screenshots:
        name = Path(shot).name
        if name not in change.pr_attachments and Path(shot).is_file():
            url = forge.attach(pr, Path(shot))
            if url:
                change.pr_attachments[name] = url
    final = with_images(body, change.pr_attachments)
    if pr.title != title or pr.body != final:
        pr = forge.update_pr(pr, title, final)
    change.pr_number, change.pr_url, change.pr_description = pr.number, pr.url, final
    ctx.store.save_change(change)
    return pr
