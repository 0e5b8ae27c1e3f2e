"""Agent adapters: how podium starts, resumes and understands one agent CLI.

An adapter is a small class registered under the ``podium.agents`` entry point
group (podium's own ``codex``, ``claude``, ``gemini``, ``opencode``, ``qwen``, ``pi``, ``copilot``,
``droid``, ``aider`` and ``command`` are registered that way too, so a third-party adapter is a package with
one entry point; ``CliAgent`` is what the CLI adapters share). It knows:

- the argv for a new run and for a resume (``new_argv`` / ``resume_argv``);
- how to turn each line of the CLI's output into normalized ``Event``s
  (``parser()`` returns a fresh, stateful ``Parser`` per run);
- where the CLI keeps the transcript of a session (``transcript``);
- what it must check before a run (``preflight``): the CLI exists, and a worker
  launched with the user's configuration can write to its worktree;
- how its CLI takes a model and an effort (the options ``model`` and ``effort``, from
  ``[roles.<role>]`` or ``--model``/``--effort``): the user's ``args`` are added to
  podium's own flags, never replacing them, and a flag that contradicts one podium
  needs is refused in one line naming both.

Event kinds (``Event.kind``) and their data:

- ``session``     {id}                        the session/thread id, first run only (and a resume's fork:
                                              {id, forked_from}, recorded by the runner)
- ``message``     {text}                      the agent said something
- ``command``     {command, exit_code, output} a shell command finished (output is a tail)
- ``file_change`` {path, change}              the agent wrote a file
- ``tool_call``   {name, input}               any other tool call
- ``warning``     {message}                   a non-fatal problem the CLI reported
- ``retry``       {message}                   the CLI is retrying its model (not progress)
- ``error``       {message}                   a failure the CLI reported
- ``usage``       {input_tokens, output_tokens, ...}
- ``final``       {text, success}             the agent's last answer and its own verdict
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

from podium.errors import AgentError
from podium.plugins import BUILTIN, load

OUTPUT_TAIL = 2000
ENDPOINT_TIMEOUT = 3.0


@dataclass(frozen=True)
class Event:
    kind: str
    data: dict[str, Any]


@dataclass(frozen=True)
class Preflight:
    """What an adapter decided before a run: extra argv and notes for the job log. ``conflict``: a flag of the
    user's that contradicts what a writing run needs (refused when the argv is built; a read-only run, which
    needs none of it, clears it). ``cwd``: the folder the run must start in when the CLI takes its wiring from
    there (gemini's settings), not the folder it works on. ``env``: variables the CLI is started with (through
``env``), when it takes its wiring from its environment."""

    extra_args: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    conflict: str | None = None
    cwd: str | None = None
    env: tuple[str, ...] = ()  # NAME=value the CLI starts with, for a CLI that takes its wiring from them (opencode)

    def checked(self) -> Preflight:
        if self.conflict:
            raise AgentError(self.conflict)
        return self


def flag_value(args: list[str], *names: str) -> str | None:
    """The value the last of ``names`` takes in ``args`` (``--flag value`` or ``--flag=value``); "" for a flag
    given without one at the end."""
    found = None
    for i, arg in enumerate(args):
        for name in names:
            if arg == name:
                found = args[i + 1] if i + 1 < len(args) else ""
            elif arg.startswith(name + "=") and name.startswith("--"):
                found = arg[len(name) + 1:]
    return found


def choice_flags(agent: str, args: list[str], chosen: str | None, flags: tuple[str, ...], what: str,
                 value: list[str], given: str | None = None) -> list[str]:
    """``value`` (the CLI's flags for a model or an effort) when ``chosen``; AgentError when the agent's args
    already choose one (``flags``, or ``given``: how the args said it otherwise) — two places choosing a model
    is a mistake to name, not to guess about."""
    if not chosen:
        return []
    value_given = flag_value(args, *flags) if flags else None
    said = given or (f"{flags[0]} {value_given}" if value_given is not None else None)
    if said:
        raise AgentError(f"podium's {agent} args choose the {what} ({said}) and so does the role's {what} "
                         f"(or --{what}) {chosen}: keep one")
    return value


@dataclass(frozen=True)
class Wiring:
    """What podium asks of an agent run beyond the plain one: podium's MCP server (``mcp``: its command,
    with only ``allowed`` of its tools pre-allowed; None: all), a role appended to the system prompt, and
    read-only (the agent may read and call tools, not edit or run commands). ``servers``: other MCP servers
    (name, command), every tool of theirs allowed — the tester's live browser. ``checkout``: the repository the
    run is about, for a CLI that takes its wiring from a folder of its own (gemini)."""

    mcp: list[str] | None = None
    allowed: tuple[str, ...] | None = None
    system_prompt: str | None = None
    read_only: bool = False
    servers: tuple[tuple[str, tuple[str, ...]], ...] = ()
    checkout: str | None = None

    def asks(self) -> set[str]:
        return {k for k, v in (("mcp", self.mcp or self.servers), ("system_prompt", self.system_prompt),
                               ("read_only", self.read_only)) if v}


def read_only_refused(agent: str, given: str, clash: str) -> AgentError:
    """The one-line error for podium's ``agent`` args that a run that only reads cannot take: ``given`` (the
    user's flag) and how it ``clash``es with reading only."""
    return AgentError(f"{given} in podium's {agent} args {clash}, in a run that only reads (the orchestrator, the "
                      "distiller): set it for the roles that write only, e.g. [roles.worker] args")


