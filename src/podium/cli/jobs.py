"""Jobs: delegate, status, logs, wait (cancel, resume and rerun: ``podium.cli.control``)."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click

from podium.cli._common import JOB, TEXT, command, context, emit_json, json_option, option
from podium.errors import WaitTimeout
from podium.service import jobs as ops
from podium.service.results import Waited, event_dict

FOLLOW_POLL = 0.5


def register(cli: click.Group) -> None:
    @command(cli, "delegate", more="Prints the job id at once (a prompt that starts with - goes after --; "
                                   "- alone reads the prompt from stdin).")
    @click.argument("prompt", type=TEXT)
    @option("delegate", "agent", "--agent")
    @option("delegate", "branch", "--branch")
    @option("delegate", "base", "--base")
    @click.option("--stall-after", type=float, help="Seconds of silence and idleness before the job counts as stalled.")
    @click.option("--allow-stale-base", is_flag=True,
                  help="When fetching origin fails, start from the base as last fetched (podium says how old it is).")
    @option("delegate", "ticket", "--ticket")
    @option("delegate", "model", "--model")
    @option("delegate", "effort", "--effort")
    @click.option("--command", "command_line", help="Command line for --agent command; {prompt} marks the prompt.")
    @json_option
    @click.pass_obj
    def delegate(obj: dict[str, Any], prompt: str, agent: str | None, branch: str | None, base: str | None,
                 stall_after: float | None, allow_stale_base: bool, ticket: str | None, model: str | None,
                 effort: str | None, command_line: str | None, as_json: bool) -> None:
        job = ops.start_worker(context(obj), prompt, agent=agent, branch=branch, base=base, ticket=ticket,
                               stall_after=stall_after, allow_stale_base=allow_stale_base, model=model, effort=effort,
                               agent_options={"command": command_line} if command_line else None)
        if as_json:
            emit_json(job.to_dict())
            return
        click.echo(job.id)
        if job.note("stale_base"):
            click.echo(f"warning: {job.note('stale_base')}", err=True)
        queued = " (queued: another job is active in this worktree)" if job.state == "queued" else ""
        click.echo(f"{job.agent} working on {job.branch} in {job.workspace} (from {job.base}){queued}", err=True)

    @command(cli, "status")
    @click.argument("job_ids", nargs=-1, type=JOB)
    @option("status", "all", "--all", "show_all", is_flag=True)
    @json_option
    @click.pass_obj
    def status(obj: dict[str, Any], job_ids: tuple[int, ...], show_all: bool, as_json: bool) -> None:
        listing = ops.status(context(obj), job_ids=list(job_ids), all=show_all)
        if as_json:
            click.echo(listing.to_json())
        else:
            from podium.render import print_status

            print_status(listing.table())

    @command(cli, "logs", more="The CLI shows the events by default; --summary for the gist, --raw for the "
                               "agent's own output, --follow to keep printing until the job ends.")
    @click.argument("job_id", type=JOB)
    @click.option("--follow", "-f", is_flag=True, help="Keep printing until the job finishes.")
    @option("logs", "summary", "--summary", "-s", "as_summary", is_flag=True)
    @click.option("--raw", is_flag=True, help="The agent's raw output instead of podium's events.")
    @option("logs", "tail", "--tail", "-n", "tail", type=click.IntRange(min=1))
    @json_option
    @click.pass_obj
    def logs(obj: dict[str, Any], job_id: int, follow: bool, as_summary: bool, raw: bool, tail: int | None,
             as_json: bool) -> None:
        from podium import jobs as jobs_mod
        from podium.render import print_events
        from podium.summary import summarize

        ctx = context(obj)
        if raw:
            jobs_mod.reconcile(ctx.store)
            for chunk in jobs_mod.follow_log(ctx, ctx.job(job_id).id) if follow else [ops.log_bytes(ctx, job_id)]:
                sys.stdout.buffer.write(chunk)
                sys.stdout.flush()
            return
        if as_summary or not follow:
            result = ops.logs(ctx, job_id, summary=as_summary, tail=tail)
            if as_json:
                emit_json(result.to_dict())
            elif as_summary:
                click.echo("\n".join(result.lines()))  # type: ignore[union-attr]
            else:
                print_events(result.events)  # type: ignore[union-attr]
            return
        job = ctx.job(job_id)  # --follow: JSON lines (one event each) for a script, lines for a person
        for events in jobs_mod.follow(ctx, job.id, after=max(0, job.event_count - tail) if tail else 0,
                                      poll=FOLLOW_POLL):
            if as_json:
                for e in events:  # each line one of the events the document of logs --json holds
                    click.echo(json.dumps(event_dict(e)))
            else:
                print_events(events)
        if not as_json:
            click.echo("\n".join(summarize(ctx.store, ctx.store.job(job.id)).lines()))

    @command(cli, "wait", more="""Exit 0 when every job is done with work to show, 3 when one is stalled (silent and
        idle: cancel it, resume it, or wait again with --through-stalls), 1 when one ended otherwise (failed,
        no_changes, cancelled, lost), 124 on --timeout. At a terminal, a live line shows how they stand.""")
    @click.argument("job_ids", nargs=-1, type=JOB)
    @option("wait", "timeout", "--timeout", type=float)
    @option("wait", "through_stalls", "--through-stalls", is_flag=True)
    @json_option
    @click.pass_obj
    def wait(obj: dict[str, Any], job_ids: tuple[int, ...], timeout: float | None, through_stalls: bool,
             as_json: bool) -> None:
        from podium.store import ACTIVE_STATES

        ctx = context(obj)
        waited = _wait_live(ctx, list(job_ids), timeout, through_stalls)
        if as_json:
            emit_json(waited.to_dict())
        elif waited.timed_out:
            names = ", ".join(f"{s.id} ({s.state})" for s in waited.jobs if s.state in ACTIVE_STATES)
            raise WaitTimeout(f"timed out after {timeout:g}s waiting for job {names}")
        elif not waited.jobs:
            click.echo("no active jobs to wait for", err=True)
        else:
            click.echo("\n".join(line for s in waited.jobs for line in s.lines()))
        sys.exit(waited.exit_code)


def _wait_live(ctx: Any, job_ids: list[int], timeout: float | None, through_stalls: bool) -> Waited:
    """``wait``, with a live line on stderr when a person watches (jobs, states, elapsed, quiet for)."""
    from rich.console import Console

    from podium.render import wait_line

    console = Console(stderr=True, highlight=False)
    if not console.is_terminal:
        return ops.wait_for(ctx, job_ids, timeout=timeout, through_stalls=through_stalls)
    began = time.monotonic()
    with console.status("waiting…") as live:
        return ops.wait_for(ctx, job_ids, timeout=timeout, through_stalls=through_stalls,
                            on_poll=lambda found: live.update(wait_line(found, time.monotonic() - began)))
