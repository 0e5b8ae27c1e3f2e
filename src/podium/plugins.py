"""podium's plugins: classes registered under an entry point group (``podium.agents``, ``podium.trackers``,
``podium.forges``), found by name and imported only when asked for."""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points

from podium.errors import PodiumError


@cache
def registry(group: str) -> dict[str, EntryPoint]:
    """Every plugin of the group by name; nothing is imported yet."""
    return {ep.name: ep for ep in entry_points(group=group)}


def load(group: str, what: str, name: str, unknown: type[PodiumError], broken: type[PodiumError]) -> type:
    """The plugin class ``name`` of ``group`` (a ``what``: agent, tracker, forge); ``unknown`` when no such
    plugin is registered, ``broken`` when it fails to import — an error about that plugin, not a crash."""
    plugins = registry(group)
    if name not in plugins:
        raise unknown(f"unknown {what} {name!r}; available: {', '.join(sorted(plugins))}")
    try:
        return plugins[name].load()  # type: ignore[no-any-return]
    except Exception as e:
        raise broken(f"the {name} {what} plugin failed to load: {e}") from None
