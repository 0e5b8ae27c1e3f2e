"""Git plumbing podium relies on: find the repository, fetch the base, add worktrees, read the work.

Pure git, no forge knowledge. Every call runs ``git`` with a bounded timeout and
turns failures into one-line ``GitError``s. Nothing here checks out or switches a
branch in an existing checkout: new work always gets a new worktree.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podium.errors import GitError

FETCH_TIMEOUT = 120.0
DEFAULT_REFSPEC = "+refs/heads/*:refs/remotes/origin/*"
LOCAL_TIMEOUT = 30.0


def git(
    *args: str,
    cwd: str | Path,
    timeout: float = LOCAL_TIMEOUT,
    check: bool = True,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> str:
    """Run git and return stdout (stripped of the final newline); raise GitError on failure."""
    return GitCall(*args, cwd=cwd, env=env, input=input).result(timeout=timeout, check=check)


class GitCall:
    """A git command started now and read later (``result``), so that another can run meanwhile."""

    def __init__(self, *args: str, cwd: str | Path, env: dict[str, str] | None = None, input: str | None = None):
        self.args, self.input = args, input
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C", **(env or {})}
        try:
            self.proc = _Git(["git", *args], cwd=cwd, env=env, text=True, errors="replace", stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, stdin=subprocess.DEVNULL if input is None else subprocess.PIPE)
        except FileNotFoundError:
            raise GitError("git is not installed (not found on PATH)") from None
        except NotADirectoryError:
            raise GitError(f"not a directory: {cwd}") from None

    def result(self, *, timeout: float = LOCAL_TIMEOUT, check: bool = True) -> str:
        """Its stdout (without the final newline); GitError when it fails (``check``) or takes too long."""
        proc, name = self.proc, _command(self.args)
        try:
            out, err = proc.communicate(self.input, timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise GitError(f"git {name} did not finish within {timeout:.0f}s") from None
        if check and proc.returncode != 0:
            raise GitError(f"git {name} failed: {error_detail(err) or f'exit code {proc.returncode}'}")
        return out.rstrip("\n")


def error_detail(stderr: str) -> str:
    """What git's error output says, in one line: its ``fatal:``/``error:`` lines (the cause first, as git
    prints it; a wrapped sentence of advice after them is left out), else its last line."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip() and not ln.startswith("hint:")]
    causes = [ln.split(": ", 1)[1] for ln in lines if ln.startswith(("fatal: ", "error: "))]
    if causes:
        return "; ".join(dict.fromkeys(causes[:3]))
    return lines[-1] if lines else ""


def _command(args: tuple[str, ...]) -> str:
    """The git command ``args`` run (``fetch`` in ``-c x=y fetch origin``), for messages."""
    words = iter(args)
    for word in words:
        if word in ("-c", "-C"):
            next(words, None)
        elif not word.startswith("-"):
            return word
    return args[0] if args else "git"


class _Git(subprocess.Popen[str]):
    """``communicate`` reads with its timeout, then waits for the exit with what remains of it, and a wait
    with a timeout is a sleep loop polling for the exit: milliseconds lost on every git call. Once git has
    closed its output it has ended (or is ending): wait for it without a timeout."""

    def wait(self, timeout: float | None = None) -> int:
        return super().wait()


class NoOrigin(GitError):
    """The repository has no origin at all: no stale base to fall back on either."""


IDENTITY_HINT = ('git config --global user.name "Your Name" && git config --global user.email you@example.com')


def identity(cwd: str | Path) -> tuple[str | None, str | None]:
    """Who git commits as here (``Name <email>``), or why it cannot (no user.name/user.email it can use).

    ``git var`` asks exactly what ``commit-tree`` will ask, with the same environment and config, so a
    gate learns before it acts that its commit would fail."""
    ident = ""
    for who in ("GIT_AUTHOR_IDENT", "GIT_COMMITTER_IDENT"):
        try:
            ident = git("var", who, cwd=cwd)
        except GitError as e:
            detail = str(e).removeprefix("git var failed: ")
            return None, f"git does not know who you are ({detail}); set it with: {IDENTITY_HINT}"
    return ident.rsplit(" ", 2)[0], None  # without the timestamp


