"""Setting up: init, doctor, roles, the demo and the scripted model server."""

from __future__ import annotations

import sys
from typing import Any

import click

from podium.cli._common import command, context, emit_json, json_option, option
from podium.errors import PodiumError, UsageError
from podium.service import setup as ops


class Problems(PodiumError):
    """What keeps podium from working here (``doctor``'s exit 1)."""


def register(cli: click.Group) -> None:
    @command(cli, "init", more="Exits 0 once its files are written, even when something is missing (it says what).")
    @option("init", "force", "--force", is_flag=True)
    @option("init", "register", "--register", is_flag=True)
    @json_option
    @click.pass_obj
    def init(obj: dict[str, Any], force: bool, register: bool, as_json: bool) -> None:
        from podium import detect

        done = ops.init(context(obj), force=force, register=register)
        if as_json:
            emit_json(done.to_dict())
            return
        click.echo(f"{done.podium_toml}: " + ("written" if done.written else "exists, kept (--force rewrites it)"))
        click.echo("\n".join(detect.report_lines(done.survey)))
        for role in done.roles:
            click.echo(f"{role.path}: {role_word(role)}")
        for name, what in done.mcp.items():
            click.echo(f"MCP server for {name}: {what}")
        if done.plugin:
            click.echo(f"Claude Code plugin (podium's slash commands and orchestrator agent): {done.plugin}"
                       + (" (it brings podium's tools: then claude mcp remove podium, or they are listed twice)"
                          if "claude" in done.mcp else ""))
        if not register and any(f.ok for f in done.survey.agents.values()):
            click.echo("register podium's tools with your agent CLIs: podium init --register")
        for problem in done.problems:
            click.echo(f"to fix before podium can work here: {problem}", err=True)
        if done.problems:
            click.echo("podium doctor checks again", err=True)

    @command(cli, "doctor", more="Exits 1, naming what is missing, when podium cannot work in this repository.")
    @json_option
    @click.pass_obj
    def doctor(obj: dict[str, Any], as_json: bool) -> None:
        from podium import detect

        found = ops.doctor(context(obj))
        if as_json:
            emit_json(found.to_dict())
        else:
            click.echo("\n".join(detect.report_lines(found.survey)))
        if found.problems:
            raise Problems("; ".join(found.problems))

    @cli.command("roles")
    @click.argument("names", nargs=-1, type=click.Choice(ops.ROLE_NAMES))
    @click.option("--print", "show", is_flag=True, help="Print the role file, not only its path.")
    @click.pass_obj
    def roles(obj: dict[str, Any], names: tuple[str, ...], show: bool) -> None:
        """Write the role files (ORCHESTRATOR.md, TESTER.md) from podium's tools and this repository's conventions,
        keeping your edits outside podium's markers."""
        ctx = context(obj)
        for name in names or ops.ROLE_NAMES:
            role = ops.role_file(ctx, name)
            click.echo(role.text if show else f"{role.path}: {role_word(role)}")

    @cli.command("plugin")
    @click.option("--dir", "into", type=click.Path(file_okay=False), help="Write the plugin into this folder, from "
                                                                        "this podium's tools.")
    @json_option
    def plugin(into: str | None, as_json: bool) -> None:
        """podium's Claude Code plugin (its MCP server, /podium:delegate, status, work, test and ship, the
        orchestrator agent): where it is and the commands that install it."""
        from pathlib import Path

        from podium.service.plugin import plugin as find

        found = find(Path(into) if into else None)
        if as_json:
            emit_json(found.to_dict())
            return
        click.echo(f"{found.path}: {'written' if found.written else 'the plugin podium ships'}")
        click.echo(f"install it for Claude Code: {found.install}")
        click.echo(f"or load it for one session: {found.session}")

    @cli.command()
    @click.option("--agent", type=click.Choice(["codex", "claude", "gemini", "opencode", "pi"]),
                  default="codex", show_default=True, help="The worker's agent CLI (claude orchestrates and tests).")
    @click.option("--keep/--no-keep", default=None,
                  help="Keep the demo repository (default: kept when the work waits at your gate, so you can "
                       "approve it; removed otherwise).")
    def demo(agent: str, keep: bool | None) -> None:
        """podium work on a sample ticket in a throw-away repo, to the gate (the scripted model when no API key)."""
        from podium.demo import run_demo

        sys.exit(run_demo(agent=agent, keep=keep))

    @cli.group("scripted-model")
    def scripted_model() -> None:
        """The scripted model server: run the real agent CLIs with no API key and no network."""

    @scripted_model.command("serve")
    @click.option("--scenario", "scenario_path", required=True, type=click.Path(dir_okay=False),
                  help="Scenario file (JSON or TOML).")
    @click.option("--port", type=int, default=0, help="Port on 127.0.0.1 (default: any free port).")
    @click.option("--record", type=click.Path(dir_okay=False), help="Append every request to this JSONL file.")
    def serve(scenario_path: str, port: int, record: str | None) -> None:
        """Serve the Anthropic Messages, OpenAI Responses and Chat Completions, and Gemini APIs from a scenario
        until interrupted."""
        from podium.scripted import Scenario, ScriptedModel

        try:
            model = ScriptedModel(Scenario.load(scenario_path), port=port, record_path=record)
        except OSError as e:
            raise UsageError(f"cannot listen on 127.0.0.1:{port}: {e.strerror}") from None
        click.echo(model.url)
        sys.stdout.flush()
        model.serve_forever()


def role_word(role: Any) -> str:
    if not role.generated:
        return "left as it is (no podium markers: the file is all yours)"
    return "created" if role.created else ("generated part updated" if role.changed else "up to date")
