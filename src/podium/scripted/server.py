"""A loopback model server that replies from a scenario and records every request.

It speaks enough of three wire protocols for the real agent CLIs to run against it:

- the Anthropic Messages API (``POST /v1/messages``, streaming SSE and plain JSON,
  plus ``/v1/messages/count_tokens``) — what ``claude`` calls;
- the OpenAI Responses API (``POST /v1/responses``, streaming SSE) — what ``codex``
  calls through a custom model provider;
- the Gemini API (``:generateContent`` and ``:streamGenerateContent?alt=sse``) —
  what ``gemini`` calls with ``GOOGLE_GEMINI_BASE_URL``.

Tool calls are expressed in the tools the request itself offers (``Bash``/``Write``
for claude, ``exec_command``/``shell`` for codex, ``run_shell_command``/``write_file``
for gemini), so the CLI really runs them. A request that offers no tools is a side
request (titles, routing): it gets ``aux_text``, or JSON fitting its schema.

Contract: the server binds loopback only; ``stop()`` wakes every hanging or
delayed reply and returns within a second; recorded requests never include
request headers that carry credentials.
"""

from __future__ import annotations

import contextlib
import json
import re
import shlex
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from podium.scripted.scenario import Scenario, Step

_CWD_PATTERNS = (
    re.compile(r"<cwd>([^<\n]+)</cwd>"),
    re.compile(r"[Ww]orking directory: *(/[^\s]+)"),
    re.compile(r"Workspace Directories:\**\s*\n\s*- (/[^\s]+)"),
)
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
        self.tools = self._tool_names()
        self.user_text = "\n".join(self._user_texts())
        self.turns = self._model_turns()
        self.cwd = self._cwd()

    def _tool_names(self) -> set[str]:
        names = set()
        for tool in self.body.get("tools") or []:
            if not isinstance(tool, dict):
                continue
            declared = tool.get("functionDeclarations") or [tool.get("function") or tool]
            for decl in declared:
                if isinstance(decl, dict) and decl.get("name"):
                    names.add(decl["name"])
        return names

    def _messages(self) -> list[Any]:
        if self.api == "gemini":  # contents: [{role: user|model, parts: [...]}]
            return [
                {"role": "assistant" if c.get("role") == "model" else "user", "content": c.get("parts")}
                for c in self.body.get("contents") or []
                if isinstance(c, dict)
            ]
        key = "messages" if self.api == "anthropic" else "input"
        items = self.body.get(key) or []
        return [{"role": "user", "content": items}] if isinstance(items, str) else list(items)

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

    def _model_turns(self) -> int:
        """Number of model turns already in the history (consecutive model items are one turn)."""
        turns, in_model = 0, False
        for item in self._messages():
            if not isinstance(item, dict):
                continue
            is_model = item.get("role") == "assistant" or item.get("type") in _MODEL_ITEM_TYPES
            if is_model and not in_model:
                turns += 1
            in_model = is_model
        return turns

    def _cwd(self) -> str | None:
        for text in self._all_texts():
            for pattern in _CWD_PATTERNS:
                m = pattern.search(text)
                if m:
                    return m.group(1).strip()
        return None


