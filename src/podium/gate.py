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
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium import browser
from podium.change import CommitPlan, apply_commit, check_pushable, find_workspace, plan_commit, push_workspace
from podium.errors import PodiumError, UsageError
from podium.git import identity_problem, snapshot
from podium.message import DOCS_PATH
from podium.processes import this_process
from podium.providers import get_forge
from podium.rebase import fresh_base
from podium.ship import approval_line, open_or_update, pr_text, with_images, without_approval
from podium.store import Change, GateRecord, WorkspaceRecord
from podium.summary import history_runs, test_history
from podium.text import Note, plural, verdict_word
from podium.workspace import repo_lock

if TYPE_CHECKING:
    from podium.context import Context

DEPENDENCY_FILE = re.compile(
    r"(^|/)(package(-lock)?\.json|yarn\.lock|pnpm-lock\.yaml|requirements[^/]*\.(txt|in)|pyproject\.toml|"
    r"poetry\.lock|uv\.lock|Pipfile(\.lock)?|setup\.(py|cfg)|go\.(mod|sum)|Cargo\.(toml|lock)|Gemfile(\.lock)?|"
    r"composer\.(json|lock)|[^/]+\.csproj|packages\.config|Directory\.Packages\.props|build\.gradle(\.kts)?|"
    r"pom\.xml)$"
)
MIGRATION_PATH = re.compile(r"(^|/)(migrations?|alembic|db/migrate|flyway)/", re.IGNORECASE)


OPEN = ("pending", "failed")  # the states a human can still decide; done, rejected and superseded are final
CARRYING_OUT = "carrying_out"  # approved, its action running in the process the gate records


class GateFailed(PodiumError):
    """An approved gate's action failed: the gate is ``failed``, its error recorded, and it can be approved
    again once the cause is fixed."""


@dataclass
class Outcome:
    """What a gated request or decision led to: the gate as it now stands, what was carried out, and the
    workspace's change. ``to_dict`` is the one shape every front returns (``--json``, MCP, the dashboard)."""

    gate: GateRecord
    result: dict[str, Any] | None  # what was carried out (commit sha, pushed sha, PR), when it was
    change: Change | None = None
    notes: list[Note] = field(default_factory=list)  # superseded: the older gates this request replaced

    def next_step(self) -> str | None:
        """What the human does next, for a gate that waits for them."""
        if self.gate.state not in OPEN:
            return None
        return (f"gate {self.gate.id} waits for a human: podium approve {self.gate.id}, or podium reject "
                f"{self.gate.id} \"why\" (podium gates shows what it holds)")

    def to_dict(self) -> dict[str, Any]:
        plan = self.gate.facts.get("plan") or {}
        result = self.result or {}
        return {**(self.change.to_dict() if self.change else {}), "gate": gate_dict(self.gate),
                "state": self.gate.state, "result": result, "committed": bool(result.get("committed")),
                "files": plan.get("stats", []), "left_out": plan.get("left_out", []), "next": self.next_step(),
                "notes": [n.to_dict() for n in self.notes]}


def gate_dict(gate: GateRecord) -> dict[str, Any]:
    """A gate as every front shows it: its record, and the lines the human reads before deciding."""
    return {**gate.to_dict(), "shown": describe(gate), "on_base": [ln.strip() for ln in base_lines(gate)]}


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
    facts["tests"] = test_history(ctx.store, ctx.store.jobs_in(record.path))
    facts["screenshots"] = screenshots_for(ctx, record.branch)
    facts["console"] = console_for(ctx, record)
    return facts


def console_for(ctx: Context, record: WorkspaceRecord) -> dict[str, Any] | None:
    """The page's console errors the tester saw in its live browser, on its last turn that used it."""
    for job in reversed(ctx.store.jobs_in(record.path)):
        seen = ctx.store.events(job.id, kinds=("browser",)) if job.role == "tester" else []
        if seen:
            return {"job": job.id, "errors": seen[-1].data.get("console_errors") or []}
    return None


