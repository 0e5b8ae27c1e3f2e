"""The tester's side: a turn of a branch's tester session, and screenshots of the smoking gun."""

from __future__ import annotations

from typing import Any

import click

from podium.cli._common import TEXT, command, context, emit_json, json_option, notes, option
from podium.service import tester as ops


def register(cli: click.Group) -> None:
    @command(cli, "test", more="""BRANCH is a branch, a job id, or "." for the workspace podium runs in. The first
        turn starts the session with TESTER.md (podium roles tester). Runs in the background like any job: podium
        wait / logs --summary show its verdict.""")
    @click.argument("branch")
    @click.argument("message", type=TEXT)
    @option("test", "agent", "--agent")
    @option("test", "fresh", "--fresh", is_flag=True)
    @option("test", "model", "--model")
    @option("test", "effort", "--effort")
    @click.option("--no-queue", is_flag=True, help="Refuse instead of queueing when a job is active in the worktree.")
    @click.option("--stall-after", type=float,
                  help="Seconds of silence and idleness before the turn counts as stalled.")
    @json_option
    @click.pass_obj
    def test(obj: dict[str, Any], branch: str, message: str, agent: str | None, fresh: bool, model: str | None,
             effort: str | None, no_queue: bool, stall_after: float | None, as_json: bool) -> None:
        job = ops.turn(context(obj), message, branch=branch, agent=agent, fresh=fresh, queue=not no_queue,
                       stall_after=stall_after, model=model, effort=effort)
        if as_json:
            emit_json(job.to_dict())
            return
        click.echo(job.id)
        how = f"resumes session {job.session_id}" if job.resumed else "starts a new session"
        queued = " (queued: another job is active in this worktree)" if job.state == "queued" else ""
        click.echo(f"tester ({job.agent}) {how} on {job.branch}{queued}", err=True)
        notes(job.notes, skip=("queued",))

    @command(cli, "screenshot")
    @click.argument("url")
    @option("screenshot", "label", "--label", default="page", show_default=True)
    @option("screenshot", "steps", "--do", "steps", multiple=True, metavar="STEP")
    @option("screenshot", "full_page", "--full-page", is_flag=True)
    @option("screenshot", "branch", "--branch")
    @option("screenshot", "timeout", "--timeout", type=float)
    @json_option
    @click.pass_obj
    def screenshot(obj: dict[str, Any], url: str, label: str, steps: tuple[str, ...], full_page: bool,
                   branch: str | None, timeout: float | None, as_json: bool) -> None:
        shot = ops.screenshot(context(obj), url, label=label, steps=list(steps), full_page=full_page, branch=branch,
                              timeout=timeout)
        if as_json:
            emit_json(shot.to_dict())
            return
        click.echo(shot.line())
        for message in shot.console_errors:
            click.echo(f"  console error: {message}")
