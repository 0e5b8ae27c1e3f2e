"""A local GitLab (REST API v4) server for the endpoints podium calls.

Test code only. Issues, notes and the current user follow GitLab's REST reference, their
bodies checked here by hand: only the documented keys, of the documented types. Merge
requests and uploads are checked against GitLab's own API description (an extract in
tests/specs/gitlab): each body podium sends, and the fields of each answer. Pipelines and
jobs follow the REST reference. A body that does not fit is recorded in ``errors`` and answered 400.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from servers import JsonHandler, LocalServer
from servers.swagger import gitlab as gitlab_spec

SPEC = gitlab_spec()
STAMP = "2026-11-20T10:00:00.000Z"

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


@dataclass
class MergeRequest:
    iid: int
    source: str
    target: str
    title: str
    description: str
    sha: str = "0" * 40
    state: str = "opened"


@dataclass
class Pipeline:
    id: int
    sha: str
    status: str
    jobs: list[tuple[str, str, str, bool]] = field(default_factory=list)  # (stage, name, status, allow_failure)


class GitLabServer(LocalServer):
    def __init__(self, project: str = "acme/web/shop", token: str = "glpat-test0123456789"):
        self.project, self.token = project, token
        self.users = {7: ("dev", "Dev Eloper"), 8: ("carol", "Carol")}
        self.me = 7
        self.issues: dict[int, GitLabIssue] = {}
        self.merge_requests: dict[int, MergeRequest] = {}
        self.pipelines: dict[int, list[Pipeline]] = {}  # merge request iid -> its pipelines, newest first
        self.uploads: dict[str, tuple[str, bytes]] = {}  # secret -> (file name, content)
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

    def web(self, tail: str) -> str:
        return f"https://gitlab.example/{self.project}/-/{tail}"

    def mr_json(self, mr: MergeRequest) -> dict[str, Any]:
        draft = mr.title.startswith("Draft:")
        return {"id": 700 + mr.iid, "iid": mr.iid, "project_id": 42, "title": mr.title, "description": mr.description,
                "state": mr.state, "created_at": STAMP, "updated_at": STAMP, "merged_by": None, "merge_user": None,
                "merged_at": None, "closed_by": None, "closed_at": None, "target_branch": mr.target,
                "source_branch": mr.source, "user_notes_count": 0, "upvotes": 0, "downvotes": 0,
                "author": self.user(self.me), "assignees": [], "assignee": None, "reviewers": [],
                "source_project_id": 42, "target_project_id": 42, "labels": [], "draft": draft,
                "work_in_progress": draft, "milestone": None, "merge_when_pipeline_succeeds": False,
                "merge_status": "can_be_merged", "detailed_merge_status": "mergeable", "sha": mr.sha,
                "merge_commit_sha": None, "squash_commit_sha": None, "discussion_locked": None,
                "should_remove_source_branch": None, "force_remove_source_branch": True, "reference": f"!{mr.iid}",
                "references": {"short": f"!{mr.iid}", "relative": f"!{mr.iid}", "full": f"{self.project}!{mr.iid}"},
                "web_url": self.web(f"merge_requests/{mr.iid}"), "squash": False, "has_conflicts": False,
                "blocking_discussions_resolved": True, "task_completion_status": {"count": 0, "completed_count": 0}}

    def pipeline_json(self, pipeline: Pipeline, ref: str) -> dict[str, Any]:
        return {"id": pipeline.id, "iid": pipeline.id % 100, "project_id": 42, "sha": pipeline.sha, "ref": ref,
                "status": pipeline.status, "source": "merge_request_event", "created_at": STAMP,
                "updated_at": STAMP, "web_url": self.web(f"pipelines/{pipeline.id}")}

    def job_json(self, pipeline: Pipeline, i: int, ref: str) -> dict[str, Any]:
        stage, name, status, allow_failure = pipeline.jobs[i]
        job_id = pipeline.id * 10 + i
        return {"id": job_id, "status": status, "stage": stage, "name": name, "ref": ref, "tag": False,
                "coverage": None, "allow_failure": allow_failure, "created_at": STAMP, "started_at": STAMP,
                "finished_at": None, "duration": None, "queued_duration": None, "user": self.user(self.me),
                "commit": {"id": pipeline.sha, "short_id": pipeline.sha[:8], "title": "the change"},
                "pipeline": {"id": pipeline.id, "project_id": 42, "ref": ref, "sha": pipeline.sha,
                             "status": pipeline.status},
                "web_url": self.web(f"jobs/{job_id}"), "artifacts": [], "runner": None,
                "failure_reason": "script_failure" if status == "failed" else None}


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
        project = f"/api/v4/projects/{quote(s.project, safe='')}"
        if path.startswith((f"{project}/merge_requests", f"{project}/pipelines/", f"{project}/uploads")):
            self._forge(path, path.removeprefix(project))
            return
        m = re.fullmatch(rf"{re.escape(project)}/issues/(\d+)(/notes)?", path)
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

    def _checked(self, path: str, body: Any) -> bool:
        try:
            SPEC.check_request(self.command, path, body)
        except Exception as e:  # podium sent what GitLab's description does not have
            self.state.errors.append(f"{self.command} {path}: {str(e).splitlines()[0]}")
            self.reply(400, {"message": str(e).splitlines()[0]})
            return False
        return True

    def _send(self, code: int, payload: Any) -> None:
        """Answer, having checked that every field is one GitLab's description has (merge requests, uploads)."""
        for item in payload if isinstance(payload, list) else [payload]:
            name = "API_Entities_ProjectUpload" if "markdown" in item else "API_Entities_MergeRequest"
            unknown = set(item) - set(SPEC.definitions[name]["properties"])
            if unknown:
                self.state.errors.append(f"answer to {self.command} {self.path}: not in {name}: {sorted(unknown)}")
        self.reply(code, payload)

    def _forge(self, path: str, tail: str) -> None:
        s = self.state
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        m = re.fullmatch(r"/merge_requests(?:/(\d+)(/pipelines)?)?|/pipelines/(\d+)/jobs|/uploads", tail)
        mr = s.merge_requests.get(int(m.group(1))) if m and m.group(1) else None
        if m is None or (m.group(1) and mr is None):
            self.reply(404, {"message": "404 Not found"})
        elif tail == "/merge_requests" and self.command == "GET":
            self._send(200, [s.mr_json(x) for x in s.merge_requests.values()
                             if x.source == query.get("source_branch", x.source)
                             and query.get("state", "all") in ("all", x.state)])
        elif tail == "/merge_requests" and self.command == "POST":
            self._create(path)
        elif mr is not None and not m.group(2) and self.command == "PUT":
            body = self._body()
            if self._checked(path, body):
                mr.title, mr.description = body.get("title", mr.title), body.get("description", mr.description)
                self._send(200, s.mr_json(mr))
        elif mr is not None and m.group(2) and self.command == "GET":
            self.reply(200, [s.pipeline_json(p, mr.source) for p in s.pipelines.get(mr.iid, [])])
        elif m.group(3) and self.command == "GET":
            self._jobs(int(m.group(3)))
        elif tail == "/uploads" and self.command == "POST":
            self._upload(path)
        else:
            self.reply(405, {"message": "405 Method Not Allowed"})

    def _create(self, path: str) -> None:
        s = self.state
        body = self._body()
        if not self._checked(path, body):
            return
        if any(x.source == body["source_branch"] and x.state == "opened" for x in s.merge_requests.values()):
            self.reply(409, {"message": ["Another open merge request already exists for this source branch"]})
            return
        iid = len(s.merge_requests) + 1
        s.merge_requests[iid] = MergeRequest(iid, body["source_branch"], body["target_branch"], body["title"],
                                             body.get("description", ""))
        self._send(201, s.mr_json(s.merge_requests[iid]))

    def _jobs(self, pipeline_id: int) -> None:
        s = self.state
        found = [(p, iid) for iid, ps in s.pipelines.items() for p in ps if p.id == pipeline_id]
        if not found:
            self.reply(404, {"message": "404 Not found"})
            return
        pipeline, iid = found[0]
        self.reply(200, [s.job_json(pipeline, i, s.merge_requests[iid].source) for i in range(len(pipeline.jobs))])

    def _upload(self, path: str) -> None:
        """A multipart form with one ``file`` field, as GitLab's description has it; its markdown answered."""
        s = self.state
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        head = f"Content-Type: {self.headers.get('Content-Type')}\r\n\r\n".encode()
        form = BytesParser(policy=HTTP).parsebytes(head + raw)
        parts = {p.get_param("name", header="content-disposition"): p for p in form.iter_parts()} \
            if form.is_multipart() else {}
        s.requests[-1]["body"] = sorted(parts)
        if not self._checked(path, {k: "(content)" for k in parts}):
            return
        name = str(parts["file"].get_filename())
        secret = f"{len(s.uploads) + 1:032x}"
        s.uploads[secret] = (name, parts["file"].get_payload(decode=True))
        url = f"/uploads/{secret}/{name}"
        self._send(201, {"id": len(s.uploads), "alt": name.rsplit(".", 1)[0], "url": url,
                         "full_path": f"/-/project/42/uploads/{secret}/{name}",
                         "markdown": f"![{name.rsplit('.', 1)[0]}]({url})"})

    do_GET = do_POST = do_PUT = _route
