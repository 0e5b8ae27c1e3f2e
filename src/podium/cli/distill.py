"""distill: the user's own agent transcripts turned into their role files."""

from __future__ import annotations

import sys
from typing import Any

import click

from podium.cli._common import context, emit_json, json_option
from podium.errors import UsageError
from podium.text import plural


def register(cli: click.Group) -> None:
    @cli.command("distill")
    @click.option("--source", "sources", multiple=True, type=click.Choice(["claude", "codex", "gemini", "podium"]),
                  help="Transcripts to read (default: all found).")
    @click.option("--since", help="Only sessions since: 30d, 12h, 2w or a date.")
    @click.option("--project", help="Only sessions whose working directory contains this.")
    @click.option("--role", "role_names", multiple=True, help="Role files to write (default: ORCHESTRATOR, TESTER).")
    @click.option("--agent", help="The agent that distils, any that resumes (default: [roles.distill] agent, else "
                                  "claude).")
    @click.option("--facts", "facts_only", is_flag=True, help="Only the measured facts; no agent.")
    @click.option("--dry-run", is_flag=True, help="Show what would be sent to the agent, and stop.")
    @click.option("--apply", "apply_", is_flag=True, help="Write the distilled role files (podium's part kept).")
    @click.option("--interactive", is_flag=True, help="Argue with the distiller turn by turn until you accept.")
    @json_option
    @click.pass_obj
    def distill(obj: dict[str, Any], sources: tuple[str, ...], since: str | None, project: str | None,
                role_names: tuple[str, ...], agent: str | None, facts_only: bool, dry_run: bool, apply_: bool,
                interactive: bool, as_json: bool) -> None:
        """Turn your own agent transcripts into role files: measured facts first, then an agent's distillation,
        shown as a diff against the current files (--apply writes them)."""
        from podium import distill as distill_mod
        from podium.service.setup import role_file

        if interactive and not sys.stdin.isatty():
            raise UsageError("--interactive needs a terminal to argue in")
        ctx = context(obj)
        names = [n.removesuffix(".md").upper() for n in role_names] or list(distill_mod.DEFAULT_ROLES)
        reading = distill_mod.read(ctx, sources, since, project)
        if facts_only:
            if as_json:
                emit_json({"read": reading.read, "facts": [f.to_dict() for f in reading.facts]})
                return
            click.echo(f"read {plural(reading.read.get('sessions', 0), 'session')}: " + ", ".join(
                plural(n, k) for k, n in reading.read.items() if k != "sessions"))
            click.echo("\n".join(f.line() for f in reading.facts) or "no facts: no transcripts found")
            return
        if dry_run:
            if not reading.facts:
                raise UsageError("no transcripts to distill (looked in ~/.claude, $CODEX_HOME, ~/.gemini and "
                                 "podium's jobs)")
            click.echo(distill_mod.request_text(ctx, reading, names), nl=False)
            return

        def argue(shown: Any) -> str | None:
            click.echo("".join(shown.diffs.values()) or "the distilled role files are the current ones")
            return str(click.prompt("What should change? (empty: accept)", default="", show_default=False))

        def new_role(name: str) -> str | None:
            return role_file(ctx, name.lower()).text if name.lower() in ("orchestrator", "tester") else None

        agent = agent or ctx.config.agent_for("distill")
        done = distill_mod.distill(ctx, reading, names, agent, feedback=argue if interactive else None,
                                   apply=apply_, new_role=new_role)
        if as_json:
            emit_json(done.to_dict())
            return
        if not interactive:
            click.echo("".join(done.diffs.values()) or "the distilled role files are the current ones")
        for path in done.written:
            click.echo(f"wrote {path}")
        if not done.written:
            click.echo(f"proposals in {done.proposal_dir}; your role files are unchanged (--apply writes a "
                       "distillation, --interactive lets you argue with it first)", err=True)
