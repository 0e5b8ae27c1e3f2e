"""The ``copilot`` adapter: GitHub Copilot CLI in prompt mode (``copilot --output-format json``, the prompt on
stdin).

Output is one JSON event per line: ``assistant.message`` (its text and the tool calls it
asks for), ``tool.execution_start``/``tool.execution_complete`` (matched by
``toolCallId``; a shell command's ``shellExecution.exitCode``, a file tool's
``fileEdits``), ``session.error``, ``assistant.usage``, and a last ``result`` with the
``sessionId`` and the exit code — the session id arrives at the end of the first run,
not the start. Events marked ``ephemeral`` (deltas, progress) are left to the raw log.
``--resume=<session id>`` continues a session; its transcript is
``$COPILOT_HOME/session-state/<id>/events.jsonl`` (``~/.copilot`` by default).

Permissions: in prompt mode copilot denies every tool it would ask about, so podium
allows the two a worker needs (``--allow-tool shell --allow-tool write``) unless its
copilot args allow all tools already (``--allow-all-tools``, ``--allow-all``,
``--yolo``); the user's own ``--allow-tool``/``--deny-tool`` in the args are added to
them (a denial wins in copilot). A run that only reads (the distiller) gets ``--deny-tool shell --deny-tool
write`` instead, which holds whatever the args allow.

Model and effort: ``--model`` and ``--reasoning-effort`` (podium's levels are copilot's).
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
    find_executable,
    json_record,
    tail,
    wire_plainly,
)

DEFAULT_FLAGS = ("--allow-tool", "shell", "--allow-tool", "write")
READ_ONLY_FLAGS = ("--deny-tool", "shell", "--deny-tool", "write")
ALLOW_ALL = ("--allow-all-tools", "--allow-all", "--yolo")
SHELL_TOOLS = ("bash", "shell", "powershell")
_EXIT = re.compile(r"completed with exit code (\d+)")


def copilot_home() -> Path:
    return Path(os.environ.get("COPILOT_HOME") or Path.home() / ".copilot")


class CopilotParser:
    def __init__(self) -> None:
        self.pending: dict[str, tuple[str, dict[str, Any]]] = {}
        self.last_message: str | None = None
        self.result: dict[str, Any] | None = None
        self.errors: list[str] = []

    def feed(self, line: str) -> list[Event]:
        record = json_record(line)
        if record is None or record.get("ephemeral"):
            return []
        kind, data = record.get("type"), record.get("data") or {}
        if kind == "assistant.message" and data.get("content"):
            self.last_message = str(data["content"])
            return [Event("message", {"text": self.last_message})]
        if kind == "tool.execution_start":
            self.pending[str(data.get("toolCallId"))] = (str(data.get("toolName")), data.get("arguments") or {})
        elif kind == "tool.execution_complete":
            return [self._tool(data)]
        elif kind == "assistant.usage":
            return [Event("usage", {"input_tokens": data.get("inputTokens", 0),
                                    "output_tokens": data.get("outputTokens", 0)})]
        elif kind == "session.error":
            message = str(data.get("message") or "copilot reported an error")
            self.errors.append(message)
            return [Event("error", {"message": message})]
        elif kind == "result":
            self.result = record
            return [Event("session", {"id": record["sessionId"]})] if record.get("sessionId") else []
        return []

    def _tool(self, data: dict[str, Any]) -> Event:
        name, args = self.pending.pop(str(data.get("toolCallId")), ("?", {}))
        failed = not data.get("success", True)
        output = str((data.get("result") or {}).get("content") or (data.get("error") or {}).get("message") or "")
        if name in SHELL_TOOLS:
            code = (data.get("shellExecution") or {}).get("exitCode")
            m = _EXIT.search(output)
            exit_code = code if isinstance(code, int) else (int(m.group(1)) if m else None)
            return Event("command", {"command": args.get("command", ""), "exit_code": exit_code, "output": tail(output),
                                     "failed": failed})
        edits = data.get("fileEdits") or []
        if edits and not failed:
            return Event("file_change", {"path": edits[0].get("path", ""), "change": edits[0].get("kind", name)})
        return Event("tool_call", {"name": name, "input": args, "failed": failed})

    def final(self, exit_code: int) -> Event:
        result = self.result or {}
        success = exit_code == 0 and bool(result) and result.get("exitCode") == 0 and not self.errors
        error = None
        if not success:
            error = self.errors[-1] if self.errors else (
                "copilot ended without a result" if not result else f"copilot exited with code {exit_code}")
        return Event("final", {"text": self.last_message or "", "success": success, "error": error})


class CopilotAgent(CliAgent):
    name: ClassVar[str] = "copilot"

    def _choices(self) -> list[str]:
        return [*choice_flags("copilot", self.args, self.model, ("--model",), "model", ["--model", str(self.model)]),
                *choice_flags("copilot", self.args, self.effort, ("--reasoning-effort",), "effort",
                              ["--reasoning-effort", str(self.effort)])]

    def _exe(self) -> str:
        return find_executable("copilot", "PODIUM_COPILOT", "npm install -g @github/copilot")

    def preflight(self, workdir: Path) -> Preflight:
        self._exe()
        self._choices()
        check_endpoint("copilot", os.environ.get("COPILOT_PROVIDER_BASE_URL"))  # the user's own provider, if any
        if any(a in ALLOW_ALL for a in self.args):
            return Preflight()
        return Preflight(extra_args=DEFAULT_FLAGS,
                         notes=("copilot's prompt mode denies the tools it would ask about; podium allows shell and "
                                "write in this worktree (--allow-tool shell --allow-tool write)",))

    def _common(self, preflight: Preflight) -> list[str]:
        return [self._exe(), "--output-format", "json", *preflight.checked().extra_args, *self._choices(), *self.args]

    def new_argv(self, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        return self._common(preflight)

    def resume_argv(self, session_id: str, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        return [*self._common(preflight), f"--resume={session_id}"]

    def wire(self, preflight: Preflight, wiring: Wiring) -> Preflight:
        wired = wire_plainly(self, preflight, wiring)
        return Preflight(extra_args=READ_ONLY_FLAGS) if wiring.read_only else wired

    def parser(self) -> CopilotParser:
        return CopilotParser()

    def transcript(self, session_id: str) -> Path | None:
        path = copilot_home() / "session-state" / session_id / "events.jsonl"
        return path if path.is_file() else None
