"""Scenarios for the scripted model: which reply a request gets.

A scenario holds one or more *scripts*. A request is matched to a script by a
marker in its user text (``match``), else the script without a marker. The step
a request gets is derived from the request itself: the number of model turns
already in its history. That keeps the server stateless per conversation, so a
hundred agents can share one server and a resumed session continues where its
history says it is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podium._compat import tomllib
from podium.errors import UsageError


@dataclass(frozen=True)
class Step:
    """One model turn.

    ``text`` may accompany a tool call (``shell``, ``write``, or ``tool``: any tool the agent
    offers by name, such as an MCP server's, with its input). ``delay`` waits
    before the reply starts; ``chunk_delay`` waits between streamed events.
    ``think`` opens the stream and then, for that many seconds, sends only SSE
    keep-alive comments (a model reasoning at length: the agent shows nothing,
    its connection stays alive). ``hang`` sends the stream's opening and then
    nothing, forever. ``error``
    answers with an HTTP error in the API's shape. ``malformed`` sends a broken
    event stream and closes.
    """

    text: str | None = None
    shell: str | None = None
    write: dict[str, str] | None = None
    tool: dict[str, Any] | None = None
    delay: float = 0.0
    chunk_delay: float = 0.0
    hang: bool = False
    think: float = 0.0
    error: dict[str, Any] | None = None
    malformed: bool = False

    @classmethod
    def parse(cls, raw: Any, where: str) -> Step:
        if isinstance(raw, str):
            return cls(text=raw)
        if not isinstance(raw, dict):
            raise UsageError(f"{where}: a step is a string or a table, not {type(raw).__name__}")
        unknown = set(raw) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise UsageError(f"{where}: unknown step keys {sorted(unknown)}")
        write = raw.get("write")
        if write is not None and not (
            isinstance(write, dict) and isinstance(write.get("path"), str) and isinstance(write.get("content"), str)
        ):
            raise UsageError(f"{where}: 'write' needs 'path' and 'content' strings")
        error = raw.get("error")
        if error is not None and not isinstance(error, dict):
            raise UsageError(f"{where}: 'error' is a table such as {{status = 500, message = '...'}}")
        tool = raw.get("tool")
        if tool is not None and not (isinstance(tool, dict) and isinstance(tool.get("name"), str)
                                     and isinstance(tool.get("input", {}), dict)):
            raise UsageError(f"{where}: 'tool' needs a 'name' string and an 'input' table")
        if sum(x is not None for x in (write, raw.get("shell"), tool)) > 1:
            raise UsageError(f"{where}: a step makes one tool call: 'shell', 'write' or 'tool'")
        return cls(
            text=raw.get("text"),
            shell=raw.get("shell"),
            write=write,
            tool=tool,
            delay=float(raw.get("delay", 0.0)),
            chunk_delay=float(raw.get("chunk_delay", 0.0)),
            hang=bool(raw.get("hang", False)),
            think=float(raw.get("think", 0.0)),
            error=error,
            malformed=bool(raw.get("malformed", False)),
        )

    @property
    def has_tool_call(self) -> bool:
        return self.shell is not None or self.write is not None or self.tool is not None


@dataclass(frozen=True)
class Script:
    name: str
    steps: tuple[Step, ...]
    match: str | None = None
    final_text: str = "Done."
    from_match: bool = False  # count steps from the last user message with the marker (a resumed session's turn)


@dataclass
class Scenario:
    scripts: list[Script] = field(default_factory=list)
    aux_text: str = "ok"

    def pick(self, user_text: str) -> Script:
        """The first script whose marker occurs in the user text, else the unmarked one."""
        for script in self.scripts:
            if script.match and script.match in user_text:
                return script
        for script in self.scripts:
            if not script.match:
                return script
        return Script(name="(none)", steps=())

    @classmethod
    def from_data(cls, data: Any, where: str = "scenario") -> Scenario:
        if not isinstance(data, dict):
            raise UsageError(f"{where}: expected a table at the top level")
        raw_scripts = data.get("scripts")
        if raw_scripts is None and "steps" in data:
            raw_scripts = [{"name": "default", "steps": data["steps"]}]
        if not isinstance(raw_scripts, list) or not raw_scripts:
            raise UsageError(f"{where}: needs 'steps' or a non-empty 'scripts' list")
        scripts = []
        for i, raw in enumerate(raw_scripts):
            if not isinstance(raw, dict) or not isinstance(raw.get("steps"), list):
                raise UsageError(f"{where}: scripts[{i}] needs a 'steps' list")
            name = str(raw.get("name", f"script{i}"))
            steps = tuple(Step.parse(s, f"{where}: {name} step {j + 1}") for j, s in enumerate(raw["steps"]))
            scripts.append(
                Script(name=name, steps=steps, match=raw.get("match"), final_text=str(raw.get("final_text", "Done.")),
                       from_match=bool(raw.get("from_match", False)))
            )
        return cls(scripts=scripts, aux_text=str(data.get("aux_text", "ok")))

    @classmethod
    def load(cls, path: str | Path) -> Scenario:
        p = Path(path)
        try:
            text = p.read_text()
        except OSError as e:
            raise UsageError(f"cannot read scenario {p}: {e.strerror}") from None
        try:
            data = tomllib.loads(text) if p.suffix == ".toml" else json.loads(text)
        except (ValueError, tomllib.TOMLDecodeError) as e:
            raise UsageError(f"scenario {p} is not valid {'TOML' if p.suffix == '.toml' else 'JSON'}: {e}") from None
        return cls.from_data(data, where=str(p))
