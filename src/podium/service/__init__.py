"""podium's service layer: one catalog of operations under every front (CLI, MCP, the dashboard).

Each module of operations registers its own in the catalog (``CATALOG``) as it loads: a command loads only the
module of its operation, while the MCP tool list, the CLI's help and ORCHESTRATOR.md take the whole catalog
(``catalog.complete``), so they cannot disagree. Fronts call the operations and render their results; none
decides anything of its own. Everything named below loads when first asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from podium.context import Context
    from podium.service import gates, jobs, setup, tester, tickets, workspaces
    from podium.service.catalog import CATALOG, Operation, Param, mcp_operations, operation, tool_list, unattended

__all__ = ["CATALOG", "Context", "Operation", "Param", "gates", "jobs", "mcp_operations", "operation", "setup",
           "tester", "tickets", "tool_list", "unattended", "workspaces"]

_FROM = {"Context": "podium.context",
         **dict.fromkeys(("Operation", "Param", "mcp_operations", "operation", "tool_list", "unattended"),
                         "podium.service.catalog")}


def __getattr__(name: str) -> Any:
    if name == "CATALOG":
        return importlib.import_module("podium.service.catalog").complete()
    if name in _FROM:
        return getattr(importlib.import_module(_FROM[name]), name)
    if name in __all__:  # a module of operations
        return importlib.import_module(f"podium.service.{name}")
    raise AttributeError(f"module 'podium.service' has no attribute {name!r}")
