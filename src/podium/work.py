"""``podium work TICKET``: the whole loop for one ticket, driven by a headless orchestrator agent.

podium starts the ticket itself (assigned, set active, workspace, snapshot), then runs the orchestrator —
claude in ``-p`` mode with ORCHESTRATOR.md and podium's MCP tools, from the main checkout, able to read but
not to edit — as a background job. The orchestrator delegates to workers, hands the branch to the tester,
sends failures back to the worker and ships; podium's tools hold the rules whatever it decides: they
default to this ticket's workspace, stop at ``max_rounds`` worker rounds, retry a stalled worker once,
and ``ship`` stops at the human's gate.

Every step is in the store (the work, its jobs, their events, the gates), so ``podium work --resume``
picks up after a crash or a reboot: jobs the crash killed are restarted in their sessions, then the
orchestrator's own session is resumed and told what happened. Shipping is idempotent (one commit,
amended; one PR, updated), so a step done twice does no harm.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podium.agents import Agent, Preflight, Wiring, agent_input, flag_value, get_agent
from podium.context import Context
from podium.errors import PodiumError, UsageError
from podium.jobs import Launched, launch, process_alive, reconcile
from podium.store import Job, WorkRecord
from podium.summary import Summary, human_duration, summarize
from podium.text import Note, clip, note_events, plural

ORCHESTRATOR = "orchestrator"
DEFAULT_ROUNDS = 3
ORCHESTRATOR_STALL = 86400.0  # it waits on tools for as long as the workers take
TICKET_CHARS = 6000
STALL_RETRIES = 1


def find(ctx: Context, work_id: int | str | None = None) -> WorkRecord:
    """The work asked for, else the newest one."""
    if work_id is not None:
        try:
            return ctx.store.work(int(work_id))
        except (KeyError, ValueError):
            raise UsageError(f"no work {work_id} in {ctx.repo.toplevel}") from None
    works = ctx.store.works()
    if not works:
        raise UsageError("no podium work here yet: podium work TICKET starts one")
    return works[0]


@dataclass(frozen=True)
class Orchestration:
    """What the orchestrator is given, from the service layer's catalog: its role (ORCHESTRATOR.md, at
    ``role_path``) and the podium tools it may call without asking the human."""

    role: str
    tools: tuple[str, ...]
    role_path: Path | None = None


def start(ctx: Context, ticket_id: str, orchestration: Orchestration, *, rounds: int = DEFAULT_ROUNDS,
          stall_after: float | None = None, agent: str | None = None) -> WorkRecord:
    """Start the ticket and launch the orchestrator; returns at once (``watch`` shows the rest)."""
    from podium.ticket import start as start_ticket

    if rounds < 1:
        raise UsageError("--rounds must be at least 1")
    stall_after = ctx.config.stall_after_for("worker", stall_after)  # the work's workers' (and tester's) window
    agent = agent or ctx.config.agent_for(ORCHESTRATOR)
    reconcile(ctx.store)
    for other in ctx.store.works():
        if other.ticket == ticket_id and other.state in ("running", "interrupted"):
            raise UsageError(f"work {other.id} on {ticket_id} is {other.state}: podium work --resume {other.id}")
    adapter = orchestrator_agent(ctx, agent)
    adapter.wire(adapter.preflight(ctx.repo.main_checkout), Wiring(read_only=True))  # its flags, before anything
    started = start_ticket(ctx, ticket_id)
    ws = started.workspace
    work = ctx.store.create_work(ticket=ticket_id, workspace=ws.path, branch=ws.branch, state="running",
                                 agent=agent, max_rounds=rounds,
                                 stall_after=stall_after)
    from podium.providers import ticket_markdown

    text = ticket_markdown(started.ticket)
    if len(text) > TICKET_CHARS:
        text = text[:TICKET_CHARS] + f"\n…(the rest is in {ws.path}/.podium/ticket.md)\n"
    prompt = (f"podium work: take ticket {started.ticket.id} to the human's gate.\n\n"
              f"Its workspace is branch `{ws.branch}` at {ws.path} (from `{ws.base_ref}`); the ticket is in "
              f".podium/ticket.md there. podium's tools default to this ticket and workspace.\n\n"
              f"Delegate the implementation (describe the situation from the ticket), wait for it, have the tester "
              f"run the suite (and screenshot a user-facing change), send failures back to the worker — at most "
              f"{plural(rounds, 'worker round')} in all — then ship. Ship stops at the human's gate: end by saying, "
              f"in a few lines, what was done and what waits for the human.\n\n---\n\n{text}")
    _run_orchestrator(ctx, work, orchestration, prompt, session=None)
    return ctx.store.work(work.id)


def can_orchestrate(adapter: Agent) -> bool:
    """Whether an agent can be the orchestrator: podium's tools, its role, reading only, resumable sessions."""
    return ({"system_prompt", "read_only"} <= adapter.wires and bool({"mcp", "mcp_apart"} & adapter.wires)
            and adapter.can_resume)


