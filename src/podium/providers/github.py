"""GitHub Issues as a tracker, over the REST API (httpx).

The repository comes from ``origin`` (``github.com/<owner>/<name>``, or a GitHub
Enterprise host, whose API is ``https://<host>/api/v3``) unless ``[tracker] repo``
names it; ``api`` overrides the API address. The token comes from ``GH_TOKEN`` or
``GITHUB_TOKEN``, else from the GitHub CLI the user is logged in with
(``gh auth token``); podium never stores it.

"Active" on GitHub is an open issue with the ``active_label`` label (default
``in progress``); the ticket type comes from the issue type, else from labels.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from podium.errors import GitError, UsageError
from podium.git import Repo, git
from podium.providers import Check, Comment, ProviderError, PullRequest, Ticket, TicketNotFound, cli_output
from podium.providers.http import Api, NotFound

API_VERSION = "2022-11-28"
KIND_LABELS = {"bug": "bug", "defect": "bug", "enhancement": "feature", "feature": "feature",
               "documentation": "docs", "docs": "docs", "task": "task", "chore": "task"}
_SSH = re.compile(r"^(?:ssh://)?[^@/]+@([^:/]+)[:/](.+?)(?:\.git)?/?$")


def parse_remote(url: str, max_depth: int | None = 1) -> tuple[str, str] | None:
    """(host, "owner/name") of a remote URL (``max_depth`` slashes in the path at most; None: any)."""
    m = _SSH.match(url)
    if m:
        host, path = m.group(1), m.group(2)
    else:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        host, path = parts.hostname, parts.path.strip("/").removesuffix(".git")
    if path.count("/") < 1 or (max_depth is not None and path.count("/") > max_depth):
        return None
    return host, path


def github_token(host: str) -> str:
    for name in ("GH_TOKEN", "GITHUB_TOKEN"):
        if os.environ.get(name):
            return os.environ[name]
    token = cli_output("gh", "auth", "token", "--hostname", host, timeout=15)
    if token:
        return token
    raise UsageError(f"no GitHub token for {host}: set GITHUB_TOKEN, or log in with gh auth login")


def _connect(checkout: Repo, repo: str | None, api: str | None, section: str) -> tuple[str, Api]:
    """("owner/name", an API client) for the repository: from origin unless configured."""
    remote = parse_remote(checkout.origin_url())
    host = remote[0] if remote else "github.com"
    if repo is None:
        if remote is None:
            raise UsageError(f"origin is not a GitHub repository; set [{section}] repo = \"owner/name\"")
        repo = remote[1]
    if api is None:
        api = "https://api.github.com" if host == "github.com" else f"https://{host}/api/v3"
    return repo, Api("GitHub", api, {
        "Authorization": f"Bearer {github_token(host)}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": "podium",
    }, auth_hint="refresh it with gh auth login, or set GITHUB_TOKEN")


class GitHubTracker:
    name = "github"

    def __init__(self, checkout: Repo, repo: str | None = None, api: str | None = None,
                 active_label: str = "in progress"):
        self.repo_name, self.api = _connect(checkout, repo, api, "tracker")
        self.active_label = active_label
        self._me: str | None = None

    def _number(self, ticket_id: str) -> int:
        digits = ticket_id.strip().removeprefix("#").removeprefix("gh-").removeprefix("GH-")
        if not digits.isdigit():
            raise TicketNotFound(f"not a GitHub issue number: {ticket_id!r}")
        return int(digits)

    def get(self, ticket_id: str) -> Ticket:
        number = self._number(ticket_id)
        base = f"/repos/{self.repo_name}/issues/{number}"
        try:
            issue = self.api.request("GET", base)
        except NotFound:
            raise TicketNotFound(f"no issue #{number} in {self.repo_name} on GitHub") from None
        if issue.get("pull_request"):
            raise TicketNotFound(f"#{number} in {self.repo_name} is a pull request, not an issue")
        comments = self.api.request("GET", f"{base}/comments", params={"per_page": 100}) if issue["comments"] else []
        labels = [lb["name"] if isinstance(lb, dict) else str(lb) for lb in issue.get("labels") or []]
        kind = (issue.get("type") or {}).get("name") if isinstance(issue.get("type"), dict) else None
        kind = kind or next((KIND_LABELS[lb.lower()] for lb in labels if lb.lower() in KIND_LABELS), None)
        fields = {"labels": ", ".join(labels)} if labels else {}
        if issue.get("milestone"):
            fields["milestone"] = issue["milestone"].get("title", "")
        return Ticket(
            tracker=self.name, id=str(number), title=issue["title"], kind=kind, state=issue["state"],
            assignees=[a["login"] for a in issue.get("assignees") or []], url=issue.get("html_url"),
            description=issue.get("body") or "",
            comments=[Comment(author=(c.get("user") or {}).get("login", "?"), created=c["created_at"],
                              body=c.get("body") or "") for c in comments],
            links=[], fields=fields, closed=issue["state"] == "closed",
        )

    def me(self) -> str:
        if self._me is None:
            self._me = str(self.api.request("GET", "/user")["login"])
        return self._me

    def assign_to_me(self, ticket: Ticket) -> Ticket:
        self.api.request("POST", f"/repos/{self.repo_name}/issues/{ticket.id}/assignees",
                         json={"assignees": [self.me()]})
        return self.get(ticket.id)

    def is_active(self, ticket: Ticket) -> bool:
        labels = [s.strip().lower() for s in ticket.fields.get("labels", "").split(",")]
        return ticket.state == "open" and self.active_label.lower() in labels

    def set_active(self, ticket: Ticket) -> Ticket:
        if ticket.closed:
            raise ProviderError(f"issue #{ticket.id} is closed; reopen it first")
        self.api.request("POST", f"/repos/{self.repo_name}/issues/{ticket.id}/labels",
                         json={"labels": [self.active_label]})
        return self.get(ticket.id)

    def comment(self, ticket: Ticket, body: str) -> None:
        self.api.request("POST", f"/repos/{self.repo_name}/issues/{ticket.id}/comments", json={"body": body})


class GitHubForge:
    """Pull requests on GitHub: one per branch, found by its head, created or updated in place.

    GitHub's API takes no image uploads for PRs, so screenshots go to a branch podium owns,
    ``podium/screenshots`` (``screenshots = "branch"``, the default): each is committed there
    with git plumbing (no checkout is touched), pushed with a lease, and shown in the
    description from its commit-pinned address. ``screenshots = "names"`` only lists them.
    """

    name = "github"
    SCREENSHOTS_BRANCH = "podium/screenshots"

    def __init__(self, checkout: Repo, repo: str | None = None, api: str | None = None, draft: bool = False,
                 screenshots: str = "branch"):
        if screenshots not in ("branch", "names"):
            raise UsageError('[forge] screenshots is "branch" (pushed to podium/screenshots) or "names"')
        self.repo_name, self.api = _connect(checkout, repo, api, "forge")
        remote = parse_remote(checkout.origin_url())
        self.web = f"https://{remote[0] if remote else 'github.com'}/{self.repo_name}"
        self.owner = self.repo_name.split("/")[0]
        self.draft = draft
        self.checkout = checkout
        self.attaches_files = screenshots == "branch"

    def _pr(self, data: dict[str, Any]) -> PullRequest:
        return PullRequest(forge=self.name, number=str(data["number"]), url=data["html_url"], title=data["title"],
                           body=data.get("body") or "", head=data["head"]["ref"], base=data["base"]["ref"],
                           state=data["state"], head_sha=data["head"]["sha"])

    def find_pr(self, branch: str) -> PullRequest | None:
        found = self.api.request("GET", f"/repos/{self.repo_name}/pulls",
                                 params={"head": f"{self.owner}:{branch}", "state": "open"})
        return self._pr(found[0]) if found else None

    def create_pr(self, branch: str, base: str, title: str, body: str, ticket: Ticket | None = None) -> PullRequest:
        data = self.api.request("POST", f"/repos/{self.repo_name}/pulls",
                                json={"title": title, "head": branch, "base": base, "body": body,
                                      "draft": self.draft})
        return self._pr(data)

    def update_pr(self, pr: PullRequest, title: str, body: str) -> PullRequest:
        data = self.api.request("PATCH", f"/repos/{self.repo_name}/pulls/{pr.number}",
                                json={"title": title, "body": body})
        return self._pr(data)

    def ticket_reference(self, ticket: Ticket) -> str | None:
        if ticket.tracker == "github" and ticket.url and f"/{self.repo_name}/issues/" in ticket.url:
            return f"Closes #{ticket.id}"
        return None

    def link_ticket(self, pr: PullRequest, ticket: Ticket) -> None:
        """GitHub links the issue through the description's ``Closes #N``."""

    def attach(self, pr: PullRequest, path: Path) -> str | None:
        """Commit the file to ``podium/screenshots`` under the PR's branch and push it; its address."""
        if not self.attaches_files:
            return None
        name = f"{pr.head.replace('/', '-')}/{path.name}"
        ref = f"refs/heads/{self.SCREENSHOTS_BRANCH}"
        cwd = self.checkout.toplevel
        blob = git("hash-object", "-w", "--", str(path), cwd=cwd)
        failure = ""
        for _attempt in range(3):  # another workspace may push a screenshot at the same moment
            line = git("ls-remote", "origin", ref, cwd=cwd, timeout=120)
            tip = line.split("\t")[0] if line else ""
            if tip:
                git("fetch", "--quiet", "origin", tip, cwd=cwd, timeout=120)
            with tempfile.TemporaryDirectory(prefix="podium-index-") as tmp:
                env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
                if tip:
                    git("read-tree", tip, cwd=cwd, env=env)
                git("update-index", "--add", "--cacheinfo", f"100644,{blob},{name}", cwd=cwd, env=env)
                tree = git("write-tree", cwd=cwd, env=env)
            commit = git("commit-tree", tree, *(["-p", tip] if tip else []), cwd=cwd,
                         input=f"Screenshot {path.name} for {pr.head}\n")
            try:
                git("push", "--quiet", f"--force-with-lease={ref}:{tip}", "origin", f"{commit}:{ref}",
                    cwd=cwd, timeout=300)
            except GitError as e:  # most often the lease: someone pushed meanwhile; build on their tip
                failure = str(e)
                continue
            return f"{self.web}/blob/{commit}/{quote(name)}?raw=true"
        raise ProviderError(f"could not push the screenshot {path.name} to {self.SCREENSHOTS_BRANCH}: {failure}")

    def checks(self, pr: PullRequest) -> list[Check]:
        """Check runs (GitHub Actions and apps) and commit statuses (other CI) on the PR's head commit."""
        base = f"/repos/{self.repo_name}/commits/{pr.head_sha}"
        runs = self.api.request("GET", f"{base}/check-runs", params={"per_page": 100}).get("check_runs", [])
        found = [Check(name=r["name"], state=_run_state(r), url=r.get("html_url")) for r in runs]
        statuses = self.api.request("GET", f"{base}/status").get("statuses", [])
        found += [Check(name=st["context"], url=st.get("target_url"),
                        state={"success": "passed", "pending": "pending"}.get(st["state"], "failed"))
                  for st in statuses]
        return found


def _run_state(run: dict[str, Any]) -> str:
    if run.get("status") != "completed":
        return "pending"
    return {"success": "passed", "neutral": "passed", "skipped": "skipped"}.get(run.get("conclusion") or "", "failed")
