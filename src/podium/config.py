"""podium's settings for a repository: ``podium.toml`` at the top of the checkout.

Everything has a default, so the file is optional::

    [jobs]
    stall_after = 600        # seconds of silence (no output, no CPU, no bytes from the model) before a job is
                             # "stalled", for every role (default: 600, and 1800 for workers)
    default_agent = "codex"

    [branches]
    template = "feature/{ticket}-{slug}"   # pin the branch name (else learned from the repo's branches)
    base = "main"            # the base on origin (else origin/develop, else origin's default branch)

    [tracker]
    kind = "local"           # where tickets live (default: local when the repository has a tickets/ folder)
    path = "tickets"         # the tracker's own options follow

    [forge]
    kind = "github"          # where pull requests go (default: from origin's URL); its options follow

    [gate]
    pass = []                # what may pass without asking: "docs-only", "small", "always" (default: always ask)
    small_lines = 10         # "small": at most this many lines, no dependency or migration files, tests green

    [screenshots]
    dir = "~/Desktop"        # where screenshots go (<branch with / as ->-<n>-<label>.png); relative: from the checkout
    browser = "/usr/bin/chromium"   # the Chromium to drive (else $PODIUM_CHROMIUM, else found on PATH)

    [tester]
    agent = "claude"         # the tester's agent CLI (one that can resume a session)
    serve = "npm run dev -- --port {port}"   # the app under test, started on the workspace's port for each
                             # tester turn (default: detected; "" for none)

    [roles]
    dir = ".podium/roles"    # where TESTER.md (and the other role files) live, relative to the checkout

    [roles.worker]           # each role's agent, model and effort: orchestrator, worker, tester, distill
    agent = "codex"          # else [jobs] default_agent (workers), [tester] agent, claude (orchestrator, distill)
    model = "gpt-5.2"        # the CLI's own model flag (codex -m, claude --model, gemini -m)
    effort = "xhigh"         # low, medium, high, xhigh, max: codex's reasoning effort, claude's --effort
    args = []                # added to [agents.<agent>] args for this role's runs (never replacing podium's flags)
    stall_after = 7200       # this role's seconds of silence before "stalled" (else [jobs] stall_after)

    [engine]
    kind = "local"           # where jobs run: "local" (this machine, the default) or "temporal" (podium worker
                             # processes on any machines; pip install 'podium[temporal]')
    address = "localhost:7233"   # the Temporal frontend (else $PODIUM_TEMPORAL_ADDRESS overrides it)
    namespace = "default"
    task_queue = "podium"    # the queue the workers poll (podium worker --task-queue)
    tls = false              # TLS to the frontend (a hosted cluster); tls_ca, tls_cert, tls_key: PEM files for
                             # mutual TLS; api_key_env: the variable that holds an API key (never the key itself)

    [agents.codex]
    args = []                # extra arguments for every codex run

    [agents.command]
    command = "aider --yes --message {prompt}"
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from podium.errors import UsageError
from podium.limits import DEFAULT_STALL_AFTER, GATE_SMALL_LINES, MAX_STALL_AFTER, WORKER_STALL_AFTER

ENV_DIR = ".podium"  # in a worktree, outside git: its env file, and the podium.toml a worker was sent
EFFORTS = ("low", "medium", "high", "xhigh", "max")  # as settings.Effort spells them


def checked_effort(value: str | None) -> str | None:
    """``--effort`` as given, checked against the levels every adapter maps to its CLI's own."""
    if value is not None and value not in EFFORTS:
        raise UsageError(f"--effort must be one of {', '.join(EFFORTS)}, not {value!r}")
    return value