USER_FLAGS = {"model": ("--model", "-m"), "effort": ("--effort",)}  # what the user may set in their own arguments


def orchestrator_agent(ctx: Context, agent: str, user_args: list[str] | None = None) -> Agent:
    """The orchestrator's agent with its ``[roles.orchestrator]`` options, less those ``user_args`` (the user's own
    arguments to its CLI) set themselves; refused when it cannot be the orchestrator."""
    given = {k: None for k, names in USER_FLAGS.items() if flag_value(list(user_args or []), *names) is not None}
    adapter = get_agent(agent, {**ctx.agent_options(agent, ORCHESTRATOR), **given})
    if not can_orchestrate(adapter):
        raise UsageError(f"the {agent} agent cannot be the orchestrator (it needs podium's MCP tools and role, "
                         "reading only and resumable sessions): claude, codex, gemini, qwen, opencode or kilo can")
    return adapter


def wire_orchestrator(ctx: Context, orchestration: Orchestration, agent: str, here: Path, *,
                      work_id: int | None = None, user_args: list[str] | None = None) -> tuple[Agent, Preflight]:
    """The orchestrator's agent, wired: podium's MCP server for the checkout ``here`` (for work ``work_id``:
    serving that work's rules), only the tools it may call unattended pre-allowed (not approve), its role. A
    work's orchestrator reads only: it does not edit code or run commands. (``podium chat``: the human at its
    terminal decides the rest.)"""
    adapter = orchestrator_agent(ctx, agent, user_args)
    server = [sys.executable, "-m", "podium", "-C", str(here), "mcp"]
    if work_id is not None:
        server += ["--work", str(work_id)]
    return adapter, adapter.wire(Preflight(), Wiring(mcp=server, allowed=orchestration.tools, checkout=str(here),
                                                      system_prompt=orchestration.role,
                                                      read_only=work_id is not None))


@dataclass(frozen=True)
class Chat:
    """``podium chat``: the orchestrator's CLI in its own interactive mode, to run (exec) in ``cwd``."""

    agent: str
    argv: list[str]
    cwd: Path
    role_path: Path | None

    @property
    def what(self) -> str:
        """The session in words: ``claude with ORCHESTRATOR.md (…) and podium's tools``."""
        role = f" with {self.role_path.name} ({self.role_path})" if self.role_path else ""
        return f"{self.agent}{role} and podium's tools"


def chat(ctx: Context, orchestration: Orchestration, agent: str | None, user_args: list[str]) -> Chat:
    """The orchestrator (default: ``[roles.orchestrator]`` agent) in this checkout with its role and podium's
    tools, for this session only; ``user_args`` go to its CLI first (a model or effort there is the user's)."""
    name = agent or ctx.config.agent_for(ORCHESTRATOR)
    here = ctx.repo.toplevel
    adapter, wired = wire_orchestrator(ctx, orchestration, name, here, user_args=user_args)
    return Chat(agent=name, argv=adapter.chat_argv(list(user_args), wired), cwd=Path(wired.cwd or here),
                role_path=orchestration.role_path)


