"""Chaos: real codex jobs under podium, SIGKILLed at random points, must come out whole.

    python benchmarks/chaos.py --jobs N [--seed S] [--concurrency K] [--keep]

N slots each delegate one real codex job (`podium delegate`, in a throw-away repository with a bare origin,
against the scripted model of tests/conftest.py) whose agent runs shell steps that take a while: write
f_<slot>.txt, commit it, write g_<slot>.txt, answer. At most K slots are busy at once. While they run, a plan
drawn from a seeded RNG SIGKILLs, each at a random moment:

- runner:        a job's runner (runner_pid): a living agent is adopted by a new runner, a dead one is lost;
- agent:         the agent (agent_pid: the codex CLI, leader of its process group);
- agent_child:   a shell or sleep the agent runs;
- cli_delegate:  a `podium delegate` a short random delay after it started (so also cli_status, cli_wait).

A job that ends failed or lost is resumed (`podium resume JOB continue`) when its agent reported a session,
else run again (`podium rerun JOB`); a slot whose delegation left no worktree is delegated again. Then
`podium status --all` reconciles, what ended failed or lost is recovered, and `podium wait` waits for the
rest. Printed, one line each:

- jobs:             slots, jobs in the store and how they ended, recoveries, adoptions; why jobs failed;
- kills:            SIGKILLs sent, by kind (and planned strikes that found nothing to kill);
- lost changes:     files and commits a worktree held before a kill that it does not hold at the end;
- stuck jobs:       jobs still active after the final wait;
- orphaned agents:  codex processes (found by the PODIUM_JOB_ID in their environment) alive more than
                    ORPHAN_GRACE seconds after their job ended, sampled during the run and at the end;
- double agents:    worktrees where two agents (process groups) ran at one sampling moment;
- store errors:     podium commands that printed a Traceback or "state database error" or hung, runners
                    whose log holds a Traceback, and PRAGMA integrity_check of .git/podium/state.db.

The last five are invariants: the exit status is 1 when any of them is non-zero. Needs the real codex CLI
(`npm install --prefix tests/agent-clis`) and the test dependencies (it imports tests/conftest.py).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from conftest import CLI_BIN, Env, make_env, tidy  # noqa: E402

ACTIVE = ("queued", "starting", "running", "stalled")
RECOVERABLE = ("failed", "lost")
JOB_KINDS = ("runner", "agent", "agent_child")  # aimed at a slot's running job
CLI_KINDS = ("cli_delegate", "cli_status", "cli_wait")  # a podium command killed mid-way
KINDS = JOB_KINDS + CLI_KINDS
# a command killed mid-way runs at most this long (they take about 0.5 s, 0.2 s, and as long as the job)
CLI_DELAY = {"cli_delegate": 0.6, "cli_status": 0.25, "cli_wait": 1.5}
TICK = 0.5  # the driver's look at the jobs (`podium status --all --json`)
SAMPLE_EVERY = 0.25  # the sampler's look at the processes
LONG_STEP = 8  # seconds of the agent's second shell step: a command that runs a while, as tests do
# An agent may outlive its job this long: a runner ends its job once its agent's output is closed (or 2 s after
# the agent exited), and an agent whose runner died before the job was seen running dies at its first write.
ORPHAN_GRACE = 3.0
CHILD_RETRY = 3.0  # an agent_child strike that finds no child tries again this long
MAX_RECOVERIES = 2  # resumes/reruns/delegations again per slot
COMMAND_TIMEOUT = 120.0  # a podium command that takes longer hangs


def marker(slot: int) -> str:
    return f"[chaos-{slot}]"  # the bracket keeps [chaos-1] out of [chaos-12]


def scenario(slots: int) -> dict[str, Any]:
    """One script per slot: two slow shell steps around a commit, then the answer."""
    return {"scripts": [{"name": f"slot {i}", "match": marker(i), "steps": [
        {"shell": f"sleep 2 && echo one > f_{i}.txt"},
        {"shell": f"git add f_{i}.txt && git commit -qm 'f {i}'"},
        {"shell": f"sleep {LONG_STEP} && echo two > g_{i}.txt"},
        f"Wrote f_{i}.txt (committed) and g_{i}.txt.",
    ]} for i in range(1, slots + 1)]}


def prepare(env: Env, slots: int) -> None:
    """Serve the slots' scripts; let codex commit (its workspace-write sandbox keeps .git read-only)."""
    env.serve(scenario(slots))
    config = Path(env.vars["CODEX_HOME"]) / "config.toml"
    config.write_text('sandbox_mode = "danger-full-access"\n' + config.read_text())


