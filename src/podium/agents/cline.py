"""The ``cline`` adapter: Cline's CLI in JSON mode (``cline --json``), a worker only.

Prompt: in JSON mode cline needs a prompt argument, and appends what it reads on a
piped stdin to it; so the argument is a fixed lead (``LEAD``) and the prompt itself
goes on stdin, out of the process listing.

Output is one JSON object per line: a ``hook_event`` ``agent_start`` first, then
``agent_event``s — ``content_start``/``content_end`` of the agent's text and of each
tool call (matched by ``toolCallId``; ``run_commands`` ends with one result per
command, a failed one saying "Command exited with code N"; ``editor`` writes files),
``usage`` per model call, ``error`` (``recoverable`` or not) — and a last
``run_result`` with its ``finishReason`` and text.

Session: cline keeps each one as ``<data dir>/sessions/<id>/<id>.json`` (with the
pid of the cline running it) and ``<id>.messages.json``, but its stream never names
it; ``cline history --json`` would, after the run, at the cost of another cline
start of seconds. The parser, which runs in the job's runner (the parent of the
job's cline), reads it from the session file whose pid is its own agent's, when the
agent starts. cline has no headless resume (``--id`` opens its interactive terminal
UI), so a cline job cannot be resumed, and cline cannot be the tester, the
orchestrator or the distiller, which continue their sessions.

Hub: by default cline runs a session in its hub daemon when one is up, and starts
one when none is — a process of a session of its own that never exits. A session
run in the hub is outside the job's process group (``podium cancel`` and the
watchdog would miss it), and a daemon started by the job would outlive it; so
podium runs cline with ``CLINE_SESSION_BACKEND_MODE=local`` (through ``env``),
which does neither. An environment that chooses ``hub`` or ``remote`` is refused,
naming both.

Model provider: the user's own (``cline auth``, kept in
``<data dir>/settings/providers.json``; ``-P`` in podium's cline args chooses another).

Permissions: cline's act mode approves every tool by itself unless the user's
global settings turn that off (``toolAutoApprove``, ``planActMode`` in
``<data dir>/settings/global-settings.json``); then podium passes ``--auto-approve
true`` or ``--act`` and says so. Args that cannot write (``--plan``, ``--auto-approve
false``) or that run in the hub (``--zen``) are refused for a worker, naming both.

Model and effort: ``-m`` and ``--thinking`` (low … xhigh; podium's ``max`` is ``xhigh``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any, ClassVar

from podium.agents import (
    CliAgent,
    Event,
    Preflight,
    check_endpoint,
    choice_flags,
    compact_line,
    find_executable,
    flag_value,
    json_record,
    read_config,
    tail,
)
from podium.errors import AgentError

LEAD = "Your task follows."
BACKEND = "CLINE_SESSION_BACKEND_MODE"
EFFORT = {"low": "low", "medium": "medium", "high": "high", "xhigh": "xhigh", "max": "xhigh"}
SESSION_WINDOW = 60.0  # a session file named (by its start) this long before the parser was made may be its agent's
_EXIT = re.compile(r"Command exited with code (\d+)")


def cline_data() -> Path:
    home = Path(os.environ.get("CLINE_DIR") or Path.home() / ".cline")
    return Path(os.environ.get("CLINE_DATA_DIR") or home / "data")


def sessions_dir() -> Path:
    return Path(os.environ.get("CLINE_SESSION_DATA_DIR") or cline_data() / "sessions")


def own_session(since: float) -> str | None:
    """The id of the session a cline started by this process runs (its pid in the session file), among the
    sessions started after ``since``; None when there is none."""
    import psutil

    try:
        mine = {p.pid for p in psutil.Process().children(recursive=True)}
    except psutil.Error:
        return None
    for folder in sorted(sessions_dir().glob("*_*"), reverse=True):
        started = folder.name.partition("_")[0]
        if not started.isdigit() or int(started) / 1000 < since - SESSION_WINDOW:
            continue
        try:
            record = json.loads((folder / f"{folder.name}.json").read_text())
        except (OSError, ValueError):
            continue
        if isinstance(record, dict) and record.get("pid") in mine:
            return str(record.get("session_id") or folder.name)
    return None


class ClineParser:
    def __init__(self) -> None:
        self.made = time.time()
        self.session: str | None = None
        self.pending: dict[str, dict[str, Any]] = {}
        self.last_message: str | None = None
        self.result: dict[str, Any] | None = None
        self.errors: list[str] = []

    def feed(self, line: str) -> list[Event]:
        record = json_record(line)
        if record is None:
            return []
        kind = record.get("type")
        if kind == "hook_event" and record.get("hookEventName") == "agent_start" and not record.get("parentAgentId"):
            return self._session()
        if kind == "agent_event":
            return self._event(record.get("event") or {})
        if kind == "run_result":
            self.result = record
            return self._session()
        if kind == "error":
            return self._error(str(record.get("message") or "cline reported an error"))
        return []

    def _session(self) -> list[Event]:
        if self.session is None:
            self.session = own_session(self.made)
            if self.session:
                return [Event("session", {"id": self.session})]
        return []

    def _error(self, message: str) -> list[Event]:
        if message in self.errors:
            return []  # the run's last line repeats the error that ended it
        self.errors.append(message)
        return [Event("error", {"message": message})]

    def _event(self, event: dict[str, Any]) -> list[Event]:
        kind, content = event.get("type"), event.get("contentType")
        if kind == "content_start" and content == "tool":
            self.pending[str(event.get("toolCallId"))] = event.get("input") or {}
        elif kind == "content_end" and content == "text" and event.get("text"):
            self.last_message = str(event["text"])
            return [Event("message", {"text": self.last_message})]
        elif kind == "content_end" and content == "tool":
            return self._tool(event)
        elif kind == "usage":
            return [Event("usage", {"input_tokens": event.get("inputTokens", 0),
                                    "output_tokens": event.get("outputTokens", 0)})]
        elif kind == "error":
            message = str((event.get("error") or {}).get("message") or "cline reported an error")
            return [Event("warning", {"message": message})] if event.get("recoverable") else self._error(message)
        return []

    def _tool(self, event: dict[str, Any]) -> list[Event]:
        name = str(event.get("toolName"))
        args = self.pending.pop(str(event.get("toolCallId")), {})
        output = event.get("output")
        failed = bool(event.get("error"))
        if name == "run_commands" and isinstance(output, list):
            return [_command(item) for item in output if isinstance(item, dict)]
        result = output if isinstance(output, dict) else {}
        if name == "editor" and not failed and result.get("success", True):
            change = "create" if "created" in str(result.get("result", "")) else "edit"
            return [Event("file_change", {"path": args.get("path", ""), "change": change})]
        return [Event("tool_call", {"name": name, "input": args, "failed": failed})]

    def final(self, exit_code: int) -> Event:
        result = self.result or {}
        reason = result.get("finishReason")
        success = exit_code == 0 and reason == "completed" and not self.errors
        error = None
        if not success:
            error = self.errors[-1] if self.errors else (
                "cline ended without a result" if not result else
                f"cline's run ended: {reason}" if reason != "completed" else f"cline exited with code {exit_code}")
        return Event("final", {"text": self.last_message or "", "success": success, "error": error})


def _command(item: dict[str, Any]) -> Event:
    """One command of a ``run_commands`` call, from its result."""
    output = str(item.get("result") or "")
    m = _EXIT.search(str(item.get("error") or "")) or _EXIT.search(output)
    exit_code = int(m.group(1)) if m else (0 if item.get("success") else None)
    return Event("command", {"command": str(item.get("query") or ""), "exit_code": exit_code, "output": tail(output)})


class ClineAgent(CliAgent):
    @staticmethod
    def log_line(line: str) -> str:
        """An ``agent_event`` without the text so far (``accumulated``); its delta (``text``) stays."""
        return compact_line(line, '"accumulated":', ("event", "accumulated"))

    name: ClassVar[str] = "cline"
    can_resume: ClassVar[bool] = False
    wires: ClassVar[frozenset[str]] = frozenset()  # a worker only: none of what the other roles need

    def _choices(self) -> list[str]:
        thinking = EFFORT.get(self.effort or "", self.effort)
        return [*choice_flags("cline", self.args, self.model, ("-m", "--model"), "model", ["-m", str(self.model)]),
                *choice_flags("cline", self.args, self.effort, ("--thinking",), "effort",
                              ["--thinking", str(thinking)])]

    def _exe(self) -> str:
        return find_executable("cline", "PODIUM_CLINE", "npm install -g cline")

    def _endpoint(self) -> str | None:
        """The base URL of the provider cline will call, when the user's provider settings name one; AgentError
        when they name no provider at all."""
        settings = read_config("cline", Path(os.environ.get("CLINE_PROVIDER_SETTINGS_PATH")
                                   or cline_data() / "settings" / "providers.json"))
        given = flag_value(self.args, "-P", "--provider")
        chosen = given or settings.get("lastUsedProvider")
        providers = settings.get("providers") if isinstance(settings.get("providers"), dict) else {}
        if not providers and not given:  # cline would try its own sign-in provider, and retry for minutes
            raise AgentError("cline has no model provider set up: run cline auth (or give -P in podium's cline args)")
        base = ((providers.get(chosen) or {}).get("settings") or {}).get("baseUrl") if chosen else None
        return str(base) if base else None

    def _backend(self) -> None:
        """AgentError when the user's environment or args run the session in cline's hub, not in its job."""
        chosen = os.environ.get(BACKEND, "").strip().lower()
        said = f"{BACKEND}={chosen} in your environment" if chosen in ("hub", "remote") else next(
            (f"{a} in podium's cline args" for a in self.args if a in ("-z", "--zen")), None)
        if said:
            raise AgentError(f"{said} contradicts podium's {BACKEND}=local: a cline worker runs in its job's own "
                             "process, where podium cancel and the watchdog reach it, not in cline's hub")

    def _conflict(self) -> str | None:
        said = next((a for a in self.args if a in ("-p", "--plan")), None)
        if flag_value(self.args, "--auto-approve") == "false":
            said = "--auto-approve false"
        if said is None:
            return None
        return (f"{said} in podium's cline args contradicts podium's act mode with tools approved (cline's default): "
                "a cline worker must edit and run commands (set it for one role only)")

    def _widen(self) -> Preflight:
        """The flags a worker needs that the user's global settings take away (none with cline's defaults)."""
        settings = read_config("cline", Path(os.environ.get("CLINE_GLOBAL_SETTINGS_PATH")
                                   or cline_data() / "settings" / "global-settings.json"))
        given = set(self.args)
        yolo = bool({"-y", "--yolo"} & given)  # cline's own mode that approves everything
        extra: list[str] = []
        if settings.get("toolAutoApprove") is False and not yolo and flag_value(self.args, "--auto-approve") is None:
            extra += ["--auto-approve", "true"]
        if settings.get("planActMode") == "plan" and not yolo and not {"-a", "--act"} & given:
            extra.append("--act")
        if not extra:
            return Preflight()
        return Preflight(extra_args=tuple(extra), notes=(
            f"your cline settings keep a headless worker from editing or running commands; podium passes "
            f"{' '.join(extra)} for this worktree",))

    def preflight(self, workdir: Path) -> Preflight:
        self._exe()
        self._choices()
        self._backend()
        check_endpoint("cline", self._endpoint())
        conflict = self._conflict()
        return Preflight(conflict=conflict) if conflict else self._widen()

    def new_argv(self, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        local = [shutil.which("env") or "/usr/bin/env", f"{BACKEND}=local"]
        return [*local, self._exe(), "--json", *preflight.checked().extra_args, *self._choices(), *self.args, LEAD]

    def resume_argv(self, session_id: str, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        raise AgentError("cline has no headless resume (its --id opens its terminal UI); delegate a new job instead")

    def parser(self) -> ClineParser:
        return ClineParser()

    def transcript(self, session_id: str) -> Path | None:
        path = sessions_dir() / session_id / f"{session_id}.messages.json"
        return path if path.is_file() else None
