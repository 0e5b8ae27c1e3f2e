"""The Temporal workflow of one podium job: one heartbeating activity (``run-job``) that a ``podium worker`` runs,
retried on another worker when its worker dies.

Kept free of podium's own modules: Temporal replays workflow code in a sandbox, which needs it deterministic and
its imports small. Progress (the job's events and state) reaches the workflow as ``progress`` signals from the
activity; the user's podium reads them from the workflow's history, which the Temporal server keeps and answers
without any worker.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

WORKFLOW = "podium-job"
ACTIVITY = "run-job"
SIGNAL = "progress"


@workflow.defn(name=WORKFLOW)
class PodiumJob:
    def __init__(self) -> None:
        self.last: dict[str, Any] = {}

    @workflow.run
    async def run(self, spec: dict[str, Any]) -> dict[str, Any]:
        return await workflow.execute_activity(
            ACTIVITY, spec,
            start_to_close_timeout=timedelta(days=7),
            heartbeat_timeout=timedelta(seconds=float(spec["heartbeat_timeout"])),
            retry_policy=RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=1.5,
                                     maximum_interval=timedelta(seconds=30),
                                     maximum_attempts=int(spec["attempts"])),
            cancellation_type=workflow.ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
            result_type=dict,
        )

    @workflow.signal(name=SIGNAL)
    def progress(self, batch: dict[str, Any]) -> None:
        self.last = batch.get("job", self.last)

    @workflow.query(name="job")
    def job(self) -> dict[str, Any]:
        return self.last