# -- what a worktree holds -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Held:
    """A worktree's files (but .git and .podium/) with their content, and its HEAD."""

    files: dict[str, bytes]
    head: str | None


def held(worktree: Path) -> Held | None:
    if not worktree.is_dir():
        return None
    files = {}
    for path in worktree.rglob("*"):
        rel = path.relative_to(worktree)
        if rel.parts[0] in (".git", ".podium") or not path.is_file():
            continue
        with contextlib.suppress(OSError):  # the agent may be writing or removing it right now
            files[rel.as_posix()] = path.read_bytes()
    head = subprocess.run(["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=worktree, capture_output=True,
                          text=True).stdout.strip()
    return Held(files, head or None)


def vanished(worktree: Path, before: Held, after: Held | None) -> list[str]:
    """What ``before`` held that ``after`` lost: a file gone or cut short (content may only grow), a commit
    no longer in HEAD's history."""
    if after is None:
        return [f"{worktree}: the worktree is gone"]
    lost = [f"{worktree}/{name}" for name, content in before.files.items()
            if not after.files.get(name, b"\0missing").startswith(content)]
    if before.head and before.head != after.head and subprocess.run(
            ["git", "merge-base", "--is-ancestor", before.head, "HEAD"], cwd=worktree,
            capture_output=True).returncode != 0:
        lost.append(f"{worktree}: commit {before.head[:10]}")
    return lost


# -- the agents' processes ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Agent:
    pid: int
    pgid: int
    job: int
    cwd: str


def our_agents(codex_home: str) -> list[Agent]:
    """This run's codex processes (the node launcher and the native binary): those whose environment has this
    run's CODEX_HOME and a PODIUM_JOB_ID."""
    found = []
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] not in ("node", "codex"):
            continue
        try:
            if "exec" not in proc.cmdline():
                continue
            environ = proc.environ()
            if environ.get("CODEX_HOME") != codex_home or "PODIUM_JOB_ID" not in environ:
                continue
            found.append(Agent(proc.pid, os.getpgid(proc.pid), int(environ["PODIUM_JOB_ID"]), proc.cwd()))
        except (psutil.Error, OSError, ValueError):
            continue
    return found


class Sampler(threading.Thread):
    """Looks at the agents every SAMPLE_EVERY seconds: two process groups in one worktree are double agents;
    an agent alive ORPHAN_GRACE seconds after its job ended (as the driver last saw the jobs) is an orphan."""

    def __init__(self, codex_home: str) -> None:
        super().__init__(daemon=True, name="chaos-sampler")
        self.codex_home = codex_home
        self.rows: dict[int, dict[str, Any]] = {}  # the jobs as the driver last saw them
        self.doubles: dict[str, set[int]] = {}  # worktree -> the jobs whose agents ran there at once
        self.orphans: dict[int, int] = {}  # job -> a pid of its agent seen alive ORPHAN_GRACE s after it ended
        self.outlived: dict[int, float] = {}  # job -> the longest its agent was seen alive after it ended
        self.peak = 0
        self.samples = 0
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(SAMPLE_EVERY):
            self.sample()

    def sample(self) -> list[Agent]:
        agents = our_agents(self.codex_home)
        groups: dict[str, dict[int, int]] = {}  # worktree -> pgid -> job
        for agent in agents:
            groups.setdefault(agent.cwd, {})[agent.pgid] = agent.job
        for worktree, jobs in groups.items():
            if len(jobs) > 1:
                self.doubles.setdefault(worktree, set()).update(jobs.values())
        self.peak = max(self.peak, sum(len(g) for g in groups.values()))
        now = time.time()
        for agent in agents:
            row = self.rows.get(agent.job)
            if row and row["state"] not in ACTIVE and row["ended_at"]:
                late = now - row["ended_at"]
                self.outlived[agent.job] = max(late, self.outlived.get(agent.job, 0.0))
                if late > ORPHAN_GRACE:
                    self.orphans[agent.job] = agent.pid
        self.samples += 1
        return agents

    def stop(self) -> None:
        self.halt.set()
        self.join()


