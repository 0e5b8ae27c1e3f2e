"""A local Linear GraphQL server for the operations podium sends, checked against Linear's own types.

Test code only. Every query and mutation is parsed (graphql-core) and every field it selects,
every argument type and every input key is looked up in the GraphQL types that Linear's
official SDK (``@linear/sdk``, pinned in tests/agent-clis) is generated from; a field Linear
does not have is an error recorded in ``errors``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from graphql import FieldNode, OperationDefinitionNode, parse

from servers import JsonHandler, LocalServer

SDK = Path(__file__).resolve().parent.parent / "agent-clis" / "node_modules" / "@linear" / "sdk" / "dist"
_TYPE = re.compile(r"^type (\w+) = (?:[\w ]+ & )*\{\n(.*?)\n\};", re.MULTILINE | re.DOTALL)
_FIELD = re.compile(r"^  (\w+)\??: (.+);$", re.MULTILINE)


@cache
def linear_types() -> dict[str, dict[str, str]]:
    """GraphQL object and input types as the SDK declares them: type -> field -> its (innermost) type name."""
    types: dict[str, dict[str, str]] = {}
    for path in SDK.glob("*.d.mts"):
        for name, body in _TYPE.findall(path.read_text()):
            fields = {}
            for fname, ftype in _FIELD.findall(body):
                inner = re.sub(r"^(?:InputMaybe|Maybe|Array|Scalars)<|>+$", "", ftype)
                while re.match(r"^(?:InputMaybe|Maybe|Array)<", inner):
                    inner = re.sub(r"^(?:InputMaybe|Maybe|Array)<", "", inner)
                m = re.search(r'Scalars\["(\w+)"\]|(\w+)', inner)
                fields[fname] = (m.group(1) or m.group(2)) if m else inner
            if fields and name not in types:
                types[name] = fields
    return types


def check_operation(query: str, variables: dict[str, Any]) -> list[str]:
    """What in this operation Linear's schema does not have."""
    types, problems = linear_types(), []

    def walk(selection: Any, tname: str) -> None:
        for node in selection.selections:
            if not isinstance(node, FieldNode):
                continue
            fields = types.get(tname, {})
            if node.name.value not in fields:
                problems.append(f"{tname} has no field {node.name.value}")
            elif node.selection_set:
                walk(node.selection_set, fields[node.name.value])

    for op in parse(query).definitions:
        assert isinstance(op, OperationDefinitionNode)
        for var in op.variable_definitions or ():
            tname = var.type.type.name.value if hasattr(var.type, "type") else var.type.name.value  # type: ignore
            value = variables.get(var.variable.name.value)
            if tname not in types and tname not in ("String", "Int", "Boolean", "Float", "ID"):
                problems.append(f"no input type {tname}")
            elif tname in types and isinstance(value, dict):
                problems.extend(f"{tname} has no {k}" for k in value if k not in types[tname])
        walk(op.selection_set, "Query" if op.operation.value == "query" else "Mutation")
    return problems


@dataclass
class LinearIssue:
    identifier: str
    title: str
    description: str = ""
    state: str = "Todo"
    assignee: str | None = None  # user id
    labels: list[str] = field(default_factory=list)
    comments: list[tuple[str, str]] = field(default_factory=list)  # (user id, body)


STATES = [("s-backlog", "Backlog", "backlog", 0), ("s-todo", "Todo", "unstarted", 1),
          ("s-progress", "In Progress", "started", 2), ("s-review", "In Review", "started", 3),
          ("s-done", "Done", "completed", 4), ("s-canceled", "Canceled", "canceled", 5)]


class LinearServer(LocalServer):
    def __init__(self, key: str = "lin_api_test0123456789"):
        self.key = key
        self.users = {"u-dev": "Dev Eloper", "u-carol": "Carol"}
        self.me = "u-dev"
        self.issues: dict[str, LinearIssue] = {}
        self.requests: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.serve(_Handler)

    def issue_json(self, issue: LinearIssue) -> dict[str, Any]:
        name, kind = next((n, t) for _, n, t, _ in STATES if n == issue.state)
        return {"id": f"uuid-{issue.identifier}", "identifier": issue.identifier, "title": issue.title,
                "description": issue.description, "url": f"https://linear.app/acme/issue/{issue.identifier}",
                "priorityLabel": "High", "state": {"name": name, "type": kind},
                "assignee": {"id": issue.assignee, "name": self.users[issue.assignee]} if issue.assignee else None,
                "team": {"id": "t-eng", "key": issue.identifier.split("-")[0]},
                "labels": {"nodes": [{"name": n} for n in issue.labels]},
                "attachments": {"nodes": [{"title": "Sentry event", "url": "https://sentry.example/e/1"}]},
                "comments": {"nodes": [{"body": b, "createdAt": "2026-11-20T10:00:00.000Z",
                                        "user": {"name": self.users[u]}} for u, b in issue.comments]}}

    def answer(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        name = parse(query).definitions[0].name.value  # type: ignore[attr-defined]
        by_uuid = {f"uuid-{i.identifier}": i for i in self.issues.values()}
        if name == "Me":
            return {"data": {"viewer": {"id": self.me, "name": self.users[self.me]}}}
        if name == "Issue":
            issue = self.issues.get(variables["id"])
            if issue is None:
                return {"errors": [{"message": "Entity not found: Issue", "extensions": {"code": "INVALID_INPUT"}}],
                        "data": None}
            return {"data": {"issue": self.issue_json(issue)}}
        if name == "States":
            return {"data": {"team": {"states": {"nodes": [
                {"id": i, "name": n, "type": t, "position": p} for i, n, t, p in STATES]}}}}
        if name == "Update":
            issue = by_uuid[variables["id"]]
            values = variables["input"]
            if "assigneeId" in values:
                issue.assignee = values["assigneeId"]
            if "stateId" in values:
                issue.state = next(n for i, n, _, _ in STATES if i == values["stateId"])
            return {"data": {"issueUpdate": {"success": True}}}
        if name == "Comment":
            by_uuid[variables["input"]["issueId"]].comments.append((self.me, variables["input"]["body"]))
            return {"data": {"commentCreate": {"success": True}}}
        return {"errors": [{"message": f"unknown operation {name}"}]}


class _Handler(JsonHandler):
    state: LinearServer

    def do_POST(self) -> None:
        s = self.state
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        s.requests.append({"path": self.path, "body": body, "authorization": self.headers.get("Authorization")})
        if self.headers.get("Authorization") != s.key:
            payload, code = {"errors": [{"message": "Authentication required, not authenticated",
                                         "extensions": {"code": "AUTHENTICATION_ERROR"}}]}, 400
        else:
            problems = check_operation(body["query"], body.get("variables") or {})
            if problems:
                s.errors += problems
                payload, code = {"errors": [{"message": "; ".join(problems)}]}, 400
            else:
                payload, code = s.answer(body["query"], body.get("variables") or {}), 200
        self.reply(code, payload)
