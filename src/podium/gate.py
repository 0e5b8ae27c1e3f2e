"""The gate: commit, push and PR creation wait for the human's approval — unless truly straightforward.

A request records exactly what would happen (the planned commit: its tree and
message; the push) and the facts the human decides on: the diff stat, the tests'
verdict, the screenshots. The configurable policy (``[gate] pass``) may let a
change through without asking, and the gate records why. Otherwise a human
answers: at once when they are at the terminal that asked, or later with
``podium approve N`` / ``podium reject N "why"`` (approval needs a terminal: an
agent running podium headless cannot approve its own work).

An approval carries out what was shown and nothing else: when the worktree
changed since the request, the approval is refused and the work must be asked
for again.
"""

from __future__ import annotations

import getpass
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium import browser
from podium.change import CommitPlan, apply_commit, check_pushable, find_workspace, plan_commit, push_workspace
from podium.errors import PodiumError, UsageError
from podium.git import snapshot
from podium.providers import get_forge
from podium.ship import open_or_update, pr_text, with_images
from podium.store import GateRecord, WorkspaceRecord
from podium.summary import summarize
from podium.workspace import repo_lock

if TYPE_CHECKING:
    from podium.jobs import Context

PENDING_EXIT = 4  # `podium commit`/`push` exit code while the request waits for a human
DEPENDENCY_FILE = re.compile(
    r"(^|/)(package(-lock)?\.json|yarn\.lock|pnpm-lock\.yaml|requirements[^/]*\.(txt|in)|pyproject\.toml|"
    r"poetry\.lock|uv\.lock|Pipfile(\.lock)?|setup\.(py|cfg)|go\.(mod|sum)|Cargo\.(toml|lock)|Gemfile(\.lock)?|"
    r"composer\.(json|lock)|[^/]+\.csproj|packages\.config|Directory\.Packages\.props|build\.gradle(\.kts)?|"
    r"pom\.xml)$"
)
MIGRATION_PATH = re.compile(r"(^|/)(migrations?|alembic|db/migrate|flyway)/", re.IGNORECASE)
DOCS_PATH = re.compile(r"\.(md|mdx|rst|adoc|txt)$|(^|/)docs?/", re.IGNORECASE)


class GatePending(PodiumError):
    """The request waits for a human: not an error, but nothing was done yet."""

    exit_code = PENDING_EXIT

    def __init__(self, message: str, gate: GateRecord | None = None):
        super().__init__(message)
        self.gate = gate


@dataclass
class Outcome:
    gate: GateRecord
    result: dict[str, Any] | None  # what was carried out (commit sha, pushed sha), when it was


def screenshots_for(ctx: Context, branch: str) -> list[str]:
    """Screenshots taken for this branch (``podium screenshot``'s, then others named after it)."""
    return browser.for_branch(ctx.repo, ctx.store, ctx.config, branch)


def facts_for(ctx: Context, record: WorkspaceRecord, plan: CommitPlan | None) -> dict[str, Any]:
    """What the human decides on: the change, the tests' verdict, the screenshots."""
    facts: dict[str, Any] = {"branch": record.branch, "base": record.base_ref, "workspace": record.path}
    if plan is not None:
        facts["plan"] = plan.to_dict()
        facts["lines"] = sum(int(f["added"]) + int(f["deleted"]) for f in plan.stats)
    else:
        change = ctx.store.change(record.path)
        facts["commit"] = change.commit_sha if change else None
        facts["message"] = change.message if change else None
    verdict = None
    for job in reversed(ctx.store.jobs_in(record.path)):
        tests = summarize(ctx.store, job).tests
        if tests is not None:
            verdict = {**asdict(tests), "job": job.id}
            break
    facts["tests"] = verdict
    facts["screenshots"] = screenshots_for(ctx, record.branch)
    return facts


def policy_pass(ctx: Context, facts: dict[str, Any]) -> str | None:
    """Why this change may pass without asking (``[gate] pass``), or None: ask. The default is to ask."""
    allowed = set(ctx.config.gate_pass)
    if "always" in allowed:
        return "policy: every change passes ([gate] pass = [\"always\"])"
    plan = facts.get("plan")
    if plan is None:  # a push of a commit that itself passed the gate: same rules, on the recorded change
        return None
    files = [f["path"] for f in plan["stats"]]
    if "docs-only" in allowed and files and all(DOCS_PATH.search(p) for p in files):
        return f"policy: docs-only ({len(files)} file{'s' if len(files) != 1 else ''}, all documentation)"
    if "small" in allowed:
        lines, limit = facts.get("lines", 0), ctx.config.gate_small_lines
        risky = [p for p in files if DEPENDENCY_FILE.search(p) or MIGRATION_PATH.search(p)]
        tests = facts.get("tests") or {}
        if lines <= limit and not risky and tests.get("passed") is True:
            return f"policy: small ({lines} lines ≤ {limit}, no dependency or migration files, tests passed)"
    return None


