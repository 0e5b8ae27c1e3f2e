"""``podium mcp``: podium's operations as MCP tools (stdio), on the official SDK.

A thin registration of the service layer's catalog: each tool is the operation of the same name, its
description the operation's doc, its input schema the operation's parameters, and its result the
operation's ``to_dict()`` — the very document ``podium <command> --json`` prints. podium's one-line errors
become tool errors the model can read.

Approving a gate is the human's, and a model's tool call is not the human: ``approve`` acts only on the
human's own answer. When the client can put a question to its human (MCP elicitation: Claude Code, codex), the
gate is put to them from the conversation: ``approve``, and ``ship``/``commit`` when they leave a gate pending,
ask through an elicitation form holding what ``podium gates`` shows; the human's answer (approve, or reject with
a reason) is carried out through the same operations, recorded with the channel ``elicitation``. A client that
only opens links (URL-mode elicitation) is offered the gate's page in the dashboard running for the repository
(``dashboard.address``), where the human decides; the gate waits until they do, and the client is told when
they did (the elicitation's completion). The model sees the outcome, never the form or the page. A client
without elicitation (or one started inside a podium job, or a links-only one with no dashboard running) gets
the gate waiting, and where the human decides: their terminal, or the dashboard.
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


ASKS = ("approve", "ship", "commit")  # the tools that put a gate to the human when the client can ask them
WATCH = 1.0  # seconds between looks at a gate offered as a page, to tell the client when the human decided it


class GateDecision(BaseModel):
    """The form the human fills in at a gate (the model never sees it)."""

    decision: typing.Literal["approve", "reject"] = Field(description="Approve carries out exactly what is shown.")
    reason: str | None = Field(default=None, description="Why not (for reject): the workers read it.")


def how_to_ask(mcp_ctx: Any) -> str | None:
    """How this client puts a gate to its human now: ``form`` (an elicitation form), ``url`` (it declared only
    URL-mode elicitation: it opens a page the server names), or None: it cannot (no elicitation, or no
    connection to send the request on). Never inside a podium job: a client an agent runs there would answer
    the question itself."""
    from podium.jobs import inside_job

    if inside_job():
        return None
    caps = getattr(mcp_ctx, "client_capabilities", None)
    modes = getattr(caps, "elicitation", None) if caps is not None else None
    if modes is None or not getattr(mcp_ctx.session, "can_send_request", False):
        return None
    return "url" if modes.form is None and modes.url is not None else "form"  # a bare {} is a form


def ask_human(mcp_ctx: Any, mode: str, root: Path, work_id: int | None, gate_id: int) -> dict[str, Any] | None:
    """Put the gate to the human through the client, in ``mode``; the outcome's document. A form's answer is
    carried out; declined or dismissed, the gate stays pending, as if nobody had asked. None: a links-only client
    and no dashboard running for the repository, so nothing to point it at."""
    import anyio.from_thread
    from mcp.server.elicitation import AcceptedElicitation

    from podium import gate as gate_mod
    from podium.service import gates as gate_ops

    human = Context.open(root, work_id=work_id, channel="elicitation")
    gate = gate_mod.decidable(human, gate_id)  # a gate already decided is refused before anyone is asked
    if mode == "url":
        return offer_page(mcp_ctx, human, gate)
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


def offer_page(mcp_ctx: Any, human: Context, gate: Any) -> dict[str, Any] | None:
    """URL mode: send the client the gate's page in the running dashboard, with an elicitation id; the human
    decides there (or not), the gate waits meanwhile. The document says the page was offered (``page``) and
    the human's answer to the offer (``asked``: accept means they opened it). None: no dashboard runs."""
    import uuid

    import anyio.from_thread

    from podium import gate as gate_mod
    from podium.dashboard.address import running

    base = running(human.store.root)
    if base is None:
        return None
    page, elicitation = f"{base}/gates/{gate.id}", uuid.uuid4().hex
    message = (f"{gate_mod.describe(gate)[0]}\nIts page in podium dashboard shows what approving does — files, "
               "diff, commit message, PR text, the tests' verdict — with Approve and Reject.")
    answer = anyio.from_thread.run(mcp_ctx.elicit_url, message, page, elicitation)
    done = gate_mod.outcome(human, gate.id).to_dict()
    if answer.action != "accept":
        return {**done, "asked": answer.action, "page": page,
                "next": f"{done['next']}; or on its page in podium dashboard: {page}" if done["next"] else None}
    tell_when_decided(mcp_ctx, human.store.root, gate, elicitation)
    return {**done, "asked": "accept", "page": page,
            "next": f"gate {gate.id}'s page in podium dashboard ({page}) was offered to the human: the gate waits "
                    "for their decision there (podium gates shows it when made)"}


