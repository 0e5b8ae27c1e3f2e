"""The command agent (any CLI), secrets kept out of logs, and test verdicts from real runner output."""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import Env, git
from podium.jobs import process_alive
from podium.redaction import redact, secret_values
from podium.summary import verdict_from_commands


def test_command_agent_job_with_summary(env: Env) -> None:
    script = "echo step one; printf 'x = 1\\n' > config.py; echo all good"
    job_id = env.delegate("configure it", "--agent", "command", "--command", f"sh -c {json.dumps(script)}")
    assert env.podium("wait", str(job_id), "--timeout", "30").returncode == 0
    summary = env.podium_json("logs", str(job_id), "--summary")
    assert summary["state"] == "done"
    assert summary["final"] == "step one\nall good"
    assert [f["path"] for f in summary["files"]] == ["config.py"]


def test_an_agent_sees_its_worktree_as_its_pwd(env: Env) -> None:
    # the user's shell set $PWD to their checkout (conftest does too): a CLI that works in $PWD must get the worktree
    job_id = env.delegate("where am I", "--agent", "command", "--command", "sh -c 'printf %s \"$PWD\" > where.txt'")
    env.podium("wait", str(job_id), "--timeout", "30", check=True)
    worktree = Path(env.job(job_id)["workspace"])
    assert (worktree / "where.txt").read_text() == str(worktree)
    assert not (env.repo / "where.txt").exists()


def test_failing_command_is_failed_with_its_exit_code(env: Env) -> None:
    job_id = env.delegate("break", "--agent", "command", "--command", "sh -c 'echo oops >&2; exit 3'")
    assert env.podium("wait", str(job_id), "--timeout", "30").returncode == 1
    job = env.job(job_id)
    assert job["state"] == "failed" and job["exit_code"] == 3
    assert "exited with code 3" in job["error"]


def test_secrets_in_the_environment_never_reach_the_logs(env: Env) -> None:
    token = "ghp_" + "s3cr3tT0kenValue0123456789"
    env.vars["GITHUB_TOKEN"] = token
    script = 'echo "using $GITHUB_TOKEN"; echo "err $GITHUB_TOKEN" >&2; echo done > out.txt'
    job_id = env.delegate("leak", "--agent", "command", "--command", f"sh -c {json.dumps(script)}")
    env.podium("wait", str(job_id), "--timeout", "30", check=True)
    logs = env.repo / ".git" / "podium" / "logs"
    for path in logs.iterdir():
        assert token not in path.read_text(), path
    for args in (["logs", str(job_id)], ["logs", str(job_id), "--raw"], ["logs", str(job_id), "--summary"]):
        out = env.podium(*args, check=True).stdout
        assert token not in out
    assert "using [redacted]" in env.podium("logs", str(job_id), "--raw").stdout


def test_verdicts_from_real_pytest_and_unittest_output(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(
        "import unittest\n\n\nclass T(unittest.TestCase):\n"
        "    def test_ok(self):\n        pass\n\n    def test_bad(self):\n        self.assertEqual(1, 2)\n\n"
        "    def test_ok2(self):\n        pass\n"
    )
    for argv, expected in (
        ([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], {"failed": 1, "passed": 2}),
        ([sys.executable, "-m", "unittest"], {"ran": 3, "failed": 1}),
    ):
        proc = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True)
        command = " ".join(argv[1:]).replace("-m ", "")
        verdict = verdict_from_commands([{"command": command, "exit_code": proc.returncode,
                                 "output": proc.stdout + proc.stderr}])
        assert verdict is not None and verdict.passed is False
        assert {k: v for k, v in verdict.counts.items() if k in expected} == expected
    for exit_code, expected_passed in ((None, False), (1, False)):
        proc = subprocess.run([sys.executable, "-m", "unittest"], cwd=tmp_path, capture_output=True, text=True)
        verdict = verdict_from_commands([{"command": "python3 -m unittest", "exit_code": exit_code,
                                          "output": proc.stderr}])
        assert verdict is not None and verdict.passed is expected_passed
    (tmp_path / "test_x.py").write_text("def test_fine():\n    pass\n")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=tmp_path,
                          capture_output=True, text=True)
    verdict = verdict_from_commands([{"command": "pytest -q", "exit_code": None, "output": proc.stdout}])
    assert verdict is not None and verdict.passed is True and verdict.counts == {"passed": 1}
    unknown = verdict_from_commands([{"command": "make test", "exit_code": None, "output": "done"}])
    assert unknown is not None and unknown.passed is None and "unknown" in unknown.line()
    ok = verdict_from_commands([{"command": "npm test", "exit_code": 0, "output": ""},
                                {"command": "ls", "exit_code": 0}])
    assert ok is not None and ok.passed and ok.command == "npm test"


