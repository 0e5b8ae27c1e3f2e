"""A job's work kept on origin, so that it never lives on one disk only.

A worker commits the whole state of a job's worktree — committed, staged, unstaged and untracked files alike,
ignored ones aside — in a private index (the job's branch and index are never touched) and pushes that commit to
a ref podium owns, ``refs/podium/jobs/<checkout>/<job>``; its first parent is the worktree's HEAD, so the job's
own commits come along. The job's logs and its agent's session transcript go to ``refs/podium/meta/…``. Another
machine restores the worktree from the ref (``restore``); the user's checkout brings the work into the job's
local workspace (``bring_in``). Every push is a lease on the ref's last known value: two machines never overwrite
each other's snapshots.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from podium.errors import GitError
from podium.git import FETCH_TIMEOUT, git, snapshot

IDENTITY = {"GIT_AUTHOR_NAME": "podium", "GIT_AUTHOR_EMAIL": "podium@localhost",
            "GIT_COMMITTER_NAME": "podium", "GIT_COMMITTER_EMAIL": "podium@localhost"}


def job_ref(checkout: str, job_id: int) -> str:
    return f"refs/podium/jobs/{checkout}/{job_id}"


def meta_ref(checkout: str, job_id: int) -> str:
    return f"refs/podium/meta/{checkout}/{job_id}"


def commit_worktree(worktree: str | Path, message: str) -> str:
    """A commit of everything in the worktree, its parent the worktree's HEAD."""
    state = snapshot(worktree)
    return git("commit-tree", state.tree, "-p", state.head, "-m", message, cwd=worktree, env=IDENTITY)


def commit_files(cwd: str | Path, files: dict[str, bytes], message: str) -> str:
    """A commit (without parents) whose tree holds ``files`` (path → content)."""
    with tempfile.TemporaryDirectory(prefix="podium-meta-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        for path, content in sorted(files.items()):
            blob = Path(tmp) / "blob"
            blob.write_bytes(content)
            sha = git("hash-object", "-w", str(blob), cwd=cwd)
            git("update-index", "--add", "--cacheinfo", f"100644,{sha},{path}", cwd=cwd, env=env)
        tree = git("write-tree", cwd=cwd, env=env)
    return git("commit-tree", tree, "-m", message, cwd=cwd, env=IDENTITY)


def push(cwd: str | Path, updates: dict[str, tuple[str, str | None]]) -> None:
    """Push commits to podium's refs on origin in one go: ref → (commit, the ref's value as last seen here, None
    when it should not exist yet). A ref someone else moved meanwhile is refused (GitError)."""
    args = ["push", "--quiet", "--porcelain", "origin"]
    for ref, (_, expected) in updates.items():
        args.append(f"--force-with-lease={ref}:{expected or ''}")
    args += [f"{sha}:{ref}" for ref, (sha, _) in updates.items()]
    git(*args, cwd=cwd, timeout=FETCH_TIMEOUT)


def fetch(cwd: str | Path, *refs: str) -> dict[str, str]:
    """Fetch podium's refs from origin into the same names here; the ones that exist there, with their commits."""
    found = {}
    listed = git("ls-remote", "origin", *refs, cwd=cwd, timeout=FETCH_TIMEOUT)
    for line in listed.splitlines():
        sha, _, ref = line.partition("\t")
        found[ref] = sha
    if found:
        git("fetch", "--quiet", "--no-tags", "origin", *(f"+{ref}:{ref}" for ref in found), cwd=cwd,
            timeout=FETCH_TIMEOUT)
    return found


def files_of(cwd: str | Path, commit: str) -> dict[str, bytes]:
    """The files of a meta commit (path → content)."""
    import subprocess

    names = git("ls-tree", "-r", "--name-only", "-z", commit, cwd=cwd).split("\0")
    return {name: subprocess.run(["git", "cat-file", "blob", f"{commit}:{name}"], cwd=cwd, capture_output=True,
                                 check=True).stdout for name in names if name}


def restore(repo_top: str | Path, commit: str, path: Path, branch: str) -> None:
    """A new worktree on ``branch`` at the snapshot's HEAD, its files exactly as the snapshot holds them
    (what was uncommitted there is uncommitted here)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    git("worktree", "add", "--quiet", "--no-checkout", "--no-track", "-b", branch, str(path), f"{commit}^1",
        cwd=repo_top)
    git("read-tree", "-u", "--reset", commit, cwd=path)
    git("reset", "--quiet", cwd=path)


def bring_in(worktree: str | Path, commit: str) -> None:
    """Make a clean worktree hold a snapshot's work: its branch moved forward to the snapshot's HEAD (the job's
    commits), its files as the snapshot has them. A worktree with changes of its own, or a branch that went
    another way, is refused (GitError) and left as it is."""
    if git("status", "--porcelain", cwd=worktree):
        raise GitError(f"{worktree} has changes of its own; the job's work was left on origin as {commit}")
    head, parent = git("rev-parse", "HEAD", cwd=worktree), git("rev-parse", f"{commit}^1", cwd=worktree)
    if head != parent:
        try:
            git("merge", "--ff-only", "--quiet", parent, cwd=worktree)
        except GitError:
            raise GitError(f"{worktree}'s branch went another way; the job's work was left on origin as "
                           f"{commit}") from None
    git("read-tree", "-m", "-u", "HEAD", commit, cwd=worktree)
    git("reset", "--quiet", cwd=worktree)
