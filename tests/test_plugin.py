"""podium's Claude Code plugin with the real claude CLI: it validates, a session with it loaded runs a slash
command on podium's own tools (the scripted model calling them), and claude installs it from podium's git URL
and from where podium is installed."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import Env, assert_one_line_error, git
from podium.service import mcp_operations
from podium.service.plugin import PLUGIN_DIR, TOOL, marketplace, plugin_files
from servers.git_http import GitHttpServer

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "podium" / "claude_plugin"
COMMANDS = ("delegate", "status", "work", "test", "ship")


def claude(env: Env, *args: str, home: Path | None = None) -> subprocess.CompletedProcess[str]:
    variables = {**env.vars, "HOME": str(home)} if home else env.vars
    return subprocess.run(["claude", *args], cwd=env.repo, env=variables, capture_output=True, text=True,
                          timeout=180, stdin=subprocess.DEVNULL)


def files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*") if p.is_file()}


def podium_on_path(env: Env) -> None:
    """The ``podium`` the plugin's MCP server starts, as an installed podium puts it on PATH."""
    bin_dir = env.root / "bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "podium").write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m podium "$@"\n')
    (bin_dir / "podium").chmod(0o755)
    env.vars["PATH"] = f"{bin_dir}:{env.vars['PATH']}"


def user_text(body: dict[str, Any]) -> str:
    return json.dumps([m for m in body["messages"] if m["role"] == "user"])


def test_the_plugin_podium_ships_is_what_its_tools_make_and_claude_validates_it(env: Env) -> None:
    assert files(SOURCE) == plugin_files(), "stale: podium plugin --dir src/podium/claude_plugin writes it again"
    repo_marketplace = json.loads((ROOT / ".claude-plugin" / "marketplace.json").read_text())
    assert repo_marketplace == marketplace("./src/podium/claude_plugin")
    for where in (SOURCE, ROOT):  # the plugin with its own marketplace; podium's repository's marketplace
        checked = claude(env, "plugin", "validate", "--strict", str(where))
        assert checked.returncode == 0, checked.stdout + checked.stderr
    provides = claude(env, "plugin", "validate", str(SOURCE)).stdout
    assert all(f"commands: podium:{name}" in provides for name in COMMANDS)
    assert "agents: podium:orchestrator" in provides and 'mcpServers: podium stdio podium ["mcp"]' in provides

    # podium plugin: where it is and how to install it; --dir writes it from this podium's tools
    assert env.podium_json("plugin") == {
        "path": str(PLUGIN_DIR), "written": False,
        "install": f"claude plugin install podium --marketplace {shlex.quote(str(PLUGIN_DIR))}",
        "session": f"claude --plugin-dir {shlex.quote(str(PLUGIN_DIR))}"}
    written = env.root / "my plugin"
    out = env.podium("plugin", "--dir", str(written), check=True).stdout
    assert out.splitlines()[0] == f"{written}: written" and files(written) == plugin_files()
    assert f"claude plugin install podium --marketplace '{written}'" in out
    assert_one_line_error(env.podium("plugin", "--dir", str(env.repo / "app.py")), "--dir", "is a file")