# -- the plan ------------------------------------------------------------------------------------------------------


@dataclass
class Strike:
    kind: str
    offset: float  # seconds after the slot's current job was seen running (cli_delegate: at its delegation)
    delay: float  # CLI kinds: how long the command runs before the kill


@dataclass
class Slot:
    number: int
    strikes: list[Strike] = field(default_factory=list)
    job: int | None = None  # its current job
    jobs: list[int] = field(default_factory=list)
    running_since: float | None = None
    delegated: bool = False
    recoveries: int = 0
    finished: bool = False

    @property
    def prompt(self) -> str:
        return f"Write two files {marker(self.number)}"


def plan(slots: int, rng: random.Random) -> list[Slot]:
    """About one strike per slot (at least one of each kind), kinds dealt from a shuffled deck so every kind
    comes up as often as the others, each at a random slot and moment."""
    dealt = [Slot(i) for i in range(1, slots + 1)]
    deck: list[str] = []
    for _ in range(max(slots, len(KINDS))):
        if not deck:
            deck = rng.sample(KINDS, len(KINDS))
        kind = deck.pop()
        free = [s for s in dealt if kind != "cli_delegate" or all(k.kind != kind for k in s.strikes)]
        slot = rng.choice(free or dealt)
        slot.strikes.append(Strike(kind, 0.0 if kind == "cli_delegate" else rng.uniform(0.2, LONG_STEP + 1.5),
                                   rng.uniform(0.05, CLI_DELAY[kind]) if kind in CLI_DELAY else 0.0))
    for slot in dealt:
        slot.strikes.sort(key=lambda s: s.offset)
    return dealt


# -- the figures -----------------------------------------------------------------------------------------------------