def test_a_burst_of_delegations_in_one_repo_all_get_their_own_worktree(env: Env) -> None:
    """Concurrent `git fetch`/`git worktree add` in one repository fail on git's locks; podium serializes them."""
    procs = [
        subprocess.Popen([sys.executable, "-m", "podium", "delegate", f"task {i}", "--json", "--agent", "command",
                          "--command", f"sh -c 'echo {i} > n.txt'"], cwd=env.repo, env=env.vars,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for i in range(8)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in results]
    jobs = [json.loads(out) for out, _ in results]
    assert len({j["workspace"] for j in jobs}) == 8
    waited = env.podium("wait", *(str(j["id"]) for j in jobs), "--timeout", "60")
    assert waited.returncode == 0, waited.stdout + waited.stderr
    for i, job in enumerate(jobs):
        assert (Path(job["workspace"]) / "n.txt").read_text() == f"{i}\n"


def test_podium_toml_sets_the_default_agent_its_command_and_the_stall_window(env: Env) -> None:
    (env.repo / "podium.toml").write_text(
        '[jobs]\nstall_after = 1.5\ndefault_agent = "command"\n\n'
        '[agents.command]\ncommand = "sh -c \'echo configured > from-config.txt; sleep 30\'"\n'
    )
    job_id = env.delegate("use the configured agent")
    waited = env.podium("wait", str(job_id), "--timeout", "30")
    assert waited.returncode == 3  # sleeping without output or CPU: stalled after 1.5 s, as configured
    job = env.job(job_id)
    assert job["agent"] == "command" and job["state"] == "stalled"
    assert (Path(job["workspace"]) / "from-config.txt").read_text() == "configured\n"


def test_an_agent_that_closes_its_output_is_still_watched_and_cancellable(env: Env) -> None:
    job_id = env.delegate("go quiet", "--agent", "command", "--command",
                          "sh -c 'echo bye; exec >&- 2>&-; sleep 60'")
    job = env.wait_for(job_id, lambda j: j["events"] >= 1 and j["state"] == "running")
    assert env.podium("wait", str(job_id), "--timeout", "2").returncode == 124  # still running, not finished
    assert env.podium("cancel", str(job_id)).returncode == 0
    assert env.job(job_id)["state"] == "cancelled"
    with pytest.raises(ProcessLookupError):
        os.kill(job["agent_pid"], 0)


def test_a_frozen_runner_is_stalled_within_two_heartbeats_running_again_when_it_wakes_and_cancellable(
        env: Env) -> None:
    job_id = env.delegate("work a while", "--agent", "command", "--command", "sh -c 'echo start; sleep 120'")
    job = env.wait_for(job_id, lambda j: j["state"] == "running" and j["events"] >= 1)
    runner = job["runner_pid"]
    os.kill(runner, signal.SIGSTOP)  # the runner freezes: nobody watches the agent any more
    stalled = env.wait_for(job_id, lambda j: j["state"] == "stalled", timeout=20)  # heartbeat 0.5 s here
    events = env.podium_json("logs", str(job_id), "--tail", "5")["events"]
    assert f"its runner (pid {runner}) is stopped" in events[-1]["data"]["reason"]
    assert stalled["runner_pid"] == runner
    assert env.podium("wait", str(job_id), "--timeout", "10").returncode == 3  # wait says so, as for any stall

    os.kill(runner, signal.SIGCONT)  # it wakes: the job is running again
    env.wait_for(job_id, lambda j: j["state"] == "running", timeout=20)
    assert env.podium_json("logs", str(job_id), "--tail", "1")["events"][-1]["kind"] == "awake"

    os.kill(runner, signal.SIGSTOP)  # frozen again, and cancelled: the runner wakes to end, nothing is left
    env.wait_for(job_id, lambda j: j["state"] == "stalled", timeout=20)
    assert env.podium("cancel", str(job_id)).returncode == 0
    assert env.job(job_id)["state"] == "cancelled"
    assert not process_alive(runner, None) and not process_alive(job["agent_pid"], None)  # gone (or a zombie)


def test_what_podium_reads_of_a_process_is_what_psutil_says() -> None:
    """podium reads a process's state, start time and CPU from /proc itself; times either recorded must agree, and
    a zombie, a stopped process and a pid nobody has must read as psutil reads them."""
    import psutil

    from podium import processes

    ended = subprocess.Popen(["true"])
    stopped = subprocess.Popen(["sleep", "30"])
    try:
        os.kill(stopped.pid, signal.SIGSTOP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (psutil.Process(ended.pid).status() != psutil.STATUS_ZOMBIE or
                                               psutil.Process(stopped.pid).status() != psutil.STATUS_STOPPED):
            time.sleep(0.05)  # a signal is delivered, and a process ends, when the kernel gets to it
        for pid in (os.getpid(), os.getppid(), ended.pid, stopped.pid):
            proc = psutil.Process(pid)
            state, started = processes.state(pid)  # type: ignore[misc]
            assert abs(started - proc.create_time()) < 0.02
            if proc.status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_STOPPED):
                assert state == proc.status()
            times = proc.cpu_times()
            assert abs(processes.cpu_seconds(pid) - (times.user + times.system)) <= 0.05  # type: ignore[operator]
        assert processes.state(ended.pid)[0] == "zombie" and not processes.process_alive(ended.pid, None)  # type: ignore[index]
        assert processes.state(stopped.pid)[0] == "stopped"  # type: ignore[index]
        assert processes.process_alive(os.getpid(), psutil.Process().create_time())
        assert not processes.process_alive(os.getpid(), psutil.Process().create_time() - 5)  # another process
        assert processes.this_process()[0] == os.getpid()
    finally:
        stopped.kill()
        stopped.wait()
        ended.wait()
    assert processes.state(ended.pid) is None and processes.cpu_seconds(ended.pid) is None
    assert not processes.process_alive(ended.pid, None)


def test_podium_tells_how_long_ago_each_connection_of_a_process_last_received_data() -> None:
    """What keeps a silent agent "thinking": the kernel's time since each of its TCP connections last received
    data, asked of it directly (no ``ss`` needed); a listening socket is no connection."""
    import socket

    from podium import processes

    def inode(sock: socket.socket) -> int:
        return os.fstat(sock.fileno()).st_ino

    with contextlib.ExitStack() as stack:
        pairs = []
        for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
            server = stack.enter_context(socket.socket(family))
            server.bind((host, 0))
            server.listen()
            client = stack.enter_context(socket.create_connection(server.getsockname()[:2]))
            peer = stack.enter_context(server.accept()[0])
            pairs.append((server, client, peer))
        (_, old, old_peer), (listening, new, new_peer) = pairs
        old_peer.sendall(b"model's first words")
        old.recv(100)
        time.sleep(1.5)
        new_peer.sendall(b"and more")
        new.recv(100)
        time.sleep(0.3)
        ages = processes.tcp_received({inode(old), inode(new), inode(listening)})
        assert ages is not None and set(ages) == {inode(old), inode(new)}
        assert 1.7 <= ages[inode(old)] <= 5 and 0.25 <= ages[inode(new)] <= ages[inode(old)] - 1.4


def test_which_environment_variables_count_as_secrets() -> None:
    environ = {"GIT_AUTHOR_EMAIL": "dev@example.com", "GH_AUTH": "abcdefghijklmnopq", "OPENAI_API_KEY": "sk-123456789",
               "MONKEY": "bananas123", "GITHUB_TOKEN": "ghp_xxxxxxxx", "DB_PASSWORD": "hunter2hunter2",
               "SHORT_TOKEN": "abc", "PATH": "/usr/bin:/bin", "SCRIPTED_API_KEY": "scripted", "AUTH": "changeme"}
    assert set(secret_values(environ)) == {"abcdefghijklmnopq", "sk-123456789", "ghp_xxxxxxxx", "hunter2hunter2"}
    assert redact("key=sk-123456789 by dev@example.com", secret_values(environ)) == "key=[redacted] by dev@example.com"
    # a word-like value (the scripted model's key, a placeholder) never blots ordinary words out of a log
    assert redact("the scripted model: changeme", secret_values(environ)) == "the scripted model: changeme"


def test_status_says_when_a_workspace_base_has_moved_on(env: Env) -> None:
    first = env.delegate("first task", "--agent", "command", "--command", "sh -c 'echo 1 > one.txt'")
    assert env.job(first)["behind_base"] == 0
    other = env.root / "teammate"
    git("clone", "--quiet", str(env.origin), str(other), cwd=env.root)
    for n in (1, 2):
        (other / f"news{n}.md").write_text("news\n")
        git("add", ".", cwd=other)
        git("-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "--quiet", "-m", f"news {n}", cwd=other)
    git("push", "--quiet", "origin", "HEAD:main", cwd=other)
    second = env.delegate("second task", "--agent", "command", "--command", "true")  # fetches origin
    assert env.job(first)["behind_base"] == 2
    assert env.job(second)["behind_base"] == 0
    env.podium("wait", str(first), "--timeout", "30", check=True)
    table = env.podium("status").stdout
    assert "behind base by 2" in table


def test_workspaces_lists_what_git_says_about_each(env: Env) -> None:
    dirty = env.delegate("leave a change", "--agent", "command", "--command", "sh -c 'echo x > x.txt'")
    committed = env.delegate("commit a change", "--agent", "command", "--command",
                             "sh -c 'echo y > y.txt && git add y.txt && git commit -qm y'")
    gone = env.delegate("soon deleted", "--agent", "command", "--command", "sh -c 'echo z > z.txt'")
    assert env.podium("wait", str(dirty), str(committed), str(gone), "--timeout", "30").returncode == 0
    pushed_branch = env.job(committed)["branch"]
    git("push", "--quiet", "origin", pushed_branch, cwd=Path(env.job(committed)["workspace"]))
    shutil.rmtree(env.job(gone)["workspace"])  # deleted by hand

    by_job = {w["job"]: w for w in env.podium_json("workspaces")}
    assert by_job[dirty]["dirty"] is True and by_job[dirty]["ahead"] == 0 and by_job[dirty]["pushed"] == "no"
    assert by_job[committed]["dirty"] is False and by_job[committed]["ahead"] == 1
    assert by_job[committed]["pushed"] == "yes"
    assert by_job[gone]["exists"] is False
    table = env.podium("workspaces").stdout
    assert "missing" in table and pushed_branch in table


def test_clean_never_removes_work_that_exists_nowhere_else(env: Env) -> None:
    run = ("--agent", "command", "--command")
    dirty = env.delegate("uncommitted work", *run, "sh -c 'echo x > x.txt'")
    unpushed = env.delegate("unpushed commit", *run, "sh -c 'echo y > y.txt && git add y.txt && git commit -qm y'")
    pushed = env.delegate("pushed commit", *run, "sh -c 'echo z > z.txt && git add z.txt && git commit -qm z'")
    empty = env.delegate("nothing at all", *run, "true")
    gone = env.delegate("deleted by hand", *run, "sh -c 'echo g > g.txt'")
    running = env.delegate("still running", *run, "sh -c 'echo r > r.txt; sleep 60'")
    env.podium("wait", *(str(j) for j in (dirty, unpushed, pushed, empty, gone)), "--timeout", "30")
    jobs = {j: env.job(j) for j in (dirty, unpushed, pushed, empty, gone, running)}
    git("push", "--quiet", "origin", jobs[pushed]["branch"], cwd=Path(jobs[pushed]["workspace"]))
    shutil.rmtree(jobs[gone]["workspace"])
    unpushed_sha = git("rev-parse", "HEAD", cwd=Path(jobs[unpushed]["workspace"]))

    result = env.podium_json("clean")
    removed = {w["job"] for w in result["removed"]}
    kept = {w["job"]: w["reason"] for w in result["kept"]}
    assert removed == {pushed, empty, gone}
    assert kept == {dirty: "uncommitted changes", unpushed: "1 commit not on origin",
                    running: f"job {running} is running"}
    # what was kept is untouched: files, commits, branches, worktrees
    assert (Path(jobs[dirty]["workspace"]) / "x.txt").read_text() == "x\n"
    assert git("rev-parse", "HEAD", cwd=Path(jobs[unpushed]["workspace"])) == unpushed_sha
    assert git("rev-parse", jobs[unpushed]["branch"], cwd=env.repo) == unpushed_sha
    assert (Path(jobs[running]["workspace"]) / "r.txt").exists()
    # what was removed is gone from disk and from git; the pushed work is still on origin
    for job_id in (pushed, empty):
        assert not Path(jobs[job_id]["workspace"]).exists()
    assert jobs[pushed]["branch"] in git("ls-remote", "--heads", "origin", cwd=env.repo)
    assert jobs[gone]["workspace"] not in git("worktree", "list", cwd=env.repo)  # stale entry pruned
    assert {w["job"] for w in env.podium_json("workspaces")} == {dirty, unpushed, running}

    # --force will not run without someone to confirm each workspace
    proc = env.podium("clean", "--force")
    assert proc.returncode == 2 and "run it in a terminal" in proc.stderr
    assert (Path(jobs[dirty]["workspace"]) / "x.txt").exists()
    # a second clean keeps the same and says so in plain words
    out = env.podium("clean").stdout
    assert f"kept {jobs[dirty]['branch']}: uncommitted changes" in out


def test_forced_clean_removes_only_what_was_confirmed_one_by_one(env: Env) -> None:
    from podium.context import Context
    from podium.jobs import clean

    run = ("--agent", "command", "--command")
    a = env.delegate("first unsaved", *run, "sh -c 'echo a > a.txt'")
    b = env.delegate("second unsaved", *run, "sh -c 'echo b > b.txt'")
    env.podium("wait", str(a), str(b), "--timeout", "30", check=True)
    branch_a, branch_b = env.job(a)["branch"], env.job(b)["branch"]
    asked: list[str] = []

    def confirm(state, risk):  # type: ignore[no-untyped-def]
        asked.append(f"{state.branch}: {risk}")
        return state.branch == branch_a

    os.environ["PODIUM_WORKTREES"] = env.vars["PODIUM_WORKTREES"]
    try:
        result = clean(Context.open(env.repo), force=confirm)
    finally:
        del os.environ["PODIUM_WORKTREES"]
    assert sorted(asked) == sorted([f"{branch_a}: uncommitted changes", f"{branch_b}: uncommitted changes"])
    assert [s.branch for s in result.removed] == [branch_a]
    assert not Path(env.job(a)["workspace"]).exists()
    assert (Path(env.job(b)["workspace"]) / "b.txt").read_text() == "b\n"


def test_each_workspace_gets_its_own_ports_and_env_file_outside_git(env: Env) -> None:
    run = ("--agent", "command", "--command", "sh -c 'echo $PORT $PODIUM_PORTS > port.txt'")
    first, second = env.delegate("serve the app", *run), env.delegate("serve the app", *run)
    env.podium("wait", str(first), str(second), "--timeout", "30", check=True)
    seen = []
    for job_id in (first, second):
        ws = Path(env.job(job_id)["workspace"])
        port, ports = (ws / "port.txt").read_text().split()
        assert ports == f"{port}-{int(port) + 9}" and 20000 <= int(port) <= 39990
        assert f"PORT={port}\n" in (ws / ".podium" / "env").read_text()
        assert git("status", "--porcelain", cwd=ws) == "?? port.txt"  # the env file is not the job's work
        seen.append(int(port))
    assert abs(seen[0] - seen[1]) >= 10  # no overlap between the two blocks


def test_port_blocks_are_stable_and_skip_ports_in_use(tmp_path: Path) -> None:
    import socket

    from podium.store import Store
    from podium.workspace import allocate_ports

    store = Store(tmp_path / "state")
    base = allocate_ports(store, "/wt/a", "feature/a")
    assert allocate_ports(store, "/wt/a", "feature/a") == base  # stable
    store.mark_workspace_removed("/wt/a")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", base + 3))
        busy.listen()
        again = allocate_ports(store, "/wt/a", "feature/a")
    assert again != base and not (again <= base + 3 < again + 10)


def test_wait_at_a_terminal_shows_a_live_line_then_the_summary(env: Env) -> None:
    job = env.delegate("take a while", "--agent", "command", "--command", "sh -c 'sleep 3; echo x > x.txt'")
    primary, replica = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "podium", "wait", str(job)], cwd=env.repo, env=env.vars,
                            stdin=replica, stdout=replica, stderr=replica)
    os.close(replica)
    seen = b""
    while True:
        ready, _, _ = select.select([primary], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(primary, 65536)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            seen += chunk
        elif proc.poll() is not None:
            break
    os.close(primary)
    assert proc.wait(timeout=60) == 0
    text = seen.decode(errors="replace")
    assert "waiting for 1 job: 1 running" in text  # while it ran: how many, in which state
    assert f"job {job} done" in text  # then the summary


def _runners_of(env: Env) -> list[int]:
    """podium runners (prestarted or not) started from this test's environment."""
    import psutil

    found = []
    for proc in psutil.process_iter(["cmdline", "environ"]):
        cmdline, environ = proc.info["cmdline"] or [], proc.info["environ"] or {}
        if any("podium.runner" in part for part in cmdline) and environ.get("HOME") == env.vars["HOME"]:
            found.append(proc.pid)
    return found


@pytest.mark.parametrize("fork", [True, False])
def test_the_runner_delegate_starts_is_a_runner_of_its_own_forked_or_not(env: Env, fork: bool) -> None:
    """``podium delegate`` forks its runner from itself (podium already loaded), or with ``PODIUM_NO_FORK``
    starts a new interpreter: either way the runner reads as one (``podium.runner`` in its command line, which
    is how podium tells a runner), leads a session of its own, has its log for output and holds nothing of the
    command that started it — the delegate's own output ended when it exited."""
    if not fork:
        env.vars["PODIUM_NO_FORK"] = "1"
    proc = subprocess.Popen([sys.executable, "-m", "podium", "delegate", "--json", "--agent", "command", "--command",
                             "sh -c 'sleep 60'", "--", "hold on"], cwd=env.repo, env=env.vars, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = proc.communicate(timeout=60)  # returns at once: no runner keeps the delegate's pipes open
    assert proc.returncode == 0, err
    job = env.wait_for(int(json.loads(out)["id"]), lambda j: j["state"] == "running")
    runner = job["runner_pid"]
    cmdline = Path(f"/proc/{runner}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    assert "podium.runner" in cmdline and runner in _runners_of(env)
    assert ("-S -c" in cmdline) is not fork  # a new interpreter starts without site; a fork needs no start
    assert os.getsid(runner) == runner
    assert Path(f"/proc/{runner}/fd/1").resolve().name == f"{job['id']}.runner"  # its output goes to its log
    env.podium("cancel", str(job["id"]), check=True)
    assert env.podium_json("status", str(job["id"]))[0]["state"] == "cancelled"


def test_a_runner_runs_the_podium_that_launched_it_and_a_failed_delegation_leaves_none(env: Env) -> None:
    """The runner imports from the launching podium's path, never from its worktree: a repository with a
    ``podium`` package of its own (podium worked on with podium) still gets its jobs run. A delegation that
    fails after its runner was prestarted leaves no runner behind."""
    other = env.root / "other"
    git("clone", "--quiet", str(env.origin), str(other), cwd=env.root)
    (other / "podium").mkdir()
    (other / "podium" / "__init__.py").write_text("raise SystemExit('the worktree podium was imported')\n")
    git("add", ".", cwd=other)
    git("-c", "user.name=Dev", "-c", "user.email=dev@example.com", "commit", "--quiet", "-m", "a podium", cwd=other)
    git("push", "--quiet", "origin", "HEAD:main", cwd=other)

    job_id = env.delegate("note it", "--agent", "command", "--command", "sh -c 'echo noted > note.txt'")
    assert env.podium("wait", str(job_id), "--timeout", "30").returncode == 0
    job = env.job(job_id)
    assert job["state"] == "done" and (Path(job["workspace"]) / "podium" / "__init__.py").is_file()

    failed = env.podium("delegate", "--agent", "command", "--command", "true", "--base", "no-such-base", "--", "x")
    assert failed.returncode != 0 and "no-such-base" in failed.stderr
    deadline = time.monotonic() + 10
    while _runners_of(env) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _runners_of(env) == []


def test_a_runner_adopts_what_its_agent_leaves_behind_and_collects_it_when_it_ends(env: Env) -> None:
    """A process the agent detaches (``setsid -f``) is the runner's child, not init's; once it ends the runner
    collects it (no zombie waits for the job's end)."""
    job = env.delegate("leave one behind", "--agent", "command", "--command",
                       "sh -c 'setsid -f sh -c \"sleep 2\"; sleep 60'")  # cancelled at the end
    runner = env.wait_for(job, lambda j: j["state"] == "running")["runner_pid"]

    def children() -> dict[int, str]:
        found = {}
        for tid in os.listdir(f"/proc/{runner}/task"):
            for pid in Path(f"/proc/{runner}/task/{tid}/children").read_text().split():
                with contextlib.suppress(FileNotFoundError):  # collected meanwhile
                    found[int(pid)] = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        return found

    deadline = time.monotonic() + 5
    while len(children()) < 2 and time.monotonic() < deadline:  # the agent, and the process it detached
        time.sleep(0.05)
    assert len(children()) == 2
    deadline = time.monotonic() + 10  # the detached one ends after 2 s; a heartbeat (0.5 s here) collects it
    while len(children()) > 1 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list(children().values()) == ["S"]  # only the agent, still sleeping: nothing left as a zombie
    env.podium("cancel", str(job))


@pytest.mark.parametrize("agent", ["codex", "claude", "gemini"])
def test_a_prompt_of_most_of_a_megabyte_reaches_the_model_whole_through_stdin(env: Env, agent: str) -> None:
    """One argument of a command line holds at most 128 KiB: prompts go to the CLIs on stdin, never in argv (up
    to the CLI's own limit: codex takes at most 1 MiB of characters, and says so)."""
    env.serve({"steps": ["Read it all."]})
    prompt = "Summarise this log.\n" + "a line of the log that goes on and on\n" * 25_000 + "END-OF-THE-PROMPT"
    assert 128 * 1024 * 7 < len(prompt) < 1_000_000
    job_id = delegate_from_stdin(env, prompt, agent)
    assert env.podium("wait", str(job_id), "--timeout", "120").returncode in (0, 1)
    job = env.job(job_id)
    assert job["state"] in ("done", "no_changes"), job["error"]
    assert "END-OF-THE-PROMPT" in json.dumps([r.get("body") for r in env.requests()])
    with sqlite3.connect(env.repo / ".git" / "podium" / "state.db") as db:
        [argv] = db.execute("SELECT argv FROM jobs WHERE id = ?", (job_id,)).fetchone()
    assert "Summarise" not in argv  # the prompt never was an argument
    if agent == "codex":  # over codex's own limit: its reason, not the last line of its stack trace
        too_long = delegate_from_stdin(env, prompt * 2, agent)
        env.podium("wait", str(too_long), "--timeout", "60")
        assert "Input exceeds the maximum length of 1048576 characters" in env.job(too_long)["error"]


@pytest.mark.parametrize("agent", ["codex", "claude", "gemini", "qwen", "opencode", "kilo", "pi", "copilot", "droid",
                                   "cline", "aider"])
def test_a_long_answer_is_read_to_its_end_though_the_cli_exits_at_once(env: Env, agent: str) -> None:
    """A CLI run by Node or Bun writes to a pipe asynchronously and may exit with output still queued (gemini and
    qwen end with process.exit(); cline and pi repeat the whole answer so far in every delta, a hundred MB for
    an answer of 100 KB): the agent writes to a file, and what it wrote before it exited is all read."""
    lines = 2_500 if agent in ("cline", "pi") else 20_000  # 100 KB: cline's and pi's output grows as its square
    answer = "".join(f"Finding {i}: invoice {i * 7} rounds to {i % 97} cents.\n" for i in range(lines))
    answer += "END-OF-THE-ANSWER"  # not one line twice: gemini stops an answer it takes for a loop
    env.serve({"steps": [answer]})
    job_id = env.delegate("Look at the log", "--agent", agent)
    waited = json.loads(env.podium("wait", str(job_id), "--timeout", "120", "--json").stdout)["jobs"][0]
    assert waited["state"] == "no_changes", waited["error"]
    assert waited["final"].endswith("END-OF-THE-ANSWER")
    # the job's log holds the answer, but not as many times as it streamed (cline's and pi's deltas repeat it)
    log = env.repo / ".git" / "podium" / "logs" / f"{job_id}.log"
    assert log.stat().st_size < 20 * len(answer), log.stat().st_size
    if agent in ("cline", "pi"):  # its first line: streamed once, then in the whole message at its end
        text = log.read_text()
        assert "Finding 2499: invoice" in text and text.count("Finding 0: invoice 0 rounds") <= 5


def delegate_from_stdin(env: Env, prompt: str, agent: str) -> int:
    proc = subprocess.run([sys.executable, "-m", "podium", "delegate", "--agent", agent, "--json", "-"],
                          cwd=env.repo, env=env.vars, input=prompt, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return int(json.loads(proc.stdout)["id"])
