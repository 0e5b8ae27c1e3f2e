"""Workspaces: one git worktree and branch per task, started from a freshly fetched base.

No two agents share a checkout, and podium never switches a branch in a checkout
it did not create (the user's own checkout included): each job gets a new
worktree, outside the repository, on a new branch. The base is fetched first,
every time; a failed fetch is an error, not a silently stale base — unless the
user explicitly accepts the base as last fetched, and then podium says how old it is.

Worktrees live under ``$PODIUM_WORKTREES`` or the user data dir
(``~/.local/share/podium/worktrees/<repo>-<id>/``).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from podium.config import ENV_DIR
from podium.errors import GitError, UsageError
from podium.git import Refs, Repo, exclude, git
from podium.store import Job, Store, WorkspaceRecord
from podium.text import plural


@dataclass(frozen=True)
class Workspace:
    path: Path
    branch: str
    base_ref: str
    base_sha: str
    naming: tuple[str, ...] = ()  # why the branch got its name, when podium chose it
    stale: str | None = None  # set when the fetch failed and the user accepted the base as last fetched
    base_tree: str | None = None  # the base's tree: a new worktree's state, known without asking git again


def store_root(repo: Repo) -> Path:
    """podium's state for a repository: inside its git common dir, shared by all worktrees."""
    return repo.state_dir


def worktrees_root(repo: Repo) -> Path:
    import hashlib

    if os.environ.get("PODIUM_WORKTREES"):
        base = Path(os.environ["PODIUM_WORKTREES"])
    else:
        import platformdirs

        base = platformdirs.user_data_path("podium") / "worktrees"
    digest = hashlib.sha1(str(repo.common_dir).encode()).hexdigest()[:8]
    return base / f"{repo.name}-{digest}"


def create_workspace(
    repo: Repo,
    prompt: str,
    *,
    branch: str | None = None,
    base: str | None = None,
    template: str | None = None,
    allow_stale_base: bool = False,
    ticket: str | None = None,
    kind: str | None = None,
) -> Workspace:
    """Fetch origin, then add a worktree on a new branch at the base's tip (named for ``prompt``'s first line,
    or the ticket's title, id and type, the way this repository names branches).

    A failed fetch is refused, unless ``allow_stale_base``: then the base is taken as last fetched
    and ``Workspace.stale`` says how old that is.

    Serialized per repository (an exclusive lock in podium's state dir): concurrent
    ``git fetch`` and ``git worktree add`` in one repository fail on git's own ref
    and config locks, and a burst of delegations must not.
    """
    with repo_lock(repo):
        return _create(repo, prompt, branch=branch, base=base, template=template, allow_stale_base=allow_stale_base,
                       ticket=ticket, kind=kind)


