"""Azure DevOps: Boards work items as tickets, Repos pull requests as the forge (REST API 7.1, httpx).

Organization, project and repository come from ``origin``
(``https://dev.azure.com/<org>/<project>/_git/<repo>``, ``git@ssh.dev.azure.com:v3/<org>/<project>/<repo>``,
``https://<org>.visualstudio.com/<project>/_git/<repo>``, or an Azure DevOps Server's
``https://<host>[/tfs]/<collection>/<project>/_git/<repo>`` and its ``ssh://<host>:22/...`` form, where the
API is the collection's URL) unless ``[tracker]``/``[forge]`` name them (``organization``, ``project``,
``repository``; ``api`` overrides the organization's or collection's URL).
Credentials: a PAT in ``AZURE_DEVOPS_EXT_PAT`` (the variable the ``az devops`` CLI reads) or
``AZURE_DEVOPS_PAT``, else a token from the logged-in Azure CLI (``az account get-access-token``).
"Me" is whoever the credentials belong to, as Azure DevOps says (``connectionData``), unless
``[tracker] user`` or ``AZURE_DEVOPS_USER`` says otherwise.

"Active" is process-template aware: the first state of the item's type whose category is
``InProgress`` (Agile/CMMI "Active", Scrum "Committed" or "In Progress", Basic "Doing"), read from
the project's own states. Pull requests link the work item natively (``workItemRefs`` when created,
an artifact link on the work item for a PR that already existed) and carry screenshots as PR
attachments.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import SplitResult, quote, unquote, urlsplit

from podium.errors import UsageError
from podium.git import Repo
from podium.providers import Attachment, Check, Comment, ProviderError, PullRequest, Ticket, TicketNotFound, cli_output
from podium.providers.http import Api, NotFound

API = "7.1"
COMMENTS_API = "7.1-preview.4"
CONNECTION_API = "7.1-preview.1"
DEVOPS_RESOURCE = "499b84ac-1321-427f-aa17-267ca6975798"  # Azure DevOps' application id, for az tokens
DESCRIPTION_LIMIT = 4000  # Azure Repos refuses longer PR descriptions
JSON_PATCH = {"Content-Type": "application/json-patch+json"}
_SSH = re.compile(r"^(?:ssh://)?[^@]+@(?:ssh\.dev\.azure\.com|vs-ssh\.visualstudio\.com):(?:22/)?v3/"
                  r"([^/]+)/([^/]+)/([^/]+?)/?$")


class AzureRemote(NamedTuple):
    organization: str  # on Azure DevOps Server, the collection
    project: str
    repository: str
    api: str  # the organization's (or collection's) URL, where the REST API lives


def parse_remote(url: str) -> AzureRemote | None:
    """Organization, project, repository and API address of an Azure Repos remote URL, or None when it is not one."""
    m = _SSH.match(url)
    if m:
        org = unquote(m.group(1))
        return AzureRemote(org, unquote(m.group(2)), unquote(m.group(3)), _cloud(org))
    parts = urlsplit(url)
    segments = [unquote(s) for s in parts.path.strip("/").split("/")]
    if "_git" not in segments or not segments[-1] or segments.index("_git") != len(segments) - 2:
        return None
    head, repository = segments[:-2], segments[-1].removesuffix(".git")
    host = (parts.hostname or "").lower()
    if host.endswith(".visualstudio.com"):  # https://<org>.visualstudio.com[/DefaultCollection]/<project>/_git/<repo>
        org = host.split(".")[0]
        project = head[-1] if head and head != ["DefaultCollection"] else repository
        return AzureRemote(org, project, repository, _cloud(org))
    # dev.azure.com/<org> or a server's [tfs/]<collection>, then <project>
    if len(head) == 1 or (len(head) == 2 and head[0].lower() == "tfs"):
        head = [*head, repository]  # a project's own repository: the URL leaves the project out
    collection, project = head[:-1], (head[-1] if head else "")
    api = _collection_url(parts, collection) if collection else None
    return AzureRemote(collection[-1], project, repository, api) if api else None


def _cloud(organization: str) -> str:
    return f"https://dev.azure.com/{quote(organization)}"


def _collection_url(parts: SplitResult, collection: list[str]) -> str | None:
    """The address of a collection (or a dev.azure.com organization): an ssh remote's host serves it over https."""
    if parts.scheme not in ("http", "https", "ssh") or not parts.hostname:
        return None
    scheme = "https" if parts.scheme == "ssh" else parts.scheme
    try:
        port = f":{parts.port}" if parts.port and scheme == parts.scheme else ""
    except ValueError:  # not a port number
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{scheme}://{host}{port}/" + "/".join(quote(s) for s in collection)