def policy_pass(ctx: Context, facts: dict[str, Any]) -> str | None:
    """Why this change may pass without asking (``[gate] pass``), or None: ask. The default is to ask."""
    allowed = set(ctx.config.gate_pass)
    if (facts.get("plan") or {}).get("secrets"):
        return None  # a change that adds a credential is held for the human, whatever the policy
    if "always" in allowed:
        return "policy: every change passes ([gate] pass = [\"always\"])"
    plan = facts.get("plan")
    if plan is None:  # a push of a commit that itself passed the gate: same rules, on the recorded change
        return None
    files = [f["path"] for f in plan["stats"]]
    if "docs-only" in allowed and files and all(DOCS_PATH.search(p) for p in files):
        return f"policy: docs-only ({plural(len(files), 'file')}, all documentation)"
    if "small" in allowed:
        lines, limit = facts.get("lines", 0), ctx.config.gate_small_lines
        risky = [p for p in files if DEPENDENCY_FILE.search(p) or MIGRATION_PATH.search(p)]
        tests = facts.get("tests") or {}
        if lines <= limit and not risky and tests.get("passed") is True:
            return f"policy: small ({plural(lines, 'line')} ≤ {limit}, no dependency or migration files, tests passed)"
    return None


def secrets_of(gate: GateRecord) -> list[dict[str, Any]]:
    """What looks like a credential in the commit the gate would make (file, line, kind)."""
    return list((gate.facts.get("plan") or {}).get("secrets") or [])


def describe(gate: GateRecord) -> list[str]:
    """The gate as the human sees it before deciding."""
    f = gate.facts
    lines = [f"gate {gate.id}: {' + '.join(gate.actions)} on {gate.branch} (from {f.get('base')}) — {gate.state}"]
    lines += base_lines(gate)
    plan = f.get("plan")
    if plan:
        added = sum(int(s["added"]) for s in plan["stats"])
        deleted = sum(int(s["deleted"]) for s in plan["stats"])
        lines.append(f"  {plural(len(plan['stats']), 'file')}, +{added} -{deleted}:")
        lines += [f"    {s['path']}  +{s['added']} -{s['deleted']}" for s in plan["stats"][:20]]
        lines += [f"  left out {x['path']}: {x['why']}" for x in plan["left_out"]]
        lines += [f"  HELD: {s['path']}:{s['line']} adds what looks like a {s['kind']}" for s in secrets_of(gate)]
        lines.append("  message:")
        lines += [f"    {ln}" for ln in plan["message"].splitlines()]
        if plan.get("message_note"):
            lines.append(f"  note: {plan['message_note']}")
    elif f.get("commit"):
        lines.append(f"  commit {str(f['commit'])[:8]}: {str(f.get('message') or '').splitlines()[0]}")
    pr = f.get("pr")
    if pr:
        lines.append(f"  pull request ({pr['forge']}): {pr['title']}")
        lines += [f"    {ln}" for ln in pr["body"].splitlines()]
    tests = f.get("tests")
    if tests:
        lines.append(f"  tests: {verdict_word(tests.get('passed'))}")
        for line, failing in history_runs(tests):
            lines.append(f"    {line}")
            lines += [f"      failing: {name}" for name in failing[:10]]
    else:
        lines.append("  tests: none run by the jobs")
    shots = f.get("screenshots") or []
    lines.append(f"  screenshots: {', '.join(shots) if shots else 'none'}")
    console = f.get("console")
    if console:
        errors = "; ".join(console["errors"]) or "none"
        lines.append(f"  console errors (the tester's browser, job {console['job']}): {errors}")
    if f.get("identity") and gate.state in OPEN:
        lines.append(f"  warning: {f['identity']}")
    if gate.reason:
        lines.append(f"  {'why' if gate.state != 'rejected' else 'rejected'}: {gate.reason}")
    error = (gate.result or {}).get("error")
    if error and gate.state == "failed":
        lines.append(f"  failed: {error} — fix that, then podium approve {gate.id} again")
    return lines


