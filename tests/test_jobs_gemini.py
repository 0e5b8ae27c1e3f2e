"""Jobs on the real gemini CLI (headless, stream-json) against the scripted model."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Env, git


def test_gemini_worker_changes_files_and_resume_keeps_the_session(env: Env) -> None:
    env.serve({"steps": [
        {"text": "Writing the changelog.", "write": {"path": "CHANGELOG.md", "content": "# Changes\n"}},
        {"shell": "wc -l CHANGELOG.md"},
        "Wrote CHANGELOG.md.",
        {"shell": "echo '- first entry' >> CHANGELOG.md"},
        "Added the first entry.",
    ]})
    first = env.delegate("-- Start a changelog", "--agent", "gemini")  # a prompt may look like a flag
    result = env.podium("wait", str(first), "--timeout", "90")
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
    commands = [e["data"] for e in events if e["kind"] == "command"]
    assert commands[0]["command"] == "wc -l CHANGELOG.md" and "1 CHANGELOG.md" in commands[0]["output"]
    assert commands[0]["exit_code"] is None  # gemini's stream does not carry exit codes; podium does not guess
    assert any(e["kind"] == "file_change" for e in events)

    second = int(env.podium_json("resume", str(first), "add the first entry")["id"])
    env.podium("wait", str(second), "--timeout", "90", check=True)
    assert env.job(second)["session_id"] == job["session_id"]
    assert (worktree / "CHANGELOG.md").read_text() == "# Changes\n- first entry\n"
    last = [r for r in env.requests() if r["api"] == "gemini" and not r["aux"]][-1]
    assert "Wrote CHANGELOG.md." in json.dumps(last["body"]["contents"])
