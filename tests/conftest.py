"""Test fixtures: real git repos with a bare origin, the real agent CLIs, the scripted model.

The agent CLIs are the pinned versions in ``tests/agent-clis/package.json``
(installed by the README's test command; installed here if missing). Every test
gets its own HOME, CODEX_HOME and worktree root, so nothing of the machine's own
agent configuration leaks in or out.
"""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from podium.scripted import Scenario, ScriptedModel

CLI_DIR = Path(__file__).parent / "agent-clis"
CLI_BIN = CLI_DIR / "node_modules" / ".bin"
AGENT_CLIS = ("codex", "claude", "gemini", "opencode", "kilo", "qwen", "pi", "copilot", "droid", "cline")
# aider is a Python CLI whose pins would fight podium's own: it lives in a venv of its own
AIDER_VENV = CLI_DIR / "aider-venv"


@pytest.fixture(scope="session")
def agent_bin() -> Path:
    if not all((CLI_BIN / name).exists() for name in AGENT_CLIS):
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--prefix", str(CLI_DIR)], check=True,
                       capture_output=True)
    if not (AIDER_VENV / "bin" / "aider").exists():
        subprocess.run([sys.executable, "-m", "venv", str(AIDER_VENV)], check=True, capture_output=True)
        subprocess.run([str(AIDER_VENV / "bin" / "pip"), "install", "-q", "-r", str(CLI_DIR / "aider.txt")],
                       check=True, capture_output=True)
    return CLI_BIN