def tell_when_decided(mcp_ctx: Any, state: Path, gate: Any, elicitation: str) -> None:
    """Once the human decided the gate offered as a page (or a newer request superseded it), tell the client the
    elicitation completed; a thread watches the store for as long as this server runs."""
    import threading
    import time

    import anyio.from_thread
    import anyio.lowlevel

    from podium.store import Store

    loop = anyio.from_thread.run_sync(anyio.lowlevel.current_token)
    session, shown = mcp_ctx.session, (gate.state, gate.decided_at)

    def watch() -> None:
        store = Store(state)  # this thread's own connection

        def now() -> tuple[str, float | None]:
            found = store.gate(gate.id)
            return found.state, found.decided_at

        try:
            while now() == shown:
                time.sleep(WATCH)
            anyio.from_thread.run(session.send_elicit_complete, elicitation, token=loop)
        except Exception:  # the client went away, or this server is stopping: nobody to tell
            pass
        finally:
            store.close()

    threading.Thread(target=watch, name=f"podium-gate-{gate.id}-page", daemon=True).start()


def no_dashboard(gate_id: int) -> str:
    """What a links-only client is told when no dashboard runs to send it to."""
    return (f"this client opens pages, but podium dashboard is not running for this repository: the human starts "
            f"it (podium dashboard) and decides on gate {gate_id}'s page, /gates/{gate_id}")


def tool_function(op: Operation, root: Path, *, work_id: int | None) -> Any:
    """A function the SDK can introspect: the operation's parameters (without ``ctx``) with their help as
    pydantic field descriptions, calling the operation on a fresh context and returning its document.

    The tools that reach a gate also take the SDK's request context (``mcp_ctx``, injected, not in the input
    schema), to put the gate to the human when the client can ask them."""
    from mcp.server.mcpserver import Context as RequestContext
    from mcp.server.mcpserver.exceptions import ToolError

    def call(**kwargs: Any) -> Any:
        mcp_ctx = kwargs.pop("mcp_ctx", None)
        mode = how_to_ask(mcp_ctx) if op.name in ASKS and mcp_ctx is not None else None
        try:
            if op.name == "approve" and mode:
                asked = ask_human(mcp_ctx, mode, root, work_id, kwargs["gate_id"])
                if asked is None:
                    raise ToolError(f"approve is the human's: they run podium approve {kwargs['gate_id']} at their "
                                    f"terminal; or {no_dashboard(kwargs['gate_id'])}")
                return asked
            if not op.unattended:
                said = " ".join(str(v) for v in kwargs.values())
                raise ToolError(f"{op.name} is the human's: they run podium {op.name} {said} at their terminal, "
                                "or decide in podium dashboard")
            result = op(Context.open(root, work_id=work_id, channel="mcp"), **kwargs)
            gate = getattr(result, "gate", None)
            if mode and gate is not None and gate.state == "pending":
                asked = ask_human(mcp_ctx, mode, root, work_id, gate.id)
                done = result.to_dict()
                return asked if asked is not None else {**done, "next": f"{done['next']}; {no_dashboard(gate.id)}"}
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
