"""``podium mcp``: podium's operations as MCP tools (stdio), on the official SDK.

A thin registration of the service layer's catalog: each tool is the operation of the same name, its
description the operation's doc, its input schema the operation's parameters, and its result the
operation's ``to_dict()`` — the very document ``podium <command> --json`` prints. podium's one-line errors
become tool errors the model can read.

Approving a gate is the human's, and a model's tool call is not the human: ``approve`` acts only on the
human's answer to a form. When the client can show the human one (MCP elicitation: Claude Code, codex), the
gate is put to the human right in the conversation: ``approve``, and ``ship``/``commit`` when they leave a gate
pending, ask through an elicitation form holding what ``podium gates`` shows; the human's answer (approve, or
reject with a reason) is carried out through the same operations, recorded with the channel ``elicitation``.
The model sees the outcome, never the form. A client without elicitation (or one started inside a podium job)
gets an error saying where the human approves: their terminal, or the dashboard.
"""

from __future__ import annotations

import inspect
import json
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from podium.errors import PodiumError
from podium.service import Context, Operation, mcp_operations

# Every result is a JSON document: an object, or a list (status, gates); the SDK returns it as structured
# content ``{"result": …}`` and as its JSON text.
RETURNS = dict[str, Any] | list[Any]
INSTRUCTIONS = ("podium: coding-agent jobs in their own worktrees, the tester, the team's conventions and the human's "
                "approval gate, as tools. Delegate, then wait or check status; read a job's summary, not its log.")


ASKS = ("approve", "ship", "commit")  # the tools that put a gate to the human when the client can show a form


class GateDecision(BaseModel):
    """The form the human fills in at a gate (the model never sees it)."""

    decision: typing.Literal["approve", "reject"] = Field(description="Approve carries out exactly what is shown.")
    reason: str | None = Field(default=None, description="Why not (for reject): the workers read it.")


def can_ask(mcp_ctx: Any) -> bool:
    """Whether this client shows the human an elicitation form now (it declared the capability, and the
    connection can carry a request to it). Never inside a podium job: a client an agent runs there would
    answer the form itself."""
    from podium.jobs import inside_job

    if inside_job():
        return False
    caps = getattr(mcp_ctx, "client_capabilities", None)
    form = getattr(caps, "elicitation", None) if caps is not None else None
    if form is None or (form.form is None and form.url is not None):
        return False
    return bool(getattr(mcp_ctx.session, "can_send_request", False))


def ask_human(mcp_ctx: Any, root: Path, work_id: int | None, gate_id: int) -> dict[str, Any]:
    """Put the gate to the human through the client's form; carry out their answer; the outcome's document.
    Declined or dismissed: the gate stays pending, as if nobody had asked."""
    import anyio.from_thread
    from mcp.server.elicitation import AcceptedElicitation

    from podium import gate as gate_mod
    from podium.service import gates as gate_ops

    human = Context.open(root, work_id=work_id, channel="elicitation")
    gate = gate_mod.decidable(human, gate_id)  # a gate already decided is refused before anyone is asked
    message = "\n".join([*gate_mod.describe(gate), "",
                         f"Approve carries out exactly this. (The diff: gate {gate_id}'s page in podium dashboard.)"])
    answer = anyio.from_thread.run(mcp_ctx.elicit, message, GateDecision)
    if not isinstance(answer, AcceptedElicitation):
        return {**gate_mod.outcome(human, gate_id).to_dict(), "asked": answer.action}
    if answer.data.decision == "approve":
        done = gate_ops.approve(human, gate_id, allow_secrets=True)  # the form showed any credential found
    else:
        done = gate_ops.reject(human, gate_id, (answer.data.reason or "").strip() or "rejected in the conversation")
    return {**done.to_dict(), "asked": "accept"}


def tool_function(op: Operation, root: Path, *, work_id: int | None) -> Any:
    """A function the SDK can introspect: the operation's parameters (without ``ctx``) with their help as
    pydantic field descriptions, calling the operation on a fresh context and returning its document.

    The tools that reach a gate also take the SDK's request context (``mcp_ctx``, injected, not in the input
    schema), to put the gate to the human when the client can show a form."""
    from mcp.server.mcpserver import Context as RequestContext
    from mcp.server.mcpserver.exceptions import ToolError

    def call(**kwargs: Any) -> Any:
        mcp_ctx = kwargs.pop("mcp_ctx", None)
        asking = op.name in ASKS and mcp_ctx is not None and can_ask(mcp_ctx)
        try:
            if op.name == "approve" and asking:
                return ask_human(mcp_ctx, root, work_id, kwargs["gate_id"])
            if not op.unattended:
                said = " ".join(str(v) for v in kwargs.values())
                raise ToolError(f"{op.name} is the human's: they run podium {op.name} {said} at their terminal, "
                                "or decide in podium dashboard")
            result = op(Context.open(root, work_id=work_id, channel="mcp"), **kwargs)
            if asking and getattr(result, "gate", None) is not None and result.gate.state == "pending":
                return ask_human(mcp_ctx, root, work_id, result.gate.id)
            return _document(result.to_dict())
        except PodiumError as e:
            raise ToolError(str(e)) from None

    params = [inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY,
                                default=p.default,
                                annotation=typing.Annotated[p.annotation, Field(description=p.help or None)])
              for p in op.params]
    annotations = {p.name: p.annotation for p in params}
    if op.name in ASKS:  # the SDK injects its context by this annotation (read from __annotations__)
        params.append(inspect.Parameter("mcp_ctx", inspect.Parameter.KEYWORD_ONLY, default=None,
                                        annotation=RequestContext))
        annotations["mcp_ctx"] = RequestContext
    call.__name__ = op.name
    call.__doc__ = op.doc
    call.__signature__ = inspect.Signature(params, return_annotation=RETURNS)  # type: ignore[attr-defined]
    call.__annotations__ = annotations
    return call


def _document(data: Any) -> Any:
    """A list result as one JSON text, as an object is: the SDK would make one content block per item (none for
    an empty list), and a client that reads the text (gemini) would see nothing, or pieces."""
    if not isinstance(data, list):
        return data
    from mcp_types import CallToolResult, TextContent

    return CallToolResult(content=[TextContent(type="text", text=json.dumps(data, indent=2, default=str))],
                          structured_content={"result": data})


def build(cwd: str | Path = ".", *, work_id: int | None = None) -> Any:
    from mcp.server.mcpserver import MCPServer

    root = Path(cwd).resolve()
    server = MCPServer("podium", log_level="WARNING", instructions=INSTRUCTIONS)
    for op in mcp_operations():
        server.add_tool(tool_function(op, root, work_id=work_id), name=op.name,
                        description=op.doc, structured_output=True)
    return server


def serve(cwd: str | Path = ".", *, work_id: int | None = None) -> None:
    build(cwd, work_id=work_id).run("stdio")