def _origin_ref(base: str) -> str:
    """``develop``, ``refs/heads/develop``, ``origin/develop``, ``refs/remotes/origin/develop`` → ``origin/develop``:
    a base is always origin's, freshly fetched."""
    ref = base.removeprefix("refs/remotes/")
    return ref if ref.startswith("origin/") else f"origin/{ref.removeprefix('refs/heads/')}"


def _fetch_head_url(url: str) -> str:
    """``url`` as ``git fetch`` writes it in ``FETCH_HEAD``: without user and password, trailing slashes and
    ``.git`` (git's ``transport_anonymize_url`` and ``store_updated_refs``)."""
    at, scheme = url.find("@"), url.find("://")
    if at >= 0:
        if scheme >= 0 and url[:scheme].replace("+", "a").replace(".", "a").replace("-", "a").isalnum() and (
                "/" not in url[scheme + 3:at]):
            url = url[:scheme + 3] + url[at + 1:]
        elif scheme < 0 and ":" in url[at + 1:] and ":" in url.partition("/")[0]:
            url = url[at + 1:]  # me@there:/path/name → there:/path/name
    url = url.rstrip("/")
    return url.removesuffix(".git") if len(url) > 5 else url


def identity_problem(cwd: str | Path) -> str | None:
    """Why git cannot make a commit here as someone, or None."""
    return identity(cwd)[1]


@dataclass(frozen=True)
class Refs:
    """Every local and origin branch as one ``for-each-ref`` read them: tip commits, commit times (newest
    first), and the branch ``origin/HEAD`` names. A workspace is made from one read, not a git call per
    question."""

    tips: dict[str, str]  # full ref name → commit
    times: dict[str, float]
    origin_head: str | None  # e.g. refs/remotes/origin/main
    trees: dict[str, str] = field(default_factory=dict)  # full ref name → its commit's tree

    def sha(self, ref: str) -> str | None:
        return self.tips.get(ref)

    def tree(self, ref: str) -> str | None:
        return self.trees.get(ref)

    def branch_taken(self, name: str) -> bool:
        """A local branch, or one on origin, has this name."""
        return f"refs/heads/{name}" in self.tips or f"refs/remotes/origin/{name}" in self.tips

    def refreshed(self, fresh: Refs, patterns: list[str]) -> Refs:
        """These refs with those ``patterns`` name (``refs/heads/x`` exactly, ``refs/heads/x*`` as a prefix)
        taken from ``fresh`` instead: a later read of the refs that must be current (a narrow ``for-each-ref``,
        or origin's branches from ``FETCH_HEAD``, tips only). A ref whose tip did not move keeps its commit time
        and tree when ``fresh`` has none."""
        exact = {p for p in patterns if not p.endswith("*")}
        prefixes = tuple(p[:-1] for p in patterns if p.endswith("*"))
        stale = {r for r, s in self.tips.items() if (r in exact or r.startswith(prefixes)) and fresh.tips.get(r) != s}
        tips = {r: s for r, s in self.tips.items() if not (r in exact or r.startswith(prefixes))} | fresh.tips
        times = {r: t for r, t in self.times.items() if r in tips and r not in stale} | fresh.times
        trees = {r: t for r, t in self.trees.items() if r in tips and r not in stale} | fresh.trees
        return Refs(tips=tips, times=times, origin_head=self.origin_head, trees=trees)

    def recent(self) -> list[tuple[str, float]]:
        """Local and origin branch names with their last commit time, newest first, without duplicates."""
        seen: dict[str, float] = {}
        for ref, stamp in self.times.items():
            name = ref.removeprefix("refs/heads/").removeprefix("refs/remotes/origin/")
            if name and name != "HEAD" and name not in seen:
                seen[name] = stamp
        return list(seen.items())


