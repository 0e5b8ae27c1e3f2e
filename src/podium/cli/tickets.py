"""Tickets and branch names: ticket start / show / comment, branch-name."""

from __future__ import annotations

from typing import Any

import click

from podium.cli._common import command, context, emit_json, json_option, option
from podium.service import tickets as ops


def register(cli: click.Group) -> None:
    @cli.group()
    def ticket() -> None:
        """Tickets from the repository's tracker ([tracker] in podium.toml, or a tickets/ folder)."""

    @command(ticket, "ticket_start", name="start")
    @click.argument("ticket_id")
    @option("ticket_start", "branch", "--branch")
    @option("ticket_start", "base", "--base")
    @option("ticket_start", "reassign", "--reassign", is_flag=True)
    @click.option("--allow-stale-base", is_flag=True,
                  help="When fetching origin fails, start from the base as last fetched.")
    @json_option
    @click.pass_obj
    def start(obj: dict[str, Any], ticket_id: str, branch: str | None, base: str | None, reassign: bool,
              allow_stale_base: bool, as_json: bool) -> None:
        started = ops.start_ticket(context(obj), ticket_id, branch=branch, base=base, reassign=reassign,
                                   allow_stale_base=allow_stale_base)
        if as_json:
            emit_json(started.to_dict())
            return
        t = started.ticket
        click.echo(f"{t.id}: {t.title}  [{t.state}, {', '.join(t.assignees) or 'unassigned'}]")
        click.echo(f"{'new workspace' if started.created else 'workspace'} {started.branch} at {started.workspace} "
                   f"(from {started.base})")
        for note in started.notes:
            click.echo(f"  {note.text}", err=True)

    @command(ticket, "ticket_show", name="show", more="Printed as markdown, as agents see it.")
    @click.argument("ticket_id")
    @json_option
    @click.pass_obj
    def show(obj: dict[str, Any], ticket_id: str, as_json: bool) -> None:
        from podium.providers import ticket_markdown

        found = ops.ticket_show(context(obj), ticket_id)
        if as_json:
            emit_json(found.to_dict())
        else:
            click.echo(ticket_markdown(found.ticket), nl=False)

    @command(ticket, "ticket_comment", name="comment")
    @click.argument("ticket_id")
    @click.argument("body")
    @click.pass_obj
    def comment(obj: dict[str, Any], ticket_id: str, body: str) -> None:
        ops.ticket_comment(context(obj), ticket_id, body)
        click.echo(f"commented on {ticket_id}")

    @command(cli, "branch_name")
    @click.argument("title")
    @option("branch_name", "ticket", "--ticket")
    @option("branch_name", "kind", "--type", "kind")
    @click.option("--explain", is_flag=True, help="Say which branches the name was learned from.")
    @json_option
    @click.pass_obj
    def branch_name(obj: dict[str, Any], title: str, ticket: str | None, kind: str | None, explain: bool,
                    as_json: bool) -> None:
        proposal = ops.branch_name(context(obj), title, ticket=ticket, kind=kind)
        if as_json:
            emit_json(proposal.to_dict())
            return
        click.echo(proposal.name)
        if explain:
            for line in proposal.evidence:
                click.echo(f"  {line}", err=True)