def _auth_header() -> str:
    for name in ("AZURE_DEVOPS_EXT_PAT", "AZURE_DEVOPS_PAT"):
        if os.environ.get(name):
            return "Basic " + base64.b64encode(f":{os.environ[name]}".encode()).decode()
    token = _az("account", "get-access-token", "--resource", DEVOPS_RESOURCE, "--query", "accessToken")
    if token:
        return f"Bearer {token}"
    raise UsageError("no Azure DevOps credentials: set AZURE_DEVOPS_EXT_PAT to a personal access token, or az login")


def _az(*args: str) -> str | None:
    return cli_output("az", *args, "-o", "tsv")


class _Azure:
    def __init__(self, checkout: Repo, organization: str | None, project: str | None, repository: str | None,
                 api: str | None, section: str):
        remote = parse_remote(checkout.origin_url())
        if remote is None and not (organization and project):
            raise UsageError(f"origin is not an Azure Repos repository; set [{section}] organization and project")
        self.organization = organization or (remote.organization if remote else "")
        self.project = project or (remote.project if remote else "")
        self.repository = repository or (remote.repository if remote else "")
        same = remote is not None and remote.organization == self.organization
        self.base = (api or (remote.api if remote and same else _cloud(self.organization))).rstrip("/")
        self.api = Api("Azure DevOps", self.base, {"Authorization": _auth_header(), "Accept": "application/json",
                                                    "User-Agent": "podium"},
                       auth_hint="renew the PAT in AZURE_DEVOPS_EXT_PAT, or az login again")
        self.p = quote(self.project)

    def work_item_url(self, item_id: str) -> str:
        return f"{self.base}/{self.p}/_apis/wit/workItems/{item_id}"


