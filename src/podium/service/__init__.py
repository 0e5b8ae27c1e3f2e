"""podium's service layer: one catalog of operations under every front (CLI, MCP, the dashboard).

Importing this package registers every operation (``CATALOG``). Fronts call the operations and render their
results; none decides anything of its own. The MCP tool list, the CLI's help and ORCHESTRATOR.md are all
derived from the catalog, so they cannot disagree.
"""

from __future__ import annotations

from podium.context import Context
from podium.service import gates, jobs, setup, tester, tickets, workspaces
from podium.service.catalog import CATALOG, Operation, Param, mcp_operations, operation, tool_list, unattended
from podium.service.orchestration import orchestration, orchestrator_role

__all__ = ["CATALOG", "Context", "Operation", "Param", "gates", "jobs", "mcp_operations", "operation",
           "orchestration", "orchestrator_role", "setup", "tester", "tickets", "tool_list", "unattended",
           "workspaces"]
