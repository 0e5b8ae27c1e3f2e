"""The base moved on: a workspace brought onto its base as origin has it now.

Every gate fetches first (``fresh_base``); when the base moved, the commit is planned on the new base
(``change.replay_plan``: ``git merge-tree``, no checkout touched) and the worktree follows it when the commit is
made. Where the change conflicts with what the base gained, nothing is pushed: ``podium sync BRANCH`` (``sync``)
brings the worktree onto the new base itself — the task's changes on top, uncommitted, the conflicting files
holding both sides between conflict markers — and hands the conflict to the branch's worker as a situation: its
session resumed (or, without one, a new worker in the same worktree) with what moved and which files conflict.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium.change import check_worktree, find_workspace, replay_plan, select_files
from podium.errors import GitError, UsageError
from podium.git import Repo, git, move_files, snapshot, tree_with
from podium.store import Job, WorkspaceRecord
from podium.text import Note, plural
from podium.workspace import repo_lock

if TYPE_CHECKING:
    from podium.context import Context
    from podium.jobs import Launched

MAX_SUBJECTS = 10


def fresh_base(repo: Repo, record: WorkspaceRecord) -> tuple[str | None, str | None]:
    """(the workspace's base as origin has it now — as last fetched when the fetch failed —, why the fetch
    failed). Call under ``repo_lock``."""
    error = None
    try:
        repo.fetch()
    except GitError as e:
        error = str(e)
    return repo.ref_sha(f"refs/remotes/{record.base_ref}"), error


@dataclass
class Synced:
    """What ``sync`` did: the base it brought the worktree onto, the files that conflict, the worker on them."""

    branch: str
    base: str  # origin/main
    onto: str | None  # the base's sha now; None: it was on it already
    commits: int  # what the base gained since the worktree's
    conflicts: list[str] = field(default_factory=list)
    worker: Launched | None = None

    def lines(self) -> list[str]:
        if self.onto is None:
            return [f"{self.branch} is on {self.base} as origin has it: nothing to sync"]
        out = [f"{self.branch} brought onto {self.base} (+{plural(self.commits, 'commit')}); the task's changes are "
               "on top, uncommitted"]
        if self.conflicts:
            out.append(f"conflicts in {', '.join(self.conflicts)} (both sides between conflict markers)")
        if self.worker:
            how = "resumed" if self.worker.job.parent_id else "started"
            out.append(f"job {self.worker.job.id} ({self.worker.job.agent}) {how} to resolve them: "
                       f"podium wait {self.worker.job.id}, then podium ship {self.branch}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"branch": self.branch, "base": self.base, "onto": self.onto, "commits": self.commits,
                "conflicts": self.conflicts, "job": self.worker.job.id if self.worker else None,
                "shown": self.lines()}


def sync(ctx: Context, target: str | None) -> Synced:
    """Bring the workspace onto its base as origin has it now (refused while a job works in it, or when a change
    of the worktree's own, outside the task, is in the way), and hand any conflict to a worker."""
    from podium import jobs

    jobs.reconcile(ctx.store)
    with repo_lock(ctx.repo):
        record = find_workspace(ctx.store, ctx.repo, target)
        busy = ctx.store.active_job_in(record.path)
        if busy:
            raise UsageError(f"job {busy.id} is {busy.state} in the worktree of {record.branch}: podium sync "
                             f"{record.branch} once it ended (podium wait {busy.id})")
        check_worktree(record)
        onto, error = fresh_base(ctx.repo, record)
        if error or onto is None:
            raise UsageError(f"{record.base_ref} cannot be read from origin now ({error or 'it is gone'}); "
                             "sync needs the base as origin has it")
        if onto == record.base_sha:
            return Synced(record.branch, record.base_ref, None, 0)
        ws_jobs = ctx.store.jobs_in(record.path)
        moved = _move(ctx, record, ws_jobs, onto)
    worker = _hand_over(ctx, replace(record, base_sha=onto), ws_jobs, moved) if moved["conflicts"] else None
    return Synced(record.branch, record.base_ref, onto, moved["commits"], moved["conflicts"], worker)


def _move(ctx: Context, record: WorkspaceRecord, ws_jobs: list[Job], onto: str) -> dict[str, Any]:
    """The worktree onto ``onto``: its branch there, the task's changes replayed on top (uncommitted), what else
    it holds kept; the conflicting files with readable markers. Returns ``replay_plan``'s account."""
    ws = record.path
    now = snapshot(ws)
    files, _, _ = select_files(ctx.store, record, ws_jobs, now.tree, ctx.store.change(ws))
    empty = git("rev-parse", f"{record.base_sha}^{{tree}}", cwd=ws)  # no task file: the base as it was
    tree = tree_with(ws, record.base_sha, now.tree, files) if files else empty
    moved = replay_plan(record, tree, now.tree, onto)
    if moved["blocked"]:
        raise UsageError(f"{', '.join(moved['blocked'])} changed in the worktree outside this task and on "
                         f"{record.base_ref} too: take them into the change (podium commit --include) or out of the "
                         "worktree, then sync again")
    try:
        move_files(ws, tree, moved["tree"])
    except GitError as e:
        raise UsageError(f"the worktree of {record.branch} cannot be moved onto {record.base_ref}: {e}") from None
    git("update-ref", "-m", f"podium sync onto {record.base_ref}", f"refs/heads/{record.branch}", onto, now.head,
        cwd=ws)
    git("reset", "--quiet", cwd=ws)  # the index is the new base's: the task's changes show as uncommitted
    ctx.store.add_workspace(replace(record, base_sha=onto))
    for path in moved["conflicts"]:
        _label_markers(Path(ws) / path, record.base_ref, record.branch)
    return moved


def _label_markers(path: Path, base: str, branch: str) -> None:
    """Conflict markers that say whose side is whose (git's merge-tree labels them with commit ids)."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError):
        return
    text = re.sub(r"^<<<<<<< [0-9a-f]{40}$", f"<<<<<<< {base}", text, flags=re.MULTILINE)
    path.write_text(re.sub(r"^>>>>>>> [0-9a-f]{40}$", f">>>>>>> {branch}", text, flags=re.MULTILINE))


def situation(record: WorkspaceRecord, old_base: str, moved: dict[str, Any]) -> str:
    """The prompt that hands the conflict to a worker: what moved, what podium did, which files, what done is."""
    ws, ref = record.path, record.base_ref
    gained = git("log", f"-{MAX_SUBJECTS}", "--format=- %h %s", f"{old_base}..{record.base_sha}", cwd=ws,
                 check=False)
    return (f"The base moved: {ref} gained {plural(moved['commits'], 'commit')} since this work started:\n"
            f"{gained}\n\n"
            f"podium brought this worktree onto {ref}: the branch is on it now and this task's changes are on top, "
            f"uncommitted. Carrying them over conflicts in {', '.join(moved['conflicts'])}: each holds both sides "
            f"between conflict markers (<<<<<<< {ref} … ======= … >>>>>>> {record.branch}).\n\n"
            f"Resolve them so that what {ref} changed and what this task does both hold, remove every marker, and "
            "run the tests. Do not commit or push: podium commits the result at the human's gate.")


def _hand_over(ctx: Context, record: WorkspaceRecord, ws_jobs: list[Job], moved: dict[str, Any]) -> Launched:
    """The conflict to the branch's worker: its session resumed, or a new worker in the same worktree (the
    worker role's agent, model and effort) when the latest worker's session cannot be resumed."""
    from podium.agents import agent_input, get_agent
    from podium.jobs import ROLE, enqueue

    prompt = situation(record, moved["from"], moved)
    ws = Path(record.path)
    last = next((j for j in reversed(ws_jobs) if j.role != "tester"), None)
    name = last.agent if last and last.session_id else ctx.config.agent_for(ROLE)
    adapter = get_agent(name, ctx.agent_options(name, ROLE))
    preflight = adapter.preflight(ws)
    session = last.session_id if last and adapter.can_resume else None
    if session and adapter.transcript(session) is None:
        session = None
    argv = adapter.resume_argv(session, prompt, ws, preflight) if session else adapter.new_argv(prompt, ws, preflight)
    return enqueue(ctx, record.path, [Note("agent", n) for n in preflight.notes], agent=name, role=ROLE,
                   prompt=prompt, branch=record.branch, base_ref=record.base_ref, base_sha=record.base_sha,
                   session_id=session, parent_id=last.id if session and last else None, argv=argv,
                   stdin=agent_input(adapter, prompt),
                   stall_after=last.stall_after if session and last else ctx.config.stall_after_for(ROLE))
