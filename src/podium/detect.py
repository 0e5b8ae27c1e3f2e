"""What podium finds out about a repository and this machine: the conventions it will follow and the tools
it can drive. ``podium init`` writes it down, ``podium doctor`` checks it, and the role files are written
from it — so every agent is told the same, true, facts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from podium.config import Config
from podium.errors import PodiumError
from podium.git import IDENTITY_HINT, Repo
from podium.git import identity as git_identity
from podium.verdict import TestCommand, detect_test_commands

AGENT_CLIS = {  # name: (executable, override variable, how to install)
    "codex": ("codex", "PODIUM_CODEX", "npm install -g @openai/codex"),
    "claude": ("claude", "PODIUM_CLAUDE", "npm install -g @anthropic-ai/claude-code"),
    "gemini": ("gemini", "PODIUM_GEMINI", "npm install -g @google/gemini-cli"),
    "opencode": ("opencode", "PODIUM_OPENCODE", "npm install -g opencode-ai"),
    "kilo": ("kilo", "PODIUM_KILO", "npm install -g @kilocode/cli"),
    "qwen": ("qwen", "PODIUM_QWEN", "npm install -g @qwen-code/qwen-code"),
    "pi": ("pi", "PODIUM_PI", "npm install -g @mariozechner/pi-coding-agent"),
    "copilot": ("copilot", "PODIUM_COPILOT", "npm install -g @github/copilot"),
    "droid": ("droid", "PODIUM_DROID", "npm install -g @factory/cli"),
    "aider": ("aider", "PODIUM_AIDER", "python -m pip install aider-install && aider-install"),
    "cline": ("cline", "PODIUM_CLINE", "npm install -g cline"),
}
MCP_REGISTERS = ("codex", "claude", "gemini")  # the CLIs whose `mcp add` podium's init knows how to call
VERSION_TIMEOUT = 20.0


@dataclass
class Finding:
    """One fact: what it is, where it came from, and what to do when it is missing."""

    what: str
    value: str | None
    source: str
    required: bool = False
    hint: str | None = None

    @property
    def ok(self) -> bool:
        return self.value is not None


@dataclass
class Survey:
    origin: Finding
    base: Finding
    branches: Finding
    tracker: Finding
    forge: Finding
    tests: list[TestCommand]
    agents: dict[str, Finding] = field(default_factory=dict)
    browser: Finding | None = None
    identity: Finding | None = None
    live_browser: Finding | None = None

    def findings(self) -> list[Finding]:
        return [self.origin, self.base, self.branches, self.tracker, self.forge, *self.agents.values(),
                *(f for f in (self.browser, self.live_browser, self.identity) if f)]

    def problems(self) -> list[str]:
        """What keeps podium from working here, one line each (``doctor`` exits 1 when there is any)."""
        problems = [f"{f.what} missing: {f.hint}" for f in self.findings() if f.required and not f.ok]
        if not any(f.ok for f in self.agents.values()):
            problems.append(f"no agent CLI installed ({', '.join(AGENT_CLIS)})")
        return problems

    def preferred_agents(self) -> tuple[str | None, str | None]:
        """The installed agents podium would pick: the workers' (codex first) and the tester's (claude first)."""
        installed = [name for name, f in self.agents.items() if f.ok]
        worker = next((a for a in ("codex", "claude", "gemini") if a in installed), None)
        tester = next((a for a in ("claude", "codex", "gemini") if a in installed), None)
        return worker, tester

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tests"] = [asdict(t) for t in self.tests]
        return data


def survey(repo: Repo, config: Config, *, versions: bool = True) -> Survey:
    from podium.branches import name_for
    from podium.providers import detect_kind, forge_registry, tracker_registry

    url = repo.origin_url() if _has_origin(repo) else ""
    origin = Finding("origin", url or None, "git remote get-url origin", required=True,
                     hint="add the shared repository as origin: git remote add origin URL")
    if config.base:
        base = Finding("base branch", f"origin/{config.base.removeprefix('origin/')}", "[branches] base in podium.toml")
    else:
        try:
            base = Finding("base branch", repo.default_base(), "origin/develop if it exists, else origin's default")
        except PodiumError as e:
            base = Finding("base branch", None, str(e), required=True, hint="push a first commit to origin")
    try:
        proposal = name_for(repo, title="Add CSV export", ticket="123", kind="feature",
                            template=config.branch_template)
        branches = Finding("branch names", f"like {proposal.name}", "; ".join(proposal.evidence[:2]) or "default")
    except PodiumError as e:
        branches = Finding("branch names", None, str(e))
    tracker_kind = config.tracker.get("kind")
    if tracker_kind:
        tracker = Finding("tracker", str(tracker_kind), "[tracker] kind in podium.toml")
    elif (repo.main_checkout / "tickets").is_dir():
        tracker = Finding("tracker", "local", "a tickets/ folder")
    elif detect_kind(url):
        tracker = Finding("tracker", detect_kind(url), "origin's URL")
    else:
        tracker = Finding("tracker", None, "nothing configured or detected",
                          hint=f"[tracker] kind = one of {', '.join(sorted(tracker_registry()))}, or a tickets/ folder")
    forge_kind = config.forge.get("kind") or (detect_kind(url) if detect_kind(url) in forge_registry() else None)
    forge = Finding("forge", forge_kind, "[forge] kind in podium.toml" if config.forge.get("kind") else "origin's URL",
                    hint=f"[forge] kind = one of {', '.join(sorted(forge_registry()))} (for pull requests)")
    with ThreadPoolExecutor(len(AGENT_CLIS)) as pool:  # each CLI's --version takes up to seconds: side by side
        agents = dict(zip(AGENT_CLIS, pool.map(lambda name: _agent(name, versions), AGENT_CLIS),
                          strict=True))
    who, problem = git_identity(repo.toplevel)
    identity = Finding("git identity (for commits)", who, problem or "git config", required=True,
                       hint=f"git has no user.name/user.email to commit as: {IDENTITY_HINT}")
    return Survey(origin=origin, base=base, branches=branches, tracker=tracker, forge=forge,
                  tests=detect_test_commands(repo.toplevel), agents=agents, browser=_browser(config),
                  live_browser=_live_browser(),
                  identity=identity)



def _has_origin(repo: Repo) -> bool:
    try:
        return bool(repo.origin_url())
    except PodiumError:
        return False


def _agent(name: str, versions: bool) -> Finding:
    exe, variable, install = AGENT_CLIS[name]
    path = shutil.which(os.environ.get(variable) or exe)
    if path is None:
        return Finding(f"agent CLI {name}", None, "not on PATH", hint=install)
    version = None
    if versions:
        try:
            out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=VERSION_TIMEOUT,
                                 stdin=subprocess.DEVNULL)
            version = (out.stdout.strip() or out.stderr.strip()).splitlines()[0] if out.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired, IndexError):
            version = None
    return Finding(f"agent CLI {name}", version or path, path)


def _browser(config: Config) -> Finding:
    from podium.browser import find_chromium

    try:
        found = find_chromium(config.browser)
    except PodiumError as e:
        return Finding("chromium (screenshots)", None, str(e), hint="apt install chromium, or set PODIUM_CHROMIUM")
    return Finding("chromium (screenshots)", found, "[screenshots] browser, $PODIUM_CHROMIUM or PATH")


def _live_browser() -> Finding:
    """The tester's live browser server: without it a tester keeps ``podium screenshot`` only."""
    from podium.agents import find_executable
    from podium.browser import LIVE_PACKAGE

    what, source = "live browser for the tester (playwright-mcp)", "$PODIUM_PLAYWRIGHT_MCP or PATH"
    try:
        return Finding(what, find_executable("playwright-mcp", "PODIUM_PLAYWRIGHT_MCP", ""), source)
    except PodiumError:
        return Finding(what, None, source, hint=f"npm install -g {LIVE_PACKAGE} (else testers use podium screenshot)")


