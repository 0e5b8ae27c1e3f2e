"""Operations at the human's gate: commit, push and ship ask; gates lists; approve and reject decide.

A request that waits for the human is a normal outcome (``state: pending``), not an error: every front shows
the same gate document and the next step. Approving is the human's: ``approve`` is not ``unattended``, and each
decision records the channel it came through (``ctx.channel``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from podium.errors import GitError, UsageError
from podium.service.catalog import operation
from podium.service.results import Document

if TYPE_CHECKING:  # the gate's machinery (forges, commits, screenshots) loads when a gate is asked for
    from podium import gate as gate_mod
    from podium.context import Context
    from podium.providers import Check, PullRequest
    from podium.store import GateRecord

Ask = Callable[["GateRecord"], tuple[bool, "str | None"]]
TARGET = "A job id or a branch (default: the worktree podium runs in; in a work, its branch)."


# The results of this module's operations (``podium.service.results``: those of jobs, and what they share).
@dataclass
class Gates:
    """``gates``: each gate as the human sees it (its record, the lines shown, its base)."""

    gates: list[GateRecord]

    def to_dict(self) -> list[dict[str, Any]]:
        from podium.gate import gate_dict

        return [gate_dict(g) for g in self.gates]


@dataclass
class PullRequestChecks:
    """``pr``: the workspace's pull request, the CI checks on its head, and their one verdict."""

    pr: PullRequest
    checks: list[Check]
    verdict: str  # failed, pending, passed or none

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self.pr), "checks": [dataclasses.asdict(c) for c in self.checks],
                "verdict": self.verdict}


INCLUDE = ("Also commit these paths, which podium would leave out (changed before or outside the task's jobs); the "
           "human sees them at the gate.")
EXCLUDE = "Leave these paths out of the commit (and its later rounds)."


def request(ctx: Context, target: str | None, actions: list[str], *, ask: Ask | None = None,
            **options: Any) -> gate_mod.Outcome:
    """Ask for ``actions`` on the target's workspace; ``ask`` is a human at this terminal, when there is one."""
    from podium import gate as gate_mod
    from podium import jobs

    jobs.reconcile(ctx.store)
    work = ctx.work()
    return gate_mod.request(ctx, target or (work.branch if work else None), actions, ask=ask, **options)


@operation()
def commit(
    ctx: Context,
    target: Annotated[str | None, TARGET] = None,
    message: Annotated[str | None, "The commit message (stored; later rounds keep it, until regenerate)."] = None,
    push: Annotated[bool, "Push too, with a lease, to the task's own branch."] = False,
    regenerate: Annotated[bool, "Draft the message again, replacing one a human wrote (a drafted one "
                                "follows the change every round)."] = False,
    include: Annotated[list[str] | None, INCLUDE] = None,
    exclude: Annotated[list[str] | None, EXCLUDE] = None,
    ticket: Annotated[str | None, "The task's ticket id for the drafted message (default: the one in the "
                                  "branch)."] = None,
) -> gate_mod.Outcome:
    """Ask for the workspace's single commit on its base (and its push with a lease). Passes the human's gate:
    usually a pending gate and what the human is shown."""
    return request(ctx, target, ["commit", "push"] if push else ["commit"], message=message, regenerate=regenerate,
                   include=tuple(include or ()), exclude=tuple(exclude or ()), ticket=ticket)


@operation()
def ship(
    ctx: Context,
    target: Annotated[str | None, TARGET] = None,
    message: Annotated[str | None, "The commit message, and so the PR's title and "
                                   "description."] = None,
    regenerate: Annotated[bool, "Draft the message again, replacing one a human wrote (a drafted one "
                                "follows the change every round)."] = False,
    include: Annotated[list[str] | None, INCLUDE] = None,
    exclude: Annotated[list[str] | None, EXCLUDE] = None,
) -> gate_mod.Outcome:
    """Ask for commit + push (with lease) + the pull request opened or updated, ticket linked, tests and
    screenshots in its description. One gate for all three; usually pending until the human decides."""
    return request(ctx, target, ["commit", "push", "pr"], message=message, regenerate=regenerate,
                   include=tuple(include or ()), exclude=tuple(exclude or ()))


@operation(mcp=False)
def push(ctx: Context, target: Annotated[str | None, TARGET] = None) -> gate_mod.Outcome:
    """Ask to push the workspace's commit to its own branch on origin, --force-with-lease on what podium last
    pushed; never to a base branch. Passes the gate like commit."""
    return request(ctx, target, ["push"])


@operation()
def gates(
    ctx: Context,
    all: Annotated[bool, "Decided gates too, not only the open ones."] = False,
) -> Gates:
    """The gates waiting for the human (all: decided ones too), each as the human sees it."""
    from podium import gate as gate_mod

    return Gates(ctx.store.gates(None if all else gate_mod.OPEN))


