"""The ``codex`` adapter: ``codex exec --json`` workers.

Process contract: codex reads extra input from stdin whenever stdin is not a TTY,
so the runner gives it /dev/null. ``--json`` prints one event per line:
``thread.started`` (the thread id, which is the session id for ``codex exec resume``),
``turn.started``, ``item.started``/``item.completed`` (agent_message,
command_execution, file_change, mcp_tool_call, error, ...), and ``turn.completed``
(usage) or ``turn.failed``.

Configuration: podium honours the user's codex config (``$CODEX_HOME/config.toml``)
and adds nothing, except that a worker must be able to write: codex's default
sandbox is read-only, where commands "succeed" but every write fails. When the
user's config does not choose a sandbox, podium passes the minimal flag that
allows writes in the worktree (``workspace-write``) and says so in the job log.
In ``workspace-write`` the sandbox keeps ``.git`` read-only, so codex workers leave
their work as changes in the worktree, not as commits. A ``--sandbox read-only`` in
podium's codex args contradicts that for a writing run and is refused.

MCP servers (the tester's live browser, podium's screenshot tool): ``-c mcp_servers.<name>.…``; codex
offers their tools to the model through its ``tool_search`` (for models whose metadata says they search).

As the orchestrator: the role goes in as ``-c developer_instructions=…`` (codex's own place for instructions
added to its system prompt), podium's tools as an MCP server (the allowed ones approved, the others asking
first, which headless means refused), and reading only as codex's own ``--sandbox read-only``, which no user
config or profile then widens; a bypass of the sandbox in podium's codex args is refused for such a run.

Model and effort: ``-m MODEL`` and ``-c model_reasoning_effort="…"`` (the Responses
API's ``reasoning.effort``; podium's ``max`` is codex's highest, ``xhigh``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, ClassVar

from podium._compat import tomllib
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
    wire_plainly,
)
from podium.errors import AgentError

WRITABLE_SANDBOXES = ("workspace-write", "danger-full-access")
EFFORT = {"low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh", "max": "xhigh"}


def codex_home() -> Path:
    return Path(os.environ.get("CODEX_HOME") or Path.home() / ".codex")


class CodexParser:
    def __init__(self) -> None:
        self.last_message: str | None = None
        self.failed: str | None = None
        self.session_seen = False

    def feed(self, line: str) -> list[Event]:
        try:
            record = json.loads(line)
        except ValueError:
            return [Event("message", {"text": line.rstrip()})] if line.strip() else []
        if not isinstance(record, dict):
            return []
        kind = record.get("type")
        if kind == "thread.started" and not self.session_seen and record.get("thread_id"):
            self.session_seen = True
            return [Event("session", {"id": record["thread_id"]})]
        if kind == "item.completed":
            return self._item(record.get("item") or {})
        if kind == "turn.completed":
            usage = record.get("usage") or {}
            return [Event("usage", usage)] if usage else []
        if kind == "turn.failed":
            message = str((record.get("error") or {}).get("message") or "turn failed")
            self.failed = message
            return [Event("error", {"message": message})]
        if kind == "error":
            message = str(record.get("message") or "error")
            if message.startswith("Reconnecting"):
                return [Event("retry", {"message": message})]
            self.failed = self.failed or message
            return [Event("error", {"message": message})]
        return []

    def _item(self, item: dict[str, Any]) -> list[Event]:
        kind = item.get("type")
        if kind == "agent_message":
            self.last_message = str(item.get("text") or "")
            return [Event("message", {"text": self.last_message})]
        if kind == "command_execution":
            return [
                Event(
                    "command",
                    {
                        "command": item.get("command", ""),
                        "exit_code": item.get("exit_code"),
                        "output": tail(str(item.get("aggregated_output") or "")),
                    },
                )
            ]
        if kind == "file_change":
            return [
                Event("file_change", {"path": c.get("path", ""), "change": c.get("kind", "update")})
                for c in item.get("changes") or []
            ]
        if kind in ("mcp_tool_call", "web_search", "collab_tool_call"):
            name = item.get("tool") or item.get("query") or kind
            server = {"server": str(item["server"])} if item.get("server") else {}
            return [Event("tool_call", {"name": str(name), "input": item.get("arguments"), **server})]
        if kind == "error":
            return [Event("warning", {"message": str(item.get("message") or "")})]
        return []

    def final(self, exit_code: int) -> Event:
        success = exit_code == 0 and self.failed is None
        return Event("final", {"text": self.last_message or "", "success": success, "error": self.failed})


class CodexAgent(CliAgent):
    name: ClassVar[str] = "codex"
    can_resume: ClassVar[bool] = True
    prompt_on_stdin: ClassVar[bool] = True  # PROMPT "-": read from stdin
    wires: ClassVar[frozenset[str]] = frozenset({"read_only", "mcp", "system_prompt"})

    def _choices(self) -> list[str]:
        """``-m`` and the reasoning effort, when chosen; AgentError when the args choose them too (also as
        ``-c model=…`` / ``-c model_reasoning_effort=…``)."""
        configs = [self.args[i + 1] for i, a in enumerate(self.args[:-1]) if a in ("-c", "--config")]
        by_config = {k.strip(): f"-c {k.strip()}={v.strip()}" for k, _, v in (c.partition("=") for c in configs)}
        model_given = "model" in by_config and by_config["model"]
        effort_given = by_config.get("model_reasoning_effort")
        effort = EFFORT.get(self.effort or "", self.effort)
        return [*choice_flags("codex", self.args, self.model, ("-m", "--model"), "model", ["-m", str(self.model)],
                              given=model_given or None),
                *choice_flags("codex", self.args, self.effort, (), "effort",
                              ["-c", f'model_reasoning_effort="{effort}"'], given=effort_given)]

    def preflight(self, workdir: Path) -> Preflight:
        self._exe()
        self._choices()
        config = self._config()
        check_endpoint("codex", self._endpoint(config))
        sandbox = self._sandbox(config)
        chosen = flag_value(self.args, "-s", "--sandbox")
        if chosen is not None and chosen not in WRITABLE_SANDBOXES:
            return Preflight(conflict=f"--sandbox {chosen} in podium's codex args contradicts podium's "
                                      'sandbox_mode="workspace-write": a codex worker must write to its worktree '
                                      "(set it for one role only, e.g. [roles.distill] args)")
        if sandbox in WRITABLE_SANDBOXES or chosen is not None or any(a.startswith("--dangerously")
                                                                       for a in self.args):
            return Preflight()
        if sandbox not in (None, "read-only"):
            raise AgentError(f"unknown codex sandbox_mode {sandbox!r} in {codex_home() / 'config.toml'}")
        why = "codex's configured sandbox is read-only" if sandbox else "codex's default sandbox is read-only"
        return Preflight(
            extra_args=("-c", 'sandbox_mode="workspace-write"'),
            notes=(f"{why}; podium runs this worker with sandbox_mode=workspace-write so it can change files",),
        )

    def _config(self) -> dict[str, Any]:
        path = codex_home() / "config.toml"
        try:
            return tomllib.loads(path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, tomllib.TOMLDecodeError) as e:
            raise AgentError(f"cannot read codex config {path}: {e}") from None

    def _profile(self, config: dict[str, Any]) -> dict[str, Any]:
        """The profile podium's args select (``--profile NAME``), else the config's own."""
        name = config.get("profile")
        for i, arg in enumerate(self.args):
            if arg in ("-p", "--profile") and i + 1 < len(self.args):
                name = self.args[i + 1]
        return dict((config.get("profiles") or {}).get(name) or {}) if name else {}

    def _sandbox(self, config: dict[str, Any]) -> str | None:
        value = self._profile(config).get("sandbox_mode", config.get("sandbox_mode"))
        return str(value) if value is not None else None

    def _endpoint(self, config: dict[str, Any]) -> str | None:
        provider = str(self._profile(config).get("model_provider", config.get("model_provider", "openai")))
        if provider == "openai":
            return os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        base = ((config.get("model_providers") or {}).get(provider) or {}).get("base_url")
        return str(base) if base else None

    def _exe(self) -> str:
        return find_executable("codex", "PODIUM_CODEX", "npm install -g @openai/codex")

    def _common(self, preflight: Preflight) -> list[str]:
        return [self._exe(), "exec", "--json", *preflight.checked().extra_args, *self._choices(), *self.args]

    def new_argv(self, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        return [*self._common(preflight), "-"]

    def resume_argv(self, session_id: str, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        return [*self._common(preflight), "resume", session_id, "-"]

    def wire(self, preflight: Preflight, wiring: Wiring) -> Preflight:
        """MCP servers as ``-c mcp_servers.<name>.…``, their tools approved (``codex exec`` asks no one: a tool
        that needs approval is refused), podium's own with only ``allowed`` of its tools approved; the role as
        developer instructions; read-only as ``--sandbox read-only``."""
        wired = wire_plainly(self, preflight, wiring)
        servers = [*wiring.servers, *((("podium", tuple(wiring.mcp)),) if wiring.mcp else ())]
        args: list[str] = []
        if wiring.read_only:
            args += self._read_only()
        if wiring.system_prompt:  # a TOML basic string: JSON's escapes are TOML's
            args += ["-c", f"developer_instructions={json.dumps(wiring.system_prompt)}"]
        for name, command in servers:
            args += ["-c", f"mcp_servers.{name}.command={json.dumps(command[0])}",
                     "-c", f"mcp_servers.{name}.args={json.dumps(list(command[1:]))}",
                     "-c", f'mcp_servers.{name}.default_tools_approval_mode="approve"']
        if wiring.mcp:  # up before the first request (else its tools come a turn late), or the run fails
            args += ["-c", "mcp_servers.podium.required=true",
                     # codex hands an MCP server only a few variables: podium's needs the user's (their tokens,
                     # their agents' endpoints), named here, their values never in a command line
                     "-c", f"mcp_servers.podium.env_vars={json.dumps(sorted(os.environ))}"]
        if wiring.mcp and wiring.allowed is not None:  # the others ask first (headless: refused), as claude's do
            args += ["-c", 'mcp_servers.podium.default_tools_approval_mode="prompt"']
            for tool in wiring.allowed:
                args += ["-c", f'mcp_servers.podium.tools.{tool}.approval_mode="approve"']
        return Preflight(extra_args=(*wired.extra_args, *args), notes=wired.notes, conflict=wired.conflict)

    def _read_only(self) -> list[str]:
        """``--sandbox read-only`` unless podium's codex args say so already; AgentError when they widen it."""
        chosen = flag_value(self.args, "-s", "--sandbox")
        bypass = next((a for a in self.args if a.startswith("--dangerously")), None)
        if bypass or chosen not in (None, "read-only"):
            raise read_only_refused("codex", bypass or f"--sandbox {chosen}",
                                    "contradicts podium's --sandbox read-only")
        return ["--sandbox", "read-only"] if chosen is None else []

    def chat_argv(self, user_args: list[str], preflight: Preflight) -> list[str]:
        return [self._exe(), *user_args, *preflight.checked().extra_args, *self._choices(), *self.args]

    def parser(self) -> CodexParser:
        return CodexParser()

    def transcript(self, session_id: str) -> Path | None:
        sessions = codex_home() / "sessions"
        for path in sessions.glob(f"*/*/*/rollout-*-{session_id}.jsonl"):
            return path
        return None
