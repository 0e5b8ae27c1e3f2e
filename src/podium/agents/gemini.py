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

As the orchestrator: gemini-cli takes MCP servers and standing instructions only from settings files and
context files, never from flags. podium keeps a folder of its own per orchestrator (under podium's state
directory) with the CLI's project files — ``.gemini/settings.json`` (podium's MCP server, its unattended tools
allowed without confirmation; for reading only, the shell and file-writing tools excluded) and ``GEMINI.md``
(the role) — and starts gemini there, trusted for the session, with the repository as an included directory.
The user's own settings still hold beneath these. A tester works in its worktree, so a gemini tester takes no
MCP server from podium.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
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
    flag_value,
    json_record,
    read_only_refused,
    tail,
    wire_plainly,
)
from podium.errors import AgentError

DEFAULT_FLAGS = ("--skip-trust", "--approval-mode", "yolo")
FILE_TOOLS = ("write_file", "replace", "edit")
SHELL_TOOLS = ("run_shell_command",)
WRITABLE_MODES = ("auto_edit", "yolo")  # approval modes in which a headless worker can edit
MCP_NAME = "podium"
TRUSTED = "GEMINI_CLI_TRUST_WORKSPACE=true"  # what --skip-trust sets, in time for the folder's own settings


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
        record = json_record(line)
        if record is None:
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
    # MCP servers only from a folder of podium's, away from the repository: an orchestrator's, not a tester's
    wires: ClassVar[frozenset[str]] = frozenset({"read_only", "system_prompt", "mcp_apart"})

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

    def _start(self, preflight: Preflight) -> list[str]:
        """gemini, trusting the folder a wired run starts in (podium's own) before it reads its settings."""
        return [shutil.which("env") or "/usr/bin/env", TRUSTED, self._exe()] if preflight.cwd else [self._exe()]

    def new_argv(self, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        return [*self._start(preflight), *self._common(preflight)]

    def resume_argv(self, session_id: str, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        return [*self._start(preflight), "--resume", session_id, *self._common(preflight)]

    def chat_argv(self, user_args: list[str], preflight: Preflight) -> list[str]:
        return [*self._start(preflight), *user_args, *preflight.checked().extra_args, *self._choices(), *self.args]

    def wire(self, preflight: Preflight, wiring: Wiring) -> Preflight:
        """podium's MCP server and the role from a folder of podium's (see the module's doc); read-only as the
        ``default`` approval mode (headless, it confirms nothing) with the writing tools excluded."""
        mode = self._args_mode()
        if wiring.read_only and mode not in (None, "default", "plan"):
            raise read_only_refused("gemini", f"--approval-mode {mode}", "contradicts podium's --approval-mode default")
        if not (wiring.mcp or wiring.servers or wiring.system_prompt):
            wired = wire_plainly(self, preflight, wiring)
            if wiring.read_only:  # the distiller, in the user's checkout: trusted for the session, reading only
                return Preflight(extra_args=("--skip-trust", *(("--approval-mode", "default") if mode is None
                                                               else ())))
            return wired
        if not (wiring.mcp and wiring.checkout):  # a run that must work in its own folder (a tester's)
            raise AgentError("gemini takes MCP servers and a role from podium only as the orchestrator, which "
                             "starts in a folder of podium's")
        folder = _settings_folder(wiring)
        args = ["--include-directories", wiring.checkout]
        if wiring.read_only:
            args += ["--approval-mode", "default"] if mode is None else []
        else:
            args += [a for a in preflight.extra_args if a != "--skip-trust"]
        return Preflight(extra_args=tuple(args), notes=() if wiring.read_only else preflight.notes,
                         conflict=None if wiring.read_only else preflight.conflict, cwd=str(folder))

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


def _settings_folder(wiring: Wiring) -> Path:
    """podium's folder for one orchestrator (the same for every turn of it: gemini keeps sessions per folder),
    its settings and role written afresh."""
    import platformdirs

    assert wiring.mcp and wiring.checkout
    key = hashlib.sha256(json.dumps([wiring.checkout, wiring.mcp]).encode()).hexdigest()[:16]
    folder = platformdirs.user_state_path("podium") / "gemini" / key
    (folder / ".gemini").mkdir(parents=True, exist_ok=True)
    # gemini hands MCP servers its environment without what looks like a secret: podium's needs the user's own
    # (their tokens, their agents' keys), as references that gemini expands, their values never in the file
    server: dict[str, Any] = {"command": wiring.mcp[0], "args": wiring.mcp[1:], "cwd": wiring.checkout,
                              "env": {name: f"${{{name}}}" for name in sorted(os.environ)}}
    servers = {name: {"command": cmd[0], "args": list(cmd[1:]), "trust": True} for name, cmd in wiring.servers}
    tools: dict[str, Any] = {}
    if wiring.allowed is None:
        server["trust"] = True
    else:
        tools["allowed"] = [f"mcp_{MCP_NAME}_{t}" for t in wiring.allowed]
    if wiring.read_only:
        tools["exclude"] = [*SHELL_TOOLS, *FILE_TOOLS]
    settings = {"mcpServers": {**servers, MCP_NAME: server}, "tools": tools}
    (folder / ".gemini" / "settings.json").write_text(json.dumps(settings, indent=2) + "\n")
    role = (wiring.system_prompt or "").rstrip()
    (folder / "GEMINI.md").write_text(f"{role}\n\n---\n\nThe repository you work on is {wiring.checkout}: "
                                      "read its files there, by their full paths.\n")
    return folder
