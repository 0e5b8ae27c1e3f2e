"""``podium worker``: a Temporal worker that runs podium jobs on this machine (``podium.engines.remote``).

Each job is one activity: it makes the job's workspace, starts podium's runner, and while the agent works it
heartbeats (the runner's own heartbeat and the job's event count: a worker that stops, dies or loses its
machine stops heartbeating, and Temporal retries the job on another worker), signals the job's progress to its
workflow, and pushes the worktree's state to origin. A cancelled workflow ends the agent here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, TypeVar

from podium.engines import remote
from podium.engines.temporal import HEARTBEAT, connect
from podium.engines.workflow import ACTIVITY, SIGNAL, PodiumJob
from podium.errors import PodiumError, UsageError

BEAT = min(HEARTBEAT, 1.0)
# The SDK sends a job's heartbeats at most every 0.8 × its heartbeat timeout (24 s), and a cancel reaches the job
# only in the answer to one: sent this often instead, a `podium cancel` reaches the agent within seconds.
CANCEL_REACH = 2.0
T = TypeVar("T")


def activity_defn() -> Any:
    from temporalio import activity
    from temporalio.exceptions import ApplicationError

    @activity.defn(name=ACTIVITY)
    async def run_job(spec: dict[str, Any]) -> dict[str, Any]:
        info = activity.info()
        job = remote.RemoteJob(spec)
        handle = activity.client().get_workflow_handle(info.workflow_id)
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"podium-job-{spec['job_id']}")

        async def on_its_thread(fn: Callable[..., T], *args: Any) -> T:  # the job's store is used by one thread
            return await asyncio.get_running_loop().run_in_executor(thread, fn, *args)

        try:
            return await _run(job, handle, on_its_thread, info.attempt)
        finally:
            thread.shutdown(wait=False)

    async def _run(job: remote.RemoteJob, handle: Any, on_its_thread: Any, attempt: int) -> dict[str, Any]:
        try:
            await on_its_thread(job.start, attempt)
        except PodiumError as e:  # said in the job's log at once; another worker (or a later try) may do better
            await handle.signal(SIGNAL, {"events": [["error", {"message": f"{remote.host()}: {e}"}]], "job": {}})
            raise ApplicationError(f"{remote.host()}: {e}", non_retryable=isinstance(e, UsageError)) from None
        cancelled = False
        while True:
            try:
                await asyncio.sleep(BEAT)
                activity.heartbeat(job.seq)
                batch = await on_its_thread(job.progress)
                if job.worth_sending(batch):  # each signal is a history event: news only, and a beat now and then
                    await handle.signal(SIGNAL, batch)
                if await on_its_thread(job.finished):
                    break
                if job.push_due():
                    await on_its_thread(job.push)
            except asyncio.CancelledError:
                if cancelled:
                    raise
                cancelled = True
                if activity.is_worker_shutdown():  # this worker stops: the job goes on elsewhere, from its push
                    await on_its_thread(job.cancel)
                    await on_its_thread(job.push, True)
                    said = f"the worker on {remote.host()} shut down; another worker takes the job from its last push"
                    await handle.signal(SIGNAL, {"events": [["note", {"message": said}]], "job": {}})
                    raise ApplicationError(said, type="WorkerShutdown") from None
                await on_its_thread(job.cancel)  # the user cancelled: the agent ends, its work is pushed and returned
        result = await on_its_thread(job.result)
        batch = await on_its_thread(job.progress)
        batch.pop("seq")
        await handle.signal(SIGNAL, dict(batch, result=result))
        return result

    return run_job


async def serve(values: dict[str, Any], max_jobs: int) -> None:
    """Take jobs until SIGTERM or SIGINT; then hand the running ones back (pushed, to be retried elsewhere)."""
    from temporalio.worker import Worker

    client = await connect(values)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with Worker(client, task_queue=values["task_queue"], workflows=[PodiumJob], activities=[activity_defn()],
                      max_concurrent_activities=max_jobs,
                      max_heartbeat_throttle_interval=timedelta(seconds=CANCEL_REACH)):
        await stop.wait()


def run_worker(values: dict[str, Any], max_jobs: int) -> None:
    """Run jobs from the task queue until interrupted. The runners this worker starts end their agents when it
    dies (``remote.WORKER_PID``): its jobs are then another worker's, restored from their last push."""
    os.environ[remote.WORKER_PID] = str(os.getpid())
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(values, max_jobs))
