"""The Temporal engine next to the local one, in one run: N real codex jobs (scripted model) delegated the same
way to each engine — to this machine's runners, then to W ``podium worker`` processes (each its own HOME,
CODEX_HOME and worktree root) of a Temporal dev server started here.

    python benchmarks/temporal.py [--jobs 200] [--workers 4] [--max-jobs 8]
    python benchmarks/temporal.py --history 3000

Prints, side by side: `podium delegate` → the agent's first model request, p50 and p99, per engine; podium's
CPU per job (the delegating CLI and `podium wait` here; on a worker, the worker process and the job's runner);
the Temporal server's CPU per job; and whether every job ended done with its file in its workspace here.

``--history N``: what podium's look at a running remote job costs (every ``status``, every second of ``wait``)
when its workflow's history holds N events (a busy job's hour is about 3 000): nothing new in it, against
reading it whole, as a look at a history that grew does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import ROOT, Bench

SCENARIO = {"steps": [{"write": {"path": "out.txt", "content": "ok\n"}}, "Wrote out.txt."]}
DELEGATORS = 4  # delegations in flight at once, for both engines


def _cpu(pid: int) -> float:
    """A process's CPU seconds so far (user + system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _run_engine(b: Bench, label: str, jobs: int) -> dict[str, float]:
    """Delegate ``jobs`` jobs (``DELEGATORS`` at a time), wait for all; latencies, client CPU, right results."""
    def one(i: int) -> tuple[int, float]:
        marker = f"bench-{label}-{i}"
        t0 = time.time()
        job = json.loads(b.podium("delegate", marker, "--json").stdout)["id"]
        return job, b.first_request_after(t0, marker, timeout=900) - t0

    before = os.times()
    t0 = time.time()
    with ThreadPoolExecutor(DELEGATORS) as pool:
        results = list(pool.map(one, range(jobs)))
    ids = [job for job, _ in results]
    wait = b.podium("wait", *map(str, ids), "--timeout", "1800")
    after = os.times()
    wall = time.time() - t0
    store = b.store()
    wrong = [job for i in ids if not ((job := store.job(i)).state == "done" and job.workspace
                                      and (Path(job.workspace) / "out.txt").is_file())]
    for job in wrong[:5]:
        print(f"  {label} job {job.id}: {job.state} on {job.host}; error: {job.error}; events: "
              f"{[(e.kind, e.data.get('message')) for e in store.events(job.id) if e.kind in ('note', 'error')]}")
    right = len(ids) - len(wrong)
    runner = [e[-1].data.get("runner_cpu_s", 0.0) for i in ids if (e := store.events(i, kinds=("final",)))]
    client = (after.children_user + after.children_system) - (before.children_user + before.children_system)
    latencies = [lat for _, lat in results]
    return {"p50": _percentile(latencies, 0.5), "p99": _percentile(latencies, 0.99), "client_cpu": client / jobs,
            "runner_cpu": statistics.mean(runner) if runner else 0.0, "right": right, "wall": wall,
            "wait_rc": wait.returncode}


