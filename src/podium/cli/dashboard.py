"""``podium dashboard``: jobs, workspaces, works and gates, live in a browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from podium.cli._common import context


def register(cli: click.Group) -> None:
    @cli.command()
    @click.option("--port", type=click.IntRange(0, 65535), default=None,
                  help="Port to listen on (default: 7420, else any free one; 0: any free one).")
    @click.option("--host", default="127.0.0.1", show_default=True,
                  help="Address to listen on. Anything but loopback needs --token-file and prints a warning.")
    @click.option("--token-file", type=click.Path(dir_okay=False), default=None,
                  help="Read the access token from this file instead of making a random one for this start.")
    @click.option("--no-open", is_flag=True, help="Print the URL; do not open a browser.")
    @click.pass_obj
    def dashboard(obj: dict[str, Any], port: int | None, host: str, token_file: str | None, no_open: bool) -> None:
        """Watch every job live and decide gates in a browser: jobs, each job's events, diff and screenshots,
        workspaces, works, and the gates with Approve and Reject.

        The printed link carries a token made for this start (kept in a cookie after the first visit, never
        written to disk); the server answers only at the address it listens on."""
        from podium.dashboard import serve

        root = Path(context(obj).repo.toplevel)
        serve(root, host=host, port=port, open_browser=not no_open, token_file=token_file,
              echo=lambda line: click.echo(line, err=line.startswith("(")))
