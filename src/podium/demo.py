"""``podium demo``: ``podium work`` on a sample ticket in a throw-away repository, to the human's gate.

It builds a small repository with a bare ``origin`` and a local tracker (``tickets/``), then runs the
whole loop with the real agent CLIs — claude as orchestrator and tester, the chosen agent as worker —
installing the pinned CLIs with npm when they are not on PATH. It shows the work live and ends at the
gate: what the human would approve. With no API key, every agent talks to podium's scripted model, so
the demo needs no account and no network beyond the npm registry.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING

import click
import platformdirs

from podium.context import Context
from podium.errors import AgentError
from podium.scripted import Scenario, ScriptedModel

if TYPE_CHECKING:
    from podium.work import Report

PINNED = {
    "codex": "@openai/codex@0.169.0",
    "claude": "@anthropic-ai/claude-code@2.1.328",
    "gemini": "@google/gemini-cli@0.61.0",
    "opencode": "opencode-ai@1.18.33",
    "pi": "@mariozechner/pi-coding-agent@0.73.1",
}
# the key that says "my own setup" for a CLI; opencode and pi take their provider from a file, so the demo runs them
# on the scripted model
KEY_VARS = {"codex": "OPENAI_API_KEY", "claude": "ANTHROPIC_API_KEY", "gemini": "GEMINI_API_KEY"}
TICKET = """---
title: Say goodbye too
type: feature
state: New
assignee:
---
Users of greet.py also want to say goodbye: add `farewell(name)` next to `greet(name)`, returning
"Goodbye, <name>!", with a unit test. The suite must pass.
"""


def _sh(*args: str, cwd: Path) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)


def ensure_cli(agent: str) -> None:
    """Put the agent CLI on PATH, installing the pinned version into podium's cache if needed."""
    if shutil.which(agent):
        return
    prefix = platformdirs.user_cache_path("podium") / "agent-clis"
    bin_dir = prefix / "node_modules" / ".bin"
    if not (bin_dir / agent).exists():
        if not shutil.which("npm"):
            raise AgentError(f"the {agent} CLI is not installed and npm is not available to install it")
        click.echo(f"installing {PINNED[agent]} into {prefix} …", err=True)
        prefix.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(prefix), PINNED[agent]],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            raise AgentError(f"npm could not install {PINNED[agent]}: {proc.stderr.strip().splitlines()[-1:]}")
    os.environ["PATH"] = f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"


def make_repo(root: Path) -> Path:
    origin, repo = root / "origin.git", root / "greeter"
    _sh("git", "init", "--quiet", "--bare", "--initial-branch=main", str(origin), cwd=root)
    _sh("git", "clone", "--quiet", str(origin), str(repo), cwd=root)
    (repo / "greet.py").write_text('def greet(name):\n    return f"Hello, {name}!"\n')
    (repo / "tickets").mkdir()
    (repo / "tickets" / "GREET-7-say-goodbye.md").write_text(TICKET)
    (repo / "test_greet.py").write_text(
        "import unittest\n\nfrom greet import greet\n\n\nclass GreetTest(unittest.TestCase):\n"
        '    def test_greet(self):\n        self.assertEqual(greet("Ada"), "Hello, Ada!")\n'
    )
    for args in (
        ("add", "."),
        ("-c", "user.name=podium demo", "-c", "user.email=demo@podium.invalid", "commit", "--quiet", "-m", "greet()"),
        ("push", "--quiet", "origin", "HEAD:main"),
        ("push", "--quiet", "origin", "HEAD:develop"),
        # the team's earlier branches, so that the job's branch is named the way they name theirs
        ("push", "--quiet", "origin", "HEAD:refs/heads/feature/GREET-2-greet-by-name"),
        ("push", "--quiet", "origin", "HEAD:refs/heads/fix/GREET-5-greeting-punctuation"),
    ):
        _sh("git", *args, cwd=repo)
    return repo


def use_scripted_model(agent: str, root: Path) -> ScriptedModel:
    """Start the scripted model and point the agent at it — only inside this process tree,
    with the agent's home in the throw-away directory, so the user's own setup is untouched."""
    scenario = json.loads(files("podium.scripted").joinpath("demo.json").read_text())
    model = ScriptedModel(Scenario.from_data(scenario, where="demo scenario")).start()
    home = root / "home"
    home.mkdir()
    os.environ.update(SCRIPTED_API_KEY="scripted", HOME=str(home), ANTHROPIC_BASE_URL=model.url,
                      ANTHROPIC_API_KEY="scripted", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
                      DISABLE_AUTOUPDATER="1")
    if agent == "codex":
        codex_home = root / "codex-home"
        codex_home.mkdir()
        (codex_home / "config.toml").write_text(
            'model = "scripted"\nmodel_provider = "scripted"\n[model_providers.scripted]\nname = "scripted"\n'
            f'base_url = "{model.url}/v1"\nwire_api = "responses"\nenv_key = "SCRIPTED_API_KEY"\n'
        )
        os.environ["CODEX_HOME"] = str(codex_home)
    elif agent == "gemini":
        (home / ".gemini").mkdir()
        (home / ".gemini" / "settings.json").write_text('{"security": {"auth": {"selectedType": "gemini-api-key"}}}')
        os.environ.update(GOOGLE_GEMINI_BASE_URL=model.url, GEMINI_API_KEY="scripted")
    else:
        _chat_completions(agent, home, f"{model.url}/v1")
    return model


