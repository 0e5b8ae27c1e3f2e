"""The Linear tracker against a local GraphQL server checked with the types of Linear's own SDK."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Env
from servers.linear import LinearIssue, LinearServer
from test_bad_input import assert_one_line_error


@pytest.fixture
def linear(env: Env) -> Iterator[LinearServer]:
    server = LinearServer()
    server.issues["ENG-12"] = LinearIssue("ENG-12", "Search ignores accents", "Searching *cafe* misses *café*.",
                                          labels=["Bug"], comments=[("u-carol", "Same for ü.")])
    env.vars["LINEAR_API_KEY"] = server.key
    (env.repo / "podium.toml").write_text(f'[tracker]\nkind = "linear"\napi = "{server.url}"\n')
    yield server
    server.stop()
    assert server.errors == []  # every field and input podium used exists in Linear's schema


def test_ticket_start_on_linear_assigns_and_moves_to_the_first_started_state(env: Env, linear: LinearServer) -> None:
    out = env.podium_json("ticket", "start", "eng-12")
    issue = linear.issues["ENG-12"]
    assert issue.assignee == "u-dev" and issue.state == "In Progress"  # not "In Review": the first started state
    assert out["branch"] == "bugfix/ENG-12-search-ignores-accents"
    snapshot = (Path(out["workspace"]) / ".podium" / "ticket.md").read_text()
    for needle in ("# ENG-12: Search ignores accents", "Searching *cafe* misses *café*.", "### Carol — 2026-11-20",
                   "Same for ü.", "[Sentry event](https://sentry.example/e/1)", "https://linear.app/acme/issue/ENG-12"):
        assert needle in snapshot, needle
    assert all(r["authorization"] == linear.key for r in linear.requests)
    again = env.podium_json("ticket", "start", "ENG-12")
    assert not again["assigned"] and not again["activated"]
    env.podium("ticket", "comment", "ENG-12", "Fix is up for review.", check=True)
    assert issue.comments[-1] == ("u-dev", "Fix is up for review.")


def test_linear_refusals_are_one_line(env: Env, linear: LinearServer) -> None:
    assert_one_line_error(env.podium("ticket", "start", "ENG-404"), "Linear has no ENG-404")
    linear.issues["ENG-13"] = LinearIssue("ENG-13", "Taken", assignee="u-carol")
    assert_one_line_error(env.podium("ticket", "start", "ENG-13"), "assigned to Carol, not you (Dev Eloper)")
    linear.issues["ENG-14"] = LinearIssue("ENG-14", "Old", state="Canceled")
    assert_one_line_error(env.podium("ticket", "start", "ENG-14"), "ticket ENG-14 is Canceled; reopen it")
    env.vars["LINEAR_API_KEY"] = "lin_api_revoked"
    assert_one_line_error(env.podium("ticket", "show", "ENG-12"), "Linear rejected the credentials",
                          "LINEAR_API_KEY")
    del env.vars["LINEAR_API_KEY"]
    assert_one_line_error(env.podium("ticket", "show", "ENG-12"), "no Linear API key")
    (env.repo / "podium.toml").write_text(f'[tracker]\nkind = "linear"\napi = "{linear.url}"\nactive = "Doing"\n')
    env.vars["LINEAR_API_KEY"] = linear.key
    assert_one_line_error(env.podium("ticket", "start", "ENG-12"), "has no Doing state in Linear")
