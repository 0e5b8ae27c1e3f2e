"""The GitHub tracker against a local GitHub REST server whose shapes are checked with githubkit's models."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Env
from servers.github import GitHubServer, Issue
from test_bad_input import assert_one_line_error


@pytest.fixture
def github(env: Env) -> Iterator[GitHubServer]:
    server = GitHubServer()
    server.issues[12] = Issue(12, "Checkout total ignores discounts", "Steps:\n1. add a coupon\n2. total is wrong",
                              labels=["bug"], comments=[("alice", "Seen on mobile too.")])
    env.vars["GITHUB_TOKEN"] = server.token
    (env.repo / "podium.toml").write_text(f'[tracker]\nkind = "github"\nrepo = "acme/shop"\napi = "{server.url}"\n')
    yield server
    server.stop()
    assert server.errors == []  # every request and response fitted GitHub's published shapes


def test_ticket_start_on_github_assigns_labels_and_snapshots_the_issue(env: Env, github: GitHubServer) -> None:
    out = env.podium_json("ticket", "start", "#12")
    assert out["created"] and out["assigned"] and out["activated"]
    assert out["branch"] == "bugfix/12-checkout-total-ignores-discounts"  # from the issue's number, title, label
    issue = github.issues[12]
    assert issue.assignees == ["dev"] and "in progress" in issue.labels
    snapshot = (Path(out["workspace"]) / ".podium" / "ticket.md").read_text()
    assert snapshot.startswith("# 12: Checkout total ignores discounts")
    assert "- **Type:** bug" in snapshot and "Seen on mobile too." in snapshot
    assert "https://github.com/acme/shop/issues/12" in snapshot
    calls = [(r["method"], r["path"].split("?")[0]) for r in github.requests]
    assert ("POST", "/repos/acme/shop/issues/12/assignees") in calls
    assert ("POST", "/repos/acme/shop/issues/12/labels") in calls
    assert all(r["authorization"] == f"Bearer {github.token}" and r["api_version"] == "2022-11-28"
               for r in github.requests)
    # again: nothing more to write; the token is nowhere in what podium keeps
    before = len([r for r in github.requests if r["method"] == "POST"])
    env.podium_json("ticket", "start", "12")
    assert len([r for r in github.requests if r["method"] == "POST"]) == before
    for path in [*(env.repo / ".git" / "podium").rglob("*"), Path(out["workspace"]) / ".podium" / "ticket.md"]:
        if path.is_file():
            assert github.token.encode() not in path.read_bytes(), path
    env.podium("ticket", "comment", "12", "Working on it in a branch.", check=True)
    assert issue.comments[-1] == ("dev", "Working on it in a branch.")


def test_github_refusals_are_one_line_and_nothing_is_half_done(env: Env, github: GitHubServer) -> None:
    assert_one_line_error(env.podium("ticket", "start", "99"), "no issue #99 in acme/shop on GitHub")
    github.issues[13] = Issue(13, "Taken", "", assignees=["carol"])
    assert_one_line_error(env.podium("ticket", "start", "13"), "assigned to carol, not you (dev)")
    github.issues[14] = Issue(14, "Old", "", state="closed")
    assert_one_line_error(env.podium("ticket", "start", "14"), "is closed; reopen it")
    github.fail.append((401, {}, {"message": "Bad credentials"}))
    assert_one_line_error(env.podium("ticket", "start", "12"), "GitHub rejected the credentials", "gh auth login")
    github.fail.append((403, {}, {"message": "Resource not accessible by integration"}))
    assert_one_line_error(env.podium("ticket", "start", "12"), "no permission (Resource not accessible")
    github.fail.append((429, {"Retry-After": "120"}, {"message": "rate limited"}))
    assert_one_line_error(env.podium("ticket", "start", "12"), "rate limit reached; try again in 120s")
    assert env.podium_json("workspaces") == [] and github.issues[12].assignees == []
    # a short rate limit is waited out
    github.fail.append((429, {"Retry-After": "1"}, {"message": "rate limited"}))
    assert env.podium_json("ticket", "start", "12")["assigned"]
    env.vars["GITHUB_TOKEN"] = "ghp_expired"
    assert_one_line_error(env.podium("ticket", "show", "12"), "rejected the credentials")
    github.stop()
    env.vars["GITHUB_TOKEN"] = github.token
    assert_one_line_error(env.podium("ticket", "show", "12"), "cannot reach GitHub at http://127.0.0.1:")


def test_no_token_says_how_to_get_one(env: Env, github: GitHubServer) -> None:
    del env.vars["GITHUB_TOKEN"]
    env.vars["PATH"] = "/usr/bin:/bin"  # no gh CLI
    assert_one_line_error(env.podium("ticket", "show", "12"), "no GitHub token", "gh auth login")