def read_only_tools(agent: str, flag: str, tools: str, writing: tuple[str, ...]) -> None:
    """Refuse a list of tools (``flag tools`` in podium's ``agent`` args) that names one of the ``writing`` tools
    for a run that only reads."""
    named = [t.strip() for t in tools.split(",") if t.strip() in writing]
    if named:
        raise read_only_refused(agent, f"{flag} {tools}", f"lets {', '.join(named)} change the checkout")


def wire_plainly(agent: Agent | CliAgent, preflight: Preflight, wiring: Wiring) -> Preflight:
    """``Agent.wire`` for a CLI that takes no MCP config and no system prompt: read-only drops podium's own
    widening of its permissions (the CLI's defaults hold); anything else it cannot do is an AgentError."""
    missing = wiring.asks() - agent.wires
    if missing:
        what = " and ".join(sorted(m.replace("_", " ") for m in missing))
        raise AgentError(f"the {agent.name} agent cannot take {what} from podium")
    return Preflight(notes=()) if wiring.read_only else preflight


class CliAgent:
    """What the adapters of podium's agent CLIs share: podium's ``args`` for the CLI and the role's model and
    effort; a CLI that takes no MCP server and no system prompt (``wire_plainly``); the prompt on stdin."""

    name: ClassVar[str]
    can_resume: ClassVar[bool] = True
    prompt_on_stdin: ClassVar[bool] = True
    forks_on_resume: ClassVar[bool] = False
    wires: ClassVar[frozenset[str]] = frozenset({"read_only"})

    def __init__(self, args: list[str] | None = None, model: str | None = None, effort: str | None = None,
                 **_: Any):
        self.args = list(args or [])
        self.model, self.effort = model, effort

    def no_effort(self) -> None:
        """AgentError when an effort was chosen for a CLI that has no setting for it (never silently dropped)."""
        if self.effort:
            raise AgentError(f"{self.name} has no effort setting podium can pass (effort {self.effort}): leave "
                             f"effort out of the {self.name} role")

    def wire(self, preflight: Preflight, wiring: Wiring) -> Preflight:
        return wire_plainly(self, preflight, wiring)

    def chat_argv(self, user_args: list[str], preflight: Preflight) -> list[str]:
        """The CLI in its own interactive mode (``podium chat``), with ``user_args`` first."""
        raise AgentError(f"podium chat cannot start {self.name}: it takes no MCP server and role from podium")

    @staticmethod
    def log_line(line: str) -> str:
        """A line of the CLI's output as the job's log keeps it: as it is, unless the CLI repeats in it what it
        printed before (``compact_line``)."""
        return line


def compact_line(line: str, marker: str, *paths: tuple[str, ...]) -> str:
    """``line`` without the values at ``paths`` (keys into its JSON object), when it holds ``marker``: a CLI that
    streams a reply repeats all of it so far in every delta, and its log grows as the square of the reply (a
    100 KB reply: hundreds of MB). The deltas stay, so the log still holds the whole reply once."""
    if marker not in line:
        return line
    import json

    record = json_record(line)
    if record is None:
        return line
    for path in paths:
        *parents, key = path
        node: Any = record
        for step in parents:
            node = node.get(step) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node.pop(key, None)
    return json.dumps(record, ensure_ascii=False, separators=(",", ":")) + ("\n" if line.endswith("\n") else "")


class Parser(Protocol):
    def feed(self, line: str) -> list[Event]:
        """Events for one line of the CLI's stdout (may be empty)."""
        ...

    def final(self, exit_code: int) -> Event:
        """The ``final`` event once the process exited: last answer, success, error."""
        ...


