"""A local GitLab (REST API v4) server for the issue endpoints podium calls.

Test code only. Shapes follow GitLab's REST reference for issues, notes and the current
user; no package ships GitLab's OpenAPI description, so the bodies podium sends are checked
here by hand: only the documented keys, of the documented types.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

from servers import JsonHandler, LocalServer

UPDATE_KEYS = {"assignee_ids": list, "add_labels": str, "remove_labels": str, "labels": str, "title": str,
               "description": str, "state_event": str, "milestone_id": int}


@dataclass
class GitLabIssue:
    iid: int
    title: str
    description: str = ""
    state: str = "opened"
    labels: list[str] = field(default_factory=list)
    assignees: list[int] = field(default_factory=list)
    notes: list[tuple[int, str, bool]] = field(default_factory=list)  # (user id, body, system)


class GitLabServer(LocalServer):
    def __init__(self, project: str = "acme/web/shop", token: str = "glpat-test0123456789"):
        self.project, self.token = project, token
        self.users = {7: ("dev", "Dev Eloper"), 8: ("carol", "Carol")}
        self.me = 7
        self.issues: dict[int, GitLabIssue] = {}
        self.requests: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.serve(_Handler)

    def user(self, uid: int) -> dict[str, Any]:
        username, name = self.users[uid]
        return {"id": uid, "username": username, "name": name, "state": "active",
                "web_url": f"https://gitlab.example/{username}"}

    def issue_json(self, issue: GitLabIssue) -> dict[str, Any]:
        return {"id": 900 + issue.iid, "iid": issue.iid, "project_id": 42, "title": issue.title,
                "description": issue.description, "state": issue.state, "labels": issue.labels,
                "assignees": [self.user(u) for u in issue.assignees],
                "assignee": self.user(issue.assignees[0]) if issue.assignees else None,
                "milestone": {"id": 1, "title": "Sprint 12"}, "author": self.user(8),
                "web_url": f"https://gitlab.example/{self.project}/-/issues/{issue.iid}",
                "created_at": "2026-11-20T10:00:00.000Z", "updated_at": "2026-11-20T10:00:00.000Z"}


class _Handler(JsonHandler):
    state: GitLabServer

    def _body(self) -> Any:
        data = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
        self.state.requests[-1]["body"] = data
        return data

    def _route(self) -> None:
        s = self.state
        path = urlsplit(self.path).path
        s.requests.append({"method": self.command, "path": path, "token": self.headers.get("PRIVATE-TOKEN")})
        if self.headers.get("PRIVATE-TOKEN") != s.token:
            self.reply(401, {"message": "401 Unauthorized"})
            return
        if path == "/api/v4/user":
            self.reply(200, s.user(s.me))
            return
        m = re.fullmatch(rf"/api/v4/projects/{re.escape(quote(s.project, safe=''))}/issues/(\d+)(/notes)?", path)
        issue = s.issues.get(int(m.group(1))) if m else None
        if issue is None:
            self.reply(404, {"message": "404 Not found"})
            return
        notes = m.group(2) if m else None
        if notes and self.command == "GET":
            self.reply(200, [{"id": i, "body": b, "author": s.user(u), "system": system,
                              "created_at": "2026-11-21T09:00:00.000Z"}
                             for i, (u, b, system) in enumerate(issue.notes)])
        elif notes and self.command == "POST":
            body = self._body()
            if set(body) != {"body"} or not isinstance(body["body"], str):
                s.errors.append(f"bad note {body}")
                self.reply(400, {"message": "body is missing"})
                return
            issue.notes.append((s.me, body["body"], False))
            self.reply(201, {"id": len(issue.notes), "body": body["body"], "author": s.user(s.me)})
        elif self.command == "GET":
            self.reply(200, s.issue_json(issue))
        elif self.command == "PUT":
            body = self._body()
            bad = [k for k, v in body.items() if k not in UPDATE_KEYS or not isinstance(v, UPDATE_KEYS[k])]
            if bad:
                s.errors.append(f"PUT {path}: undocumented or mistyped {bad}")
                self.reply(400, {"message": f"{bad} is invalid"})
                return
            if "assignee_ids" in body:
                issue.assignees = list(body["assignee_ids"])
            if "add_labels" in body:
                issue.labels += [x for x in body["add_labels"].split(",") if x not in issue.labels]
            self.reply(200, s.issue_json(issue))
        else:
            self.reply(405, {"message": "405 Method Not Allowed"})

    do_GET = do_POST = do_PUT = _route
