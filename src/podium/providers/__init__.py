"""Trackers (where tickets live) and forges (where pull requests live), each behind a small protocol.

A tracker answers four questions and makes three writes: get a ticket (fields,
description, comments, attachments, links), who "me" is, whether it is active, assign
it to me, set it active (each tracker, and each process template, has its own word for
it), and add a comment. A forge finds a branch's pull request, creates or updates it,
links it to a ticket, attaches files and reads the checks on it.

podium's own providers register under the ``podium.trackers`` and ``podium.forges``
entry point groups exactly as a third party's would; none is imported until asked for.
Which one a repository uses: ``[tracker]``/``[forge] kind = "..."`` in ``podium.toml``
(the other keys are the provider's options), else ``local`` when the repository has a
``tickets/`` folder (trackers), else the service origin is on (GitHub, Azure DevOps, GitLab).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import asdict, dataclass, field
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, Protocol

from podium.errors import PodiumError, UsageError
from podium.git import Repo
from podium.plugins import load, registry


class ProviderError(PodiumError):
    """A tracker or forge refused or failed: said in one line, naming the service and what to do."""


class TicketNotFound(ProviderError):
    exit_code = 2


@dataclass
class Comment:
    author: str
    created: str
    body: str


@dataclass
class Attachment:
    name: str
    url: str


@dataclass
class Ticket:
    """A ticket as podium keeps it: enough for a branch name, a snapshot for the agents, and a commit message."""

    tracker: str
    id: str
    title: str
    kind: str | None = None  # bug, feature, user story, task … as the tracker calls it
    state: str | None = None
    assignees: list[str] = field(default_factory=list)
    url: str | None = None
    description: str = ""
    comments: list[Comment] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)  # anything else worth showing (priority, area, …)
    closed: bool = False

    @property
    def key(self) -> str:
        return f"{self.tracker}:{self.id}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ticket:
        values = dict(data)
        values["comments"] = [Comment(**c) for c in values.get("comments", [])]
        values["attachments"] = [Attachment(**a) for a in values.get("attachments", [])]
        return cls(**values)


@dataclass
class PullRequest:
    forge: str
    number: str
    url: str
    title: str
    body: str
    head: str
    base: str
    state: str = "open"
    head_sha: str = ""


@dataclass
class Check:
    """One CI check or status on a PR's head commit."""

    name: str
    state: str  # passed, failed, pending, skipped
    url: str | None = None


def checks_verdict(checks: list[Check]) -> str:
    """failed if any failed, else pending if any runs, else passed; none when there are no checks."""
    states = {c.state for c in checks}
    for word in ("failed", "pending", "passed"):
        if word in states:
            return word
    return "none" if not checks else "passed"


class Forge(Protocol):
    """Where pull requests live. One PR per branch: found, created, or brought in line with the change."""

    name: str
    attaches_files: bool  # screenshots are uploaded to the PR (else listed by name)

    def find_pr(self, branch: str) -> PullRequest | None: ...

    def create_pr(self, branch: str, base: str, title: str, body: str, ticket: Ticket | None = None) -> PullRequest:
        """A new PR, linked to ``ticket`` where the forge links work items natively."""
        ...

    def update_pr(self, pr: PullRequest, title: str, body: str) -> PullRequest: ...

    def ticket_reference(self, ticket: Ticket) -> str | None:
        """The words in a PR description that link the ticket on this forge (``Closes #12``), if it can."""
        ...

    def link_ticket(self, pr: PullRequest, ticket: Ticket) -> None:
        """Make sure an existing PR is linked to the ticket (no-op where the description does it)."""
        ...

    def attach(self, pr: PullRequest, path: Path) -> str | None:
        """Upload a file to the PR and return its address, or None where the forge has no attachments."""
        ...

    def checks(self, pr: PullRequest) -> list[Check]:
        """The CI checks and statuses reported on the PR's head commit."""
        ...


class Tracker(Protocol):
    name: str

    def get(self, ticket_id: str) -> Ticket: ...

    def me(self) -> str: ...

    def assign_to_me(self, ticket: Ticket) -> Ticket: ...

    def is_active(self, ticket: Ticket) -> bool: ...

    def set_active(self, ticket: Ticket) -> Ticket: ...

    def comment(self, ticket: Ticket, body: str) -> None: ...