def _orchestrator_argv(ctx: Context, work: WorkRecord, orchestration: Orchestration, prompt: str,
                       session: str | None) -> tuple[list[str], Path, list[Note]]:
    """The orchestrator's command line, the folder it starts in, and what its wiring says for its log."""
    here = ctx.repo.main_checkout
    adapter, preflight = wire_orchestrator(ctx, orchestration, work.agent, here, work_id=work.id)
    start = Path(preflight.cwd) if preflight.cwd else here
    said = [Note("agent", n) for n in preflight.notes]
    if session:
        return adapter.resume_argv(session, prompt, here, preflight), start, said
    return adapter.new_argv(prompt, here, preflight), start, said


def _run_orchestrator(ctx: Context, work: WorkRecord, orchestration: Orchestration, prompt: str,
                      session: str | None, notes: list[Note] | None = None) -> Job:
    argv, start, said = _orchestrator_argv(ctx, work, orchestration, prompt, session)
    notes = [*(notes or []), *said]
    stdin = agent_input(get_agent(work.agent, ctx.agent_options(work.agent, ORCHESTRATOR)), prompt)
    previous = work.orchestrator_job
    job = ctx.store.create_job(agent=work.agent, role=ORCHESTRATOR, prompt=prompt, state="starting",
                               branch=work.branch, base_ref=None, session_id=session, parent_id=previous,
                               argv=argv, stdin=stdin, stall_after=ORCHESTRATOR_STALL)
    if notes:
        ctx.store.add_events(job.id, note_events(notes))
    ctx.store.update_work(work.id, orchestrator_job=job.id, state="running")
    launch(ctx.store, job.id, start)
    return job


def resume(ctx: Context, orchestration: Orchestration, work_id: int | str | None = None
           ) -> tuple[WorkRecord, list[Note]]:
    """Pick a work up again: restart what a crash killed, then the orchestrator, in their own sessions."""
    from podium import jobs as jobs_mod

    reconcile(ctx.store)
    work = find(ctx, work_id)
    orchestrator = ctx.store.job(work.orchestrator_job) if work.orchestrator_job else None
    if orchestrator is not None and orchestrator.active:
        return work, [Note("work", "the orchestrator is still running; following it")]
    if work.state in ("waiting", "done"):
        return work, [Note("work", f"work {work.id} already ended: {work.state}")]
    notes: list[Note] = []
    ours = jobs_of(ctx, work)
    followed = {j.parent_id for j in ours}  # a lost job an earlier resume restarted already
    for job in ours:
        if job.state != "lost" or job.id in followed:  # (an orchestrator has no workspace: never among them)
            continue
        if job.session_id and get_agent(job.agent, ctx.agent_options(job.agent, job.role)).transcript(job.session_id):
            again = jobs_mod.resume(ctx, job.id, "podium was interrupted (a crash or a reboot) while you worked. "
                                    "Your worktree is as you left it: check it and finish the task.").job
            notes.append(Note("retry", f"job {job.id} ({job.role}) was lost in the interruption; restarted in its "
                              f"session as job {again.id}"))
        else:  # lost before its agent said anything worth resuming: run the same command again
            again = jobs_mod.rerun(ctx, job.id, f"job {job.id} was lost before it had a session; started again").job
            notes.append(Note("retry", f"job {job.id} ({job.role}) was lost in the interruption before it had a "
                              f"session; started again as job {again.id}"))
    state = _state_text(ctx, work)
    message = ("podium was interrupted (a crash or a reboot) and has resumed this work. "
               + " ".join(n.text for n in notes) + f"\n\nWhere things stand:\n{state}\n\n"
               "Continue from here to the gate; do not redo what is done (shipping again is harmless: it updates "
               "the same commit and PR).")
    session = orchestrator.session_id if orchestrator else None
    adapter = get_agent(work.agent, ctx.agent_options(work.agent, ORCHESTRATOR))
    if session and adapter.transcript(session) is None:
        notes.append(Note("session", f"the orchestrator's session {session} is gone (no transcript): a fresh one "
                          "starts with where things stand"))
        session = None
    if session is None:
        message = (orchestrator.prompt if orchestrator else f"podium work: take ticket {work.ticket} to the gate.") \
            + "\n\n---\n\n" + message
    _run_orchestrator(ctx, work, orchestration, message, session, notes)
    return ctx.store.work(work.id), notes