class AzureBoards(_Azure):
    name = "azure"

    def __init__(self, checkout: Repo, organization: str | None = None, project: str | None = None,
                 api: str | None = None, user: str | None = None, repository: str | None = None):
        super().__init__(checkout, organization, project, repository, api, "tracker")
        self.user = user or os.environ.get("AZURE_DEVOPS_USER") or None
        self._states: dict[str, list[dict[str, Any]]] = {}

    def _id(self, ticket_id: str) -> str:
        digits = ticket_id.strip().removeprefix("AB#").removeprefix("#")
        if not digits.isdigit():
            raise TicketNotFound(f"not an Azure Boards work item id: {ticket_id!r}")
        return digits

    def states(self, kind: str) -> list[dict[str, Any]]:
        if kind not in self._states:
            data = self.api.request("GET", f"/{self.p}/_apis/wit/workitemtypes/{quote(kind)}/states",
                                    params={"api-version": API})
            self._states[kind] = list(data.get("value", []))
        return self._states[kind]

    def _category(self, kind: str | None, state: str | None) -> str | None:
        if not kind or not state:
            return None
        return next((s.get("category") for s in self.states(kind) if s.get("name") == state), None)

    def get(self, ticket_id: str) -> Ticket:
        item_id = self._id(ticket_id)
        try:
            item = self.api.request("GET", f"/{self.p}/_apis/wit/workitems/{item_id}",
                                    params={"$expand": "relations", "api-version": API})
        except NotFound:
            raise TicketNotFound(f"no work item {item_id} in {self.organization}/{self.project}") from None
        fields = item.get("fields") or {}
        comments = self.api.request("GET", f"/{self.p}/_apis/wit/workItems/{item_id}/comments",
                                    params={"api-version": COMMENTS_API}).get("comments", [])
        assigned = fields.get("System.AssignedTo")
        assignees = [assigned.get("uniqueName") or assigned.get("displayName", "")] if isinstance(assigned, dict) \
            else ([str(assigned)] if assigned else [])
        kind, state = fields.get("System.WorkItemType"), fields.get("System.State")
        relations = item.get("relations") or []
        extra = {label: str(fields[key]) for key, label in (("Microsoft.VSTS.Common.Priority", "priority"),
                                                           ("System.AreaPath", "area"),
                                                           ("System.IterationPath", "iteration")) if fields.get(key)}
        web = ((item.get("_links") or {}).get("html") or {}).get("href") or (
            f"{self.base}/{self.p}/_workitems/edit/{item_id}")
        return Ticket(
            tracker=self.name, id=item_id, title=str(fields.get("System.Title", "")), kind=kind, state=state,
            assignees=assignees, url=web, description=_text(str(fields.get("System.Description") or "")),
            comments=[Comment(author=(c.get("createdBy") or {}).get("displayName", "?"),
                              created=str(c.get("createdDate", "")), body=_text(c.get("text") or ""))
                      for c in comments],
            attachments=[Attachment(name=(r.get("attributes") or {}).get("name", "attachment"), url=r["url"])
                         for r in relations if r.get("rel") == "AttachedFile"],
            links=[r["url"] for r in relations if r.get("rel") == "Hyperlink"],
            fields=extra, closed=self._category(kind, state) in ("Completed", "Removed"),
        )

    def me(self) -> str:
        """The configured user, else whoever the credentials belong to (asked of Azure DevOps once)."""
        if self.user is None:
            self.user = self._credentials_owner()
        return self.user

    def _credentials_owner(self) -> str:
        data = self.api.request("GET", "/_apis/connectionData", params={"api-version": CONNECTION_API}) or {}
        user = data.get("authenticatedUser") or {}
        account = ((user.get("properties") or {}).get("Account") or {}).get("$value")
        if not account:
            raise ProviderError("Azure DevOps cannot say whose credentials these are; set [tracker] user = "
                                "\"you@example.com\" (or AZURE_DEVOPS_USER)")
        return str(account)

    def _patch(self, item_id: str, operations: list[dict[str, Any]]) -> None:
        body = json.dumps(operations).encode()
        self.api.request("PATCH", f"/{self.p}/_apis/wit/workitems/{item_id}", params={"api-version": API},
                         content=body, headers=JSON_PATCH)

    def assign_to_me(self, ticket: Ticket) -> Ticket:
        self._patch(ticket.id, [{"op": "add", "path": "/fields/System.AssignedTo", "value": self.me()}])
        return self.get(ticket.id)

    def is_active(self, ticket: Ticket) -> bool:
        return self._category(ticket.kind, ticket.state) == "InProgress"

    def set_active(self, ticket: Ticket) -> Ticket:
        if not ticket.kind:
            raise ProviderError(f"work item {ticket.id} has no type; cannot tell which state is active")
        active = next((s["name"] for s in self.states(ticket.kind) if s.get("category") == "InProgress"), None)
        if active is None:
            raise ProviderError(f"the {ticket.kind} type in {self.project} has no in-progress state")
        self._patch(ticket.id, [{"op": "add", "path": "/fields/System.State", "value": active}])
        return self.get(ticket.id)

    def comment(self, ticket: Ticket, body: str) -> None:
        self.api.request("POST", f"/{self.p}/_apis/wit/workItems/{ticket.id}/comments",
                         params={"api-version": COMMENTS_API}, json={"text": html.escape(body)})


