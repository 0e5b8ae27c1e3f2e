"""The ``opencode`` adapter: ``opencode run --format json``, the prompt on stdin (and ``kilo``, its fork).

Output is one JSON event per line, each with the ``sessionID``: ``step_start``,
``text`` (a finished text part), ``tool_use`` (a finished tool call: its input, its
output or error and, for bash, ``metadata.exit``), ``step_finish`` (the step's
tokens) and ``error``. ``-s <session id>`` continues a session; opencode keeps its
sessions in one database (``$XDG_DATA_HOME/opencode/opencode.db``).

Configuration: podium honours the user's opencode config (global, ``$OPENCODE_CONFIG``,
the project's ``opencode.json``) and adds nothing, except that a worker must be able
to write: opencode's build agent edits and runs commands unless the config says
``ask`` — which ``run`` answers with a rejection, having no one to ask. When the
config asks for ``edit`` or ``bash``, podium passes ``--auto`` (what asks is
approved, what is denied stays denied) and says so in the job log; a config that
denies them leaves a worker unable to write, and is refused for a writing run. A
read-only run (the distiller, in the user's own checkout) is the ``plan`` agent.

Model and effort: ``-m provider/model`` and ``--variant`` (the provider's reasoning
effort, named as podium names it).

As the orchestrator: podium's MCP server and the role come in ``$OPENCODE_CONFIG_CONTENT``, the config the
CLI merges over the user's own files (in place of what the user's variable holds, said in a note): the server as a
local MCP server, the role as an ``instructions`` file of podium's, and ``permission`` rules — podium's
unattended tools allowed, its others asked (``run`` has no one to ask: refused; at a terminal, the human
answers). Reading only, ``edit``, ``bash`` (and kilo's ``background_process``) and ``task`` (the CLI's own
sub-agents) are denied, which takes those tools out of the model's sight; the distiller's run (the ``plan``
agent) gets the same denials. A tester takes no MCP server from podium: it works in its worktree, and the live
browser is not tried with this CLI.

Kilo (``kilo run``) is opencode under other names — ``kilo.json``, ``$KILO_CONFIG``,
``$KILO_CONFIG_CONTENT``, ``kilo.db`` — whose bash asks by default: a kilo worker gets ``--auto`` unless the
user's config allows bash.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
from contextlib import closing
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
    tail,
    wire_plainly,
)
from podium.errors import AgentError

FILE_TOOLS = ("write", "edit", "patch", "multiedit")
WRITING = ("edit", "bash")  # the permissions a worker needs
# a run that reads only: no edits, no commands (kilo's background processes too), no sub-agents of the CLI's own
READ_ONLY_DENIED = ("edit", "bash", "background_process", "task")
MCP_NAME = "podium"  # the server's name, so its tools are podium_<name>
_COMMENT = re.compile(r'("(?:\\.|[^"\\])*")|//[^\n]*|/\*.*?\*/', re.S)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def config_files(cli: str, workdir: Path) -> list[Path]:
    """The CLI's config files, the later overriding the earlier: global, ``$<CLI>_CONFIG``, the project's."""
    names = (f"{cli}.json", f"{cli}.jsonc")
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / cli
    files = [config_home / n for n in ("config.json", *names)]
    if os.environ.get(f"{cli.upper()}_CONFIG"):
        files.append(Path(os.environ[f"{cli.upper()}_CONFIG"]))
    return files + [workdir / n for n in names] + [workdir / f".{cli}" / n for n in names]


def read_jsonc(path: Path) -> dict[str, Any]:
    """A JSON-with-comments file (opencode's config), {} when absent; AgentError when it is not JSON."""
    try:
        text = path.read_text()
    except OSError:
        return {}
    try:
        data = json.loads(_TRAILING_COMMA.sub(r"\1", _COMMENT.sub(lambda m: m.group(1) or "", text)))
    except ValueError as e:
        raise AgentError(f"cannot read opencode config {path}: {e}") from None
    return data if isinstance(data, dict) else {}


def permission(config: dict[str, Any], tool: str) -> str | None:
    """What a config's ``permission`` says for ``tool``: allow, ask or deny (a pattern table: its ``*``)."""
    rules = config.get("permission")
    value = rules.get(tool, rules.get("*")) if isinstance(rules, dict) else rules
    if isinstance(value, dict):
        value = value.get("*")
    return str(value) if value else None


class OpencodeParser:
    def __init__(self, agent: str = "opencode") -> None:
        self.agent = agent
        self.session_seen = False
        self.last_message: str | None = None
        self.errors: list[str] = []

    def feed(self, line: str) -> list[Event]:
        record = json_record(line)
        if record is None:
            return []
        events: list[Event] = []
        if record.get("sessionID") and not self.session_seen:
            self.session_seen = True
            events.append(Event("session", {"id": record["sessionID"]}))
        kind, part = record.get("type"), record.get("part") or {}
        if kind == "text" and part.get("text"):
            self.last_message = str(part["text"])
            events.append(Event("message", {"text": self.last_message}))
        elif kind == "tool_use":
            events.append(self._tool(part))
        elif kind == "step_finish" and part.get("tokens"):
            tokens = part["tokens"]
            events.append(Event("usage", {"input_tokens": tokens.get("input", 0),
                                          "output_tokens": tokens.get("output", 0),
                                          "reasoning_tokens": tokens.get("reasoning", 0),
                                          "cached": (tokens.get("cache") or {}).get("read", 0)}))
        elif kind == "error":
            error = record.get("error") or {}
            message = str(((error.get("data") or {}).get("message") or error.get("name")) if isinstance(error, dict)
                          else error) or f"{self.agent} reported an error"
            self.errors.append(message)
            events.append(Event("error", {"message": message}))
        return events

    def _tool(self, part: dict[str, Any]) -> Event:
        name, state = str(part.get("tool")), part.get("state") or {}
        tool_input = state.get("input") or {}
        failed = state.get("status") == "error"
        output = str(state.get("output") or state.get("error") or "")
        if name == "bash":
            exit_code = (state.get("metadata") or {}).get("exit")
            return Event("command", {"command": tool_input.get("command", ""), "output": tail(output),
                                     "exit_code": exit_code if isinstance(exit_code, int) else (1 if failed else None)})
        if name in FILE_TOOLS and not failed:
            return Event("file_change", {"path": tool_input.get("filePath", ""), "change": name})
        return Event("tool_call", {"name": name, "input": tool_input, "failed": failed,
                                   **({"error": output} if failed else {})})

    def final(self, exit_code: int) -> Event:
        success = exit_code == 0 and not self.errors
        error = None if success else (self.errors[-1] if self.errors else f"{self.agent} exited with code {exit_code}")
        return Event("final", {"text": self.last_message or "", "success": success, "error": error})


class OpencodeAgent(CliAgent):
    name: ClassVar[str] = "opencode"
    wires: ClassVar[frozenset[str]] = frozenset({"read_only", "system_prompt", "mcp_apart"})
    install: ClassVar[str] = "npm install -g opencode-ai"
    defaults: ClassVar[dict[str, str]] = {}  # the CLI's own permissions, before any config

    def _choices(self) -> list[str]:
        return [*choice_flags(self.name, self.args, self.model, ("-m", "--model"), "model", ["-m", str(self.model)]),
                *choice_flags(self.name, self.args, self.effort, ("--variant",), "effort",
                              ["--variant", str(self.effort)])]

    def _exe(self) -> str:
        return find_executable(self.name, f"PODIUM_{self.name.upper()}", self.install)

    def _config(self, workdir: Path) -> dict[str, Any]:
        config: dict[str, Any] = {"permission": dict(self.defaults)}
        for path in config_files(self.name, workdir):
            data = read_jsonc(path)
            rules = {**_table(config.get("permission")), **_table(data.get("permission"))}
            config.update(data, **({"permission": rules} if rules else {}))
        variable = f"{self.name.upper()}_PERMISSION"
        if os.environ.get(variable):
            try:
                env_rules = json.loads(os.environ[variable])
            except ValueError:
                raise AgentError(f"{variable} is not JSON") from None
            config["permission"] = {**_table(config.get("permission")), **_table(env_rules)}
        return config

    def _endpoint(self, config: dict[str, Any]) -> str | None:
        """The base URL of the provider the run's model belongs to, when the config names one."""
        model = self.model or flag_value(self.args, "-m", "--model") or config.get("model") or ""
        provider = (config.get("provider") or {}).get(str(model).partition("/")[0]) or {}
        base = (provider.get("options") or {}).get("baseURL") if isinstance(provider, dict) else None
        return str(base) if base else None

    def preflight(self, workdir: Path) -> Preflight:
        self._exe()
        self._choices()
        config = self._config(workdir)
        check_endpoint(self.name, self._endpoint(config))
        rules = {tool: permission(config, tool) for tool in WRITING}
        denied = [tool for tool, rule in rules.items() if rule == "deny"]
        if denied:
            return Preflight(conflict=f"your {self.name} config denies {' and '.join(denied)}: a worker must edit and "
                                      "run commands (deny them for one agent only, not the build agent)")
        asked = [tool for tool, rule in rules.items() if rule == "ask"]
        if not asked or "--auto" in self.args:
            return Preflight()
        whose = f"your {self.name} config" if config.get("permission") != self.defaults else self.name
        return Preflight(extra_args=("--auto",),
                         notes=(f"{whose} asks before {' and '.join(asked)}, which {self.name} run rejects (no one to "
                                "ask); podium approves what asks in this worktree (--auto)",))

    def _start(self, preflight: Preflight) -> list[str]:
        """The CLI, started with the variables its wiring needs."""
        return [shutil.which("env") or "/usr/bin/env", *preflight.env, self._exe()] if preflight.env else [self._exe()]

    def _common(self, workdir: Path, preflight: Preflight) -> list[str]:
        """``--dir``: opencode (kilo too) works in ``$PWD`` when it is set, which is where podium was started (the
        user's checkout), not the job's worktree that its process runs in."""
        return [*self._start(preflight), "run", "--format", "json", "--dir", str(workdir),
                *preflight.checked().extra_args, *self._choices(), *self.args]

    def chat_argv(self, user_args: list[str], preflight: Preflight) -> list[str]:
        return [*self._start(preflight), *user_args, *preflight.checked().extra_args, *self._choices(), *self.args]

    def new_argv(self, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        return self._common(workdir, preflight)

    def resume_argv(self, session_id: str, prompt: str, workdir: Path, preflight: Preflight) -> list[str]:
        return [*self._common(workdir, preflight), "-s", session_id]

    def wire(self, preflight: Preflight, wiring: Wiring) -> Preflight:
        """The orchestrator: podium's MCP server, the role and the permissions in the config podium hands the CLI
        (see the module's doc). Read-only without them (the distiller, in the user's checkout): the CLI's
        ``plan`` agent, with the writing tools denied in that config too, since the user's own permissions
        (``"bash": "allow"``) would hold for the plan agent as well."""
        denied = dict.fromkeys(READ_ONLY_DENIED, "deny") if wiring.read_only else {}
        if not (wiring.mcp or wiring.servers or wiring.system_prompt):
            wired = wire_plainly(self, preflight, wiring)
            if not wiring.read_only:
                return wired
            plan = ("--agent", "plan") if flag_value(self.args, "--agent") is None else ()
            env, notes = self._config_env({"permission": denied})
            return Preflight(extra_args=plan, env=env, notes=notes)
        if not (wiring.mcp and wiring.checkout):  # a run in a worktree (a tester's)
            raise AgentError(f"{self.name} takes MCP servers and a role from podium only as the orchestrator")
        rules: dict[str, str] = {f"{MCP_NAME}_*": "allow" if wiring.allowed is None else "ask"}
        rules |= {f"{MCP_NAME}_{tool}": "allow" for tool in wiring.allowed or ()}
        servers = {name: {"type": "local", "command": list(cmd), "enabled": True} for name, cmd in wiring.servers}
        servers[MCP_NAME] = {"type": "local", "command": list(wiring.mcp), "enabled": True}
        env, notes = self._config_env({"mcp": servers, "permission": rules | denied,
                                       "instructions": [str(_role_file(self.name, wiring))]})
        if wiring.read_only:
            return Preflight(env=env, notes=notes)
        return Preflight(extra_args=preflight.extra_args, notes=(*preflight.notes, *notes),
                         conflict=preflight.conflict, env=env)

    def _config_env(self, ours: dict[str, Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``$<CLI>_CONFIG_CONTENT`` holding ``ours``, and a note when it takes the place of the user's own: theirs
        is not merged into it, since the run's argv (in the process list and podium's record) would then hold
        what they keep there, their providers' keys included."""
        variable = f"{self.name.upper()}_CONFIG_CONTENT"
        notes = (f"your ${variable} is not used for this run: podium's wiring takes its place (keep your own "
                 f"settings in a {self.name} config file to have both)",) if os.environ.get(variable) else ()
        return (f"{variable}={json.dumps(ours)}",), notes

    def parser(self) -> OpencodeParser:
        return OpencodeParser(self.name)

    def transcript(self, session_id: str) -> Path | None:
        """The CLI's database, when it holds the session (opencode keeps no file per session)."""
        data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
        db = data / self.name / f"{self.name}.db"
        if not db.is_file():
            return None
        try:
            with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
                found = conn.execute("SELECT 1 FROM session WHERE id = ?", (session_id,)).fetchone()
        except sqlite3.Error:
            return None
        return db if found else None


def _role_file(cli: str, wiring: Wiring) -> Path:
    """The role, in a file of podium's the CLI reads as instructions (one per checkout and server)."""
    import hashlib

    import platformdirs

    assert wiring.mcp and wiring.checkout
    key = hashlib.sha256(json.dumps([wiring.checkout, wiring.mcp]).encode()).hexdigest()[:16]
    path = platformdirs.user_state_path("podium") / cli / key / "ROLE.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    role = (wiring.system_prompt or "").rstrip()
    path.write_text(f"{role}\n\n---\n\nThe repository you work on is {wiring.checkout}.\n")
    return path


def _table(value: Any) -> dict[str, Any]:
    """A ``permission`` value as a table (a bare "allow"/"ask"/"deny" applies to every tool: ``*``)."""
    if isinstance(value, dict):
        return value
    return {"*": value} if isinstance(value, str) else {}


class KiloAgent(OpencodeAgent):
    name: ClassVar[str] = "kilo"
    install: ClassVar[str] = "npm install -g @kilocode/cli"
    defaults: ClassVar[dict[str, str]] = {"bash": "ask"}
