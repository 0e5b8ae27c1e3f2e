"""``podium mcp``: podium's tools for any agent that speaks MCP (stdio), on the official SDK.

Each tool calls the same library function as the CLI command of the same name and returns a short,
structured result. The server works on the repository of its working directory (an agent's worktree).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from podium import browser
from podium.errors import PodiumError


def build(cwd: str | Path = ".") -> Any:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    from podium.jobs import Context

    root = Path(cwd).resolve()
    server = MCPServer("podium", instructions="podium: the team's workflow as tools (jobs, tests, screenshots).")

    @server.tool()
    def screenshot(url: str, label: str = "page", steps: list[str] | None = None, full_page: bool = False,
                   branch: str | None = None) -> dict[str, Any]:
        """Screenshot a page in headless Chromium, saved as <branch>-<n>-<label>.png in the screenshots folder
        and recorded against the branch (the gate shows it; ship attaches it to the pull request).

        steps run in order before the shot: "click:SELECTOR", "type:SELECTOR=TEXT", "press:KEY",
        "wait:SELECTOR", "wait:MILLISECONDS", "goto:URL" (Playwright selectors: CSS or text=...).
        branch defaults to the branch checked out in this worktree.
        """
        try:
            ctx = Context.open(root)
            actions = [browser.Action.parse(s) for s in steps or []]
            job = os.environ.get("PODIUM_JOB_ID")
            shot = browser.take(ctx.repo, ctx.store, ctx.config, url, label=label, branch=branch, actions=actions,
                                full_page=full_page, job_id=int(job) if job and job.isdigit() else None)
        except PodiumError as e:
            raise ToolError(str(e)) from None
        return shot.to_dict()

    return server


def serve(cwd: str | Path = ".") -> None:
    build(cwd).run("stdio")
