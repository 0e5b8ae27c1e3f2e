"""Jobs on the real droid CLI (Factory's droid, ``droid exec``, a custom model, offline) against the scripted model.

droid resumes a session only by forking it into a new one, so a resumed job and a tester's later turn each get a
session of their own, forked from the one before: a chain podium records and follows."""

from __future__ import annotations

import json
from typing import Any

from conftest import (
    Env,
    assert_one_line_error,
    changelog_job,
    changelog_resumed,
    chat_requests,
    distill_trying_to_write,
    practice_to_distil,
)


def session_events(env: Env, job_id: int) -> list[dict[str, Any]]:
    return [e["data"] for e in env.podium_json("logs", str(job_id))["events"] if e["kind"] == "session"]


def test_droid_worker_changes_files_and_resume_forks_the_session(env: Env) -> None:
    job, worktree, summary, events = changelog_job(env, "--agent", "droid", "--effort", "high")
    assert [f["path"] for f in summary["files"]] == ["CHANGELOG.md"]
    command = next(e["data"] for e in events if e["kind"] == "command")
    assert command["command"] == "wc -l CHANGELOG.md && exit 3" and "1 CHANGELOG.md" in command["output"]
    assert command["exit_code"] == 3
    assert [e["data"]["path"] for e in events if e["kind"] == "file_change"] == [str(worktree / "CHANGELOG.md")]
    assert any(e["kind"] == "usage" and e["data"]["input_tokens"] for e in events)
    assert "--auto high" in env.podium("logs", str(job["id"])).stdout  # said why, in the job's log
    assert chat_requests(env)[0]["body"].get("reasoning_effort") == "high"  # the role's effort reached the model

    resumed = changelog_resumed(env, job, worktree, forks=True)
    assert session_events(env, resumed["id"]) == [{"id": resumed["session_id"], "forked_from": job["session_id"]}]
    assert f"forked from {job['session_id']}" in env.podium("logs", str(resumed["id"])).stdout

    # resuming the first job again goes on from the newest session of the chain, not from the first one's
    third = env.podium_json("resume", str(job["id"]), "anything left?")
    assert third["parent"] == resumed["id"] and third["session_id"] == resumed["session_id"]
    env.podium("wait", str(third["id"]), "--timeout", "120")  # it changes nothing: no_changes, exit 1
    assert session_events(env, third["id"])[0]["forked_from"] == resumed["session_id"]
    messages = json.dumps(chat_requests(env)[-1]["body"]["messages"])
    assert "Added the first entry." in messages and "anything left?" in messages


def test_droid_model_error_fails_the_job_with_the_reason(env: Env) -> None:
    env.serve({"steps": [{"error": {"status": 400, "message": "scripted refusal: the project has no credits left"}}]})
    job_id = env.delegate("Do something", "--agent", "droid")
    assert env.podium("wait", str(job_id), "--timeout", "120").returncode == 1
    job = env.job(job_id)
    assert job["state"] == "failed" and "no credits left" in job["error"]


def test_droid_autonomy_that_cannot_run_commands_and_a_second_effort_are_refused(env: Env) -> None:
    env.serve({"steps": ["Nothing to do."]})
    (env.repo / "podium.toml").write_text('[agents.droid]\nargs = ["--auto", "low"]\n')
    assert_one_line_error(env.podium("delegate", "Do it", "--agent", "droid"), "--auto low", "--auto high")
    (env.repo / "podium.toml").write_text('[agents.droid]\nargs = ["-r", "low"]\n')
    assert_one_line_error(env.podium("delegate", "Do it", "--agent", "droid", "--effort", "high"), "-r low", "high")
    (env.repo / "podium.toml").unlink()


def test_a_droid_job_still_running_is_not_forked_midway(env: Env) -> None:
    env.serve({"steps": [{"text": "Thinking it over.", "delay": 60}]})
    job_id = env.delegate("Think", "--agent", "droid")
    env.wait_for(job_id, lambda j: bool(j["session_id"]))  # droid reports its session before the model answers
    assert_one_line_error(env.podium("resume", str(job_id), "and then?"), f"job {job_id} is still running",
                          f"podium wait {job_id}")


def test_droid_tester_turns_continue_one_fork_chain(env: Env) -> None:
    job_id = env.delegate("Worker", "--agent", "command", "--command", "sh -c 'echo x > slow.txt'")
    env.podium("wait", str(job_id), "--timeout", "60")
    branch = env.job(job_id)["branch"]
    env.serve({"steps": [{"shell": "cat slow.txt"}, "slow.txt says x.", "Second turn: nothing new.",
                         "Third turn: still nothing."]})
    first = env.podium_json("test", branch, "Check slow.txt", "--agent", "droid")
    env.podium("wait", str(first["id"]), "--timeout", "120", check=True)
    turn1 = env.job(first["id"])
    assert turn1["state"] == "done" and turn1["session_id"]
    second = env.podium_json("test", branch, "Anything new?")
    assert second["agent"] == "droid" and second["resumed"] is True and second["session_id"] == turn1["session_id"]
    env.podium("wait", str(second["id"]), "--timeout", "120", check=True)
    turn2 = env.job(second["id"])
    assert turn2["session_id"] != turn1["session_id"]
    assert session_events(env, turn2["id"]) == [{"id": turn2["session_id"], "forked_from": turn1["session_id"]}]
    assert env.podium_json("logs", str(second["id"]), "--summary")["final"] == "Second turn: nothing new."
    assert "slow.txt says x." in json.dumps(chat_requests(env)[-1]["body"]["messages"])

    third = env.podium_json("test", branch, "And now?")  # forks the second turn's session, the newest
    assert third["session_id"] == turn2["session_id"]
    env.podium("wait", str(third["id"]), "--timeout", "120", check=True)
    assert session_events(env, third["id"])[0]["forked_from"] == turn2["session_id"]
    assert "Second turn: nothing new." in json.dumps(chat_requests(env)[-1]["body"]["messages"])


def test_a_droid_distiller_has_only_droids_read_tools(env: Env) -> None:
    shown, _ = distill_trying_to_write(env, "droid")
    assert "+# Orchestrator (distilled)" in shown["diff"]["ORCHESTRATOR"]
    assert not (env.repo / "sneaky.txt").exists()
    assert {"Execute", "Create", "Edit", "ApplyPatch"}.isdisjoint(chat_requests(env)[0]["tools"])


def test_droid_args_naming_a_writing_tool_are_refused_for_the_distiller(env: Env) -> None:
    (env.repo / "podium.toml").write_text('[agents.droid]\nargs = ["--only-tools", "Read,Create,Execute"]\n')
    env.serve({"steps": ["Never asked."]})
    practice_to_distil(env)
    assert_one_line_error(env.podium("distill", "--agent", "droid"), "--only-tools Read,Create,Execute",
                          "Create, Execute")
    assert not env.requests()  # refused before droid started, asked nothing of the model