@dataclass(frozen=True)
class Repo:
    """A repository as podium sees it: the checkout the user is in and the shared git dir."""

    toplevel: Path
    common_dir: Path

    @property
    def name(self) -> str:
        return (
            self.common_dir.parent.name if self.common_dir.name == ".git" else self.common_dir.name.removesuffix(".git")
        )

    @property
    def main_checkout(self) -> Path:
        """The repository's main working tree, even when podium runs in one of its worktrees."""
        return self.common_dir.parent if self.common_dir.name == ".git" else self.toplevel

    @classmethod
    def find(cls, cwd: str | Path = ".") -> Repo:
        path = Path(cwd).resolve()
        if not path.is_dir():
            raise GitError(f"not a directory: {path}")
        try:
            out = git("rev-parse", "--show-toplevel", "--git-common-dir", cwd=path)
        except GitError:
            raise GitError(f"not a git repository: {path}") from None
        lines = out.splitlines()
        if len(lines) != 2:
            raise GitError(f"not a git work tree (a bare repository?): {path}")
        top = Path(lines[0])
        common = Path(lines[1])
        if not common.is_absolute():
            common = (path / common).resolve()
        return cls(toplevel=top, common_dir=common)

    @property
    def git_dir(self) -> Path:
        """This checkout's own git dir (a linked worktree's is under the common dir's ``worktrees/``)."""
        dot = self.toplevel / ".git"
        if dot.is_file():
            path = Path(dot.read_text().partition("gitdir:")[2].strip())
            return path if path.is_absolute() else (self.toplevel / path).resolve()
        return dot if dot.is_dir() else self.common_dir

    @property
    def state_dir(self) -> Path:
        """podium's state for this repository: inside its git common dir, shared by all worktrees."""
        return self.common_dir / "podium"

    def origin_url(self, settings: dict[str, str] | None = None) -> str:
        """origin's URL (from ``settings`` when read already), or ``NoOrigin``."""
        url = settings.get("remote.origin.url", "") if settings is not None else git(
            "remote", "get-url", "origin", cwd=self.toplevel, check=False)
        if not url:
            raise NoOrigin(f"no 'origin' remote in {self.toplevel}: podium bases work on a fetched origin; add "
                           "the shared repository: git remote add origin URL")
        return url

    def settings(self) -> dict[str, str]:
        """The git settings podium reads (who the user is, where origin is), in one call."""
        return self.settings_of(self.read_settings())

    def read_settings(self) -> GitCall:
        """``settings`` started now, read later (``Repo.settings_of``)."""
        return GitCall("config", "-z", "--get-regexp", r"^(user\.(name|email)|remote\.origin\.(url|fetch))$",
                       cwd=self.toplevel)

    @staticmethod
    def settings_of(call: GitCall) -> dict[str, str]:
        """Each setting's value; a setting given more than once (``remote.origin.fetch``), its values one per line."""
        found: dict[str, str] = {}
        for record in filter(None, call.result(check=False).split("\0")):
            key, _, value = record.partition("\n")
            found[key] = f"{found[key]}\n{value}" if key in found else value
        return found

    def fetch(self, settings: dict[str, str] | None = None) -> None:
        """Fetch origin (``settings``, when read already, tell that there is one)."""
        self.origin_url(settings)
        self.start_fetch().result(timeout=FETCH_TIMEOUT)

    def start_fetch(self) -> GitCall:
        """``git fetch`` of origin, started now; its outcome is read with ``end_fetch``."""
        return GitCall("fetch", "--quiet", "--prune", "--write-fetch-head", "origin", cwd=self.toplevel)

    def end_fetch(self, fetching: GitCall, settings: dict[str, str]) -> GitError | None:
        """The fetch's error, if it failed; ``NoOrigin`` when there is no origin at all."""
        try:
            fetching.result(timeout=FETCH_TIMEOUT)
        except GitError as e:
            self.origin_url(settings)  # no origin at all: say that, not what fetch made of it
            return e
        return None

    def fetched(self, settings: dict[str, str], before: Refs) -> dict[str, str] | None:
        """origin's branches (name → tip) as the fetch that just succeeded found them, read from the
        ``FETCH_HEAD`` it wrote: every branch, since it fetches them all and prunes.

        None — read the refs instead — when that file may not be this fetch's whole account: origin's fetch
        refspec is not git's default; a line is of another remote (another tool's ``git fetch upstream`` wrote
        the file since); or a branch of origin read ``before`` the fetch is missing (another tool's fetch of
        one branch wrote it since, or a branch was deleted on origin — rare, and then one more read is right)."""
        if settings.get("remote.origin.fetch") != DEFAULT_REFSPEC:
            return None
        try:
            lines = (self.git_dir / "FETCH_HEAD").read_text(errors="replace").splitlines()
        except OSError:
            return None
        of = f"' of {_fetch_head_url(settings.get('remote.origin.url', ''))}"
        branches = {}
        for line in lines:  # <sha> TAB [not-for-merge] TAB branch '<name>' of <url>; a name holds no space
            sha, _, rest = line.partition("\t")
            note = rest.partition("\t")[2]
            if not note.endswith(of):
                return None
            if note.startswith("branch '"):
                branches[note.removeprefix("branch '").removesuffix(of)] = sha
            elif not note.startswith("tag '"):  # a tag the fetch followed is no branch
                return None
        known = (r.removeprefix("refs/remotes/origin/") for r in before.tips if r.startswith("refs/remotes/origin/"))
        if any(name != "HEAD" and name not in branches for name in known):
            return None
        return branches

    def refs(self, patterns: list[str] | None = None) -> Refs:
        """Every local and origin branch (or those ``patterns`` name), newest commit first."""
        return self.refs_of(self.read_refs(patterns))

    def read_refs(self, patterns: list[str] | None = None) -> GitCall:
        """``refs`` started now, read later (``Repo.refs_of``)."""
        return GitCall("for-each-ref", "--sort=-committerdate",
                       "--format=%(refname)%00%(objectname)%00%(committerdate:unix)%00%(symref)%00%(tree)",
                       *(patterns or ["refs/heads", "refs/remotes/origin"]), cwd=self.toplevel)

    @staticmethod
    def refs_of(call: GitCall) -> Refs:
        out = call.result()
        tips: dict[str, str] = {}
        times: dict[str, float] = {}
        trees: dict[str, str] = {}
        origin_head = None
        for line in out.splitlines():
            ref, sha, stamp, symref, tree = [*line.split("\0"), "", "", "", ""][:5]
            if ref == "refs/remotes/origin/HEAD":
                origin_head = symref or None
                continue
            tips[ref] = sha
            times[ref] = float(stamp) if stamp.isdigit() else 0.0
            if tree:
                trees[ref] = tree
        return Refs(tips=tips, times=times, origin_head=origin_head, trees=trees)

    def last_fetch(self, ref: str) -> float | None:
        """When ``ref`` (e.g. ``origin/develop``) was last brought from origin: the newest of any worktree's
        last fetch and the ref's own reflog (a clone writes no FETCH_HEAD)."""
        heads = [self.common_dir / "FETCH_HEAD", *(self.common_dir / "worktrees").glob("*/FETCH_HEAD")]
        times = [p.stat().st_mtime for p in heads if p.is_file()]
        entry = git("log", "-g", "-1", "--date=unix", "--format=%gd", f"refs/remotes/{ref}", "--",
                    cwd=self.toplevel, check=False)
        if entry.endswith("}") and "@{" in entry:
            stamp = entry.rsplit("@{", 1)[1].rstrip("}")
            if stamp.isdigit():
                times.append(float(stamp))
        return max(times) if times else None

    def commit_time(self, ref: str) -> float | None:
        out = git("log", "-1", "--format=%ct", ref, "--", cwd=self.toplevel, check=False)
        return float(out) if out.isdigit() else None

    def ref_sha(self, ref: str) -> str | None:
        out = git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=self.toplevel, check=False)
        return out or None

    def default_base(self, refs: Refs | None = None) -> str:
        """``origin/develop`` when it exists, else the remote's default branch, else main/master. origin's
        default, when no ``origin/HEAD`` says it, is asked of origin once and remembered."""
        refs = refs or self.refs()
        if refs.sha("refs/remotes/origin/develop"):
            return "origin/develop"
        if refs.origin_head:
            return refs.origin_head.removeprefix("refs/remotes/")
        remembered = self.state_dir / "origin-head"
        branch = remembered.read_text().strip() if remembered.is_file() else ""
        if not refs.sha(f"refs/remotes/origin/{branch}"):
            out = git("ls-remote", "--symref", "origin", "HEAD", cwd=self.toplevel, timeout=FETCH_TIMEOUT,
                      check=False)
            branch = next((line.split("\t")[0].removeprefix("ref: refs/heads/") for line in out.splitlines()
                           if line.startswith("ref: refs/heads/") and line.endswith("\tHEAD")), "")
            if branch:
                remembered.parent.mkdir(parents=True, exist_ok=True)
                remembered.write_text(branch + "\n")
        if branch and refs.sha(f"refs/remotes/origin/{branch}"):
            return f"origin/{branch}"
        for name in ("main", "master"):
            if refs.sha(f"refs/remotes/origin/{name}"):
                return f"origin/{name}"
        raise GitError("origin has no branches to base work on (push a first commit, or pass --base)")

    def base_refs(self, base: str | None, refs: Refs) -> list[str]:
        """Every ref ``resolve_base`` may look at for ``base`` (the default's candidates when None)."""
        if base:
            return [f"refs/remotes/{_origin_ref(base)}"]
        remembered = self.state_dir / "origin-head"
        names = ["develop", "main", "master", remembered.read_text().strip() if remembered.is_file() else ""]
        head = [refs.origin_head] if refs.origin_head else []
        return head + [f"refs/remotes/origin/{n}" for n in names if n]

    def resolve_base(self, base: str | None, refs: Refs | None = None) -> tuple[str, str]:
        """The base ref (remote-tracking) and its sha, after a fetch."""
        refs = refs or self.refs()
        ref = _origin_ref(base or self.default_base(refs))
        sha = refs.sha(f"refs/remotes/{ref}")
        if not sha:
            raise GitError(f"base {ref.removeprefix('origin/')!r} does not exist on origin")
        return ref, sha

    def behind(self, base_ref: str, base_sha: str) -> int | None:
        """Commits on ``base_ref`` (as last fetched) that ``base_sha`` lacks; None when unknown."""
        out = git("rev-list", "--count", f"{base_sha}..refs/remotes/{base_ref}", cwd=self.toplevel, check=False)
        return int(out) if out.isdigit() else None

    def branch_exists(self, branch: str) -> bool:
        return self.ref_sha(f"refs/heads/{branch}") is not None

    def worktrees(self) -> list[tuple[str, str | None]]:
        """The repository's worktrees: (path, branch; None when detached)."""
        found: list[tuple[str, str | None]] = []
        for block in git("worktree", "list", "--porcelain", cwd=self.toplevel).split("\n\n"):
            fields = dict(line.partition(" ")[::2] for line in block.splitlines())
            if "worktree" in fields:
                branch = fields.get("branch")
                found.append((fields["worktree"], branch.removeprefix("refs/heads/") if branch else None))
        return found

    def add_worktree(self, path: Path, branch: str, start: str, refs: Refs | None = None) -> None:
        """A new worktree on a new branch from ``start``; refuses an existing branch name. A worktree deleted
        by hand that still holds the path or the branch is pruned, and the add tried once more."""
        if (refs.sha(f"refs/heads/{branch}") if refs else self.branch_exists(branch)):
            raise GitError(f"branch {branch!r} already exists; pick another --branch")
        path.parent.mkdir(parents=True, exist_ok=True)
        argv = ("worktree", "add", "--quiet", "--no-track", "-b", branch, str(path), start)
        try:
            git(*argv, cwd=self.toplevel)
        except GitError as e:
            if "not a valid branch name" in str(e):
                raise GitError(f"not a valid branch name: {branch!r}") from None
            git("worktree", "prune", cwd=self.toplevel)
            made = self.ref_sha(f"refs/heads/{branch}")
            if made is None:
                git(*argv, cwd=self.toplevel)
            elif made == self.ref_sha(start):  # the failed add made the branch before the path stopped it
                git("worktree", "add", "--quiet", str(path), branch, cwd=self.toplevel)
            else:
                raise GitError(f"branch {branch!r} already exists; pick another --branch") from None