def toolchain(*names: str) -> str:
    """The first of ``names`` installed; a skip on a developer's machine without it, a failure in CI
    (``.ci/run`` installs every toolchain the suite drives, so missing there is a broken setup)."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("PODIUM_CI"):
        pytest.fail(f"{names[0]} is not installed")
    pytest.skip(f"{names[0]} is not installed on this machine (.ci/run installs it)")


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    """What bad input must get: a non-zero exit and one ``podium: …`` line on stderr, no traceback."""
    assert proc.returncode != 0
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("podium: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


@dataclass
class Env:
    """Everything a test needs to run podium like a user would."""

    root: Path
    repo: Path
    origin: Path
    vars: dict[str, str]
    model: ScriptedModel | None = None

    def podium(self, *args: str, cwd: Path | None = None, check: bool = False,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "podium", *args], cwd=cwd or self.repo, env=self.vars,
                              stdin=subprocess.DEVNULL,  # headless, as an agent runs it (never a developer's tty)
                              capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"podium {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc

    def podium_json(self, *args: str, cwd: Path | None = None) -> Any:
        return json.loads(self.podium(*args, "--json", cwd=cwd, check=True).stdout)

    def podium_tty(self, *args: str, answers: str = "y\n", cwd: Path | None = None,
                   extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """podium with a terminal on stdin, as a human runs it, typing ``answers`` at its prompts."""
        primary, replica = pty.openpty()
        try:
            os.write(primary, answers.encode())
            return subprocess.run([sys.executable, "-m", "podium", *args], cwd=cwd or self.repo,
                                  env={**self.vars, **(extra_env or {})}, stdin=replica, capture_output=True,
                                  text=True, timeout=120)
        finally:
            os.close(primary)
            os.close(replica)

    def approved_json(self, *args: str, cwd: Path | None = None) -> Any:
        """A gated command (commit, push) approved at the terminal by the human; its JSON result."""
        proc = self.podium_tty(*args, "--json", cwd=cwd)
        if proc.returncode != 0:
            raise AssertionError(f"podium {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return json.loads(proc.stdout)

    def delegate(self, prompt: str, *args: str) -> int:
        return int(json.loads(self.podium("delegate", "--json", *args, "--", prompt, check=True).stdout)["id"])

    def job(self, job_id: int) -> dict[str, Any]:
        return self.podium_json("status", str(job_id))[0]

    def wait_for(self, job_id: int, predicate: Callable[[dict[str, Any]], bool], timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if predicate(job):
                return job
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} never matched; last: {job}")
            time.sleep(0.3)

    def serve(self, scenario: dict[str, Any]) -> ScriptedModel:
        """Start the scripted model with this scenario and point both CLIs at it."""
        if self.model:
            self.model.stop()
        self.model = ScriptedModel(Scenario.from_data(scenario)).start()
        self.point_at(self.model.url)
        return self.model

    def point_at(self, url: str) -> None:
        self.vars["ANTHROPIC_BASE_URL"] = url
        self.vars["GOOGLE_GEMINI_BASE_URL"] = url
        self.vars["OPENAI_BASE_URL"] = f"{url}/v1"  # qwen's OpenAI-compatible provider
        self.vars["COPILOT_PROVIDER_BASE_URL"] = f"{url}/v1"  # copilot's own provider, with no GitHub sign-in
        home = Path(self.vars["HOME"])
        # the user's own opencode and pi setups: a provider at an OpenAI-compatible base URL, chosen by default
        provider = {"npm": "@ai-sdk/openai-compatible", "name": "scripted", "models": {"scripted": {}},
                    "options": {"baseURL": f"{url}/v1", "apiKey": "scripted-key"}}
        for cli in ("opencode", "kilo"):  # kilo is opencode's fork, under its own name
            (home / ".config" / cli).mkdir(parents=True, exist_ok=True)
            (home / ".config" / cli / f"{cli}.json").write_text(json.dumps(
                {"provider": {"scripted": provider}, "model": "scripted/scripted"}))
        # the user's aider setup: their model in ~/.aider.conf.yml, described in ~/.aider.model.metadata.json (else
        # aider fetches a catalogue to look it up) and ~/.aider.model.settings.yml; the base URL is OPENAI_BASE_URL's
        (home / ".aider.conf.yml").write_text("model: openai/scripted\n")
        aider_models(home, "openai/scripted")
        (home / ".pi" / "agent").mkdir(parents=True, exist_ok=True)
        (home / ".pi" / "agent" / "models.json").write_text(json.dumps({"providers": {"scripted": {
            "baseUrl": f"{url}/v1", "api": "openai-completions", "apiKey": "scripted-key",
            "models": [{"id": "scripted", "reasoning": True}]}}}))
        (home / ".pi" / "agent" / "settings.json").write_text(json.dumps(
            {"defaultProvider": "scripted", "defaultModel": "scripted"}))
        (home / ".factory").mkdir(exist_ok=True)  # droid's: a custom model (its own provider), chosen by default
        (home / ".factory" / "settings.json").write_text(json.dumps({"model": "custom:scripted", "customModels": [{
            "model": "scripted", "displayName": "scripted", "baseUrl": f"{url}/v1", "apiKey": "scripted-key",
            "provider": "generic-chat-completion-api", "maxOutputTokens": 4096, "reasoningEffort": "medium"}]}))
        # cline's, as `cline auth -p openai -k KEY -m scripted -b URL` writes it (that command takes seconds)
        (home / ".cline" / "data" / "settings").mkdir(parents=True, exist_ok=True)
        (home / ".cline" / "data" / "settings" / "providers.json").write_text(json.dumps(
            {"version": 1, "lastUsedProvider": "openai-compatible", "modes": {}, "providers": {"openai-compatible": {
                "settings": {"provider": "openai-compatible", "apiKey": "scripted-key", "model": "scripted",
                             "baseUrl": f"{url}/v1"},
                "updatedAt": "2026-01-01T00:00:00.000Z", "tokenSource": "manual"}}}))  # without either, cline resets it
        codex_home = Path(self.vars["CODEX_HOME"])
        codex_home.mkdir(parents=True, exist_ok=True)
        (codex_home / "config.toml").write_text(
            'model = "scripted"\nmodel_provider = "scripted"\n'
            "[model_providers.scripted]\n"
            f'name = "scripted"\nbase_url = "{url}/v1"\nwire_api = "responses"\n'
            'env_key = "SCRIPTED_API_KEY"\nrequest_max_retries = 0\nstream_max_retries = 0\n'
        )

    def requests(self) -> list[dict[str, Any]]:
        assert self.model is not None
        return [r for r in self.model.requests if r.get("api")]


@pytest.fixture
def env(tmp_path: Path, agent_bin: Path) -> Iterator[Env]:
    e = make_env(tmp_path, agent_bin)
    yield e
    tidy(e)


def make_env(tmp_path: Path, agent_bin: Path) -> Env:
    """A repository with a bare origin, and the variables that run podium and the agent CLIs in it."""
    home = tmp_path / "home"
    (home / ".gemini").mkdir(parents=True)
    # the user's own gemini setup: sign-in with an API key (what `gemini` asks for on first run)
    (home / ".gemini" / "settings.json").write_text('{"security": {"auth": {"selectedType": "gemini-api-key"}}}')
    (home / ".qwen").mkdir()  # qwen's: its OpenAI-compatible provider (OPENAI_BASE_URL, OPENAI_API_KEY)
    (home / ".qwen" / "settings.json").write_text('{"security": {"auth": {"selectedType": "openai"}}, '
                                                  '"model": {"name": "scripted"}}')
    origin = tmp_path / "origin.git"
    repo = tmp_path / "repo"
    git("init", "--quiet", "--bare", "--initial-branch=main", str(origin), cwd=tmp_path)
    git("clone", "--quiet", str(origin), str(repo), cwd=tmp_path)
    git("config", "user.email", "dev@example.com", cwd=repo)
    git("config", "user.name", "Dev", cwd=repo)
    (repo / "README.md").write_text("# demo\n")
    (repo / "app.py").write_text("def greet():\n    return 'hello'\n")
    git("add", ".", cwd=repo)
    git("commit", "--quiet", "-m", "initial", cwd=repo)
    git("push", "--quiet", "origin", "HEAD:main", cwd=repo)
    own_config = ("ANTHROPIC_", "OPENAI_", "CODEX_", "CLAUDE_", "GEMINI_", "GOOGLE_", "OPENCODE_", "KILO_", "PI_",
                  "COPILOT_", "FACTORY_", "AIDER_", "CLINE_")
    homes = ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")  # opencode's are under HOME
    variables = {k: v for k, v in os.environ.items() if not k.startswith(own_config) and k not in homes}
    variables.update(
        HOME=str(home),
        CODEX_HOME=str(tmp_path / "codex-home"),
        PATH=os.pathsep.join((str(agent_bin), str(AIDER_VENV / "bin"), os.environ["PATH"])),
        ANTHROPIC_API_KEY="scripted-key",
        SCRIPTED_API_KEY="scripted-key",
        GEMINI_API_KEY="scripted-key",
        OPENAI_API_KEY="scripted-key",
        # no network beyond the scripted model: opencode's model catalogue, kilo's telemetry (retried for seconds
        # at every exit when unreachable), pi's version check, droid's Factory services and updates
        OPENCODE_DISABLE_MODELS_FETCH="1", KILO_DISABLE_MODELS_FETCH="1", KILO_TELEMETRY_LEVEL="off", PI_OFFLINE="1",
        COPILOT_OFFLINE="true", COPILOT_AUTO_UPDATE="false", COPILOT_PROVIDER_API_KEY="scripted-key",
        COPILOT_MODEL="scripted",
        FACTORY_AIRGAP_ENABLED="1", FACTORY_DROID_AUTO_UPDATE_ENABLED="false",  # droid: its own model only
        LITELLM_LOCAL_MODEL_COST_MAP="True",  # aider's litellm: its own price list, not one fetched at start
        PODIUM_WORKTREES=str(tmp_path / "worktrees"),
        PWD=str(repo),  # as the user's shell sets it: an agent that works in $PWD would write to their checkout
        PODIUM_HEARTBEAT="0.5",
        GIT_AUTHOR_NAME="Dev", GIT_AUTHOR_EMAIL="dev@example.com",
        GIT_COMMITTER_NAME="Dev", GIT_COMMITTER_EMAIL="dev@example.com",
        DISABLE_AUTOUPDATER="1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
    )
    if os.environ.get("PYTHONPATH"):  # podium's processes, started in other folders, import the podium under test
        variables["PYTHONPATH"] = os.pathsep.join(str(Path(p).resolve()) for p in
                                                  os.environ["PYTHONPATH"].split(os.pathsep) if p)
    return Env(root=tmp_path, repo=repo, origin=origin, vars=variables)


def aider_models(home: Path, *names: str) -> None:
    """The models the user's aider knows: their context windows and costs, and that they take a reasoning effort."""
    (home / ".aider.model.metadata.json").write_text(json.dumps({name: {
        "max_input_tokens": 128000, "max_output_tokens": 8192, "input_cost_per_token": 0, "output_cost_per_token": 0,
        "litellm_provider": "openai", "mode": "chat"} for name in names}))
    (home / ".aider.model.settings.yml").write_text("".join(
        f"- name: {name}\n  edit_format: whole\n  accepts_settings: [reasoning_effort]\n" for name in names))


