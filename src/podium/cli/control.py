"""Steering a job: cancel it, resume its session, or run it again."""

from __future__ import annotations

from typing import Any

import click

from podium.cli._common import JOB, TEXT, command, context, emit_json, json_option
from podium.service import jobs as ops

QUEUED = " (queued: another job is active in this worktree)"


def register(cli: click.Group) -> None:
    @command(cli, "cancel")
    @click.argument("job_id", type=JOB)
    @json_option
    @click.pass_obj
    def cancel(obj: dict[str, Any], job_id: int, as_json: bool) -> None:
        job = ops.cancel(context(obj), job_id)
        if as_json:
            emit_json(job.to_dict())
        else:
            click.echo(f"job {job.id} {job.state}; worktree kept at {job.workspace}")

    @command(cli, "resume", more="One agent at a time per worktree: while a job is active there, the new job is "
                                 "queued behind it (--no-queue refuses instead).")
    @click.argument("job_id", type=JOB)
    @click.argument("message", type=TEXT)
    @click.option("--no-queue", is_flag=True, help="Refuse instead of queueing when a job is active in the worktree.")
    @json_option
    @click.pass_obj
    def resume(obj: dict[str, Any], job_id: int, message: str, no_queue: bool, as_json: bool) -> None:
        job = ops.resume(context(obj), message, job_id=job_id, queue=not no_queue)
        if as_json:
            emit_json(job.to_dict())
            return
        click.echo(job.id)
        queued = QUEUED if job.state == "queued" else ""
        click.echo(f"resuming session {job.session_id} of job {job.parent} in {job.workspace}{queued}", err=True)

    @command(cli, "rerun", more="For a job that failed or was lost before its agent had a session (nothing to "
                                "resume); queued like resume while a job is active in the worktree.")
    @click.argument("job_id", type=JOB)
    @json_option
    @click.pass_obj
    def rerun(obj: dict[str, Any], job_id: int, as_json: bool) -> None:
        job = ops.rerun(context(obj), job_id)
        if as_json:
            emit_json(job.to_dict())
            return
        click.echo(job.id)
        queued = QUEUED if job.state == "queued" else ""
        click.echo(f"running job {job.parent}'s command again in {job.workspace}{queued}", err=True)
