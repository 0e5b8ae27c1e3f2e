"""Tickets: `podium ticket start` with the local tracker, and jobs that work on a ticket."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Env, git
from test_bad_input import assert_one_line_error

TICKET = """---
title: Export fails for empty invoices
type: bug
state: New
assignee:
priority: 2
links: https://example.com/spec/export
---
Exporting an invoice with no lines crashes with a ZeroDivisionError.

## Comments

### alice — 2026-11-20
It started after the currency change.
"""


def with_tickets(env: Env, *extra_branches: str) -> Path:
    (env.repo / "tickets").mkdir()
    path = env.repo / "tickets" / "PROJ-42-export.md"
    path.write_text(TICKET)
    git("add", "tickets", cwd=env.repo)
    git("commit", "--quiet", "-m", "Add ticket PROJ-42", cwd=env.repo)
    git("push", "--quiet", "origin", "HEAD:main", cwd=env.repo)
    for name in extra_branches:  # the team's habit, on origin
        git("push", "--quiet", "origin", f"HEAD:refs/heads/{name}", cwd=env.repo)
    return path


def test_ticket_start_assigns_activates_and_gives_the_ticket_a_workspace(env: Env) -> None:
    path = with_tickets(env, "bugfix/PROJ-7-footer-overlaps-the-menu", "feature/PROJ-9-add-login-page",
                        "bugfix/PROJ-11-rounding-in-totals")
    out = env.podium_json("ticket", "start", "PROJ-42")
    assert out["created"] and out["assigned"] and out["activated"]
    assert out["branch"].startswith("bugfix/PROJ-42-export-fails")
    assert out["ticket"]["state"] == "Active" and out["ticket"]["assignees"] == ["Dev"]
    # written back to the tracker (the file), everything else in it kept
    text = path.read_text()
    assert "assignee: Dev" in text and "state: Active" in text and "priority: 2" in text
    assert "### alice — 2026-11-20\nIt started after the currency change." in text
    # the snapshot agents read is in the worktree, and never part of the work
    ws = Path(out["workspace"])
    snapshot = (ws / ".podium" / "ticket.md").read_text()
    assert snapshot.startswith("# PROJ-42: Export fails for empty invoices\n")
    for needle in ("- **Type:** bug", "- **State:** Active", "- **priority:** 2", "ZeroDivisionError",
                   "### alice — 2026-11-20", "https://example.com/spec/export"):
        assert needle in snapshot, needle
    assert git("status", "--porcelain", cwd=ws) == ""
    [listed] = env.podium_json("workspaces")
    assert listed["ticket"] == "local:PROJ-42" and listed["job"] is None
    assert "none yet (local:PROJ-42)" in env.podium("workspaces").stdout

    # again: same workspace, nothing to assign, a refreshed snapshot
    path.write_text(path.read_text() + "\n### bob — 2026-11-24\nAlso happens for credit notes.\n")
    again = env.podium_json("ticket", "start", "PROJ-42")
    assert not (again["created"] or again["assigned"] or again["activated"])
    assert again["workspace"] == out["workspace"]
    assert "Also happens for credit notes." in (ws / ".podium" / "ticket.md").read_text()
    assert len(env.podium_json("workspaces")) == 1


def test_jobs_on_a_ticket_share_its_workspace_one_at_a_time(env: Env) -> None:
    with_tickets(env)
    run = ("--agent", "command", "--command")
    first = env.delegate("The export crashes", "--ticket", "PROJ-42", *run,
                         "sh -c 'head -1 .podium/ticket.md > seen.txt; sleep 3'")
    second = env.delegate("Add a test for it", "--ticket", "PROJ-42", *run, "sh -c 'echo test > test_export.txt'")
    assert env.job(second)["state"] == "queued"
    assert env.podium("wait", str(first), str(second), "--timeout", "60").returncode == 0
    one, two = env.job(first), env.job(second)
    assert one["workspace"] == two["workspace"] and two["started_at"] >= one["ended_at"]
    ws = Path(one["workspace"])
    assert (ws / "seen.txt").read_text() == "# PROJ-42: Export fails for empty invoices\n"
    assert ".podium/ticket.md" in one["prompt"]
    notes = env.podium("logs", str(first)).stdout
    assert "ticket PROJ-42: assigned to you, set active" in notes
    # the commit speaks of the ticket, and holds both jobs' work but not the snapshot
    out = env.approved_json("commit", str(second))
    assert out["message"].splitlines()[0] == "Export fails for empty invoices"
    assert sorted(f["path"] for f in out["files"]) == ["seen.txt", "test_export.txt"]


def test_a_ticket_someone_else_has_is_not_taken_silently(env: Env) -> None:
    path = with_tickets(env)
    path.write_text(TICKET.replace("assignee:", "assignee: Carol"))
    before = path.read_text()
    proc = env.podium("ticket", "start", "PROJ-42")
    assert_one_line_error(proc, "assigned to Carol, not you (Dev)", "--reassign")
    assert path.read_text() == before and env.podium_json("workspaces") == []
    out = env.podium_json("ticket", "start", "PROJ-42", "--reassign")
    assert out["ticket"]["assignees"] == ["Dev"]


def test_ticket_errors_are_one_line(env: Env) -> None:
    assert_one_line_error(env.podium("ticket", "start", "PROJ-1"), "no tracker configured")
    with_tickets(env)
    assert_one_line_error(env.podium("ticket", "start", "PROJ-404"), "no ticket PROJ-404")
    (env.repo / "podium.toml").write_text('[tracker]\nkind = "nowhere"\n')
    unknown = env.podium("ticket", "start", "PROJ-42")
    assert_one_line_error(unknown, "unknown tracker 'nowhere'; available: ")
    assert {"azure", "github", "jira", "local"} <= set(unknown.stderr.split("available: ")[1].strip().split(", "))
    (env.repo / "podium.toml").write_text('[tracker]\nkind = "local"\ncolour = "red"\n')
    assert_one_line_error(env.podium("ticket", "start", "PROJ-42"), "[tracker] settings for local")
    assert env.podium_json("workspaces") == []


def test_ticket_show_and_comment(env: Env) -> None:
    path = with_tickets(env)
    out = env.podium("ticket", "show", "PROJ-42", check=True).stdout
    assert out.startswith("# PROJ-42: Export fails for empty invoices") and "- **State:** New" in out
    env.podium("ticket", "comment", "PROJ-42", "Fixed in the export module; see the PR.", check=True)
    comments = env.podium_json("ticket", "show", "PROJ-42")["comments"]
    assert [c["author"] for c in comments] == ["alice", "Dev"]
    assert comments[-1]["body"] == "Fixed in the export module; see the PR."
    assert path.read_text().startswith("---\ntitle: Export fails for empty invoices\n")


def test_starting_one_ticket_twice_at_once_makes_one_workspace(env: Env) -> None:
    import subprocess
    import sys

    with_tickets(env)
    procs = [subprocess.Popen([sys.executable, "-m", "podium", "ticket", "start", "PROJ-42", "--json"],
                              cwd=env.repo, env=env.vars, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              stdin=subprocess.DEVNULL) for _ in range(3)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert len({json.loads(out)["workspace"] for out, _ in outs}) == 1
    assert len(env.podium_json("workspaces")) == 1
