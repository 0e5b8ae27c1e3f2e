"""A workspace's change: exactly one commit on top of its base, and the only push podium makes.

``commit`` squashes what the task's jobs changed into one commit whose parent is the
workspace's base (a later round replaces it, like ``git commit --amend``). Only the
task's own files go in: paths some job of this workspace changed, never a file that
was already dirty before the first agent started (unless the user names it with
``include``) and never podium's own files. The tree is built in a private index from a
snapshot of the worktree, so the agent's index and files are left as they are; the
branch moves with a compare-and-swap on its old tip.

``push`` sends that commit to the workspace's own branch on origin with
``--force-with-lease`` against the sha podium last pushed there (or "absent" for the
first push): a branch someone else pushed to is refused and reported, never
overwritten. Base branches are refused outright.

The message is drafted (``podium.message``) from the ticket, the task, the agents' accounts and
the change, again every round; the user's own words replace the draft and are kept. It is
stored (``changes`` table) so the PR description can be kept in sync with it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium.errors import GitError, PodiumError, UsageError
from podium.git import Repo, diff_names, git, move_files, numstat, replay, snapshot, tree_with
from podium.message import clean_message, comment_char, draft_message
from podium.store import Change, Job, Store, WorkspaceRecord
from podium.workspace import ENV_DIR, repo_lock

if TYPE_CHECKING:
    from podium.redaction import Finding

PROTECTED = {"main", "master", "develop", "development", "trunk", "release", "production", "staging"}


class PushRefused(PodiumError):
    """origin refused the push (stale lease, protection): nothing was overwritten."""


@dataclass
class CommitResult:
    change: Change
    committed: bool  # False when the existing commit already held exactly this work and message
    files: list[dict[str, Any]] = field(default_factory=list)  # path, added, deleted
    left_out: list[tuple[str, str]] = field(default_factory=list)  # path, why it is not in the commit

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.change.to_dict(),
            "committed": self.committed,
            "files": self.files,
            "left_out": [{"path": p, "why": why} for p, why in self.left_out],
        }


def find_workspace(store: Store, repo: Repo, target: str | None) -> WorkspaceRecord:
    """The workspace named by a job id, a branch, or (None) the checkout podium runs in."""
    if target is None:
        here = str(repo.toplevel)
        found = store.workspace(here)
        if found is None or found.removed_at is not None:
            raise UsageError(f"{here} is not a podium workspace; name one by job id or branch (podium workspaces)")
        return found
    if target.isdigit():
        try:
            job: Job | None = store.job(int(target))
        except KeyError:
            job = None
        if job is None or not job.workspace:
            raise UsageError(f"no job {target} with a workspace in {repo.toplevel}")
        found = store.workspace(job.workspace)
        if found is None or found.removed_at is not None or job.workspace_removed_at is not None:
            raise UsageError(f"job {target}'s workspace was removed by podium clean")
        return found
    found = next((w for w in store.workspaces() if w.branch == target), None)
    if found is None:
        raise UsageError(f"no podium workspace on branch {target!r} (podium workspaces lists them)")
    return found


def task_paths(worktree: str, jobs: list[Job], now_tree: str) -> tuple[set[str], set[str], set[str]]:
    """(paths the task's workers changed, paths already dirty before the first job started, paths only
    the tester changed — its reports and scratch files are not the change).

    A finished job knows its own changes (``run_files``: start snapshot vs end snapshot). A job whose
    runner died does not; its changes are what differs between its start and the next job's start (or now).
    """
    changed: set[str] = set()
    tested: set[str] = set()
    started = [j for j in jobs if j.start_tree]
    for i, job in enumerate(started):
        run_files = (job.work or {}).get("run_files")
        if run_files is not None and job.state != "lost":
            paths = set(run_files)
        else:
            end = started[i + 1].start_tree if i + 1 < len(started) else now_tree
            assert job.start_tree is not None and end is not None
            paths = set(diff_names(worktree, job.start_tree, end))
        (tested if job.role == "tester" else changed).update(paths)
    dirty_before: set[str] = set()
    if started and started[0].start_head and started[0].start_tree:
        dirty_before = set(diff_names(worktree, started[0].start_head, started[0].start_tree))
    return changed, dirty_before, tested - changed


@dataclass
class CommitPlan:
    """What ``commit`` would make, computed without touching anything: shown at the gate, then applied."""

    workspace: str
    branch: str
    base_ref: str
    base_sha: str
    old_head: str  # the branch tip it replaces (compare-and-swap)
    snapshot_tree: str  # the whole worktree when planned: the plan holds only while this is unchanged
    tree: str
    message: str
    message_source: str
    files: list[str]
    excluded: list[str]
    stats: list[dict[str, Any]]
    left_out: list[tuple[str, str]]
    up_to_date: bool  # the branch already holds exactly this commit
    secrets: list[dict[str, Any]] = field(default_factory=list)  # credentials the commit would add: held
    message_note: str | None = None  # the human's message, kept, though the change moved on since it was written
    rebase: dict[str, Any] | None = None  # the base moved on since the worktree's: ``replay_plan``

    def to_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["left_out"] = [{"path": p, "why": why} for p, why in self.left_out]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CommitPlan:
        values = dict(data)
        values["left_out"] = [(x["path"], x["why"]) for x in values["left_out"]]
        return cls(**values)


def plan_commit(
    store: Store,
    record: WorkspaceRecord,
    *,
    message: str | None = None,
    edit: Callable[[str], str | None] | None = None,
    include: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    regenerate: bool = False,
    ticket: str | None = None,
    onto: str | None = None,
) -> CommitPlan:
    """The workspace's single commit as it would be now (call under ``repo_lock``). The tree is written to
    git's object store; nothing else changes. ``onto``: the base as origin has it now; when it moved on, the
    commit is planned on it (``rebase``), unless replaying the change there conflicts."""
    ws = record.path
    jobs = store.jobs_in(ws)
    busy = next((j for j in jobs if j.active), None)
    if busy:
        raise UsageError(f"job {busy.id} is still {busy.state} in {ws}; wait for it before committing")
    check_worktree(record)
    old_head = git("rev-parse", "HEAD", cwd=ws)
    now = snapshot(ws)
    previous = store.change(ws)
    files, left_out, excluded = select_files(store, record, jobs, now.tree, previous, include, exclude)
    if not files:
        why = f"; left out: {', '.join(p for p, _ in left_out)}" if left_out else ""
        raise UsageError(f"nothing to commit in {ws}: no job of this task changed a file{why}")
    tree = tree_with(ws, record.base_sha, now.tree, files)
    _refuse_conflict_markers(ws, record, tree)
    rebase = replay_plan(record, tree, now.tree, onto) if onto and onto != record.base_sha else None
    base, final = (rebase["onto"], rebase["tree"]) if rebase and rebase["rebased"] else (record.base_sha, tree)
    text, source, note = _message(store, record, jobs, files, tree, previous, message, regenerate, ticket)
    if edit is not None:
        mark = comment_char(text)
        edited = edit(text + f"\n\n{mark} Lines starting with '{mark}' are dropped; an empty message aborts.\n")
        if edited is not None:
            edited = clean_message(edited, mark)
            if edited != clean_message(text):
                text, source, note = edited, "user", None
    text = store.redact(clean_message(text))  # a commit message is pushed and read by all: never a credential
    if not text:
        raise UsageError("the commit message is empty; nothing was committed")
    up_to_date = bool(previous and previous.commit_sha == old_head and previous.base_sha == base
                      and git("rev-parse", f"{old_head}^{{tree}}", cwd=ws) == final
                      and git("log", "-1", "--format=%B", old_head, cwd=ws).strip() == text)
    return CommitPlan(workspace=ws, branch=record.branch, base_ref=record.base_ref, base_sha=base,
                      old_head=old_head, snapshot_tree=now.tree, tree=final, message=text, message_source=source,
                      files=files, excluded=sorted(excluded), stats=numstat(ws, base, final),
                      left_out=left_out, up_to_date=up_to_date, message_note=note, rebase=rebase,
                      secrets=[asdict(f) for f in added_secrets(ws, previous, record.base_sha, tree)])


def select_files(store: Store, record: WorkspaceRecord, jobs: list[Job], now_tree: str, previous: Change | None,
                 include: tuple[str, ...] = (), exclude: tuple[str, ...] = ()
                 ) -> tuple[list[str], list[tuple[str, str]], set[str]]:
    """(the paths the task's single commit holds, the paths left out and why, the paths the user excluded)."""
    ws = record.path
    changed, dirty_before, tested = task_paths(ws, jobs, now_tree)
    wanted, unwanted = set(include), set(exclude)
    if wanted & unwanted:
        raise UsageError(f"{sorted(wanted & unwanted)[0]} is both included and excluded")
    excluded = ((set(previous.excluded) if previous else set()) | unwanted) - wanted
    keep = (set(previous.paths) if previous else set()) - excluded
    differs = set(diff_names(ws, record.base_sha, now_tree))
    for option, paths in (("--include", wanted), ("--exclude", unwanted)):
        unknown = paths - differs - keep
        if unknown:
            raise UsageError(f"{option} {sorted(unknown)[0]}: that path does not differ from the base")
    files: list[str] = []
    left_out: list[tuple[str, str]] = []
    for path in sorted(differs | keep):
        if path == ENV_DIR or path.startswith(f"{ENV_DIR}/"):
            continue
        if path in excluded:
            left_out.append((path, "excluded by you (--include to add it back)"))
        elif path in wanted or path in keep:
            files.append(path)
        elif path in dirty_before:
            left_out.append((path, "already changed before the first job started (--include to add it)"))
        elif path in changed:
            files.append(path)
        elif path in tested:
            left_out.append((path, "only the tester changed it (--include to add it)"))
        else:
            left_out.append((path, "no job of this task changed it (--include to add it)"))
    return [p for p in files if p in differs], left_out, excluded  # a path back to its base content: nothing


def replay_plan(record: WorkspaceRecord, tree: str, snapshot_tree: str, onto: str) -> dict[str, Any]:
    """The change (``tree`` on the workspace's base) replayed onto ``onto``, the base as origin has it now: the
    tree it makes, the paths that conflict, and the paths in the way (changed in the worktree outside the change
    and on the new base too: the worktree could not follow). ``rebased`` when neither."""
    ws = record.path
    merged, conflicts = replay(ws, record.base_sha, tree, onto)
    blocked = sorted(set(diff_names(ws, tree, merged)) & set(diff_names(ws, tree, snapshot_tree)))
    commits = git("rev-list", "--count", f"{record.base_sha}..{onto}", cwd=ws, check=False)
    return {"ref": record.base_ref, "from": record.base_sha, "onto": onto, "tree": merged, "tree_before": tree,
            "commits": int(commits) if commits.isdigit() else 0, "conflicts": conflicts, "blocked": blocked,
            "rebased": not conflicts and not blocked}


def _message(store: Store, record: WorkspaceRecord, jobs: list[Job], files: list[str], tree: str,
             previous: Change | None, message: str | None, regenerate: bool, ticket: str | None
             ) -> tuple[str, str, str | None]:
    """(message, source, note): the human's words when given or written before (kept, with a note when the
    change moved on since), else a draft of what the change does now: drafted again every round."""
    if message is not None:
        return message, "user", None
    if previous and previous.message_source == "user" and not regenerate:
        note = None
        if previous.commit_sha:
            moved = diff_names(record.path, f"{previous.commit_sha}^{{tree}}", tree)
            if moved:
                names = ", ".join(moved[:5]) + (f" and {len(moved) - 5} more" if len(moved) > 5 else "")
                note = (f"your message, kept; the change moved on since it was written ({names} changed): "
                        "--regenerate drafts one, -m writes one")
        return previous.message, "user", note
    stored = store.ticket(record.ticket) if record.ticket else None
    data = stored.data if stored else {}
    workers = [j for j in jobs if j.role != "tester"]  # the tester's report is not the change's story
    text = draft_message(record.path, record.branch, workers, files, record.base_sha, tree,
                         ticket=ticket or (stored.id if stored else None), title=data.get("title") or None,
                         kind=data.get("kind"))
    return text, "generated", None


def _refuse_conflict_markers(ws: str, record: WorkspaceRecord, tree: str) -> None:
    """A conflict left half-resolved (``<<<<<<<`` lines the change adds, as ``podium sync`` leaves them for the
    worker) is never committed: UsageError naming where."""
    found = [line.rsplit(":", 1)[0] for line in git("diff", "--check", "--no-color", record.base_sha, tree, cwd=ws,
                                                    check=False).splitlines()
             if line.endswith(": leftover conflict marker")]
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise UsageError(f"{found[0]}{more} still holds a conflict marker: resolve the conflict first (podium sync "
                         f"{record.branch} hands it to the worker)")


def added_secrets(ws: str, previous: Change | None, base_sha: str, tree: str) -> list[Finding]:
    """What looks like a credential in the lines the commit adds: to the last commit podium made (what the
    human approved then stays approved), else to the base."""
    from podium.redaction import scan, secret_values

    since = previous.commit_sha if previous and previous.commit_sha else base_sha
    try:
        diff = git("diff", "-U0", "--no-color", "--no-ext-diff", "--no-renames", since, tree, cwd=ws)
    except GitError:  # the last commit is gone (pruned): everything the change adds to its base is scanned
        diff = git("diff", "-U0", "--no-color", "--no-ext-diff", "--no-renames", base_sha, tree, cwd=ws)
    return scan(diff, secret_values(os.environ))


def apply_commit(store: Store, plan: CommitPlan) -> Change:
    """Make the planned commit (call under ``repo_lock``): refused when the worktree changed since the plan."""
    ws = plan.workspace
    if snapshot(ws).tree != plan.snapshot_tree or git("rev-parse", "HEAD", cwd=ws) != plan.old_head:
        raise UsageError(f"the work in {ws} changed since this commit was planned; plan it again (podium commit)")
    previous = store.change(ws)
    if plan.up_to_date and previous:
        return previous
    rebase = plan.rebase if plan.rebase and plan.rebase["rebased"] else None
    busy = store.active_job_in(ws) if rebase else None
    if busy:
        raise UsageError(f"job {busy.id} is {busy.state} in {ws}: its files are not moved onto {rebase['ref']} "
                         "under it; approve again once it ended")
    author_date = previous.author_date if previous else None
    env = {"GIT_AUTHOR_DATE": author_date} if author_date else {}
    sha = git("commit-tree", plan.tree, "-p", plan.base_sha, cwd=ws, env=env, input=plan.message + "\n")
    git("update-ref", "-m", "podium commit", f"refs/heads/{plan.branch}", sha, plan.old_head, cwd=ws)
    if rebase:
        _follow(store, plan, rebase, sha)
    else:
        git("reset", "--quiet", cwd=ws)  # the index follows the new commit; files in the worktree are untouched
    stamp = time.time()
    change = Change(
        workspace=ws, branch=plan.branch, base_ref=plan.base_ref, base_sha=plan.base_sha,
        message=plan.message, message_source=plan.message_source,
        created_at=previous.created_at if previous else stamp, updated_at=stamp, commit_sha=sha,
        paths=plan.files, excluded=plan.excluded, rounds=(previous.rounds if previous else 0) + 1,
        author_date=author_date or git("log", "-1", "--format=%aI", sha, cwd=ws),
        pushed_sha=previous.pushed_sha if previous else None,
        pushed_at=previous.pushed_at if previous else None,
        pr_number=previous.pr_number if previous else None,
        pr_url=previous.pr_url if previous else None,
        pr_description=previous.pr_description if previous else None,
        pr_attachments=previous.pr_attachments if previous else {},
    )
    store.save_change(change)
    return change


def _follow(store: Store, plan: CommitPlan, rebase: dict[str, Any], sha: str) -> None:
    """The worktree follows its commit onto the new base: its files and index moved from the old base's change
    to the new commit (what else the worktree holds is kept), and the workspace's base recorded. When git
    cannot carry the worktree's own changes over, the branch goes back and nothing was committed."""
    ws = plan.workspace
    try:
        move_files(ws, rebase["tree_before"], sha)
    except GitError as e:
        git("update-ref", "-m", "podium commit undone", f"refs/heads/{plan.branch}", plan.old_head, sha, cwd=ws)
        git("reset", "--quiet", cwd=ws)
        raise UsageError(f"the worktree of {plan.branch} cannot follow onto {rebase['ref']} ({e}); nothing was "
                         f"committed — podium sync {plan.branch} brings it over") from None
    record = store.workspace(ws)
    if record is not None:
        store.add_workspace(replace(record, base_sha=plan.base_sha))


def commit(store: Store, repo: Repo, target: str | None = None, **options: Any) -> CommitResult:
    """Plan and make the workspace's single commit at once (no gate: the caller has the human's approval)."""
    with repo_lock(repo):
        plan = plan_commit(store, find_workspace(store, repo, target), **options)
        change = apply_commit(store, plan)
        return CommitResult(change=change, committed=not plan.up_to_date, files=plan.stats, left_out=plan.left_out)


def check_worktree(record: WorkspaceRecord) -> None:
    ws, branch = record.path, record.branch
    if not (Path(ws) / ".git").exists():
        raise UsageError(f"the worktree of {branch} is gone: {ws}")
    head = git("symbolic-ref", "--quiet", "HEAD", cwd=ws, check=False)
    if head != f"refs/heads/{branch}":
        where = head.removeprefix("refs/heads/") if head else "a detached HEAD"
        raise UsageError(f"{ws} is on {where}, not its branch {branch}; podium commits only on the task's branch")
    gitdir = Path(git("rev-parse", "--absolute-git-dir", cwd=ws))
    for marker, what in (("MERGE_HEAD", "a merge"), ("rebase-merge", "a rebase"), ("rebase-apply", "a rebase"),
                         ("CHERRY_PICK_HEAD", "a cherry-pick"), ("REVERT_HEAD", "a revert")):
        if (gitdir / marker).exists():
            raise UsageError(f"{ws} is in the middle of {what}; finish or abort it first")


def protected_branches(repo: Repo, base_ref: str) -> set[str]:
    names = set(PROTECTED) | {base_ref.removeprefix("origin/")}
    head = git("symbolic-ref", "--quiet", "refs/remotes/origin/HEAD", cwd=repo.toplevel, check=False)
    if head:
        names.add(head.removeprefix("refs/remotes/origin/"))
    return names


def push(store: Store, repo: Repo, target: str | None = None) -> Change:
    """Push the workspace's commit to its own branch on origin, with a lease on what podium last pushed."""
    with repo_lock(repo):
        return push_workspace(store, repo, find_workspace(store, repo, target))


def check_pushable(repo: Repo, record: WorkspaceRecord) -> None:
    """Refuse a push to a base branch before anything else (before even asking a human)."""
    if record.branch in protected_branches(repo, record.base_ref):
        raise UsageError(f"{record.branch} is a base branch; podium pushes only a task's own branch")


def push_workspace(store: Store, repo: Repo, record: WorkspaceRecord) -> Change:
    """``push`` for a workspace already found (call under ``repo_lock``)."""
    ws = record.path
    change = store.change(ws)
    if change is None or not change.commit_sha:
        raise UsageError(f"{record.branch} has no podium commit yet; run podium commit first")
    check_worktree(record)
    head = git("rev-parse", "HEAD", cwd=ws)
    if head != change.commit_sha:
        raise UsageError(f"{change.branch} moved since podium commit ({change.commit_sha[:8]} → {head[:8]}); "
                         "run podium commit again, then push")
    branch = change.branch
    check_pushable(repo, record)
    expected = change.pushed_sha or ""
    lease = f"--force-with-lease=refs/heads/{branch}:{expected}"
    try:
        git("push", "--quiet", "--porcelain", lease, "origin", f"{change.commit_sha}:refs/heads/{branch}",
            cwd=ws, timeout=300)
    except GitError as e:
        reason = _refusal(repo, branch, expected, str(e))
        change.push_error = reason
        change.updated_at = time.time()
        store.save_change(change)
        raise PushRefused(reason) from None
    git("update-ref", f"refs/remotes/origin/{branch}", change.commit_sha, cwd=ws)
    git("branch", "--quiet", f"--set-upstream-to=origin/{branch}", branch, cwd=ws, check=False)
    change.pushed_sha, change.pushed_at, change.push_error = change.commit_sha, time.time(), None
    change.updated_at = change.pushed_at
    store.save_change(change)
    return change


def _refusal(repo: Repo, branch: str, expected: str, error: str) -> str:
    """Why origin refused, in words: above all, a lease that no longer holds."""
    remote = git("ls-remote", "origin", f"refs/heads/{branch}", cwd=repo.toplevel, timeout=120, check=False)
    actual = remote.split("\t")[0] if remote else ""
    if actual != expected:
        if not expected:
            return (f"origin already has a branch {branch} ({actual[:8]}) that podium did not push; "
                    "nothing was overwritten — pick another branch or look at what is there")
        now = f"is at {actual[:8]}" if actual else "was deleted"
        return (f"origin's {branch} {now}, not {expected[:8]} as podium last pushed it: someone else changed it; "
                f"nothing was overwritten — fetch it and look before pushing again")
    return f"origin refused the push of {branch}: {error.removeprefix('git push failed: ')}"