def _chat_completions(agent: str, home: Path, url: str) -> None:
    """opencode and pi, set up the way their users point them at a provider of their own. (qwen's and copilot's
    tools refuse to overwrite a file they have not read: the demo's scripted worker would leave no change.)"""
    if agent == "opencode":
        (home / ".config" / "opencode").mkdir(parents=True)
        provider = {"npm": "@ai-sdk/openai-compatible", "name": "scripted", "models": {"scripted": {}},
                    "options": {"baseURL": url, "apiKey": "scripted"}}
        (home / ".config" / "opencode" / "opencode.json").write_text(json.dumps(
            {"provider": {"scripted": provider}, "model": "scripted/scripted"}))
        os.environ["OPENCODE_DISABLE_MODELS_FETCH"] = "1"
    elif agent == "pi":
        (home / ".pi" / "agent").mkdir(parents=True)
        (home / ".pi" / "agent" / "models.json").write_text(json.dumps({"providers": {"scripted": {
            "baseUrl": url, "api": "openai-completions", "apiKey": "scripted", "models": [{"id": "scripted"}]}}}))
        (home / ".pi" / "agent" / "settings.json").write_text(json.dumps(
            {"defaultProvider": "scripted", "defaultModel": "scripted"}))
        os.environ["PI_OFFLINE"] = "1"


def run_demo(agent: str = "codex", keep: bool | None = None) -> int:
    """The demo, end to end. ``keep``: None keeps the repository when the work waits at the gate (so the human
    can approve it, as printed) and removes it otherwise; True or False decide."""
    from podium import work as work_mod
    from podium.gate import describe
    from podium.git import identity_problem
    from podium.service.orchestration import orchestration

    for cli in dict.fromkeys(("claude", agent)):  # claude orchestrates and tests; the agent works
        ensure_cli(cli)
    identity = identity_problem(Path.cwd())  # the user's own, before the agents get a throw-away HOME
    root = Path(tempfile.mkdtemp(prefix="podium-demo-"))
    os.environ["PODIUM_WORKTREES"] = str(root / "worktrees")
    scripted = not (os.environ.get(KEY_VARS["claude"]) and agent in KEY_VARS and os.environ.get(KEY_VARS[agent]))
    model = use_scripted_model(agent, root) if scripted else None
    report = None
    try:
        repo = make_repo(root)
        click.secho(f"demo repository: {repo} (origin: {root / 'origin.git'}, tickets in tickets/)", bold=True)
        click.echo(f"model: {'podium scripted model (no API key set)' if scripted else 'your own setup'}")
        click.echo(f"$ podium work GREET-7   # claude orchestrates and tests, {agent} works\n")
        (repo / "podium.toml").write_text(f'[jobs]\ndefault_agent = "{agent}"   # the workers\' agent CLI\n')
        ctx = Context.open(repo)
        work = work_mod.start(ctx, "GREET-7", orchestration(ctx))
        report = work_mod.watch(ctx, work, lambda line: click.echo(f"  {line}"), poll=0.3)
        kept = keeps(keep, report)
        click.echo("")
        click.echo("\n".join(report.lines if kept else report.facts))  # no next steps in a repository removed
        if report.pending_gate is not None:
            hint = f"   # what you would approve with: podium approve {report.pending_gate}" if kept else ""
            click.echo(f"\n$ podium gates{hint}")
            click.echo("\n".join(describe(ctx.store.gate(report.pending_gate))))
        if kept:
            click.echo(f"\nyour checkout {repo} is untouched; the work waits in {work.workspace}")
        return 0 if report.state == "waiting" else 1
    finally:
        if model is not None:
            model.stop()
        if keeps(keep, report):
            click.echo(f"kept: {root}")
            if report is not None and report.pending_gate is not None:
                _next_steps(root / "greeter", report.pending_gate, identity)
        else:
            shutil.rmtree(root, ignore_errors=True)
            gate = report is not None and report.pending_gate is not None
            click.echo(f"\nthe demo repository ({root}) was removed{', and its gate with it' if gate else ''}: "
                       f"nothing waits for you{'' if keep is False else ' (podium demo --keep keeps it)'}")


def keeps(keep: bool | None, report: Report | None) -> bool:
    """Whether the demo keeps its repository: as asked, else when the work waits at the human's gate."""
    return bool(keep) or (keep is None and report is not None and report.pending_gate is not None)


def _next_steps(repo: Path, gate: int | None, identity: str | None) -> None:
    """The exact commands that take the demo's gate to the end, in the user's own terminal."""
    click.secho("\nnext, in a terminal (approving is yours: it commits and pushes to the demo's origin):", bold=True)
    if identity:
        click.echo(f"  # first: {identity}")
    click.echo(f"  cd {repo}")
    click.echo("  podium gates")
    click.echo(f"  podium approve {gate}")
    click.echo(f"when you are done: rm -rf {repo.parent}")