def _dev_server(temporal: str) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    address = f"127.0.0.1:{port}"
    server = subprocess.Popen([temporal, "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port),
                               "--http-port", str(_free_port()), "--metrics-port", str(_free_port()),
                               "--log-level", "error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    while subprocess.run([temporal, "operator", "cluster", "health", "--address", address],
                         capture_output=True).returncode != 0:
        time.sleep(0.5)
    return server, address


def bench_history(temporal: str, events: int, rounds: int = 10) -> None:
    """A look at a job whose history holds ``events`` events, with nothing new and when it grew, side by side."""
    from podium.engines import temporal as engine
    from podium.engines.workflow import SIGNAL, WORKFLOW

    server, address = _dev_server(temporal)
    try:
        values = {"address": address, "namespace": "default", "task_queue": "nobody"}

        async def grow() -> str:
            client = await engine.connect(values)
            handle = await client.start_workflow(WORKFLOW, {}, id="bench-history", task_queue="nobody")
            batch = {"events": [["message", {"text": "a line of the agent's " * 10}, 0.0]] * 3,
                     "job": {"state": "running"}}
            for _ in range(events - 2):
                await handle.signal(SIGNAL, batch)
            return handle.id

        workflow = engine.run(grow(), timeout=600)
        looker = engine.TemporalEngine(values)
        length = len(engine.run(looker._histories({workflow: 0}))[workflow])
        same, grew = [], []
        for _ in range(rounds):  # alternating: the machine's noise falls on both
            for seen, times in ((length, same), (0, grew)):
                t0 = time.perf_counter()
                engine.run(looker._histories({workflow: seen}))
                times.append(time.perf_counter() - t0)
    finally:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    a, b = statistics.median(same), statistics.median(grew)
    print(f"history: a look at a remote job whose history holds {length} events, medians of {rounds}: nothing new "
          f"{a * 1000:.1f} ms vs read whole {b * 1000:.1f} ms (ratio {a / b:.3f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--max-jobs", type=int, default=8, help="jobs each worker runs at once")
    parser.add_argument("--history", type=int, metavar="N", help="only the look at a history of N events")
    args = parser.parse_args()
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(ROOT / "src")], check=True,
                   env={k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"})
    temporal = shutil.which("temporal") or str(Path(sys.executable).with_name("temporal"))
    if args.history:
        bench_history(temporal, args.history)
        return
    local = Bench(SCENARIO)
    try:
        here = _run_engine(local, "local", args.jobs)
    finally:
        local.close()

    b = Bench(SCENARIO)
    server, address = _dev_server(temporal)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        (b.repo / "podium.toml").write_text(f'[engine]\nkind = "temporal"\naddress = "{address}"\n')
        for n in range(args.workers):
            root = b.tmp / f"machine-{n}"
            (root / "home").mkdir(parents=True)
            shutil.copytree(Path(b.env["CODEX_HOME"]), root / "codex-home")
            env = dict(b.env, HOME=str(root / "home"), CODEX_HOME=str(root / "codex-home"),
                       PODIUM_WORKTREES=str(root / "worktrees"), PODIUM_WORKER_NAME=f"machine-{n}")
            with (root / "worker.log").open("wb") as log:
                workers.append(subprocess.Popen([sys.executable, "-m", "podium", "worker", "--address", address,
                                                 "--max-jobs", str(args.max_jobs)], cwd=root, env=env, stdout=log,
                                                stderr=subprocess.STDOUT))
        time.sleep(2)  # the workers poll the queue
        for n, w in enumerate(workers):
            if w.poll() is not None:
                raise SystemExit(f"worker {n} exited: {(b.tmp / f'machine-{n}' / 'worker.log').read_text()}")
        server_before = _cpu(server.pid)
        workers_before = sum(_cpu(w.pid) for w in workers)
        there = _run_engine(b, "temporal", args.jobs)
        server_cpu = (_cpu(server.pid) - server_before) / args.jobs
        worker_cpu = (sum(_cpu(w.pid) for w in workers) - workers_before) / args.jobs
        hosts = {r["host"] for r in json.loads(b.podium("status", "--all", "--json").stdout)}
    finally:
        for w in workers:
            w.kill()
            w.wait()
        b.close()
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()

    print(f"temporal: {args.jobs} real codex jobs, {DELEGATORS} delegations at a time; {args.workers} workers × "
          f"{args.max_jobs} jobs on {os.cpu_count()} cores")
    print(f"  delegate → first model request: temporal p50 {there['p50'] * 1000:.0f} ms, p99 {there['p99'] * 1000:.0f}"
          f" ms vs local p50 {here['p50'] * 1000:.0f} ms, p99 {here['p99'] * 1000:.0f} ms (ratio p50 "
          f"{there['p50'] / here['p50']:.2f}, p99 {there['p99'] / here['p99']:.2f})")
    print(f"  podium CPU per job here (delegate + wait): temporal {there['client_cpu'] * 1000:.0f} ms vs local "
          f"{here['client_cpu'] * 1000:.0f} ms; runner {there['runner_cpu'] * 1000:.0f} ms vs "
          f"{here['runner_cpu'] * 1000:.0f} ms; on a worker, the worker process {worker_cpu * 1000:.0f} ms per job")
    print(f"  Temporal server CPU per job {server_cpu * 1000:.0f} ms")
    print(f"  done with its file here: temporal {there['right']}/{args.jobs} in {there['wall']:.0f} s (on "
          f"{len(hosts)} hosts) vs local {here['right']}/{args.jobs} in {here['wall']:.0f} s")


if __name__ == "__main__":
    main()
