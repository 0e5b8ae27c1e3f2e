"""``podium mcp``: podium's operations as MCP tools (stdio), on the official SDK.

A thin registration of the service layer's catalog: each tool is the operation of the same name, its
description the operation's doc, its input schema the operation's parameters, and its result the
operation's ``to_dict()`` — the very document ``podium <command> --json`` prints. podium's one-line errors
become tool errors the model can read.

Approving a gate is the human's: an operation that is not ``unattended`` (approve) refuses unless the server
was started with ``--allow-approve``, which ``podium chat`` does while leaving the tool out of the CLI's
pre-allowed tools — the CLI then asks the human before every call.
"""

from __future__ import annotations

import inspect
import typing
from pathlib import Path
from typing import Any

from podium.errors import PodiumError
from podium.service import Context, Operation, mcp_operations

# Every result is a JSON document: an object, or a list (status, gates); the SDK returns it as structured
# content ``{"result": …}`` and as its JSON text.
RETURNS = dict[str, Any] | list[Any]
INSTRUCTIONS = ("podium: coding-agent jobs in their own worktrees, the tester, the team's conventions and the human's "
                "approval gate, as tools. Delegate, then wait or check status; read a job's summary, not its log.")


def tool_function(op: Operation, root: Path, *, allow_approve: bool, work_id: int | None) -> Any:
    """A function the SDK can introspect: the operation's parameters (without ``ctx``) with their help as
    pydantic field descriptions, calling the operation on a fresh context and returning its document."""
    from mcp.server.mcpserver.exceptions import ToolError
    from pydantic import Field

    # with --allow-approve a CLI asks its human before each approve (podium chat); else an agent is calling
    channel = "chat" if allow_approve else "mcp"

    def call(**kwargs: Any) -> Any:
        if not op.unattended and not allow_approve:
            said = " ".join(str(v) for v in kwargs.values())
            raise ToolError(f"{op.name} is the human's: they run podium {op.name} {said} at a terminal")
        try:
            return op(Context.open(root, work_id=work_id, channel=channel), **kwargs).to_dict()
        except PodiumError as e:
            raise ToolError(str(e)) from None

    params = [inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY,
                                default=p.default,
                                annotation=typing.Annotated[p.annotation, Field(description=p.help or None)])
              for p in op.params]
    call.__name__ = op.name
    call.__doc__ = op.doc
    call.__signature__ = inspect.Signature(params, return_annotation=RETURNS)  # type: ignore[attr-defined]
    call.__annotations__ = {p.name: p.annotation for p in params}
    return call


def build(cwd: str | Path = ".", *, allow_approve: bool = False, work_id: int | None = None) -> Any:
    from mcp.server.mcpserver import MCPServer

    root = Path(cwd).resolve()
    server = MCPServer("podium", log_level="WARNING", instructions=INSTRUCTIONS)
    for op in mcp_operations():
        server.add_tool(tool_function(op, root, allow_approve=allow_approve, work_id=work_id), name=op.name,
                        description=op.doc, structured_output=True)
    return server


def serve(cwd: str | Path = ".", *, allow_approve: bool = False, work_id: int | None = None) -> None:
    build(cwd, allow_approve=allow_approve, work_id=work_id).run("stdio")
