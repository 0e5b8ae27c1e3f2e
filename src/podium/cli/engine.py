"""``podium worker``: run podium jobs for a Temporal cluster on this machine."""

from __future__ import annotations

from typing import Any

import click


def register(cli: click.Group) -> None:
    @cli.command()
    @click.option("--task-queue", default=None, help="The queue to take jobs from (default: [engine] task_queue, "
                                                     "else podium).")
    @click.option("--max-jobs", type=click.IntRange(1, 1000), default=4, show_default=True,
                  help="How many jobs this machine runs at once.")
    @click.option("--address", default=None, help="The Temporal frontend (default: $PODIUM_TEMPORAL_ADDRESS, else "
                                                  "[engine] address, else localhost:7233).")
    @click.option("--namespace", default=None, help="The Temporal namespace (default: [engine] namespace, else "
                                                    "default).")
    @click.pass_obj
    def worker(obj: dict[str, Any], task_queue: str | None, max_jobs: int, address: str | None,
               namespace: str | None) -> None:
        """Run podium jobs delegated with [engine] kind = "temporal", from anyone's checkout, on this machine.

        Needs the agent CLIs and their credentials, git access to the jobs' origins, and
        pip install 'podium[temporal]'. Inside a checkout, its podium.toml's [engine] (TLS, API key) holds. Each
        job's work is pushed to refs/podium/jobs/… on its origin as it goes: when this machine dies, another
        worker finishes the job from there."""
        from podium.config import Config
        from podium.engines import settings
        from podium.engines.worker import run_worker
        from podium.errors import PodiumError
        from podium.git import Repo

        try:
            config = Config.load(Repo.find(obj.get("cwd") or ".").main_checkout)
        except PodiumError:
            config = Config()  # a machine that only runs jobs needs no checkout
        values = settings(config)
        for key, value in (("task_queue", task_queue), ("address", address), ("namespace", namespace)):
            if value:
                values[key] = value
        click.echo(f"podium worker: jobs from {values['address']} ({values['namespace']}/{values['task_queue']}), "
                   f"{max_jobs} at a time", err=True)
        run_worker(values, max_jobs)
