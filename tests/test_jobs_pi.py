"""Jobs on the real pi CLI (pi --mode json -p) against the scripted model."""

from __future__ import annotations

import json

from conftest import (
    Env,
    assert_one_line_error,
    changelog_job,
    changelog_resumed,
    chat_requests,
    distill_trying_to_write,
    practice_to_distil,
)


def test_pi_worker_changes_files_and_resume_keeps_the_session(env: Env) -> None:
    job, worktree, summary, events = changelog_job(env, "--agent", "pi", "--effort", "low")
    assert [f["path"] for f in summary["files"]] == ["CHANGELOG.md"]
    command = next(e["data"] for e in events if e["kind"] == "command")
    assert command["command"] == "wc -l CHANGELOG.md && exit 3" and "1 CHANGELOG.md" in command["output"]
    assert command["exit_code"] == 3  # read from pi's "Command exited with code 3"
    assert [e["data"]["path"] for e in events if e["kind"] == "file_change"] == [str(worktree / "CHANGELOG.md")]
    assert any(e["kind"] == "usage" and e["data"]["output_tokens"] > 0 for e in events)
    # the role's effort is pi's thinking level, which pi sends as the request's reasoning effort
    assert chat_requests(env)[0]["body"]["reasoning_effort"] == "low"

    changelog_resumed(env, job, worktree)


def test_pi_model_error_fails_the_job_with_the_reason(env: Env) -> None:
    env.serve({"steps": [{"error": {"status": 400, "message": "scripted refusal: the project has no credits left"}}]})
    job_id = env.delegate("Do something", "--agent", "pi")
    assert env.podium("wait", str(job_id), "--timeout", "120").returncode == 1
    job = env.job(job_id)
    assert job["state"] == "failed" and "no credits left" in job["error"]


def test_pi_tester_turns_resume_one_session(env: Env) -> None:
    job_id = env.delegate("Worker", "--agent", "command", "--command", "sh -c 'echo x > slow.txt'")
    env.podium("wait", str(job_id), "--timeout", "60")
    branch = env.job(job_id)["branch"]
    env.serve({"steps": [{"shell": "cat slow.txt"}, "slow.txt says x.", "Second turn: nothing new."]})
    first = env.podium_json("test", branch, "Check slow.txt", "--agent", "pi")
    env.podium("wait", str(first["id"]), "--timeout", "120", check=True)
    turn1 = env.job(first["id"])
    assert turn1["state"] == "done" and turn1["session_id"]
    second = env.podium_json("test", branch, "Anything new?")
    assert second["agent"] == "pi" and second["resumed"] is True and second["session_id"] == turn1["session_id"]
    env.podium("wait", str(second["id"]), "--timeout", "120", check=True)
    assert env.podium_json("logs", str(second["id"]), "--summary")["final"] == "Second turn: nothing new."
    assert "slow.txt says x." in json.dumps(chat_requests(env)[-1]["body"]["messages"])


def test_a_pi_distiller_has_only_pis_read_tools(env: Env) -> None:
    shown, _ = distill_trying_to_write(env, "pi")
    assert "+# Orchestrator (distilled)" in shown["diff"]["ORCHESTRATOR"]
    assert not (env.repo / "sneaky.txt").exists()
    # pi offered the model no tool that writes
    assert {"bash", "write", "edit"}.isdisjoint(chat_requests(env)[0]["tools"])


def test_pi_args_naming_a_writing_tool_are_refused_for_the_distiller(env: Env) -> None:
    (env.repo / "podium.toml").write_text('[agents.pi]\nargs = ["--tools", "read,write,bash"]\n')
    env.serve({"steps": ["Never asked."]})
    practice_to_distil(env)
    assert_one_line_error(env.podium("distill", "--agent", "pi"), "--tools read,write,bash", "write, bash")
    assert not env.requests()  # refused before pi started, asked nothing of the model
