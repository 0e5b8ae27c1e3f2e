"""Azure DevOps: Boards work items as tickets and Repos pull requests, against a local server checked with
Microsoft's own API descriptions."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Env, git
from podium.providers.azure import parse_remote
from servers.azure import AzurePull, AzureServer, WorkItem
from test_bad_input import assert_one_line_error
from test_gate import png

RUN = ("--agent", "command", "--command")


@pytest.fixture
def azure(env: Env) -> Iterator[AzureServer]:
    server = AzureServer()
    server.items[42] = WorkItem(42, "Bug", "Login fails with SSO",
                                "<div>Users with SSO <b>cannot</b> log in.</div><div>Since Monday &amp; after.</div>",
                                comments=[("alice@contoso.com", "Repro: sign in with the Okta tile.")])
    server.items[43] = WorkItem(43, "Product Backlog Item", "Add CSV export")
    env.vars["AZURE_DEVOPS_EXT_PAT"] = server.pat
    where = f'organization = "contoso"\nproject = "Shop App"\napi = "{server.api}"\n'
    (env.repo / "podium.toml").write_text(f'[tracker]\nkind = "azure"\n{where}user = "dev@contoso.com"\n'
                                          f'[forge]\nkind = "azure"\n{where}repository = "shop"\n')
    yield server
    server.stop()
    assert server.errors == []  # every body fitted Microsoft's descriptions of Boards and Repos


def test_ticket_start_assigns_and_activates_the_way_each_process_template_says(env: Env, azure: AzureServer) -> None:
    out = env.podium_json("ticket", "start", "42")
    assert out["branch"] == "bugfix/42-login-fails-with-sso" and out["assigned"] and out["activated"]
    assert azure.items[42].assigned == "dev@contoso.com" and azure.items[42].state == "Active"  # Agile: Active
    patches = [r for r in azure.requests if r["method"] == "PATCH"]
    assert {r["content_type"] for r in patches} == {"application/json-patch+json"}
    snapshot = (Path(out["workspace"]) / ".podium" / "ticket.md").read_text()
    assert "Users with SSO cannot log in.\nSince Monday & after." in snapshot
    assert "Repro: sign in with the Okta tile." in snapshot and "- **Type:** Bug" in snapshot
    assert "/Shop App/_workitems/edit/42" in snapshot
    assert env.podium_json("ticket", "start", "AB#43")["ticket"]["state"] == "Committed"  # Scrum: Committed
    assert not env.podium_json("ticket", "start", "42")["activated"]  # already active: nothing written again
    env.podium("ticket", "comment", "42", "On it <today>.", check=True)
    assert azure.items[42].comments[-1] == ("dev@contoso.com", "On it &lt;today&gt;.")


def test_ship_links_the_work_item_and_attaches_the_screenshots(env: Env, azure: AzureServer) -> None:
    first = env.delegate("SSO login", "--ticket", "42", *RUN,
                         "sh -c 'echo sso > sso.py; echo Fixed the SSO callback.'")
    env.podium("wait", str(first), "--timeout", "30", check=True)
    branch = env.job(first)["branch"]
    shot = Path(env.vars["HOME"]) / "Desktop" / f"{branch.replace('/', '-')}-1-login.png"
    png(shot)
    shipped = env.approved_json("ship", str(first))
    [pull] = azure.pulls.values()
    assert (pull.source, pull.target) == (f"refs/heads/{branch}", "refs/heads/main")
    assert pull.title == "Login fails with SSO" and pull.work_items == ["42"]
    assert pull.attachments == {shot.name: shot.read_bytes()}
    assert f"![{shot.name}]({azure.api}/Shop App/_apis/git/repositories/shop/pullRequests/1/attachments/" \
           f"{shot.name})" in pull.description
    assert pull.description.startswith("Fixed the SSO callback.\n\nTicket: [42](")
    assert shipped["pr_url"].endswith("/Shop App/_git/shop/pullrequest/1")
    # round 2: one commit, the same PR brought in line, the screenshot not uploaded twice
    second = env.delegate("and a test", "--ticket", "42", *RUN, "sh -c 'echo t > test_sso.py; echo Added a test.'")
    env.podium("wait", str(second), "--timeout", "30", check=True)
    env.approved_json("ship", str(second))
    assert len(azure.pulls) == 1 and pull.description.startswith("- Fixed the SSO callback.\n- Added a test.")
    assert len([r for r in azure.requests if "/attachments/" in r["path"]]) == 1
    head = git("ls-remote", "origin", f"refs/heads/{branch}", cwd=env.repo).split("\t")[0]
    assert git("rev-list", "--count", f"origin/main..{head}", cwd=env.repo) == "1"
    idle = env.podium_json("ship", str(second))
    # nothing new: not even a question
    assert idle["gate"]["state"] == "done" and idle["gate"]["decided_by"] == "podium"
    pull.statuses = [("continuous-integration/build", "succeeded"), ("policy/coverage", "failed")]
    checks = env.podium_json("pr", str(second))
    assert checks["verdict"] == "failed" and checks["head_sha"] == pull.head
    assert [(c["name"], c["state"]) for c in checks["checks"]] == [("continuous-integration/build", "passed"),
                                                                    ("policy/coverage", "failed")]


def test_a_pr_opened_by_hand_is_linked_to_the_work_item(env: Env, azure: AzureServer) -> None:
    job = env.delegate("SSO", "--ticket", "42", *RUN, "sh -c 'echo x > x.py'")
    env.podium("wait", str(job), "--timeout", "30", check=True)
    branch = env.job(job)["branch"]
    azure.pulls[1] = AzurePull(1, f"refs/heads/{branch}", "refs/heads/main", "wip", "")
    env.approved_json("ship", str(job))
    assert list(azure.pulls) == [1] and azure.pulls[1].title == "Login fails with SSO"
    [link] = azure.items[42].relations
    assert link["rel"] == "ArtifactLink" and link["url"] == "vstfs:///Git/PullRequestId/project-guid%2Frepo-guid%2F1"


def test_me_is_whoever_the_credentials_belong_to(env: Env, azure: AzureServer) -> None:
    toml = env.repo / "podium.toml"
    toml.write_text(toml.read_text().replace('user = "dev@contoso.com"\n', ""))  # git says dev@example.com
    assert env.podium_json("ticket", "start", "42")["assigned"]
    assert azure.items[42].assigned == "dev@contoso.com"  # the PAT's owner, from Azure DevOps itself
    assert [r["path"] for r in azure.requests].count("/contoso/_apis/connectionData") == 1
    env.vars["AZURE_DEVOPS_USER"] = "pair@contoso.com"  # a configured "me" still wins, and nobody is asked
    assert env.podium_json("ticket", "start", "43")["assigned"] and azure.items[43].assigned == "pair@contoso.com"
    toml.write_text(toml.read_text().replace("[forge]", 'user = "lead@contoso.com"\n[forge]'))
    azure.items[46] = WorkItem(46, "Bug", "Crash on save")
    assert env.podium_json("ticket", "start", "46")["assigned"] and azure.items[46].assigned == "lead@contoso.com"
    assert [r["path"] for r in azure.requests].count("/contoso/_apis/connectionData") == 1


def test_credentials_azure_cannot_name_are_a_one_line_error(env: Env, azure: AzureServer) -> None:
    toml = env.repo / "podium.toml"
    toml.write_text(toml.read_text().replace('user = "dev@contoso.com"\n', ""))
    azure.account = None  # connectionData answers, but its user has no account (an anonymous connection)
    assert_one_line_error(env.podium("ticket", "start", "42"), "Azure DevOps cannot say whose credentials",
                          "[tracker] user")
    assert azure.items[42].assigned is None and json.loads(env.podium("workspaces", "--json").stdout) == []


def test_an_on_premises_server_is_found_from_origin(env: Env) -> None:
    """Azure DevOps Server: origin is the collection's URL + project + _git + repository, and the API lives at the
    collection (not dev.azure.com); podium knows it for Azure DevOps by its /_git/, with no podium.toml."""
    server = AzureServer(collection="/tfs/DefaultCollection", origin=env.origin)
    try:
        server.items[42] = WorkItem(42, "Bug", "Login fails with SSO")
        env.vars["AZURE_DEVOPS_EXT_PAT"] = server.pat
        git("remote", "set-url", "origin", f"{server.url}/tfs/DefaultCollection/Shop%20App/_git/shop", cwd=env.repo)
        git("config", "http.extraHeader", f"Authorization: {server.basic}", cwd=env.repo)
        started = env.podium_json("ticket", "start", "42")
        assert started["assigned"] and server.items[42].assigned == "dev@contoso.com"
        assert started["ticket"]["url"] == f"{server.url}/tfs/DefaultCollection/Shop App/_workitems/edit/42"
        job = env.delegate("SSO", "--ticket", "42", *RUN, "sh -c 'echo sso > sso.py; echo Fixed the SSO callback.'")
        env.podium("wait", str(job), "--timeout", "30", check=True)
        shipped = env.approved_json("ship", str(job))
        [pull] = server.pulls.values()
        assert pull.work_items == ["42"] and pull.title == "Login fails with SSO"
        assert shipped["pr_url"] == f"{server.url}/tfs/DefaultCollection/Shop App/_git/shop/pullrequest/1"
        branch = env.job(job)["branch"]  # pushed to the server over HTTP, where the PR starts from
        assert pull.source == f"refs/heads/{branch}" and git("rev-parse", pull.source, cwd=env.origin)
        api = [r["path"] for r in server.requests]
        assert api and all(p.startswith("/tfs/DefaultCollection/") for p in api)
        assert "/tfs/DefaultCollection/_apis/connectionData" in api
    finally:
        server.stop()
    assert server.errors == []


def test_azure_errors_are_one_line(env: Env, azure: AzureServer) -> None:
    assert_one_line_error(env.podium("ticket", "start", "99"), "no work item 99 in contoso/Shop App")
    azure.items[44] = WorkItem(44, "Bug", "Old", state="Closed")
    assert_one_line_error(env.podium("ticket", "start", "44"), "ticket 44 is Closed; reopen it")
    azure.items[45] = WorkItem(45, "Bug", "Theirs", assigned="carol@contoso.com")
    assert_one_line_error(env.podium("ticket", "start", "45"), "assigned to carol@contoso.com")
    env.vars["AZURE_DEVOPS_EXT_PAT"] = "expired"
    assert_one_line_error(env.podium("ticket", "show", "42"), "Azure DevOps rejected the credentials",
                          "AZURE_DEVOPS_EXT_PAT")
    del env.vars["AZURE_DEVOPS_EXT_PAT"]
    env.vars["PATH"] = "/usr/bin:/bin"  # and no az CLI
    assert_one_line_error(env.podium("ticket", "show", "42"), "no Azure DevOps credentials")
    assert json.loads(env.podium("workspaces", "--json").stdout) == []


CLOUD = "https://dev.azure.com/contoso"
SERVER = "https://tfs.contoso.com/tfs/DefaultCollection"


@pytest.mark.parametrize(("url", "expected"), [
    ("https://dev.azure.com/contoso/Shop%20App/_git/shop", ("contoso", "Shop App", "shop", CLOUD)),
    ("https://contoso@dev.azure.com/contoso/Shop%20App/_git/shop", ("contoso", "Shop App", "shop", CLOUD)),
    ("git@ssh.dev.azure.com:v3/contoso/Shop%20App/shop", ("contoso", "Shop App", "shop", CLOUD)),
    ("https://contoso.visualstudio.com/Shop%20App/_git/shop", ("contoso", "Shop App", "shop", CLOUD)),
    ("https://contoso.visualstudio.com/DefaultCollection/Shop/_git/shop.git", ("contoso", "Shop", "shop", CLOUD)),
    ("https://dev.azure.com/contoso/_git/Shop", ("contoso", "Shop", "Shop", CLOUD)),  # the project's own repository
    # Azure DevOps Server (on-premises): the API is the collection's URL
    ("https://tfs.contoso.com/tfs/DefaultCollection/Shop%20App/_git/shop",
     ("DefaultCollection", "Shop App", "shop", SERVER)),
    ("https://dev@tfs.contoso.com/tfs/DefaultCollection/Shop%20App/_git/shop.git",
     ("DefaultCollection", "Shop App", "shop", SERVER)),
    ("ssh://tfs.contoso.com:22/tfs/DefaultCollection/Shop%20App/_git/shop",
     ("DefaultCollection", "Shop App", "shop", SERVER)),
    ("ssh://dev@tfs.contoso.com:22/tfs/DefaultCollection/Shop%20App/_git/shop",
     ("DefaultCollection", "Shop App", "shop", SERVER)),
    ("https://devops.contoso.com/Fabrikam%20Collection/Shop/_git/shop",  # 2019 and later: no /tfs
     ("Fabrikam Collection", "Shop", "shop", "https://devops.contoso.com/Fabrikam%20Collection")),
    ("http://build01:8080/tfs/DefaultCollection/Shop/_git/shop",  # the classic TFS address, port kept
     ("DefaultCollection", "Shop", "shop", "http://build01:8080/tfs/DefaultCollection")),
    ("http://build01:8080/tfs/DefaultCollection/_git/Shop",  # the project's own repository, project left out
     ("DefaultCollection", "Shop", "Shop", "http://build01:8080/tfs/DefaultCollection")),
    ("https://github.com/acme/shop.git", None),
    ("https://gitlab.example.com/group/shop.git", None),
    ("https://tfs.contoso.com/_git/shop", None),  # no collection
    ("https://tfs.contoso.com/tfs/DefaultCollection/Shop/_git/", None),  # no repository
])
def test_azure_remote_urls(url: str, expected: tuple[str, str, str, str] | None) -> None:
    assert parse_remote(url) == expected
