"""The ``claude`` adapter: Claude Code in headless mode (``claude -p``).

Output is ``--output-format stream-json --verbose``: one JSON object per line,
``system``/``init`` first (with ``session_id``), then ``assistant`` and ``user``
messages (tool uses and their results), then one ``result`` with the final text,
``is_error`` and usage.

Session id: taken from the first run only. A resumed run's stream may carry a
different id (claude-code #58760); podium keeps resuming the first one.

Permissions: in ``-p`` mode every tool call that needs approval is denied, so a
worker started with no permission flag cannot write. podium passes an explicit,
minimal mode: edits accepted, Bash allowed (to run tests and tools) — confined to
the job's own worktree. A ``permissions.defaultMode`` in the user's settings that
lets a headless worker edit (``acceptEdits``, ``auto``, ``bypassPermissions``), or
such a ``--permission-mode`` in podium's claude args, replaces that choice; a
read-only one in the settings does not, and the job log says so. The args are added
to podium's flags, never replacing them: a ``--permission-mode`` there that a run
cannot work with (``plan`` for a worker; anything but ``default`` for a read-only
orchestrator or distiller) is refused, naming both flags.

Model and effort: ``--model`` and ``--effort`` (low … max; the request's
``output_config.effort``).
"""

from __future__ import annotations

import json
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
    flag_value,
    read_only_refused,
    tail,
)

MCP_NAME = "podium"  # the server's name, so its tools are mcp__podium__<name>
DEFAULT_PERMISSIONS = ("--permission-mode", "acceptEdits", "--allowedTools", "Bash")
FILE_TOOLS = ("Write", "Edit", "MultiEdit", "NotebookEdit")
WRITABLE_MODES = ("acceptEdits", "auto", "bypassPermissions")  # modes in which a headless worker can edit
_EXIT = re.compile(r"^Exit code (\d+)")


def claude_home() -> Path:
    return Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home() / ".claude")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(_text(c.get("text", "")) if isinstance(c, dict) else str(c) for c in content)
    return ""


class ClaudeParser:
    """claude's stream-json (qwen's too, with its own tool names: ``shell_tools``, ``file_tools``)."""

    shell_tools: ClassVar[tuple[str, ...]] = ("Bash",)
    file_tools: ClassVar[tuple[str, ...]] = FILE_TOOLS
    agent: ClassVar[str] = "claude"

    def __init__(self) -> None:
        self.pending: dict[str, tuple[str, dict[str, Any]]] = {}
        self.session_seen = False
        self.result: dict[str, Any] | None = None
        self.last_message: str | None = None
        self.errors: list[str] = []

    def feed(self, line: str) -> list[Event]:
        try:
            record = json.loads(line)
        except ValueError:
            return [Event("message", {"text": line.rstrip()})] if line.strip() else []
        if not isinstance(record, dict):
            return []
        events: list[Event] = []
        if record.get("session_id") and not self.session_seen:
            self.session_seen = True
            events.append(Event("session", {"id": record["session_id"]}))
        kind = record.get("type")
        if kind == "system" and record.get("subtype") == "api_retry":
            attempt = f"{record.get('attempt')}/{record.get('max_retries')}"
            events.append(Event("retry", {"message": f"API retry {attempt}: {record.get('error')}"}))
        elif kind == "assistant":
            events.extend(self._assistant(record.get("message") or {}))
        elif kind == "user":
            events.extend(self._tool_results(record.get("message") or {}))
        elif kind == "result":
            self.result = record
            if record.get("usage"):
                events.append(Event("usage", record["usage"]))
            if record.get("is_error"):
                message = str(record.get("result") or record.get("subtype") or f"{self.agent} reported an error")
                self.errors.append(message)
                events.append(Event("error", {"message": message}))
        return events

    def _assistant(self, message: dict[str, Any]) -> list[Event]:
        events = []
        for block in message.get("content") or []:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "text" and block.get("text"):
                self.last_message = block["text"]
                events.append(Event("message", {"text": block["text"]}))
            elif block.get("type") == "tool_use":
                self.pending[str(block.get("id"))] = (str(block.get("name")), block.get("input") or {})
        return events

    def _tool_results(self, message: dict[str, Any]) -> list[Event]:
        events = []
        content = message.get("content")
        for block in content if isinstance(content, list) else []:
            if not isinstance(block, dict) or block.get("type") != "tool_result":
                continue
            name, tool_input = self.pending.pop(str(block.get("tool_use_id")), ("?", {}))
            output = _text(block.get("content"))
            failed = bool(block.get("is_error"))
            if name in self.shell_tools:
                events.append(
                    Event(
                        "command",
                        {"command": tool_input.get("command", ""), "exit_code": self.exit_code(output, failed),
                         "output": tail(output)},
                    )
                )
            elif name in self.file_tools and not failed:
                path = tool_input.get("file_path") or tool_input.get("notebook_path") or ""
                events.append(Event("file_change", {"path": path, "change": name.lower()}))
            else:
                events.append(Event("tool_call", {"name": name, "input": tool_input, "failed": failed}))
        return events

    def exit_code(self, output: str, failed: bool) -> int | None:
        m = _EXIT.match(output)
        return int(m.group(1)) if m else (1 if failed else 0)

    def final(self, exit_code: int) -> Event:
        result = self.result or {}
        text = str(result.get("result") or self.last_message or "")
        success = exit_code == 0 and bool(result) and not result.get("is_error")
        error = None
        if not success:
            error = (
                self.errors[-1]
                if self.errors
                else (f"{self.agent} ended without a result" if not result
                      else f"{self.agent} exited with code {exit_code}")
            )
        return Event("final", {"text": text, "success": success, "error": error})