def request(
    ctx: Context,
    target: str | None,
    actions: list[str],
    *,
    ask: Callable[[GateRecord], tuple[bool, str | None]] | None = None,
    **commit_options: Any,
) -> Outcome:
    """Ask for ``actions`` (commit, push, pr) on a workspace. Carried out at once when the policy passes it
    or ``ask`` (a human at this terminal) approves; else the outcome is a pending gate. A new request
    supersedes the workspace's older open gates: the human decides on the latest picture only."""
    with repo_lock(ctx.repo):
        record = find_workspace(ctx.store, ctx.repo, target)
        if "push" in actions:
            check_pushable(ctx.repo, record)
        forge = get_forge(ctx.repo, ctx.config.forge) if "pr" in actions else None  # credentials, before asking
        onto, fetch_error = fresh_base(ctx.repo, record)
        plan = plan_commit(ctx.store, record, onto=onto, **commit_options) if "commit" in actions else None
        change = ctx.store.change(record.path)
        if plan is None and (change is None or not change.commit_sha):
            raise UsageError(f"{record.branch} has no podium commit yet; run podium commit first")
        facts = facts_for(ctx, record, plan)
        facts.update(_base_facts(ctx, record, plan, onto, fetch_error))
        stuck = _not_rebased(record, plan) if "push" in actions else None
        if stuck:  # what would be pushed is on a base origin left behind, and podium cannot move it by itself
            gate = ctx.store.create_gate(workspace=record.path, branch=record.branch, actions=actions,
                                         state="rejected", facts=facts, decided_by="podium", decided_at=time.time(),
                                         reason=stuck)
            ctx.store.supersede_gates(record.path, gate.id)
            raise UsageError(stuck)
        if forge is not None:
            message = plan.message if plan else (change.message if change else "")
            title, body = pr_text(ctx, forge, record, message, facts)
            facts["pr"] = {"forge": forge.name, "title": title, "body": body}
        if (plan is None or plan.up_to_date) and _nothing_new(ctx, record, actions, forge, facts):
            gate = ctx.store.create_gate(workspace=record.path, branch=record.branch, actions=actions,
                                         state="done", facts=facts, decided_by="podium", decided_at=time.time(),
                                         reason="nothing new: the commit, the push and the PR already hold this")
            result = {"commit": change.commit_sha if change else None, "committed": False}
            if change is not None and change.pr_url and "pr" in actions:
                result["pr"] = change.pr_url
            ctx.store.end_gate(gate.id, "done", result)
            return outcome(ctx, gate.id)
        if plan is not None and not plan.up_to_date:
            facts["identity"] = identity_problem(record.path)  # shown at the gate, before anyone approves
        gate = ctx.store.create_gate(workspace=record.path, branch=record.branch, actions=actions,
                                     state="pending", facts=facts)
        superseded = ctx.store.supersede_gates(record.path, gate.id)
    decided = _decide(ctx, gate, facts, ask)
    if superseded:
        decided.notes.append(Note("superseded", f"supersedes {'gate' if len(superseded) == 1 else 'gates'} "
                                                f"{', '.join(map(str, superseded))}"))
    return decided


def _decide(ctx: Context, gate: GateRecord, facts: dict[str, Any],
            ask: Callable[[GateRecord], tuple[bool, str | None]] | None) -> Outcome:
    """A new gate decided: by the policy, or by the human at this terminal (``ask``); else it stays pending."""
    why = policy_pass(ctx, facts)
    if why is not None:
        return _carry_out(ctx, gate.id, by="policy", reason=why)
    if ask is not None:
        approved, reason = ask(gate)
        if approved:  # the human saw the gate, credentials found included
            return approve(ctx, gate.id, by=who(), reason=reason, secrets_ok=True)
        return reject(ctx, gate.id, reason or "rejected at the terminal", by=who())
    return outcome(ctx, gate.id)


def _base_facts(ctx: Context, record: WorkspaceRecord, plan: CommitPlan | None, onto: str | None,
                fetch_error: str | None) -> dict[str, Any]:
    """What the human should know of the base: origin could not be fetched; the commit to push (without a new
    one planned) sits on a base origin has moved on from."""
    facts: dict[str, Any] = {"fetch_error": fetch_error} if fetch_error else {}
    change = ctx.store.change(record.path)
    if plan is None and change is not None and onto and onto != change.base_sha:
        facts["behind"] = {"ref": record.base_ref, "commits": ctx.repo.behind(record.base_ref, change.base_sha)}
    return facts


