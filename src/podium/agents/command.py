"""The ``command`` adapter: any CLI that prints plain text.

The command line is a template (``[agents.command] command = "..."`` in
podium.toml, or ``--command`` on ``podium delegate``); ``{prompt}`` is replaced by
the prompt as one argument, or the prompt is appended when the template has no
placeholder. Every output line is a ``message`` event; the last lines are the
final answer; exit code 0 is success. Plain commands have no sessions, so they
cannot be resumed.
"""

from __future__ import annotations

import shlex
import shutil
from collections import deque
from pathlib import Path
from typing import Any, ClassVar

from podium.agents import Event, Preflight, Wiring, wire_plainly
from podium.errors import AgentError

FINAL_LINES = 5


class CommandParser:
    def __init__(self) -> None:
        self.recent: deque[str] = deque(maxlen=FINAL_LINES)

    def feed(self, line: str) -> list[Event]:
        text = line.rstrip("\n")
        if not text.strip():
            return []
        self.recent.append(text)
        return [Event("message", {"text": text})]

    def final(self, exit_code: int) -> Event:
        success = exit_code == 0
        return Event(
            "final",
            {
                "text": "\n".join(self.recent),
                "success": success,
                "error": None if success else f"command exited with code {exit_code}",
            },
        )


class CommandAgent:
    name: ClassVar[str] = "command"
    can_resume: ClassVar[bool] = False
    prompt_on_stdin: ClassVar[bool] = False  # the command line says where the prompt goes ({prompt})
    wires: ClassVar[frozenset[str]] = frozenset({"read_only"})

    def __init__(self, command: str | None = None, model: str | None = None, effort: str | None = None, **_: Any):
        self.command = command
        self.chosen = " and ".join(f"{k} {v}" for k, v in (("model", model), ("effort", effort)) if v)

    @staticmethod
    def log_line(line: str) -> str:
        return line  # a command's output is kept as it printed it

    def _template(self) -> list[str]:
        if not self.command:
            raise AgentError("the command agent needs a command line: --command '...' or [agents.command] command")
        try:
            argv = shlex.split(self.command)
        except ValueError as e:
            raise AgentError(f"cannot parse command {self.command!r}: {e}") from None
        if not argv:
            raise AgentError("the command agent's command line is empty")
        if not shutil.which(argv[0]):
            raise AgentError(f"command not found: {argv[0]}")
        return argv

    def preflight(self, workdir: Path) -> Preflight:
        self._template()
        if self.chosen:
            raise AgentError(f"the command agent cannot be given a {self.chosen}: write it into its command line "
                             "([agents.command] command)")
        return Preflight()

    def new_argv(self, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        argv = self._template()
        if any("{prompt}" in a for a in argv):
            return [a.replace("{prompt}", prompt) for a in argv]
        return [*argv, prompt]

    def resume_argv(self, session_id: str, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        raise AgentError("the command agent has no sessions to resume; delegate a new job instead")

    def wire(self, preflight: Preflight, wiring: Wiring) -> Preflight:
        return wire_plainly(self, preflight, wiring)

    def parser(self) -> CommandParser:
        return CommandParser()

    def transcript(self, session_id: str) -> Path | None:
        return None