def exclude(repo: Repo, pattern: str) -> None:
    """Keep ``pattern`` out of git in every worktree of the repository (``info/exclude`` in the common dir)."""
    path = repo.common_dir / "info" / "exclude"
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = path.read_text().splitlines() if path.exists() else []
    if pattern not in lines:
        with path.open("a") as f:
            f.write(("\n" if lines and lines[-1] else "") + f"{pattern}\n")


@dataclass(frozen=True)
class Snapshot:
    """A worktree's state at one moment: its HEAD and a tree of every file in it (ignored files aside)."""

    head: str
    tree: str


def snapshot(worktree: str | Path) -> Snapshot:
    """Record the worktree's full state without touching its index (a private copy of it is used)."""
    wt = Path(worktree)
    if not wt.is_dir():
        raise GitError(f"worktree is gone: {wt}")
    index = Path(git("rev-parse", "--path-format=absolute", "--git-path", "index", cwd=wt))
    with tempfile.TemporaryDirectory(prefix="podium-index-") as tmp:
        private = Path(tmp) / "index"
        if index.exists():
            # The copy keeps the entries' stat data, so only changed files are hashed again; copy2 also keeps
            # the index's own mtime, which git's racy-entry check needs: with a fresh mtime, a file rewritten
            # with the same size within the same second as the last index write looks unchanged.
            shutil.copy2(index, private)
        env = {"GIT_INDEX_FILE": str(private)}
        git("add", "--all", "--", ".", cwd=wt, env=env)
        tree = git("write-tree", cwd=wt, env=env)
    return Snapshot(head=git("rev-parse", "HEAD", cwd=wt), tree=tree)


