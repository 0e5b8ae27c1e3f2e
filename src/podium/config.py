"""podium's settings for a repository: ``podium.toml`` at the top of the checkout.

Everything has a default, so the file is optional::

    [jobs]
    stall_after = 600        # seconds of silence (no output, no CPU) before a job is "stalled"
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

    [roles]
    dir = ".podium/roles"    # where TESTER.md (and the other role files) live, relative to the checkout

    [agents.codex]
    args = []                # extra arguments for every codex run

    [agents.command]
    command = "aider --yes --message {prompt}"
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from podium.errors import UsageError

DEFAULT_STALL_AFTER = 600.0
GATE_PASSES = {"docs-only", "small", "always"}


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
    gate_small_lines: int = 10
    screenshots_dir: str | None = None
    browser: str | None = None
    tester_agent: str = "claude"
    roles_dir: str = ".podium/roles"

    @classmethod
    def load(cls, toplevel: Path) -> Config:
        path = toplevel / "podium.toml"
        try:
            text = path.read_text()
        except FileNotFoundError:
            return cls()
        except OSError as e:
            raise UsageError(f"cannot read {path}: {e}") from None
        from podium._compat import tomllib  # a repository without podium.toml does not pay for the parser

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise UsageError(f"cannot read {path}: {e}") from None
        jobs = data.get("jobs") or {}
        agents = data.get("agents") or {}
        branches = data.get("branches") or {}
        tracker = data.get("tracker") or {}
        forge = data.get("forge") or {}
        gate = data.get("gate") or {}
        shots = data.get("screenshots") or {}
        tester = data.get("tester") or {}
        roles = data.get("roles") or {}
        if not all(isinstance(t, dict) for t in (jobs, agents, branches, tracker, forge, gate, shots, tester, roles)):
            raise UsageError(f"{path}: [jobs], [branches], [tracker], [forge], [gate], [screenshots], [tester], "
                             "[roles] and [agents.*] must be tables")
        for table, key, value in (("tester", "agent", tester.get("agent")), ("roles", "dir", roles.get("dir")),
                                  ("screenshots", "browser", shots.get("browser"))):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise UsageError(f"{path}: {table}.{key} must be a non-empty string")
        passes = gate.get("pass", [])
        if not isinstance(passes, list) or not set(passes) <= GATE_PASSES:
            raise UsageError(f"{path}: gate.pass is a list of {', '.join(sorted(GATE_PASSES))}")
        small = gate.get("small_lines", 10)
        if not isinstance(small, int) or small < 0:
            raise UsageError(f"{path}: gate.small_lines must be a whole number of lines")
        template = branches.get("template")
        if template is not None and not isinstance(template, str):
            raise UsageError(f"{path}: branches.template must be a string such as \"feature/{{ticket}}-{{slug}}\"")
        base = branches.get("base")
        if base is not None and (not isinstance(base, str) or not base.strip()):
            raise UsageError(f"{path}: branches.base must be a branch name such as \"main\"")
        try:
            stall_after = float(jobs.get("stall_after", DEFAULT_STALL_AFTER))
        except (TypeError, ValueError):
            raise UsageError(f"{path}: jobs.stall_after must be a number of seconds") from None
        return cls(
            branch_template=template,
            base=base,
            tracker=dict(tracker),
            forge=dict(forge),
            gate_pass=tuple(passes),
            gate_small_lines=small,
            screenshots_dir=str(shots["dir"]) if shots.get("dir") else None,
            browser=shots.get("browser"),
            tester_agent=tester.get("agent", "claude"),
            roles_dir=roles.get("dir", ".podium/roles"),
            stall_after=stall_after,
            default_agent=str(jobs.get("default_agent", "codex")),
            agents={k: dict(v) for k, v in agents.items() if isinstance(v, dict)},
        )