def describe(gate: GateRecord) -> list[str]:
    """The gate as the human sees it before deciding."""
    f = gate.facts
    lines = [f"gate {gate.id}: {' + '.join(gate.actions)} on {gate.branch} (from {f.get('base')}) — {gate.state}"]
    plan = f.get("plan")
    if plan:
        added = sum(int(s["added"]) for s in plan["stats"])
        deleted = sum(int(s["deleted"]) for s in plan["stats"])
        lines.append(f"  {len(plan['stats'])} files, +{added} -{deleted}:")
        lines += [f"    {s['path']}  +{s['added']} -{s['deleted']}" for s in plan["stats"][:20]]
        lines += [f"  left out {x['path']}: {x['why']}" for x in plan["left_out"]]
        lines.append("  message:")
        lines += [f"    {ln}" for ln in plan["message"].splitlines()]
    elif f.get("commit"):
        lines.append(f"  commit {str(f['commit'])[:8]}: {str(f.get('message') or '').splitlines()[0]}")
    pr = f.get("pr")
    if pr:
        lines.append(f"  pull request ({pr['forge']}): {pr['title']}")
        lines += [f"    {ln}" for ln in pr["body"].splitlines()]
    tests = f.get("tests")
    if tests:
        word = {True: "passed", False: "FAILED", None: "unknown"}[tests.get("passed")]
        counts = ", ".join(f"{n} {k}" for k, n in (tests.get("counts") or {}).items())
        lines.append(f"  tests: {word} ({tests.get('command')}{': ' + counts if counts else ''}; job {tests['job']})")
        lines += [f"    failing: {name}" for name in (tests.get("failed_tests") or [])[:10]]
    else:
        lines.append("  tests: none run by the jobs")
    shots = f.get("screenshots") or []
    lines.append(f"  screenshots: {', '.join(shots) if shots else 'none'}")
    if gate.reason:
        lines.append(f"  {'why' if gate.state != 'rejected' else 'rejected'}: {gate.reason}")
    return lines


def request(
    ctx: Context,
    target: str | None,
    actions: list[str],
    *,
    ask: Callable[[GateRecord], tuple[bool, str | None]] | None = None,
    **commit_options: Any,
) -> Outcome:
    """Ask for ``actions`` (commit, push) on a workspace. Carried out at once when the policy passes it
    or ``ask`` (a human at this terminal) approves; else left pending (``GatePending``)."""
    with repo_lock(ctx.repo):
        record = find_workspace(ctx.store, ctx.repo, target)
        if "push" in actions:
            check_pushable(ctx.repo, record)
        forge = get_forge(ctx.repo, ctx.config.forge) if "pr" in actions else None  # credentials, before asking
        plan = plan_commit(ctx.store, record, **commit_options) if "commit" in actions else None
        change = ctx.store.change(record.path)
        if plan is None and (change is None or not change.commit_sha):
            raise UsageError(f"{record.branch} has no podium commit yet; run podium commit first")
        facts = facts_for(ctx, record, plan)
        if forge is not None:
            message = plan.message if plan else (change.message if change else "")
            title, body = pr_text(ctx, forge, record, message, facts)
            facts["pr"] = {"forge": forge.name, "title": title, "body": body}
        if (plan is None or plan.up_to_date) and _nothing_new(ctx, record, actions, forge, facts):
            gate = ctx.store.create_gate(workspace=record.path, branch=record.branch, actions=actions,
                                         state="passed", facts=facts, decided_by="podium", decided_at=time.time(),
                                         reason="nothing new: the commit, the push and the PR already hold this")
            result = {"commit": change.commit_sha if change else None, "committed": False}
            if change is not None and change.pr_url and "pr" in actions:
                result["pr"] = change.pr_url
            return Outcome(gate=gate, result=result)
        gate = ctx.store.create_gate(workspace=record.path, branch=record.branch, actions=actions,
                                     state="pending", facts=facts)
    why = policy_pass(ctx, facts)
    if why is not None:
        ctx.store.decide_gate(gate.id, "passed", reason=why, decided_by="policy")
        return Outcome(gate=ctx.store.gate(gate.id), result=carry_out(ctx, ctx.store.gate(gate.id)))
    if ask is not None:
        approved, reason = ask(gate)
        if approved:
            return approve(ctx, gate.id, by=who(), reason=reason)
        reject(ctx, gate.id, reason or "rejected at the terminal", by=who())
        return Outcome(gate=ctx.store.gate(gate.id), result=None)
    raise GatePending(f"gate {gate.id} waits for a human: podium approve {gate.id}, or podium reject {gate.id} "
                      "\"why\" (podium gates shows what it holds)", gate=ctx.store.gate(gate.id))


