"""The ``qwen`` adapter: Qwen Code in headless mode (``qwen -o stream-json``, the prompt on stdin).

Output is claude's stream-json in qwen's words: ``system``/``init`` first (with
``session_id``), ``assistant`` and ``user`` messages (tool uses and their results),
then one ``result``. ``-r <session_id>`` resumes a session of the same project
directory; its transcript is ``~/.qwen/projects/<dir>/chats/<session_id>.jsonl``.

Limits of the stream: a shell tool's result carries its output but not its exit
code, so podium records qwen's commands with an unknown exit code rather than guess.

Model provider: the user's own (``security.auth.selectedType`` in
``~/.qwen/settings.json``, ``OPENAI_BASE_URL``/``OPENAI_API_KEY`` for an
OpenAI-compatible endpoint); podium adds no auth flag.

Permissions: headless qwen denies every tool call that needs approval, and only
``yolo`` runs shell commands without one, so podium passes ``--approval-mode yolo``
unless the user's settings (``tools.approvalMode``) or podium's qwen args choose it
already. The args are added to podium's flags, never replacing them: an approval
mode there that cannot run commands (``default``, ``plan``, ``auto-edit``) is
refused for a writing run, naming both.

Model: ``-m``. Qwen Code has no flag for a thinking level, so a role's ``effort``
for qwen is refused rather than silently dropped.

As the orchestrator: podium's MCP server in ``--mcp-config``, the role in ``--append-system-prompt``, podium's
unattended tools in ``--allowed-tools`` (the others need an approval headless qwen denies); reading only,
the ``default`` approval mode with the shell and file-writing tools excluded, so the model is not offered them.
A tester takes no MCP server from podium: the live browser is not tried with this CLI.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import ClassVar

from podium.agents import (
    CliAgent,
    Preflight,
    Wiring,
    check_endpoint,
    choice_flags,
    find_executable,
    flag_value,
    read_only_refused,
    wire_plainly,
)
from podium.agents.claude import ClaudeParser
from podium.errors import AgentError

DEFAULT_FLAGS = ("--approval-mode", "yolo")
SHELL_TOOLS = ("run_shell_command",)
FILE_TOOLS = ("write_file", "edit")
MCP_NAME = "podium"  # the server's name, so its tools are mcp__podium__<name>


def qwen_home() -> Path:
    return Path.home() / ".qwen"


class QwenParser(ClaudeParser):
    shell_tools = SHELL_TOOLS
    file_tools = FILE_TOOLS
    agent = "qwen"

    def exit_code(self, output: str, failed: bool) -> int | None:
        return None  # qwen's tool result does not carry it


class QwenAgent(CliAgent):
    name: ClassVar[str] = "qwen"
    wires: ClassVar[frozenset[str]] = frozenset({"read_only", "system_prompt", "mcp_apart"})

    def _choices(self) -> list[str]:
        self.no_effort()
        return choice_flags("qwen", self.args, self.model, ("-m", "--model"), "model", ["-m", str(self.model)])

    def _args_mode(self) -> str | None:
        if "-y" in self.args or "--yolo" in self.args:
            return "yolo"
        return flag_value(self.args, "--approval-mode")

    def _user_mode(self) -> str | None:
        try:
            settings = json.loads((qwen_home() / "settings.json").read_text())
        except (OSError, ValueError):
            return None
        mode = (settings.get("tools") or {}).get("approvalMode") if isinstance(settings, dict) else None
        return str(mode) if mode else None

    def _exe(self) -> str:
        return find_executable("qwen", "PODIUM_QWEN", "npm install -g @qwen-code/qwen-code")

    def preflight(self, workdir: Path) -> Preflight:
        self._exe()
        check_endpoint("qwen", os.environ.get("OPENAI_BASE_URL"))
        self._choices()
        chosen = self._args_mode()
        if chosen is not None and chosen != "yolo":
            return Preflight(conflict=f"--approval-mode {chosen} in podium's qwen args contradicts podium's "
                                      "--approval-mode yolo: a qwen worker must edit and run commands (set it for "
                                      "one role only)")
        mode = chosen or self._user_mode()
        if mode == "yolo":
            return Preflight()
        why = f"your qwen settings choose {mode!r}, where" if mode else "with no approval mode"
        return Preflight(extra_args=DEFAULT_FLAGS,
                         notes=(f"{why} headless qwen denies edits and commands; podium lets the worker edit and "
                                "run commands in this worktree (--approval-mode yolo)",))

    def _common(self, preflight: Preflight) -> list[str]:
        return ["-o", "stream-json", *preflight.checked().extra_args, *self._choices(), *self.args]

    def new_argv(self, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        return [self._exe(), *self._common(preflight)]

    def resume_argv(self, session_id: str, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        return [self._exe(), "-r", session_id, *self._common(preflight)]

    def chat_argv(self, user_args: list[str], preflight: Preflight) -> list[str]:
        return [self._exe(), *user_args, *preflight.checked().extra_args, *self._choices(), *self.args]

    def wire(self, preflight: Preflight, wiring: Wiring) -> Preflight:
        """podium's MCP server, the role and the tools it may call, in qwen's flags (see the module's doc)."""
        mode = self._args_mode()
        if wiring.read_only and mode not in (None, "default", "plan"):
            raise read_only_refused("qwen", f"--approval-mode {mode}", "contradicts podium's --approval-mode default")
        if not (wiring.mcp or wiring.servers or wiring.system_prompt):
            wired = wire_plainly(self, preflight, wiring)
            return Preflight(extra_args=("--approval-mode", "default")) if wiring.read_only and mode is None else wired
        if not (wiring.mcp and wiring.checkout):  # a run in a worktree (a tester's)
            raise AgentError("qwen takes MCP servers and a role from podium only as the orchestrator")
        server: dict[str, object] = {"command": wiring.mcp[0], "args": wiring.mcp[1:]}
        if wiring.allowed is None:
            server["trust"] = True
        servers = {name: {"command": cmd[0], "args": list(cmd[1:]), "trust": True} for name, cmd in wiring.servers}
        args = ["--mcp-config", json.dumps({"mcpServers": {**servers, MCP_NAME: server}})]
        if wiring.system_prompt:
            args += ["--append-system-prompt", wiring.system_prompt]
        if wiring.allowed:
            args += ["--allowed-tools", ",".join(f"mcp__{MCP_NAME}__{tool}" for tool in wiring.allowed)]
        if wiring.read_only:
            args += ["--exclude-tools", ",".join((*SHELL_TOOLS, *FILE_TOOLS))]
            return Preflight(extra_args=(*args, *(("--approval-mode", "default") if mode is None else ())))
        return Preflight(extra_args=(*preflight.extra_args, *args), notes=preflight.notes,
                         conflict=preflight.conflict)

    def parser(self) -> QwenParser:
        return QwenParser()

    def transcript(self, session_id: str) -> Path | None:
        for path in (qwen_home() / "projects").glob(f"*/chats/{session_id}.jsonl"):
            return path
        return None
