"""Jobs on the real kilo CLI (Kilo Code, opencode's fork: kilo run --format json) against the scripted model."""

from __future__ import annotations

from conftest import Env, changelog_job, changelog_resumed


def test_kilo_worker_runs_commands_it_would_ask_for_and_resume_keeps_the_session(env: Env) -> None:
    job, worktree, _, events = changelog_job(env, "--agent", "kilo", shell="wc -l CHANGELOG.md")
    assert job["session_id"].startswith("ses_")
    command = next(e["data"] for e in events if e["kind"] == "command")
    assert command["exit_code"] == 0 and "1 CHANGELOG.md" in command["output"]  # kilo asks for bash: --auto ran it
    assert "kilo asks before bash" in env.podium("logs", str(job["id"])).stdout

    changelog_resumed(env, job, worktree)


def test_kilo_tester_turns_resume_one_session(env: Env) -> None:
    job_id = env.delegate("Worker", "--agent", "command", "--command", "sh -c 'echo x > slow.txt'")
    env.podium("wait", str(job_id), "--timeout", "60")
    branch = env.job(job_id)["branch"]
    env.serve({"steps": [{"shell": "cat slow.txt"}, "slow.txt says x.", "Second turn: nothing new."]})
    first = env.podium_json("test", branch, "Check slow.txt", "--agent", "kilo")
    env.podium("wait", str(first["id"]), "--timeout", "120", check=True)
    turn1 = env.job(first["id"])
    assert turn1["state"] == "done" and turn1["session_id"]
    second = env.podium_json("test", branch, "Anything new?")
    assert second["agent"] == "kilo" and second["resumed"] is True and second["session_id"] == turn1["session_id"]
    env.podium("wait", str(second["id"]), "--timeout", "120", check=True)
    assert env.podium_json("logs", str(second["id"]), "--summary")["final"] == "Second turn: nothing new."
