"""What a headless orchestrator is given, derived from the catalog: ORCHESTRATOR.md and the tools it may call."""

from __future__ import annotations

from typing import TYPE_CHECKING

from podium.service.catalog import tool_list, unattended

if TYPE_CHECKING:
    from podium.context import Context
    from podium.roles import RoleFile
    from podium.work import Orchestration


def orchestrator_role(ctx: Context) -> RoleFile:
    """ORCHESTRATOR.md written (its generated part) from the catalog and the repository's conventions."""
    from podium import roles

    return roles.orchestrator(ctx.repo, ctx.config, tool_list())


def orchestration(ctx: Context) -> Orchestration:
    """The orchestrator's role file's text and the tools it may call unattended."""
    from podium.work import Orchestration

    return Orchestration(role=orchestrator_role(ctx).text, tools=unattended())