def changed_between(worktree: str | Path, before: Snapshot, after: Snapshot) -> list[str]:
    """Paths that differ between two snapshots of a worktree."""
    return diff_names(worktree, before.tree, after.tree)


def tree_entries(worktree: str | Path, tree: str) -> dict[str, tuple[str, str]]:
    """Every file of ``tree``: path → (mode, blob sha)."""
    out = git("ls-tree", "-r", "-z", "--full-tree", tree, cwd=worktree)
    entries = {}
    for record in filter(None, out.split("\0")):
        meta, path = record.split("\t", 1)
        mode, _kind, sha = meta.split(" ")
        entries[path] = (mode, sha)
    return entries


def tree_with(worktree: str | Path, base: str, source: str, paths: list[str]) -> str:
    """A tree that is ``base`` with exactly ``paths`` taken from the tree ``source`` (deleted where
    ``source`` lacks them). Built in a private index: the worktree's own index is not touched."""
    wanted = tree_entries(worktree, source)
    zero = "0" * 40
    lines = []
    for path in paths:
        if path in wanted:
            mode, sha = wanted[path]
            lines.append(f"{mode} {sha}\t{path}")
        else:
            lines.append(f"0 {zero}\t{path}")
    with tempfile.TemporaryDirectory(prefix="podium-index-") as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git("read-tree", base, cwd=worktree, env=env)
        git("update-index", "-z", "--index-info", cwd=worktree, env=env, input="".join(ln + "\0" for ln in lines))
        return git("write-tree", cwd=worktree, env=env)


