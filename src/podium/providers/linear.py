"""Linear as a tracker, over its GraphQL API (httpx).

``[tracker] kind = "linear"``; the API key from ``LINEAR_API_KEY`` (a personal API key,
sent as Linear expects it) — never stored by podium. Issues are named by identifier
(``ENG-123``). "Active" is the team's first workflow state of type ``started`` (Linear's
"In Progress"), or the state named ``[tracker] active``.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

from podium.errors import UsageError
from podium.git import Repo
from podium.providers import Attachment, Comment, ProviderError, Ticket, TicketNotFound
from podium.providers.http import Api

ISSUE = """query Issue($id: String!) { issue(id: $id) {
  id identifier title description url priorityLabel
  state { name type } assignee { id name } team { id key }
  labels { nodes { name } } attachments { nodes { title url } }
  comments { nodes { body createdAt user { name } } } } }"""
VIEWER = "query Me { viewer { id name } }"
STATES = "query States($teamId: String!) { team(id: $teamId) { states { nodes { id name type position } } } }"
UPDATE = """mutation Update($id: String!, $input: IssueUpdateInput!) {
  issueUpdate(id: $id, input: $input) { success } }"""
COMMENT = """mutation Comment($input: CommentCreateInput!) { commentCreate(input: $input) { success } }"""
KIND_LABELS = {"bug": "bug", "feature": "feature", "improvement": "feature", "chore": "task", "docs": "docs"}


def _auth_failed(response: httpx.Response) -> bool:
    if response.status_code == 401:
        return True
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        return False
    return any((e.get("extensions") or {}).get("code") == "AUTHENTICATION_ERROR" for e in errors)


class LinearTracker:
    name = "linear"

    def __init__(self, checkout: Repo, api: str = "https://api.linear.app", active: str | None = None):
        key = os.environ.get("LINEAR_API_KEY")
        if not key:
            raise UsageError("no Linear API key: set LINEAR_API_KEY (Settings → Security & access → API keys)")
        self.active = active
        self.api = Api("Linear", api, {"Authorization": key, "Content-Type": "application/json",
                                       "User-Agent": "podium"},
                       auth_hint="create a new key and set LINEAR_API_KEY", auth_failed=_auth_failed)
        self._viewer: dict[str, Any] | None = None
        self._issues: dict[str, dict[str, Any]] = {}

    def _query(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        data = self.api.request("POST", "/graphql", json={"query": query, "variables": variables})
        errors = data.get("errors") or []
        if errors:
            message = errors[0].get("message", "error")
            if "not found" in message.lower() or (errors[0].get("extensions") or {}).get("code") == "NOT_FOUND":
                raise TicketNotFound(f"Linear has no {variables.get('id', 'such thing')}")
            raise ProviderError(f"Linear refused the request: {message}")
        return data.get("data") or {}

    def get(self, ticket_id: str) -> Ticket:
        key = ticket_id.strip().upper()
        issue = self._query(ISSUE, {"id": key}).get("issue")
        if not issue:
            raise TicketNotFound(f"Linear has no {key}")
        self._issues[issue["identifier"]] = issue
        labels = [n["name"] for n in (issue.get("labels") or {}).get("nodes", [])]
        state = issue.get("state") or {}
        fields = {k: v for k, v in (("priority", issue.get("priorityLabel")), ("labels", ", ".join(labels))) if v}
        return Ticket(
            tracker=self.name, id=issue["identifier"], title=issue["title"],
            kind=next((KIND_LABELS[lb.lower()] for lb in labels if lb.lower() in KIND_LABELS), None),
            state=state.get("name"), assignees=[issue["assignee"]["name"]] if issue.get("assignee") else [],
            url=issue.get("url"), description=issue.get("description") or "",
            comments=[Comment(author=(c.get("user") or {}).get("name", "?"), created=c.get("createdAt", ""),
                              body=c.get("body") or "") for c in (issue.get("comments") or {}).get("nodes", [])],
            attachments=[Attachment(name=a.get("title") or "attachment", url=a["url"])
                         for a in (issue.get("attachments") or {}).get("nodes", [])],
            fields=fields, closed=state.get("type") in ("completed", "canceled"),
        )

    def _viewer_data(self) -> dict[str, Any]:
        if self._viewer is None:
            self._viewer = self._query(VIEWER, {})["viewer"]
        return self._viewer

    def me(self) -> str:
        return str(self._viewer_data()["name"])

    def _uuid(self, ticket: Ticket) -> str:
        if ticket.id not in self._issues:
            self.get(ticket.id)
        return str(self._issues[ticket.id]["id"])

    def _update(self, ticket: Ticket, values: dict[str, Any]) -> None:
        result = self._query(UPDATE, {"id": self._uuid(ticket), "input": values})
        if not (result.get("issueUpdate") or {}).get("success"):
            raise ProviderError(f"Linear did not update {ticket.id}")

    def assign_to_me(self, ticket: Ticket) -> Ticket:
        self._update(ticket, {"assigneeId": self._viewer_data()["id"]})
        return self.get(ticket.id)

    def is_active(self, ticket: Ticket) -> bool:
        state = (self._issues.get(ticket.id) or {}).get("state") or {}
        if self.active:
            return (state.get("name") or "").lower() == self.active.lower()
        return state.get("type") == "started"

    def set_active(self, ticket: Ticket) -> Ticket:
        team = (self._issues.get(ticket.id) or self._issues.setdefault(ticket.id, {})).get("team") or {}
        states = self._query(STATES, {"teamId": team.get("id", "")}).get("team", {}).get("states", {}).get("nodes", [])
        if self.active:
            chosen = next((s for s in states if s["name"].lower() == self.active.lower()), None)
        else:
            chosen = min((s for s in states if s.get("type") == "started"), key=lambda s: s.get("position", 0),
                         default=None)
        if chosen is None:
            raise ProviderError(f"the {team.get('key', '?')} team has no {self.active or 'started'} state in Linear")
        self._update(ticket, {"stateId": chosen["id"]})
        return self.get(ticket.id)

    def comment(self, ticket: Ticket, body: str) -> None:
        result = self._query(COMMENT, {"input": {"issueId": self._uuid(ticket), "body": body}})
        if not (result.get("commentCreate") or {}).get("success"):
            raise ProviderError(f"Linear did not add the comment to {ticket.id}")
