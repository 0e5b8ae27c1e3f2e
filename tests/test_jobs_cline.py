"""Jobs on the real cline CLI (``cline --json``, a worker only) against the scripted model."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import psutil

from conftest import Env, assert_one_line_error, changelog_job, chat_requests


def clines_of(home: Path) -> list[str]:
    """The cline processes still running with this HOME (a cline, or the hub daemon cline starts for it)."""
    left = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            cmdline = proc.info["cmdline"] or [""]
            if Path(cmdline[0]).name == "cline" and proc.environ().get("HOME") == str(home):
                left.append(" ".join(cmdline))
        except psutil.Error:
            continue
    return left


def test_cline_worker_changes_files_leaves_no_process_and_cannot_resume(env: Env) -> None:
    job, worktree, summary, events = changelog_job(env, "--agent", "cline")
    assert [f["path"] for f in summary["files"]] == ["CHANGELOG.md"]
    command = next(e["data"] for e in events if e["kind"] == "command")
    assert command["command"] == "wc -l CHANGELOG.md && exit 3" and "1 CHANGELOG.md" in command["output"]
    assert command["exit_code"] == 3
    assert [e["data"] for e in events if e["kind"] == "file_change"] == [
        {"path": str(worktree / "CHANGELOG.md"), "change": "create"}]
    assert any(e["kind"] == "usage" for e in events)
    home = Path(env.vars["HOME"])
    session = home / ".cline" / "data" / "sessions" / job["session_id"] / f"{job['session_id']}.json"
    assert json.loads(session.read_text())["cwd"] == str(worktree)  # the id of the session this job's cline ran
    user = [m["content"] for m in chat_requests(env)[0]["body"]["messages"] if m["role"] == "user"]
    assert user == ["Your task follows.\n\nStart a changelog"]  # the argument's lead, then the prompt from stdin
    assert clines_of(home) == []  # no cline, and no hub daemon cline would have left running

    assert_one_line_error(env.podium("resume", str(job["id"]), "add the first entry"), "cline agent",
                          "cannot resume")


def test_cline_worker_gets_tools_approved_when_the_users_settings_do_not(env: Env) -> None:
    settings = Path(env.vars["HOME"]) / ".cline" / "data" / "settings"
    settings.mkdir(parents=True)
    (settings / "global-settings.json").write_text('{"toolAutoApprove": false}')  # headless: every tool denied
    job, _, _, _ = changelog_job(env, "--agent", "cline", "--model", "scripted", "--effort", "max",
                                 shell="wc -l CHANGELOG.md")
    assert "--auto-approve true" in env.podium("logs", str(job["id"])).stdout  # said why, in the job's log
    with sqlite3.connect(env.repo / ".git" / "podium" / "state.db") as db:
        argv = " ".join(json.loads(db.execute("SELECT argv FROM jobs WHERE id = ?", (job["id"],)).fetchone()[0]))
    assert "--auto-approve true -m scripted --thinking xhigh" in argv and "changelog" not in argv  # prompt: stdin


def test_cline_cannot_test_and_refuses_what_contradicts_a_worker(env: Env) -> None:
    assert_one_line_error(env.podium("delegate", "Do it", "--agent", "cline"), "no model provider", "cline auth")
    env.serve({"steps": ["Done."]})  # the user's provider, set up
    job_id = env.delegate("Worker", "--agent", "command", "--command", "sh -c 'echo x > slow.txt'")
    env.podium("wait", str(job_id), "--timeout", "60")
    assert_one_line_error(env.podium("test", env.job(job_id)["branch"], "Check it", "--agent", "cline"),
                          "the cline agent cannot resume a session")
    (env.repo / "podium.toml").write_text('[agents.cline]\nargs = ["--plan"]\n')
    assert_one_line_error(env.podium("delegate", "Do it", "--agent", "cline"), "--plan", "act mode")
    (env.repo / "podium.toml").write_text('[agents.cline]\nargs = ["--zen"]\n')
    assert_one_line_error(env.podium("delegate", "Do it", "--agent", "cline"), "--zen", "cline's hub")
    (env.repo / "podium.toml").unlink()
    env.vars["CLINE_SESSION_BACKEND_MODE"] = "hub"  # the user's: sessions run in cline's hub daemon
    assert_one_line_error(env.podium("delegate", "Do it", "--agent", "cline"), "CLINE_SESSION_BACKEND_MODE=hub",
                          "CLINE_SESSION_BACKEND_MODE=local")
