"""A local GitHub REST server for the endpoints podium calls, every body checked against githubkit's models.

Test code only: podium's GitHub provider is the same code that talks to api.github.com.
Each request body is validated with the request model GitHub's OpenAPI description
generates (githubkit_schemas), each response with the response model, before it is
sent; a shape that does not fit is a 500 and is recorded in ``errors``.
"""

from __future__ import annotations

import json
import re
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from githubkit_schemas.latest import models as gh

from servers import JsonHandler, LocalServer

STAMP = "2026-11-20T10:00:00Z"


def user(login: str, uid: int, private: bool = False) -> dict[str, Any]:
    base = f"https://api.github.com/users/{login}"
    data: dict[str, Any] = {
        "login": login, "id": uid, "node_id": f"U_{uid}", "avatar_url": f"https://avatars.example/{uid}",
        "gravatar_id": "", "url": base, "html_url": f"https://github.com/{login}",
        "followers_url": f"{base}/followers", "following_url": f"{base}/following{{/other_user}}",
        "gists_url": f"{base}/gists{{/gist_id}}", "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{base}/subscriptions", "organizations_url": f"{base}/orgs",
        "repos_url": f"{base}/repos", "events_url": f"{base}/events{{/privacy}}",
        "received_events_url": f"{base}/received_events", "type": "User", "site_admin": False,
    }
    if private:
        data.update(name=login.title(), company=None, blog="", location=None, email=None, hireable=None, bio=None,
                    public_repos=1, public_gists=0, followers=0, following=0, created_at=STAMP, updated_at=STAMP,
                    private_gists=0, total_private_repos=0, owned_private_repos=0, disk_usage=0, collaborators=0,
                    two_factor_authentication=True)
    return data


def repository(full_name: str) -> dict[str, Any]:
    """A repository as the pulls endpoints embed it (every field GitHub's description requires)."""
    owner, name = full_name.split("/")
    api = f"https://api.github.com/repos/{full_name}"
    data: dict[str, Any] = {
        "id": 4242, "node_id": "R_4242", "name": name, "full_name": full_name, "license": None, "forks": 0,
        "owner": user(owner, 50), "html_url": f"https://github.com/{full_name}", "description": None,
        "fork": False, "url": api, "git_url": f"git://github.com/{full_name}.git",
        "ssh_url": f"git@github.com:{full_name}.git", "clone_url": f"https://github.com/{full_name}.git",
        "svn_url": f"https://github.com/{full_name}", "mirror_url": None, "homepage": None, "language": None,
        "forks_count": 0, "stargazers_count": 0, "watchers_count": 0, "size": 1, "default_branch": "main",
        "open_issues_count": 0, "has_pages": False, "disabled": False, "pushed_at": STAMP, "created_at": STAMP,
        "updated_at": STAMP, "open_issues": 0, "watchers": 0,
    }
    for key in ("archive", "assignees", "blobs", "branches", "collaborators", "comments", "commits", "compare",
                "contents", "contributors", "deployments", "downloads", "events", "forks", "git_commits",
                "git_refs", "git_tags", "issue_comment", "issue_events", "issues", "keys", "labels", "languages",
                "merges", "milestones", "notifications", "pulls", "releases", "stargazers", "statuses",
                "subscribers", "subscription", "tags", "teams", "trees", "hooks"):
        data[f"{key}_url"] = f"{api}/{key}"
    return data


@dataclass
class Pull:
    number: int
    head: str
    base: str
    title: str
    body: str
    head_sha: str = "0" * 40
    state: str = "open"
    draft: bool = False


@dataclass
class Issue:
    number: int
    title: str
    body: str
    labels: list[str] = field(default_factory=list)
    assignees: list[str] = field(default_factory=list)
    state: str = "open"
    comments: list[tuple[str, str]] = field(default_factory=list)  # (login, body)


