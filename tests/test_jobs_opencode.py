"""Jobs on the real opencode CLI (opencode run --format json) against the scripted model."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from conftest import (
    Env,
    assert_one_line_error,
    changelog_job,
    changelog_resumed,
    chat_requests,
    distill_trying_to_write,
    practice_to_distil,
)


def test_opencode_worker_changes_files_and_resume_keeps_the_session(env: Env) -> None:
    job, worktree, summary, events = changelog_job(env, "--agent", "opencode")
    assert job["session_id"].startswith("ses_")
    assert [f["path"] for f in summary["files"]] == ["CHANGELOG.md"]
    command = next(e["data"] for e in events if e["kind"] == "command")
    assert command["command"] == "wc -l CHANGELOG.md && exit 3" and "1 CHANGELOG.md" in command["output"]
    assert command["exit_code"] == 3  # opencode's stream carries it
    assert {"path": str(worktree / "CHANGELOG.md"), "change": "write"} in [e["data"] for e in events
                                                                             if e["kind"] == "file_change"]
    assert any(e["kind"] == "usage" for e in events)
    assert "--auto" not in env.podium("logs", str(job["id"])).stdout  # opencode's defaults let a worker write

    changelog_resumed(env, job, worktree)


def test_opencode_config_that_asks_gets_auto_and_one_that_denies_is_refused(env: Env) -> None:
    env.serve({"steps": [{"write": {"path": "asked.txt", "content": "yes\n"}}, "Wrote it."]})
    config = Path(env.vars["HOME"]) / ".config" / "opencode" / "opencode.json"
    settings = json.loads(config.read_text())
    # the user's own config, with comments: opencode reads JSONC
    config.write_text("// mine\n" + json.dumps({**settings, "permission": {"edit": "ask", "bash": {"*": "ask"}}}))
    job_id = env.delegate("Write it down", "--agent", "opencode")
    assert env.podium("wait", str(job_id), "--timeout", "120").returncode == 0
    assert (Path(env.job(job_id)["workspace"]) / "asked.txt").read_text() == "yes\n"
    assert "asks before edit and bash" in env.podium("logs", str(job_id)).stdout

    config.write_text(json.dumps({**settings, "permission": {"edit": "deny"}}))
    refused = env.podium("delegate", "Write it again", "--agent", "opencode")
    assert_one_line_error(refused, "your opencode config denies edit")


def test_opencode_tester_turns_resume_one_session(env: Env) -> None:
    job_id = env.delegate("Worker", "--agent", "command", "--command", "sh -c 'echo x > slow.txt'")
    env.podium("wait", str(job_id), "--timeout", "60")
    branch = env.job(job_id)["branch"]
    env.serve({"steps": [{"shell": "cat slow.txt"}, "slow.txt says x.", "Second turn: nothing new."]})
    first = env.podium_json("test", branch, "Check slow.txt", "--agent", "opencode")
    env.podium("wait", str(first["id"]), "--timeout", "120", check=True)
    turn1 = env.job(first["id"])
    assert turn1["state"] == "done" and turn1["session_id"]
    # the tester's role, in its first turn
    assert "You handle manual testing" in json.dumps(chat_requests(env)[0]["body"])
    second = env.podium_json("test", branch, "Anything new?")
    assert second["agent"] == "opencode" and second["resumed"] is True
    assert second["session_id"] == turn1["session_id"]
    env.podium("wait", str(second["id"]), "--timeout", "120", check=True)
    assert env.podium_json("logs", str(second["id"]), "--summary")["final"] == "Second turn: nothing new."
    assert "slow.txt says x." in json.dumps(chat_requests(env)[-1]["body"]["messages"])



@pytest.mark.parametrize("agent", ["opencode", "kilo"])
def test_an_opencode_distiller_works_from_the_users_checkout_without_writing_to_it(env: Env, agent: str) -> None:
    shown, _ = distill_trying_to_write(env, agent)
    assert "+# Orchestrator (distilled)" in shown["diff"]["ORCHESTRATOR"]
    assert not (env.repo / "sneaky.txt").exists()  # the plan agent, its writing tools denied: a run that only reads


@pytest.mark.parametrize("agent", ["opencode", "kilo"])
def test_an_opencode_distiller_reads_only_though_the_users_config_allows_bash_and_edit(env: Env,
                                                                                      agent: str) -> None:
    reply = ("=== FILE: ORCHESTRATOR.md ===\n# Orchestrator (distilled)\n\nKeep the diff small.\n"
             "=== FILE: TESTER.md ===\n# Tester (distilled)\n")
    env.serve({"scripts": [{"name": "distiller", "match": "You are distilling how this engineer", "steps": [
        {"shell": "echo x > sneaky.txt"}, reply]}]})
    config = Path(env.vars["HOME"]) / ".config" / agent / f"{agent}.json"
    config.write_text(json.dumps({**json.loads(config.read_text()), "permission": {"bash": "allow",
                                                                                   "edit": "allow"}}))
    practice_to_distil(env)
    shown = env.podium_json("distill", "--agent", agent)
    assert "+# Orchestrator (distilled)" in shown["diff"]["ORCHESTRATOR"]
    assert not (env.repo / "sneaky.txt").exists()  # the user's "bash": "allow" held for the plan agent too


def test_the_users_inline_opencode_config_is_never_copied_into_a_run_of_podiums(env: Env) -> None:
    env.vars["OPENCODE_CONFIG_CONTENT"] = json.dumps({"username": "kept-out-of-argv"})
    shown, _ = distill_trying_to_write(env, "opencode")
    assert "+# Orchestrator (distilled)" in shown["diff"]["ORCHESTRATOR"]
    assert not (env.repo / "sneaky.txt").exists()
    job = max(r["id"] for r in env.podium_json("status", "--all"))
    with sqlite3.connect(env.repo / ".git" / "podium" / "state.db") as db:
        [argv] = db.execute("SELECT argv FROM jobs WHERE id = ?", (job,)).fetchone()
    assert "OPENCODE_CONFIG_CONTENT=" in argv and "kept-out-of-argv" not in argv
    assert "your $OPENCODE_CONFIG_CONTENT is not used for this run" in env.podium("logs", str(job)).stdout
