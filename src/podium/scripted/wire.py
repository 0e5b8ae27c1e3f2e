"""The wire shapes of the four model APIs: reading a request, building a reply.

``Conversation`` reads what the server needs from a request of any of the APIs
(its tools and their schemas, its user text, how many model turns its history holds,
the agent's working directory). The ``*_message``/``*_chunk``/``*_items`` functions
build one model turn in each API's own shape; ``server`` streams them. aider offers no tools: its model edits a
file by listing it whole in the reply's text, so a ``write`` step is such a listing for aider (``listing``).
"""

from __future__ import annotations

import json
import re
import shlex
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from podium.scripted.scenario import Step

_CWD_PATTERNS = (
    re.compile(r"<cwd>([^<\n]+)</cwd>"),
    re.compile(r"[Ww]orking [Dd]irectory: *(/[^\s]+)"),
    re.compile(r"Workspace Directories:\**\s*\n\s*- (/[^\s]+)"),
    re.compile(r"working in the directory: *(/[^\s]+)"),
    re.compile(r"^% pwd\n(/[^\s]+)", re.MULTILINE),  # droid's environment context: the commands it ran at start
)
# the exchange a gemini-cli-style agent (qwen) opens its history with: its context, and the model's made-up
# acknowledgement, which is no turn of the scenario's
_SETUP = "We are setting up the context for our chat."
# the exchange that closes aider's canned opening (example edits, its repo map): the files it shares, each
# variant answered by a made-up "Ok…". What follows is the conversation; such a request edits files in its text
_AIDER_FILES = ("I have *added these files to the chat*", "Don't try and edit any existing code without asking",
                "I am not sharing any files that you can edit yet.")
_MODEL_ITEM_TYPES = {
    "function_call",
    "custom_tool_call",
    "local_shell_call",
    "reasoning",
    "web_search_call",
    "tool_search_call",
}


def _texts(content: Any) -> Iterator[str]:
    """Every text string inside a message's content, whatever its shape."""
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for part in content:
            if isinstance(part, dict):
                for key in ("text", "content"):
                    if key in part:
                        yield from _texts(part[key])
            elif isinstance(part, str):
                yield part


def _write_command(path: str, content: str) -> str:
    parent = str(Path(path).parent)
    mkdir = f"mkdir -p {shlex.quote(parent)} && " if parent not in ("", ".") else ""
    return f"{mkdir}printf '%s' {shlex.quote(content)} > {shlex.quote(path)}"


