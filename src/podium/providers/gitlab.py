"""GitLab issues as a tracker and merge requests as the forge (REST API v4, httpx).

The project comes from ``origin`` (``gitlab.com/<group>/<project>``, subgroups and
self-managed hosts too; the API is ``https://<host>/api/v4``) unless ``[tracker]``/``[forge]
project`` names it; ``api`` overrides the API address. The token comes from ``GITLAB_TOKEN`` or
``GL_TOKEN``, else from the GitLab CLI the user is logged in with (``glab``); podium never
stores it. "Active" is an open issue with the ``active_label`` label (default
``workflow::in progress``, a scoped label GitLab boards use).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from podium.errors import UsageError
from podium.git import Repo
from podium.providers import Check, Comment, ProviderError, PullRequest, Ticket, TicketNotFound, cli_output
from podium.providers.github import parse_remote
from podium.providers.http import Api, NotFound

DRAFT = re.compile(r"^\s*(?:\[draft\]|\(draft\)|draft:)\s*", re.IGNORECASE)  # the title prefixes GitLab reads
JOB_STATES = {"success": "passed", "skipped": "skipped", "failed": "failed", "canceled": "failed"}
KIND_LABELS = {"bug": "bug", "defect": "bug", "feature": "feature", "enhancement": "feature",
               "documentation": "docs", "docs": "docs", "task": "task", "chore": "task"}


def gitlab_token(host: str) -> str:
    for name in ("GITLAB_TOKEN", "GL_TOKEN"):
        if os.environ.get(name):
            return os.environ[name]
    token = cli_output("glab", "config", "get", "token", "--host", host, timeout=15)
    if token:
        return token
    raise UsageError(f"no GitLab token for {host}: set GITLAB_TOKEN, or log in with glab auth login")


def _connect(checkout: Repo, project: str | None, api: str | None, section: str) -> tuple[str, Api]:
    """("group/…/project", an API client) for the project: from origin unless configured."""
    remote = _parse(checkout.origin_url())
    host = remote[0] if remote else "gitlab.com"
    if project is None:
        if remote is None:
            raise UsageError(f"origin is not a GitLab project; set [{section}] project = \"group/project\"")
        project = remote[1]
    return project, Api("GitLab", api or f"https://{host}/api/v4", {"PRIVATE-TOKEN": gitlab_token(host),
                                                                    "User-Agent": "podium"},
                        auth_hint="create a new token and set GITLAB_TOKEN, or glab auth login")


class GitLabTracker:
    name = "gitlab"

    def __init__(self, checkout: Repo, project: str | None = None, api: str | None = None,
                 active_label: str = "workflow::in progress"):
        self.project, self.api = _connect(checkout, project, api, "tracker")
        self.active_label = active_label
        self.base = f"/projects/{quote(self.project, safe='')}/issues"
        self._me: dict[str, Any] | None = None

    def _iid(self, ticket_id: str) -> str:
        iid = ticket_id.strip().removeprefix("#")
        if not iid.isdigit():
            raise TicketNotFound(f"not a GitLab issue number: {ticket_id!r}")
        return iid

    def get(self, ticket_id: str) -> Ticket:
        iid = self._iid(ticket_id)
        try:
            issue = self.api.request("GET", f"{self.base}/{iid}")
        except NotFound:
            raise TicketNotFound(f"no issue #{iid} in {self.project} on GitLab") from None
        notes = self.api.request("GET", f"{self.base}/{iid}/notes", params={"sort": "asc", "per_page": 100})
        labels = list(issue.get("labels") or [])
        plain = [lb.split("::")[-1].lower() for lb in labels]
        fields = {"labels": ", ".join(labels)} if labels else {}
        if issue.get("milestone"):
            fields["milestone"] = issue["milestone"].get("title", "")
        return Ticket(
            tracker=self.name, id=iid, title=issue["title"], kind=next((KIND_LABELS[p] for p in plain
                                                                        if p in KIND_LABELS), None),
            state=issue.get("state"), assignees=[a["username"] for a in issue.get("assignees") or []],
            url=issue.get("web_url"), description=issue.get("description") or "",
            comments=[Comment(author=(n.get("author") or {}).get("username", "?"), created=n.get("created_at", ""),
                              body=n.get("body") or "") for n in notes if not n.get("system")],
            fields=fields, closed=issue.get("state") == "closed",
        )

    def _user(self) -> dict[str, Any]:
        if self._me is None:
            self._me = self.api.request("GET", "/user")
        return self._me

    def me(self) -> str:
        return str(self._user()["username"])

    def assign_to_me(self, ticket: Ticket) -> Ticket:
        issue = self.api.request("GET", f"{self.base}/{ticket.id}")
        ids = [a["id"] for a in issue.get("assignees") or []]
        self.api.request("PUT", f"{self.base}/{ticket.id}", json={"assignee_ids": [*ids, self._user()["id"]]})
        return self.get(ticket.id)

    def is_active(self, ticket: Ticket) -> bool:
        labels = [s.strip().lower() for s in ticket.fields.get("labels", "").split(",")]
        return ticket.state == "opened" and self.active_label.lower() in labels

    def set_active(self, ticket: Ticket) -> Ticket:
        if ticket.closed:
            raise ProviderError(f"issue #{ticket.id} is closed; reopen it first")
        self.api.request("PUT", f"{self.base}/{ticket.id}", json={"add_labels": self.active_label})
        return self.get(ticket.id)

    def comment(self, ticket: Ticket, body: str) -> None:
        self.api.request("POST", f"{self.base}/{ticket.id}/notes", json={"body": body})


class GitLabForge:
    """Merge requests on GitLab: one per source branch, found, created or updated in place.

    A ticket of the same GitLab project is closed by the description's ``Closes #N`` (an issue
    of another project by ``Closes group/project#N``). Screenshots are project uploads, shown
    from the address GitLab returns (relative to the project, as GitLab's own markdown has it).
    The checks are the jobs of the MR's newest pipeline for its head commit. ``draft = true``
    opens MRs as drafts, the way GitLab marks them: a ``Draft:`` title.
    """

    name = "gitlab"
    attaches_files = True

    def __init__(self, checkout: Repo, project: str | None = None, api: str | None = None, draft: bool = False):
        self.project, self.api = _connect(checkout, project, api, "forge")
        self.base = f"/projects/{quote(self.project, safe='')}"
        self.draft = draft
        self._drafts: set[str] = set()  # MRs that are drafts now: an update keeps them so

    def _pr(self, data: dict[str, Any]) -> PullRequest:
        iid, title = str(data["iid"]), str(data.get("title") or "")
        bare = DRAFT.sub("", title)
        if bare != title:
            self._drafts.add(iid)
        else:  # marked ready by someone: it stays ready
            self._drafts.discard(iid)
        return PullRequest(forge=self.name, number=iid, url=str(data.get("web_url") or ""), title=bare,
                           body=data.get("description") or "", head=str(data.get("source_branch") or ""),
                           base=str(data.get("target_branch") or ""), state=str(data.get("state") or "opened"),
                           head_sha=str(data.get("sha") or ""))

    def find_pr(self, branch: str) -> PullRequest | None:
        found = self.api.request("GET", f"{self.base}/merge_requests",
                                 params={"source_branch": branch, "state": "opened"})
        return self._pr(found[0]) if found else None

    def create_pr(self, branch: str, base: str, title: str, body: str, ticket: Ticket | None = None) -> PullRequest:
        data = self.api.request("POST", f"{self.base}/merge_requests", json={
            "source_branch": branch, "target_branch": base, "title": f"Draft: {title}" if self.draft else title,
            "description": body})
        return self._pr(data)

    def update_pr(self, pr: PullRequest, title: str, body: str) -> PullRequest:
        title = f"Draft: {title}" if pr.number in self._drafts else title
        return self._pr(self.api.request("PUT", f"{self.base}/merge_requests/{pr.number}",
                                         json={"title": title, "description": body}))

    def ticket_reference(self, ticket: Ticket) -> str | None:
        if ticket.tracker != self.name or not ticket.url or "/-/issues/" not in ticket.url:
            return None
        project = urlsplit(ticket.url).path.strip("/").split("/-/issues/")[0]
        return f"Closes #{ticket.id}" if project == self.project else f"Closes {project}#{ticket.id}"

    def link_ticket(self, pr: PullRequest, ticket: Ticket) -> None:
        """GitLab links the issue through the description's ``Closes #N``."""

    def attach(self, pr: PullRequest, path: Path) -> str | None:
        """Upload the file to the project; the address GitLab's markdown for it points at."""
        data = self.api.request("POST", f"{self.base}/uploads",
                                files={"file": (path.name, path.read_bytes(), "application/octet-stream")})
        return str(data["url"]) if data and data.get("url") else None

    def checks(self, pr: PullRequest) -> list[Check]:
        """The jobs of the MR's newest pipeline on its head commit (the pipeline itself when it has no jobs)."""
        pipelines = self.api.request("GET", f"{self.base}/merge_requests/{pr.number}/pipelines") or []
        head = next((p for p in pipelines if p.get("sha") == pr.head_sha), None) or (
            pipelines[0] if pipelines else None)
        if head is None:
            return []
        jobs = self.api.request("GET", f"{self.base}/pipelines/{head['id']}/jobs", params={"per_page": 100}) or []
        if not jobs:
            return [Check(name="pipeline", state=_job_state(head), url=head.get("web_url"))]
        return [Check(name=str(j.get("name", "job")), state=_job_state(j), url=j.get("web_url")) for j in jobs]


def _job_state(job: dict[str, Any]) -> str:
    """A job's (or pipeline's) status as a check: failures allowed to fail and manual jobs that may be left
    alone do not hold the change back."""
    status = str(job.get("status") or "")
    if status == "failed" and job.get("allow_failure"):
        return "skipped"
    if status == "manual":
        return "skipped" if job.get("allow_failure", True) else "pending"
    return JOB_STATES.get(status, "pending")


def _parse(url: str) -> tuple[str, str] | None:
    """(host, "group/…/project") of a GitLab remote (any depth of subgroups)."""
    parsed = parse_remote(url, max_depth=None)
    return parsed if parsed and "gitlab" in parsed[0] else None
