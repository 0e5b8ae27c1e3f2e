"""Jobs on the real kilo CLI (Kilo Code, opencode's fork: kilo run --format json) against the scripted model."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Env, git


def _chat(env: Env) -> list[dict]:
    return [r for r in env.requests() if r["api"] == "chat" and not r["aux"]]


def test_kilo_worker_runs_commands_it_would_ask_for_and_resume_keeps_the_session(env: Env) -> None:
    env.serve({"steps": [
        {"text": "Writing the changelog.", "write": {"path": "CHANGELOG.md", "content": "# Changes\n"}},
        {"shell": "wc -l CHANGELOG.md"},
        "Wrote CHANGELOG.md.",
        {"shell": "echo '- first entry' >> CHANGELOG.md"},
        "Added the first entry.",
    ]})
    first = env.delegate("Start a changelog", "--agent", "kilo")
    result = env.podium("wait", str(first), "--timeout", "120")
    assert result.returncode == 0, result.stdout + result.stderr
    job = env.job(first)
    assert job["state"] == "done" and job["session_id"].startswith("ses_")
    worktree = Path(job["workspace"])
    assert (worktree / "CHANGELOG.md").read_text() == "# Changes\n"
    assert git("status", "--porcelain", cwd=env.repo) == ""
    assert env.podium_json("logs", str(first), "--summary")["final"] == "Wrote CHANGELOG.md."
    events = env.podium_json("logs", str(first))["events"]
    command = next(e["data"] for e in events if e["kind"] == "command")
    assert command["exit_code"] == 0 and "1 CHANGELOG.md" in command["output"]  # kilo asks for bash: --auto ran it
    assert "kilo asks before bash" in env.podium("logs", str(first)).stdout

    second = int(env.podium_json("resume", str(first), "add the first entry")["id"])
    env.podium("wait", str(second), "--timeout", "120", check=True)
    assert env.job(second)["session_id"] == job["session_id"]
    assert (worktree / "CHANGELOG.md").read_text() == "# Changes\n- first entry\n"
    messages = json.dumps(_chat(env)[-1]["body"]["messages"])
    assert "Wrote CHANGELOG.md." in messages and "add the first entry" in messages


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