def test_a_session_with_the_plugin_runs_a_slash_command_on_podiums_tools(env: Env) -> None:
    podium_on_path(env)
    job = env.delegate("Fix the footer.", "--agent", "command", "--command", "touch footer.txt")
    env.podium("wait", str(job), "--timeout", "60", check=True)
    env.serve({"steps": [
        {"text": "Checking.", "tool": {"name": f"{TOOL}status", "input": {}}},
        f"Job {job} fixed the footer."]})
    proc = claude(env, "-p", "--plugin-dir", str(PLUGIN_DIR), "--agent", "podium:orchestrator",
                  "--output-format", "json", "/podium:status")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["result"] == f"Job {job} fixed the footer."
    first, second = [r["body"] for r in env.requests() if not r["aux"]][:2]
    # the plugin's MCP server: every one of podium's tools offered (claude defers them behind its ToolSearch, and
    # lists them once the server is connected: by the second request)
    offered = json.dumps(second)
    assert all(f"{TOOL}{op.name}" in offered for op in mcp_operations())
    # the slash command, expanded; the orchestrator agent's role as the session's system prompt
    asked = user_text(first)
    assert "/podium:status" in asked and "Show what podium's jobs are doing with the `status` tool" in asked
    system = json.dumps(first["system"])
    assert "# Orchestrator" in system and "`delegate(prompt, " in system
    assert "podium roles orchestrator --print" in system  # where this repository's conventions are
    # status ran in podium's server, in this repository (allowed by the command: no question in -p)
    [result] = [b for m in second["messages"] if isinstance(m["content"], list) for b in m["content"]
                if b.get("type") == "tool_result"]
    assert not result.get("is_error"), result
    rows = json.loads(result["content"])["result"]
    assert [(r["id"], r["agent"], r["state"]) for r in rows] == [(job, "command", env.job(job)["state"])]


def publish(root: Path) -> Path:
    """podium's repository as a git host serves it: its root's marketplace and the plugin folder it names."""
    checkout = root / "podium-checkout"
    shutil.copytree(ROOT / ".claude-plugin", checkout / ".claude-plugin")
    shutil.copytree(SOURCE, checkout / "src" / "podium" / "claude_plugin")
    git("init", "--quiet", "--initial-branch=main", str(checkout), cwd=root)
    git("add", ".", cwd=checkout)
    git("commit", "--quiet", "-m", "podium", cwd=checkout)
    hosted = root / "host"
    hosted.mkdir()
    git("clone", "--quiet", "--bare", str(checkout), str(hosted / "podium.git"), cwd=root)
    return hosted


def test_claude_installs_the_plugin_from_podiums_git_url_and_from_where_podium_is_installed(env: Env) -> None:
    podium_on_path(env)
    env.serve({"steps": ["A worker has it."]})  # its API on loopback: claude's plugin commands wait for no network
    # podium init --register offers the plugin where podium is installed; claude loads it from there, in place
    out = env.podium("init", "--register", check=True, timeout=240).stdout
    offer = f"claude plugin install podium --marketplace {shlex.quote(str(PLUGIN_DIR))}"
    assert f"Claude Code plugin (podium's slash commands and orchestrator agent): {offer}" in out
    assert "then claude mcp remove podium, or they are listed twice" in out  # init registered podium's server too
    installed = claude(env, *shlex.split(offer)[1:])
    assert installed.returncode == 0, installed.stdout + installed.stderr
    [here] = json.loads(claude(env, "plugin", "list", "--json").stdout)
    assert here["id"] == "podium@podium" and here["enabled"] and here["readFromFolder"] == str(PLUGIN_DIR)

    # another user, from podium's git URL: the marketplace at the repository's root
    host = GitHttpServer(publish(env.root))
    home = env.root / "home-2"
    home.mkdir()
    try:
        added = claude(env, "plugin", "marketplace", "add", f"{host.url}/podium.git", home=home)
        assert added.returncode == 0, added.stdout + added.stderr
        installed = claude(env, "plugin", "install", "podium@podium", home=home)
        assert installed.returncode == 0, installed.stdout + installed.stderr
    finally:
        host.stop()
    [cloned] = json.loads(claude(env, "plugin", "list", "--json", home=home).stdout)
    assert cloned["id"] == "podium@podium" and cloned["mcpServers"] == {"podium": {"command": "podium",
                                                                                  "args": ["mcp"]}}
    assert files(Path(cloned["installPath"])).items() >= plugin_files().items()
    # a session of that install has the commands
    said = claude(env, "-p", "/podium:delegate the footer overlaps the menu on phones", home=home)
    assert said.returncode == 0 and said.stdout.strip() == "A worker has it.", said.stdout + said.stderr
    asked = user_text(next(r["body"] for r in env.requests() if not r["aux"]))
    assert "Delegate this to a podium worker with the `delegate` tool" in asked
    assert "the footer overlaps the menu on phones" in asked
