"""Jobs on the real gemini CLI (headless, stream-json) against the scripted model."""

from __future__ import annotations

import json

from conftest import Env, changelog_job


def test_gemini_worker_changes_files_and_resume_keeps_the_session(env: Env) -> None:
    job, worktree, summary, events = changelog_job(env, "--agent", "gemini", shell="wc -l CHANGELOG.md",
                                                   prompt="-- Start a changelog",  # a prompt may look like a flag
                                                   timeout="90")
    first = job["id"]
    assert [f["path"] for f in summary["files"]] == ["CHANGELOG.md"]
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
