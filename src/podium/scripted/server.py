"""A loopback model server that replies from a scenario and records every request.

It speaks enough of four wire protocols for the real agent CLIs to run against it:

- the Anthropic Messages API (``POST /v1/messages``, streaming SSE and plain JSON,
  plus ``/v1/messages/count_tokens``) — what ``claude`` calls;
- the OpenAI Responses API (``POST /v1/responses``, streaming SSE) — what ``codex``
  calls through a custom model provider;
- the Gemini API (``:generateContent`` and ``:streamGenerateContent?alt=sse``) —
  what ``gemini`` calls with ``GOOGLE_GEMINI_BASE_URL``;
- the OpenAI Chat Completions API (``POST /v1/chat/completions``, streaming SSE and
  plain JSON) — what opencode, qwen and pi call through an OpenAI-compatible provider.

Tool calls are expressed in the tools the request itself offers (``Bash``/``Write``
for claude, ``exec_command``/``shell`` for codex, ``run_shell_command``/``write_file``
for gemini and qwen, ``bash``/``write`` for opencode and pi), their arguments filled
from each tool's declared schema, so the CLI really runs them (aider's, with no tools: a file listing in the
text). Any other request without tools is a side request (titles, routing): ``aux_text``, or JSON fitting its schema.

Contract: the server binds loopback only; ``stop()`` wakes every hanging or
delayed reply and returns within a second; recorded requests never include
request headers that carry credentials.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from podium.errors import UsageError
from podium.scripted.scenario import Scenario, Step
from podium.scripted.wire import (
    Conversation,
    anthropic_message,
    aux_text,
    chat_chunks,
    chat_completion,
    gemini_chunk,
    openai_items,
    pieces,
)

KEEP_ALIVE = 1.0  # seconds between the comments of a thinking step


class ScriptedModel:
    """The server. Use as a context manager or call ``start()``/``stop()``."""

    def __init__(
        self,
        scenario: Scenario,
        host: str = "127.0.0.1",
        port: int = 0,
        record_path: str | Path | None = None,
    ):
        if host not in ("127.0.0.1", "::1", "localhost"):
            raise UsageError(f"the scripted model serves loopback only, not {host}")
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

    def _keep_alive(self, seconds: float) -> None:
        """Comments on the open stream (every SSE reader skips them) until ``seconds`` have passed."""
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            self.wfile.write(b": keep-alive\n\n")
            self.wfile.flush()
            if self.server_model.sleep(min(KEEP_ALIVE, end - time.monotonic())):
                return

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
        if path.endswith("/chat/completions"):
            api = "chat"
        elif path.endswith("/messages"):
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
        aux = conv.side
        script = scenario.pick(conv.user_text)
        if aux:
            step, step_no = Step(text=aux_text(body, scenario.aux_text)), None
        elif (turn := conv.turns_after(script.match) if script.from_match else conv.turns) < len(script.steps):
            step, step_no = script.steps[turn], turn + 1
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
            whole = {"gemini": gemini_chunk, "chat": chat_completion}.get(conv.api, anthropic_message)
            self._send_json(200, whole(conv, step))
            return
        self._start_sse()
        if step.think:
            self._keep_alive(step.think)
        if step.malformed:
            self.wfile.write(b'event: message_start\ndata: {"type": "message_start", "message": {"id"\n\n')
            self.wfile.write(b"data: [not json at all\n\n")
            self.wfile.flush()
            return
        if conv.api == "anthropic":
            self._stream_anthropic(conv, step)
        elif conv.api == "gemini":
            self._stream_gemini(conv, step)
        elif conv.api == "chat":
            self._stream_chat(conv, step)
        else:
            self._stream_openai(conv, step)

    def _stream_gemini(self, conv: Conversation, step: Step) -> None:
        if step.hang:
            self.server_model.sleep(10**9)
            return
        chunk = gemini_chunk(conv, step, final=True)
        parts = chunk["candidates"][0]["content"]["parts"]
        texts = [p for p in parts if "text" in p]
        for piece in pieces(texts[0]["text"]) if texts else []:  # stream the text, then the rest at once
            partial = {
                "candidates": [{"content": {"role": "model", "parts": [{"text": piece}]}, "index": 0}],
                "modelVersion": chunk["modelVersion"],
            }
            self._data(partial, step.chunk_delay)
        chunk["candidates"][0]["content"]["parts"] = [p for p in parts if "text" not in p] or [{"text": ""}]
        self._data(chunk, step.chunk_delay)

    def _stream_chat(self, conv: Conversation, step: Step) -> None:
        chunks = chat_chunks(conv, step)
        self._data(chunks[0])
        if step.hang:
            self.server_model.sleep(10**9)
            return
        for chunk in chunks[1:]:
            self._data(chunk, step.chunk_delay)
        self.wfile.write(b"data: [DONE]\r\n\r\n")
        self.wfile.flush()

    def _data(self, data: dict[str, Any], delay: float = 0.0) -> None:
        if delay:
            self.server_model.sleep(delay)
        self.wfile.write(f"data: {json.dumps(data)}\r\n\r\n".encode())
        self.wfile.flush()

    def _stream_anthropic(self, conv: Conversation, step: Step) -> None:
        message = anthropic_message(conv, step)
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
                for piece in pieces(block["text"]):
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
        items = openai_items(conv, step)
        for index, item in enumerate(items):
            self._sse(
                "response.output_item.added",
                {"type": "response.output_item.added", "output_index": index, "item": dict(item, status="in_progress")},
                d,
            )
            if item["type"] == "message":
                text = item["content"][0]["text"]
                for piece in pieces(text):
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
