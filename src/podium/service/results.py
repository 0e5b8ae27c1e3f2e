"""The typed results of podium's operations on jobs, and what every operation's results share (``Document``,
``with_notes``); the other modules of operations define theirs next to them, so that a command loads only its
own. Each result has one ``to_dict()``: the document ``--json`` prints and the MCP tool returns; a front that
renders for people reads the typed fields. (Results owned by a lower layer keep their own: ``Summary``,
``Shot``, the gate's ``Outcome``.)"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from podium.text import Note

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from podium.jobs import Launched
    from podium.store import EventRow, Job
    from podium.summary import Summary


@dataclass
class JobInfo:
    """A job an operation started (delegate, resume, a tester turn) or stopped (cancel)."""

    id: int
    state: str
    agent: str
    role: str
    branch: str | None
    workspace: str | None
    base: str | None
    base_sha: str | None
    parent: int | None
    session_id: str | None
    resumed: bool | None = None  # a tester turn: it continues the same session
    notes: list[Note] = field(default_factory=list)

    @classmethod
    def of(cls, job: Job, notes: list[Note] | None = None, resumed: bool | None = None) -> JobInfo:
        return cls(id=job.id, state=job.state, agent=job.agent, role=job.role, branch=job.branch,
                   workspace=job.workspace, base=job.base_ref, base_sha=job.base_sha, parent=job.parent_id,
                   session_id=job.session_id, resumed=resumed, notes=list(notes or []))

    @classmethod
    def launched(cls, launch: Launched) -> JobInfo:
        return cls.of(launch.job, launch.notes, launch.resumed)

    def note(self, kind: str) -> str | None:
        return next((n.text for n in self.notes if n.kind == kind), None)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "agent": self.agent, "role": self.role, "branch": self.branch,
                "workspace": self.workspace, "base": self.base, "base_sha": self.base_sha, "parent": self.parent,
                "session_id": self.session_id, "resumed": self.resumed, "stale_base": self.note("stale_base"),
                "notes": [n.to_dict() for n in self.notes]}


class Listing:
    """``status``: one row per job. Read when asked for, the way each front needs it: ``--json`` and MCP get the
    JSON document SQLite writes (``Store.status_json``); the table gets only its own columns as tuples
    (``Store.status_table``), with no JSON written or decoded."""

    def __init__(self, text: str | Callable[[], str], table: Callable[[], Sequence[Mapping[str, Any]]] | None = None):
        self._text = text
        self._table = table

    @functools.cached_property
    def text(self) -> str:
        return self._text if isinstance(self._text, str) else self._text()

    @functools.cached_property
    def rows(self) -> list[dict[str, Any]]:
        return json.loads(self.text)

    def table(self) -> Sequence[Mapping[str, Any]]:
        """The rows with at least the table's columns (``store.TABLE_FIELDS``)."""
        return self._table() if self._table is not None else self.rows

    def to_dict(self) -> list[dict[str, Any]]:
        return self.rows

    def to_json(self) -> str:
        """The document as ``--json`` prints it: the text itself, never decoded and encoded again."""
        return self.text


@dataclass
class Page:
    """One page of jobs (the dashboard's Jobs page): its rows as ``status`` has them, and how many match."""

    rows: list[dict[str, Any]]
    total: int
    offset: int
    limit: int

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "total": self.total, "offset": self.offset, "limit": self.limit}


@dataclass
class Events:
    """A job's events (``logs`` without ``summary``): the record, and the line each reads as."""

    id: int
    state: str
    events: list[EventRow]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "events": [event_dict(e) for e in self.events]}


def event_dict(e: EventRow) -> dict[str, Any]:
    from podium.summary import event_line

    return {"seq": e.seq, "ts": e.ts, "kind": e.kind, "data": e.data, "line": event_line(e)}


@dataclass
class Waited:
    """``wait``: the jobs as they ended (or stood when the time ran out), and podium's retries of stalls."""

    jobs: list[Summary]
    timed_out: bool = False
    retried: list[dict[str, int]] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 every job done, 3 one stalled, 1 one ended otherwise, 124 the time ran out."""
        if self.timed_out:
            return 124
        if any(s.state == "stalled" for s in self.jobs):
            return 3
        return 0 if all(s.state == "done" for s in self.jobs) else 1

    def to_dict(self) -> dict[str, Any]:
        return {"timed_out": self.timed_out, "retried": self.retried, "jobs": [s.to_dict() for s in self.jobs]}


def with_notes(doc: dict[str, Any], notes: list[Note]) -> dict[str, Any]:
    """A document with its notes, when there are any (the key is left out when there are none)."""
    return {**doc, "notes": [n.to_dict() for n in notes]} if notes else doc











@dataclass
class Document:
    """A result that is a plain document already (a gate's detail, a job's changes, what clean removed)."""

    data: Any
    notes: list[Note] = field(default_factory=list)

    def to_dict(self) -> Any:
        if isinstance(self.data, dict) and self.notes:
            return {**self.data, "notes": [n.to_dict() for n in self.notes]}
        return self.data