def toml_for(s: Survey, default_agent: str | None, tester_agent: str | None) -> str:
    """A podium.toml that writes down what was found (so every teammate's podium does the same)."""
    lines = ["# podium's settings for this repository (podium init wrote them from what it found; edit freely)", ""]
    lines += ["[jobs]", f'default_agent = "{default_agent or "codex"}"',
              "# stall_after = 600      # seconds of silence before a job is stalled, every role (default: 600, "
              "workers 1800)", ""]
    if s.base.value:
        lines += ["[branches]", f'base = "{s.base.value.removeprefix("origin/")}"', ""]
    if s.tracker.value:
        lines += ["[tracker]", f'kind = "{s.tracker.value}"', ""]
    if s.forge.value:
        lines += ["[forge]", f'kind = "{s.forge.value}"', ""]
    lines += ["[gate]", "pass = []                # always ask; \"docs-only\", \"small\" let those through", ""]
    lines += ["[tester]", f'agent = "{tester_agent or "claude"}"', "", *ROLES_EXAMPLE]
    return "\n".join(lines) + "\n"


ROLES_EXAMPLE = [
    "# Each role's agent, model and reasoning effort (low, medium, high, xhigh, max), e.g. a strong model at the",
    "# front and a fast one at very high effort for the workers. args are added to [agents.<agent>] args.",
    "# [roles.orchestrator]",
    '# agent = "claude"',
    '# model = "opus"',
    "#",
    "# [roles.worker]",
    '# agent = "codex"',
    '# model = "gpt-5.2"',
    '# effort = "xhigh"',
    "# stall_after = 7200     # a long reasoning turn is fine: a job whose model still streams is never stalled",
    "#",
    "# [roles.tester]",
    '# agent = "claude"',
    '# model = "sonnet"',
]