def detect_kind(origin_url: str) -> str | None:
    """The provider a remote URL belongs to: ``github``, ``azure`` (Azure DevOps) or ``gitlab``, else None."""
    url = origin_url.lower()
    if "github" in url:
        return "github"
    if "dev.azure.com" in url or "visualstudio.com" in url or "/_git/" in url:  # /_git/: Azure DevOps Server too
        return "azure"
    if "gitlab" in url:
        return "gitlab"
    return None


def tracker_registry() -> dict[str, EntryPoint]:
    return registry("podium.trackers")


def get_tracker(repo: Repo, settings: dict[str, Any]) -> Tracker:
    """The repository's tracker from ``[tracker]`` settings (kind + options), else the local one if it has tickets."""
    options = {k: v for k, v in settings.items() if k != "kind"}
    kind = settings.get("kind")
    if kind is None:
        if (main_checkout(repo) / "tickets").is_dir():
            kind = "local"
        elif detect_kind(repo.origin_url()):
            kind = detect_kind(repo.origin_url())
        else:
            raise UsageError("no tracker configured: add [tracker] kind = \"...\" to podium.toml "
                             f"(available: {', '.join(sorted(tracker_registry()))}), or a tickets/ folder")
    return _construct("podium.trackers", "tracker", kind, repo, options)  # type: ignore[no-any-return]


def forge_registry() -> dict[str, EntryPoint]:
    return registry("podium.forges")


def get_forge(repo: Repo, settings: dict[str, Any]) -> Forge:
    """The repository's forge from ``[forge]`` settings (kind + options), else detected from origin's URL."""
    options = {k: v for k, v in settings.items() if k != "kind"}
    kind = settings.get("kind")
    forges = forge_registry()
    if kind is None:
        kind = detect_kind(repo.origin_url())
        if kind is None:
            raise UsageError("no forge for pull requests: origin is not on a known forge; set [forge] kind = \"...\" "
                             f"in podium.toml (available: {', '.join(sorted(forges))})")
    return _construct("podium.forges", "forge", kind, repo, options)  # type: ignore[no-any-return]


def _construct(group: str, role: str, kind: str, repo: Repo, options: dict[str, Any]) -> Any:
    """Load the ``kind`` plugin from its entry point and build it with the ``[<role>]`` options."""
    cls = load(group, role, kind, unknown=UsageError, broken=ProviderError)
    try:
        return cls(repo, **options)
    except TypeError as e:
        raise UsageError(f"[{role}] settings for {kind}: {e}") from None


def cli_output(*argv: str, timeout: float = 30.0) -> str | None:
    """What a CLI the user is logged in with prints (``gh auth token``, ``az …``, ``glab …``); None when it is
    not installed, fails or prints nothing."""
    found = shutil.which(argv[0])
    if not found:
        return None
    try:
        out = subprocess.run([found, *argv[1:]], capture_output=True, text=True, timeout=timeout,
                             stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def main_checkout(repo: Repo) -> Path:
    """The repository's main working tree (where a local tracker's files live), even when run from a worktree."""
    return repo.main_checkout


def ticket_markdown(ticket: Ticket) -> str:
    """The snapshot agents read: fields, description, comments, attachments and links, as markdown."""
    lines = [f"# {ticket.id}: {ticket.title}", ""]
    facts = [("Tracker", ticket.tracker), ("Type", ticket.kind), ("State", ticket.state),
             ("Assigned to", ", ".join(ticket.assignees) or None), ("URL", ticket.url),
             *ticket.fields.items()]
    lines += [f"- **{k}:** {v}" for k, v in facts if v]
    lines += ["", "## Description", "", ticket.description.strip() or "(none)", ""]
    if ticket.comments:
        lines += ["## Comments", ""]
        for c in ticket.comments:
            lines += [f"### {c.author} — {c.created}", "", c.body.strip(), ""]
    if ticket.attachments:
        lines += ["## Attachments", "", *(f"- [{a.name}]({a.url})" for a in ticket.attachments), ""]
    if ticket.links:
        lines += ["## Links", "", *(f"- {link}" for link in ticket.links), ""]
    return "\n".join(lines).rstrip() + "\n"