class AzureRepos(_Azure):
    name = "azure"
    attaches_files = True

    def __init__(self, checkout: Repo, organization: str | None = None, project: str | None = None,
                 repository: str | None = None, api: str | None = None, draft: bool = False):
        super().__init__(checkout, organization, project, repository, api, "forge")
        if not self.repository:
            raise UsageError("set [forge] repository: origin does not name the Azure Repos repository")
        self.draft = draft
        self.prs = f"/{self.p}/_apis/git/repositories/{quote(self.repository)}/pullrequests"

    def _pr(self, data: dict[str, Any]) -> PullRequest:
        repo = data.get("repository") or {}
        web = f"{repo.get('webUrl') or self.base + '/' + self.p + '/_git/' + quote(self.repository)}" \
              f"/pullrequest/{data['pullRequestId']}"
        return PullRequest(forge=self.name, number=str(data["pullRequestId"]), url=web, title=data.get("title", ""),
                           body=data.get("description") or "",
                           head=str(data.get("sourceRefName", "")).removeprefix("refs/heads/"),
                           base=str(data.get("targetRefName", "")).removeprefix("refs/heads/"),
                           state=str(data.get("status", "active")),
                           head_sha=str((data.get("lastMergeSourceCommit") or {}).get("commitId", "")))

    def find_pr(self, branch: str) -> PullRequest | None:
        found = self.api.request("GET", self.prs, params={"searchCriteria.sourceRefName": f"refs/heads/{branch}",
                                                          "searchCriteria.status": "active", "api-version": API})
        values = found.get("value", [])
        return self._pr(values[0]) if values else None

    def create_pr(self, branch: str, base: str, title: str, body: str, ticket: Ticket | None = None) -> PullRequest:
        payload: dict[str, Any] = {"sourceRefName": f"refs/heads/{branch}", "targetRefName": f"refs/heads/{base}",
                                   "title": title, "description": _limit(body), "isDraft": self.draft}
        if ticket is not None and ticket.tracker == self.name:
            payload["workItemRefs"] = [{"id": ticket.id, "url": self.work_item_url(ticket.id)}]
        return self._pr(self.api.request("POST", self.prs, params={"api-version": API}, json=payload))

    def update_pr(self, pr: PullRequest, title: str, body: str) -> PullRequest:
        return self._pr(self.api.request("PATCH", f"{self.prs}/{pr.number}", params={"api-version": API},
                                         json={"title": title, "description": _limit(body)}))

    def ticket_reference(self, ticket: Ticket) -> str | None:
        return None  # Azure Repos links the work item itself (workItemRefs / artifact link)

    def link_ticket(self, pr: PullRequest, ticket: Ticket) -> None:
        """Link the work item to a PR that exists already (a new PR gets workItemRefs when created)."""
        if ticket.tracker != self.name:
            return
        linked = self.api.request("GET", f"/{self.p}/_apis/git/repositories/{quote(self.repository)}/pullRequests/"
                                  f"{pr.number}/workitems", params={"api-version": API})
        if any(str(ref.get("id")) == ticket.id for ref in linked.get("value", [])):
            return
        data = self.api.request("GET", f"{self.prs}/{pr.number}", params={"api-version": API})
        repo = data.get("repository") or {}
        project_id = (repo.get("project") or {}).get("id")
        artifact = f"vstfs:///Git/PullRequestId/{project_id}%2F{repo.get('id')}%2F{pr.number}"
        body = json.dumps([{"op": "add", "path": "/relations/-", "value": {
            "rel": "ArtifactLink", "url": artifact, "attributes": {"name": "Pull Request"}}}]).encode()
        self.api.request("PATCH", f"/{self.p}/_apis/wit/workitems/{ticket.id}", params={"api-version": API},
                         content=body, headers=JSON_PATCH)

    def attach(self, pr: PullRequest, path: Path) -> str | None:
        """Upload a file to the PR; its address, for the description."""
        data = self.api.request(
            "POST", f"/{self.p}/_apis/git/repositories/{quote(self.repository)}/pullRequests/{pr.number}/"
                    f"attachments/{quote(path.name)}",
            params={"api-version": API}, content=path.read_bytes(),
            headers={"Content-Type": "application/octet-stream"})
        return str(data.get("url")) if data and data.get("url") else None

    def checks(self, pr: PullRequest) -> list[Check]:
        """The statuses posted on the PR (builds and other services report here)."""
        data = self.api.request("GET", f"/{self.p}/_apis/git/repositories/{quote(self.repository)}/pullRequests/"
                                f"{pr.number}/statuses", params={"api-version": API})
        return [Check(name="/".join(x for x in ((s.get("context") or {}).get("genre"),
                                                (s.get("context") or {}).get("name")) if x) or "status",
                      state=_status_state(str(s.get("state", ""))), url=s.get("targetUrl"))
                for s in data.get("value", [])]


def _status_state(state: str) -> str:
    return {"succeeded": "passed", "pending": "pending", "notSet": "pending", "notApplicable": "skipped"}.get(
        state, "failed")


def _text(markup: str) -> str:
    """Work item HTML as plain text for the snapshot (paragraphs and line breaks kept)."""
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>", "\n", markup)
    text = re.sub(r"(?i)<li[^>]*>", "- ", text)
    text = re.sub(r"<[^>]+>", "", text)
    return re.sub(r"\n{3,}", "\n\n", html.unescape(text)).strip()


def _limit(body: str) -> str:
    return body if len(body) <= DESCRIPTION_LIMIT else body[: DESCRIPTION_LIMIT - 1] + "…"