@contextmanager
def repo_lock(repo: Repo, name: str = "workspace") -> Iterator[None]:
    """Exclusive, per repository, across processes: held while workspaces are created or claimed.

    Not reentrant (a second flock in the same process waits): an outer step that must span a
    workspace's creation takes a lock of another ``name``.
    """
    lock_path = store_root(repo) / f"{name}.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _create(
    repo: Repo, prompt: str, *, branch: str | None, base: str | None, template: str | None, allow_stale_base: bool,
    ticket: str | None, kind: str | None,
) -> Workspace:
    # Three git calls at once: the fetch, the settings, and the branches as last fetched — enough to learn how
    # this team names branches, which is done while the fetch runs. What must be current (origin's branches:
    # the base's tip, the names taken) is what the fetch wrote in FETCH_HEAD; with a refspec of the user's own,
    # it is read again after the fetch, in one narrow read. Then the worktree: four calls, two after another.
    reading, listing, fetching = repo.read_settings(), repo.read_refs(), repo.start_fetch()
    settings, before = repo.settings_of(reading), repo.refs_of(listing)
    proposal = None
    if not branch:  # the name a teammate would choose (made unique below, if that branch is taken)
        title = prompt.strip().splitlines()[0] if prompt.strip() else "task"
        from podium.branches import name_for

        proposal = name_for(repo, title=title, ticket=ticket, kind=kind, template=template, refs=before,
                            settings=settings)
    failed = repo.end_fetch(fetching, settings)
    stale = None
    if failed is not None:
        if not allow_stale_base:
            raise GitError(f"{failed} — podium will not start from a stale base; fix the remote, "
                           "or pass --allow-stale-base to use the base as last fetched") from None
        stale = str(failed)
    origin = repo.fetched(settings, before) if failed is None else None
    if origin is not None:
        fetched = Refs(tips={f"refs/remotes/origin/{name}": sha for name, sha in origin.items()}, times={},
                       origin_head=before.origin_head)
        refs = before.refreshed(fetched, ["refs/remotes/origin/*"])
    else:
        wanted = repo.base_refs(base, before)
        if branch:
            wanted.append(f"refs/heads/{branch}")
        elif proposal is not None:  # the name and its numbered variants (name-2, …), local and on origin
            wanted += [f"refs/heads/{proposal.name}*", f"refs/remotes/origin/{proposal.name}*"]
        refs = before.refreshed(repo.refs(wanted), wanted)
    base_ref, base_sha = repo.resolve_base(base, refs)
    if stale is not None:
        stale = f"{stale}; using {base_ref} as last fetched {_age(repo.last_fetch(base_ref))}" + (
            f", its tip committed {_age(repo.commit_time(base_sha))}")
    evidence: tuple[str, ...] = ()
    if branch:
        name = branch
    else:
        assert proposal is not None
        name = _unused(repo, proposal.name, refs)
        evidence = tuple(proposal.evidence)
    if base_ref.removeprefix("origin/") == name:
        raise GitError(f"{name!r} is the base branch; a job works on a branch of its own")
    from podium.branches import NAME_MAX

    if len(name.replace("/", "-").encode()) > NAME_MAX:
        raise GitError(f"branch name too long ({len(name)} characters; podium takes at most {NAME_MAX}): "
                       f"{name[:40]}…")
    path = _path_for(repo, name)
    if path.exists():
        raise GitError(f"a worktree already exists at {path}")
    repo.add_worktree(path, name, base_sha, refs)
    return Workspace(path=path, branch=name, base_ref=base_ref, base_sha=base_sha, naming=evidence, stale=stale,
                     base_tree=refs.tree(f"refs/remotes/{base_ref}"))


