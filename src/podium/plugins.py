"""podium's plugins: classes registered under an entry point group (``podium.agents``, ``podium.trackers``,
``podium.forges``, ``podium.engines``), found by name and imported only when asked for.

podium's own plugins are registered as entry points too (a third-party package adds one the same way), but
they are imported straight from ``BUILTIN``: reading every installed distribution's entry points costs a
process tens of milliseconds, and a job's start should not pay that for ``codex``. ``BUILTIN`` mirrors the
``[project.entry-points]`` tables of pyproject.toml (a test keeps them equal).
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING

from podium.errors import PodiumError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

BUILTIN: dict[str, dict[str, str]] = {
    "podium.agents": {
        "codex": "podium.agents.codex:CodexAgent",
        "claude": "podium.agents.claude:ClaudeAgent",
        "gemini": "podium.agents.gemini:GeminiAgent",
        "opencode": "podium.agents.opencode:OpencodeAgent",
        "kilo": "podium.agents.opencode:KiloAgent",
        "qwen": "podium.agents.qwen:QwenAgent",
        "pi": "podium.agents.pi:PiAgent",
        "copilot": "podium.agents.copilot:CopilotAgent",
        "droid": "podium.agents.droid:DroidAgent",
        "aider": "podium.agents.aider:AiderAgent",
        "cline": "podium.agents.cline:ClineAgent",
        "command": "podium.agents.command:CommandAgent",
    },
    "podium.trackers": {
        "local": "podium.providers.local:LocalTracker",
        "github": "podium.providers.github:GitHubTracker",
        "azure": "podium.providers.azure:AzureBoards",
        "jira": "podium.providers.jira:JiraTracker",
        "linear": "podium.providers.linear:LinearTracker",
        "gitlab": "podium.providers.gitlab:GitLabTracker",
    },
    "podium.forges": {
        "github": "podium.providers.github:GitHubForge",
        "azure": "podium.providers.azure:AzureRepos",
        "gitlab": "podium.providers.gitlab:GitLabForge",
    },
    "podium.engines": {
        "temporal": "podium.engines.temporal:TemporalEngine",
    },
}


@cache
def registry(group: str) -> dict[str, EntryPoint]:
    """Every plugin of the group by name; nothing is imported yet."""
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=group)}


def load(group: str, what: str, name: str, unknown: type[PodiumError], broken: type[PodiumError]) -> type:
    """The plugin class ``name`` of ``group`` (a ``what``: agent, tracker, forge); ``unknown`` when no such
    plugin is registered, ``broken`` when it fails to import — an error about that plugin, not a crash."""
    own = BUILTIN.get(group, {}).get(name)
    try:
        if own is not None:
            module, _, attr = own.partition(":")
            return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]
        plugins = registry(group)
        if name not in plugins:
            known = sorted({*plugins, *BUILTIN.get(group, {})})
            raise unknown(f"unknown {what} {name!r}; available: {', '.join(known)}")
        return plugins[name].load()  # type: ignore[no-any-return]
    except PodiumError:
        raise
    except Exception as e:
        raise broken(f"the {name} {what} plugin failed to load: {e}") from None