PLACEHOLDER_IDENTITY = {"GIT_AUTHOR_NAME": "podium", "GIT_AUTHOR_EMAIL": "podium@localhost",
                        "GIT_COMMITTER_NAME": "podium", "GIT_COMMITTER_EMAIL": "podium@localhost"}


def replay(worktree: str | Path, base: str, tree: str, onto: str) -> tuple[str, list[str]]:
    """The change ``base`` → ``tree`` replayed onto the commit ``onto``: (the resulting tree, the paths that
    conflict, whose files then hold both sides between conflict markers). A three-way merge computed by
    ``git merge-tree --write-tree`` in git's object store: no index, no checkout, no ref is touched (the change
    is wrapped in a throwaway commit on ``base``, so that ``base`` is the merge base)."""
    change = git("commit-tree", tree, "-p", base, "-m", "podium: the change to replay", cwd=worktree,
                 env=PLACEHOLDER_IDENTITY)
    call = GitCall("merge-tree", "--write-tree", "--name-only", "--no-messages", onto, change, cwd=worktree)
    out = call.result(check=False)
    if call.proc.returncode not in (0, 1):
        raise GitError(f"git merge-tree failed (exit code {call.proc.returncode}): is git 2.38 or newer installed?")
    merged, *conflicts = out.splitlines() or [""]
    return merged, sorted(set(filter(None, conflicts)))


