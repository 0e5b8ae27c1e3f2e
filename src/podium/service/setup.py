"""Setting podium up in a repository: what is here (doctor), podium.toml and the role files (init, roles)."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from podium.service.catalog import operation
from podium.service.orchestration import orchestrator_role

if TYPE_CHECKING:
    from podium.context import Context
    from podium.roles import RoleFile

ROLE_NAMES = ("orchestrator", "tester")


@dataclass
class Setup:
    """What ``init`` or ``doctor`` found and did. ``problems`` keep podium from working here."""

    survey: Any  # podium.detect.Survey
    problems: list[str]
    podium_toml: str | None = None
    written: bool = False
    roles: list[RoleFile] = field(default_factory=list)
    mcp: dict[str, str] = field(default_factory=dict)
    plugin: str | None = None  # the command that installs podium's Claude Code plugin, offered with register

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"survey": self.survey.to_dict(), "problems": self.problems}
        if self.podium_toml is not None:
            data.update(podium_toml=self.podium_toml, written=self.written,
                        roles=[str(r.path) for r in self.roles], mcp=self.mcp, plugin=self.plugin)
        return data


@operation(mcp=False)
def doctor(ctx: Context) -> Setup:
    """What podium found here and what is missing: origin, base branch, branch names, tracker, forge, agent
    CLIs, Chromium, git's identity, test commands."""
    from podium import detect

    found = detect.survey(ctx.repo, ctx.config)
    return Setup(survey=found, problems=found.problems())


@operation(mcp=False)
def init(
    ctx: Context,
    force: Annotated[bool, "Rewrite podium.toml from what is found now."] = False,
    register: Annotated[bool, "Register podium's MCP server with the agent CLIs installed (claude for this "
                              "project; codex, gemini for you), and offer Claude Code podium's plugin."] = False,
) -> Setup:
    """Find this repository's conventions and the tools here, write podium.toml and the role files.

    podium.toml is written when missing (or with force); what is missing is said, and podium doctor checks
    again."""
    from podium import detect
    from podium.config import Config

    toml = ctx.repo.main_checkout / "podium.toml"
    found = detect.survey(ctx.repo, ctx.config)
    wrote = force or not toml.exists()
    if wrote:
        detect.write_toml(toml, detect.toml_for(found, *found.preferred_agents()))
    ctx.config = Config.load(ctx.repo.main_checkout, ctx.store.root)
    made = [role_file(ctx, name) for name in ROLE_NAMES]
    registered = {}
    offer = None
    if register:
        server = [sys.executable, "-m", "podium", "mcp"]
        for name, finding in found.agents.items():
            if finding.ok and name in detect.MCP_REGISTERS:
                registered[name] = detect.register_mcp(name, str(finding.source), ctx.repo.main_checkout, server)
        claude = found.agents.get("claude")
        if claude is not None and claude.ok:  # offered, not installed: the plugin is for every repository
            from podium.service.plugin import plugin

            offer = plugin().install
    return Setup(survey=found, problems=found.problems(), podium_toml=str(toml), written=wrote, roles=made,
                 mcp=registered, plugin=offer)


def role_file(ctx: Context, name: str, worktree: Path | None = None) -> RoleFile:
    """One role file, its generated part rewritten: ORCHESTRATOR.md from the catalog, TESTER.md from the tests."""
    from podium import roles

    if name == "orchestrator":
        return orchestrator_role(ctx)
    return roles.tester(ctx.repo, ctx.config, worktree)