class Conversation:
    """What the server needs to know about one request, independent of its API."""

    def __init__(self, api: str, body: dict[str, Any]):
        self.api = api
        self.body = body
        self.schemas = self._tool_schemas()
        self.tools = set(self.schemas)
        self.user_text = "\n".join(self._user_texts())
        self.opening = self._aider_opening()
        self.edits_in_text = self.opening > 0  # aider: file listings in the reply's text, no tools
        self.turns = self._model_turns(self._messages()[self.opening:])
        self.cwd = self._cwd()

    def _tool_schemas(self) -> dict[str, dict[str, Any]]:
        """Each offered tool's name and the JSON schema of its arguments, whatever the API calls it."""
        schemas = {}
        for tool in self.body.get("tools") or []:
            if not isinstance(tool, dict):
                continue
            declared = tool.get("functionDeclarations") or [tool.get("function") or tool]
            for decl in declared:
                if isinstance(decl, dict) and decl.get("name"):
                    schema = next((decl[k] for k in ("parameters", "input_schema", "parametersJsonSchema")
                                   if isinstance(decl.get(k), dict)), {})
                    schemas[str(decl["name"])] = schema
        return schemas

    def _messages(self) -> list[Any]:
        if self.api == "gemini":  # contents: [{role: user|model, parts: [...]}]
            return [
                {"role": "assistant" if c.get("role") == "model" else "user", "content": c.get("parts")}
                for c in self.body.get("contents") or []
                if isinstance(c, dict)
            ]
        key = "input" if self.api == "openai" else "messages"
        items = self.body.get(key) or []
        return [{"role": "user", "content": items}] if isinstance(items, str) else list(items)

    @property
    def side(self) -> bool:
        """A side request (titles, routing, summaries): one that offers no tools and edits no files in text."""
        return self.api != "openai" and not self.tools and not self.edits_in_text

    def _aider_opening(self) -> int:
        """How many messages aider's canned opening takes (0: no aider request): through its files exchange."""
        messages = self._messages()
        for i, item in enumerate(messages):
            if (isinstance(item, dict) and item.get("role") == "user"
                    and any(t.startswith(_AIDER_FILES) for t in _texts(item.get("content")))):
                return min(i + 2, len(messages))
        return 0

    def _user_texts(self) -> Iterator[str]:
        for item in self._messages():
            if isinstance(item, dict) and item.get("role") in ("user", "developer"):
                yield from _texts(item.get("content"))

    def _all_texts(self) -> Iterator[str]:
        yield from _texts(self.body.get("system"))
        yield from _texts(self.body.get("instructions"))
        yield from _texts((self.body.get("systemInstruction") or {}).get("parts"))
        for item in self._messages():
            if isinstance(item, dict):
                yield from _texts(item.get("content"))

    def _model_turns(self, items: list[Any] | None = None) -> int:
        """Number of model turns already in the history (consecutive model items are one turn)."""
        turns, in_model, setup = 0, False, False
        for item in self._messages() if items is None else items:
            if not isinstance(item, dict):
                continue
            is_model = item.get("role") == "assistant" or item.get("type") in _MODEL_ITEM_TYPES
            if is_model and not in_model and not setup:
                turns += 1
            in_model = is_model
            setup = (self.api == "chat" and not is_model  # gemini-cli opens the same way, and counts it: no skip
                     and any(_SETUP in t for t in _texts(item.get("content"))))
        return turns

    def turns_after(self, marker: str | None) -> int:
        """Model turns since the last user message that contains ``marker`` (all of them without one)."""
        if not marker:
            return self.turns
        messages = self._messages()
        last = max((i for i, m in enumerate(messages) if isinstance(m, dict) and m.get("role") in ("user", "developer")
                    and marker in "\n".join(_texts(m.get("content")))), default=-1)
        return self._model_turns(messages[last + 1:])

    def _cwd(self) -> str | None:
        for text in self._all_texts():
            for pattern in _CWD_PATTERNS:
                m = pattern.search(text)
                if m:
                    return m.group(1).strip()
        return None


def schema_instance(schema: Any) -> Any:
    """The smallest value a JSON schema accepts (first enum value, empty containers, required keys only)."""
    if not isinstance(schema, dict):
        return None
    if schema.get("enum"):
        return schema["enum"][0]
    kind = str(schema.get("type", "object")).lower()
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: schema_instance(props.get(k, {})) for k in schema.get("required") or props}
    return {"string": "ok", "integer": 1, "number": 1, "boolean": False, "array": []}.get(kind)


