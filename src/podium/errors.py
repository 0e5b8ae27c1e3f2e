"""podium's errors: a short hierarchy whose messages are written for the user.

The CLI prints any ``PodiumError`` as one line and exits with its ``exit_code``;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class PodiumError(Exception):
    """Base of every error podium reports to the user in one line."""

    exit_code = 1


class UsageError(PodiumError):
    """The user asked for something that cannot be done as asked (bad input, bad file)."""

    exit_code = 2


class GitError(PodiumError):
    """A git precondition failed: not a repository, no origin, a fetch that failed."""


class AgentError(PodiumError):
    """An agent CLI is missing, misconfigured, or cannot do what was asked (e.g. resume)."""


class JobNotFound(PodiumError):
    """No job with that id in this repository."""


class WaitTimeout(PodiumError):
    """``podium wait`` ran out of time before the job finished."""

    exit_code = 124
