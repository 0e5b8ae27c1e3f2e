"""Operations on jobs: delegate, status, logs, wait, cancel, resume.

Under ``podium mcp --work N`` (``ctx.work_id``) they hold the work's rules (``podium.work``): its ticket and
workspace by default, its limit of worker rounds, a stalled job retried once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from podium.errors import UsageError
from podium.service.catalog import operation
from podium.service.results import Document, Events, JobInfo, Listing, Page, Waited

if TYPE_CHECKING:  # podium's machinery loads when an operation runs: the CLI's --help needs none of it
    from podium.context import Context
    from podium.summary import Summary


@operation()
def delegate(
    ctx: Context,
    prompt: Annotated[str, "The situation, not the solution: what is wrong, where, why it "
                           "matters, what done looks like."],
    agent: Annotated[str | None, "Agent CLI to run (codex, claude, gemini, command, or a "
                                 "plugin). Default: podium.toml's default_agent, else codex."]
    = None,
    branch: Annotated[str | None, "Branch for the new workspace (default: named the way this "
                                  "repository names branches)."] = None,
    base: Annotated[str | None, "Base branch on origin (default: [branches] base in "
                                "podium.toml, else origin/develop, else origin's default)."]
    = None,
    ticket: Annotated[str | None, "Work on this ticket, in its workspace (started first if "
                                  "needed: assigned, set active, snapshot)."] = None,
    model: Annotated[str | None, "The model for this job only (default: [roles.worker] model in "
                                 "podium.toml, else the agent CLI's own)."] = None,
    effort: Annotated[str | None, "The reasoning effort for this job only: low, medium, high, xhigh "
                                  "or max (default: [roles.worker] effort)."] = None,
) -> JobInfo:
    """Hand a task to a worker agent in a new worktree on a new branch, from a freshly fetched base; returns at
    once with the job id.

    Describe the situation, not the solution. With a ticket, the worker works in the ticket's workspace
    (the ticket is started first: assigned, set active, snapshot) and a second job there is queued."""
    return start_worker(ctx, prompt, agent=agent, branch=branch, base=base, ticket=ticket, model=model,
                        effort=effort)


def start_worker(ctx: Context, prompt: str, *, agent: str | None = None, branch: str | None = None,
                 base: str | None = None, ticket: str | None = None, stall_after: float | None = None,
                 agent_options: dict[str, object] | None = None, allow_stale_base: bool = False,
                 model: str | None = None, effort: str | None = None) -> JobInfo:
    """``delegate`` with the CLI's extra knobs (stall time, an ad-hoc command, a stale base)."""
    from podium import jobs

    work = ctx.work()
    if work is not None:
        from podium import work as work_mod

        return JobInfo.launched(work_mod.delegate(ctx, work, prompt, agent=agent, ticket=ticket, model=model,
                                                  effort=effort))
    return JobInfo.launched(jobs.delegate(ctx, prompt, agent=agent, branch=branch, base=base, ticket=ticket,
                                          stall_after=stall_after, agent_options=agent_options,
                                          allow_stale_base=allow_stale_base, model=model, effort=effort))


@operation()
def status(
    ctx: Context,
    job_ids: Annotated[list[int] | None, "Only these jobs."] = None,
    all: Annotated[bool, "Every job, not only active and recent ones."] = False,
) -> Listing:
    """Every active and recent job (or the ones named): state, agent, role, branch, quiet time, work, tests."""
    from podium import jobs

    jobs.reconcile(ctx.store)
    work = ctx.work()
    if job_ids or work is not None:
        if job_ids:
            wanted = [ctx.job(j).id for j in job_ids]
        else:
            from podium import work as work_mod

            wanted = [j.id for j in work_mod.jobs_of(ctx, work)]
        listing = _listing(ctx, f"id IN ({', '.join('?' for _ in wanted)})", wanted)
        if not job_ids:
            return listing
        by_id = {r["id"]: r for r in listing.rows}  # in the order asked for
        return Listing("[\n" + ",\n".join(json.dumps(by_id[i]) for i in wanted) + "\n]")
    return _listing(ctx, *jobs.listing_filter(all))