class GitHubServer(LocalServer):
    def __init__(self, repo: str = "acme/shop", token: str = "ghp_testtoken0123456789", me: str = "dev"):
        self.repo, self.token, self.me = repo, token, me
        self.issues: dict[int, Issue] = {}
        self.pulls: dict[int, Pull] = {}
        self.check_runs: dict[str, list[tuple[str, str, str | None]]] = {}  # sha -> (name, status, conclusion)
        self.statuses: dict[str, list[tuple[str, str]]] = {}  # sha -> (context, state)
        self.users = {me: 1, "carol": 2, "alice": 3}
        self.requests: list[dict[str, Any]] = []
        self.errors: list[str] = []
        self.fail: list[tuple[int, dict[str, str], dict[str, Any]]] = []  # next responses to force
        self.lock = threading.Lock()
        self.serve(_Handler)

    # -- shapes -----------------------------------------------------------
    def label(self, name: str) -> dict[str, Any]:
        return {"id": abs(hash(name)) % 10**8, "node_id": f"L_{name}", "default": False, "description": None,
                "url": f"https://api.github.com/repos/{self.repo}/labels/{name}", "name": name, "color": "ededed",
                "archived_at": None, "archived_by": None}

    def issue_json(self, issue: Issue) -> dict[str, Any]:
        url = f"https://api.github.com/repos/{self.repo}/issues/{issue.number}"
        return {
            "id": 1000 + issue.number, "node_id": f"I_{issue.number}", "url": url,
            "repository_url": f"https://api.github.com/repos/{self.repo}", "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments", "events_url": f"{url}/events",
            "html_url": f"https://github.com/{self.repo}/issues/{issue.number}", "number": issue.number,
            "state": issue.state, "title": issue.title, "body": issue.body, "user": user("alice", 3),
            "labels": [self.label(n) for n in issue.labels],
            "assignees": [user(a, self.users.get(a, 9)) for a in issue.assignees],
            "assignee": user(issue.assignees[0], self.users.get(issue.assignees[0], 9)) if issue.assignees else None,
            "milestone": None, "locked": False, "comments": len(issue.comments), "closed_at": None,
            "created_at": STAMP, "updated_at": STAMP, "author_association": "MEMBER",
        }

    def pull_json(self, pull: Pull, full: bool = True) -> dict[str, Any]:
        api = f"https://api.github.com/repos/{self.repo}"
        url = f"{api}/pulls/{pull.number}"
        owner = self.repo.split("/")[0]

        def side(ref: str, sha: str) -> dict[str, Any]:
            return {"label": f"{owner}:{ref}", "ref": ref, "sha": sha, "user": user(owner, 50),
                    "repo": repository(self.repo)}

        link = {"href": url}
        data: dict[str, Any] = {
            "url": url, "id": 5000 + pull.number, "node_id": f"PR_{pull.number}",
            "html_url": f"https://github.com/{self.repo}/pull/{pull.number}", "diff_url": f"{url}.diff",
            "patch_url": f"{url}.patch", "issue_url": f"{api}/issues/{pull.number}", "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments", "review_comment_url": f"{api}/pulls/comments{{/number}}",
            "comments_url": f"{api}/issues/{pull.number}/comments", "statuses_url": f"{api}/statuses/{pull.head_sha}",
            "number": pull.number, "state": pull.state, "locked": False, "title": pull.title,
            "user": user(self.me, self.users[self.me]), "body": pull.body, "labels": [], "milestone": None,
            "created_at": STAMP, "updated_at": STAMP, "closed_at": None, "merged_at": None,
            "head": side(pull.head, pull.head_sha), "base": side(pull.base, "1" * 40),
            "_links": {k: link for k in ("self", "html", "issue", "comments", "review_comments", "review_comment",
                                          "commits", "statuses")},
            "author_association": "MEMBER", "auto_merge": None, "draft": pull.draft,
        }
        if full:
            data.update(merged=False, mergeable=True, mergeable_state="clean", merged_by=None, comments=0,
                        review_comments=0, maintainer_can_modify=True, commits=1, additions=1, deletions=0,
                        changed_files=1)
        return data

    def checks_json(self, sha: str, which: str) -> tuple[dict[str, Any], Any]:
        api = f"https://api.github.com/repos/{self.repo}"
        if which == "check-runs":
            runs = [{"id": i, "head_sha": sha, "node_id": f"CR_{i}", "external_id": "", "url": f"{api}/check-runs/{i}",
                     "html_url": f"https://github.com/{self.repo}/runs/{i}", "details_url": None, "status": status,
                     "conclusion": conclusion, "started_at": STAMP,
                     "completed_at": STAMP if status == "completed" else None, "name": name,
                     "output": {"title": None, "summary": None, "text": None, "annotations_count": 0,
                                "annotations_url": f"{api}/check-runs/{i}/annotations"},
                     "check_suite": {"id": 1}, "app": None, "pull_requests": []}
                    for i, (name, status, conclusion) in enumerate(self.check_runs.get(sha, []))]
            return {"total_count": len(runs), "check_runs": runs}, gh.ReposOwnerRepoCommitsRefCheckRunsGetResponse200
        statuses = [{"description": None, "id": i, "node_id": f"S_{i}", "state": state, "context": context,
                     "target_url": f"https://ci.example/{i}", "avatar_url": None, "url": f"{api}/statuses/{sha}",
                     "created_at": STAMP, "updated_at": STAMP}
                    for i, (context, state) in enumerate(self.statuses.get(sha, []))]
        states = {st["state"] for st in statuses}
        combined = "failure" if "failure" in states or "error" in states else (
            "pending" if "pending" in states or not statuses else "success")
        minimal = {**repository(self.repo), "private": False}
        return {"state": combined, "statuses": statuses, "sha": sha, "total_count": len(statuses),
                "repository": minimal, "commit_url": f"{api}/commits/{sha}", "url": f"{api}/commits/{sha}/status"}, \
            gh.CombinedCommitStatus

    def comment_json(self, issue: Issue, i: int) -> dict[str, Any]:
        login, body = issue.comments[i]
        url = f"https://api.github.com/repos/{self.repo}/issues/comments/{issue.number * 100 + i}"
        return {"id": issue.number * 100 + i, "node_id": f"IC_{i}", "url": url,
                "html_url": f"https://github.com/{self.repo}/issues/{issue.number}#issuecomment-{i}",
                "body": body, "user": user(login, self.users.get(login, 9)), "created_at": STAMP,
                "updated_at": STAMP, "issue_url": f"https://api.github.com/repos/{self.repo}/issues/{issue.number}",
                "author_association": "MEMBER"}