class ClaudeAgent(CliAgent):
    name: ClassVar[str] = "claude"
    can_resume: ClassVar[bool] = True
    prompt_on_stdin: ClassVar[bool] = True  # -p without a prompt reads it from stdin
    wires: ClassVar[frozenset[str]] = frozenset({"mcp", "system_prompt", "read_only"})

    def choices(self) -> list[str]:
        """``--model``/``--effort`` as chosen for this run (none: claude's own)."""
        return [*choice_flags("claude", self.args, self.model, ("--model",), "model", ["--model", str(self.model)]),
                *choice_flags("claude", self.args, self.effort, ("--effort",), "effort",
                              ["--effort", str(self.effort)])]

    def _args_mode(self) -> str | None:
        """The permission mode podium's claude args choose, if any."""
        if "--dangerously-skip-permissions" in self.args:
            return "bypassPermissions"
        return flag_value(self.args, "--permission-mode")

    def _exe(self) -> str:
        return find_executable("claude", "PODIUM_CLAUDE", "npm install -g @anthropic-ai/claude-code")

    def preflight(self, workdir: Path) -> Preflight:
        self._exe()
        if not any(os.environ.get(v) for v in ("CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX")):
            check_endpoint("claude", os.environ.get("ANTHROPIC_BASE_URL") or "https://api.anthropic.com")
        self.choices()
        chosen = self._args_mode()
        if chosen in WRITABLE_MODES:  # the user's own widening: Bash still allowed, as a worker needs
            return Preflight(extra_args=("--allowedTools", "Bash") if chosen == "acceptEdits" else ())
        if chosen is not None:
            return Preflight(conflict=f"--permission-mode {chosen} in podium's claude args contradicts podium's "
                                      "--permission-mode acceptEdits: a claude worker must edit and run commands "
                                      "(set it for one role only, e.g. [roles.distill] args)")
        mode = self._user_mode(workdir)
        if mode in WRITABLE_MODES:
            return Preflight()
        why = f"your claude settings choose {mode!r}, where" if mode else "with no permission mode"
        return Preflight(
            extra_args=DEFAULT_PERMISSIONS,
            notes=(f"{why} claude -p denies edits; podium allows edits and Bash inside this worktree",),
        )

    def _user_mode(self, workdir: Path) -> str | None:
        for path in (
            workdir / ".claude" / "settings.local.json",
            workdir / ".claude" / "settings.json",
            claude_home() / "settings.json",
        ):
            try:
                mode = (json.loads(path.read_text()).get("permissions") or {}).get("defaultMode")
            except (OSError, ValueError, AttributeError):
                continue
            if mode:
                return str(mode)
        return None

    def _common(self, preflight: Preflight) -> list[str]:
        return ["--output-format", "stream-json", "--verbose", *preflight.checked().extra_args, *self.choices(),
                *self.args]

    def new_argv(self, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        return [self._exe(), "-p", *self._common(preflight)]

    def resume_argv(self, session_id: str, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        return [self._exe(), "-p", "--resume", session_id, *self._common(preflight)]

    def wire(self, preflight: Preflight, wiring: Wiring) -> Preflight:
        """podium's MCP server (and any other, such as the tester's live browser) as ``--mcp-config`` with its
        tools pre-allowed (``-p`` denies every tool call that is not), the role through
        ``--append-system-prompt``, and read-only as claude's ``default`` permission mode instead of podium's
        acceptEdits + Bash, with the shell and the file-writing tools disallowed: a deny rule holds over the
        user's own allow rules (``permissions.allow`` in their settings), which the mode alone would follow."""
        args = (["--permission-mode", "default", "--disallowedTools", ",".join(("Bash", *FILE_TOOLS))]
                if wiring.read_only else list(preflight.extra_args))
        chosen = self._args_mode()
        if wiring.read_only and chosen not in (None, "default"):
            raise read_only_refused("claude", f"--permission-mode {chosen}",
                                    "contradicts podium's --permission-mode default")
        if wiring.system_prompt:
            args += ["--append-system-prompt", wiring.system_prompt]
        servers = {name: {"type": "stdio", "command": cmd[0], "args": list(cmd[1:])} for name, cmd in wiring.servers}
        tools = [f"mcp__{name}" for name in servers]
        if wiring.mcp:
            servers[MCP_NAME] = {"type": "stdio", "command": wiring.mcp[0], "args": wiring.mcp[1:]}
            tools += ([f"mcp__{MCP_NAME}__{t}" for t in wiring.allowed] if wiring.allowed is not None
                      else [f"mcp__{MCP_NAME}"])
        if servers:
            args += ["--mcp-config", json.dumps({"mcpServers": servers}), "--allowedTools", ",".join(tools)]
        return Preflight(extra_args=tuple(args), notes=() if wiring.read_only else preflight.notes,
                         conflict=None if wiring.read_only else preflight.conflict)

    def chat_argv(self, user_args: list[str], preflight: Preflight) -> list[str]:
        return [self._exe(), *user_args, *preflight.checked().extra_args, *self.choices()]

    def parser(self) -> ClaudeParser:
        return ClaudeParser()

    def transcript(self, session_id: str) -> Path | None:
        for path in (claude_home() / "projects").glob(f"*/{session_id}.jsonl"):
            return path
        return None
