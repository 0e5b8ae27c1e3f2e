"""What a headless orchestrator is given, derived from the catalog: ORCHESTRATOR.md and the tools it may call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.service.catalog import tool_list, unattended

if TYPE_CHECKING:
    from podium.context import Context
    from podium.roles import RoleFile
    from podium.work import Chat, Orchestration


def orchestrator_role(ctx: Context) -> RoleFile:
    """ORCHESTRATOR.md written (its generated part) from the catalog and the repository's conventions."""
    from podium import roles

    return roles.orchestrator(ctx.repo, ctx.config, tool_list())


def orchestration(ctx: Context) -> Orchestration:
    """The orchestrator's role file's text and the tools it may call unattended."""
    from podium.work import Orchestration

    role = orchestrator_role(ctx)
    return Orchestration(role=role.text, tools=unattended(), role_path=role.path)


def chat(ctx: Context, agent: str | None, user_args: list[str]) -> Chat:
    """``podium chat``: the orchestrator's CLI with its role (ORCHESTRATOR.md, written first) and podium's tools,
    ready to run; refused for an agent that cannot be the orchestrator."""
    from podium import work

    return work.chat(ctx, orchestration(ctx), agent, user_args)
