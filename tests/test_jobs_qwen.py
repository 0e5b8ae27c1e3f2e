"""Jobs on the real qwen CLI (Qwen Code, headless stream-json) against the scripted model."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import (
    Env,
    assert_one_line_error,
    changelog_job,
    changelog_resumed,
    chat_requests,
    distill_trying_to_write,
)


def test_qwen_worker_changes_files_and_resume_keeps_the_session(env: Env) -> None:
    job, worktree, summary, events = changelog_job(env, "--agent", "qwen", shell="wc -l CHANGELOG.md")
    assert [f["path"] for f in summary["files"]] == ["CHANGELOG.md"]
    command = next(e["data"] for e in events if e["kind"] == "command")
    assert command["command"] == "wc -l CHANGELOG.md" and "1 CHANGELOG.md" in command["output"]
    assert command["exit_code"] is None  # qwen's stream does not carry exit codes; podium does not guess
    assert [e["data"]["path"] for e in events if e["kind"] == "file_change"] == [str(worktree / "CHANGELOG.md")]
    assert "--approval-mode yolo" in env.podium("logs", str(job["id"])).stdout  # said why, in the job's log

    changelog_resumed(env, job, worktree)


def test_qwen_approval_mode_that_cannot_run_commands_and_an_effort_are_refused(env: Env) -> None:
    (env.repo / "podium.toml").write_text('[agents.qwen]\nargs = ["--approval-mode", "plan"]\n')
    assert_one_line_error(env.podium("delegate", "Do it", "--agent", "qwen"), "--approval-mode plan",
                          "--approval-mode yolo")
    (env.repo / "podium.toml").unlink()
    assert_one_line_error(env.podium("delegate", "Do it", "--agent", "qwen", "--effort", "high"),
                          "qwen has no effort setting")


def test_qwen_tester_turns_resume_one_session(env: Env) -> None:
    job_id = env.delegate("Worker", "--agent", "command", "--command", "sh -c 'echo x > slow.txt'")
    env.podium("wait", str(job_id), "--timeout", "60")
    branch = env.job(job_id)["branch"]
    env.serve({"steps": [{"shell": "cat slow.txt"}, "slow.txt says x.", "Second turn: nothing new."]})
    first = env.podium_json("test", branch, "Check slow.txt", "--agent", "qwen")
    env.podium("wait", str(first["id"]), "--timeout", "120", check=True)
    turn1 = env.job(first["id"])
    assert turn1["state"] == "done" and turn1["session_id"]
    second = env.podium_json("test", branch, "Anything new?")
    assert second["agent"] == "qwen" and second["resumed"] is True and second["session_id"] == turn1["session_id"]
    env.podium("wait", str(second["id"]), "--timeout", "120", check=True)
    assert env.podium_json("logs", str(second["id"]), "--summary")["final"] == "Second turn: nothing new."
    assert "slow.txt says x." in json.dumps(chat_requests(env)[-1]["body"]["messages"])


def test_a_qwen_distiller_reads_only_though_the_users_settings_choose_yolo(env: Env) -> None:
    settings = Path(env.vars["HOME"]) / ".qwen" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({**(json.loads(settings.read_text()) if settings.exists() else {}),
                                    "tools": {"approvalMode": "yolo"}}))
    shown, _ = distill_trying_to_write(env, "qwen")
    assert "+# Orchestrator (distilled)" in shown["diff"]["ORCHESTRATOR"]
    assert not (env.repo / "sneaky.txt").exists()  # podium's --approval-mode default over the user's yolo
