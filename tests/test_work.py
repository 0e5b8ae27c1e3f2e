"""podium work end to end: the real claude CLI as orchestrator and tester, the real codex CLI as worker, all
against the scripted model; GitHub (tracker and forge) as a test server checked against githubkit's models."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from typing import Any

from conftest import Env, git
from servers.github import GitHubServer
from test_ship import github  # noqa: F401  (the fixture)

PY = shlex.quote(sys.executable)
PYTEST = f"{PY} -m pytest -q -p no:cacheprovider"
GOOD = "def total(amount, coupon):\n    return amount - coupon\n"
BAD = "def total(amount, coupon):\n    return amount\n"
TEST = "from total import total\n\n\ndef test_coupon():\n    assert total(100, 10) == 90\n"


def _tool(name: str, **arguments: Any) -> dict[str, Any]:
    return {"tool": {"name": f"mcp__podium__{name}", "input": arguments}}


def _orchestrator(*steps: Any) -> dict[str, Any]:
    return {"name": "orchestrator", "match": "podium work: take ticket", "steps": list(steps)}


def _repo_with_tests(env: Env, *, always_pass: bool = False) -> None:
    (env.repo / "test_total.py").write_text(TEST)
    git("add", "test_total.py", cwd=env.repo)
    git("commit", "--quiet", "-m", "Test the coupon", cwd=env.repo)
    git("push", "--quiet", "origin", "HEAD:main", cwd=env.repo)
    if always_pass:
        with (env.repo / "podium.toml").open("a") as f:
            f.write('[gate]\npass = ["always"]\n')


def _work(env: Env, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return env.podium("work", *args, timeout=timeout)


HAPPY = [
    _tool("delegate", prompt="WORKER: the checkout total ignores the coupon; see the ticket"),
    _tool("wait"),
    _tool("test", message="TESTER: the worker changed total.py; run the suite"),
    _tool("wait"),
    _tool("ship"),
    "Shipped to the gate: total subtracts the coupon and the suite passes.",
]


def test_work_takes_a_ticket_to_the_gate(env: Env, github: GitHubServer) -> None:  # noqa: F811
    _repo_with_tests(env)
    env.serve({"scripts": [
        _orchestrator(*HAPPY),
        {"name": "worker", "match": "WORKER:", "steps": [{"write": {"path": "total.py", "content": GOOD}},
                                                         "total() subtracts the coupon now."]},
        {"name": "tester", "match": "TESTER:", "steps": [{"shell": PYTEST}, "The suite passes: 1 test."]},
    ]})
    out = _work(env, "12")
    assert out.returncode == 0, out.stdout + out.stderr
    progress, report = out.stderr, out.stdout
    # live progress: the orchestrator's tool calls and the jobs as they change
    for line in ("orchestrator → delegate", "orchestrator → wait", "orchestrator → test", "orchestrator → ship",
                 "job 2 worker (codex) done: 1 file", "job 3 tester (claude) done: tests passed (pytest: 1 passed)",
                 "gate 1 (commit + push + pr) pending"):
        assert line in progress, progress
    # the report: what happened, where, and what waits for the human
    lines = report.splitlines()
    assert lines[0].startswith("work 1 on 12: waiting · branch bugfix/12-checkout-total")
    assert "  worker rounds: 1 of 3" in lines
    assert any(ln.startswith("  job 3 tester (claude) done") and "passed (pytest: 1 passed)" in ln for ln in lines)
    assert "  orchestrator: Shipped to the gate: total subtracts the coupon and the suite passes." in lines
    assert "  waits for you: gate 1 (commit + push + pr)" in report
    # the ticket was started the team's way; nothing reached the forge or origin without the human
    assert github.issues[12].assignees == ["dev"] and "in progress" in github.issues[12].labels
    assert not github.pulls
    branch = lines[0].split(" · branch ")[1].split(" ")[0]
    assert git("ls-remote", "origin", f"refs/heads/{branch}", cwd=env.repo) == ""
    # the orchestrator worked from the checkout with podium's tools only: it wrote nothing there
    assert git("status", "--porcelain", cwd=env.repo) == "?? podium.toml"
    orchestrator = env.podium_json("status", "1")[0]
    assert orchestrator["role"] == "orchestrator" and orchestrator["state"] == "done"

    approved = env.approved_json("approve", "1")
    assert approved["result"]["pr"].startswith("https://github.com/acme/shop/pull/")
    [pull] = github.pulls.values()
    assert "Closes #12" in pull.body and "passed" in pull.body


def test_failing_tests_go_back_to_the_worker_for_a_second_round(env: Env, github: GitHubServer) -> None:  # noqa: F811
    _repo_with_tests(env)
    env.serve({"scripts": [
        _orchestrator(
            _tool("delegate", prompt="WORKER: the checkout total ignores the coupon"),
            _tool("wait"),
            _tool("test", message="TESTER: run the suite"),
            _tool("wait"),
            _tool("resume", message="WORKER: the tester says test_coupon fails: total(100, 10) returns 100"),
            _tool("wait"),
            _tool("test", message="TESTER: the worker fixed total.py; run the suite again"),
            _tool("wait"),
            _tool("ship"),
            "Two rounds: the second fixed test_coupon; shipped to the gate."),
        {"name": "worker", "match": "WORKER:", "steps": [
            {"write": {"path": "total.py", "content": BAD}}, "Wrote total().",
            {"write": {"path": "total.py", "content": GOOD}}, "total() subtracts the coupon now."]},
        {"name": "tester", "match": "TESTER:", "steps": [
            {"shell": PYTEST}, "test_coupon fails.", {"shell": PYTEST}, "The suite passes."]},
    ]})
    out = _work(env, "12")
    assert out.returncode == 0, out.stdout + out.stderr
    report = out.stdout
    assert "  worker rounds: 2 of 3" in report.splitlines()
    assert "tests FAILED (pytest: 1 failed; failing: test_total.py::test_coupon)" in report
    assert "tests passed (pytest: 1 passed)" in report
    assert "  waits for you: gate 1" in report
    branch = report.splitlines()[0].split(" · branch ")[1].split(" ")[0]
    workspace = report.splitlines()[0].split(" · worktree ")[1]
    assert (env.root / "worktrees").exists() and workspace.startswith(str(env.root / "worktrees"))
    gate = env.podium("gates", check=True).stdout
    assert "total.py  +2 -0" in gate and f"on {branch}" in gate and "tests: passed" in gate


def test_a_round_beyond_the_limit_is_refused_by_podium_not_left_to_the_agent(env: Env,
                                                                             github: GitHubServer) -> None:  # noqa: F811
    _repo_with_tests(env)
    env.serve({"scripts": [
        _orchestrator(
            _tool("delegate", prompt="WORKER: the checkout total ignores the coupon"),
            _tool("wait"),
            _tool("resume", message="WORKER: try again"),
            "Stopping: the round limit is used up."),
        {"name": "worker", "match": "WORKER:", "steps": [
            {"write": {"path": "total.py", "content": BAD}}, "Wrote total()."]},
    ]})
    out = _work(env, "12", "--rounds", "1")
    assert out.returncode == 1, out.stdout + out.stderr  # stopped short of the gate
    assert out.stdout.splitlines()[0].startswith("work 1 on 12: stopped")
    assert "  worker rounds: 1 of 1" in out.stdout
    refusal = [r for r in env.requests() if not r["aux"] and "podium work: take ticket" in json.dumps(r["body"])][-1]
    assert "limit of 1 worker round is used up" in json.dumps(refusal["body"]["messages"][-1])


def test_a_worker_that_hangs_is_stalled_then_retried_by_podium(env: Env, github: GitHubServer) -> None:  # noqa: F811
    _repo_with_tests(env, always_pass=True)
    env.serve({"scripts": [
        _orchestrator(*HAPPY),
        {"name": "retry", "match": "so podium stopped that run", "steps": [
            {"write": {"path": "total.py", "content": GOOD}}, "Done after the retry."]},
        {"name": "worker", "match": "WORKER:", "steps": [{"hang": True}]},
        {"name": "tester", "match": "TESTER:", "steps": [{"shell": PYTEST}, "The suite passes."]},
    ]})
    out = _work(env, "12", "--stall-after", "3")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "job 2 worker (codex) stalled" in out.stderr and "job 2 worker (codex) cancelled" in out.stderr
    assert "job 3 worker (codex) done: 1 file" in out.stderr
    assert out.stdout.splitlines()[0].startswith("work 1 on 12: done")
    assert "  worker rounds: 1 of 3" in out.stdout  # podium's retry is not the orchestrator's round
    [pull] = github.pulls.values()
    assert "Closes #12" in pull.body


def _kill_group(pid: int | None) -> None:
    if pid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGKILL)


def _crash(env: Env, *, need_session: bool) -> None:
    """Start podium work, wait until its worker runs and the orchestrator waits for it, then kill everything
    at once, as a reboot would: podium, the orchestrator, the worker."""
    proc = subprocess.Popen([sys.executable, "-m", "podium", "work", "12"], cwd=env.repo, env=env.vars,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 90
    while True:
        rows = env.podium_json("status", "--all")
        worker = next((r for r in rows if r["role"] == "worker" and r["state"] == "running"
                       and (r["session_id"] or not need_session)), None)
        # the orchestrator's second request carried the delegate's result and was answered with the wait call
        asked = [r for r in env.requests() if not r["aux"] and "podium work: take ticket" in json.dumps(r["body"])]
        if worker and len(asked) >= 2:
            break
        assert time.monotonic() < deadline, rows
        time.sleep(0.2)
    proc.kill()
    proc.communicate()
    for row in env.podium_json("status", "--all"):
        _kill_group(row["agent_pid"])
        if row["runner_pid"]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(row["runner_pid"], signal.SIGKILL)
    time.sleep(0.5)
    states = {r["id"]: r["state"] for r in env.podium_json("status", "--all")}
    assert set(states.values()) == {"lost"}, states


RESUMED = {"name": "resumed", "match": "podium was interrupted (a crash or a reboot) and has resumed",
           "from_match": True, "steps": HAPPY[1:]}  # the resumed orchestrator goes on from where things stand


def _one_commit_one_pr(env: Env, github: GitHubServer) -> None:  # noqa: F811
    [pull] = github.pulls.values()
    git("fetch", "--quiet", "origin", cwd=env.repo)
    assert git("rev-list", "--count", f"origin/main..origin/{pull.head}", cwd=env.repo) == "1"
    assert git("show", f"origin/{pull.head}:total.py", cwd=env.repo) == GOOD.rstrip("\n")


def test_work_killed_mid_run_is_resumed_to_exactly_one_commit_and_one_pr(env: Env,
                                                                         github: GitHubServer) -> None:  # noqa: F811
    _repo_with_tests(env, always_pass=True)
    env.serve({"scripts": [
        RESUMED,
        _orchestrator(*HAPPY),
        {"name": "worker", "match": "WORKER:", "steps": [
            {"delay": 4, "write": {"path": "total.py", "content": GOOD}}, "total() subtracts the coupon now."]},
        {"name": "tester", "match": "TESTER:", "steps": [{"shell": PYTEST}, "The suite passes."]},
    ]})
    _crash(env, need_session=True)
    out = _work(env, "--resume")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "note: job 2 (worker) was lost in the interruption; restarted in its session as job 3" in out.stderr
    assert out.stdout.splitlines()[0].startswith("work 1 on 12: done")
    assert "orchestrator → test" in out.stderr and "tester (claude) done: tests passed" in out.stderr
    _one_commit_one_pr(env, github)
    # the orchestrator's session went on (the same one), told what had happened
    orchestrators = [r for r in env.podium_json("status", "--all") if r["role"] == "orchestrator"]
    assert len(orchestrators) == 2 and len({r["session_id"] for r in orchestrators}) == 1


def test_a_worker_lost_before_it_had_a_session_is_started_again(env: Env,
                                                                github: GitHubServer) -> None:  # noqa: F811
    _repo_with_tests(env, always_pass=True)
    script = env.root / "worker.sh"  # a worker CLI with no sessions at all: nothing to resume
    script.write_text("sleep 4\nprintf 'def total(amount, coupon):\\n    return amount - coupon\\n' > total.py\n")
    with (env.repo / "podium.toml").open("a") as f:
        f.write(f'[jobs]\ndefault_agent = "command"\n[agents.command]\ncommand = "sh {script}"\n')
    env.serve({"scripts": [
        RESUMED,
        _orchestrator(*HAPPY),
        {"name": "tester", "match": "TESTER:", "steps": [{"shell": PYTEST}, "The suite passes."]},
    ]})
    _crash(env, need_session=False)
    out = _work(env, "--resume")
    assert out.returncode == 0, out.stdout + out.stderr
    assert ("note: job 2 (worker) was lost in the interruption before it had a session; started again as job 3"
            in out.stderr)
    assert out.stdout.splitlines()[0].startswith("work 1 on 12: done")
    _one_commit_one_pr(env, github)


def test_work_bad_input_is_one_line(env: Env) -> None:
    from conftest import assert_one_line_error

    assert_one_line_error(env.podium("work"), "name a ticket (podium work TICKET)")
    assert_one_line_error(env.podium("work", "12", "--resume"), "name a ticket")
    assert_one_line_error(env.podium("work", "--resume"), "no podium work here yet")
    assert_one_line_error(env.podium("work", "--resume", "7"), "no work 7")
    assert_one_line_error(env.podium("work", "12", "--rounds", "0"), "--rounds must be at least 1")
    assert_one_line_error(env.podium("work", "12", "--agent", "command"), "cannot be the orchestrator")
    env.vars["ANTHROPIC_BASE_URL"] = "http://127.0.0.1:9"  # nothing listens there
    assert_one_line_error(env.podium("work", "PROJ-404"), "claude cannot reach its model")  # checked first
    env.serve({"steps": ["unused"]})
    assert_one_line_error(env.podium("work", "PROJ-404"), "no tracker configured")
    assert env.podium_json("status", "--all") == []  # nothing was started