@dataclass
class Config:
    stall_after: float = DEFAULT_STALL_AFTER
    default_agent: str = "codex"
    agents: dict[str, dict[str, Any]] = field(default_factory=dict)
    branch_template: str | None = None
    base: str | None = None
    tracker: dict[str, Any] = field(default_factory=dict)
    forge: dict[str, Any] = field(default_factory=dict)
    gate_pass: tuple[str, ...] = ()
    gate_small_lines: int = GATE_SMALL_LINES
    screenshots_dir: str | None = None
    browser: str | None = None
    tester_agent: str = "claude"
    tester_serve: str | None = None
    roles_dir: str = ".podium/roles"
    roles: dict[str, dict[str, Any]] = field(default_factory=lambda: {"worker": {"stall_after": WORKER_STALL_AFTER}})
    engine: dict[str, Any] = field(default_factory=dict)  # [engine] as set (``podium.engines.settings``)

    def role(self, name: str) -> dict[str, Any]:
        """``[roles.<name>]``: agent, model, effort, args, stall_after (absent keys left out; a worker's stall_after
        is its long default unless podium.toml sets a window)."""
        return dict(self.roles.get(name, {}))

    def agent_for(self, role: str) -> str:
        """The agent a role runs when no ``--agent`` says otherwise."""
        fallback = {"worker": self.default_agent, "tester": self.tester_agent}.get(role, "claude")
        return str(self.role(role).get("agent") or fallback)

    def stall_after_for(self, role: str, value: float | None = None) -> float:
        """A job's stall time: ``--stall-after`` when given (checked: over 0, at most a month, a number), else
        ``[roles.<role>] stall_after``, else ``[jobs] stall_after``."""
        if value is None:
            return float(self.role(role).get("stall_after") or self.stall_after)
        if not 0 < value <= MAX_STALL_AFTER:  # nan is refused too: it compares false
            raise UsageError(f"--stall-after must be a number of seconds over 0 and at most {MAX_STALL_AFTER:.0f}, "
                             f"not {value:g}")
        return float(value)

    @classmethod
    def load(cls, toplevel: Path, cache_dir: Path | None = None) -> Config:
        """The settings of ``toplevel/podium.toml`` (defaults without one), checked against the schema
        (``podium.settings``): an unknown key, a wrong type or a number out of bounds is one line naming it.
        ``cache_dir`` keeps the checked result by the file's digest, so that the checking (pydantic, a quarter
        of a second to import) runs once per change of the file, not in every command."""
        path = toplevel / "podium.toml"
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls()
        except OSError as e:
            raise UsageError(f"cannot read {path}: {e.strerror or e}") from None
        import hashlib

        digest = hashlib.sha256(raw + _schema_stamp().encode()).hexdigest()
        cache = cache_dir / f"config-{hashlib.sha256(str(path).encode()).hexdigest()[:16]}.json" if cache_dir else None
        if cache is not None:
            kept = _cached(cache, digest)
            if kept is not None:
                return kept
        config = cls(**checked(path, raw))
        if cache is not None:
            _keep(cache, digest, config)
        return config


def checked(path: Path, raw: bytes) -> dict[str, Any]:
    """``Config``'s fields from the file's bytes, or UsageError in one line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"{path} is not UTF-8 (byte 0x{raw[e.start]:02x} at offset {e.start}): save it as "
                         "UTF-8") from None
    from podium._compat import tomllib  # a repository without podium.toml does not pay for the parser

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise UsageError(f"cannot read {path}: {e}") from None
    from podium import settings

    return settings.parse(path, data)


def _schema_stamp() -> str:
    """The schema's version: a cached result is used only by the code that checked it."""
    from podium import __version__

    schema = Path(__file__).with_name("settings.py").stat()
    return f"{__version__}:{schema.st_mtime_ns}:{schema.st_size}"


def _cached(cache: Path, digest: str) -> Config | None:
    try:
        kept = json.loads(cache.read_text())
        if kept.get("digest") != digest:
            return None
        values = kept["config"]
        values["gate_pass"] = tuple(values["gate_pass"])
        return Config(**values)
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _keep(cache: Path, digest: str, config: Config) -> None:
    import contextlib
    import os

    with contextlib.suppress(OSError, TypeError, ValueError):  # a cache that cannot be written (or a TOML date
        # JSON does not hold) is checked again next time
        partial = cache.with_name(f"{cache.name}.{os.getpid()}")
        partial.write_text(json.dumps({"digest": digest, "config": asdict(config)}))
        os.replace(partial, cache)
