"""A local Azure DevOps server (Boards + Repos) for the endpoints podium calls.

Test code only. Every request body and every response is checked against Microsoft's
Swagger descriptions (tests/specs/azure-devops) before it is answered; a mismatch is a
500 and is recorded in ``errors``. Lists are wrapped as the service wraps them
(``{"count": n, "value": [...]}``).

``collection`` is the path of the organization's (or, on Azure DevOps Server, the
collection's) URL: ``/contoso`` as on dev.azure.com, ``/tfs/DefaultCollection`` to play
an on-premises server. Given ``origin`` (a bare repository), the server also speaks git's
smart HTTP protocol at the repository's own address, ``<collection>/<project>/_git/<repo>``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jsonschema

from servers import JsonHandler, LocalServer
from servers.swagger import azure_devops

STAMP = "2026-11-20T10:00:00Z"
PROCESS_STATES = {  # (name, category), as the Agile and Scrum process templates define them
    "Bug": [("New", "Proposed"), ("Active", "InProgress"), ("Resolved", "Resolved"), ("Closed", "Completed")],
    "User Story": [("New", "Proposed"), ("Active", "InProgress"), ("Resolved", "Resolved"), ("Closed", "Completed")],
    "Product Backlog Item": [("New", "Proposed"), ("Approved", "Proposed"), ("Committed", "InProgress"),
                             ("Done", "Completed"), ("Removed", "Removed")],
}

# GET <organization>/_apis/connectionData is not in Microsoft's Swagger files; its shape as Microsoft documents the
# ConnectionData and Identity types (learn.microsoft.com azure-devops-extension-api, and the azure-devops Python
# client's location models): identity properties are a PropertiesCollection, {"Name": {"$type", "$value"}}.
_PROPERTY = {"type": "object", "required": ["$type", "$value"],
             "properties": {"$type": {"type": "string"}, "$value": {}}}
_IDENTITY = {"type": "object", "required": ["id", "descriptor", "providerDisplayName", "isActive", "properties"],
             "properties": {"id": {"type": "string"}, "descriptor": {"type": "string"},
                            "subjectDescriptor": {"type": "string"}, "providerDisplayName": {"type": "string"},
                            "isActive": {"type": "boolean"}, "resourceVersion": {"type": "integer"},
                            "metaTypeId": {"type": "integer"},
                            "properties": {"type": "object", "additionalProperties": _PROPERTY}}}
CONNECTION_DATA = {"type": "object", "required": ["authenticatedUser", "authorizedUser", "instanceId", "deploymentId"],
                   "properties": {"authenticatedUser": _IDENTITY, "authorizedUser": _IDENTITY,
                                  "instanceId": {"type": "string"}, "deploymentId": {"type": "string"},
                                  "deploymentType": {"enum": ["hosted", "onPremises"]},
                                  "locationServiceData": {"type": "object"}}}


@dataclass
class WorkItem:
    id: int
    type: str
    title: str
    description: str = ""
    state: str = "New"
    assigned: str | None = None
    comments: list[tuple[str, str]] = field(default_factory=list)
    relations: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class AzurePull:
    id: int
    source: str
    target: str
    title: str
    description: str
    work_items: list[str] = field(default_factory=list)
    attachments: dict[str, bytes] = field(default_factory=dict)
    draft: bool = False
    statuses: list[tuple[str, str]] = field(default_factory=list)  # (genre/name, state)
    head: str = "a" * 40


class AzureServer(LocalServer):
    def __init__(self, org: str = "contoso", project: str = "Shop App", repo: str = "shop",
                 pat: str = "azpat0123456789", me: str = "dev@contoso.com", collection: str | None = None,
                 origin: Path | None = None):
        self.org, self.project, self.repo, self.pat, self.me = org, project, repo, pat, me
        self.collection = collection or f"/{org}"
        self.origin = origin
        self.account: str | None = me  # whose token the PAT is, as connectionData says; None: it cannot say
        self.items: dict[int, WorkItem] = {}
        self.pulls: dict[int, AzurePull] = {}
        self.requests: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.fail: list[tuple[int, dict[str, str], dict[str, Any]]] = []
        self.wit, self.git = azure_devops("wit"), azure_devops("git")
        self.lock = threading.Lock()
        self.serve(_Handler)

    @property
    def api(self) -> str:
        return f"{self.url}{self.collection}"

    @property
    def basic(self) -> str:
        return "Basic " + base64.b64encode(f":{self.pat}".encode()).decode()

    def connection_json(self) -> dict[str, Any]:
        """Who the credentials belong to; an identity without an Account property when the service cannot say."""
        properties = {"Account": {"$type": "System.String", "$value": self.account}} if self.account else {}
        user = {"id": "6f2f3cd5-0b6b-4d6e-9d34-1c3e2a1b7c10", "providerDisplayName": self.me.split("@")[0].title(),
                "descriptor": f"Microsoft.IdentityModel.Claims.ClaimsIdentity;contoso.com\\{self.me}",
                "subjectDescriptor": "aad.NmYyZjNjZDUtMGI2Yi03ZDZlLTlkMzQtMWMzZTJhMWI3YzEw",
                "isActive": True, "properties": properties, "resourceVersion": 2, "metaTypeId": 0}
        return {"authenticatedUser": user, "authorizedUser": user, "instanceId": "instance-guid",
                "deploymentId": "deployment-guid",
                "deploymentType": "hosted" if self.collection == f"/{self.org}" else "onPremises",
                "locationServiceData": {"serviceOwner": "00025394-6065-48ca-87d9-7f5672854ef7",
                                        "defaultAccessMappingMoniker": "PublicAccessMapping", "lastChangeId": 1}}

    def identity(self, unique: str) -> dict[str, Any]:
        return {"displayName": unique.split("@")[0].title(), "uniqueName": unique, "id": f"id-{unique}",
                "url": f"{self.url}/_apis/identities/{unique}"}

    def item_json(self, item: WorkItem) -> dict[str, Any]:
        fields: dict[str, Any] = {"System.Id": item.id, "System.WorkItemType": item.type, "System.Title": item.title,
                                  "System.State": item.state, "System.Description": item.description,
                                  "System.AreaPath": self.project, "Microsoft.VSTS.Common.Priority": 2}
        if item.assigned:
            fields["System.AssignedTo"] = self.identity(item.assigned)
        url = f"{self.api}/{self.project}/_apis/wit/workItems/{item.id}"
        return {"id": item.id, "rev": 1 + len(item.comments), "fields": fields, "relations": item.relations,
                "url": url, "_links": {"html": {"href": f"{self.api}/{self.project}/_workitems/edit/{item.id}"}}}

    def comment_json(self, item: WorkItem, i: int) -> dict[str, Any]:
        author, text = item.comments[i]
        return {"id": i + 1, "workItemId": item.id, "version": 1, "text": text, "createdBy": self.identity(author),
                "createdDate": STAMP, "url": f"{self.api}/{self.project}/_apis/wit/workItems/{item.id}/comments/{i}"}

    def pull_json(self, pull: AzurePull) -> dict[str, Any]:
        web = f"{self.api}/{self.project}/_git/{self.repo}"
        return {"pullRequestId": pull.id, "title": pull.title, "description": pull.description,
                "sourceRefName": pull.source, "targetRefName": pull.target, "status": "active",
                "isDraft": pull.draft, "creationDate": STAMP, "createdBy": self.identity(self.me),
                "lastMergeSourceCommit": {"commitId": pull.head},
                "url": f"{self.api}/{self.project}/_apis/git/repositories/{self.repo}/pullRequests/{pull.id}",
                "repository": {"id": "repo-guid", "name": self.repo, "webUrl": web,
                               "project": {"id": "project-guid", "name": self.project}},
                "workItemRefs": [{"id": i, "url": f"{self.api}/_apis/wit/workItems/{i}"} for i in pull.work_items]}


class _Handler(JsonHandler):
    state: AzureServer

    def _send(self, code: int, payload: Any, spec: Any = None) -> None:
        s = self.state
        if spec is not None and 200 <= code < 300:
            try:
                spec.check_response(self.command, self._spec_path(), code, payload)
            except Exception as e:
                s.errors.append(f"response to {self.command} {self.path}: {e}")
                code, payload = 500, {"message": "test server produced an invalid shape"}
        self.reply(code, payload)

    def _spec_path(self) -> str:
        """The path as the descriptions write it, ``/{organization}/...``: a server's collection is one segment."""
        path = self.path.split("?")[0]
        return f"/{self.state.org}{path[len(self.state.collection):]}"

    def _json(self, spec: Any) -> Any:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        data = json.loads(raw or b"null")
        self.state.requests[-1]["body"] = data
        try:
            spec.check_request(self.command, self._spec_path(), data)
        except Exception as e:
            self.state.errors.append(f"request {self.command} {self.path}: {e}")
            self._send(400, {"message": "the body does not fit the API description"})
            return None
        return data

    def _route(self) -> None:
        s = self.state
        parts = urlsplit(self.path)
        if self._git(unquote(parts.path), parts.query):
            return
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        s.requests.append({"method": self.command, "path": unquote(parts.path), "query": query,
                           "authorization": self.headers.get("Authorization"),
                           "content_type": self.headers.get("Content-Type")})
        if s.fail:
            code, _headers, payload = s.fail.pop(0)
            self._send(code, payload)
            return
        if self.headers.get("Authorization") != s.basic:
            self._send(401, {"message": "TF400813: The user is not authorized to access this resource."})
            return
        if not query.get("api-version", "").startswith("7.1"):
            self._send(400, {"message": "api-version is missing"})
            return
        path = unquote(parts.path)
        prefix = f"{s.collection}/{s.project}/_apis/"
        if path.lower() == f"{s.collection}/_apis/connectiondata".lower() and self.command == "GET":
            self._connection_data()
            return
        if not path.startswith(prefix):
            self._send(404, {"message": "no such project"})
            return
        rest = path[len(prefix):]
        with s.lock:
            self._boards(rest, query) if rest.startswith("wit/") else self._repos(rest, query)

    def _connection_data(self) -> None:
        payload = self.state.connection_json()
        try:
            jsonschema.validate(payload, CONNECTION_DATA)
        except jsonschema.ValidationError as e:
            self.state.errors.append(f"connectionData: {e.message}")
            self._send(500, {"message": "test server produced an invalid shape"})
            return
        self._send(200, payload)

    def _git(self, path: str, query: str) -> bool:
        """git's smart HTTP protocol at the repository's address (``git http-backend`` over ``origin``)."""
        s = self.state
        m = re.fullmatch(rf"{re.escape(s.collection)}/{re.escape(s.project)}/_git/{re.escape(s.repo)}(/.+)", path)
        if s.origin is None or m is None:
            return False
        if self.headers.get("Authorization") != s.basic:
            self._send(401, {"message": "TF400813: The user is not authorized to access this resource."})
            return True
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        cgi = {"GIT_PROJECT_ROOT": str(s.origin.parent), "GIT_HTTP_EXPORT_ALL": "1", "REMOTE_USER": "dev",
               "PATH_INFO": f"/{s.origin.name}{m.group(1)}", "QUERY_STRING": query, "REQUEST_METHOD": self.command,
               "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
               "REMOTE_ADDR": "127.0.0.1", "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
               "GIT_PROTOCOL": self.headers.get("Git-Protocol", "")}
        out = subprocess.run(["git", "http-backend"], input=body, env={**os.environ, **cgi}, capture_output=True,
                             check=False).stdout
        head, _, content = out.partition(b"\r\n\r\n")
        headers = dict(line.split(": ", 1) for line in head.decode().splitlines() if ": " in line)
        self.send_response(int(headers.pop("Status", "200").split()[0]))
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)
        return True

    def _boards(self, rest: str, query: dict[str, str]) -> None:
        s = self.state
        m = re.fullmatch(r"wit/workitemtypes/([^/]+)/states", rest)
        if m and self.command == "GET":
            states = [{"name": n, "category": c, "color": "b2b2b2"} for n, c in PROCESS_STATES.get(m.group(1), [])]
            self._send(200, {"count": len(states), "value": states}, s.wit)
            return
        m = re.fullmatch(r"wit/work[iI]tems/(\d+)(/comments)?", rest)
        item = s.items.get(int(m.group(1))) if m else None
        if item is None:
            self._send(404, {"message": f"TF401232: Work item {m.group(1) if m else '?'} does not exist."})
            return
        if m and m.group(2) and self.command == "GET":
            comments = [s.comment_json(item, i) for i in range(len(item.comments))]
            self._send(200, {"comments": comments, "count": len(comments), "totalCount": len(comments)}, s.wit)
        elif m and m.group(2) and self.command == "POST":
            body = self._json(s.wit)
            if body is not None:
                item.comments.append((s.me, body["text"]))
                self._send(200, s.comment_json(item, len(item.comments) - 1), s.wit)
        elif self.command == "GET":
            self._send(200, s.item_json(item), s.wit)
        elif self.command == "PATCH":
            if self.headers.get("Content-Type") != "application/json-patch+json":
                self._send(415, {"message": "work items are updated with application/json-patch+json"})
                return
            ops = self._json(s.wit)
            if ops is None:
                return
            for op in ops:
                if op["path"] == "/fields/System.AssignedTo":
                    item.assigned = op["value"]
                elif op["path"] == "/fields/System.State":
                    if op["value"] not in [n for n, _ in PROCESS_STATES[item.type]]:
                        self._send(400, {"message": f"TF401320: invalid state {op['value']}"})
                        return
                    item.state = op["value"]
                elif op["path"] == "/relations/-":
                    item.relations.append(op["value"])
            self._send(200, s.item_json(item), s.wit)
        else:
            self._send(405, {"message": "not allowed"})

    def _repos(self, rest: str, query: dict[str, str]) -> None:
        s = self.state
        m = re.fullmatch(rf"git/repositories/{re.escape(s.repo)}/pull[rR]equests(?:/(\d+))?"
                         r"(/workitems|/statuses|/attachments/.+)?", rest)
        if m is None:
            self._send(404, {"message": "no such repository"})
            return
        number, tail = m.group(1), m.group(2)
        pull = s.pulls.get(int(number)) if number else None
        if number and pull is None:
            self._send(404, {"message": f"TF401180: pull request {number} not found"})
        elif number is None and self.command == "GET":
            source = query.get("searchCriteria.sourceRefName")
            found = [s.pull_json(p) for p in s.pulls.values() if source in (None, p.source)]
            self._send(200, {"count": len(found), "value": found}, s.git)
        elif number is None and self.command == "POST":
            body = self._json(s.git)
            if body is None:
                return
            if any(p.source == body["sourceRefName"] for p in s.pulls.values()):
                self._send(409, {"message": "TF401179: An active pull request for the source and target branch "
                                            "already exists."})
                return
            new = AzurePull(len(s.pulls) + 1, body["sourceRefName"], body["targetRefName"], body["title"],
                            body.get("description", ""), [r["id"] for r in body.get("workItemRefs", [])],
                            draft=bool(body.get("isDraft")))
            s.pulls[new.id] = new
            self._send(201, s.pull_json(new), s.git)
        elif pull is not None and tail is None and self.command == "GET":
            self._send(200, s.pull_json(pull), s.git)
        elif pull is not None and tail is None and self.command == "PATCH":
            body = self._json(s.git)
            if body is not None:
                pull.title = body.get("title", pull.title)
                pull.description = body.get("description", pull.description)
                self._send(200, s.pull_json(pull), s.git)
        elif pull is not None and tail == "/workitems" and self.command == "GET":
            refs = [{"id": i, "url": f"{s.api}/_apis/wit/workItems/{i}"} for i in pull.work_items]
            refs += [{"id": str(item.id), "url": f"{s.api}/_apis/wit/workItems/{item.id}"} for item in s.items.values()
                     if any(r.get("url", "").endswith(f"%2F{pull.id}") for r in item.relations)]
            self._send(200, {"count": len(refs), "value": refs}, s.git)
        elif pull is not None and tail == "/statuses" and self.command == "GET":
            values = [{"id": i + 1, "state": state, "targetUrl": f"https://ci.example/{i}", "creationDate": STAMP,
                       "context": {"genre": name.split("/")[0], "name": name.split("/")[-1]}}
                      for i, (name, state) in enumerate(pull.statuses)]
            self._send(200, {"count": len(values), "value": values}, s.git)
        elif pull is not None and tail and tail.startswith("/attachments/") and self.command == "POST":
            name = unquote(tail.removeprefix("/attachments/"))
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("Content-Type") != "application/octet-stream":
                self._send(415, {"message": "attachments are application/octet-stream"})
                return
            pull.attachments[name] = data
            self._send(201, {"id": len(pull.attachments), "displayName": name, "createdDate": STAMP,
                             "url": f"{s.api}/{s.project}/_apis/git/repositories/{s.repo}/pullRequests/{pull.id}"
                                    f"/attachments/{name}"}, s.git)
        else:
            self._send(405, {"message": "not allowed"})

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _route
