"""Jira as a tracker (REST API v3 for Jira Cloud, v2 for Data Center / Server), over httpx.

``[tracker] kind = "jira"`` with ``url = "https://acme.atlassian.net"`` (or ``JIRA_URL``).
Credentials: ``JIRA_EMAIL`` + ``JIRA_API_TOKEN`` (Cloud, basic auth), or ``JIRA_PAT`` (Data
Center personal access token, bearer); never stored by podium.

"Active" is a workflow transition: the one named ``[tracker] active`` (a transition or its
target status, e.g. ``"In Progress"``), else the first available transition into a status of
the "In Progress" category. Descriptions and comments in Atlassian Document Format are read
as plain text, and comments are written as a document.
"""

from __future__ import annotations

import base64
import os
import re
from typing import Any

from podium.errors import UsageError
from podium.git import Repo
from podium.providers import Attachment, Comment, ProviderError, Ticket, TicketNotFound
from podium.providers.http import Api, NotFound

_KEY = re.compile(r"^[A-Z][A-Z0-9_]+-\d+$")
FIELDS = "summary,description,issuetype,status,assignee,comment,attachment,priority,labels,issuelinks"


class JiraTracker:
    name = "jira"

    def __init__(self, checkout: Repo, url: str | None = None, active: str | None = None, api: int = 3):
        url = url or os.environ.get("JIRA_URL")
        if not url:
            raise UsageError("set [tracker] url = \"https://<site>.atlassian.net\" (or JIRA_URL) for Jira")
        if api not in (2, 3):
            raise UsageError("[tracker] api for Jira is 3 (Cloud) or 2 (Data Center)")
        self.url = url.rstrip("/")
        self.version = api
        self.active = active
        self.api = Api("Jira", self.url, {"Authorization": _auth(), "Accept": "application/json",
                                          "User-Agent": "podium"},
                       auth_hint="create a new API token (JIRA_API_TOKEN) or personal access token (JIRA_PAT)")
        self.rest = f"/rest/api/{self.version}"
        self._me: dict[str, Any] | None = None
        self._category: dict[str, str] = {}

    def _key(self, ticket_id: str) -> str:
        key = ticket_id.strip().upper()
        if not _KEY.match(key):
            raise TicketNotFound(f"not a Jira issue key: {ticket_id!r} (like PROJ-42)")
        return key

    def get(self, ticket_id: str) -> Ticket:
        key = self._key(ticket_id)
        try:
            issue = self.api.request("GET", f"{self.rest}/issue/{key}", params={"fields": FIELDS})
        except NotFound:
            raise TicketNotFound(f"no issue {key} in Jira at {self.url} (or no permission to see it)") from None
        f = issue.get("fields") or {}
        status = f.get("status") or {}
        category = ((status.get("statusCategory") or {}).get("key")) or ""
        self._category[key] = category
        assignee = f.get("assignee")
        comments = (f.get("comment") or {}).get("comments") or []
        extra = {}
        if (f.get("priority") or {}).get("name"):
            extra["priority"] = f["priority"]["name"]
        if f.get("labels"):
            extra["labels"] = ", ".join(f["labels"])
        links = []
        for link in f.get("issuelinks") or []:
            other = link.get("outwardIssue") or link.get("inwardIssue") or {}
            kind = (link.get("type") or {}).get("outward" if "outwardIssue" in link else "inward", "relates to")
            if other.get("key"):
                links.append(f"{kind} {other['key']}")
        return Ticket(
            tracker=self.name, id=key, title=str(f.get("summary", "")), kind=(f.get("issuetype") or {}).get("name"),
            state=status.get("name"), assignees=[assignee.get("displayName", "")] if assignee else [],
            url=f"{self.url}/browse/{key}", description=adf_text(f.get("description")),
            comments=[Comment(author=(c.get("author") or {}).get("displayName", "?"), created=str(c.get("created", "")),
                              body=adf_text(c.get("body"))) for c in comments],
            attachments=[Attachment(name=a.get("filename", "attachment"), url=a.get("content", ""))
                         for a in f.get("attachment") or []],
            links=links, fields=extra, closed=category == "done",
        )

    def _myself(self) -> dict[str, Any]:
        if self._me is None:
            self._me = self.api.request("GET", f"{self.rest}/myself")
        return self._me

    def me(self) -> str:
        return str(self._myself().get("displayName") or self._myself().get("name") or "")

    def assign_to_me(self, ticket: Ticket) -> Ticket:
        me = self._myself()
        body = {"accountId": me["accountId"]} if me.get("accountId") else {"name": me.get("name")}
        self.api.request("PUT", f"{self.rest}/issue/{ticket.id}/assignee", json=body)
        return self.get(ticket.id)

    def is_active(self, ticket: Ticket) -> bool:
        if self.active:
            return (ticket.state or "").lower() == self.active.lower()
        return self._category.get(ticket.id) == "indeterminate"

    def set_active(self, ticket: Ticket) -> Ticket:
        transitions = self.api.request("GET", f"{self.rest}/issue/{ticket.id}/transitions").get("transitions", [])
        if self.active:
            wanted = self.active.lower()
            chosen = next((t for t in transitions if t.get("name", "").lower() == wanted
                           or (t.get("to") or {}).get("name", "").lower() == wanted), None)
        else:
            chosen = next((t for t in transitions
                           if ((t.get("to") or {}).get("statusCategory") or {}).get("key") == "indeterminate"), None)
        if chosen is None:
            names = ", ".join(t.get("name", "?") for t in transitions) or "none"
            raise ProviderError(f"Jira offers no transition to an in-progress status from {ticket.state} for "
                                f"{ticket.id} (available: {names}); set [tracker] active = \"<transition>\"")
        self.api.request("POST", f"{self.rest}/issue/{ticket.id}/transitions",
                         json={"transition": {"id": chosen["id"]}})
        return self.get(ticket.id)

    def comment(self, ticket: Ticket, body: str) -> None:
        self.api.request("POST", f"{self.rest}/issue/{ticket.id}/comment",
                         json={"body": adf_document(body) if self.version == 3 else body})