def move_files(worktree: str | Path, old: str, new: str) -> None:
    """Bring a worktree's files and index from the tree ``old`` to ``new`` (``git read-tree -m -u``): a file
    changed in the worktree is kept where ``old`` and ``new`` agree on it; GitError, and nothing changed, where
    they do not (or where an untracked file is in the way). HEAD is not moved."""
    git("read-tree", old, cwd=worktree)
    git("update-index", "-q", "--refresh", cwd=worktree, check=False)  # stat data, so unchanged files read so
    try:
        git("read-tree", "-m", "-u", old, new, cwd=worktree)
    except GitError:
        git("reset", "--quiet", cwd=worktree)  # the index back to HEAD: as it was before, files untouched
        raise


def diff_names(worktree: str | Path, a: str, b: str) -> list[str]:
    """Paths that differ between two trees (or commits)."""
    if a == b:
        return []
    out = git("diff", "--name-only", "--no-renames", "-z", a, b, cwd=worktree)
    return sorted(filter(None, out.split("\0")))


def patch(worktree: str | Path, a: str, b: str, limit: int = 400_000) -> tuple[str, bool]:
    """The unified diff between two trees (or commits), cut at ``limit`` characters: (text, whether it was cut)."""
    if a == b:
        return "", False
    out = git("diff", "--no-color", "--no-renames", "--no-ext-diff", a, b, cwd=worktree)
    return (out[:limit], True) if len(out) > limit else (out, False)


def numstat(worktree: str | Path, *revs: str) -> list[dict[str, Any]]:
    """Lines added and deleted per path (``git diff --numstat`` of ``revs``; binary files count 0)."""
    stats: list[dict[str, Any]] = []
    for line in git("diff", "--numstat", "--no-renames", *revs, cwd=worktree).splitlines():
        added, deleted, path = line.split("\t", 2)
        stats.append({"path": path, "added": int(added) if added.isdigit() else 0,
                      "deleted": int(deleted) if deleted.isdigit() else 0})
    return stats


@dataclass
class Work:
    """What a job produced, as git sees it: commits on top of the base and changes in the worktree."""

    commits: list[dict[str, str]] = field(default_factory=list)
    files: list[dict[str, object]] = field(default_factory=list)
    uncommitted: bool = False
    head: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {"commits": self.commits, "files": self.files, "uncommitted": self.uncommitted, "head": self.head}


def read_work(worktree: str | Path, base_sha: str) -> Work:
    """Commits since ``base_sha`` and every changed file (committed, staged, unstaged, untracked)."""
    wt = Path(worktree)
    if not wt.is_dir():
        raise GitError(f"worktree is gone: {wt}")
    head = git("rev-parse", "HEAD", cwd=wt)
    log = git("log", "--reverse", "--format=%H%x09%s", f"{base_sha}..HEAD", cwd=wt)
    commits = [dict(zip(("sha", "subject"), line.split("\t", 1), strict=False)) for line in log.splitlines() if line]
    files: dict[str, dict[str, object]] = {str(f["path"]): f for f in numstat(wt, base_sha)}
    untracked = git("ls-files", "--others", "--exclude-standard", "-z", cwd=wt).split("\0")
    for path in filter(None, untracked):
        try:
            lines = (wt / path).read_bytes().count(b"\n")
        except OSError:
            lines = 0
        files.setdefault(path, {"path": path, "added": lines, "deleted": 0, "untracked": True})
    status = git("status", "--porcelain", "--untracked-files=normal", cwd=wt)
    return Work(
        commits=commits,
        files=sorted(files.values(), key=lambda f: str(f["path"])),
        uncommitted=bool(status.strip()),
        head=head,
    )