def _listing(ctx: Context, where: str, args: list[Any], *, limit: int | None = None, offset: int = 0) -> Listing:
    from podium import jobs

    behind = jobs.behind(ctx, ctx.store.status_bases(where, args, limit=limit, offset=offset))
    if limit is not None:
        return Listing(ctx.store.status_json(where, args, behind=behind, limit=limit, offset=offset))
    return Listing(lambda: ctx.store.status_json(where, args, behind=behind),
                   table=lambda: ctx.store.status_table(where, args, behind=behind))


def jobs_page(ctx: Context, *, state: str | None = None, agent: str | None = None, branch: str | None = None,
              ticket: str | None = None, offset: int = 0, limit: int = 50) -> Page:
    """One page of every job, newest first, filtered (``state`` ``active``: every active state); the rows are
    ``status``'s, behind-base counted for this page only."""
    from podium import jobs
    from podium.store import ACTIVE_STATES

    jobs.reconcile(ctx.store)
    states = ACTIVE_STATES if state == "active" else (state,) if state else ()
    where, args = ctx.store.job_filter(states=states, agent=agent, branch=branch, ticket=ticket)
    rows = _listing(ctx, where, args, limit=limit, offset=offset).rows
    return Page(rows, ctx.store.count_jobs(where, args), offset, limit)


def changes(ctx: Context, job_id: int) -> Document:
    """What the job's worktree holds now against the base it started from: files with lines, and the diff
    (untracked files included; the worktree's own index is not touched)."""
    from podium import git

    job = ctx.job(job_id)
    if not job.workspace or not job.base_sha:
        return Document({"files": [], "patch": "", "cut": False, "gone": False})
    if job.workspace_removed_at or not Path(job.workspace).is_dir():
        return Document({"files": (job.work or {}).get("files") or [], "patch": "", "cut": False, "gone": True})
    tree = git.snapshot(job.workspace).tree
    text, cut = git.patch(job.workspace, job.base_sha, tree)
    return Document({"files": git.numstat(job.workspace, job.base_sha, tree), "patch": text, "cut": cut,
                     "gone": False})


def log_bytes(ctx: Context, job_id: int, size: int | None = None) -> bytes:
    """A job's raw log (the agent's own output, redacted as written): all of it, or its last ``size`` bytes. A
    running job's on a worker elsewhere: as the worker last pushed it."""
    job = ctx.job(job_id)
    if job.engine:
        from podium import engines

        engines.latest(ctx.store, job)
    path = ctx.store.log_path(job.id)
    if not path.is_file():
        return b""
    with path.open("rb") as f:
        if size is not None:
            f.seek(max(0, path.stat().st_size - size))
        return f.read()


def log_tail(ctx: Context, job_id: int, size: int = 64_000) -> str:
    """The end of a job's raw log, as text."""
    return log_bytes(ctx, job_id, size).decode("utf-8", "replace")


@operation()
def logs(
    ctx: Context,
    job_id: Annotated[int, "The job."],
    summary: Annotated[bool, "A few lines instead of the events: answer, files, commits, "
                             "failed commands, the tests' verdict."] = True,
    tail: Annotated[int | None, "Without summary: only the last N events (none: all)."] = 30,
) -> Summary | Events:
    """A job's summary (answer, files, commits, failed commands, tests verdict) — or, with summary false, its last
    events. Prefer the summary: logs are long."""
    from podium import jobs
    from podium.summary import summarize

    jobs.reconcile(ctx.store)
    job = ctx.job(job_id)
    if summary:
        return summarize(ctx.store, job)
    if tail is not None and tail < 1:
        raise UsageError("tail must be at least 1")
    after = max(0, job.event_count - tail) if tail else 0
    return Events(id=job.id, state=job.state, events=ctx.store.events(job.id, after=after))


