"""The ``droid`` adapter: Factory's droid in headless mode (``droid exec -o stream-json``, the prompt on stdin).

Output is one JSON event per line: ``system``/``init`` first (with ``session_id``),
``message`` (the user's and the assistant's ``text``), ``tool_call`` (``toolName``,
``parameters``) and its ``tool_result`` (matched by ``id``; ``value`` or ``error``, a
shell command's ending "[Process exited with code N]"), ``error`` for a failure, and
a last ``completion`` with ``finalText`` and the run's usage. Sessions live in
``~/.factory/sessions/<dir>/<session_id>.jsonl`` (``$FACTORY_HOME_OVERRIDE`` for ``~``).

Resume: ``droid exec -s <id>`` continues a session through Factory's servers, so a
droid that is offline (``FACTORY_AIRGAP_ENABLED``) or uses its own model cannot;
``--fork <id>`` copies the session's history into a NEW session on this machine and
continues there. podium resumes with ``--fork`` (``forks_on_resume``): each resumed
job reports a new session id, forked from the one before it, and the next resume or
tester turn forks from the newest of that chain.

Model provider: the user's own (``customModels`` in ``~/.factory/settings.json``,
chosen with ``-m custom:<name>`` or the settings' ``model``); podium checks that a custom model's ``baseUrl``
answers and adds no auth flag.

Permissions: ``droid exec`` is read-only unless told otherwise, so a worker gets
``--auto high`` unless podium's droid args choose an autonomy that edits and runs
commands already (``--auto medium``/``high``, ``--skip-permissions-unsafe``); ``--auto
low``, which blocks the commands a worker runs (builds, tests), is refused, naming both.
droid's own read-only mode trusts the model's word on how risky a shell command is, so
a read-only run (the distiller) gets droid's reading tools only (``--only-tools``).

Model and effort: ``-m`` and ``-r`` (``--reasoning-effort``; podium's levels are droid's).
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
    flag_value,
    json_record,
    read_config,
    read_only_refused,
    read_only_tools,
    tail,
    wire_plainly,
)

DEFAULT_FLAGS = ("--auto", "high")
UNSAFE = "--skip-permissions-unsafe"
WRITING = ("--auto medium", "--auto high", UNSAFE)  # autonomy in which a worker edits and runs its project's commands
READ_ONLY_TOOLS = ("--only-tools", "Read,LS,Grep,Glob")
SHELL_TOOLS = ("Execute",)
FILE_TOOLS = ("Create", "Edit", "ApplyPatch")
_EXIT = re.compile(r"\[Process exited with code (-?\d+)\]")
_PATCHED = re.compile(r"^\*\*\* (?:Add|Update|Delete) File: (.+)$", re.MULTILINE)


def droid_home() -> Path:
    return Path(os.environ.get("FACTORY_HOME_OVERRIDE") or Path.home()) / ".factory"


class DroidParser:
    def __init__(self) -> None:
        self.pending: dict[str, tuple[str, dict[str, Any]]] = {}
        self.session_seen = False
        self.last_message: str | None = None
        self.completion: dict[str, Any] | None = None
        self.errors: list[str] = []

    def feed(self, line: str) -> list[Event]:
        record = json_record(line)
        if record is None:
            return []
        kind = record.get("type")
        if kind == "system" and record.get("session_id") and not self.session_seen:
            self.session_seen = True
            return [Event("session", {"id": record["session_id"]})]
        if kind == "message" and record.get("role") == "assistant" and record.get("text"):
            self.last_message = str(record["text"])
            return [Event("message", {"text": self.last_message})]
        if kind == "tool_call":
            self.pending[str(record.get("id"))] = (str(record.get("toolName")), record.get("parameters") or {})
        elif kind == "tool_result":
            return [self._tool(record)]
        elif kind == "error":
            return self._error(record)
        elif kind == "completion":
            return self._completion(record)
        return []

    def _tool(self, record: dict[str, Any]) -> Event:
        name, args = self.pending.pop(str(record.get("id")), (str(record.get("toolId")), {}))
        failed = bool(record.get("isError"))
        output = str(record.get("value") or (record.get("error") or {}).get("message") or "")
        if name in SHELL_TOOLS:
            m = _EXIT.search(output)
            return Event("command", {"command": args.get("command", ""), "exit_code": int(m.group(1)) if m else None,
                                     "output": tail(output), "failed": failed})
        if name in FILE_TOOLS and not failed:
            patch = "\n".join(str(v) for v in args.values())  # ApplyPatch: the files its patch names
            paths = [args["file_path"]] if args.get("file_path") else _PATCHED.findall(patch)
            if paths:
                return Event("file_change", {"path": str(paths[0]).strip(), "change": name})
        return Event("tool_call", {"name": name, "input": args, "failed": failed})

    def _error(self, record: dict[str, Any]) -> list[Event]:
        message = str(record.get("message") or "droid reported an error")
        if self.errors and record.get("source") == "cli":
            return []  # droid's own "Exec failed" after the error that made it fail
        self.errors.append(message)
        return [Event("error", {"message": message})]

    def _completion(self, record: dict[str, Any]) -> list[Event]:
        self.completion = record
        if record.get("finalText"):
            self.last_message = str(record["finalText"])
        usage = record.get("usage") or {}
        if not usage:
            return []
        return [Event("usage", {"input_tokens": usage.get("input_tokens", 0),
                                "output_tokens": usage.get("output_tokens", 0),
                                "cached": usage.get("cache_read_input_tokens", 0)})]

    def final(self, exit_code: int) -> Event:
        success = exit_code == 0 and self.completion is not None and not self.errors
        error = None
        if not success:
            error = self.errors[-1] if self.errors else (
                "droid ended without completing" if self.completion is None else f"droid exited with code {exit_code}")
        return Event("final", {"text": self.last_message or "", "success": success, "error": error})


class DroidAgent(CliAgent):
    name: ClassVar[str] = "droid"
    forks_on_resume: ClassVar[bool] = True

    def _choices(self) -> list[str]:
        return [*choice_flags("droid", self.args, self.model, ("-m", "--model"), "model", ["-m", str(self.model)]),
                *choice_flags("droid", self.args, self.effort, ("-r", "--reasoning-effort"), "effort",
                              ["-r", str(self.effort)])]

    def _exe(self) -> str:
        return find_executable("droid", "PODIUM_DROID", "npm install -g @factory/cli")

    def _endpoint(self) -> str | None:
        """The base URL of the user's custom model that runs, when the run chooses one (``-m custom:<name>``, or
        the ``model`` of their settings)."""
        settings = read_config("droid", droid_home() / "settings.json")
        chosen = str(flag_value(self.args, "-m", "--model") or self.model or settings.get("model") or "")
        if not chosen.startswith("custom:"):
            return None
        name = chosen.removeprefix("custom:")
        models = settings.get("customModels") or []
        for i, model in enumerate(models if isinstance(models, list) else []):
            if isinstance(model, dict) and name in (model.get("model"), model.get("id"), model.get("displayName"),
                                                    f"{model.get('displayName')}-{i}"):
                return str(model.get("baseUrl") or "") or None
        return None

    def _autonomy(self) -> str | None:
        """How podium's droid args set droid's autonomy, as written there (None: they do not)."""
        if UNSAFE in self.args:
            return UNSAFE
        level = flag_value(self.args, "--auto")
        return None if level is None else f"--auto {level}"

    def preflight(self, workdir: Path) -> Preflight:
        self._exe()
        self._choices()
        check_endpoint("droid", self._endpoint())
        chosen = self._autonomy()
        if chosen in WRITING:
            return Preflight()
        if chosen is not None:
            return Preflight(conflict=f"{chosen} in podium's droid args contradicts podium's --auto high: a droid "
                                      "worker must edit and run commands (set it for one role only)")
        return Preflight(extra_args=DEFAULT_FLAGS,
                         notes=("droid exec only reads unless told otherwise; podium lets the worker edit and run "
                                "commands in this worktree (--auto high)",))

    def wire(self, preflight: Preflight, wiring: Wiring) -> Preflight:
        wired = wire_plainly(self, preflight, wiring)
        if not wiring.read_only:
            return wired
        chosen = self._autonomy()
        if chosen is not None:
            raise read_only_refused("droid", chosen, "lets droid write")
        tools = flag_value(self.args, "--only-tools")
        if tools is None:
            return Preflight(extra_args=READ_ONLY_TOOLS)
        read_only_tools("droid", "--only-tools", tools, (*SHELL_TOOLS, *FILE_TOOLS))
        return wired

    def _common(self, preflight: Preflight) -> list[str]:
        return [self._exe(), "exec", "-o", "stream-json", *preflight.checked().extra_args, *self._choices(),
                *self.args]

    def new_argv(self, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        return self._common(preflight)

    def resume_argv(self, session_id: str, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        return [*self._common(preflight), "--fork", session_id]

    def parser(self) -> DroidParser:
        return DroidParser()

    def transcript(self, session_id: str) -> Path | None:
        for path in (droid_home() / "sessions").glob(f"*/{session_id}.jsonl"):
            return path
        return None
