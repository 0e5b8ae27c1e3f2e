"""The Jira tracker against a local Jira Cloud REST v3 server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Env
from podium.providers.jira import adf_document, adf_text
from servers.jira import JiraIssue, JiraServer, adf
from test_bad_input import assert_one_line_error


@pytest.fixture
def jira(env: Env) -> Iterator[JiraServer]:
    server = JiraServer()
    server.issues["SHOP-7"] = JiraIssue("SHOP-7", "Coupon codes are case sensitive",
                                        "Typing save10 fails.\n\nSAVE10 works.",
                                        comments=[("acc-carol", adf("Customers complain daily."))])
    env.vars.update(JIRA_EMAIL=server.email, JIRA_API_TOKEN=server.token)
    (env.repo / "podium.toml").write_text(f'[tracker]\nkind = "jira"\nurl = "{server.url}"\n')
    yield server
    server.stop()
    assert server.errors == []


def test_ticket_start_on_jira_assigns_and_transitions_to_in_progress(env: Env, jira: JiraServer) -> None:
    out = env.podium_json("ticket", "start", "shop-7")
    issue = jira.issues["SHOP-7"]
    assert issue.assignee == "acc-dev" and issue.status == "In Progress"
    assert out["branch"] == "bugfix/SHOP-7-coupon-codes-are-case"  # the key whole, not a bare 7
    snapshot = (Path(out["workspace"]) / ".podium" / "ticket.md").read_text()
    for needle in ("# SHOP-7: Coupon codes are case sensitive", "Typing save10 fails.\n\nSAVE10 works.",
                   "### Carol — 2026-11-20", "Customers complain daily.", "- blocks SHOP-2", "[trace.txt](",
                   "- **priority:** High", f"{jira.url}/browse/SHOP-7"):
        assert needle in snapshot, needle
    posted = [r["path"] for r in jira.requests if r["method"] in ("PUT", "POST")]
    assert posted == ["/rest/api/3/issue/SHOP-7/assignee", "/rest/api/3/issue/SHOP-7/transitions"]
    again = env.podium_json("ticket", "start", "SHOP-7")
    assert not again["assigned"] and not again["activated"]
    env.podium("ticket", "comment", "SHOP-7", "Fixed in the branch.\nPR soon.", check=True)
    assert adf_text(issue.comments[-1][1]) == "Fixed in the branch.\nPR soon."


def test_a_named_transition_and_jira_refusals(env: Env, jira: JiraServer) -> None:
    jira.issues["SHOP-8"] = JiraIssue("SHOP-8", "Taken", "", assignee="acc-carol")
    assert_one_line_error(env.podium("ticket", "start", "SHOP-8"), "assigned to Carol, not you (Dev Eloper)")
    jira.issues["SHOP-9"] = JiraIssue("SHOP-9", "Old", "", status="Done")
    assert_one_line_error(env.podium("ticket", "start", "SHOP-9"), "ticket SHOP-9 is Done; reopen it")
    assert_one_line_error(env.podium("ticket", "start", "SHOP-404"), "no issue SHOP-404 in Jira")
    assert_one_line_error(env.podium("ticket", "start", "not-a-key!"), "not a Jira issue key")
    (env.repo / "podium.toml").write_text(f'[tracker]\nkind = "jira"\nurl = "{jira.url}"\nactive = "In Review"\n')
    jira.issues["SHOP-10"] = JiraIssue("SHOP-10", "Needs review first", "")
    proc = env.podium("ticket", "start", "SHOP-10")  # To Do has no transition to "In Review"
    assert_one_line_error(proc, "no transition to an in-progress status from To Do", "Start work, Finish")
    env.vars["JIRA_API_TOKEN"] = "revoked"
    assert_one_line_error(env.podium("ticket", "show", "SHOP-7"), "Jira rejected the credentials")
    del env.vars["JIRA_API_TOKEN"]
    assert_one_line_error(env.podium("ticket", "show", "SHOP-7"), "no Jira credentials")


def test_adf_round_trip() -> None:
    doc = adf_document("First line\nsecond line\n\nNext paragraph")
    assert adf_text(doc) == "First line\nsecond line\n\nNext paragraph"
    bullets = {"type": "doc", "version": 1, "content": [{"type": "bulletList", "content": [
        {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "one"}]}]},
        {"type": "listItem", "content": [{"type": "paragraph", "content": [{"type": "text", "text": "two"}]}]}]}]}
    assert adf_text(bullets) == "- one\n\n- two"
    assert adf_text("plain v2 text ") == "plain v2 text"
