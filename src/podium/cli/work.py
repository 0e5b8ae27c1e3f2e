"""The orchestrator's side: work (a ticket to the gate), chat with the orchestrator, podium as MCP tools."""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from typing import Any

import click

from podium.cli._common import command, context, json_option, notes, option
from podium.errors import UsageError
from podium.service import workspaces as ops

FOLLOW_POLL = 0.5


def register(cli: click.Group) -> None:
    @command(cli, "work_start", name="work", more="""podium shows what happens and ends with what waits for you;
        --resume picks a work up again after a crash or a reboot (or follows it).""")
    @click.argument("ticket_id", required=False)
    @click.option("--resume", "resume_id", is_flag=False, flag_value="latest", default=None, metavar="[N]",
                  help="Pick work N (default: the latest) up again after a crash or a reboot, or follow it.")
    @option("work_start", "rounds", "--rounds", type=int, default=3, show_default=True)
    @option("work_start", "stall_after", "--stall-after", type=float)
    @option("work_start", "agent", "--agent")
    @click.option("--detach", is_flag=True, help="Start it and return; podium work --resume N follows it.")
    @json_option
    @click.pass_obj
    def work(obj: dict[str, Any], ticket_id: str | None, resume_id: str | None, rounds: int,
             stall_after: float | None, agent: str | None, detach: bool, as_json: bool) -> None:
        ctx = context(obj)
        if (ticket_id is None) == (resume_id is None):
            raise UsageError("name a ticket (podium work TICKET) or pick one up again (podium work --resume [N])")
        if resume_id is not None:
            if resume_id != "latest" and not resume_id.isdigit():
                raise UsageError(f"--resume takes a work's number, not {resume_id!r}")
            picked = ops.work_resume(ctx, None if resume_id == "latest" else int(resume_id))
            notes(picked.notes)
        else:
            assert ticket_id is not None
            picked = ops.work_start(ctx, ticket_id, rounds=rounds, stall_after=stall_after, agent=agent)
            w = picked.work
            click.echo(f"work {w.id}: {w.ticket} on {w.branch} ({w.workspace})", err=True)
        if detach:
            click.echo(picked.work.id)
            return
        _follow(ctx, ctx.store.work(picked.work.id), as_json)

    @cli.command("chat", context_settings={"ignore_unknown_options": True})
    @click.option("--agent", default=None, help="The orchestrator's CLI: claude, codex, gemini, qwen, opencode or "
                                                "kilo (default: [roles.orchestrator] agent, else claude).")
    @click.argument("cli_args", nargs=-1, type=click.UNPROCESSED)
    @click.pass_obj
    def chat(obj: dict[str, Any], agent: str | None, cli_args: tuple[str, ...]) -> None:
        """Talk to the orchestrator: claude, codex, gemini, qwen, opencode or kilo in this repository with
        ORCHESTRATOR.md and podium's tools.

        The role file is (re)generated first; podium's MCP server is wired in for this session only, its
        tools allowed except approve, which puts the gate to you in a form (what podium gates shows) and acts
        on your answer only. [roles.orchestrator] model and effort hold unless arguments after -- say otherwise;
        they go to the CLI (e.g. podium chat -- --model opus, -- -p "what is running?", or for codex
        podium chat --agent codex -- exec "what is running?").
        """
        from podium.service.orchestration import chat as chat_session

        session = chat_session(context(obj), agent, list(cli_args))
        click.echo(f"podium chat: {session.what}", err=True)
        os.chdir(session.cwd)
        os.execv(session.argv[0], session.argv)

    @cli.command("mcp")
    @click.option("--work", "work_id", type=int, help="Serve podium work N's orchestrator: its ticket's defaults "
                                                      "and rules.")
    @click.pass_obj
    def mcp(obj: dict[str, Any], work_id: int | None) -> None:
        """Serve podium's tools over MCP (stdio) for agent CLIs: claude mcp add podium -- podium mcp. approve acts
        only on the human's answer to the client's form (elicitation)."""
        from podium.mcp_server import serve

        serve(obj.get("cwd") or ".", work_id=work_id)


def _follow(ctx: Any, work: Any, as_json: bool) -> None:
    from rich.console import Console
    from rich.markup import escape

    from podium import work as work_mod

    console = Console(stderr=True, highlight=False)

    def emit(line: str) -> None:
        console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {escape(line)}", soft_wrap=True)

    try:
        with console.status("the orchestrator is working…") if console.is_terminal else contextlib.nullcontext():
            report = work_mod.watch(ctx, work, emit, poll=FOLLOW_POLL)
    except KeyboardInterrupt:
        click.echo(f"\nwork {work.id} goes on in the background: podium work --resume {work.id} follows it", err=True)
        sys.exit(130)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        click.echo("\n".join(report.lines))
    if report.state not in ("waiting", "done"):
        sys.exit(1)