def _state_text(ctx: Context, work: WorkRecord) -> str:
    lines = []
    for job in ctx.store.jobs_in(work.workspace):
        s = summarize(ctx.store, job)
        tests = f"; tests {s.tests.line()}" if s.tests else ""
        lines.append(f"- job {job.id} ({job.role}, {job.agent}): {job.state}{tests}")
    for gate in ctx.store.gates():
        if gate.workspace == work.workspace:
            lines.append(f"- gate {gate.id} ({' + '.join(gate.actions)}): {gate.state}")
    lines.append(f"- worker rounds used: {work.rounds} of {work.max_rounds}")
    return "\n".join(lines)


@dataclass
class Report:
    """A work as it ended (or stands): ``facts``, what happened, then ``steps``, what the human can do next."""

    work: WorkRecord
    state: str
    facts: list[str] = field(default_factory=list)
    pending_gate: int | None = None
    steps: list[str] = field(default_factory=list)

    @property
    def lines(self) -> list[str]:
        return self.facts + self.steps

    def to_dict(self) -> dict[str, Any]:
        return {"work": self.work.to_dict(), "state": self.state, "lines": self.lines,
                "pending_gate": self.pending_gate}


def conclude(ctx: Context, work: WorkRecord) -> Report:
    """The work's state once its orchestrator ended: waiting for the human, done, stopped or interrupted."""
    reconcile(ctx.store)
    work = ctx.store.work(work.id)
    orchestrator = ctx.store.job(work.orchestrator_job) if work.orchestrator_job else None
    gates = [g for g in ctx.store.gates() if g.workspace == work.workspace and g.created_at >= work.created_at]
    pending = next((g for g in gates if g.state in ("pending", "failed")), None)
    shipped = next((g for g in gates if g.state == "done" and "pr" in g.actions), None)
    if orchestrator is not None and orchestrator.active:
        state = "running"
    elif orchestrator is not None and orchestrator.state in ("lost", "cancelled"):
        state = "interrupted"
    elif pending:
        state = "waiting"
    elif shipped:
        state = "done"
    else:
        state = "stopped"
    ctx.store.update_work(work.id, state=state, outcome=(orchestrator.final_message if orchestrator else None))
    work = ctx.store.work(work.id)
    lines = [f"work {work.id} on {work.ticket}: {state} · branch {work.branch} · worktree {work.workspace}"]
    for job in jobs_of(ctx, work):
        s = summarize(ctx.store, job)
        what = _outcome(s, " changed")
        took = f" in {human_duration(s.duration)}" if s.duration else ""
        lines.append(f"  job {job.id} {job.role} ({job.agent}) {job.state}{took}" + (f": {what}" if what else ""))
    lines.append(f"  worker rounds: {work.rounds} of {work.max_rounds}")
    if orchestrator is not None and orchestrator.final_message:
        lines.append(f"  orchestrator: {' '.join(orchestrator.final_message.split())[:400]}")
    steps = []
    if pending:
        steps.append(f"  waits for you: gate {pending.id} ({' + '.join(pending.actions)}) — podium gates shows it; "
                     f"podium approve {pending.id} or podium reject {pending.id} \"why\"")
    elif shipped and (shipped.result or {}).get("pr"):
        lines.append(f"  shipped: {(shipped.result or {}).get('pr')}")
    if state == "interrupted":
        steps.append(f"  podium work --resume {work.id} picks it up")
    return Report(work=work, state=state, facts=lines, pending_gate=pending.id if pending else None, steps=steps)