@dataclass
class Figures:
    slots: int
    seconds: float = 0.0
    states: Counter[str] = field(default_factory=Counter)  # every job's
    slot_states: Counter[str] = field(default_factory=Counter)  # each slot's last job's
    recoveries: Counter[str] = field(default_factory=Counter)  # resume, rerun, delegate again, refused
    adopted: int = 0
    failures: Counter[str] = field(default_factory=Counter)  # why jobs failed or were lost (``_general``)
    kills: Counter[str] = field(default_factory=Counter)
    missed: Counter[str] = field(default_factory=Counter)  # planned strikes that found nothing, by kind
    held_items: int = 0  # distinct files and commits the worktrees held before kills
    lost_changes: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    orphans: dict[int, int] = field(default_factory=dict)  # job -> a pid of its agent
    outlived: dict[int, float] = field(default_factory=dict)
    doubles: dict[str, set[int]] = field(default_factory=dict)
    peak_agents: int = 0
    samples: int = 0
    commands: int = 0
    command_errors: list[str] = field(default_factory=list)  # tracebacks, database errors, hangs
    runner_tracebacks: list[str] = field(default_factory=list)
    integrity: str = ""
    leaked_worktrees: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # refusals and other oddities, for the reader

    @property
    def store_errors(self) -> int:
        return len(self.command_errors) + len(self.runner_tracebacks) + (self.integrity != "ok")

    def breaches(self) -> dict[str, int]:
        """The invariants that do not hold, with their figure."""
        figures = {"lost changes": len(self.lost_changes), "stuck jobs": len(self.stuck),
                   "orphaned agents": len(self.orphans), "double agents": len(self.doubles),
                   "store errors": self.store_errors}
        return {name: n for name, n in figures.items() if n}

    def lines(self) -> list[str]:
        jobs = sum(self.states.values())
        return [
            f"jobs: {self.slots} slots, {jobs} jobs in {self.seconds:.0f} s, ended {dict(self.states.most_common())}; "
            f"the slots' last jobs {dict(self.slot_states.most_common())}; recoveries {dict(self.recoveries)}; "
            f"adopted by a new runner {self.adopted}; at most {self.peak_agents} agents alive at once",
            "why jobs failed or were lost: " + ("; ".join(f"{n}× {why}" for why, n in self.failures.most_common())
                                                or "none"),
            f"kills: {sum(self.kills.values())} ({', '.join(f'{k} {self.kills[k]}' for k in KINDS)}); "
            f"planned strikes that found nothing to kill: {sum(self.missed.values())} {dict(self.missed)}",
            f"lost changes: {len(self.lost_changes)} (of {self.held_items} files and commits held before kills)"
            + _some(self.lost_changes),
            f"stuck jobs: {len(self.stuck)}" + _some(self.stuck),
            f"orphaned agents: {len(self.orphans)}"
            + _some([f"job {job} (pid {pid})" for job, pid in self.orphans.items()])
            + (f" (agents seen alive after their job ended: {len(self.outlived)}, by at most "
               f"{max(self.outlived.values()):.1f} s)" if self.outlived else ""),
            f"double agents: {len(self.doubles)} (in {self.samples} samples)"
            + _some([f"{Path(w).name}: jobs {sorted(j)}" for w, j in self.doubles.items()]),
            f"store errors: {self.store_errors} (commands {len(self.command_errors)} of {self.commands}, "
            f"runner logs {len(self.runner_tracebacks)}, integrity_check {self.integrity})"
            + _some(self.command_errors + self.runner_tracebacks),
            f"worktrees left without a job: {len(self.leaked_worktrees)}" + _some(self.leaked_worktrees),
            "goal: 0 lost changes, 0 stuck jobs, 0 orphaned agents, 0 double agents, 0 store errors: "
            + ("met" if not self.breaches() else f"NOT met {self.breaches()}"),
        ] + [f"note: {n}" for n in self.notes]


def _some(items: list[str], limit: int = 5) -> str:
    if not items:
        return ""
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ": " + "; ".join(items[:limit]) + more


# -- the run ---------------------------------------------------------------------------------------------------------


