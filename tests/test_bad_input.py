"""Bad input: one line on stderr, a non-zero exit, no traceback, and nothing changed."""

from __future__ import annotations

import os
import socket
import sqlite3
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


def test_a_delegation_that_fails_after_its_worktree_was_made_leaves_nothing(env: Env) -> None:
    env.serve({"steps": ["hi"]})
    (env.repo / ".podium").write_text("the team's own notes\n")  # where podium keeps a worktree's environment
    git("add", ".podium", cwd=env.repo)
    git("commit", "--quiet", "-m", "notes", cwd=env.repo)
    git("push", "--quiet", "origin", "HEAD:main", cwd=env.repo)
    before = snapshot(env)
    proc = env.podium("delegate", "do it")
    assert_one_line_error(proc, "origin/main holds a file named .podium")
    assert snapshot(env) == before  # no branch, no worktree: the job, its workspace and its branch undone
    assert env.podium_json("status", "--all") == [] and env.podium_json("workspaces") == []


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
    deadline = time.monotonic() + 60
    while "retry: Reconnecting" not in (events := env.podium("logs", str(job_id), check=True).stdout):
        assert time.monotonic() < deadline, events  # codex says it reconnects, again and again
        time.sleep(0.5)
    # its retries are no progress: the job is stalled (or becomes so), never running again on their account
    job = env.wait_for(job_id, lambda j: j["state"] == "stalled", timeout=60)
    assert job["files_changed"] is None  # still in flight: nothing final recorded yet
    assert "stalled" in env.podium("logs", str(job_id), check=True).stdout


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


# One table of bad input: (what is given, the words the one-line error must hold, podium.toml's bytes or a
# change to the store made first). Every case runs against a repository that holds a finished job with its
# workspace and a pending gate, and must leave refs, worktrees, files, jobs and gates exactly as they were.
GATED = "1"
TABLE: list[tuple[list[str], tuple[str, ...], bytes | str | None]] = [
    # the command line
    (["frobnicate"], ("no such command 'frobnicate'", "podium --help"), None),
    (["status", "--bogus"], ("no such option '--bogus'", "podium status --help"), None),
    (["logs"], ("missing argument 'JOB_ID'",), None),
    (["logs", "abc"], ("no job 'abc'",), None),
    (["logs", "42"], ("no job 42",), None),
    (["logs", GATED, "--tail", "-5"], ("--tail",), None),
    (["logs", GATED, "--tail", "many"], ("--tail", "'many' is not a valid integer"), None),
    (["wait", "42"], ("no job 42",), None),
    (["wait", GATED, "--timeout", "-1"], ("timeout must be a number of seconds",), None),
    (["wait", GATED, "--timeout", "nan"], ("timeout must be a number of seconds", "nan"), None),
    (["wait", "--timeout", "soon"], ("--timeout",), None),
    (["cancel"], ("missing argument",), None),
    (["cancel", "42"], ("no job 42",), None),
    (["cancel", GATED], ("is not running",), None),
    (["resume", "42", "more"], ("no job 42",), None),
    (["resume", GATED], ("missing argument 'MESSAGE'",), None),
    (["resume", GATED, "more"], ("cannot resume",), None),
    (["status", "42"], ("no job 42",), None),
    (["status", "0"], ("no job 0",), None),
    (["status", "-x"], ("no such option",), None),
    (["delegate", ""], ("the prompt is empty",), None),
    (["delegate", " \n\t "], ("the prompt is empty",), None),
    (["delegate", "x", "--agent", ""], ("unknown agent",), None),
    (["delegate", "x", "--agent", "gemini-pro-max"], ("unknown agent 'gemini-pro-max'",), None),
    (["delegate", "x", "--stall-after", "-1"], ("--stall-after must be a number of seconds",), None),
    (["delegate", "x", "--stall-after", "nan"], ("--stall-after", "not nan"), None),
    (["delegate", "x", "--stall-after", "inf"], ("--stall-after", "not inf"), None),
    (["delegate", "x", "--stall-after", "1e12"], ("--stall-after",), None),
    (["delegate", "x", "--agent", "command"], ("needs a command line",), None),
    (["delegate", "x", "--agent", "command", "--command", "true", "--base", "no-such-branch"],
     ("does not exist on origin",), None),
    (["delegate", "x", "--agent", "command", "--command", "true", "--branch", "main"], ("is the base branch",), None),
    (["delegate", "x", "--agent", "command", "--command", "true", "--branch", "bad..name"],
     ("not a valid branch name",), None),
    (["delegate", "x", "--agent", "command", "--command", "true", "--branch", "a" * 300],
     ("branch name",), None),
    (["approve", "abc"], ("no gate 'abc'",), None),
    (["approve", "42"], ("approving needs a human",), None),
    (["approve", GATED], ("approving needs a human at a terminal",), None),
    (["reject", "42", "why"], ("no gate 42",), None),
    (["reject", GATED, "  "], ("say why",), None),
    (["gates", "extra"], ("unexpected extra argument",), None),
    (["commit", "42"], ("no job 42",), None),
    (["commit", "no-such-branch"], ("no podium workspace on branch",), None),
    (["commit", GATED, "--include", "nope.py"], ("--include nope.py", "does not differ"), None),
    (["commit", GATED, "--include", "f.py", "--exclude", "f.py"], ("both included and excluded",), None),
    (["push"], ("is not a podium workspace",), None),
    (["push", GATED], ("no podium commit yet",), None),
    (["ship"], ("is not a podium workspace",), None),
    (["pr"], ("is not a podium workspace",), None),
    (["branch-name", ""], ("the title is empty",), None),
    (["screenshot", "notaurl"], ("is not a URL",), None),
    (["dashboard", "--port", "99999"], ("--port",), None),
    (["dashboard", "--port", "-1"], ("--port",), None),
    (["work"], ("name a ticket",), None),
    (["work", "12", "--rounds", "0"], ("--rounds must be at least 1",), None),
    (["distill", "--since", "someday"], ("--since 'someday'",), None),
    (["mcp", "--work", "abc"], ("--work",), None),
    (["test"], ("missing argument",), None),
    (["test", "no-such-branch", "run it"], ("no podium workspace on branch",), None),
    (["test", GATED, "   "], ("the message is empty",), None),
    (["scripted-model", "serve", "--scenario", "missing.json"], ("cannot read scenario",), None),
    # podium.toml
    (["status"], ("is not UTF-8", "byte 0xe9"), b'[jobs]\ndefault_agent = "caf\xe9"\n'),
    (["status"], ("cannot read", "podium.toml"), "[jobs\n"),
    (["status"], ("jobs.stal_after: unknown setting; did you mean stall_after?",), "[jobs]\nstal_after = 60\n"),
    (["status"], ("job: unknown setting; did you mean jobs?",), "[job]\nstall_after = 60\n"),
    (["status"], ("agents.codex.args: a list of strings, not \"--oops\"",), '[agents.codex]\nargs = "--oops"\n'),
    (["status"], ("agents.codex.args.0: a string, not 1",), "[agents.codex]\nargs = [1]\n"),
    (["status"], ("jobs.stall_after", "not nan"), "[jobs]\nstall_after = nan\n"),
    (["status"], ("jobs.stall_after", "not -5"), "[jobs]\nstall_after = -5\n"),
    (["status"], ("jobs.stall_after", "not \"600\""), '[jobs]\nstall_after = "600"\n'),
    (["status"], ("gate.pass.0: one of docs-only, small, always",), '[gate]\npass = ["sometimes"]\n'),
    (["status"], ("gate.pass: a list",), '[gate]\npass = "always"\n'),
    (["status"], ("gate.small_lines", "not -1"), "[gate]\nsmall_lines = -1\n"),
    (["status"], ("jobs: a table, not 3",), "jobs = 3\n"),
    (["status"], ("tester.agent: a string, not 3",), "[tester]\nagent = 3\n"),
    (["status"], ("branches.base: a non-empty string",), '[branches]\nbase = ""\n'),
    (["delegate", "x"], ("jobs.stall_after",), "[jobs]\nstall_after = 0\n"),
    # the store
    (["status"], ("written by a newer podium", "store schema 99"), "user_version=99"),
    (["status"], ("state database error",), "garbage"),
]