def podium_tool(call: dict[str, Any]) -> str | None:
    """The podium tool a ``tool_call`` event called, in each CLI's naming (claude's ``mcp__podium__X``, gemini's
    ``mcp_podium_X``, opencode's ``podium_X``, codex's tool with its server), else None."""
    name = str(call.get("name", ""))
    if call.get("server") == "podium":
        return name
    for prefix in ("mcp__podium__", "mcp_podium_", "podium_"):
        if name.startswith(prefix):
            return name.removeprefix(prefix)
    return None


def progress(ctx: Context, work: WorkRecord, seen: dict[str, Any]) -> list[str]:
    """What happened since the last look, as lines: the orchestrator's tool calls, jobs changing state, gates."""
    out: list[str] = []
    job_id = ctx.store.work(work.id).orchestrator_job
    if job_id:
        events = ctx.store.events(job_id, after=seen.get(f"events:{job_id}", 0))
        for e in events:
            tool = podium_tool(e.data) if e.kind == "tool_call" else None
            if tool:
                args = json.dumps(e.data.get("input") or {}, ensure_ascii=False)
                out.append(f"orchestrator → {tool} {clip(args, 100)}")
            elif e.kind in ("error", "note"):
                out.append(f"orchestrator: {clip(str(e.data.get('message', '')), 160)}")
        if events:
            seen[f"events:{job_id}"] = events[-1].seq
    for job in jobs_of(ctx, work):
        key = f"job:{job.id}"
        if seen.get(key) != job.state:
            seen[key] = job.state
            what = "" if job.active else _outcome(summarize(ctx.store, job))
            out.append(f"job {job.id} {job.role} ({job.agent}) {job.state}" + (f": {what}" if what else ""))
    for gate in ctx.store.gates():
        if gate.workspace == work.workspace and seen.get(f"gate:{gate.id}") != gate.state:
            seen[f"gate:{gate.id}"] = gate.state
            out.append(f"gate {gate.id} ({' + '.join(gate.actions)}) {gate.state}")
    return out


def watch(ctx: Context, work: WorkRecord, emit: Callable[[str], None], poll: float = 0.5) -> Report:
    """Emit progress lines until the orchestrator's job ends, then conclude."""
    seen: dict[str, Any] = {}
    while running(ctx, work):
        for line in progress(ctx, work, seen):
            emit(line)
        time.sleep(poll)
    for line in progress(ctx, work, seen):
        emit(line)
    return conclude(ctx, work)


def running(ctx: Context, work: WorkRecord) -> bool:
    reconcile(ctx.store)
    job_id = ctx.store.work(work.id).orchestrator_job
    if job_id is None:
        return False
    job = ctx.store.job(job_id)
    return job.active and (job.runner_pid is None or process_alive(job.runner_pid, job.runner_started))


def jobs_of(ctx: Context, work: WorkRecord) -> list[Job]:
    """The jobs of the work's workspace since the work began (a ticket's workspace may have older ones)."""
    return [j for j in ctx.store.jobs_in(work.workspace) if j.created_at >= work.created_at]


def _outcome(s: Summary, files: str = "") -> str:
    """A finished job in a few words: its tests' verdict, else how many files it changed."""
    if s.tests:
        return f"tests {s.tests.line()}"
    return f"{plural(len(s.files), 'file')}{files}" if s.files else ""


# -- the rules podium's tools hold while a work runs (the service layer applies them under podium mcp --work N) --

def latest_worker(ctx: Context, work: WorkRecord) -> Job:
    workers = [j for j in ctx.store.jobs_in(work.workspace) if j.role == "worker"]
    if not workers:
        raise UsageError("no worker job in this work yet: delegate first")
    return workers[-1]


