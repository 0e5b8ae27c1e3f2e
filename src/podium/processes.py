"""Processes podium keeps track of by pid and start time: with both, nobody mistakes another process that later
got the pid for the one recorded (a job's runner, the process carrying out a gate)."""

from __future__ import annotations


def process_alive(pid: int | None, created: float | None) -> bool:
    """True when ``pid`` runs and is the same process (same start time), not a zombie."""
    if not pid:
        return False
    import psutil

    try:
        proc = psutil.Process(pid)
        if created is not None and abs(proc.create_time() - created) > 0.5:
            return False
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def this_process() -> tuple[int, float]:
    """This process's pid and start time."""
    import psutil

    me = psutil.Process()
    return me.pid, me.create_time()
