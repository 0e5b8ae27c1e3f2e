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
from podium.git import FETCH_TIMEOUT, Snapshot, git, snapshot

IDENTITY = {"GIT_AUTHOR_NAME": "podium", "GIT_AUTHOR_EMAIL": "podium@localhost",
            "GIT_COMMITTER_NAME": "podium", "GIT_COMMITTER_EMAIL": "podium@localhost"}


def job_ref(checkout: str, job_id: int) -> str:
    return f"refs/podium/jobs/{checkout}/{job_id}"


def meta_ref(checkout: str, job_id: int) -> str:
    return f"refs/podium/meta/{checkout}/{job_id}"


def commit_worktree(worktree: str | Path, message: str, previous: str | None = None) -> str:
    """A commit of everything in the worktree: its first parent the worktree's HEAD, its second the job's previous
    snapshot (so every snapshot stays reachable from the ref, the one a run started from too)."""
    return commit_state(worktree, snapshot(worktree), message, previous)


def commit_state(worktree: str | Path, state: Snapshot, message: str, previous: str | None = None) -> str:
    parents = ["-p", state.head] + (["-p", previous] if previous and previous != state.head else [])
    return git("commit-tree", state.tree, *parents, "-m", message, cwd=worktree, env=IDENTITY)


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


def reset_to(worktree: str | Path, commit: str) -> None:
    """Make a worktree of podium's (a worker's copy, whose every state is on origin) hold exactly a snapshot: its
    branch at the snapshot's HEAD, its files as the snapshot has them."""
    git("reset", "--quiet", "--hard", f"{commit}^1", cwd=worktree)
    git("clean", "-fdq", cwd=worktree)
    git("read-tree", "-u", "--reset", commit, cwd=worktree)
    git("reset", "--quiet", cwd=worktree)


def reset_to_base(worktree: str | Path, base: str) -> None:
    """A worker's copy of a branch's worktree set back to a fresh start at ``base``."""
    git("reset", "--quiet", "--hard", base, cwd=worktree)
    git("clean", "-fdq", cwd=worktree)


def bring_in(worktree: str | Path, commit: str, start: Snapshot) -> None:
    """Make a worktree that is still as the job found it (``start``) hold the job's work: its files exactly as the
    snapshot has them (what the job added, changed and deleted; uncommitted as the agent left it), and its branch
    moved forward to the snapshot's HEAD (the job's own commits). A worktree changed here meanwhile, or a branch
    that went another way, is refused (GitError) and left as it is: the work stays on origin."""
    now = snapshot(worktree)
    if (now.head, now.tree) != (start.head, start.tree):
        raise GitError(f"{worktree} changed here while the job ran; its work was left on origin as {commit}")
    head = git("rev-parse", f"{commit}^1", cwd=worktree)
    if head != now.head and not _ancestor(worktree, now.head, head):
        raise GitError(f"the job's branch went another way; its work was left on origin as {commit}")
    with tempfile.TemporaryDirectory(prefix="podium-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git("read-tree", start.tree, cwd=worktree, env=env)
        git("update-index", "-q", "--refresh", cwd=worktree, env=env, check=False)
        git("read-tree", "-m", "-u", start.tree, commit, cwd=worktree, env=env)
    if head != now.head:
        branch = git("symbolic-ref", "HEAD", cwd=worktree)
        git("update-ref", branch, head, now.head, cwd=worktree)
    git("reset", "--quiet", cwd=worktree)  # the index follows HEAD again; the files stay as the job left them


def _ancestor(cwd: str | Path, older: str, newer: str) -> bool:
    import subprocess

    return subprocess.run(["git", "merge-base", "--is-ancestor", older, newer], cwd=cwd,
                          capture_output=True).returncode == 0