def _auth() -> str:
    if os.environ.get("JIRA_PAT"):
        return f"Bearer {os.environ['JIRA_PAT']}"
    email, token = os.environ.get("JIRA_EMAIL") or os.environ.get("JIRA_USER"), os.environ.get("JIRA_API_TOKEN")
    if email and token:
        return "Basic " + base64.b64encode(f"{email}:{token}".encode()).decode()
    raise UsageError("no Jira credentials: set JIRA_EMAIL and JIRA_API_TOKEN (Cloud), or JIRA_PAT (Data Center)")


def adf_text(node: Any) -> str:
    """Atlassian Document Format (or plain text, as API v2 gives it) as plain text."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node.strip()
    out: list[str] = []

    def walk(n: Any, prefix: str = "") -> None:
        kind = n.get("type")
        if kind == "text":
            out.append(n.get("text", ""))
        elif kind == "hardBreak":
            out.append("\n")
        elif kind in ("mention", "emoji"):
            out.append((n.get("attrs") or {}).get("text", ""))
        elif kind == "listItem":
            out.append(prefix)
            for child in n.get("content") or []:
                walk(child)
            return
        else:
            bullet = "- " if kind == "bulletList" else ""
            for child in n.get("content") or []:
                walk(child, bullet)
        if kind in ("paragraph", "heading", "codeBlock", "blockquote"):
            out.append("\n\n")

    walk(node)
    return re.sub(r"\n{3,}", "\n\n", "".join(out)).strip()


def adf_document(text: str) -> dict[str, Any]:
    """Plain text as an ADF document: a paragraph per block, line breaks kept."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", text.strip()):
        content: list[dict[str, Any]] = []
        for i, line in enumerate(block.splitlines()):
            if i:
                content.append({"type": "hardBreak"})
            if line:
                content.append({"type": "text", "text": line})
        paragraphs.append({"type": "paragraph", "content": content})
    return {"type": "doc", "version": 1, "content": paragraphs}
