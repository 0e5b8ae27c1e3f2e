"""podium's Claude Code plugin: its MCP server, a slash command for each everyday operation (delegate, status,
work, test, ship) and the orchestrator as an agent, written from the catalog and ORCHESTRATOR.md's own text, so
the plugin says what the tools do.

The plugin ships inside the package (``podium/claude_plugin``; a test keeps its files equal to what
``plugin_files`` makes) with a marketplace of its own, so Claude Code installs it from there and loads it in
place (an upgrade of podium upgrades it). podium's repository has a marketplace at its root pointing at the
same folder, so its git URL installs it too. The MCP server is the ``podium`` on PATH: a plugin knows no Python
environment, so podium must be installed (pip, uv tool) for the plugin's tools to start.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import podium
from podium.service.catalog import get, tool_list

PLUGIN_DIR = Path(podium.__file__).resolve().parent / "claude_plugin"
NAME = "podium"  # the plugin's, its marketplace's and its MCP server's: /podium:status, podium@podium
TOOL = f"mcp__plugin_{NAME}_{NAME}__"  # how Claude Code names a plugin's MCP tools
DESCRIPTION = ("podium's tools in Claude Code: delegate to coding agents in their own worktrees, test, ship "
               "through the human's gate; slash commands for the everyday operations and the orchestrator agent.")


@dataclass(frozen=True)
class SlashCommand:
    """A ``/podium:<name>`` command: a short prompt telling Claude which of podium's tools to call."""

    name: str
    operation: str  # its parameters make the argument hint; its doc the description, unless one is given
    params: tuple[str, ...]  # what $ARGUMENTS carries, in the order the user types it
    tools: tuple[str, ...]  # the tools it calls: allowed without asking, except the human's (approve)
    prompt: str
    description: str = ""

    def text(self) -> str:
        op = get(self.operation)
        hint = " ".join(f"<{p}>" if op.param(p).required else f"[{p}]" for p in self.params)
        allowed = ", ".join(TOOL + t for t in self.tools if get(t).unattended)
        return (f"---\ndescription: {_yaml(self.description or op.summary)}\nargument-hint: {_yaml(hint)}\n"
                f"allowed-tools: {allowed}\n---\n\n{self.prompt.strip()}\n")


def commands() -> tuple[SlashCommand, ...]:
    """The slash commands; /podium:work follows ORCHESTRATOR.md's loop for a ticket."""
    from podium.roles import LOOP

    loop = "\n".join(LOOP[2:])  # its steps, without the heading
    return (
        SlashCommand("delegate", "delegate", ("prompt",), ("delegate",), """
Delegate this to a podium worker with the `delegate` tool. Its prompt is the situation as the user put it — what
is wrong, where it shows, why it matters, what done looks like — not a solution of yours:

$ARGUMENTS

Say the job's number and branch in one line. Don't wait for it unless asked: /podium:status shows it."""),
        SlashCommand("status", "status", ("job_ids",), ("status", "logs"), """
Show what podium's jobs are doing with the `status` tool — only the jobs numbered here, if any: $ARGUMENTS

One line a job: its number, state, agent, role, branch and how long it has been quiet. Read a job's summary with
`logs` only when a job failed or the user asks; never its whole log."""),
        SlashCommand("work", "work_start", ("ticket_id",),
                     ("ticket_start", "delegate", "wait", "status", "logs", "resume", "test", "ship"),
                     f"Take ticket $ARGUMENTS to the human's gate with podium's tools:\n\n{loop}\n\n"
                     "Then say what you did, what you found and what waits for the human, in a few lines.",
                     description="Take a ticket through podium's loop to the human's gate: its workspace, workers, "
                                 "the tester, ship."),
        SlashCommand("test", "test", ("branch", "message"), ("test", "wait", "logs"), """
Give podium's tester a turn with the `test` tool. The branch (or a job's number) and what to test:

$ARGUMENTS

Then `wait` for the turn and report in a few lines: the verdict (passed or failed, the counts, the failing
tests — from `logs`'s summary, which reads them from the runner) and the screenshots it took."""),
        SlashCommand("ship", "ship", ("target",), ("ship", "gates"), """
Ship with podium's `ship` tool (the job or branch, when given: $ARGUMENTS): one commit on the base, pushed with
a lease, the pull request opened or updated with the ticket, tests and screenshots.

It passes the human's gate. Say what the gate holds and that it waits for them: `podium approve N` at their
terminal, or the gate's page in `podium dashboard`. Never try to get around the gate."""),
    )