class _Handler(JsonHandler):
    state: GitHubServer

    def _send(self, code: int, payload: Any, model: Any = None, headers: dict[str, str] | None = None) -> None:
        s = self.state
        if model is not None:
            try:
                if isinstance(payload, list):
                    for item in payload:
                        model.model_validate(item)
                else:
                    model.model_validate(payload)
            except Exception as e:  # the test server itself is wrong: say so loudly
                s.errors.append(f"response to {self.command} {self.path} does not fit {model.__name__}: {e}")
                code, payload = 500, {"message": "test server produced an invalid shape"}
        self.reply(code, payload, headers)

    def _body(self, model: Any) -> dict[str, Any] | None:
        length = int(self.headers.get("Content-Length") or 0)
        data = json.loads(self.rfile.read(length) or b"{}")
        self.state.requests[-1]["body"] = data
        try:
            known = {f.alias or name for name, f in model.model_fields.items()}
            unknown = set(data) - known if isinstance(data, dict) else set()
            if unknown:  # the models ignore extra keys; GitHub would ignore them too, silently — not good enough
                raise ValueError(f"unknown keys {sorted(unknown)}")
            model.model_validate(data)
        except Exception as e:
            self.state.errors.append(f"request {self.command} {self.path} does not fit {model.__name__}: {e}")
            self._send(422, {"message": "Validation Failed"})
            return None
        return data

    def _route(self) -> None:
        s = self.state
        s.requests.append({"method": self.command, "path": self.path,
                           "authorization": self.headers.get("Authorization"),
                           "api_version": self.headers.get("X-GitHub-Api-Version")})
        if s.fail:
            code, headers, payload = s.fail.pop(0)
            self._send(code, payload, headers=headers)
            return
        if self.headers.get("Authorization") != f"Bearer {s.token}":
            self._send(401, {"message": "Bad credentials"})
            return
        path, _, query = self.path.partition("?")
        if path == "/user" and self.command == "GET":
            self._send(200, user(s.me, s.users[s.me], private=True), gh.PrivateUser)
            return
        m = re.fullmatch(rf"/repos/{re.escape(s.repo)}/commits/([0-9a-f]{{40}})/(check-runs|status)", path)
        if m and self.command == "GET":
            self._send(200, *s.checks_json(m.group(1), m.group(2)))
            return
        if path.startswith(f"/repos/{s.repo}/pulls"):
            with s.lock:
                self._pulls(path, dict(p.split("=", 1) for p in query.split("&") if "=" in p))
            return
        m = re.fullmatch(rf"/repos/{re.escape(s.repo)}/issues/(\d+)(/\w+)?", path)
        issue = s.issues.get(int(m.group(1))) if m else None
        if issue is None:
            self._send(404, {"message": "Not Found"})
            return
        tail = m.group(2) if m else None
        with s.lock:
            if tail is None and self.command == "GET":
                self._send(200, s.issue_json(issue), gh.Issue)
            elif tail == "/comments" and self.command == "GET":
                self._send(200, [s.comment_json(issue, i) for i in range(len(issue.comments))], gh.IssueComment)
            elif tail == "/comments" and self.command == "POST":
                body = self._body(gh.ReposOwnerRepoIssuesIssueNumberCommentsPostBody)
                if body is not None:
                    issue.comments.append((s.me, body["body"]))
                    self._send(201, s.comment_json(issue, len(issue.comments) - 1), gh.IssueComment)
            elif tail == "/assignees" and self.command == "POST":
                body = self._body(gh.ReposOwnerRepoIssuesIssueNumberAssigneesPostBody)
                if body is not None:
                    issue.assignees += [a for a in body.get("assignees", []) if a not in issue.assignees]
                    self._send(201, s.issue_json(issue), gh.Issue)
            elif tail == "/labels" and self.command == "POST":
                body = self._body(gh.ReposOwnerRepoIssuesIssueNumberLabelsPostBodyOneof0)
                if body is not None:
                    issue.labels += [n for n in body["labels"] if n not in issue.labels]
                    self._send(200, [s.label(n) for n in issue.labels], gh.Label)
            else:
                self._send(404, {"message": "Not Found"})

    def _pulls(self, path: str, query: dict[str, str]) -> None:
        s = self.state
        owner = s.repo.split("/")[0]
        m = re.fullmatch(rf"/repos/{re.escape(s.repo)}/pulls(?:/(\d+))?", path)
        if m is None:
            self._send(404, {"message": "Not Found"})
            return
        if m.group(1) is None and self.command == "GET":
            head = query.get("head", "").replace("%3A", ":").replace("%2F", "/")
            found = [p for p in s.pulls.values() if f"{owner}:{p.head}" == head
                     and (query.get("state", "open") == "all" or p.state == query.get("state", "open"))]
            self._send(200, [s.pull_json(p, full=False) for p in found], gh.PullRequestSimple)
        elif m.group(1) is None and self.command == "POST":
            body = self._body(gh.ReposOwnerRepoPullsPostBody)
            if body is None:
                return
            if any(p.head == body["head"] and p.state == "open" for p in s.pulls.values()):
                self._send(422, {"message": "Validation Failed",
                                 "errors": [{"message": f"A pull request already exists for {owner}:{body['head']}."}]})
                return
            number = 100 + len(s.pulls) + len(s.issues)
            s.pulls[number] = Pull(number, body["head"], body["base"], body["title"], body.get("body") or "",
                                   draft=bool(body.get("draft")))
            self._send(201, s.pull_json(s.pulls[number]), gh.PullRequest)
        elif m.group(1) is not None and self.command == "PATCH":
            pull = s.pulls.get(int(m.group(1)))
            body = self._body(gh.ReposOwnerRepoPullsPullNumberPatchBody)
            if body is None:
                return
            if pull is None:
                self._send(404, {"message": "Not Found"})
                return
            pull.title = body.get("title", pull.title)
            pull.body = body.get("body", pull.body)
            self._send(200, s.pull_json(pull), gh.PullRequest)
        else:
            self._send(404, {"message": "Not Found"})

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _route
