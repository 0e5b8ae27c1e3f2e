"""Jobs on the real gemini CLI (headless, stream-json) against the scripted model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import Env, changelog_job, distill_trying_to_write


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


@pytest.mark.parametrize("mode", [None, "auto_edit"])
def test_a_gemini_distiller_reads_only_in_the_users_checkout_whatever_their_settings(env: Env,
                                                                                    mode: str | None) -> None:
    """The checkout is a folder the user may never have trusted in gemini (headless gemini refuses to run there),
    and their settings may let gemini edit: podium trusts it for the session, in gemini's default mode."""
    if mode:
        settings = Path(env.vars["HOME"]) / ".gemini" / "settings.json"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(json.dumps({**(json.loads(settings.read_text()) if settings.exists() else {}),
                                        "general": {"defaultApprovalMode": mode}}))
    shown, _ = distill_trying_to_write(env, "gemini")
    assert "+# Orchestrator (distilled)" in shown["diff"]["ORCHESTRATOR"]
    assert not (env.repo / "sneaky.txt").exists()
