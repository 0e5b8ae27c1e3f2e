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
from podium.store import Change, GateRecord, WorkspaceRecord
from podium.summary import history_runs

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
        runs = "".join(f"\n- {line}" + "".join(f"\n  - failing: `{name}`" for name in failing[:10])
                       for line, failing in history_runs(tests))
        parts.append(f"### Tests\n\n**{word}**\n{runs}")
    shots = facts.get("screenshots") or []
    if shots:
        parts.append("### Screenshots\n\n" + "\n".join(f"- {name.rsplit('/', 1)[-1]}" for name in shots))
    redact = ctx.store.redact
    return redact(subject.strip()), redact("\n\n".join(parts))


APPROVED = ("_Approved in podium by ", "_Passed podium's gate by policy")


def approval_line(gate: GateRecord) -> str:
    """How the change passed podium's gate, for the end of the PR's description: who approved it and through
    which channel (``ada``, ``ada (dashboard)``), or the policy that passed it."""
    if gate.decided_by == "policy":
        return f"{APPROVED[1]} ({(gate.reason or '').removeprefix('policy: ')}), gate {gate.id}._"
    return f"{APPROVED[0]}{gate.decided_by or 'a human'}, gate {gate.id}._"


def without_approval(body: str) -> str:
    """A PR description without the approval line podium ends it with (what the gate showed)."""
    head, _, last = body.rpartition("\n\n")
    return head if last.startswith(APPROVED) else body


def with_images(body: str, uploaded: dict[str, str]) -> str:
    """The description with each uploaded screenshot shown where its name was listed."""
    lines = []
    for line in body.splitlines():
        name = line[2:] if line.startswith("- ") else None
        lines.append(f"![{name}]({uploaded[name]})" if name in uploaded else line)
    return "\n".join(lines)


def open_or_update(ctx: Context, record: WorkspaceRecord, change: Change, title: str, body: str,
                   screenshots: list[str], approval: str | None = None) -> PullRequest:
    """The branch's one PR, created or brought in line with the change, linked to its ticket, with the
    screenshots attached where the forge takes attachments (call after the push), and ``approval`` (how it
    passed the gate) at the end of its description."""
    from podium.ticket import ticket_of

    forge = get_forge(ctx.repo, ctx.config.forge)
    ticket = ticket_of(ctx, record.path)
    pr = forge.find_pr(record.branch)
    if pr is None:
        pr = forge.create_pr(record.branch, record.base_ref.removeprefix("origin/"), title,
                             _approved(with_images(body, change.pr_attachments), approval), ticket)
    elif ticket is not None:
        forge.link_ticket(pr, ticket)
    for shot in screenshots:
        name = Path(shot).name
        if name not in change.pr_attachments and Path(shot).is_file():
            url = forge.attach(pr, Path(shot))
            if url:
                change.pr_attachments[name] = url
    final = _approved(with_images(body, change.pr_attachments), approval)
    if pr.title != title or pr.body != final:
        pr = forge.update_pr(pr, title, final)
    change.pr_number, change.pr_url, change.pr_description = pr.number, pr.url, final
    ctx.store.save_change(change)
    return pr


def _approved(body: str, approval: str | None) -> str:
    return f"{body}\n\n{approval}" if approval else body