def aux_text(body: dict[str, Any], default: str) -> str:
    """A side request's reply: JSON that fits the requested schema, when one is given (e.g. a router)."""
    config = body.get("generationConfig") or {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    if schema is None:
        schema = ((body.get("output_config") or {}).get("format") or {}).get("schema")
    if schema is None:
        schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema")
    return json.dumps(schema_instance(schema)) if schema is not None else default


def pieces(text: str, size: int = 40) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def anthropic_message(conv: Conversation, step: Step) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if step.text:
        content.append({"type": "text", "text": step.text})
    tool = anthropic_tool(conv, step)
    if tool:
        content.append(tool)
    if not content:
        content.append({"type": "text", "text": ""})
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": conv.body.get("model", "scripted"),
        "content": content,
        "stop_reason": "tool_use" if tool else "end_turn",
        "stop_sequence": None,
        "usage": {
            "input_tokens": max(1, len(json.dumps(conv.body)) // 4),
            "output_tokens": max(1, len(json.dumps(content)) // 4),
        },
    }


def anthropic_tool(conv: Conversation, step: Step) -> dict[str, Any] | None:
    tool_id = f"toolu_{uuid.uuid4().hex[:24]}"
    if step.tool is not None:
        return {"type": "tool_use", "id": tool_id, "name": step.tool["name"], "input": step.tool.get("input") or {}}
    if step.write is not None:
        path, text = step.write["path"], step.write["content"]
        if "Write" in conv.tools and (Path(path).is_absolute() or conv.cwd):
            full = path if Path(path).is_absolute() else str(Path(conv.cwd or "/") / path)
            return {"type": "tool_use", "id": tool_id, "name": "Write", "input": {"file_path": full, "content": text}}
        return {
            "type": "tool_use",
            "id": tool_id,
            "name": "Bash",
            "input": {"command": _write_command(path, text), "description": f"Write {path}"},
        }
    if step.shell is not None:
        return {
            "type": "tool_use",
            "id": tool_id,
            "name": "Bash",
            "input": {"command": step.shell, "description": "Run a command"},
        }
    return None


def gemini_chunk(conv: Conversation, step: Step, final: bool = True) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if step.text:
        parts.append({"text": step.text})
    if step.tool is not None:
        parts.append({"functionCall": {"name": step.tool["name"], "args": step.tool.get("input") or {}}})
    elif step.write is not None:
        path = step.write["path"]
        if "write_file" in conv.tools:
            full = path if Path(path).is_absolute() or not conv.cwd else str(Path(conv.cwd) / path)
            parts.append(
                {"functionCall": {"name": "write_file", "args": {"file_path": full, "content": step.write["content"]}}}
            )
        else:
            parts.append(
                {
                    "functionCall": {
                        "name": "run_shell_command",
                        "args": {"command": _write_command(path, step.write["content"])},
                    }
                }
            )
    elif step.shell is not None:
        parts.append(
            {
                "functionCall": {
                    "name": "run_shell_command",
                    "args": {"command": step.shell, "description": "Run a command"},
                }
            }
        )
    if not parts:
        parts.append({"text": ""})
    prompt = max(1, len(json.dumps(conv.body)) // 4)
    out = max(1, len(json.dumps(parts)) // 4)
    candidate: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
    if final:
        candidate["finishReason"] = "STOP"
    return {
        "candidates": [candidate],
        "usageMetadata": {"promptTokenCount": prompt, "candidatesTokenCount": out, "totalTokenCount": prompt + out},
        "modelVersion": conv.body.get("model", "scripted"),
    }


def openai_items(conv: Conversation, step: Step) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if step.text or not step.has_tool_call:
        items.append(
            {
                "type": "message",
                "id": f"msg_{uuid.uuid4().hex[:24]}",
                "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": step.text or "", "annotations": []}],
            }
        )
    command = (
        step.shell
        if step.shell is not None
        else (_write_command(step.write["path"], step.write["content"]) if step.write is not None else None)
    )
    call: tuple[str, dict[str, Any]] | None = None
    if step.tool is not None:
        call = step.tool["name"], step.tool.get("input") or {}
    elif command is not None:
        if "exec_command" in conv.tools:
            call = "exec_command", {"cmd": command}
        elif "shell_command" in conv.tools:
            call = "shell_command", {"command": command}
        else:
            call = "shell", {"command": ["bash", "-lc", command]}
    if call is not None and call[0] == "tool_search":  # codex's search for its deferred (MCP) tools, run by codex
        items.append({"type": "tool_search_call", "id": f"tsc_{uuid.uuid4().hex[:24]}",
                      "call_id": f"call_{uuid.uuid4().hex[:24]}", "execution": "client", "status": "completed",
                      "arguments": call[1]})
        call = None
    if call is not None:
        name, args = call
        # a tool codex found through tool_search lives in a namespace: mcp__<server>__<tool> is named so
        deferred = name.startswith("mcp__") and name not in conv.tools
        namespace, _, short = name.rpartition("__") if deferred else ("", "", "")
        items.append(
            {
                "type": "function_call",
                "id": f"fc_{uuid.uuid4().hex[:24]}",
                "call_id": f"call_{uuid.uuid4().hex[:24]}",
                "name": short or name,
                **({"namespace": namespace} if short else {}),
                "arguments": json.dumps(args),
                "status": "completed",
            }
        )
    return items


# Chat Completions: the tools the CLIs that speak it offer for a shell command and for writing a file, by name
CHAT_SHELL_TOOLS = ("bash", "run_shell_command", "shell", "Bash", "exec_command", "shell_command", "Execute",
                    "run_commands")
CHAT_WRITE_TOOLS = ("write", "write_file", "create", "Write", "Create", "editor")


def _first_key(schema: dict[str, Any], names: tuple[str, ...]) -> str:
    """The first of ``names`` the schema declares as a property (the first name when it declares none)."""
    props = schema.get("properties") or {}
    return next((n for n in names if n in props), names[0])


def _schema_args(schema: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """``given``, plus the smallest value for every other argument the tool's schema requires (some CLIs'
    shell tools require more than a command: a description, whether to run in the background)."""
    props = schema.get("properties") or {}
    return {**{k: schema_instance(props.get(k, {})) for k in schema.get("required") or []}, **given}


def chat_call(conv: Conversation, step: Step) -> tuple[str, dict[str, Any]] | None:
    """The step's tool call in the tools this request offers: the shell tool, the file-writing one (a shell
    command that writes the file when it offers none), or the named tool."""
    if step.tool is not None:
        return step.tool["name"], step.tool.get("input") or {}
    writer = next((t for t in CHAT_WRITE_TOOLS if t in conv.tools), None)
    if step.write is not None and writer:
        schema = conv.schemas[writer]
        path = step.write["path"]
        full = path if Path(path).is_absolute() or not conv.cwd else str(Path(conv.cwd) / path)
        content = _first_key(schema, ("content", "file_text", "new_text"))
        return writer, _schema_args(schema, {_first_key(schema, ("filePath", "file_path", "path")): full,
                                             content: step.write["content"]})
    command = step.shell if step.shell is not None else (
        _write_command(step.write["path"], step.write["content"]) if step.write is not None else None)
    if command is None:
        return None
    shell = next((t for t in CHAT_SHELL_TOOLS if t in conv.tools), "bash")
    schema = conv.schemas.get(shell, {})
    key = _first_key(schema, ("command", "cmd", "commands"))
    many = ((schema.get("properties") or {}).get(key) or {}).get("type") == "array"  # cline's: a list of commands
    return shell, _schema_args(schema, {key: [command] if many else command})


def listing(step: Step) -> str:
    """The step as aider's whole-file edit: its text, then the file's path and its whole content fenced (a
    shell step cannot be taken: aider runs no command the model suggests unless a human says yes)."""
    if step.write is None:
        return step.text or ""
    content = step.write["content"]
    if not content.endswith("\n"):
        content += "\n"
    fenced = f"{step.write['path']}\n```\n{content}```\n"
    return f"{step.text}\n\n{fenced}" if step.text else fenced


def chat_completion(conv: Conversation, step: Step) -> dict[str, Any]:
    """One model turn as a ``chat.completion`` (the reply to a request that does not stream)."""
    call = None if conv.edits_in_text else chat_call(conv, step)
    text = listing(step) if conv.edits_in_text else step.text
    message: dict[str, Any] = {"role": "assistant", "content": text or ("" if call is None else None)}
    if call is not None:
        message["tool_calls"] = [{"id": f"call_{uuid.uuid4().hex[:24]}", "type": "function",
                                  "function": {"name": call[0], "arguments": json.dumps(call[1])}}]
    prompt = max(1, len(json.dumps(conv.body)) // 4)
    out = max(1, len(json.dumps(message)) // 4)
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": conv.body.get("model", "scripted"),
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": "tool_calls" if call is not None else "stop"}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": out, "total_tokens": prompt + out},
    }


def chat_chunks(conv: Conversation, step: Step) -> list[dict[str, Any]]:
    """The same turn as ``chat.completion.chunk``s: the role, the text in pieces, the tool call, the finish
    reason, and the usage when the request asks for it (``stream_options.include_usage``)."""
    whole = chat_completion(conv, step)
    message, choice = whole["choices"][0]["message"], whole["choices"][0]
    head = {k: whole[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**head, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]}

    chunks = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": piece}) for piece in pieces(message["content"])] if message["content"] else []
    for index, call in enumerate(message.get("tool_calls") or []):
        chunks.append(chunk({"tool_calls": [{"index": index, **call}]}))
    chunks.append(chunk({}, choice["finish_reason"]))
    if (conv.body.get("stream_options") or {}).get("include_usage"):
        chunks.append({**head, "choices": [], "usage": whole["usage"]})
    return chunks
