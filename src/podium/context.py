"""The repository a podium operation works on, its store, its settings, and who is asking.

Every operation of the service layer takes a ``Context`` first. ``work_id`` scopes the tools to one
``podium work`` (its ticket, workspace and rules); ``channel`` says through which front the caller acts
(``terminal``, ``chat``; ``mcp`` for an agent calling the tools) and is recorded with every decision at a gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from podium.errors import JobNotFound

if TYPE_CHECKING:  # loaded when a context is opened: the CLI's --help needs none of it
    from podium.config import Config
    from podium.git import Repo
    from podium.store import Job, Store, WorkRecord


@dataclass
class Context:
    """The repository a command works on, its store and its settings."""

    repo: Repo
    store: Store
    config: Config
    work_id: int | None = None
    channel: str = "terminal"

    @classmethod
    def open(cls, cwd: str | Path = ".", *, work_id: int | None = None, channel: str = "terminal") -> Context:
        from podium.config import ENV_DIR, Config
        from podium.git import Repo
        from podium.store import Store

        repo = Repo.find(cwd)
        # a worktree's own podium.toml (committed) wins; else the main checkout's, so that an uncommitted
        # podium.toml holds for every workspace of the repository too. A podium worker's job runs with the
        # settings of the checkout it runs for, sent along and kept in its worktree's .podium/.
        sent = repo.toplevel / ENV_DIR
        where = (sent if (sent / "podium.toml").is_file() else repo.toplevel
                 if (repo.toplevel / "podium.toml").is_file() else repo.main_checkout)
        store = Store(repo.state_dir)
        return cls(repo=repo, store=store, config=Config.load(where, store.root), work_id=work_id, channel=channel)

    def settings_text(self) -> str | None:
        """The podium.toml this context's settings come from, as written (None: there is none)."""
        from podium.config import ENV_DIR

        for where in (self.repo.toplevel / ENV_DIR, self.repo.toplevel, self.repo.main_checkout):
            path = where / "podium.toml"
            if path.is_file():
                return path.read_text()
        return None

    def work(self) -> WorkRecord | None:
        """The work this context is scoped to (``podium mcp --work N``): its ticket and workspace are the
        tools' defaults and its rules hold (``podium.work``)."""
        return self.store.work(self.work_id) if self.work_id is not None else None

    def job(self, job_id: int | str) -> Job:
        try:
            return self.store.job(int(job_id))
        except (KeyError, ValueError):
            raise JobNotFound(f"no job {job_id} in {self.repo.toplevel}") from None

    def agent_options(self, agent: str, role: str | None = None, *, model: str | None = None,
                      effort: str | None = None) -> dict[str, object]:
        """What the ``agent``'s adapter is built with: ``[agents.<agent>]``, then the role's ``model``, ``effort``
        and ``args`` when the role runs this agent (``[roles.worker] model = "gpt-5.2"`` is a codex model, not one
        for a worker sent to claude with ``--agent``), then ``model``/``effort`` given for this one run."""
        options: dict[str, object] = dict(self.config.agents.get(agent, {}))
        settings = self.config.role(role) if role else {}
        if settings and self.config.agent_for(str(role)) == agent:
            if settings.get("args"):
                options["args"] = [*self.config.agents.get(agent, {}).get("args", []), *settings["args"]]
            options.update({k: settings[k] for k in ("model", "effort") if settings.get(k)})
        options.update({k: v for k, v in (("model", model), ("effort", effort)) if v})
        return options
