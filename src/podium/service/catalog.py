"""The catalog of podium's operations: what every front (CLI, MCP, the dashboard) offers, declared once.

An operation is a function ``op(ctx, ...) -> Result`` registered with ``@operation``. Its docstring's first
paragraph is its one-line doc (the MCP tool's description, the CLI command's help, its line in
ORCHESTRATOR.md); its parameters, with their types, defaults and ``Annotated[..., …]``
help, are the MCP tool's input schema and the CLI options' help; ``unattended`` says whether an
orchestrator may call it without asking the human (approve may not). The result has one ``to_dict()``:
what ``--json`` prints and what the MCP tool returns, so the two cannot disagree.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from podium.context import Context

REQUIRED = inspect.Parameter.empty


@dataclass(frozen=True)
class Param:
    name: str
    annotation: Any
    default: Any  # REQUIRED when the caller must give it
    help: str

    @property
    def required(self) -> bool:
        return self.default is REQUIRED


@dataclass(frozen=True)
class Operation:
    name: str
    fn: Callable[..., Any]
    unattended: bool  # an orchestrator may call it without asking the human
    mcp: bool  # offered as an MCP tool

    @property
    def doc(self) -> str:
        return inspect.cleandoc(self.fn.__doc__ or "")

    @property
    def summary(self) -> str:
        """The doc's first paragraph on one line."""
        return " ".join(self.doc.split("\n\n")[0].split())

    @functools.cached_property
    def params(self) -> list[Param]:
        """The parameters after ``ctx``: ``Annotated[type, "help"]`` each (the result type is not evaluated, so
        an operation may name a type it imports only when it runs)."""
        out = []
        names: dict[str, Any] | None = None
        for p in list(inspect.signature(self.fn).parameters.values())[1:]:
            hint = p.annotation
            if isinstance(hint, str):
                names = names or {**vars(typing), **self.fn.__globals__}
                hint = eval(hint, names)
            help_text = ""
            if typing.get_origin(hint) is typing.Annotated:
                help_text = next((m for m in hint.__metadata__ if isinstance(m, str)), "")
                hint = typing.get_args(hint)[0]
            out.append(Param(p.name, hint, p.default, help_text))
        return out

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    def __call__(self, ctx: Context, **kwargs: Any) -> Any:
        return self.fn(ctx, **kwargs)


CATALOG: dict[str, Operation] = {}  # filled as the modules of operations load (all of them: ``complete``)

# The modules that register operations. A command loads only its own (``get``); the MCP tool list, ORCHESTRATOR.md
# and the plugin take the whole catalog (``complete``).
MODULES = ("gates", "jobs", "setup", "tester", "tickets", "workspaces")


def complete() -> dict[str, Operation]:
    """The catalog with every operation registered."""
    for module in MODULES:
        importlib.import_module(f"podium.service.{module}")
    return CATALOG


def get(name: str) -> Operation:
    """The operation ``name``, its module loaded if it was not yet."""
    return CATALOG[name] if name in CATALOG else complete()[name]


def operation(*, unattended: bool = True, mcp: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``fn`` as the operation of its name (a trailing underscore is dropped: ``wait_``)."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        name = fn.__name__.rstrip("_")
        CATALOG[name] = Operation(name=name, fn=fn, unattended=unattended, mcp=mcp)
        return fn

    return register


# The order an orchestrator reads the tools in: the loop of a ticket, then the gate.
ORDER = ("delegate", "status", "logs", "wait", "cancel", "resume", "test", "screenshot", "ticket_start",
         "branch_name", "commit", "ship", "sync", "gates", "approve", "reject")


def mcp_operations() -> list[Operation]:
    """The operations an MCP client gets as tools, in the order of a ticket's loop."""
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted((op for op in complete().values() if op.mcp), key=lambda op: rank.get(op.name, len(ORDER)))


def unattended() -> tuple[str, ...]:
    """The MCP tools an orchestrator may call without asking the human each time (not approve)."""
    return tuple(op.name for op in mcp_operations() if op.unattended)


def tool_list() -> list[tuple[str, str, list[str]]]:
    """Each MCP tool as ORCHESTRATOR.md lists it: name, one-line doc, parameters (``?``: optional)."""
    return [(op.name, op.summary, [p.name if p.required else f"{p.name}?" for p in op.params])
            for op in mcp_operations()]