def _not_rebased(record: WorkspaceRecord, plan: CommitPlan | None) -> str | None:
    """Why the planned commit cannot be pushed: its base moved on and the change could not be replayed there."""
    moved = (plan.rebase if plan else None) or {}
    if not moved or moved["rebased"]:
        return None
    gained, ref, branch = plural(moved["commits"], "commit"), moved["ref"], record.branch
    if moved["conflicts"]:
        return (f"{ref} moved on (+{gained}) and replaying {branch} onto it conflicts in "
                f"{', '.join(moved['conflicts'])}: nothing was pushed — podium sync {branch} hands that to a worker")
    return (f"{ref} moved on (+{gained}) and {', '.join(moved['blocked'])}, changed in the worktree outside this "
            f"change, changed there too: nothing was pushed — take it into the change (--include) or out of the "
            "worktree, then ask again")


def base_lines(gate: GateRecord) -> list[str]:
    """The base at the gate: rebased onto it, or why not; a commit pushed on a base origin moved on from."""
    f = gate.facts
    lines = [f"  origin could not be fetched ({f['fetch_error']}): the base as last fetched"] if f.get(
        "fetch_error") else []
    moved = (f.get("plan") or {}).get("rebase")
    if moved:
        gained = f"+{plural(moved['commits'], 'commit')}"
        if moved["rebased"]:
            lines.append(f"  rebased onto {moved['ref']} ({gained}); the worktree follows it")
        elif moved["conflicts"]:
            lines.append(f"  {moved['ref']} moved on ({gained}); replaying this change onto it conflicts in "
                         f"{', '.join(moved['conflicts'])}: still on the old base — podium sync {gate.branch}")
        else:
            lines.append(f"  {moved['ref']} moved on ({gained}); still on the old base: "
                         f"{', '.join(moved['blocked'])} changed in the worktree outside this change and there too")
    behind = f.get("behind")
    if behind:
        lines.append(f"  {behind['ref']} moved on (+{plural(behind['commits'] or 0, 'commit')}) since this commit: "
                     "it goes out on its old base (podium ship rebases it)")
    return lines


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
        if pr is None or (pr.title, without_approval(pr.body)) != wanted:
            return False
    return True


def carry_out(ctx: Context, gate: GateRecord, result: dict[str, Any]) -> None:
    """Do what an approved gate holds, exactly as planned, filling ``result`` as each action succeeds (so a
    failure part-way still records what was done)."""
    with repo_lock(ctx.repo):
        record = ctx.store.workspace(gate.workspace)
        if record is None or record.removed_at is not None:
            raise UsageError(f"gate {gate.id}'s workspace was removed")
        if not result.get("commit"):
            _still_as_shown(ctx, gate)
        if "commit" in gate.actions and not result.get("commit"):
            plan = CommitPlan.from_dict(gate.facts["plan"])
            if not plan.up_to_date:
                problem = identity_problem(record.path)
                if problem:
                    raise UsageError(problem)
            change = apply_commit(ctx.store, plan)
            result.update(commit=change.commit_sha, committed=not plan.up_to_date)
            if plan.rebase and plan.rebase["rebased"] and not plan.up_to_date:
                result["rebased"] = f"{plan.rebase['ref']} (+{plural(plan.rebase['commits'], 'commit')})"
            ctx.store.gate_progress(gate.id, result)  # approved again after this process ended: not made twice
        if "push" in gate.actions:
            change = push_workspace(ctx.store, ctx.repo, record)
            result.update(pushed=change.pushed_sha)
            ctx.store.gate_progress(gate.id, result)
        if "pr" in gate.actions:
            change = ctx.store.change(record.path)
            assert change is not None
            pr = open_or_update(ctx, record, change, gate.facts["pr"]["title"], gate.facts["pr"]["body"],
                                gate.facts.get("screenshots") or [], approval_line(gate))
            result.update(pr=pr.url, pr_number=pr.number)
    if "pr" in gate.actions and record.ticket:
        try:  # the ticket's local copy follows the ship; a tracker hiccup here does not undo the PR
            from podium.ticket import refresh_snapshot

            refresh_snapshot(ctx, record)
        except PodiumError as e:
            result["warning"] = f"the ticket's snapshot was not refreshed: {e}"


