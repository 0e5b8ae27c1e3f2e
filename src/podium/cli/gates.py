"""The human's gate: commit, ship, push ask; gates shows; approve and reject decide; pr reads the result."""

from __future__ import annotations

import sys
from typing import Any

import click

from podium.cli._common import (
    GATE,
    at_terminal,
    command,
    context,
    editor,
    emit_json,
    human_ask,
    json_option,
    notes,
    option,
)
from podium.errors import UsageError
from podium.service import gates as ops

PENDING_EXIT = 4  # a gated command's exit code while the request waits for a human


def register(cli: click.Group) -> None:
    @command(cli, "commit", more="""Later rounds replace the commit (amend). Only files the task's jobs changed go in:
        never a file that was dirty before the first agent started, never podium's own files; podium says what it
        left out. At a terminal you approve it there; otherwise it waits for podium approve (exit code 4), unless
        [gate] pass lets it through.""")
    @click.argument("target", required=False)
    @option("commit", "message", "-m", "--message")
    @click.option("--edit", is_flag=True, help="Edit the message in $EDITOR before committing.")
    @click.option("--include", multiple=True, metavar="PATH",
                  help="Also commit PATH, which podium would leave out (changed before or outside the task's jobs).")
    @click.option("--exclude", multiple=True, metavar="PATH", help="Leave PATH out of the commit (and later rounds).")
    @click.option("--ticket", help="The task's ticket id for the drafted message (default: the one in the branch).")
    @option("commit", "regenerate", "--regenerate", is_flag=True)
    @option("commit", "push", "--push", "and_push", is_flag=True)
    @json_option
    @click.pass_obj
    def commit(obj: dict[str, Any], target: str | None, message: str | None, edit: bool, include: tuple[str, ...],
               exclude: tuple[str, ...], ticket: str | None, regenerate: bool, and_push: bool, as_json: bool) -> None:
        ask, edit_fn = human_ask(), editor() if edit else None
        show(as_json, ops.request(context(obj), target, ["commit", "push"] if and_push else ["commit"], ask=ask,
                                  message=message, edit=edit_fn, include=include, exclude=exclude,
                                  regenerate=regenerate, ticket=ticket))

    @command(cli, "ship", more="The PR's title and description come from the commit message; every ship brings "
                               "them back in line.")
    @click.argument("target", required=False)
    @option("ship", "message", "-m", "--message")
    @click.option("--edit", is_flag=True, help="Edit the message in $EDITOR first.")
    @click.option("--include", multiple=True, metavar="PATH", help="Also commit PATH (see podium commit).")
    @click.option("--exclude", multiple=True, metavar="PATH", help="Leave PATH out of the commit.")
    @option("ship", "regenerate", "--regenerate", is_flag=True)
    @json_option
    @click.pass_obj
    def ship(obj: dict[str, Any], target: str | None, message: str | None, edit: bool, include: tuple[str, ...],
             exclude: tuple[str, ...], regenerate: bool, as_json: bool) -> None:
        ask, edit_fn = human_ask(), editor() if edit else None
        show(as_json, ops.request(context(obj), target, ["commit", "push", "pr"], ask=ask, message=message,
                                  edit=edit_fn, include=include, exclude=exclude, regenerate=regenerate))

    @command(cli, "push", more="Refused, and nothing overwritten, when someone else pushed to the branch meanwhile.")
    @click.argument("target", required=False)
    @json_option
    @click.pass_obj
    def push(obj: dict[str, Any], target: str | None, as_json: bool) -> None:
        show(as_json, ops.request(context(obj), target, ["push"], ask=human_ask()))

    @command(cli, "pr")
    @click.argument("target", required=False)
    @json_option
    @click.pass_obj
    def pr(obj: dict[str, Any], target: str | None, as_json: bool) -> None:
        found = ops.pr(context(obj), target)
        if as_json:
            emit_json(found.to_dict())
            return
        click.echo(f"{found.pr.url}  {found.pr.title}  [{found.pr.state}]")
        click.echo(f"checks: {found.verdict}" + (f" ({len(found.checks)})" if found.checks else ""))
        for c in found.checks:
            click.echo(f"  {c.state:8} {c.name}" + (f"  {c.url}" if c.url else ""))

    @command(cli, "gates")
    @option("gates", "all", "--all", "show_all", is_flag=True)
    @json_option
    @click.pass_obj
    def gates(obj: dict[str, Any], show_all: bool, as_json: bool) -> None:
        found = ops.gates(context(obj), all=show_all).to_dict()
        if as_json:
            emit_json(found)
        elif not found:
            click.echo("no gates yet" if show_all else "nothing waits for approval")
        else:
            click.echo("\n\n".join("\n".join(g["shown"]) for g in found))

    @command(cli, "approve", more="Needs a human at a terminal.")
    @click.argument("gate_id", type=GATE)
    @click.option("--allow-secrets", is_flag=True,
                  help="Approve though the change adds what looks like a credential (you checked: it is none).")
    @json_option
    @click.pass_obj
    def approve(obj: dict[str, Any], gate_id: int, allow_secrets: bool, as_json: bool) -> None:
        if not at_terminal():
            raise UsageError("approving needs a human at a terminal: run podium approve there")
        show(as_json, ops.approve(context(obj), gate_id, allow_secrets=allow_secrets))

    @command(cli, "reject")
    @click.argument("gate_id", type=GATE)
    @click.argument("why")
    @json_option
    @click.pass_obj
    def reject(obj: dict[str, Any], gate_id: int, why: str, as_json: bool) -> None:
        show(as_json, ops.reject(context(obj), gate_id, why), rejected_exit=0)


def show(as_json: bool, outcome: Any, rejected_exit: int = 1) -> None:
    """What a gated command led to: pending (exit 4), rejected (exit 1 when it was a request), or carried out."""
    gate, result = outcome.gate, outcome.result or {}
    if not as_json:
        notes(outcome.notes)
    if as_json:
        emit_json(outcome.to_dict())
    elif gate.state == "pending":
        raise GateWaits(outcome.next_step())
    elif gate.state == "rejected":
        click.echo(f"gate {gate.id} rejected: {gate.reason}")
    else:
        for item in (gate.facts.get("plan") or {}).get("left_out", []):
            click.echo(f"  left out {item['path']}: {item['why']}", err=True)
        why = f" ({gate.reason})" if gate.reason else ""
        if result.get("commit"):
            verb = "committed" if result.get("committed") else "already committed"
            onto = f", rebased onto {result['rebased']}" if result.get("rebased") else ""
            click.echo(f"{verb} {str(result['commit'])[:8]} on {gate.branch}{onto}{why}")
        if result.get("pushed"):
            click.echo(f"pushed {gate.branch} ({str(result['pushed'])[:8]}) to origin, lease held")
        if result.get("pr"):
            click.echo(f"pull request: {result['pr']}")
        if result.get("warning"):
            click.echo(f"warning: {result['warning']}", err=True)
    if gate.state == "pending":
        sys.exit(PENDING_EXIT)
    if gate.state == "rejected" and rejected_exit:
        sys.exit(rejected_exit)


class GateWaits(UsageError):
    """Not an error: the request waits for a human (one line on stderr, exit code 4)."""

    exit_code = PENDING_EXIT