class Chaos:
    def __init__(self, env: Env, slots: int, seed: int, concurrency: int, verbose: bool = False) -> None:
        self.env = env
        self.verbose = verbose
        self.began = time.monotonic()
        self.rng = random.Random(seed)
        self.slots = plan(slots, self.rng)
        self.concurrency = concurrency
        self.figures = Figures(slots)
        self.rows: dict[int, dict[str, Any]] = {}
        self.before: dict[str, list[Held]] = {}  # worktree -> what it held before each kill
        self.store_root = str(env.repo / ".git" / "podium")
        self.sampler = Sampler(env.vars["CODEX_HOME"])

    # -- podium commands
    def podium(self, *args: str, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess[str] | None:
        """A podium command, as a user runs it; None when it hung (killed after ``timeout``)."""
        self.figures.commands += 1
        try:
            proc = self.env.podium(*args, timeout=timeout)
        except subprocess.TimeoutExpired:
            self.figures.command_errors.append(f"podium {' '.join(args)}: hung for {timeout:g} s")
            return None
        self.check_output(args, proc.stdout + proc.stderr)
        return proc

    def check_output(self, args: tuple[str, ...], output: str) -> None:
        for needle in ("Traceback", "state database error"):
            if needle in output:
                tail = output[output.index(needle):].strip().splitlines()[-1][:200]
                self.figures.command_errors.append(f"podium {' '.join(args)}: {needle}: {tail}")

    def killed_midway(self, args: tuple[str, ...], delay: float, kind: str) -> None:
        """Start a podium command and SIGKILL it after ``delay`` seconds (if it is still running)."""
        self.snapshot()
        self.figures.commands += 1
        proc = subprocess.Popen([sys.executable, "-m", "podium", *args], cwd=self.env.repo, env=self.env.vars,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        if proc.poll() is None:
            proc.kill()
            self.figures.kills[kind] += 1
            self.log(f"killed podium {args[0]} after {delay:.2f} s")
        else:
            self.figures.missed[kind] += 1
            self.log(f"podium {args[0]} ended before {delay:.2f} s")
        out, err = proc.communicate()
        self.check_output(args, out + err)

    def status(self) -> dict[int, dict[str, Any]]:
        """Every job (``status --all --json``: which reconciles them first); the last good look on failure."""
        proc = self.podium("status", "--all", "--json")
        if proc is not None and proc.returncode == 0:
            with contextlib.suppress(ValueError):
                self.rows = {row["id"]: row for row in json.loads(proc.stdout)}
                self.sampler.rows = self.rows
        return self.rows

    # -- what the worktrees held
    def snapshot(self) -> None:
        """Record what every busy slot's worktree holds, before a kill."""
        for slot in self.slots:
            row = self.rows.get(slot.job or 0)
            if row and row["workspace"] and row["state"] in ACTIVE:
                now = held(Path(row["workspace"]))
                if now is not None:
                    self.before.setdefault(row["workspace"], []).append(now)

    # -- the driver
    def drive(self, deadline: float) -> None:
        """Delegate the slots (at most ``concurrency`` busy), strike as planned, recover what ends failed or
        lost, until every slot is finished or the deadline passes."""
        last_word = time.monotonic()
        while time.monotonic() < deadline and not all(s.finished for s in self.slots):
            rows = self.status()
            for slot in self.slots:
                if slot.delegated and not slot.finished:
                    self.follow(slot, rows)
            busy = sum(s.delegated and not s.finished for s in self.slots)
            for slot in self.slots:
                if busy >= self.concurrency:
                    break
                if not slot.delegated and not slot.finished:
                    self.delegate(slot)
                    busy += 1
            if time.monotonic() - last_word > 30:
                last_word = time.monotonic()
                done = sum(s.finished for s in self.slots)
                print(f"  … {done}/{len(self.slots)} slots finished, {busy} busy, "
                      f"{sum(self.figures.kills.values())} kills", file=sys.stderr, flush=True)
            time.sleep(TICK)

    def follow(self, slot: Slot, rows: dict[int, dict[str, Any]]) -> None:
        """The slot's current job: strike it when a strike is due, recover it when it ended failed or lost."""
        row = rows.get(slot.job) if slot.job else None
        if row is None:
            return
        if row["state"] == "running" and slot.running_since is None:
            slot.running_since = time.monotonic()
        if row["state"] in ACTIVE:
            self.strike(slot, row)
            return
        if row["state"] in RECOVERABLE and slot.recoveries < MAX_RECOVERIES:
            self.recover(slot, row)
        else:
            slot.finished = True
            self.figures.missed.update(s.kind for s in slot.strikes)
            if slot.strikes:
                self.log(f"slot {slot.number} finished ({row['state']}) before {[s.kind for s in slot.strikes]}")
            slot.strikes.clear()

    def strike(self, slot: Slot, row: dict[str, Any]) -> None:
        due = [s for s in slot.strikes if s.kind != "cli_delegate"]
        if not due or slot.running_since is None or time.monotonic() < slot.running_since + due[0].offset:
            return
        strike = due[0]
        if strike.kind == "cli_status":
            self.killed_midway(("status", "--json"), strike.delay, strike.kind)
        elif strike.kind == "cli_wait":
            self.killed_midway(("wait", str(row["id"]), "--timeout", "30"), strike.delay, strike.kind)
        elif why := self.kill_in_job(strike.kind, row):
            late = time.monotonic() - slot.running_since - strike.offset
            if strike.kind == "agent_child" and late < CHILD_RETRY:
                return  # between two shell steps: try again
            self.figures.missed[strike.kind] += 1
            self.log(f"slot {slot.number}: no {strike.kind} to kill: {why}")
        slot.strikes.remove(strike)

    def kill_in_job(self, kind: str, row: dict[str, Any]) -> str | None:
        """SIGKILL the job's runner, agent or one of the agent's children; why not, when there is none to kill.
        Only processes of this run are touched: a runner naming this run's store, processes whose environment
        has this run's CODEX_HOME."""
        if row["state"] != "running":
            return f"job {row['id']} is {row['state']}"
        try:
            if kind == "runner":
                victim = psutil.Process(row["runner_pid"])
                if self.store_root not in " ".join(victim.cmdline()):
                    return f"pid {victim.pid} is no runner of this run"
            else:
                agent = psutil.Process(row["agent_pid"])
                if agent.environ().get("CODEX_HOME") != self.env.vars["CODEX_HOME"]:
                    return f"pid {agent.pid} is no agent of this run"
                victim = agent
                if kind == "agent_child":
                    children = [c for c in agent.children(recursive=True) if c.name() not in ("node", "codex")]
                    if not children:
                        return "the agent runs no command"
                    victim = self.rng.choice(children)
            name = victim.name()
            self.snapshot()
            victim.kill()  # psutil checks that the pid still names the same process
        except (psutil.Error, TypeError, ValueError) as e:
            return f"{type(e).__name__}: {e}"
        self.figures.kills[kind] += 1
        self.log(f"killed the {kind} of job {row['id']} (pid {victim.pid}, {name})")
        return None

    def log(self, message: str) -> None:
        if self.verbose:
            print(f"  {time.monotonic() - self.began:6.1f}s {message}", file=sys.stderr, flush=True)

    def delegate(self, slot: Slot) -> None:
        """``podium delegate`` for the slot: killed a moment after it started when the plan says so, the slot's
        job then being whatever it left behind (nothing: the slot is delegated again later)."""
        slot.delegated, slot.running_since = True, None
        args = ("delegate", "--json", "--", slot.prompt)
        kill = next((s for s in slot.strikes if s.kind == "cli_delegate"), None)
        if kill is not None:
            slot.strikes.remove(kill)
            known = set(self.rows)
            self.killed_midway(args, kill.delay, kill.kind)
            left = [i for i, row in self.status().items() if i not in known and i not in slot.jobs
                    and slot.prompt in (row["prompt"] or "")]
            if left:
                self.take(slot, max(left))
            else:
                slot.delegated = False
            self.log(f"slot {slot.number}: the killed delegate left {f'job {max(left)}' if left else 'no job'}")
            return
        proc = self.podium(*args)
        if proc is not None and proc.returncode == 0:
            self.take(slot, int(json.loads(proc.stdout)["id"]))
            self.log(f"slot {slot.number}: delegated job {slot.job}")
        else:
            self.figures.notes.append(f"slot {slot.number}: delegate failed: {_last_line(proc)}")
            slot.finished = True

    def take(self, slot: Slot, job: int) -> None:
        slot.job, slot.running_since = job, None
        slot.jobs.append(job)

    def recover(self, slot: Slot, row: dict[str, Any]) -> None:
        """Resume the job's session, or run its command again (no session), or delegate the slot again (no
        worktree)."""
        slot.recoveries += 1
        if not row["workspace"] or not Path(row["workspace"]).is_dir():
            self.log(f"slot {slot.number}: job {row['id']} {row['state']} without a worktree: delegate again")
            self.figures.recoveries["delegate again"] += 1
            slot.delegated = False
            return
        how = "resume" if row["session_id"] else "rerun"
        proc = self.podium(how, str(row["id"]), *(["continue"] if how == "resume" else []), "--json")
        if proc is not None and proc.returncode != 0 and how == "resume":
            self.figures.notes.append(f"job {row['id']}: resume refused ({_last_line(proc)}); rerun instead")
            how, proc = "rerun", self.podium("rerun", str(row["id"]), "--json")
        if proc is not None and proc.returncode == 0:
            self.figures.recoveries[how] += 1
            self.take(slot, int(json.loads(proc.stdout)["id"]))
            self.log(f"slot {slot.number}: job {row['id']} {row['state']} ({row['error']}): {how} as job {slot.job}")
        else:
            self.figures.recoveries["refused"] += 1
            self.figures.notes.append(f"job {row['id']} ({row['state']}): {how} refused: {_last_line(proc)}")
            slot.finished = True

    def settle(self, timeout: float) -> None:
        """Reconcile, recover the slots whose last job ended failed or lost, and wait for every active job."""
        rows = self.status()
        for slot in self.slots:
            row = rows.get(slot.job) if slot.job else None
            if row and row["state"] in RECOVERABLE and slot.recoveries < MAX_RECOVERIES:
                self.recover(slot, row)
        self.podium("wait", "--timeout", f"{timeout:g}", timeout=timeout + COMMAND_TIMEOUT)

    # -- the invariants
    def check(self, started: float) -> Figures:
        f = self.figures
        rows = self.status()
        f.seconds = time.monotonic() - started
        f.states = Counter(row["state"] for row in rows.values())
        f.slot_states = Counter(rows[s.job]["state"] if s.job in rows else "none" for s in self.slots)
        f.stuck = [f"job {i} {row['state']}" for i, row in rows.items() if row["state"] in ACTIVE]
        f.failures = Counter(_general(row["error"] or "no error") for row in rows.values()
                             if row["state"] in RECOVERABLE)
        for worktree, snapshots in self.before.items():
            now = held(Path(worktree))
            lost: set[str] = set()
            for before in snapshots:
                lost.update(vanished(Path(worktree), before, now))
            f.held_items += len({n for b in snapshots for n in b.files}) + len({b.head for b in snapshots if b.head})
            f.lost_changes += sorted(lost)
        self.check_agents(rows)
        logs = sorted((self.env.repo / ".git" / "podium" / "logs").glob("*.runner"))
        f.runner_tracebacks = [f"{p.name}: {_traceback_line(p)}" for p in logs
                               if "Traceback" in p.read_text(errors="replace")]
        f.integrity = integrity(self.env.repo / ".git" / "podium" / "state.db")
        f.adopted = adopted_jobs(self.env.repo / ".git" / "podium" / "state.db")
        named = {row["workspace"] for row in rows.values() if row["workspace"]}
        f.leaked_worktrees = [w for w in worktrees(self.env.repo) if w not in named]
        return f

    def check_agents(self, rows: dict[int, dict[str, Any]]) -> None:
        """Orphans: agents still alive ORPHAN_GRACE seconds after the final wait, whose job is not active (then
        ended here: this run started them); and those the sampler saw. Double agents: the sampler's."""
        self.sampler.stop()
        deadline = time.monotonic() + ORPHAN_GRACE
        left = self.sampler.sample()
        while left and time.monotonic() < deadline:
            time.sleep(0.5)
            left = self.sampler.sample()
        for agent in left:
            if rows.get(agent.job, {}).get("state") not in ACTIVE:
                self.sampler.orphans[agent.job] = agent.pid
                with contextlib.suppress(ProcessLookupError):
                    os.kill(agent.pid, signal.SIGKILL)
        self.figures.orphans = dict(self.sampler.orphans)
        self.figures.outlived = dict(self.sampler.outlived)
        self.figures.doubles = dict(self.sampler.doubles)
        self.figures.peak_agents = self.sampler.peak
        self.figures.samples = self.sampler.samples


def _general(error: str) -> str:
    """An error with its ids and numbers blanked, so that the same failure counts once."""
    return re.sub(r"\d+", "N", re.sub(r"\b[0-9a-f]{8}-[0-9a-f-]{27}\b", "<id>", error))[:110]


def _last_line(proc: subprocess.CompletedProcess[str] | None) -> str:
    if proc is None:
        return "hung"
    lines = (proc.stderr or proc.stdout).strip().splitlines()
    return lines[-1][:200] if lines else f"exit {proc.returncode}"


def _traceback_line(path: Path) -> str:
    text = path.read_text(errors="replace")
    return text[text.index("Traceback"):].strip().splitlines()[-1][:200]


def integrity(db: Path) -> str:
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return "; ".join(str(r[0]) for r in conn.execute("PRAGMA integrity_check"))


def adopted_jobs(db: Path) -> int:
    """Jobs whose living agent a new runner adopted (its note says so)."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        return conn.execute("SELECT COUNT(DISTINCT job_id) FROM events WHERE kind = 'note' AND data LIKE "
                            "'%a new runner watches the agent%'").fetchone()[0]


def worktrees(repo: Path) -> list[str]:
    """The repository's worktrees, but its main checkout."""
    out = subprocess.run(["git", "worktree", "list", "--porcelain"], cwd=repo, capture_output=True, text=True).stdout
    paths = [line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("worktree ")]
    return [p for p in paths if Path(p).resolve() != repo.resolve()]


def run(env: Env, slots: int, seed: int = 1, concurrency: int = 3, verbose: bool = False) -> Figures:
    """The whole benchmark in ``env`` (an environment as tests/conftest.py makes it)."""
    prepare(env, slots)
    chaos = Chaos(env, slots, seed, concurrency, verbose)
    started = time.monotonic()
    chaos.sampler.start()
    try:
        chaos.drive(deadline=started + 120 + 15 * slots)
        chaos.settle(timeout=180 + 2 * slots)
        return chaos.check(started)
    finally:
        if chaos.sampler.is_alive():
            chaos.sampler.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=20, help="slots: jobs delegated (default 20)")
    parser.add_argument("--seed", type=int, default=1, help="the RNG's seed: which strikes, where, when")
    parser.add_argument("--concurrency", type=int, default=3, help="slots busy at once (default 3)")
    parser.add_argument("--verbose", "-v", action="store_true", help="say every kill, miss and recovery on stderr")
    parser.add_argument("--keep", action="store_true", help="keep the temporary repository (its path is printed)")
    args = parser.parse_args()
    if not (CLI_BIN / "codex").exists():
        parser.error(f"no codex CLI in {CLI_BIN}: run npm install --prefix tests/agent-clis")
    tmp = Path(tempfile.mkdtemp(prefix="podium-chaos-"))
    env = make_env(tmp, CLI_BIN)
    try:
        figures = run(env, args.jobs, seed=args.seed, concurrency=args.concurrency, verbose=args.verbose)
    finally:
        tidy(env)
        if args.keep:
            print(f"kept {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"chaos: {args.jobs} jobs, seed {args.seed}, {args.concurrency} at a time, on {os.cpu_count()} cores")
    for line in figures.lines():
        print(f"  {line}")
    breaches = figures.breaches()
    if breaches:
        print(f"FAILED: {', '.join(f'{name} {n}' for name, n in breaches.items())}")
    return 1 if breaches else 0


if __name__ == "__main__":
    sys.exit(main())
