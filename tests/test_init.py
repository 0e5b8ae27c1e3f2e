"""podium init and podium doctor: what podium finds in a repository, written down and checked."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from conftest import Env, assert_one_line_error, git
from podium._compat import tomllib


def test_init_writes_the_conventions_it_found_and_registers_podium_with_the_agent_clis(env: Env) -> None:
    (env.repo / "tickets").mkdir()
    (env.repo / "tickets" / "PROJ-1.md").write_text("---\ntitle: First\n---\nBody.\n")
    (env.repo / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
    git("add", ".", cwd=env.repo)
    git("commit", "--quiet", "-m", "Tickets and tests", cwd=env.repo)
    git("push", "--quiet", "origin", "HEAD:main", "HEAD:refs/heads/bugfix/PROJ-7-footer-overlaps-the-menu",
        "HEAD:refs/heads/feature/PROJ-9-add-login-page", cwd=env.repo)
    git("fetch", "--quiet", "origin", cwd=env.repo)

    missing_home = env.podium("init", "--register", check=True).stdout  # CODEX_HOME does not exist yet
    assert ("MCP server for codex: not registered: Error: failed to resolve CODEX_HOME (CODEX_HOME points to "
            f'"{env.vars["CODEX_HOME"]}", but that path does not exist)') in missing_home
    (env.repo / "podium.toml").unlink()
    Path(env.vars["CODEX_HOME"]).mkdir()
    out = env.podium("init", "--register", check=True).stdout
    toml = env.repo / "podium.toml"
    assert out.splitlines()[0] == f"{toml}: written"
    assert "  ✓ base branch: origin/main" in out
    assert "look like {kind}/PROJ-42-slug: bugfix/PROJ-7-footer-overlaps-the-menu" in out
    assert "  ✓ tracker: local  (a tickets/ folder)" in out
    assert "  – forge: missing" in out  # a bare repository on disk is no forge: said, not an error
    assert "  ✓ agent CLI codex: codex-cli " in out and "  ✓ agent CLI claude: " in out
    assert "  ✓ live browser for the tester (playwright-mcp): " in out
    assert "  ✓ test commands: python -m pytest" in out
    settings = tomllib.loads(toml.read_text())
    assert settings["branches"]["base"] == "main" and settings["tracker"]["kind"] == "local"
    assert settings["jobs"]["default_agent"] == "codex" and settings["tester"]["agent"] == "claude"
    assert "forge" not in settings
    # each role's agent, model and effort, as a commented example that is valid once uncommented
    text = toml.read_text()
    example = "\n".join(line.removeprefix("#").removeprefix(" ")
                        for line in text[text.index("# [roles."):].splitlines())
    roles = tomllib.loads(example)["roles"]
    assert roles["worker"] == {"agent": "codex", "model": "gpt-5.2", "effort": "xhigh", "stall_after": 7200}
    assert roles["orchestrator"]["model"] == "opus" and roles["tester"]["model"] == "sonnet"
    for name in ("ORCHESTRATOR", "TESTER"):
        assert (env.repo / ".podium" / "roles" / f"{name}.md").is_file()
    assert "Tests: `python -m pytest`." in (env.repo / ".podium" / "roles" / "ORCHESTRATOR.md").read_text()

    # registered with each CLI, the CLI's own way
    assert "MCP server for codex: registered" in out
    for name in ("claude", "gemini"):  # registered by the first run already
        assert f"MCP server for {name}: " in out and "not registered" not in out
    claude = subprocess.run(["claude", "mcp", "get", "podium"], cwd=env.repo, env=env.vars, capture_output=True,
                            text=True, timeout=60)
    assert claude.returncode == 0 and "-m podium mcp" in claude.stdout
    codex = tomllib.loads((Path(env.vars["CODEX_HOME"]) / "config.toml").read_text())
    assert codex["mcp_servers"]["podium"]["args"] == ["-m", "podium", "mcp"]
    gemini = json.loads((Path(env.vars["HOME"]) / ".gemini" / "settings.json").read_text())
    assert gemini["mcpServers"]["podium"]["args"] == ["-m", "podium", "mcp"]
    assert not (env.repo / ".gemini").exists() and git("status", "--porcelain", cwd=env.repo) == "?? podium.toml"

    # a second run keeps the user's podium.toml and says so; registering again is harmless
    toml.write_text(toml.read_text().replace('default_agent = "codex"', 'default_agent = "claude"'))
    again = env.podium("init", "--register", check=True).stdout
    assert "exists, kept (--force rewrites it)" in again and "MCP server for claude: already registered" in again
    assert 'default_agent = "claude"' in toml.read_text()
    env.podium("init", "--force", check=True)
    assert 'default_agent = "codex"' in toml.read_text()


def test_doctor_says_what_is_missing_in_one_line(env: Env) -> None:
    ok = env.podium("doctor", check=True).stdout
    assert "  ✓ origin: " in ok and "  ✓ agent CLI claude: " in ok
    no_clis = {**env.vars, "PATH": os.pathsep.join(p for p in env.vars["PATH"].split(os.pathsep)
                                                  if "agent-clis" not in p)}
    proc = subprocess.run([*_podium(), "doctor"], cwd=env.repo, env=no_clis, capture_output=True, text=True)
    assert "  – agent CLI codex: missing — npm install -g @openai/codex" in proc.stdout
    assert_one_line_error(proc, "no agent CLI installed")
    git("remote", "remove", "origin", cwd=env.repo)
    missing = env.podium("doctor")
    assert "  ✗ origin: missing — add the shared repository as origin" in missing.stdout
    assert_one_line_error(missing, "origin missing")


def _podium() -> list[str]:
    import sys

    return [sys.executable, "-m", "podium"]


def test_init_exits_0_once_its_files_are_written_and_says_what_is_missing(env: Env) -> None:
    no_clis = {**env.vars, "PATH": os.pathsep.join(p for p in env.vars["PATH"].split(os.pathsep)
                                                  if "agent-clis" not in p)}
    proc = subprocess.run([*_podium(), "init"], cwd=env.repo, env=no_clis, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (env.repo / "podium.toml").is_file() and (env.repo / ".podium" / "roles" / "TESTER.md").is_file()
    assert "to fix before podium can work here: no agent CLI installed" in proc.stderr
    assert "podium doctor checks again" in proc.stderr
