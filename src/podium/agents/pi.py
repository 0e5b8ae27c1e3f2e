"""The ``pi`` adapter: pi's coding agent in print mode (``pi --mode json -p``, the prompt on stdin).

Output is one JSON event per line: ``session`` first (its ``id``), then the agent's
loop — ``message_end`` for each finished message (the assistant's text, its usage,
``stopReason`` ``error`` with an ``errorMessage`` when the model failed),
``tool_execution_start``/``tool_execution_end`` (matched by ``toolCallId``; a bash
result that failed ends with "Command exited with code N"). ``--session <id>``
continues a session; its transcript is ``<agent dir>/sessions/<dir>/<time>_<id>.jsonl``
(the agent dir: ``$PI_CODING_AGENT_DIR``, else ``~/.pi/agent``).

Model provider: the user's own (``settings.json``'s default provider, or
``--provider`` in podium's pi args; its ``baseUrl`` in ``models.json``).

Permissions: pi asks for none — its bash, edit and write tools run as the model
calls them — so a worker needs no flag. A read-only run (the orchestrator, the
distiller) gets pi's read-only tools only (``--tools read,grep,find,ls``).

Model and effort: ``--model`` and ``--thinking`` (low … xhigh; podium's ``max`` is
pi's highest, ``xhigh``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, ClassVar

from podium.agents import (
    CliAgent,
    Event,
    Preflight,
    Wiring,
    check_endpoint,
    choice_flags,
    compact_line,
    find_executable,
    flag_value,
    json_record,
    read_config,
    read_only_tools,
    tail,
    wire_plainly,
)

EFFORT = {"low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh", "max": "xhigh"}
FILE_TOOLS = ("write", "edit")
READ_ONLY_TOOLS = ("--tools", "read,grep,find,ls")
_EXIT = re.compile(r"Command exited with code (\d+)\s*$")


def pi_home() -> Path:
    return Path(os.environ.get("PI_CODING_AGENT_DIR") or Path.home() / ".pi" / "agent")


def _text(content: Any) -> str:
    parts = content if isinstance(content, list) else []
    return "".join(str(p.get("text") or "") for p in parts if isinstance(p, dict) and p.get("type") == "text")


class PiParser:
    def __init__(self) -> None:
        self.pending: dict[str, dict[str, Any]] = {}
        self.session_seen = False
        self.last_message: str | None = None
        self.errors: list[str] = []
        self.ended = False

    def feed(self, line: str) -> list[Event]:
        record = json_record(line)
        if record is None:
            return []
        kind = record.get("type")
        if kind == "session" and record.get("id") and not self.session_seen:
            self.session_seen = True
            return [Event("session", {"id": record["id"]})]
        if kind == "message_end":
            return self._message(record.get("message") or {})
        if kind == "tool_execution_start":
            self.pending[str(record.get("toolCallId"))] = record.get("args") or {}
            return []
        if kind == "tool_execution_end":
            return self._tool(record)
        if kind == "agent_end":
            self.ended = True
        return []

    def _message(self, message: dict[str, Any]) -> list[Event]:
        if message.get("role") != "assistant":
            return []
        events = []
        text = _text(message.get("content"))
        if text:
            self.last_message = text
            events.append(Event("message", {"text": text}))
        usage = message.get("usage") or {}
        if usage.get("totalTokens"):
            events.append(Event("usage", {"input_tokens": usage.get("input", 0),
                                          "output_tokens": usage.get("output", 0),
                                          "cached": usage.get("cacheRead", 0)}))
        if message.get("stopReason") in ("error", "aborted"):
            error = str(message.get("errorMessage") or f"pi's model call ended: {message.get('stopReason')}")
            self.errors.append(error)
            events.append(Event("error", {"message": error}))
        return events

    def _tool(self, record: dict[str, Any]) -> list[Event]:
        name = str(record.get("toolName"))
        args = self.pending.pop(str(record.get("toolCallId")), {})
        failed = bool(record.get("isError"))
        output = _text((record.get("result") or {}).get("content"))
        if name == "bash":
            m = _EXIT.search(output)
            exit_code = int(m.group(1)) if m else (1 if failed else 0)
            return [Event("command", {"command": args.get("command", ""), "exit_code": exit_code,
                                      "output": tail(output)})]
        if name in FILE_TOOLS and not failed:
            return [Event("file_change", {"path": args.get("path", ""), "change": name})]
        return [Event("tool_call", {"name": name, "input": args, "failed": failed})]

    def final(self, exit_code: int) -> Event:
        success = exit_code == 0 and self.ended and not self.errors
        error = None
        if not success:
            error = self.errors[-1] if self.errors else (
                "pi ended before its agent did" if not self.ended else f"pi exited with code {exit_code}")
        return Event("final", {"text": self.last_message or "", "success": success, "error": error})


class PiAgent(CliAgent):
    @staticmethod
    def log_line(line: str) -> str:
        """A ``message_update`` without the message so far (twice in it: ``message`` and the event's
        ``partial``); its delta stays."""
        return compact_line(line, '"type":"message_update"', ("message",), ("assistantMessageEvent", "partial"))

    name: ClassVar[str] = "pi"

    def _choices(self) -> list[str]:
        thinking = EFFORT.get(self.effort or "", self.effort)
        return [*choice_flags("pi", self.args, self.model, ("--model",), "model", ["--model", str(self.model)]),
                *choice_flags("pi", self.args, self.effort, ("--thinking",), "effort", ["--thinking", str(thinking)])]

    def _exe(self) -> str:
        return find_executable("pi", "PODIUM_PI", "npm install -g @mariozechner/pi-coding-agent")

    def _endpoint(self) -> str | None:
        """The base URL of the provider pi will call, when the user's models.json defines it."""
        provider = (flag_value(self.args, "--provider")
                    or read_config("pi", pi_home() / "settings.json").get("defaultProvider"))
        providers = read_config("pi", pi_home() / "models.json").get("providers") or {}
        base = (providers.get(provider) or {}).get("baseUrl") if provider and isinstance(providers, dict) else None
        return str(base) if base else None

    def preflight(self, workdir: Path) -> Preflight:
        self._exe()
        self._choices()
        check_endpoint("pi", self._endpoint())
        return Preflight()

    def _common(self, preflight: Preflight) -> list[str]:
        return [self._exe(), "--mode", "json", "-p", *preflight.checked().extra_args, *self._choices(), *self.args]

    def new_argv(self, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        return self._common(preflight)

    def resume_argv(self, session_id: str, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        return [*self._common(preflight), "--session", session_id]

    def wire(self, preflight: Preflight, wiring: Wiring) -> Preflight:
        """Read-only: pi's read tools only. podium's pi args may name the tools themselves, but none that writes
        or runs commands for a run that only reads (the distiller, in the user's checkout)."""
        wired = wire_plainly(self, preflight, wiring)
        if not wiring.read_only:
            return wired
        tools = flag_value(self.args, "--tools", "-t")
        if tools is None:
            return Preflight(extra_args=READ_ONLY_TOOLS)
        read_only_tools("pi", "--tools", tools, (*FILE_TOOLS, "bash"))
        return wired

    def parser(self) -> PiParser:
        return PiParser()

    def transcript(self, session_id: str) -> Path | None:
        for path in (pi_home() / "sessions").glob(f"*/*_{session_id}.jsonl"):
            return path
        return None