@operation()
def wait_(
    ctx: Context,
    job_ids: Annotated[list[int] | None, "The jobs (default: every active one; in a work, "
                                         "its own)."] = None,
    timeout: Annotated[float | None, "Give up after this many seconds (none: no limit)."]
    = None,
    through_stalls: Annotated[bool, "Keep waiting while a job is stalled."] = False,
) -> Waited:
    """Block until the jobs end or stall, at most timeout seconds; their summaries. In a work, podium retries a
    stalled job once in its session by itself."""
    return wait_for(ctx, job_ids, timeout=timeout, through_stalls=through_stalls)


def wait_for(ctx: Context, job_ids: list[int] | None, *, timeout: float | None = None, through_stalls: bool = False,
             on_poll: Any = None) -> Waited:
    """``wait``, with ``on_poll`` seeing the jobs at every look (the CLI's live line)."""
    from podium import jobs
    from podium import work as work_mod
    from podium.store import ACTIVE_STATES
    from podium.summary import summarize

    jobs.reconcile(ctx.store)
    if timeout is not None and not timeout >= 0:
        raise UsageError(f"the timeout must be a number of seconds ≥ 0, not {timeout}")
    work = ctx.work()
    if work is not None and not through_stalls:  # the work's rule: a stalled job is retried once, by podium
        ended, retried, timed_out = work_mod.wait(ctx, work, list(job_ids or []), timeout)
        return Waited(jobs=[summarize(ctx.store, j) for j in ended], timed_out=timed_out, retried=retried)
    ids: list[int | str] = list(job_ids or [])
    if not ids:
        active = ctx.store.jobs_in(work.workspace) if work is not None else ctx.store.jobs(states=ACTIVE_STATES)
        ids = [j.id for j in active if j.active]
    ended, timed_out = jobs.wait_until(ctx, ids, timeout=timeout, through_stalls=through_stalls, on_poll=on_poll)
    return Waited(jobs=[summarize(ctx.store, j) for j in ended], timed_out=timed_out)


@operation()
def cancel(
    ctx: Context,
    job_id: Annotated[int | None, "The job (in a work: default, the one active in its "
                                  "workspace)."] = None,
) -> JobInfo:
    """Stop a job's agent (its whole process group); its worktree is kept."""
    from podium import jobs

    work = ctx.work()
    target = job_id
    if target is None and work is not None:
        active = ctx.store.active_job_in(work.workspace)
        target = active.id if active else None
    if target is None:
        raise UsageError("name the job to cancel")
    return JobInfo.of(jobs.cancel(ctx, target))


@operation()
def resume(
    ctx: Context,
    message: Annotated[str, "What to tell the agent, in its own session."],
    job_id: Annotated[int | None, "The job whose session continues (in a work: default, its "
                                  "latest worker)."] = None,
    queue: Annotated[bool, "Queue behind a job active in the worktree (false: refuse)."]
    = True,
) -> JobInfo:
    """Continue a job's agent session with a new message, as a new job in the same worktree (queued while another
    job is active there). In a work, each resume of a worker is a round (the work's limit holds)."""
    from podium import jobs
    from podium import work as work_mod

    work = ctx.work()
    if work is not None:
        return JobInfo.launched(work_mod.resume_job(ctx, work, message, job_id))
    if job_id is None:
        raise UsageError("name the job to resume")
    return JobInfo.launched(jobs.resume(ctx, job_id, message, queue=queue))


@operation()
def rerun(ctx: Context, job_id: Annotated[int, "The job to run again."]) -> JobInfo:
    """Run an ended job's command again, as a new job in the same worktree (queued while another job is active
    there): for a job that failed or was lost before its agent had a session, when there is nothing to
    resume."""
    from podium import jobs

    return JobInfo.launched(jobs.rerun(ctx, job_id, f"job {job_id} run again (podium rerun)"))
