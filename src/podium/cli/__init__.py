"""The ``podium`` command line: a thin skin over the service layer (``podium.service``), in command groups.

Each command calls an operation and renders its result for people (a few lines, rich tables) or, with
``--json``, prints the result's document — the same one the MCP tool returns. Errors podium understands are
printed as one line on stderr with a non-zero exit.
"""

from __future__ import annotations

import importlib
import sys

import click

from podium.cli._index import COMMANDS, SUMMARIES
from podium.errors import PodiumError


class Podium(click.Group):
    """podium's commands, each registered by its module when it is first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.commands and name in COMMANDS:
            importlib.import_module(f"podium.cli.{COMMANDS[name]}").register(self)
            for loaded, command in self.commands.items():  # its line in a list (completion too) is the index's
                command.short_help = command.short_help or SUMMARIES.get(loaded)
        return self.commands.get(name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands and their first sentences, shortened to the line as click lays a list out, without loading a
        command's module."""
        import textwrap

        limit = max(formatter.width - 6 - max(len(name) for name in SUMMARIES), 10)
        rows = [(name, textwrap.shorten(SUMMARIES[name], limit, placeholder="...", break_on_hyphens=False))
                for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=Podium, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-C", "cwd", type=click.Path(file_okay=False), help="Run as if podium was started in this directory.")
@click.version_option(package_name="podium")
@click.pass_context
def cli(ctx: click.Context, cwd: str | None) -> None:
    """podium: coding-agent jobs you can leave running and trust when you come back."""
    ctx.obj = {"cwd": cwd}


def main(argv: list[str] | None = None) -> None:
    _leave(_run(argv))


def _run(argv: list[str] | None) -> int:
    try:
        rc = cli.main(args=argv, prog_name="podium", standalone_mode=False)
    except PodiumError as e:
        click.echo(f"podium: {e}", err=True)
        return e.exit_code
    except click.exceptions.Abort:
        click.echo("podium: aborted", err=True)
        return 130
    except click.ClickException as e:  # a usage error too: one line, and where the help is
        message = e.format_message().rstrip(".")
        context = getattr(e, "ctx", None)
        where = f" ({context.command_path} --help)" if context is not None else ""
        click.echo(f"podium: {message[:1].lower()}{message[1:]}{where}", err=True)
        return e.exit_code
    except KeyboardInterrupt:
        return 130
    except OSError as e:
        where = f": {e.filename}" if e.filename else ""
        click.echo(f"podium: {e.strerror or e}{where}", err=True)
        return 1
    except Exception as e:
        if not _database_error(e):
            raise
        click.echo(f"podium: state database error: {e}", err=True)
        return 1
    return rc if isinstance(rc, int) else 0


def _leave(code: int) -> None:
    """Exit with ``code``. A command that talked to a Temporal cluster leaves at once once its output is out: the
    SDK's native threads may call into an interpreter that is being torn down, and crash it on the way out."""
    if "temporalio.bridge.temporal_sdk_bridge" in sys.modules:  # a client, a worker: the SDK's core was loaded
        import os

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


def _database_error(e: Exception) -> bool:
    """An error of the store's SQLite (whose module a command that never opened the store did not load)."""
    sqlite3 = sys.modules.get("sqlite3")
    return sqlite3 is not None and isinstance(e, sqlite3.Error)


if __name__ == "__main__":
    main()
