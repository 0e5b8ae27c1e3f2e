"""What every command group shares: the context, ``--json``, help from the catalog, the human at the terminal.

Each command builds its result through the service layer, then renders it: a few lines or a rich table for a
person, the result's ``to_dict()`` for ``--json`` (the same document the MCP tool returns).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

import click

from podium.context import Context
from podium.errors import JobNotFound, UsageError
from podium.service.catalog import get
from podium.text import Note

Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def context(obj: dict[str, Any]) -> Context:
    return Context.open(obj.get("cwd") or ".")


def emit_json(data: Any) -> None:
    """A document as JSON: an object indented; a list (status's thousands of rows) one item per line, which
    json's C encoder writes at once."""
    if isinstance(data, list) and data:
        click.echo("[\n" + ",\n".join(json.dumps(item, default=str) for item in data) + "\n]")
    else:
        click.echo(json.dumps(data, indent=2, default=str))


def command(group: click.Group, op: str, name: str | None = None, more: str = "", **settings: Any) -> Decorator:
    """A command of ``group`` whose help is the catalog's doc of operation ``op`` (then ``more``, the CLI's own)."""
    text = get(op).doc + (f"\n\n{' '.join(more.split())}" if more else "")
    return group.command(name or op.replace("_", "-"), help=text, **settings)


def option(op: str, param: str, *decls: str, **kwargs: Any) -> Decorator:
    """An option whose help is the catalog's help of ``op``'s parameter ``param``."""
    kwargs.setdefault("help", get(op).param(param).help)
    return click.option(*decls, **kwargs)


class Number(click.ParamType):
    """A job's or a gate's number; anything else is podium's one-line error, not click's usage text."""

    name = "N"

    def __init__(self, what: str):
        self.what = what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        text = str(value).strip().removeprefix("#")
        if text.isdigit():
            return int(text)
        where = "podium status" if self.what == "job" else "podium gates"
        raise (JobNotFound if self.what == "job" else UsageError)(f"no {self.what} {value!r}: {self.what}s are "
                                                                  f"numbered ({where} lists them)")


class Text(click.ParamType):
    """A prompt or a message; ``-`` reads it from stdin, of any size (one argument of a command line holds at
    most 128 KiB)."""

    name = "TEXT"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        return click.get_text_stream("stdin").read() if value == "-" else str(value)


JOB = Number("job")
GATE = Number("gate")
TEXT = Text()
json_option = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON (what the MCP tool "
                                                                     "returns).")


def notes(found: list[Note], skip: tuple[str, ...] = ()) -> None:
    for n in found:
        if n.kind not in skip:
            click.echo(f"note: {n.text}", err=True)


def at_terminal() -> bool:
    return sys.stdin.isatty()


def human_ask() -> Any:
    """At a terminal, the human decides a gate right there; headless callers leave it pending."""
    if not at_terminal():
        return None
    from podium.gate import describe

    def ask(gate: Any) -> tuple[bool, str | None]:
        click.echo("\n".join(describe(gate)), err=True)
        if click.confirm("Approve?", default=False, err=True):
            return True, None
        return False, click.prompt("Why not (the agents read this)", default="", show_default=False, err=True) or None

    return ask


def editor() -> Any:
    """``--edit``: the message goes through the user's $EDITOR, which needs a terminal."""
    if not at_terminal():
        raise UsageError("--edit opens an editor; run it in a terminal, or pass the message with -m")

    def edit(text: str) -> str | None:
        return click.edit(text, extension=".txt")

    return edit