def test_a_table_of_bad_input_gets_one_line_and_changes_nothing(env: Env) -> None:
    assert len(TABLE) >= 60
    job = env.delegate("change it", "--agent", "command", "--command", "sh -c 'echo x = 1 > f.py'")
    env.podium("wait", str(job), "--timeout", "30", check=True)
    assert str(job) == GATED and env.podium("commit", GATED).returncode == 4  # gate 1 pending
    workspace = Path(env.job(job)["workspace"])
    db = env.repo / ".git" / "podium" / "state.db"

    def state() -> tuple[object, ...]:
        with sqlite3.connect(db) as c:
            rows = (c.execute("SELECT id, state, workspace, branch FROM jobs").fetchall(),
                    c.execute("SELECT id, state, actions FROM gates").fetchall(),
                    c.execute("SELECT path, removed_at FROM workspaces").fetchall())
        return (*snapshot(env), git("status", "--porcelain", cwd=workspace), rows, (workspace / "f.py").read_text())

    before = state()
    wrong = []
    store_files = [db, db.with_name("state.db-wal"), db.with_name("state.db-shm")]
    for args, needles, setup in TABLE:
        in_store = setup in ("user_version=99", "garbage")
        saved = {f: f.read_bytes() for f in store_files if f.exists()} if in_store else {}
        if isinstance(setup, bytes) or (isinstance(setup, str) and setup not in ("user_version=99", "garbage")):
            toml = env.repo / "podium.toml"
            toml.write_bytes(setup if isinstance(setup, bytes) else setup.encode())
        elif setup == "user_version=99":
            with sqlite3.connect(db) as c:
                c.execute("PRAGMA user_version=99")
        elif setup == "garbage":
            for f in store_files:
                f.unlink(missing_ok=True)
            db.write_bytes(b"this is not a database" * 100)
        proc = env.podium(*args, cwd=env.repo)
        (env.repo / "podium.toml").unlink(missing_ok=True)
        for f in store_files if saved else ():
            f.unlink(missing_ok=True)
            if f in saved:
                f.write_bytes(saved[f])
        try:
            assert_one_line_error(proc, *needles)
            assert state() == before, "something changed"
        except AssertionError as e:
            wrong.append(f"podium {' '.join(args)[:60]}: {str(e).splitlines()[0]} | {proc.stderr.strip()[:300]}")
    assert not wrong, "\n".join(wrong)
