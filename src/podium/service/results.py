"""The typed results of podium's operations. Each has one ``to_dict()``: the document ``--json`` prints and the
MCP tool returns; a front that renders for people reads the typed fields. (Results owned by a lower layer keep
their own: ``Summary``, ``Shot``, the gate's ``Outcome``.)"""

from __future__ import annotations

import dataclasses
import functools
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from podium.text import Note

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from podium.jobs import Launched
    from podium.providers import Check, PullRequest, Ticket
    from podium.rebase import Synced
    from podium.store import EventRow, GateRecord, Job, WorkRecord
    from podium.summary import Summary
    from podium.ticket import Started
    from podium.workspace import WorkspaceState


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
class Gates:
    """``gates``: each gate as the human sees it (its record, the lines shown, its base)."""

    gates: list[GateRecord]

    def to_dict(self) -> list[dict[str, Any]]:
        from podium.gate import gate_dict

        return [gate_dict(g) for g in self.gates]


@dataclass
class PullRequestChecks:
    """``pr``: the workspace's pull request, the CI checks on its head, and their one verdict."""

    pr: PullRequest
    checks: list[Check]
    verdict: str  # failed, pending, passed or none

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self.pr), "checks": [dataclasses.asdict(c) for c in self.checks],
                "verdict": self.verdict}


@dataclass
class TicketStarted:
    """``ticket_start``: the ticket as it is now, its workspace (made now or reused), what podium did to it."""

    ticket: Ticket
    workspace: str
    branch: str
    base: str
    created: bool  # the workspace was made now
    assigned: bool  # podium assigned the ticket to the user now
    activated: bool  # podium set it active now
    snapshot: str
    notes: list[Note] = field(default_factory=list)

    @classmethod
    def of(cls, started: Started) -> TicketStarted:
        ws = started.workspace
        return cls(ticket=started.ticket, workspace=ws.path, branch=ws.branch, base=ws.base_ref,
                   created=started.created, assigned=started.assigned, activated=started.activated,
                   snapshot=str(started.snapshot), notes=started.notes())

    def to_dict(self) -> dict[str, Any]:
        return with_notes({"ticket": self.ticket.to_dict(), "workspace": self.workspace, "branch": self.branch,
                           "base": self.base, "created": self.created, "assigned": self.assigned,
                           "activated": self.activated, "snapshot": self.snapshot}, self.notes)


@dataclass
class TicketShown:
    """``ticket_show``: the ticket as the tracker has it now."""

    ticket: Ticket

    def to_dict(self) -> dict[str, Any]:
        return self.ticket.to_dict()


@dataclass
class TicketCommented:
    """``ticket_comment``: the ticket commented on."""

    ticket: str

    def to_dict(self) -> dict[str, Any]:
        return {"ticket": self.ticket, "commented": True}


@dataclass
class BranchName:
    """``branch_name``: the name, and the branches it was learned from (in words)."""

    name: str
    evidence: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "evidence": self.evidence}


@dataclass
class Workspaces:
    """``workspaces``: every workspace podium made here, as git has it now."""

    states: list[WorkspaceState]

    def to_dict(self) -> list[dict[str, Any]]:
        return [dataclasses.asdict(s) for s in self.states]


@dataclass
class SyncResult:
    """``sync``: what it did (``Synced``), and the notes of the worker it gave a conflict to."""

    synced: Synced

    @property
    def notes(self) -> list[Note]:
        return list(self.synced.worker.notes) if self.synced.worker else []

    def to_dict(self) -> dict[str, Any]:
        return with_notes(self.synced.to_dict(), self.notes)


@dataclass
class WorkInfo:
    """``work_start``, ``work_resume``: the work as it stands, and what resuming it did."""

    work: WorkRecord
    notes: list[Note] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return with_notes(self.work.to_dict(), self.notes)


@dataclass
class Document:
    """A result that is a plain document already (a gate's detail, a job's changes, what clean removed)."""

    data: Any
    notes: list[Note] = field(default_factory=list)

    def to_dict(self) -> Any:
        if isinstance(self.data, dict) and self.notes:
            return {**self.data, "notes": [n.to_dict() for n in self.notes]}
        return self.data