def _yaml(text: str) -> str:
    """A YAML scalar that holds any text (a JSON string is one)."""
    return json.dumps(text, ensure_ascii=False)


def manifest() -> dict[str, Any]:
    """``.claude-plugin/plugin.json``: podium's MCP server is the ``podium`` on PATH, started in the project."""
    return {"name": NAME, "version": podium.__version__, "description": DESCRIPTION,
            "author": {"name": "podium"}, "license": "MIT",
            "keywords": ["coding-agents", "orchestration", "worktrees", "mcp"],
            "mcpServers": {NAME: {"command": "podium", "args": ["mcp"]}}}


def marketplace(source: str) -> dict[str, Any]:
    """A marketplace that offers the plugin at ``source`` (``./``: the marketplace is the plugin's folder)."""
    return {"name": NAME, "owner": {"name": "podium"}, "metadata": {"description": DESCRIPTION},
            "plugins": [{"name": NAME, "source": source, "description": DESCRIPTION}]}


def agent() -> str:
    """``agents/orchestrator.md``: ORCHESTRATOR.md's role for any repository (``claude --agent
    podium:orchestrator`` makes it the session's own)."""
    from podium.roles import orchestrator_agent

    description = ("Coordinates coding agents through podium: delegates to workers in their own worktrees, has "
                   "the tester test, ships through the human's gate. Start it with claude --agent "
                   "podium:orchestrator.")
    return f"---\nname: orchestrator\ndescription: {_yaml(description)}\n---\n\n{orchestrator_agent(tool_list())}"


README = """\
# podium for Claude Code

podium's tools in Claude Code, from the `podium` MCP server: delegate work to coding agents in their own git
worktrees, have the tester test a branch, and ship through the human's approval gate.

- `/podium:delegate`, `/podium:status`, `/podium:work`, `/podium:test`, `/podium:ship`: the everyday operations.
- The `podium:orchestrator` agent: the orchestrator's role (`claude --agent podium:orchestrator`).

podium must be installed (`pip install podium`, or `uv tool install podium`): the plugin starts `podium mcp`.

Install it from podium's git URL or a checkout (the marketplace at its root), or from where podium is installed
(`podium plugin` prints that command):

    claude plugin install podium --marketplace <podium's git URL, or a folder holding its marketplace>
"""


def plugin_files() -> dict[str, str]:
    """Every file of the plugin, by its path in the plugin's folder."""
    files = {".claude-plugin/plugin.json": _json(manifest()),
             ".claude-plugin/marketplace.json": _json(marketplace("./")),
             "agents/orchestrator.md": agent(),
             "README.md": README}
    for command in commands():
        files[f"commands/{command.name}.md"] = command.text()
    return files


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


@dataclass
class Plugin:
    """Where the plugin is, whether podium just wrote it, and the commands that give it to Claude Code."""

    path: str
    written: bool
    install: str  # installs it for the user, loaded in place from ``path``
    session: str  # loads it for one session only

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "written": self.written, "install": self.install, "session": self.session}


def plugin(into: Path | None = None) -> Plugin:
    """The Claude Code plugin podium ships, or (``into``) the plugin written into that folder from this podium's
    tools; and how Claude Code installs it."""
    path = PLUGIN_DIR
    if into is not None:
        path = into.resolve()
        for name, text in plugin_files().items():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            (path / name).write_text(text)
    where = shlex.quote(str(path))
    return Plugin(path=str(path), written=into is not None,
                  install=f"claude plugin install {NAME} --marketplace {where}",
                  session=f"claude --plugin-dir {where}")
