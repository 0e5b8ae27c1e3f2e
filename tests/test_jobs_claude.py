"""Jobs on the real claude CLI (headless, stream-json) against the scripted model."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
from pathlib import Path

from conftest import Env, distill_trying_to_write, git

COMMITTING_WORKER = {
    "steps": [
        {
            "text": "I'll add the helper.",
            "write": {"path": "shout.py", "content": "def shout(s):\n    return s.upper()\n"},
        },
        {"shell": "git add shout.py && git commit -q -m 'Add shout helper'"},
        "Committed the shout helper.",
    ]
}


def test_claude_worker_that_commits_is_reported_with_its_commit(env: Env) -> None:
    env.serve(COMMITTING_WORKER)
    job_id = env.delegate("Add a shout helper", "--agent", "claude")
    result = env.podium("wait", str(job_id), "--timeout", "90")
    assert result.returncode == 0, result.stdout + result.stderr
    job = env.job(job_id)
    assert job["state"] == "done" and job["commits"] == 1
    worktree = Path(job["workspace"])
    assert git("log", "-1", "--format=%s", cwd=worktree) == "Add shout helper"
    assert git("status", "--porcelain", cwd=worktree) == ""
    summary = env.podium_json("logs", str(job_id), "--summary")
    assert summary["commits"][0]["subject"] == "Add shout helper"
    assert summary["uncommitted"] is False
    assert summary["final"] == "Committed the shout helper."
    assert "Add shout helper" in result.stdout  # the wait output names the commit
    # claude used its own Write tool, in the job's worktree (not the user's checkout)
    kinds = [e["kind"] for e in env.podium_json("logs", str(job_id))["events"]]
    assert "file_change" in kinds and "command" in kinds
    assert not (env.repo / "shout.py").exists()


def test_claude_resume_keeps_the_first_session_id_and_history(env: Env) -> None:
    env.serve({"steps": [{"write": {"path": "notes.md", "content": "one\n"}}, "Wrote notes.md, round one.",
                         {"shell": "echo two >> notes.md"}, "Appended round two."]})
    first = env.delegate("Keep notes", "--agent", "claude")
    env.podium("wait", str(first), "--timeout", "90", check=True)
    session = env.job(first)["session_id"]
    assert session

    resumed = env.podium_json("resume", str(first), "add round two")
    assert resumed["session_id"] == session
    second = int(resumed["id"])
    env.podium("wait", str(second), "--timeout", "90", check=True)
    job = env.job(second)
    assert job["session_id"] == session
    assert (Path(job["workspace"]) / "notes.md").read_text() == "one\ntwo\n"
    # the resumed conversation carried the first round's history to the model
    last = [r for r in env.requests() if not r["aux"]][-1]
    assert "Wrote notes.md, round one." in json.dumps(last["body"]["messages"])
    assert "add round two" in json.dumps(last["body"]["messages"])
    # and a third round still resumes the first session
    third = env.podium_json("resume", str(second), "anything else?")
    assert third["session_id"] == session


def test_claude_api_error_fails_the_job_with_the_reason(env: Env) -> None:
    env.serve({"steps": [{"error": {"status": 400, "message": "scripted refusal: the project has no credits left"}}]})
    job_id = env.delegate("Do something", "--agent", "claude")
    result = env.podium("wait", str(job_id), "--timeout", "90")
    assert result.returncode == 1
    job = env.job(job_id)
    assert job["state"] == "failed"
    assert "no credits left" in job["error"]


def test_claude_hang_becomes_stalled_and_cancel_ends_it(env: Env) -> None:
    env.serve({"steps": [{"write": {"path": "started.txt", "content": "yes\n"}}, {"hang": True}]})
    job_id = env.delegate("Take your time", "--agent", "claude", "--stall-after", "2")
    job = env.wait_for(job_id, lambda j: j["state"] == "stalled", timeout=60)
    agent_pid = job["agent_pid"]
    assert env.podium("cancel", str(job_id)).returncode == 0
    job = env.job(job_id)
    assert job["state"] == "cancelled"
    assert (Path(job["workspace"]) / "started.txt").read_text() == "yes\n"
    try:
        os.kill(agent_pid, 0)
        alive = True
    except ProcessLookupError:
        alive = False
    assert not alive, "the agent survived cancel"


def test_follow_streams_events_until_the_job_ends(env: Env) -> None:
    env.serve({"steps": [{"delay": 1, "shell": "echo working"}, {"delay": 1, "write": {"path": "f.txt",
                                                                                        "content": "f\n"}},
                         "Finished f.txt."]})
    job_id = env.delegate("Slowly", "--agent", "claude")
    out = env.podium("logs", str(job_id), "--follow", timeout=90)
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert any("$ echo working" in line for line in lines)
    assert any("f.txt" in line for line in lines)
    # ends with the summary once the job is over, right after the agent's exit
    header = next(i for i, line in enumerate(lines) if line.startswith(f"job {job_id} done"))
    assert "agent exited 0" in lines[header - 1]
    assert lines[header + 1:] == env.podium("logs", str(job_id), "--summary").stdout.splitlines()[1:]
    assert env.job(job_id)["state"] == "done"

    table = env.podium("status").stdout
    assert "done" in table and env.job(job_id)["branch"] in table


def test_a_read_only_permission_mode_in_the_users_settings_does_not_make_a_worker_that_cannot_write(env: Env) -> None:
    settings = Path(env.vars["HOME"]) / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text('{"permissions": {"defaultMode": "plan"}}')
    env.serve({"steps": [{"write": {"path": "planned.txt", "content": "written\n"}}, "Wrote it."]})
    job_id = env.delegate("Write it down", "--agent", "claude")
    assert env.podium("wait", str(job_id), "--timeout", "90").returncode == 0
    assert (Path(env.job(job_id)["workspace"]) / "planned.txt").read_text() == "written\n"
    assert "your claude settings choose 'plan'" in env.podium("logs", str(job_id)).stdout


def test_an_agent_whose_runner_died_is_adopted_and_ends_with_its_real_work_and_a_resume_queues(env: Env) -> None:
    env.serve({"steps": [{"shell": "sleep 3 && echo one > first.txt"}, {"shell": "echo two > second.txt"},
                         "All done: wrote two files."]})
    job_id = env.delegate("two steps", "--agent", "claude")
    env.wait_for(job_id, lambda j: j["state"] == "running" and j.get("session_id") is not None, timeout=30)
    with sqlite3.connect(env.repo / ".git" / "podium" / "state.db") as db:
        runner, agent = db.execute("SELECT runner_pid, agent_pid FROM jobs WHERE id = ?", (job_id,)).fetchone()
    os.kill(runner, signal.SIGKILL)  # the agent lives on, its output now going nowhere
    while process_alive(runner):
        time.sleep(0.05)
    job = env.job(job_id)  # the next podium command finds it: adopted, not lost
    assert job["state"] == "running" and job["runner_pid"] != runner
    resumed = json.loads(env.podium("resume", str(job_id), "and a third", "--json", check=True).stdout)
    assert resumed["state"] == "queued"  # never a second agent beside the living one
    assert env.podium("wait", str(job_id), "--timeout", "60").returncode == 0
    summary = env.podium_json("logs", str(job_id), "--summary")
    assert summary["state"] == "done"
    assert summary["final"] == "All done: wrote two files."  # from claude's own transcript
    assert sorted(f["path"] for f in summary["files"]) == ["first.txt", "second.txt"]
    assert "a new runner watches the agent to its end" in env.podium("logs", str(job_id), check=True).stdout
    # what the agent did after its runner died is read on from its output: its second command, and its result
    commands = [e["data"]["command"] for e in env.podium_json("logs", str(job_id))["events"] if e["kind"] == "command"]
    assert any("echo two" in c for c in commands), commands
    log = env.podium("logs", str(job_id), "--raw", check=True).stdout.splitlines()
    assert len(log) == len(set(log)) and any('"type":"result"' in line for line in log)  # each line once
    assert not process_alive(agent)
    env.podium("cancel", str(resumed["id"]))


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(") ", 1)[1][0] != "Z"


def test_a_claude_distiller_reads_only_though_the_users_settings_allow_writing(env: Env) -> None:
    settings = Path(env.vars["HOME"]) / ".claude" / "settings.json"
    settings.parent.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps({"permissions": {"allow": ["Write", "Edit", "Bash"]}}))
    shown, _ = distill_trying_to_write(env, "claude")
    assert "+# Orchestrator (distilled)" in shown["diff"]["ORCHESTRATOR"]
    assert not (env.repo / "sneaky.txt").exists()  # podium's deny over the user's allow