def report_lines(s: Survey) -> list[str]:
    out = []
    for f in s.findings():
        if f.ok:
            out.append(f"  ✓ {f.what}: {f.value}  ({f.source})")
        else:
            mark = "✗" if f.required else "–"
            out.append(f"  {mark} {f.what}: missing — {f.hint or f.source}")
    tests = ", ".join(t.command for t in s.tests) or "none found"
    out.append(f"  {'✓' if s.tests else '–'} test commands: {tests}")
    return out


def write_toml(path: Path, text: str) -> None:
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def mcp_add_argv(agent: str, exe: str, server: list[str]) -> list[str]:
    """The agent CLI's own command that registers podium's MCP server: claude for this project (local
    scope, private to the user), codex and gemini for the user."""
    if agent == "gemini":
        return [exe, "mcp", "add", "--scope", "user", "podium", *server]
    return [exe, "mcp", "add", "podium", "--", *server]


def register_mcp(agent: str, exe: str, cwd: Path, server: list[str]) -> str:
    """Register podium's MCP server with one agent CLI; what happened, in a few words."""
    try:
        out = subprocess.run(mcp_add_argv(agent, exe, server), cwd=cwd, capture_output=True, text=True,
                             timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"not registered: {e}"
    said = f"{out.stdout}\n{out.stderr}"
    if out.returncode == 0:
        return "registered"
    if "already exists" in said:
        return "already registered"
    return f"not registered: {_reason(said) or f'exit {out.returncode}'}"


def _reason(output: str) -> str | None:
    """A CLI's error in one line: its ``Error:`` line and the cause under it, else its last line."""
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    error = next((ln for ln in lines if ln.lower().startswith("error")), None)
    if error is None:
        return lines[-1] if lines else None
    cause = lines[lines.index("Caused by:") + 1] if "Caused by:" in lines[:-1] else None
    return error + (f" ({cause})" if cause else "")


def serve_command(root: Path) -> tuple[str, str] | None:
    """How this project serves its app on a port (``{port}``), and why podium thinks so: a package.json
    ``dev`` or ``start`` script, Django's ``manage.py``, Rails, a Flask or FastAPI (uvicorn) app."""
    import json

    try:
        scripts = json.loads((root / "package.json").read_text()).get("scripts") or {}
    except (OSError, ValueError, AttributeError):
        scripts = {}
    if isinstance(scripts, dict) and "dev" in scripts:
        return "npm run dev -- --port {port}", "package.json's dev script"
    if isinstance(scripts, dict) and "start" in scripts:
        return "PORT={port} npm start", "package.json's start script"
    if (root / "manage.py").is_file():
        return "python manage.py runserver 127.0.0.1:{port}", "Django's manage.py"
    if (root / "bin" / "rails").is_file():
        return "bin/rails server -b 127.0.0.1 -p {port}", "Rails (bin/rails)"
    for name in ("app.py", "main.py", "wsgi.py"):
        text = _read(root / name)
        if "FastAPI(" in text:
            return f"uvicorn {Path(name).stem}:app --host 127.0.0.1 --port {{port}}", f"a FastAPI app in {name}"
        if "Flask(" in text:
            return f"flask --app {name} run --host 127.0.0.1 --port {{port}}", f"a Flask app in {name}"
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""
