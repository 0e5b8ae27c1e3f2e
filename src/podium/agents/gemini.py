"""The ``gemini`` adapter: gemini-cli in headless mode (``gemini -p ... -o stream-json``).

Output is one JSON object per line: ``init`` (``session_id``), ``message`` (the
assistant's text arrives as ``delta`` pieces, joined here into one message),
``tool_use``/``tool_result`` (matched by ``tool_id``), ``error`` and a final
``result`` with ``status`` and token ``stats``. ``--resume <session_id>`` continues
a session of the same project directory.

Limits of the stream: a shell tool's result carries its output but not its exit
code (a command that exits 3 is still ``"status": "success"``), so podium records
gemini's commands with an unknown exit code rather than guess.

Permissions: headless gemini refuses to run in a folder the user has not trusted,
and denies tools that need approval. A podium worktree is a fresh folder, so podium
passes ``--skip-trust`` (trust for this session only) and the approval mode a
worker needs to edit and run commands (``yolo``) — unless the user's settings or
podium's gemini args choose an approval mode that can edit (``auto_edit``, ``yolo``).
The args are added to podium's flags, never replacing them: an approval mode there
that cannot edit (``default``, ``plan``) is refused for a writing run, naming both.

Model: ``-m``. gemini-cli has no flag for its thinking level, so a role's ``effort``
for gemini is refused rather than silently dropped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar

from podium.agents import (
    CliAgent,
    Event,
    Preflight,
    check_endpoint,
    choice_flags,
    find_executable,
    flag_value,
    tail,
)

DEFAULT_FLAGS = ("--skip-trust", "--approval-mode", "yolo")
FILE_TOOLS = ("write_file", "replace", "edit")
SHELL_TOOLS = ("run_shell_command",)
WRITABLE_MODES = ("auto_edit", "yolo")  # approval modes in which a headless worker can edit


def gemini_home() -> Path:
    return Path(os.environ.get("GEMINI_CLI_HOME") or Path.home()) / ".gemini"


class GeminiParser:
    def __init__(self) -> None:
        self.pending: dict[str, tuple[str, dict[str, Any]]] = {}
        self.session_seen = False
        self.text: list[str] = []
        self.last_message: str | None = None
        self.result: dict[str, Any] | None = None
        self.errors: list[str] = []

    def _flush(self) -> list[Event]:
        if not self.text:
            return []
        self.last_message = "".join(self.text)
        self.text = []
        return [Event("message", {"text": self.last_message})]

    def feed(self, line: str) -> list[Event]:
        try:
            record = json.loads(line)
        except ValueError:
            return []  # gemini prints warnings as plain text; they are in the raw log
        if not isinstance(record, dict):
            return []
        kind = record.get("type")
        if kind == "message" and record.get("role") == "assistant":
            self.text.append(str(record.get("content") or ""))
            if not record.get("delta"):
                return self._flush()
            return []
        events = self._flush()
        if kind == "init" and record.get("session_id") and not self.session_seen:
            self.session_seen = True
            events.append(Event("session", {"id": record["session_id"]}))
        elif kind == "tool_use":
            self.pending[str(record.get("tool_id"))] = (str(record.get("tool_name")), record.get("parameters") or {})
        elif kind == "tool_result":
            events.extend(self._tool_result(record))
        elif kind == "error":
            message = str(record.get("message") or "error")
            if record.get("severity") == "warning":
                events.append(Event("warning", {"message": message}))
            else:
                self.errors.append(message)
                events.append(Event("error", {"message": message}))
        elif kind == "result":
            self.result = record
            stats = record.get("stats") or {}
            usage = {k: stats[k] for k in ("input_tokens", "output_tokens", "total_tokens", "cached") if k in stats}
            if usage:
                events.append(Event("usage", usage))
            if record.get("status") != "success":
                message = str((record.get("error") or {}).get("message") or "gemini reported an error")
                self.errors.append(message)
                events.append(Event("error", {"message": message}))
        return events

    def _tool_result(self, record: dict[str, Any]) -> list[Event]:
        name, params = self.pending.pop(str(record.get("tool_id")), ("?", {}))
        failed = record.get("status") != "success"
        output = str(record.get("output") or (record.get("error") or {}).get("message") or "")
        if name in SHELL_TOOLS:
            return [Event("command", {"command": params.get("command", ""), "exit_code": None, "output": tail(output),
                                      "failed": failed})]
        if name in FILE_TOOLS and not failed:
            return [Event("file_change", {"path": params.get("file_path", ""), "change": name})]
        return [Event("tool_call", {"name": name, "input": params, "failed": failed})]

    def final(self, exit_code: int) -> Event:
        self._flush()
        result = self.result or {}
        success = exit_code == 0 and result.get("status") == "success"
        error = None
        if not success:
            error = self.errors[-1] if self.errors else (
                "gemini ended without a result" if not result else f"gemini exited with code {exit_code}")
        return Event("final", {"text": self.last_message or "", "success": success, "error": error})


class GeminiAgent(CliAgent):
    name: ClassVar[str] = "gemini"

    def _choices(self) -> list[str]:
        self.no_effort()
        return choice_flags("gemini", self.args, self.model, ("-m", "--model"), "model", ["-m", str(self.model)])

    def _args_mode(self) -> str | None:
        if "-y" in self.args or "--yolo" in self.args:
            return "yolo"
        return flag_value(self.args, "--approval-mode")

    def _exe(self) -> str:
        return find_executable("gemini", "PODIUM_GEMINI", "npm install -g @google/gemini-cli")

    def preflight(self, workdir: Path) -> Preflight:
        self._exe()
        if not os.environ.get("GOOGLE_GENAI_USE_VERTEXAI"):
            check_endpoint("gemini", os.environ.get("GOOGLE_GEMINI_BASE_URL")
                           or "https://generativelanguage.googleapis.com")
        self._choices()
        chosen = self._args_mode()
        if chosen is not None and chosen not in WRITABLE_MODES:
            return Preflight(extra_args=("--skip-trust",),
                             conflict=f"--approval-mode {chosen} in podium's gemini args contradicts podium's "
                                      "--approval-mode yolo: a gemini worker must edit and run commands (set it "
                                      "for one role only)")
        mode = chosen or self._user_mode()
        flags: tuple[str, ...] = ("--skip-trust",) if mode in WRITABLE_MODES else DEFAULT_FLAGS
        note = "gemini denies tools in an untrusted folder; podium trusts this worktree for the session"
        if flags == DEFAULT_FLAGS:
            note += " and lets the worker edit and run commands in it"
            if mode:
                note += f" (your settings' approval mode {mode!r} would leave it unable to write)"
        return Preflight(extra_args=flags, notes=(note,))

    def _user_mode(self) -> str | None:
        try:
            settings = json.loads((gemini_home() / "settings.json").read_text())
        except (OSError, ValueError):
            return None
        mode = (settings.get("general") or {}).get("defaultApprovalMode") if isinstance(settings, dict) else None
        return str(mode) if mode else None

    def _common(self, preflight: Preflight) -> list[str]:
        return ["-o", "stream-json", *preflight.checked().extra_args, *self._choices(), *self.args]

    def new_argv(self, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        return [self._exe(), *self._common(preflight)]

    def resume_argv(self, session_id: str, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        return [self._exe(), "--resume", session_id, *self._common(preflight)]

    def parser(self) -> GeminiParser:
        return GeminiParser()

    def transcript(self, session_id: str) -> Path | None:
        for path in (gemini_home() / "tmp").glob(f"*/chats/session-*-{session_id[:8]}.json*"):
            try:
                with path.open() as f:
                    if session_id in f.readline():
                        return path
            except OSError:
                continue
        return None
