"""Jobs on the real copilot CLI (GitHub Copilot CLI, prompt mode, its own provider) against the scripted model."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Env, git


def _chat(env: Env) -> list[dict]:
    return [r for r in env.requests() if r["api"] == "chat" and not r["aux"]]


def test_copilot_worker_changes_files_and_resume_keeps_the_session(env: Env) -> None:
    env.serve({"steps": [
        {"text": "Writing the changelog.", "write": {"path": "CHANGELOG.md", "content": "# Changes\n"}},
        {"shell": "wc -l CHANGELOG.md && exit 3"},
        "Wrote CHANGELOG.md.",
        {"shell": "echo '- first entry' >> CHANGELOG.md"},
        "Added the first entry.",
    ]})
    first = env.delegate("Start a changelog", "--agent", "copilot", "--effort", "high")
    result = env.podium("wait", str(first), "--timeout", "120")
    assert result.returncode == 0, result.stdout + result.stderr
    job = env.job(first)
    assert job["state"] == "done" and job["session_id"]
    worktree = Path(job["workspace"])
    assert (worktree / "CHANGELOG.md").read_text() == "# Changes\n"
    assert git("status", "--porcelain", cwd=env.repo) == ""
    summary = env.podium_json("logs", str(first), "--summary")
    assert summary["final"] == "Wrote CHANGELOG.md."
    assert [f["path"] for f in summary["files"]] == ["CHANGELOG.md"]
    events = env.podium_json("logs", str(first))["events"]
    command = next(e["data"] for e in events if e["kind"] == "command")
    assert command["command"] == "wc -l CHANGELOG.md && exit 3" and "1 CHANGELOG.md" in command["output"]
    assert command["exit_code"] == 3
    assert [e["data"]["path"] for e in events if e["kind"] == "file_change"] == [str(worktree / "CHANGELOG.md")]
    assert "--allow-tool shell --allow-tool write" in env.podium("logs", str(first)).stdout
    assert _chat(env)[0]["body"].get("reasoning_effort") == "high"  # the role's effort reached the model

    second = int(env.podium_json("resume", str(first), "add the first entry")["id"])
    env.podium("wait", str(second), "--timeout", "120", check=True)
    assert env.job(second)["session_id"] == job["session_id"]
    assert (worktree / "CHANGELOG.md").read_text() == "# Changes\n- first entry\n"
    messages = json.dumps(_chat(env)[-1]["body"]["messages"])
    assert "Wrote CHANGELOG.md." in messages and "add the first entry" in messages


def test_copilot_tester_turns_resume_one_session(env: Env) -> None:
    job_id = env.delegate("Worker", "--agent", "command", "--command", "sh -c 'echo x > slow.txt'")
    env.podium("wait", str(job_id), "--timeout", "60")
    branch = env.job(job_id)["branch"]
    env.serve({"steps": [{"shell": "cat slow.txt"}, "slow.txt says x.", "Second turn: nothing new."]})
    first = env.podium_json("test", branch, "Check slow.txt", "--agent", "copilot")
    env.podium("wait", str(first["id"]), "--timeout", "120", check=True)
    turn1 = env.job(first["id"])
    assert turn1["state"] == "done" and turn1["session_id"]
    second = env.podium_json("test", branch, "Anything new?")
    assert second["agent"] == "copilot" and second["resumed"] is True
    assert second["session_id"] == turn1["session_id"]
    env.podium("wait", str(second["id"]), "--timeout", "120", check=True)
    assert env.podium_json("logs", str(second["id"]), "--summary")["final"] == "Second turn: nothing new."
