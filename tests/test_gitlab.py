"""GitLab: issues as tickets and merge requests as the forge, against a local GitLab REST v4 server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Env, git
from podium.providers.gitlab import _parse
from servers.gitlab import GitLabIssue, GitLabServer, Pipeline
from test_bad_input import assert_one_line_error
from test_gate import png


@pytest.fixture
def gitlab(env: Env) -> Iterator[GitLabServer]:
    server = GitLabServer()
    server.issues[5] = GitLabIssue(5, "Dark mode flickers on load", "The page is white for a moment.",
                                   labels=["type::bug"], notes=[(8, "Only in Firefox.", False),
                                                                (8, "added ~type::bug label", True)])
    env.vars["GITLAB_TOKEN"] = server.token
    (env.repo / "podium.toml").write_text(
        f'[tracker]\nkind = "gitlab"\nproject = "acme/web/shop"\napi = "{server.url}/api/v4"\n')
    yield server
    server.stop()
    assert server.errors == []


def test_ticket_start_on_gitlab(env: Env, gitlab: GitLabServer) -> None:
    out = env.podium_json("ticket", "start", "#5")
    issue = gitlab.issues[5]
    assert issue.assignees == [7] and "workflow::in progress" in issue.labels
    assert out["branch"] == "bugfix/5-dark-mode-flickers-load"
    snapshot = (Path(out["workspace"]) / ".podium" / "ticket.md").read_text()
    assert "# 5: Dark mode flickers on load" in snapshot and "Only in Firefox." in snapshot
    assert "added ~type::bug label" not in snapshot  # system notes are not comments
    assert "- **milestone:** Sprint 12" in snapshot
    again = env.podium_json("ticket", "start", "5")
    assert not again["assigned"] and not again["activated"]
    env.podium("ticket", "comment", "5", "Fixed on a branch.", check=True)
    assert issue.notes[-1] == (7, "Fixed on a branch.", False)


def test_gitlab_refusals_are_one_line(env: Env, gitlab: GitLabServer) -> None:
    assert_one_line_error(env.podium("ticket", "start", "99"), "no issue #99 in acme/web/shop on GitLab")
    gitlab.issues[6] = GitLabIssue(6, "Theirs", assignees=[8])
    assert_one_line_error(env.podium("ticket", "start", "6"), "assigned to carol, not you (dev)")
    env.vars["GITLAB_TOKEN"] = "glpat-expired"
    assert_one_line_error(env.podium("ticket", "show", "5"), "GitLab rejected the credentials", "GITLAB_TOKEN")
    del env.vars["GITLAB_TOKEN"]
    env.vars["PATH"] = "/usr/bin:/bin"  # no glab either
    assert_one_line_error(env.podium("ticket", "show", "5"), "no GitLab token")


def test_gitlab_remotes() -> None:
    assert _parse("git@gitlab.com:acme/web/shop.git") == ("gitlab.com", "acme/web/shop")
    assert _parse("https://gitlab.example.org/acme/shop") == ("gitlab.example.org", "acme/shop")
    assert _parse("https://github.com/acme/shop") is None


RUN = ("--agent", "command", "--command")


@pytest.fixture
def forge(env: Env, gitlab: GitLabServer) -> GitLabServer:
    """The GitLab project is both the tracker and the forge (a self-managed instance: its own API address)."""
    toml = env.repo / "podium.toml"
    toml.write_text(toml.read_text() + '[forge]\nkind = "gitlab"\nproject = "acme/web/shop"\n'
                    f'api = "{gitlab.url}/api/v4"\n')
    return gitlab


def shipped_job(env: Env, script: str) -> tuple[int, str]:
    job = env.delegate("Dark mode", "--ticket", "5", *RUN, f"sh -c '{script}'")
    env.podium("wait", str(job), "--timeout", "30", check=True)
    return job, env.job(job)["branch"]


def test_ship_opens_one_merge_request_that_closes_the_issue_and_keeps_it_in_sync(env: Env, forge: GitLabServer) -> None:
    first, branch = shipped_job(env, "echo dark > theme.css; echo Fixed the white flash.")
    shot = Path(env.vars["HOME"]) / "Desktop" / f"{branch.replace('/', '-')}-1-dark.png"
    png(shot)
    shipped = env.approved_json("ship", str(first))
    [mr] = forge.merge_requests.values()
    assert (mr.source, mr.target, mr.title) == (branch, "main", "Dark mode flickers on load")
    assert mr.description.startswith("Fixed the white flash.\n\nCloses #5")  # GitLab closes the issue on merge
    [(secret, (name, content))] = forge.uploads.items()  # the screenshot is a project upload, shown inline
    assert (name, content) == (shot.name, shot.read_bytes())
    assert f"![{shot.name}](/uploads/{secret}/{shot.name})" in mr.description
    assert shipped["pr_url"] == "https://gitlab.example/acme/web/shop/-/merge_requests/1"
    head = git("ls-remote", "origin", f"refs/heads/{branch}", cwd=env.repo).split("\t")[0]
    assert head == shipped["commit_sha"] and git("log", "-1", "--format=%s", head, cwd=env.repo) == mr.title

    # round 2: still one commit and one merge request, its description brought in line, nothing uploaded twice
    round_two = len(forge.requests)
    second, _ = shipped_job(env, "echo t > test_theme.py; echo Added a test.")
    again = env.approved_json("ship", str(second))
    assert len(forge.merge_requests) == 1 and len(forge.uploads) == 1 and mr.title == "Dark mode flickers on load"
    assert mr.description.startswith("- Fixed the white flash.\n- Added a test.\n\nCloses #5")
    head = git("ls-remote", "origin", f"refs/heads/{branch}", cwd=env.repo).split("\t")[0]
    assert head == again["commit_sha"] != shipped["commit_sha"]
    assert git("rev-list", "--count", f"origin/main..{head}", cwd=env.repo) == "1"
    assert git("log", "-1", "--format=%b", head, cwd=env.repo).strip() in mr.description
    puts = [r for r in forge.requests[round_two:] if r["method"] == "PUT" and "/merge_requests/" in r["path"]]
    assert len(puts) == 1 and set(puts[0]["body"]) == {"title", "description"}  # updated in place, once
    writes = len([r for r in forge.requests if r["method"] != "GET"])
    assert env.podium_json("ship", str(second))["gate"]["reason"].startswith("nothing new")
    assert len([r for r in forge.requests if r["method"] != "GET"]) == writes


def test_podium_pr_shows_the_jobs_of_the_head_pipeline(env: Env, forge: GitLabServer) -> None:
    job, _ = shipped_job(env, "echo dark > theme.css")
    shipped = env.approved_json("ship", str(job))
    mr = forge.merge_requests[1]
    mr.sha = shipped["commit_sha"]
    forge.pipelines[1] = [
        Pipeline(32, "1" * 40, "failed", [("test", "unit", "failed", False)]),  # re-run on an older commit
        Pipeline(31, mr.sha, "running", [("test", "unit", "success", False), ("test", "lint", "failed", True),
                                         ("review", "deploy", "running", False)])]
    out = env.podium_json("pr", str(job))
    assert out["verdict"] == "pending" and out["number"] == "1" and out["head_sha"] == mr.sha
    assert [(c["name"], c["state"]) for c in out["checks"]] == [("unit", "passed"), ("lint", "skipped"),
                                                                 ("deploy", "pending")]
    assert out["checks"][0]["url"] == "https://gitlab.example/acme/web/shop/-/jobs/310"
    forge.pipelines[1][1].jobs[2] = ("review", "deploy", "canceled", False)
    shown = env.podium("pr", str(job)).stdout
    assert "checks: failed (3)" in shown and "failed   deploy" in shown
    forge.pipelines[1] = [Pipeline(33, mr.sha, "success")]  # a pipeline with no jobs of its own (external CI)
    assert [(c["name"], c["state"]) for c in env.podium_json("pr", str(job))["checks"]] == [("pipeline", "passed")]
    forge.pipelines[1] = []
    assert env.podium_json("pr", str(job))["verdict"] == "none"


def test_a_draft_merge_request_stays_a_draft(env: Env, forge: GitLabServer) -> None:
    toml = env.repo / "podium.toml"
    toml.write_text(toml.read_text() + "draft = true\n")
    first, _ = shipped_job(env, "echo dark > theme.css; echo Fixed it.")
    env.approved_json("ship", str(first))
    mr = forge.merge_requests[1]
    assert mr.title == "Draft: Dark mode flickers on load"  # how GitLab marks a draft
    second, _ = shipped_job(env, "echo t > test_theme.py; echo Added a test.")
    env.approved_json("ship", str(second))
    assert mr.title == "Draft: Dark mode flickers on load" and "- Added a test." in mr.description
    mr.title = "Dark mode flickers on load"  # marked ready on GitLab: podium leaves it ready
    third, _ = shipped_job(env, "echo more > more.css; echo Covered Safari.")
    env.approved_json("ship", str(third))
    assert mr.title == "Dark mode flickers on load" and "- Covered Safari." in mr.description


def test_bad_forge_settings_are_one_line(env: Env, forge: GitLabServer) -> None:
    job, _ = shipped_job(env, "echo dark > theme.css")
    toml = env.repo / "podium.toml"
    settings = toml.read_text()
    toml.write_text(settings.replace('[forge]\nkind = "gitlab"\nproject = "acme/web/shop"\n',
                                     '[forge]\nkind = "gitlab"\n'))
    assert_one_line_error(env.podium("pr", str(job)), "origin is not a GitLab project", "[forge] project")
    toml.write_text(settings + 'repo = "acme/shop"\n')
    assert_one_line_error(env.podium("pr", str(job)), "[forge] settings for gitlab", "repo")
    toml.write_text(settings)
    assert_one_line_error(env.podium("pr", str(job)), "has no open pull request")
    env.vars["GITLAB_TOKEN"] = "glpat-expired"
    assert_one_line_error(env.podium("pr", str(job)), "GitLab rejected the credentials", "GITLAB_TOKEN")


def test_an_issue_of_another_project_is_closed_by_its_full_reference(env: Env, forge: GitLabServer) -> None:
    issues = GitLabServer(project="acme/issues")  # the team keeps its issues in a project of their own
    try:
        issues.issues[5] = GitLabIssue(5, "Dark mode flickers on load", labels=["type::bug"])
        toml = env.repo / "podium.toml"
        tracker = f'[tracker]\nkind = "gitlab"\nproject = "acme/issues"\napi = "{issues.url}/api/v4"\n'
        toml.write_text(tracker + "[forge]" + toml.read_text().split("[forge]", 1)[1])
        job, _ = shipped_job(env, "echo dark > theme.css; echo Fixed the white flash.")
        env.approved_json("ship", str(job))
        assert forge.merge_requests[1].description.startswith("Fixed the white flash.\n\nCloses acme/issues#5")
    finally:
        issues.stop()
    assert issues.errors == []