HUMAN_CHANNELS = ("terminal", "dashboard", "elicitation")  # the fronts a human decides through


@operation(unattended=False)
def approve(
    ctx: Context,
    gate_id: Annotated[int, "The gate."],
    allow_secrets: Annotated[bool, "Approve though the change adds what looks like a credential (the human "
                                   "saw it and says it is none)."] = False,
) -> gate_mod.Outcome:
    """Approve a gate and carry out exactly what it holds. Only when the human said so."""
    from podium import gate as gate_mod

    human_only(ctx, gate_id)
    return gate_mod.approve(ctx, gate_id, by=decider(ctx), secrets_ok=allow_secrets)


def human_only(ctx: Context, gate_id: int | str) -> None:
    """Approving is the human's: only through a human's front (a terminal, the dashboard, the form an MCP client
    shows its human), and never from a process a podium job started — whatever terminal it has."""
    from podium import jobs

    where = (f"approve at your own terminal (podium approve {gate_id}), in podium dashboard, or in the form your "
             "MCP client shows you")
    if ctx.channel not in HUMAN_CHANNELS:
        raise UsageError(f"approving is the human's: {where}")
    why = jobs.inside_job(ctx.store)
    if why:
        raise UsageError(f"approving is the human's, and this process is not: {why}; {where}")


@operation()
def reject(
    ctx: Context,
    gate_id: Annotated[int, "The gate."],
    why: Annotated[str, "Why not: the workers and the orchestrator read it."],
) -> gate_mod.Outcome:
    """Reject a gate, saying why (the workers read it); nothing is committed or pushed."""
    from podium import gate as gate_mod

    return gate_mod.reject(ctx, gate_id, why, by=decider(ctx))


def gate_detail(ctx: Context, gate_id: int) -> Document:
    """A gate with everything the human decides on: what ``gates`` shows, the diff of the commit it would make
    (the planned tree against its base, exactly what approve writes), and ``digest``: a fingerprint of what
    is shown, for ``approve_shown``."""
    from podium import gate as gate_mod
    from podium import git

    gate = gate_mod.find(ctx, gate_id)
    plan = gate.facts.get("plan") or {}
    text, cut = "", False
    if plan.get("tree") and plan.get("base_sha"):
        try:
            text, cut = git.patch(ctx.repo.toplevel, plan["base_sha"], plan["tree"])
        except GitError as e:
            text = f"(the diff cannot be shown: {e})"
    return Document({**gate_mod.gate_dict(gate), "open": gate.state in gate_mod.OPEN, "patch": text, "cut": cut,
                     "digest": digest(gate)})


def digest(gate: GateRecord) -> str:
    """A fingerprint of what a gate holds: its actions, the planned commit (or the commit to push), the PR text."""
    import hashlib
    import json

    f = gate.facts
    held = {"actions": gate.actions, "plan": f.get("plan"), "commit": f.get("commit"), "pr": f.get("pr")}
    return hashlib.sha256(json.dumps(held, sort_keys=True, default=str).encode()).hexdigest()[:32]


def approve_shown(ctx: Context, gate_id: int, shown: str) -> gate_mod.Outcome:
    """``approve`` from a page that showed the gate: refused when the gate no longer holds what the page showed
    (``shown``: ``gate_detail``'s digest then)."""
    from podium import gate as gate_mod

    gate = gate_mod.find(ctx, gate_id)
    if shown != digest(gate):
        raise UsageError(f"gate {gate_id} changed since it was shown: look again, then decide")
    return approve(ctx, gate_id, allow_secrets=True)  # the page showed what looks like a credential, if any


def decider(ctx: Context) -> str:
    """Who decided, and through which channel when it is not the terminal: ``ada``, ``ada (dashboard)``."""
    from podium import gate as gate_mod

    me = gate_mod.who()
    return me if ctx.channel == "terminal" else f"{me} ({ctx.channel})"


@operation(mcp=False)
def pr(ctx: Context, target: Annotated[str | None, TARGET] = None) -> PullRequestChecks:
    """The workspace's pull request and the CI checks on it, with one verdict: failed, pending, passed or none."""
    from podium.change import find_workspace
    from podium.providers import checks_verdict, get_forge

    record = find_workspace(ctx.store, ctx.repo, target)
    forge = get_forge(ctx.repo, ctx.config.forge)
    found = forge.find_pr(record.branch)
    if found is None:
        raise UsageError(f"{record.branch} has no open pull request (podium ship opens one)")
    checks = forge.checks(found)
    return PullRequestChecks(pr=found, checks=checks, verdict=checks_verdict(checks))
