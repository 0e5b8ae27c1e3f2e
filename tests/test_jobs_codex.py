"""Worker jobs on the real codex CLI against the scripted model."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import Env, git

WRITE_FEATURE = {
    "steps": [
        {"text": "Adding the farewell.", "write": {"path": "farewell.py", "content": "def bye():\n    return 'bye'\n"}},
        {"shell": "python3 -c \"import farewell; print(farewell.bye())\""},
        "Added farewell.py with bye().",
    ]
}


def test_codex_worker_changes_files_and_is_reported_done_with_that_change(env: Env) -> None:
    env.serve(WRITE_FEATURE)
    main_branch = git("rev-parse", "--abbrev-ref", "HEAD", cwd=env.repo)
    started = time.monotonic()
    job_id = env.delegate("Users want to say goodbye")
    assert time.monotonic() - started < 10  # returns before the agent is done waiting on anything slow

    done = env.podium("wait", str(job_id), "--timeout", "60")
    assert done.returncode == 0, done.stdout + done.stderr
    job = env.job(job_id)
    assert job["state"] == "done"
    worktree = Path(job["workspace"])
    assert (worktree / "farewell.py").read_text() == "def bye():\n    return 'bye'\n"
    # The work is in the worktree, on the job's own branch; the user's checkout is untouched.
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=worktree) == job["branch"]
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=env.repo) == main_branch
    assert git("status", "--porcelain", cwd=env.repo) == ""
    assert not (env.repo / "farewell.py").exists()

    summary = env.podium_json("logs", str(job_id), "--summary")
    assert [f["path"] for f in summary["files"]] == ["farewell.py"]
    assert summary["final"] == "Added farewell.py with bye()."
    assert summary["commits"] == []
    # codex really ran the command: its output came back through the CLI's own event stream
    events = env.podium("logs", str(job_id), "--json", check=True).stdout
    assert '"kind": "command"' in events and "bye" in events
    # the worker ran in a writable sandbox, and podium said why it chose one
    assert "workspace-write" in env.podium("logs", str(job_id), check=True).stdout


def test_worker_starts_from_freshly_fetched_base(env: Env) -> None:
    """Someone pushed to origin after the clone: the new workspace starts from the new tip."""
    other = env.root / "other"
    git("clone", "--quiet", str(env.origin), str(other), cwd=env.root)
    (other / "NEWS.md").write_text("news\n")
    git("add", ".", cwd=other)
    git("-c", "user.name=O", "-c", "user.email=o@example.com", "commit", "--quiet", "-m", "news", cwd=other)
    git("push", "--quiet", "origin", "HEAD:main", cwd=other)
    tip = git("rev-parse", "HEAD", cwd=other)

    env.serve(WRITE_FEATURE)
    job_id = env.delegate("Users want to say goodbye")
    env.podium("wait", str(job_id), "--timeout", "60", check=True)
    job = env.podium_json("delegate", "second task", "--branch", "feature/second")
    assert job["base_sha"] == tip
    assert (Path(job["workspace"]) / "NEWS.md").exists()


def test_agent_that_changes_nothing_is_reported_as_such(env: Env) -> None:
    env.serve({"steps": [{"shell": "ls"}, "All done, everything works."]})
    job_id = env.delegate("Check that the app works")
    result = env.podium("wait", str(job_id), "--timeout", "60")
    assert result.returncode == 1
    job = env.job(job_id)
    assert job["state"] == "no_changes"
    assert job["files_changed"] == 0
    assert "nothing changed" in result.stdout


def test_scripted_hang_becomes_stalled_then_cancel_keeps_the_worktree(env: Env) -> None:
    env.serve({"steps": [{"write": {"path": "partial.txt", "content": "half\n"}}, {"hang": True}]})
    job_id = env.delegate("Do a long thing", "--stall-after", "2")
    waited = env.podium("wait", str(job_id), "--timeout", "60")
    assert waited.returncode == 3, waited.stdout + waited.stderr  # stalled: the caller must decide
    assert f"job {job_id} stalled" in waited.stdout and "silent and idle for" in waited.stdout
    job = env.job(job_id)
    assert job["state"] == "stalled"
    worktree = Path(job["workspace"])
    assert (worktree / "partial.txt").read_text() == "half\n"
    assert env.podium("wait", str(job_id), "--through-stalls", "--timeout", "1").returncode == 124
    last_two = env.podium("logs", str(job_id), "--tail", "2").stdout.splitlines()
    assert len(last_two) == 2 and "stalled" in last_two[-1]

    cancelled = env.podium("cancel", str(job_id))
    assert cancelled.returncode == 0, cancelled.stderr
    job = env.job(job_id)
    assert job["state"] == "cancelled"
    assert (worktree / "partial.txt").read_text() == "half\n"
    assert str(worktree) in git("worktree", "list", cwd=env.repo)


def test_runner_killed_its_living_agent_is_adopted_and_a_dead_one_is_lost_with_its_worktree(env: Env) -> None:
    env.serve({"steps": [{"write": {"path": "draft.txt", "content": "draft\n"}}, {"delay": 120, "text": "late"}]})
    jobs = [env.delegate("Write a draft"), env.delegate("Write another draft")]
    worktrees = [Path(env.job(j)["workspace"]) for j in jobs]
    deadline = time.monotonic() + 60
    while not all((w / "draft.txt").exists() for w in worktrees):
        assert time.monotonic() < deadline, "the agents never wrote their drafts"
        time.sleep(0.2)
    (adopted, lost), pids = jobs, [(env.job(j)["runner_pid"], env.job(j)["agent_pid"]) for j in jobs]
    for runner_pid, _ in pids:
        os.kill(runner_pid, signal.SIGKILL)
    os.killpg(pids[1][1], signal.SIGKILL)  # the second job's agent dies with its runner
    time.sleep(0.5)

    job = env.job(lost)
    assert job["state"] == "lost" and "runner" in job["error"]
    assert job["files_changed"] == 1  # what its worktree holds
    job = env.job(adopted)  # its agent lives on (waiting for its model): watched by a new runner
    assert job["state"] == "running" and job["runner_pid"] != pids[0][0]
    for worktree in worktrees:
        assert (worktree / "draft.txt").read_text() == "draft\n"
        assert str(worktree) in git("worktree", "list", cwd=env.repo)
    env.podium("cancel", str(adopted), check=True)  # the new runner stops the agent, as the first would have
    job = env.job(adopted)
    assert job["state"] == "cancelled" and job["files_changed"] == 1
    try:
        os.kill(pids[0][1], 0)
        raise AssertionError("the adopted agent is still alive")
    except ProcessLookupError:
        pass


def test_an_agent_killed_by_a_signal_says_so_and_leaves_nothing_working_on(env: Env) -> None:
    env.serve({"steps": [{"shell": "sleep 4 && echo late > late.txt"}, "Done."]})
    job_id = env.delegate("Wait for it")
    agent = env.wait_for(job_id, lambda j: j["state"] == "running" and j.get("agent_pid") is not None)["agent_pid"]
    time.sleep(1)  # codex has said what it says on stderr, and runs its command
    os.kill(agent, signal.SIGKILL)  # the npm launcher: codex's own binary runs under it, in its process group
    env.podium("wait", str(job_id), "--timeout", "30")
    job = env.job(job_id)
    assert job["state"] == "failed" and job["error"] == "the agent was killed by SIGKILL (not by podium)"
    try:
        os.killpg(agent, 0)
        raise AssertionError("a process of the killed agent's group works on, unwatched")
    except ProcessLookupError:
        pass
    time.sleep(4)
    assert not (Path(job["workspace"]) / "late.txt").exists()


def test_job_survives_the_terminal_that_started_it(env: Env) -> None:
    slow = {"steps": [{"delay": 2, "write": {"path": "slow.txt", "content": "ok\n"}}, "Wrote slow.txt."]}
    env.serve(slow)
    shell = subprocess.Popen(
        ["bash", "-c", f"'{sys.executable}' -m podium delegate 'write slowly' > job.txt; sleep 60"],
        cwd=env.repo, env=env.vars, start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while not ((env.repo / "job.txt").exists() and (env.repo / "job.txt").read_text().strip()):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    os.killpg(shell.pid, signal.SIGHUP)
    shell.wait()
    job_id = int((env.repo / "job.txt").read_text().strip())
    (env.repo / "job.txt").unlink()
    assert env.podium("wait", str(job_id), "--timeout", "60").returncode == 0
    assert env.job(job_id)["state"] == "done"


def test_codex_resume_continues_the_same_thread(env: Env) -> None:
    env.serve({"steps": [{"write": {"path": "a.txt", "content": "a\n"}}, "First part done.",
                         {"write": {"path": "b.txt", "content": "b\n"}}, "Second part done."]})
    first = env.delegate("Two part task")
    env.podium("wait", str(first), "--timeout", "60", check=True)
    session = env.job(first)["session_id"]
    assert session
    second = int(env.podium_json("resume", str(first), "now the second part")["id"])
    env.podium("wait", str(second), "--timeout", "60", check=True)
    job = env.job(second)
    assert job["session_id"] == session and job["parent"] == first
    assert (Path(job["workspace"]) / "b.txt").exists()
    summary = env.podium_json("logs", str(second), "--summary")
    assert summary["final"] == "Second part done."
    assert summary["run_files"] == ["b.txt"]
    assert sorted(f["path"] for f in summary["files"]) == ["a.txt", "b.txt"]

    # A round that changes nothing is judged by its own run, not by the work already in the worktree.
    third = int(env.podium_json("resume", str(second), "anything else?")["id"])
    assert env.podium("wait", str(third), "--timeout", "60").returncode == 1
    assert env.job(third)["state"] == "no_changes"
    assert "this run changed: nothing" in env.podium("logs", str(third), "--summary").stdout


def test_a_resume_while_the_worktree_is_busy_waits_its_turn(env: Env) -> None:
    """One agent per worktree: a resume during a run is queued behind it (or refused with --no-queue)."""
    env.serve({"steps": [{"delay": 4, "write": {"path": "a.txt", "content": "a\n"}}, "First part done.",
                         {"write": {"path": "b.txt", "content": "b\n"}}, "Second part done."]})
    first = env.delegate("Two part task")
    env.wait_for(first, lambda j: j["session_id"] is not None)
    refused = env.podium("resume", str(first), "hurry up", "--no-queue")
    assert refused.returncode == 2 and f"job {first} is still running" in refused.stderr
    second = int(env.podium_json("resume", str(first), "now the second part")["id"])
    assert env.job(second)["state"] == "queued"
    assert env.podium("wait", str(second), "--timeout", "90").returncode == 0
    one, two = env.job(first), env.job(second)
    assert one["state"] == "done" and two["state"] == "done"
    assert two["started_at"] >= one["ended_at"]  # never two agents in one worktree at once
    summary = env.podium_json("logs", str(second), "--summary")
    assert summary["run_files"] == ["b.txt"] and summary["final"] == "Second part done."
    assert f"queued behind job {first}" in env.podium("logs", str(second)).stdout


def test_a_read_only_sandbox_in_the_users_codex_config_is_overridden_and_said(env: Env) -> None:
    env.serve(WRITE_FEATURE)
    config = Path(env.vars["CODEX_HOME"]) / "config.toml"
    config.write_text('sandbox_mode = "read-only"\n' + config.read_text())
    job_id = env.delegate("Users want to say goodbye")
    assert env.podium("wait", str(job_id), "--timeout", "60").returncode == 0
    assert (Path(env.job(job_id)["workspace"]) / "farewell.py").exists()
    assert "codex's configured sandbox is read-only" in env.podium("logs", str(job_id)).stdout