def count_round(ctx: Context, work: WorkRecord) -> None:
    if not ctx.store.add_round(work.id, work.max_rounds):
        raise UsageError(f"this work's limit of {plural(work.max_rounds, 'worker round')} is used up: stop, and "
                         "tell the human what still fails and why")


def in_round(ctx: Context, work: WorkRecord, start: Callable[[], Launched]) -> Launched:
    """Start a worker round (``start``): counted against the work's limit, and not counted when it is refused."""
    count_round(ctx, work)
    try:
        return start()
    except BaseException:
        ctx.store.update_work(work.id, rounds=work.rounds)  # a refused round is no round
        raise


def delegate(ctx: Context, work: WorkRecord, prompt: str, *, agent: str | None = None,
             ticket: str | None = None, model: str | None = None, effort: str | None = None) -> Launched:
    """A worker on the work's ticket, in its workspace: a round."""
    from podium import jobs as jobs_mod

    if ticket not in (None, work.ticket):
        raise UsageError(f"this work is ticket {work.ticket}; {ticket} is not part of it")
    return in_round(ctx, work, lambda: jobs_mod.delegate(ctx, prompt, agent=agent, ticket=work.ticket,
                                                         stall_after=work.stall_after, model=model,
                                                         effort=effort))


def resume_job(ctx: Context, work: WorkRecord, message: str, job_id: int | None = None) -> Launched:
    """Continue a job of the work (default: its latest worker); resuming a worker is a round."""
    from podium import jobs as jobs_mod

    target = ctx.job(job_id) if job_id is not None else latest_worker(ctx, work)
    if target.role != "worker":
        return jobs_mod.resume(ctx, target.id, message)
    return in_round(ctx, work, lambda: jobs_mod.resume(ctx, target.id, message))


def wait(ctx: Context, work: WorkRecord, job_ids: list[int], timeout: float | None
         ) -> tuple[list[Job], list[dict[str, int]], bool]:
    """Wait for the work's jobs (default: those active in its workspace); a stalled one is retried once in its
    session by podium, not by the orchestrator's memory. The jobs as they ended, the retries, timed out."""
    from podium import jobs as jobs_mod

    ids = list(job_ids) or [j.id for j in ctx.store.jobs_in(work.workspace) if j.active]
    deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
    retried: list[dict[str, int]] = []
    while True:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        ended, timed_out = jobs_mod.wait_until(ctx, ids, timeout=left)
        if timed_out:
            return ended, retried, True
        again = [(j, retry_stalled(ctx, j)) for j in ended if j.state == "stalled"]
        if not again or not all(new for _, new in again):
            return ended, retried, False
        for old, new in again:
            assert new is not None
            retried.append({"stalled": old.id, "retry": new.id})
            ids = [new.id if i == old.id else i for i in ids]


def is_retry(ctx: Context, job: Job) -> bool:
    """Whether podium started this job as the retry of a stalled one (its ``stall_retry`` note)."""
    return any(e.data.get("kind") == "stall_retry" for e in ctx.store.events(job.id, kinds=("note",)))


def retry_stalled(ctx: Context, job: Job) -> Job | None:
    """A stalled worker or tester is cancelled and resumed once in its session — podium does it, not the
    orchestrator's memory. None when the job is itself a retry, or cannot be resumed."""
    from podium import jobs as jobs_mod

    if is_retry(ctx, job) or not job.session_id:
        return None
    silent = human_duration(time.time() - (job.last_activity_at or job.created_at))
    jobs_mod.cancel(ctx, job.id)
    try:
        again = jobs_mod.resume(ctx, job.id, f"You went silent and idle for {silent}, so podium stopped that run. "
                                "Your worktree is as you left it: continue the task from where you were.").job
    except PodiumError:
        return None
    ctx.store.add_events(again.id, note_events([Note("stall_retry", f"retry of stalled job {job.id}")]))
    return again
