"""GitLab issues as a tracker (REST API v4, httpx).

The project comes from ``origin`` (``gitlab.com/<group>/<project>``, subgroups and
self-managed hosts too; the API is ``https://<host>/api/v4``) unless ``[tracker] project``
names it; ``api`` overrides the API address. The token comes from ``GITLAB_TOKEN`` or
``GL_TOKEN``, else from the GitLab CLI the user is logged in with (``glab``); podium never
stores it. "Active" is an open issue with the ``active_label`` label (default
``workflow::in progress``, a scoped label GitLab boards use).
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from podium.errors import UsageError
from podium.git import Repo
from podium.providers import Comment, ProviderError, Ticket, TicketNotFound, cli_output
from podium.providers.github import parse_remote
from podium.providers.http import Api, NotFound

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


class GitLabTracker:
    name = "gitlab"

    def __init__(self, checkout: Repo, project: str | None = None, api: str | None = None,
                 active_label: str = "workflow::in progress"):
        remote = _parse(checkout.origin_url())
        host = remote[0] if remote else "gitlab.com"
        if project is None:
            if remote is None:
                raise UsageError("origin is not a GitLab project; set [tracker] project = \"group/project\"")
            project = remote[1]
        self.project = project
        self.active_label = active_label
        self.api = Api("GitLab", api or f"https://{host}/api/v4", {"PRIVATE-TOKEN": gitlab_token(host),
                                                                   "User-Agent": "podium"},
                       auth_hint="create a new token and set GITLAB_TOKEN, or glab auth login")
        self.base = f"/projects/{quote(project, safe='')}/issues"
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


def _parse(url: str) -> tuple[str, str] | None:
    """(host, "group/…/project") of a GitLab remote (any depth of subgroups)."""
    parsed = parse_remote(url, max_depth=None)
    return parsed if parsed and "gitlab" in parsed[0] else None
