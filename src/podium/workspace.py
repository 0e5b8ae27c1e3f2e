"""Workspaces: one git worktree and branch per task, started from a freshly fetched base.

No two agents share a checkout, and podium never switches a branch in a checkout
it did not create (the user's own checkout included): each job gets a new
worktree, outside the repository, on a new branch. The base is fetched first,
every time; a failed fetch is an error, not a silently stale base.

Worktrees live under ``$PODIUM_WORKTREES`` or the user data dir
(``~/.local/share/podium/worktrees/<repo>-<id>/``).
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from podium.errors import GitError
from podium.git import Repo

SLUG_WORDS = 5
SLUG_CHARS = 40


@dataclass(frozen=True)
class Workspace:
    path: Path
    branch: str
    base_ref: str
    base_sha: str


def store_root(repo: Repo) -> Path:
    """podium's state for a repository: inside its git common dir, shared by all worktrees."""
    return repo.common_dir / "podium"


def worktrees_root(repo: Repo) -> Path:
    base = (
        Path(os.environ["PODIUM_WORKTREES"])
        if os.environ.get("PODIUM_WORKTREES")
        else (platformdirs.user_data_path("podium") / "worktrees")
    )
    digest = hashlib.sha1(str(repo.common_dir).encode()).hexdigest()[:8]
    return base / f"{repo.name}-{digest}"


def slugify(text: str, words: int = SLUG_WORDS, limit: int = SLUG_CHARS) -> str:
    tokens = re.findall(r"[a-z0-9]+", text.lower())[:words]
    return "-".join(tokens)[:limit].strip("-") or "task"


def default_branch_name(job_id: int, prompt: str) -> str:
    return f"podium/{job_id}-{slugify(prompt)}"


def create_workspace(
    repo: Repo, job_id: int, prompt: str, *, branch: str | None = None, base: str | None = None
) -> Workspace:
    """Fetch origin, then add a worktree on a new branch at the base's tip.

    Serialized per repository (an exclusive lock in podium's state dir): concurrent
    ``git fetch`` and ``git worktree add`` in one repository fail on git's own ref
    and config locks, and a burst of delegations must not.
    """
    with repo_lock(repo):
        return _create(repo, job_id, prompt, branch=branch, base=base)


@contextmanager
def repo_lock(repo: Repo) -> Iterator[None]:
    """Exclusive, per repository, across processes: held while workspaces are created or claimed."""
    lock_path = store_root(repo) / "workspace.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _create(repo: Repo, job_id: int, prompt: str, *, branch: str | None, base: str | None) -> Workspace:
    repo.fetch()
    base_ref, base_sha = repo.resolve_base(base)
    name = branch or default_branch_name(job_id, prompt)
    if base_ref.removeprefix("origin/") == name:
        raise GitError(f"{name!r} is the base branch; a job works on a branch of its own")
    path = worktrees_root(repo) / name.replace("/", "-")
    if path.exists():
        raise GitError(f"a worktree already exists at {path}")
    repo.add_worktree(path, name, base_sha)
    return Workspace(path=path, branch=name, base_ref=base_ref, base_sha=base_sha)
