"""A local Jira Cloud (REST API v3) server for the endpoints podium calls.

Test code only. Shapes follow Atlassian's REST v3 reference (issue, myself, assignee,
transitions, comment; Atlassian Document Format bodies). No package ships Jira's OpenAPI
description, so bodies are checked here by hand for what the reference requires.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from servers import JsonHandler, LocalServer

CATEGORIES = {"To Do": "new", "In Progress": "indeterminate", "In Review": "indeterminate", "Done": "done"}
WORKFLOW = {  # status -> transitions (id, name, to)
    "To Do": [("11", "Start work", "In Progress"), ("31", "Finish", "Done")],
    "In Progress": [("21", "Review", "In Review"), ("31", "Finish", "Done")],
    "In Review": [("31", "Finish", "Done")],
    "Done": [("41", "Reopen", "To Do")],
}


def adf(text: str) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": [
        {"type": "paragraph", "content": [{"type": "text", "text": para}]} for para in text.split("\n\n")]}


@dataclass
class JiraIssue:
    key: str
    summary: str
    description: str
    type: str = "Bug"
    status: str = "To Do"
    assignee: str | None = None  # accountId
    comments: list[tuple[str, Any]] = field(default_factory=list)  # (accountId, ADF body)


class JiraServer(LocalServer):
    def __init__(self, email: str = "dev@acme.io", token: str = "jira-token-0123456789"):
        self.email, self.token = email, token
        self.users = {"acc-dev": "Dev Eloper", "acc-carol": "Carol"}
        self.me = "acc-dev"
        self.issues: dict[str, JiraIssue] = {}
        self.requests: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.serve(_Handler)

    def user(self, account: str) -> dict[str, Any]:
        return {"accountId": account, "displayName": self.users[account], "active": True, "accountType": "atlassian",
                "self": f"{self.url}/rest/api/3/user?accountId={account}"}

    def issue_json(self, issue: JiraIssue) -> dict[str, Any]:
        status = {"name": issue.status, "id": str(len(issue.status)),
                  "statusCategory": {"key": CATEGORIES[issue.status], "name": issue.status}}
        return {"id": "10001", "key": issue.key, "self": f"{self.url}/rest/api/3/issue/{issue.key}", "fields": {
            "summary": issue.summary, "description": adf(issue.description), "status": status,
            "issuetype": {"name": issue.type, "subtask": False}, "priority": {"name": "High"}, "labels": ["checkout"],
            "assignee": self.user(issue.assignee) if issue.assignee else None,
            "attachment": [{"filename": "trace.txt", "content": f"{self.url}/rest/api/3/attachment/content/1"}],
            "issuelinks": [{"type": {"name": "Blocks", "inward": "is blocked by", "outward": "blocks"},
                            "outwardIssue": {"key": "SHOP-2"}}],
            "comment": {"total": len(issue.comments), "comments": [
                {"id": str(i), "author": self.user(a), "body": body, "created": "2026-11-20T10:00:00.000+0000"}
                for i, (a, body) in enumerate(issue.comments)]},
        }}


def _check_adf(doc: Any) -> None:
    assert isinstance(doc, dict) and doc.get("type") == "doc" and doc.get("version") == 1, "body must be an ADF doc"
    for block in doc["content"]:
        assert block["type"] == "paragraph"
        for node in block.get("content", []):
            assert node["type"] in ("text", "hardBreak") and (node["type"] != "text" or node["text"])


class _Handler(JsonHandler):
    state: JiraServer

    def _json(self) -> Any:
        data = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
        self.state.requests[-1]["body"] = data
        return data

    def _route(self) -> None:
        s = self.state
        parts = urlsplit(self.path)
        s.requests.append({"method": self.command, "path": parts.path, "query": parse_qs(parts.query)})
        expected = "Basic " + base64.b64encode(f"{s.email}:{s.token}".encode()).decode()
        if self.headers.get("Authorization") != expected:
            self.reply(401, {"errorMessages": ["Unauthorized"]})
            return
        if parts.path == "/rest/api/3/myself":
            self.reply(200, {**s.user(s.me), "emailAddress": s.email})
            return
        m = re.fullmatch(r"/rest/api/3/issue/([A-Z]+-\d+)(/\w+)?", parts.path)
        issue = s.issues.get(m.group(1)) if m else None
        if issue is None:
            self.reply(404, {"errorMessages": ["Issue does not exist or you do not have permission to see it."]})
            return
        tail = m.group(2) if m else None
        try:
            if tail is None and self.command == "GET":
                self.reply(200, s.issue_json(issue))
            elif tail == "/assignee" and self.command == "PUT":
                body = self._json()
                assert set(body) == {"accountId"} and body["accountId"] in s.users, f"bad assignee body {body}"
                issue.assignee = body["accountId"]
                self.reply(204)
            elif tail == "/transitions" and self.command == "GET":
                self.reply(200, {"transitions": [
                    {"id": tid, "name": name, "to": {"name": to, "statusCategory": {"key": CATEGORIES[to]}}}
                    for tid, name, to in WORKFLOW[issue.status]]})
            elif tail == "/transitions" and self.command == "POST":
                body = self._json()
                assert set(body) == {"transition"} and set(body["transition"]) == {"id"}, f"bad transition {body}"
                target = next((to for tid, _, to in WORKFLOW[issue.status] if tid == body["transition"]["id"]), None)
                if target is None:
                    self.reply(400, {"errorMessages": ["Transition id is not valid for this issue."]})
                    return
                issue.status = target
                self.reply(204)
            elif tail == "/comment" and self.command == "POST":
                body = self._json()
                assert set(body) == {"body"}, f"bad comment {body}"
                _check_adf(body["body"])
                issue.comments.append((s.me, body["body"]))
                self.reply(201, {"id": str(len(issue.comments)), "body": body["body"], "author": s.user(s.me)})
            else:
                self.reply(405, {"errorMessages": ["not allowed"]})
        except AssertionError as e:
            s.errors.append(f"{self.command} {parts.path}: {e}")
            self.reply(400, {"errorMessages": [str(e)]})

    do_GET = do_POST = do_PUT = _route