class Agent(Protocol):
    name: ClassVar[str]
    can_resume: ClassVar[bool]
    # True: the prompt goes to the CLI on its stdin (the job's ``stdin``), never in its argv, where one argument
    # is at most 128 KiB on Linux and every process listing shows it
    prompt_on_stdin: ClassVar[bool]
    # True: a resume continues in a new session forked from the one resumed (``forks_on_resume``); optional
    forks_on_resume: ClassVar[bool]
    # what ``wire`` can give a run: "mcp", "system_prompt", "read_only"; "mcp_apart": MCP servers only for the
    # orchestrator's run (``Wiring.checkout``: gemini's starts in a folder of podium's), not a tester's
    wires: ClassVar[frozenset[str]]

    def preflight(self, workdir: Path) -> Preflight:
        """Raise AgentError when this agent cannot run a worker here (CLI missing, model
        unreachable, config that cannot write); else extra args and notes."""
        ...

    def new_argv(self, prompt: str, workdir: Path, preflight: Preflight) -> list[str]: ...

    def resume_argv(self, session_id: str, prompt: str, workdir: Path, preflight: Preflight) -> list[str]: ...

    def wire(self, preflight: Preflight, wiring: Wiring) -> Preflight:
        """The preflight with what ``wiring`` asks added (or podium's permissions taken away, read-only);
        AgentError when the CLI cannot take something asked (see ``wires``)."""
        ...

    def chat_argv(self, user_args: list[str], preflight: Preflight) -> list[str]:
        """The CLI in its own interactive mode, for ``podium chat``: ``user_args`` first (a prompt among them is
        not taken for the value of one of podium's flags), then the wired preflight's."""
        ...

    def parser(self) -> Parser: ...

    def log_line(self, line: str) -> str: ...  # a line of its output as the job's log keeps it

    def transcript(self, session_id: str) -> Path | None:
        """The session's transcript file, or None when it cannot be found."""
        ...


def check_endpoint(agent: str, url: str | None, timeout: float = ENDPOINT_TIMEOUT) -> None:
    """Fail fast when the agent's model endpoint refuses connections.

    An agent CLI that cannot reach its model does not fail: codex reconnects
    forever, claude retries for minutes. A TCP connect before the job starts turns
    that into a clear error. Skipped when a proxy is configured (the proxy decides).
    """
    if not url or any(
        os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
    ):
        return
    parts = urlsplit(url)
    if not parts.hostname:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    import socket  # only the agents that reach a model need it; the runner does not

    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except OSError as e:
        reason = e.strerror or type(e).__name__
        raise AgentError(f"{agent} cannot reach its model at {url}: {reason.lower()}") from None


def json_record(line: str) -> dict[str, Any] | None:
    """One line of a CLI's JSON-lines output as an object; None for anything else (the CLI's own warnings in
    plain text: they are in the job's raw log)."""
    import json

    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def read_config(agent: str, path: Path) -> dict[str, Any]:
    """A JSON settings file of the agent CLI's: {} when it is missing (or not an object); AgentError naming it when
    it cannot be read, so a broken config of the user's is said, not guessed around."""
    import json

    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise AgentError(f"cannot read {agent}'s {path}: {e}") from None
    return data if isinstance(data, dict) else {}


def tail(text: str, limit: int = OUTPUT_TAIL) -> str:
    return text if len(text) <= limit else "…" + text[-limit:]


def find_executable(name: str, env_var: str, install_hint: str) -> str:
    """The CLI's path: ``$env_var`` when set, else PATH; AgentError naming how to install it."""
    override = os.environ.get(env_var)
    if override:
        if shutil.which(override):
            return str(shutil.which(override))
        raise AgentError(f"{env_var}={override} is not an executable")
    found = shutil.which(name)
    if not found:
        raise AgentError(f"the {name} CLI is not installed (not on PATH); install it with: {install_hint}")
    return found


def forks_on_resume(adapter: Agent) -> bool:
    """Whether resuming the agent's session starts a new session forked from it (droid), not the same one: the
    resumed job's session is the fork, and the next resume forks from that."""
    return bool(getattr(adapter, "forks_on_resume", False))


def agent_input(adapter: Agent, prompt: str) -> str | None:
    """What the agent's CLI reads on its stdin: the prompt, for the CLIs that take it there."""
    return prompt if getattr(adapter, "prompt_on_stdin", False) else None


def resuming_agents() -> list[str]:
    """podium's own agents that can resume a session (each of the tester's turns resumes one)."""
    return [name for name in BUILTIN["podium.agents"]
            if load("podium.agents", "agent", name, unknown=AgentError, broken=AgentError).can_resume]


def get_agent(name: str, options: dict[str, Any] | None = None) -> Agent:
    cls = load("podium.agents", "agent", name, unknown=AgentError, broken=AgentError)
    return cls(**(options or {}))  # type: ignore[no-any-return]