class ScriptedModel:
    """The server. Use as a context manager or call ``start()``/``stop()``."""

    def __init__(
        self,
        scenario: Scenario,
        host: str = "127.0.0.1",
        port: int = 0,
        record_path: str | Path | None = None,
    ):
        self.scenario = scenario
        self.record_path = Path(record_path) if record_path else None
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer((host, port), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> ScriptedModel:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="scripted-model", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        try:
            self._httpd.serve_forever()
        finally:
            self._stopping.set()
            self._httpd.server_close()

    def stop(self) -> None:
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> ScriptedModel:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)
            if self.record_path:
                with self.record_path.open("a") as f:
                    f.write(json.dumps(entry) + "\n")

    def sleep(self, seconds: float) -> bool:
        """Sleep unless the server stops first; True when it is stopping."""
        return self._stopping.wait(seconds) if seconds > 0 else self._stopping.is_set()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        model = self

        class Handler(_Handler):
            server_model = model

        return Handler


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_model: ScriptedModel

    def log_message(self, format: str, *args: Any) -> None:
        return

    # -- plumbing ---------------------------------------------------------
    def _send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _start_sse(self) -> None:
        self.close_connection = True
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()

    def _sse(self, event: str, data: dict[str, Any], delay: float = 0.0) -> None:
        if delay:
            self.server_model.sleep(delay)
        self.wfile.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()

    def _read_body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"_unparsed": raw.decode(errors="replace")}
        return body if isinstance(body, dict) else {"_body": body}

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/_scripted/requests":
            with self.server_model._lock:
                self._send_json(200, list(self.server_model.requests))
        elif path.endswith("/models"):
            self._send_json(200, {"object": "list", "data": [{"id": "scripted", "object": "model"}], "models": []})
        else:
            self.server_model.record({"ts": time.time(), "method": "GET", "path": self.path})
            self._send_json(404, {"error": {"message": f"no such endpoint {path}"}})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        body = self._read_body()
        if path.endswith("/messages/count_tokens"):
            self._send_json(200, {"input_tokens": max(1, len(json.dumps(body)) // 4)})
            return
        if path.endswith(":countTokens"):
            self._send_json(200, {"totalTokens": max(1, len(json.dumps(body)) // 4)})
            return
        if path.endswith("/messages"):
            api = "anthropic"
        elif path.endswith("/responses"):
            api = "openai"
        elif path.endswith((":streamGenerateContent", ":generateContent")):
            api = "gemini"
            body.setdefault("model", path.rsplit("/", 1)[-1].split(":")[0])
            body["stream"] = path.endswith(":streamGenerateContent")
        else:
            self.server_model.record({"ts": time.time(), "method": "POST", "path": self.path, "body": body})
            self._send_json(404, {"error": {"message": f"no such endpoint {path}"}})
            return
        conv = Conversation(api, body)
        scenario = self.server_model.scenario
        aux = api in ("anthropic", "gemini") and not conv.tools
        script = scenario.pick(conv.user_text)
        if aux:
            step, step_no = Step(text=_aux_text(body, scenario.aux_text)), None
        elif conv.turns < len(script.steps):
            step, step_no = script.steps[conv.turns], conv.turns + 1
        else:
            step, step_no = Step(text=script.final_text), None
        self.server_model.record(
            {
                "ts": time.time(),
                "method": "POST",
                "path": self.path,
                "api": api,
                "script": None if aux else script.name,
                "step": step_no,
                "aux": aux,
                "cwd": conv.cwd,
                "tools": sorted(conv.tools),
                "body": body,
            }
        )
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self._reply(conv, step)

    # -- replies ----------------------------------------------------------
    def _reply(self, conv: Conversation, step: Step) -> None:
        model = self.server_model
        if model.sleep(step.delay):
            return
        if step.error is not None:
            status = int(step.error.get("status", 500))
            message = str(step.error.get("message", "scripted error"))
            if conv.api == "anthropic":
                kind = {400: "invalid_request_error", 401: "authentication_error", 429: "rate_limit_error"}
                payload = {"type": "error", "error": {"type": kind.get(status, "api_error"), "message": message}}
            elif conv.api == "gemini":
                kind = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 429: "RESOURCE_EXHAUSTED"}
                payload = {"error": {"code": status, "message": message, "status": kind.get(status, "INTERNAL")}}
            else:
                payload = {"error": {"message": message, "type": "server_error", "code": str(status)}}
            self._send_json(status, payload)
            return
        streaming = conv.api == "openai" or bool(conv.body.get("stream"))
        if not streaming:
            if step.hang:
                model.sleep(10**9)
                return
            reply = _gemini_chunk(conv, step, final=True) if conv.api == "gemini" else _anthropic_message(conv, step)
            self._send_json(200, reply)
            return
        self._start_sse()
        if step.malformed:
            self.wfile.write(b'event: message_start\ndata: {"type": "message_start", "message": {"id"\n\n')
            self.wfile.write(b"data: [not json at all\n\n")
            self.wfile.flush()
            return
        if conv.api == "anthropic":
            self._stream_anthropic(conv, step)
        elif conv.api == "gemini":
            self._stream_gemini(conv, step)
        else:
            self._stream_openai(conv, step)

    def _stream_gemini(self, conv: Conversation, step: Step) -> None:
        if step.hang:
            self.server_model.sleep(10**9)
            return
        chunk = _gemini_chunk(conv, step, final=True)
        parts = chunk["candidates"][0]["content"]["parts"]
        texts = [p for p in parts if "text" in p]
        for piece in _pieces(texts[0]["text"]) if texts else []:  # stream the text, then the rest at once
            partial = {
                "candidates": [{"content": {"role": "model", "parts": [{"text": piece}]}, "index": 0}],
                "modelVersion": chunk["modelVersion"],
            }
            self._data(partial, step.chunk_delay)
        chunk["candidates"][0]["content"]["parts"] = [p for p in parts if "text" not in p] or [{"text": ""}]
        self._data(chunk, step.chunk_delay)

    def _data(self, data: dict[str, Any], delay: float = 0.0) -> None:
        if delay:
            self.server_model.sleep(delay)
        self.wfile.write(f"data: {json.dumps(data)}\r\n\r\n".encode())
        self.wfile.flush()

    def _stream_anthropic(self, conv: Conversation, step: Step) -> None:
        message = _anthropic_message(conv, step)
        content = message.pop("content")
        d = step.chunk_delay
        head = dict(
            message,
            content=[],
            stop_reason=None,
            usage={"input_tokens": message["usage"]["input_tokens"], "output_tokens": 1},
        )
        self._sse("message_start", {"type": "message_start", "message": head})
        if step.hang:
            self.server_model.sleep(10**9)
            return
        for index, block in enumerate(content):
            if block["type"] == "text":
                self._sse(
                    "content_block_start",
                    {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}},
                    d,
                )
                for piece in _pieces(block["text"]):
                    self._sse(
                        "content_block_delta",
                        {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": piece}},
                        d,
                    )
            else:
                start = dict(block, input={})
                self._sse(
                    "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}, d
                )
                self._sse(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": json.dumps(block["input"])},
                    },
                    d,
                )
            self._sse("content_block_stop", {"type": "content_block_stop", "index": index}, d)
        self._sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                "usage": {"output_tokens": message["usage"]["output_tokens"]},
            },
            d,
        )
        self._sse("message_stop", {"type": "message_stop"}, d)

    def _stream_openai(self, conv: Conversation, step: Step) -> None:
        d = step.chunk_delay
        response_id = f"resp_{uuid.uuid4().hex[:24]}"
        base = {
            "id": response_id,
            "object": "response",
            "created_at": int(time.time()),
            "model": conv.body.get("model", "scripted"),
            "output": [],
        }
        self._sse("response.created", {"type": "response.created", "response": dict(base, status="in_progress")})
        if step.hang:
            self.server_model.sleep(10**9)
            return
        items = _openai_items(conv, step)
        for index, item in enumerate(items):
            self._sse(
                "response.output_item.added",
                {"type": "response.output_item.added", "output_index": index, "item": dict(item, status="in_progress")},
                d,
            )
            if item["type"] == "message":
                text = item["content"][0]["text"]
                for piece in _pieces(text):
                    self._sse(
                        "response.output_text.delta",
                        {
                            "type": "response.output_text.delta",
                            "item_id": item["id"],
                            "output_index": index,
                            "content_index": 0,
                            "delta": piece,
                        },
                        d,
                    )
            self._sse(
                "response.output_item.done",
                {"type": "response.output_item.done", "output_index": index, "item": item},
                d,
            )
        input_tokens = max(1, len(json.dumps(conv.body)) // 4)
        output_tokens = max(1, sum(len(json.dumps(i)) for i in items) // 4)
        usage = {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": input_tokens + output_tokens,
        }
        self._sse(
            "response.completed",
            {"type": "response.completed", "response": dict(base, status="completed", output=items, usage=usage)},
            d,
        )


def _schema_instance(schema: Any) -> Any:
    """The smallest value a JSON schema accepts (first enum value, empty containers, required keys only)."""
    if not isinstance(schema, dict):
        return None
    if schema.get("enum"):
        return schema["enum"][0]
    kind = str(schema.get("type", "object")).lower()
    if kind == "object":
        props = schema.get("properties") or {}
        return {k: _schema_instance(props.get(k, {})) for k in schema.get("required") or props}
    return {"string": "ok", "integer": 1, "number": 1, "boolean": False, "array": []}.get(kind)


def _aux_text(body: dict[str, Any], default: str) -> str:
    """A side request's reply: JSON that fits the requested schema, when one is given (e.g. a router)."""
    config = body.get("generationConfig") or {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    if schema is None:
        schema = ((body.get("output_config") or {}).get("format") or {}).get("schema")
    return json.dumps(_schema_instance(schema)) if schema is not None else default


def _pieces(text: str, size: int = 40) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _anthropic_message(conv: Conversation, step: Step) -> dict[str, Any]:
    content: list[dict[str, Any]] = []
    if step.text:
        content.append({"type": "text", "text": step.text})
    tool = _anthropic_tool(conv, step)
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


def _anthropic_tool(conv: Conversation, step: Step) -> dict[str, Any] | None:
    tool_id = f"toolu_{uuid.uuid4().hex[:24]}"
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


def _gemini_chunk(conv: Conversation, step: Step, final: bool) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    if step.text:
        parts.append({"text": step.text})
    if step.write is not None:
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


def _openai_items(conv: Conversation, step: Step) -> list[dict[str, Any]]:
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
    if command is not None:
        if "exec_command" in conv.tools:
            name, args = "exec_command", {"cmd": command}
        elif "shell_command" in conv.tools:
            name, args = "shell_command", {"command": command}
        else:
            name, args = "shell", {"command": ["bash", "-lc", command]}
        items.append(
            {
                "type": "function_call",
                "id": f"fc_{uuid.uuid4().hex[:24]}",
                "call_id": f"call_{uuid.uuid4().hex[:24]}",
                "name": name,
                "arguments": json.dumps(args),
                "status": "completed",
            }
        )
    return items
