"""The GitLab tracker against a local GitLab REST v4 server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Env
from podium.providers.gitlab import _parse
from servers.gitlab import GitLabIssue, GitLabServer
from test_bad_input import assert_one_line_error


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