def _carry_out(ctx: Context, gate_id: int, *, by: str, reason: str | None, was: tuple[str, ...] = ("pending",)
               ) -> Outcome:
    """Claim the gate (``carrying_out``, by this process), carry it out, and end it ``done`` or ``failed``.

    A gate is done only once every action succeeded; however carrying it out ends otherwise (an error, Ctrl-C,
    this process killed: the store reads a gate whose process is gone as failed), the gate is ``failed``, keeps
    its error and stays open: fix the cause and approve it again (what already succeeded, e.g. the commit, is
    not done twice)."""
    pid, started = this_process()
    if not ctx.store.decide_gate(gate_id, CARRYING_OUT, was=was, reason=reason, decided_by=by, carrier_pid=pid,
                                 carrier_started=started):
        raise UsageError(f"gate {gate_id} was decided meanwhile")
    gate = ctx.store.gate(gate_id)
    result = {k: v for k, v in (gate.result or {}).items() if k != "error"}  # what an earlier attempt did
    try:
        carry_out(ctx, gate, result)
    except PodiumError as e:
        ctx.store.end_gate(gate_id, "failed", {**result, "error": str(e)})
        raise GateFailed(f"gate {gate_id} failed: {e} — fix that, then podium approve {gate_id} again") from None
    except BaseException as e:  # Ctrl-C, an exit, a bug: the gate says so before the exception goes on
        ctx.store.end_gate(gate_id, "failed", {**result, "error": interrupted(e)})
        raise
    ctx.store.end_gate(gate_id, "done", result)
    return outcome(ctx, gate_id)


def interrupted(e: BaseException) -> str:
    """What ended carrying out a gate when it was none of podium's own errors."""
    if isinstance(e, KeyboardInterrupt):
        return "interrupted (Ctrl-C) before it finished"
    if isinstance(e, SystemExit):
        return "interrupted: the process exited before it finished"
    return f"interrupted by an unexpected error: {type(e).__name__}: {e}"


def outcome(ctx: Context, gate_id: int) -> Outcome:
    """The gate as it stands now, with what was carried out and the workspace's change."""
    gate = ctx.store.gate(gate_id)
    return Outcome(gate=gate, result=gate.result, change=ctx.store.change(gate.workspace))


def find(ctx: Context, gate_id: int | str) -> GateRecord:
    """The gate, in whatever state, or a one-line error."""
    try:
        return ctx.store.gate(int(gate_id))
    except (KeyError, ValueError):
        raise UsageError(f"no gate {gate_id}") from None


def decidable(ctx: Context, gate_id: int | str) -> GateRecord:
    """The gate, when a human can still decide it (pending, or failed and worth approving again)."""
    gate = find(ctx, gate_id)
    if gate.state == "superseded":
        raise UsageError(f"gate {gate.id} was {gate.reason}: decide that one (podium gates)")
    if gate.state == CARRYING_OUT:
        raise UsageError(f"gate {gate.id} is being carried out (process {gate.carrier_pid}): podium gates shows "
                         "how it ends")
    if gate.state not in OPEN:
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


def approve(ctx: Context, gate_id: int | str, *, by: str, reason: str | None = None,
            secrets_ok: bool = False) -> Outcome:
    """The human's yes: carry out exactly what the gate showed. Refused, and the gate left as it is, when the
    work changed since, or when it adds what looks like a credential and ``secrets_ok`` (the human saw the
    finding and said it is none) is not given; ``GateFailed`` (the gate ``failed``, still open) when an action
    fails."""
    gate = decidable(ctx, gate_id)
    found = secrets_of(gate)
    if found and not secrets_ok:
        first = found[0]
        more = f" and {len(found) - 1} more" if len(found) > 1 else ""
        raise UsageError(f"gate {gate.id} adds what looks like a {first['kind']} ({first['path']}:{first['line']}"
                         f"{more}): take it out of the work and commit again, or, if it is no credential, "
                         f"podium approve {gate.id} --allow-secrets")
    if found:
        reason = "; ".join(filter(None, [reason, "approved knowing it adds what looks like a credential"]))
    if not (gate.result or {}).get("commit"):
        _still_as_shown(ctx, gate)
    return _carry_out(ctx, gate.id, by=by, reason=reason, was=OPEN)


def reject(ctx: Context, gate_id: int | str, why: str, *, by: str) -> Outcome:
    gate = decidable(ctx, gate_id)
    if not why.strip():
        raise UsageError("say why: the worker (or the orchestrator) reads it")
    if not ctx.store.decide_gate(gate.id, "rejected", was=OPEN, reason=why.strip(), decided_by=by):
        raise UsageError(f"gate {gate.id} was decided meanwhile")
    return outcome(ctx, gate.id)


def who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "human"
