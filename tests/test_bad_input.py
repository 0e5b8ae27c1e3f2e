"""Bad input: one line on stderr, a non-zero exit, no traceback, and nothing changed."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from conftest import Env, assert_one_line_error, git


def snapshot(env: Env) -> tuple[str, str, str, list[str]]:
    worktrees = env.root / "worktrees"
    return (
        git("for-each-ref", "--format=%(refname) %(objectname)", cwd=env.repo),
        git("worktree", "list", "--porcelain", cwd=env.repo),
        git("status", "--porcelain", cwd=env.repo),
        sorted(str(p) for p in worktrees.rglob("*")) if worktrees.exists() else [],
    )


def test_not_a_git_repository(env: Env, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    for args in (["delegate", "do it"], ["status"], ["wait", "1"]):
        proc = env.podium(*args, cwd=plain)
        assert_one_line_error(proc, "not a git repository")
    assert list(plain.iterdir()) == []


def test_no_origin_remote(env: Env) -> None:
    env.serve({"steps": ["hi"]})
    git("remote", "remove", "origin", cwd=env.repo)
    before = snapshot(env)
    proc = env.podium("delegate", "do it")
    assert_one_line_error(proc, "no 'origin' remote", "git remote add origin URL")
    assert "--allow-stale-base" not in proc.stderr  # no base was ever fetched: there is no stale one to take
    assert_one_line_error(env.podium("delegate", "do it", "--allow-stale-base"), "no 'origin' remote")
    assert snapshot(env) == before
    assert env.podium_json("status", "--all") == []


def test_unreachable_origin_refuses_a_stale_base(env: Env) -> None:
    env.serve({"steps": ["hi"]})
    git("remote", "set-url", "origin", str(env.root / "gone.git"), cwd=env.repo)
    before = snapshot(env)
    proc = env.podium("delegate", "do it")
    # git's cause, not the last line of its advice ("and the repository exists.")
    assert_one_line_error(proc, "git fetch failed", "gone.git' does not appear to be a git repository")
    assert "the repository exists" not in proc.stderr
    assert snapshot(env) == before
    assert env.podium_json("status", "--all") == []


def test_unknown_job_id(env: Env) -> None:
    for args in (["logs", "42"], ["wait", "42"], ["cancel", "42"], ["resume", "42", "more"], ["status", "42"],
                 ["logs", "nonsense"]):
        proc = env.podium(*args)
        assert_one_line_error(proc, "no job")


def test_agent_cli_missing(env: Env) -> None:
    env.serve({"steps": ["hi"]})
    env.vars["PATH"] = os.pathsep.join(p for p in env.vars["PATH"].split(os.pathsep) if "agent-clis" not in p)
    before = snapshot(env)
    for agent in ("codex", "claude", "gemini"):
        proc = env.podium("delegate", "do it", "--agent", agent)
        assert_one_line_error(proc, f"the {agent} CLI is not installed")
    proc = env.podium("delegate", "do it", "--agent", "gemini-pro-max")
    assert_one_line_error(proc, "unknown agent")
    assert snapshot(env) == before
    assert env.podium_json("status", "--all") == []


def test_model_server_down_is_refused_before_anything_starts(env: Env) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env.point_at(f"http://127.0.0.1:{port}")
    before = snapshot(env)
    for agent in ("codex", "claude", "gemini"):
        proc = env.podium("delegate", "do it", "--agent", agent)
        assert_one_line_error(proc, f"{agent} cannot reach its model at http://127.0.0.1:{port}", "refused")
    assert snapshot(env) == before
    assert env.podium_json("status", "--all") == []


def test_model_server_lost_mid_run_makes_the_job_stalled_not_running(env: Env) -> None:
    """codex reconnects forever when its model vanishes; podium must not call that progress."""
    # the command keeps codex busy for a moment after first.txt appears, so the server is gone before it asks again
    model = env.serve({"steps": [{"shell": "echo 1 > first.txt && sleep 3"}, "unreachable"]})
    job_id = env.delegate("two steps", "--stall-after", "3")
    worktree = Path(env.job(job_id)["workspace"])
    while not (worktree / "first.txt").exists():
        time.sleep(0.1)
    model.stop()
    job = env.wait_for(job_id, lambda j: j["state"] == "stalled", timeout=60)
    assert job["files_changed"] is None  # still in flight: nothing final recorded yet
    events = env.podium("logs", str(job_id), check=True).stdout
    assert "retry: Reconnecting" in events
    assert "stalled" in events


def test_bad_arguments(env: Env) -> None:
    env.serve({"steps": ["hi"]})
    assert_one_line_error(env.podium("delegate", "   "), "prompt is empty")
    assert_one_line_error(env.podium("delegate", "x", "--base", "no-such-branch"), "does not exist on origin")
    git("branch", "local-only", cwd=env.repo)  # a base must come from origin, freshly fetched
    assert_one_line_error(env.podium("delegate", "x", "--base", "local-only"), "'local-only' does not exist on origin")
    assert_one_line_error(env.podium("delegate", "x", "--branch", "main"), "is the base branch")
    assert_one_line_error(env.podium("delegate", "x", "--branch", "bad..name"), "not a valid branch name")
    assert_one_line_error(env.podium("delegate", "x", "--agent", "command"), "needs a command line")
    (env.repo / "podium.toml").write_text("[jobs\n")
    assert_one_line_error(env.podium("status"), "podium.toml")
    (env.repo / "podium.toml").unlink()
    assert env.podium_json("status", "--all") == []
    proc = env.podium("scripted-model", "serve", "--scenario", str(env.root / "missing.json"))
    assert_one_line_error(proc, "cannot read scenario")


def test_cancel_and_resume_of_finished_or_unresumable_jobs(env: Env) -> None:
    job_id = env.delegate("write it", "--agent", "command", "--command", "sh -c 'echo done > out.txt; echo wrote'")
    assert env.podium("wait", str(job_id), "--timeout", "30").returncode == 0
    assert_one_line_error(env.podium("cancel", str(job_id)), "is not running")
    assert_one_line_error(env.podium("resume", str(job_id), "more"), "cannot resume")


def test_commit_and_push_say_what_is_missing(env: Env) -> None:
    assert_one_line_error(env.podium("commit"), "is not a podium workspace")
    assert_one_line_error(env.podium("commit", "42"), "no job 42")
    assert_one_line_error(env.podium("push", "no-such-branch"), "no podium workspace on branch")
    job = env.delegate("nothing yet", "--agent", "command", "--command", "true")
    env.podium("wait", str(job), "--timeout", "30")
    assert_one_line_error(env.podium("commit", str(job)), "nothing to commit")
    assert_one_line_error(env.podium("push", str(job)), "no podium commit yet")