def _nothing_new(ctx: Context, record: WorkspaceRecord, actions: list[str], forge: Any,
                 facts: dict[str, Any]) -> bool:
    """True when every action asked for is already done, exactly (so the human is not asked for a no-op)."""
    change = ctx.store.change(record.path)
    if change is None:
        return False
    if "push" in actions and (change.pushed_sha != change.commit_sha
                              or ctx.repo.ref_sha(f"refs/remotes/origin/{record.branch}") != change.commit_sha):
        return False
    if "pr" in actions:
        pr = forge.find_pr(record.branch)
        shots = {Path(s).name for s in facts.get("screenshots") or []}
        if shots - set(change.pr_attachments) and forge.attaches_files:
            return False  # a screenshot still to upload
        wanted = (facts["pr"]["title"], with_images(facts["pr"]["body"], change.pr_attachments))
        if pr is None or (pr.title, pr.body) != wanted:
            return False
    return True


def carry_out(ctx: Context, gate: GateRecord) -> dict[str, Any]:
    """Do what an approved (or passed) gate holds, exactly as planned."""
    result: dict[str, Any] = {}
    with repo_lock(ctx.repo):
        record = ctx.store.workspace(gate.workspace)
        if record is None or record.removed_at is not None:
            raise UsageError(f"gate {gate.id}'s workspace was removed")
        try:
            _still_as_shown(ctx, gate)
            if "commit" in gate.actions:
                plan = CommitPlan.from_dict(gate.facts["plan"])
                change = apply_commit(ctx.store, plan)
                result.update(commit=change.commit_sha, committed=not plan.up_to_date)
            if "push" in gate.actions:
                change = push_workspace(ctx.store, ctx.repo, record)
                result.update(pushed=change.pushed_sha)
            if "pr" in gate.actions:
                change = ctx.store.change(record.path)
                assert change is not None
                pr = open_or_update(ctx, record, change, gate.facts["pr"]["title"], gate.facts["pr"]["body"],
                                    gate.facts.get("screenshots") or [])
                result.update(pr=pr.url, pr_number=pr.number)
        except PodiumError as e:
            result["error"] = str(e)
            ctx.store.set_gate_result(gate.id, result)
            raise
    ctx.store.set_gate_result(gate.id, result)
    if "pr" in gate.actions and record.ticket:
        try:  # the ticket's local copy follows the ship; a tracker hiccup here does not undo the PR
            from podium.ticket import refresh_snapshot

            refresh_snapshot(ctx, record)
        except PodiumError as e:
            result["warning"] = f"the ticket's snapshot was not refreshed: {e}"
            ctx.store.set_gate_result(gate.id, result)
    return result


def _pending(ctx: Context, gate_id: int | str) -> GateRecord:
    try:
        gate = ctx.store.gate(int(gate_id))
    except (KeyError, ValueError):
        raise UsageError(f"no gate {gate_id}") from None
    if gate.state != "pending":
        raise UsageError(f"gate {gate.id} is already {gate.state}")
    return gate


def _still_as_shown(ctx: Context, gate: GateRecord) -> None:
    """Refuse to carry out a gate whose work changed after the human saw it."""
    plan = gate.facts.get("plan")
    if plan and (not Path(plan["workspace"]).is_dir() or snapshot(plan["workspace"]).tree != plan["snapshot_tree"]):
        raise UsageError(f"the work changed since gate {gate.id} was asked for; what you would approve is not "
                         "what was shown — ask again (podium commit) and reject this one")
    if not plan and gate.facts.get("commit"):
        change = ctx.store.change(gate.workspace)
        if change is None or change.commit_sha != gate.facts["commit"]:
            raise UsageError(f"the commit changed since gate {gate.id} was asked for; ask again (podium push)")


def approve(ctx: Context, gate_id: int | str, *, by: str, reason: str | None = None) -> Outcome:
    gate = _pending(ctx, gate_id)
    _still_as_shown(ctx, gate)
    if not ctx.store.decide_gate(gate.id, "approved", reason=reason, decided_by=by):
        raise UsageError(f"gate {gate.id} was decided meanwhile")
    return Outcome(gate=ctx.store.gate(gate.id), result=carry_out(ctx, ctx.store.gate(gate.id)))


def reject(ctx: Context, gate_id: int | str, why: str, *, by: str) -> GateRecord:
    gate = _pending(ctx, gate_id)
    if not why.strip():
        raise UsageError("say why: the worker (or the orchestrator) reads it")
    if not ctx.store.decide_gate(gate.id, "rejected", reason=why.strip(), decided_by=by):
        raise UsageError(f"gate {gate.id} was decided meanwhile")
    return ctx.store.gate(gate.id)


def who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "human"