def _age(when: float | None) -> str:
    if when is None:
        return "at an unknown time"
    seconds = max(0.0, time.time() - when)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = int(seconds // size)
            return f"{plural(n, unit)} ago"
    return "less than a minute ago"


def _path_for(repo: Repo, branch: str) -> Path:
    return worktrees_root(repo) / branch.replace("/", "-")


def _unused(repo: Repo, name: str, refs: Refs) -> str:
    """``name``, or ``name-2``, ``name-3``… when a branch (local or on origin) or a worktree already has it."""
    candidate, n = name, 1
    while refs.branch_taken(candidate) or _path_for(repo, candidate).exists():
        n += 1
        candidate = f"{name}-{n}"
    return candidate


@dataclass(frozen=True)
class WorkspaceState:
    """A workspace as ``podium workspaces`` shows it, read from git now."""

    path: str
    branch: str | None
    base: str | None
    exists: bool
    ahead: int | None  # commits on the branch since its base
    behind: int | None  # commits the base gained on origin since (as of the last fetch)
    dirty: bool | None  # uncommitted changes, untracked files included
    pushed: str | None  # "no", "yes", "differs from origin", or "deleted on origin" (podium had pushed it)
    job: int | None  # its latest job (a ticket's workspace may have none yet)
    job_state: str | None
    ticket: str | None = None


def workspace_state(repo: Repo, ws: WorkspaceRecord, job: Job | None = None, behind: int | None = None,
                    pushed_sha: str | None = None) -> WorkspaceState:
    """The state of a workspace; every git question is answered by git, now (``behind`` comes from the
    caller, which counts it once per base for many workspaces; ``pushed_sha`` is what podium last pushed,
    to tell a branch deleted on origin from one never pushed)."""
    path = Path(ws.path)
    exists = (path / ".git").exists()
    ahead = dirty = pushed = None
    if exists:
        head = git("rev-parse", "HEAD", cwd=path, check=False) or None
        if head:
            out = git("rev-list", "--count", f"{ws.base_sha}..{head}", cwd=path, check=False)
            ahead = int(out) if out.isdigit() else None
        dirty = bool(git("status", "--porcelain", cwd=path, check=False).strip())
        remote = repo.ref_sha(f"refs/remotes/origin/{ws.branch}")
        if remote is None:
            pushed = "deleted on origin" if pushed_sha else "no"
        elif remote == head:
            pushed = "yes"
        else:
            pushed = "differs from origin"
    return WorkspaceState(path=ws.path, branch=ws.branch, base=ws.base_ref, exists=exists, ahead=ahead,
                          behind=behind, dirty=dirty, pushed=pushed, job=job.id if job else None,
                          job_state=job.state if job else None, ticket=ws.ticket)


def unsafe_work(state: WorkspaceState) -> str | None:
    """Why removing this workspace would lose work that exists nowhere else, or None when it would not."""
    if not state.exists:
        return None
    if state.dirty is None or state.ahead is None:
        return "git could not say what it holds"
    reasons = []
    if state.dirty:
        reasons.append("uncommitted changes")
    if state.ahead and state.pushed != "yes":
        reasons.append(f"{plural(state.ahead, 'commit')} not on origin")
    return " and ".join(reasons) or None


def browser_home(store_root: Path, workspace: str) -> Path:
    """Where a workspace's live browser (the tester's) keeps its profile and output, in podium's store."""
    import hashlib

    return store_root / "browser" / hashlib.sha256(workspace.encode()).hexdigest()[:16]


def remove_workspace(repo: Repo, state: WorkspaceState, *, forced: bool = False) -> None:
    """Remove the worktree and its branch (podium created both), and its live browser's profile; prune git's
    entry if it was deleted by hand."""
    import shutil

    if state.exists:
        args = ["worktree", "remove", *(["--force"] if forced else []), state.path]
        git(*args, cwd=repo.toplevel)  # without --force, git itself refuses a worktree with changes
    else:
        git("worktree", "prune", cwd=repo.toplevel)
    shutil.rmtree(browser_home(store_root(repo), state.path), ignore_errors=True)
    if state.branch and repo.branch_exists(state.branch):
        on_origin = repo.ref_sha(f"refs/remotes/origin/{state.branch}")
        head = repo.ref_sha(f"refs/heads/{state.branch}")
        if forced or state.ahead == 0 or (on_origin is not None and on_origin == head):
            git("branch", "-D", state.branch, cwd=repo.toplevel)


PORT_FIRST, PORT_LAST, PORT_BLOCK = 20000, 39999, 10


def allocate_ports(store: Store, workspace: str, branch: str) -> int:
    """The first of this workspace's ``PORT_BLOCK`` ports: stable (derived from the branch, kept in the
    store), unique among podium's workspaces, and free on this machine when handed out.
    Call under ``repo_lock`` so two new workspaces cannot take the same block."""
    known = store.port_base(workspace)
    if known is not None:
        return known
    taken = store.taken_port_bases()
    blocks = (PORT_LAST - PORT_FIRST + 1) // PORT_BLOCK
    import hashlib

    start = int(hashlib.sha1(branch.encode()).hexdigest(), 16) % blocks
    for i in range(blocks):
        base = PORT_FIRST + ((start + i) % blocks) * PORT_BLOCK
        if base not in taken and all(_port_free(p) for p in range(base, base + PORT_BLOCK)):
            store.set_port_base(workspace, base)
            return base
    raise GitError("no free block of ports left between 20000 and 39999")


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def write_env(repo: Repo, ws: Workspace, port_base: int) -> Path:
    """``<worktree>/.podium/env``: what agents and the dev servers they start should use in this workspace.

    The folder is excluded from git for every worktree (``info/exclude`` in the common dir), so it can
    never enter a commit, a diff or a job's work.
    """
    exclude_env_dir(repo)
    values = {
        "PODIUM_WORKSPACE": str(ws.path),
        "PODIUM_BRANCH": ws.branch,
        "PODIUM_BASE": ws.base_ref,
        "PORT": str(port_base),
        "PODIUM_PORT_BASE": str(port_base),
        "PODIUM_PORTS": f"{port_base}-{port_base + PORT_BLOCK - 1}",
    }
    path = ws.path / ENV_DIR / "env"
    if path.parent.exists() and not path.parent.is_dir():
        raise UsageError(f"{ws.base_ref} holds a file named {ENV_DIR}, where podium keeps each worktree's "
                         f"environment ({ENV_DIR}/env): rename that file on the base to delegate here")
    path.parent.mkdir(exist_ok=True)
    path.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    return path


def exclude_env_dir(repo: Repo) -> None:
    """Keep ``.podium/`` out of git in every worktree of the repository (``info/exclude`` in the common dir)."""
    exclude(repo, f"/{ENV_DIR}/")


def read_env(workspace: str | Path) -> dict[str, str]:
    """The workspace's env file as a dict (empty when it has none)."""
    try:
        text = (Path(workspace) / ENV_DIR / "env").read_text()
    except OSError:
        return {}
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