def tidy(e: Env) -> None:
    """Leave no runner or agent behind: cancel whatever is still active."""
    try:
        rows = e.podium_json("status", "--all")
    except AssertionError:
        rows = []
    for row in rows:
        if row["state"] in ("starting", "running", "stalled"):
            e.podium("cancel", str(row["id"]))
    if e.model:
        e.model.stop()


def practice_to_distil(env: Env) -> int:
    """Two jobs of the user's, what they repeat in them for ``podium distill`` to find; the last one's id."""
    for task in ("Fix the footer.", "Fix the header."):
        worker = env.delegate(f"{task} Keep the diff small.", "--agent", "command", "--command", "touch f")
        env.podium("wait", str(worker), "--timeout", "60")
    return worker


def distill_trying_to_write(env: Env, agent: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``podium distill --agent AGENT`` over two jobs of the user's, its model first trying to write
    ``sneaky.txt`` (the distiller runs in the user's own checkout, read-only); what distill showed, and the
    distilling job's tool calls."""
    worker = practice_to_distil(env)
    reply = ("=== FILE: ORCHESTRATOR.md ===\n# Orchestrator (distilled)\n\nKeep the diff small.\n"
             "=== FILE: TESTER.md ===\n# Tester (distilled)\n")
    env.serve({"scripts": [{"name": "distiller", "match": "You are distilling how this engineer", "steps": [
        {"write": {"path": "sneaky.txt", "content": "written by the distiller\n"}}, reply]}]})
    shown = env.podium_json("distill", "--agent", agent)
    events = env.podium_json("logs", str(worker + 1))["events"]
    return shown, [e["data"] for e in events if e["kind"] == "tool_call"]


def chat_requests(env: Env) -> list[dict[str, Any]]:
    """The agent's own Chat Completions requests to the scripted model (side requests aside)."""
    return [r for r in env.requests() if r["api"] == "chat" and not r["aux"]]


def changelog_job(env: Env, *delegate_args: str, shell: str = "wc -l CHANGELOG.md && exit 3",
                  prompt: str = "Start a changelog", timeout: str = "120"
                  ) -> tuple[dict[str, Any], Path, dict[str, Any], list[dict[str, Any]]]:
    """A worker job on the changelog scenario (``prompt``: write CHANGELOG.md, run ``shell``, say so), checked as
    every agent's is: done with a session, the file in its worktree, the user's checkout untouched, the agent's last
    words as its summary. Its status row, worktree, summary and events."""
    env.serve({"steps": [
        {"text": "Writing the changelog.", "write": {"path": "CHANGELOG.md", "content": "# Changes\n"}},
        {"shell": shell},
        "Wrote CHANGELOG.md.",
        {"shell": "echo '- first entry' >> CHANGELOG.md"},
        "Added the first entry.",
    ]})
    first = env.delegate(prompt, *delegate_args)
    result = env.podium("wait", str(first), "--timeout", timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    job = env.job(first)
    assert job["state"] == "done" and job["session_id"]
    worktree = Path(job["workspace"])
    assert (worktree / "CHANGELOG.md").read_text() == "# Changes\n"
    assert git("status", "--porcelain", cwd=env.repo) == ""
    summary = env.podium_json("logs", str(first), "--summary")
    assert summary["final"] == "Wrote CHANGELOG.md."
    return job, worktree, summary, env.podium_json("logs", str(first))["events"]


def changelog_resumed(env: Env, job: dict[str, Any], worktree: Path, forks: bool = False) -> dict[str, Any]:
    """``changelog_job``'s job resumed: the same session (``forks``: a new one, forked from it), the entry added,
    the first turn's history sent along. The resumed job's status row."""
    second = int(env.podium_json("resume", str(job["id"]), "add the first entry")["id"])
    env.podium("wait", str(second), "--timeout", "120", check=True)
    resumed = env.job(second)
    assert (resumed["session_id"] != job["session_id"]) if forks else (resumed["session_id"] == job["session_id"])
    assert (worktree / "CHANGELOG.md").read_text() == "# Changes\n- first entry\n"
    messages = json.dumps(chat_requests(env)[-1]["body"]["messages"])
    assert "Wrote CHANGELOG.md." in messages and "add the first entry" in messages
    return resumed
