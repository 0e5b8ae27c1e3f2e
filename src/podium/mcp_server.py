"""``podium mcp``: podium's tools for any agent that speaks MCP (stdio), on the official SDK.

Each tool calls the same library function as the CLI command of the same name and returns a short,
structured result — a job's summary, never its whole log unless asked (context hygiene). The server
works on the repository of its working directory.

Approving a gate carries out a commit or a push, so it is the human's: the ``approve`` tool refuses
unless the server was started with ``--allow-approve``, which ``podium chat`` does while leaving the
tool out of the CLI's pre-allowed tools — the CLI then asks the human before every call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from podium import browser
from podium.errors import PodiumError, WaitTimeout

TOOLS = ("delegate", "status", "logs", "wait", "cancel", "resume", "test", "screenshot", "ticket_start",
         "branch_name", "commit", "ship", "gates", "approve", "reject")
# What an orchestrator may call without asking the human each time (approve is not among them).
UNATTENDED = tuple(t for t in TOOLS if t != "approve")
MAX_WAIT = 3600.0
ROW_KEYS = ("id", "state", "agent", "role", "branch", "age", "silent_for", "files_changed", "commits", "behind_base",
            "tests", "prompt", "error")
T = TypeVar("T")


def compact(row: dict[str, Any]) -> dict[str, Any]:
    """A status row without what an orchestrator does not need (pids, timestamps, empty fields)."""
    return {k: row[k] for k in ROW_KEYS if row.get(k) not in (None, "")}


def build(cwd: str | Path = ".", *, allow_approve: bool = False, work_id: int | None = None) -> Any:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    from podium import gate as gate_mod
    from podium import jobs
    from podium.render import status_rows
    from podium.store import ACTIVE_STATES
    from podium.summary import summarize

    root = Path(cwd).resolve()
    server = MCPServer("podium", log_level="WARNING", instructions=(
        "podium: coding-agent jobs in their own worktrees, the tester, the team's conventions and the human's "
        "approval gate, as tools. Delegate, then wait or check status; read a job's summary, not its log."))

    def run(fn: Callable[[jobs.Context], T]) -> T:
        """A tool's body, with podium's one-line errors turned into tool errors the model can read."""
        try:
            return fn(jobs.Context.open(root))
        except PodiumError as e:
            raise ToolError(str(e)) from None

    def current(ctx: jobs.Context) -> Any:
        """The work this server serves (podium work), whose ticket and workspace the tools default to."""
        return ctx.store.work(work_id) if work_id is not None else None

    def needed(value: T | None, what: str) -> T:
        if value is None:
            raise ToolError(f"name the {what}")
        return value

    def branch_of(ctx: jobs.Context, target: str | None) -> str:
        work = current(ctx)
        return needed(target or (work.branch if work else None), "target (a job id or a branch)")

    def row(job: Any, ctx: jobs.Context) -> dict[str, Any]:
        return compact(status_rows([job], jobs.behind_base(ctx, [job]))[0])

    def brief(ctx: jobs.Context, job: Any) -> dict[str, Any]:
        s = summarize(ctx.store, job).to_dict()
        for key in ("prompt", "workspace", "session_id", "usage"):
            s.pop(key, None)
        s["files"] = [f["path"] for f in s["files"]]
        return {k: v for k, v in s.items() if v not in (None, [], {})}

    def outcome(ctx: jobs.Context, call: Callable[[], Any]) -> dict[str, Any]:
        try:
            done = call()
        except gate_mod.GatePending as e:
            gate = e.gate
            return {"gate": gate.id if gate else None, "state": "pending", "waits_for": "the human",
                    "shown": gate_mod.describe(gate) if gate else [], "message": str(e)}
        gate, result = done.gate, done.result or {}
        return {"gate": gate.id, "state": gate.state, "reason": gate.reason, **result}

    @server.tool()
    def delegate(prompt: str, agent: str | None = None, branch: str | None = None, base: str | None = None,
                 ticket: str | None = None) -> dict[str, Any]:
        """Hand a task to a worker agent (podium.toml's default_agent, else codex) in a new worktree on a new
        branch, from a freshly fetched base; returns at once with the job id. Describe the situation, not the
        solution. With ticket, it works in the ticket's workspace (the ticket is started first: assigned, set
        active, snapshot)."""
        def body(ctx: jobs.Context) -> dict[str, Any]:
            work = current(ctx)
            if work is None:
                return row(jobs.delegate(ctx, prompt, agent=agent, branch=branch, base=base, ticket=ticket), ctx)
            if ticket not in (None, work.ticket):
                raise ToolError(f"this work is ticket {work.ticket}; {ticket} is not part of it")
            from podium.work import count_round

            count_round(ctx, work)
            try:
                job = jobs.delegate(ctx, prompt, agent=agent, ticket=work.ticket, stall_after=work.stall_after)
            except BaseException:
                ctx.store.update_work(work.id, rounds=work.rounds)
                raise
            return row(job, ctx)
        return run(body)

    @server.tool()
    def status(job_ids: list[int] | None = None, all: bool = False) -> list[dict[str, Any]]:
        """Every active and recent job (or the ones named): state, agent, role, branch, quiet time, work, tests."""
        def body(ctx: jobs.Context) -> list[dict[str, Any]]:
            jobs.reconcile(ctx.store)
            work = current(ctx)
            if work is not None and not job_ids:
                from podium.work import jobs_of

                selected = list(reversed(jobs_of(ctx, work)))
            else:
                selected = jobs.listing(ctx, list(job_ids or []), show_all=all)
            return [compact(r) for r in status_rows(selected, jobs.behind_base(ctx, selected))]
        return run(body)

    @server.tool()
    def logs(job_id: int, summary: bool = True, tail: int = 30) -> dict[str, Any]:
        """A job's summary (answer, files, commits, failed commands, tests verdict) — or, with summary=false,
        its last `tail` events as lines. Prefer the summary: logs are long."""
        from podium.render import event_line

        def body(ctx: jobs.Context) -> dict[str, Any]:
            jobs.reconcile(ctx.store)
            job = ctx.job(job_id)
            if summary:
                return brief(ctx, job)
            events = ctx.store.events(job.id, after=max(0, job.event_count - max(1, tail)))
            return {"id": job.id, "state": job.state, "events": [event_line(e) for e in events]}
        return run(body)

    @server.tool()
    def wait(job_ids: list[int] | None = None, timeout: float = 600.0) -> dict[str, Any]:
        """Block until the jobs (default: every active one — in a work, its own) end or stall, at most timeout
        seconds; their summaries. In a work, podium retries a stalled job once in its session by itself."""
        from podium.work import retry_stalled

        def body(ctx: jobs.Context) -> dict[str, Any]:
            work = current(ctx)
            jobs.reconcile(ctx.store)
            if job_ids:
                ids = list(job_ids)
            elif work is not None:
                ids = [j.id for j in ctx.store.jobs_in(work.workspace) if j.active]
            else:
                ids = [j.id for j in ctx.store.jobs(states=ACTIVE_STATES)]
            deadline = time.monotonic() + min(max(timeout, 0.0), MAX_WAIT)
            retried: list[dict[str, int]] = []
            timed_out = False
            while True:
                try:
                    ended = jobs.wait(ctx, ids, timeout=max(0.0, deadline - time.monotonic()))
                except WaitTimeout:
                    ended, timed_out = [ctx.job(j) for j in ids], True
                    break
                stalled = [j for j in ended if j.state == "stalled"] if work is not None else []
                again = [(j, retry_stalled(ctx, j)) for j in stalled]
                if not again or not all(new for _, new in again):
                    break
                for old, new in again:
                    assert new is not None
                    retried.append({"stalled": old.id, "retry": new.id})
                    ids = [new.id if i == old.id else i for i in ids]
            return {"timed_out": timed_out, "retried": retried, "jobs": [brief(ctx, j) for j in ended]}
        return run(body)

    @server.tool()
    def cancel(job_id: int | None = None) -> dict[str, Any]:
        """Stop a job's agent (its whole process group); its worktree is kept. In a work, job_id defaults to
        the job active in its workspace."""
        def body(ctx: jobs.Context) -> dict[str, Any]:
            work = current(ctx)
            target = job_id
            if target is None and work is not None:
                active = ctx.store.active_job_in(work.workspace)
                target = active.id if active else None
            return row(jobs.cancel(ctx, needed(target, "job to cancel")), ctx)
        return run(body)

    @server.tool()
    def resume(message: str, job_id: int | None = None) -> dict[str, Any]:
        """Continue a job's agent session with a new message, as a new job in the same worktree (queued while
        another job is active there). In a work, job_id defaults to its latest worker, and each resume of a
        worker is a round (the work's limit holds)."""
        def body(ctx: jobs.Context) -> dict[str, Any]:
            from podium.work import count_round, latest_worker

            work = current(ctx)
            target = ctx.job(job_id) if job_id is not None else (latest_worker(ctx, work) if work else None)
            target = needed(target, "job to resume")
            counted = work is not None and target.role == "worker"
            if counted:
                count_round(ctx, work)
            try:
                return row(jobs.resume(ctx, target.id, message), ctx)
            except BaseException:
                if counted:
                    ctx.store.update_work(work.id, rounds=work.rounds)  # a refused resume is no round
                raise
        return run(body)

    @server.tool()
    def test(message: str, branch: str | None = None, agent: str | None = None, fresh: bool = False) -> dict[str, Any]:
        """A turn of the branch's tester session (claude by default): say what changed and what to test (full
        suite, targeted tests, screenshots of the smoking gun). Later turns resume the same session. A
        background job: wait for it, then read its summary (the tests verdict comes from the runner's output).
        In a work, branch defaults to its branch."""
        from podium import tester

        def body(ctx: jobs.Context) -> dict[str, Any]:
            work = current(ctx)
            target = branch or (work.branch if work else None)
            turn = tester.turn(ctx, needed(target, "branch to test"), message, agent=agent, fresh=fresh,
                               stall_after=work.stall_after if work else None)
            return {**row(turn.job, ctx), "session_id": turn.job.session_id, "resumed": turn.resumed,
                    "notes": turn.notes}
        return run(body)

    @server.tool()
    def screenshot(url: str, label: str = "page", steps: list[str] | None = None, full_page: bool = False,
                   branch: str | None = None) -> dict[str, Any]:
        """Screenshot a page in headless Chromium, saved as <branch>-<n>-<label>.png in the screenshots folder
        and recorded against the branch (the gate shows it; ship attaches it to the pull request).

        steps run in order before the shot: "click:SELECTOR", "type:SELECTOR=TEXT", "press:KEY",
        "wait:SELECTOR", "wait:MILLISECONDS", "goto:URL" (Playwright selectors: CSS or text=...).
        branch defaults to the branch checked out in this worktree.
        """
        def body(ctx: jobs.Context) -> dict[str, Any]:
            actions = [browser.Action.parse(s) for s in steps or []]
            work = current(ctx)
            return browser.take(ctx.repo, ctx.store, ctx.config, url, label=label, actions=actions,
                                branch=branch or (work.branch if work else None), full_page=full_page).to_dict()
        return run(body)

    @server.tool()
    def ticket_start(ticket_id: str, branch: str | None = None, base: str | None = None,
                     reassign: bool = False) -> dict[str, Any]:
        """Start a ticket: read it, assign it to the user, set it active, create its workspace (branch named the
        team's way) and write its snapshot (.podium/ticket.md) there. Idempotent."""
        from podium.ticket import start

        def body(ctx: jobs.Context) -> dict[str, Any]:
            started = start(ctx, ticket_id, branch=branch, base=base, reassign=reassign)
            t, ws = started.ticket, started.workspace
            return {"ticket": t.id, "title": t.title, "state": t.state, "assignees": t.assignees,
                    "branch": ws.branch, "workspace": ws.path, "base": ws.base_ref, "created": started.created,
                    "notes": started.notes()}
        return run(body)

    @server.tool()
    def branch_name(title: str, ticket: str | None = None, kind: str | None = None) -> dict[str, Any]:
        """The branch name a teammate would choose, learned from the repository's own branches."""
        from podium.branches import name_for

        def body(ctx: jobs.Context) -> dict[str, Any]:
            found = name_for(str(ctx.repo.toplevel), title=title, ticket=ticket, kind=kind,
                             template=ctx.config.branch_template)
            return {"name": found.name, "evidence": found.evidence}
        return run(body)

    @server.tool()
    def commit(target: str | None = None, message: str | None = None, push: bool = False) -> dict[str, Any]:
        """Ask for the workspace's single commit on its base (target: job id or branch; in a work, its branch),
        and its push with a lease. Passes the human's gate: usually returns a pending gate and what the human
        is shown."""
        actions = ["commit", "push"] if push else ["commit"]
        return run(lambda ctx: outcome(ctx, lambda: gate_mod.request(ctx, branch_of(ctx, target), actions,
                                                                   message=message)))

    @server.tool()
    def ship(target: str | None = None, message: str | None = None) -> dict[str, Any]:
        """Ask for commit + push (with lease) + the pull request opened or updated, ticket linked, tests and
        screenshots in its description (target: job id or branch; in a work, its branch). One gate for all
        three; usually pending until the human decides."""
        return run(lambda ctx: outcome(ctx, lambda: gate_mod.request(ctx, branch_of(ctx, target),
                                                                   ["commit", "push", "pr"], message=message)))

    @server.tool()
    def gates(all: bool = False) -> list[dict[str, Any]]:
        """The gates waiting for the human (all=true: decided ones too), each as the human sees it."""
        def body(ctx: jobs.Context) -> list[dict[str, Any]]:
            return [{"id": g.id, "state": g.state, "actions": g.actions, "branch": g.branch, "reason": g.reason,
                     "shown": gate_mod.describe(g)} for g in ctx.store.gates(None if all else ("pending",))]
        return run(body)

    @server.tool()
    def approve(gate_id: int) -> dict[str, Any]:
        """Approve a gate and carry out exactly what it holds. Only when the human said so."""
        if not allow_approve:
            raise ToolError(f"approving is the human's: they run podium approve {gate_id} at a terminal")
        return run(lambda ctx: outcome(ctx, lambda: gate_mod.approve(ctx, gate_id, by=f"{gate_mod.who()} (chat)")))

    @server.tool()
    def reject(gate_id: int, why: str) -> dict[str, Any]:
        """Reject a gate, saying why (the workers read it); nothing is committed or pushed."""
        def body(ctx: jobs.Context) -> dict[str, Any]:
            gate = gate_mod.reject(ctx, gate_id, why, by=gate_mod.who())
            return {"gate": gate.id, "state": gate.state, "reason": gate.reason}
        return run(body)

    return server


def serve(cwd: str | Path = ".", *, allow_approve: bool = False, work_id: int | None = None) -> None:
    build(cwd, allow_approve=allow_approve, work_id=work_id).run("stdio")
