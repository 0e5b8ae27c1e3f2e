"""Workspaces: what podium made here, and cleaning up what is safe to remove."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from podium.cli._common import at_terminal, command, context, emit_json, json_option, notes, option
from podium.errors import UsageError
from podium.service import workspaces as ops

if TYPE_CHECKING:
    from podium.workspace import WorkspaceState


def register(cli: click.Group) -> None:
    @command(cli, "workspaces")
    @option("workspaces", "fetch", "--fetch", is_flag=True)
    @json_option
    @click.pass_obj
    def workspaces(obj: dict[str, Any], fetch: bool, as_json: bool) -> None:
        from podium.render import print_workspaces

        found = ops.workspaces(context(obj), fetch=fetch)
        if as_json:
            emit_json(found.to_dict())
        else:
            print_workspaces(found.states)

    @command(cli, "sync", more="Ship refuses a branch whose change conflicts with its moved base and names this.")
    @click.argument("target", required=False)
    @json_option
    @click.pass_obj
    def sync(obj: dict[str, Any], target: str | None, as_json: bool) -> None:
        found = ops.sync(context(obj), target=target)
        if as_json:
            emit_json(found.to_dict())
            return
        notes(found.notes)
        click.echo("\n".join(found.synced.lines()))

    @cli.command()
    @click.option("--force", is_flag=True,
                  help="Also offer workspaces with unsaved work, one by one: type each branch name to remove it.")
    @json_option
    @click.pass_obj
    def clean(obj: dict[str, Any], force: bool, as_json: bool) -> None:
        """Remove finished workspaces; any with uncommitted or unpushed work is kept, and said why."""
        confirm = None
        if force:
            if not at_terminal():
                raise UsageError("--force asks about each workspace with unsaved work; run it in a terminal")

            def confirm(state: WorkspaceState, risk: str) -> bool:
                typed = click.prompt(f"{state.branch} has {risk}. Type the branch name to remove it anyway "
                                     "(anything else keeps it)", default="", show_default=False)
                return bool(typed) and typed == state.branch

        result = ops.clean(context(obj), confirm).to_dict()
        if as_json:
            emit_json(result)
            return
        for state in result["removed"]:
            click.echo(f"removed {state['branch']} ({state['path']})")
        for state in result["kept"]:
            click.echo(f"kept {state['branch']}: {state['reason']}")
        if not result["removed"] and not result["kept"]:
            click.echo("no workspaces to clean")
