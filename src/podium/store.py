"""podium's record of a repository: one SQLite database (WAL) in the git common dir.

Every worktree of a repository shares its git common dir, so every podium command
run from any of them sees the same jobs. Logs are files in ``logs/`` beside the
database. The schema only grows through the numbered ``MIGRATIONS``; the applied
number is ``PRAGMA user_version``.

Concurrency contract: any number of processes (CLI calls, job runners) may open
the store at once. Writers take the lock up front (``BEGIN IMMEDIATE``) and wait
up to ``BUSY_TIMEOUT_MS`` for it, so a burst of a hundred runners queues instead
of failing.
"""

from __future__ import annotations

import fcntl
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from podium.errors import PodiumError

if TYPE_CHECKING:
    from podium.redaction import Redactor

BUSY_TIMEOUT_MS = 60_000

# Job states with a runner that should be alive; the others (done, no_changes, failed, cancelled, lost) are final.
# "queued": a resume waiting for the job ahead of it in the same workspace to end.
ACTIVE_STATES = ("queued", "starting", "running", "stalled")

MIGRATIONS: list[str] = [
    # 1: jobs, their events, and agent sessions.
    """
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        agent TEXT NOT NULL,
        role TEXT NOT NULL DEFAULT 'worker',
        prompt TEXT NOT NULL,
        state TEXT NOT NULL,
        workspace TEXT,
        branch TEXT,
        base_ref TEXT,
        base_sha TEXT,
        session_id TEXT,
        parent_id INTEGER REFERENCES jobs(id),
        argv TEXT,
        runner_pid INTEGER,
        runner_started REAL,
        agent_pid INTEGER,
        exit_code INTEGER,
        created_at REAL NOT NULL,
        started_at REAL,
        ended_at REAL,
        heartbeat_at REAL,
        last_activity_at REAL,
        stall_after REAL NOT NULL,
        final_message TEXT,
        error TEXT,
        event_count INTEGER NOT NULL DEFAULT 0,
        work TEXT,
        usage TEXT,
        cancel_requested INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX jobs_state ON jobs(state);
    CREATE INDEX jobs_workspace ON jobs(workspace);
    CREATE TABLE events (
        job_id INTEGER NOT NULL REFERENCES jobs(id),
        seq INTEGER NOT NULL,
        ts REAL NOT NULL,
        kind TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (job_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        agent TEXT NOT NULL,
        workspace TEXT,
        first_job INTEGER REFERENCES jobs(id),
        created_at REAL NOT NULL
    );
    """,
    # 2: what the worktree looked like when the job started, so a run is judged by its own changes.
    """
    ALTER TABLE jobs ADD COLUMN start_head TEXT;
    ALTER TABLE jobs ADD COLUMN start_tree TEXT
    """,
    # 3: when `podium clean` removed the job's workspace.
    """
    ALTER TABLE jobs ADD COLUMN workspace_removed_at REAL
    """,
    # 4: each workspace's block of ports, so parallel dev servers and test databases do not collide.
    """
    CREATE TABLE workspace_ports (
        workspace TEXT PRIMARY KEY,
        port_base INTEGER NOT NULL UNIQUE
    )
    """,
    # 5: each workspace's change: its single commit, the message (kept for the PR description) and the last push.
    """
    CREATE TABLE changes (
        workspace TEXT PRIMARY KEY,
        branch TEXT NOT NULL,
        base_ref TEXT NOT NULL,
        base_sha TEXT NOT NULL,
        commit_sha TEXT,
        message TEXT NOT NULL,
        message_source TEXT NOT NULL,
        paths TEXT NOT NULL DEFAULT '[]',
        excluded TEXT NOT NULL DEFAULT '[]',
        rounds INTEGER NOT NULL DEFAULT 0,
        author_date TEXT,
        pushed_sha TEXT,
        pushed_at REAL,
        push_error TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )
    """,
    # 6: workspaces as records of their own (a ticket's workspace exists before its first job), and tickets.
    """
    CREATE TABLE workspaces (
        path TEXT PRIMARY KEY,
        branch TEXT NOT NULL,
        base_ref TEXT NOT NULL,
        base_sha TEXT NOT NULL,
        ticket TEXT,
        created_at REAL NOT NULL,
        removed_at REAL
    );
    INSERT OR IGNORE INTO workspaces (path, branch, base_ref, base_sha, created_at, removed_at)
        SELECT workspace, branch, base_ref, base_sha, MIN(created_at), MAX(workspace_removed_at) FROM jobs
        WHERE workspace IS NOT NULL AND branch IS NOT NULL AND base_ref IS NOT NULL AND base_sha IS NOT NULL
        GROUP BY workspace;
    CREATE TABLE tickets (
        key TEXT PRIMARY KEY,
        tracker TEXT NOT NULL,
        id TEXT NOT NULL,
        data TEXT NOT NULL,
        workspace TEXT,
        started_at REAL NOT NULL,
        refreshed_at REAL NOT NULL
    )
    """,
    # 7: gates: a commit, push or PR waiting for (or given) the human's approval, with what they were shown.
    """
    CREATE TABLE gates (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        workspace TEXT NOT NULL,
        branch TEXT NOT NULL,
        actions TEXT NOT NULL,
        state TEXT NOT NULL,
        facts TEXT NOT NULL,
        reason TEXT,
        decided_by TEXT,
        result TEXT,
        created_at REAL NOT NULL,
        decided_at REAL
    );
    CREATE INDEX gates_state ON gates(state)
    """,
    # 8: the change's pull request, and the description podium last gave it.
    """
    ALTER TABLE changes ADD COLUMN pr_number TEXT;
    ALTER TABLE changes ADD COLUMN pr_url TEXT;
    ALTER TABLE changes ADD COLUMN pr_description TEXT
    """,
    # 9: screenshots already uploaded to the PR (name -> address), so a later ship does not upload them again.
    """
    ALTER TABLE changes ADD COLUMN pr_attachments TEXT NOT NULL DEFAULT '{}'
    """,
    # 10: screenshots the tester (or the user) took through podium, recorded against their branch for ship.
    """
    CREATE TABLE screenshots (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        branch TEXT NOT NULL,
        number INTEGER NOT NULL,
        label TEXT NOT NULL,
        path TEXT NOT NULL,
        url TEXT NOT NULL,
        workspace TEXT,
        job_id INTEGER,
        created_at REAL NOT NULL
    );
    CREATE INDEX screenshots_branch ON screenshots(branch)
    """,
    # 11: podium work: a ticket taken to the gate by an orchestrator agent, resumable after a crash.
    """
    CREATE TABLE works (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ticket TEXT NOT NULL,
        workspace TEXT NOT NULL,
        branch TEXT NOT NULL,
        state TEXT NOT NULL,
        agent TEXT NOT NULL,
        max_rounds INTEGER NOT NULL,
        rounds INTEGER NOT NULL DEFAULT 0,
        stall_after REAL NOT NULL,
        orchestrator_job INTEGER,
        outcome TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    )
    """,
    # 12: a gate's life ends in what its action did: done or failed (still actionable), rejected or superseded.
    # "passed" was the policy's (or podium's "nothing new") decision, "approved" a human's: both now say how the
    # action ended, and decided_by keeps who decided.
    """
    UPDATE gates SET state = 'failed' WHERE state IN ('approved', 'passed') AND result LIKE '%"error":%';
    UPDATE gates SET state = 'done' WHERE state IN ('approved', 'passed')
    """,
    # 13: the agent's start time, so that a runner that died leaves an agent podium can still tell apart from
    # another process that later got its pid (and adopt it).
    """
    ALTER TABLE jobs ADD COLUMN agent_started REAL
    """,
    # 14: what the agent's CLI reads on its stdin (its prompt): never in its argv, where size is bounded.
    """
    ALTER TABLE jobs ADD COLUMN stdin TEXT
    """,
    # 15: when the agent last received bytes from its model while printing nothing (a long reasoning turn whose
    # stream stays alive): it is thinking, not stalled.
    """
    ALTER TABLE jobs ADD COLUMN receiving_at REAL
    """,
    # 16: the engine that runs a job when it is not this machine's runner (the Temporal cluster, its workflow and
    # how much of its history is mirrored here), and the machine whose worker runs it.
    """
    ALTER TABLE jobs ADD COLUMN engine TEXT;
    ALTER TABLE jobs ADD COLUMN host TEXT
    """,
    # 17: a gate being carried out records the process carrying it out (its pid and start time), so that one whose
    # process ended (Ctrl-C, killed, a reboot) reads failed and can be approved again. A gate an older podium left
    # "approved" when its process ended is such a gate, its process unknown.
    """
    ALTER TABLE gates ADD COLUMN carrier_pid INTEGER;
    ALTER TABLE gates ADD COLUMN carrier_started REAL;
    UPDATE gates SET state = 'carrying_out' WHERE state = 'approved'
    """,
    # 18: the model and effort a job was given for itself (--model, --effort), which a resume of it keeps
    """
    ALTER TABLE jobs ADD COLUMN model TEXT;
    ALTER TABLE jobs ADD COLUMN effort TEXT
    """,
    # 19: how much of the agent's output its events are recorded from (bytes, lines): a runner that takes over
    # from one that died reads the output on from there
    """
    ALTER TABLE jobs ADD COLUMN output_read INTEGER;
    ALTER TABLE jobs ADD COLUMN output_lines INTEGER
    """,
]


GATE_INTERRUPTED = "interrupted: the process carrying it out ended"
THINKING_FRESH = 60  # seconds: bytes from the model older than this no longer make a silent job "thinking"


@dataclass
class Job:
    """One run of an agent. Mirrors a row of ``jobs``; JSON columns are decoded."""

    id: int
    agent: str
    prompt: str
    state: str
    created_at: float
    stall_after: float
    role: str = "worker"
    workspace: str | None = None
    branch: str | None = None
    base_ref: str | None = None
    base_sha: str | None = None
    session_id: str | None = None
    parent_id: int | None = None
    argv: list[str] = field(default_factory=list)
    runner_pid: int | None = None
    runner_started: float | None = None
    agent_pid: int | None = None
    exit_code: int | None = None
    started_at: float | None = None
    ended_at: float | None = None
    heartbeat_at: float | None = None
    last_activity_at: float | None = None
    final_message: str | None = None
    error: str | None = None
    event_count: int = 0
    work: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    cancel_requested: int = 0
    start_head: str | None = None
    start_tree: str | None = None
    workspace_removed_at: float | None = None
    agent_started: float | None = None
    stdin: str | None = None  # what the agent reads on its stdin (its prompt), None: nothing
    receiving_at: float | None = None  # the agent's model connection last brought bytes (see ``thinking_for``)
    engine: dict[str, Any] | None = None  # None: this machine's runner; else the engine's own (``podium.engines``)
    host: str | None = None  # the machine whose worker runs the job (an engine's)
    model: str | None = None  # given for this job alone (delegate --model): its resumes keep it; None: settings'
    effort: str | None = None  # likewise, the reasoning effort
    output_read: int | None = None  # the bytes of the agent's output its recorded events come from
    output_lines: int | None = None  # and their lines

    JSON_COLUMNS = ("argv", "work", "usage", "engine")
    REDACTED = ("error", "final_message")  # what the agent or a failure said: credentials masked as stored

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Job:
        data = dict(row)
        for key in cls.JSON_COLUMNS:
            if data.get(key) is not None:
                data[key] = json.loads(data[key])
        if data.get("argv") is None:
            data["argv"] = []
        return cls(**data)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def thinking_for(self, now: float) -> float | None:
        """How long a running job has printed nothing while its model's stream still brings bytes (as
        ``status``'s ``thinking_for``), or None."""
        quiet_since = self.last_activity_at or self.created_at
        if self.state != "running" or self.receiving_at is None or self.receiving_at <= quiet_since:
            return None
        return now - quiet_since if now - self.receiving_at <= THINKING_FRESH else None

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class EventRow:
    job_id: int
    seq: int
    ts: float
    kind: str
    data: dict[str, Any]


_JOB_COLUMNS = {f.name for f in fields(Job)}
# status's row, key by key in the order its document shows it: each value as SQLite computes it (``now``: the
# time of the query, ``behind`` the base commits' counts the caller passes in)
STATUS_FIELDS = (
    ("id", "id"), ("state", "state"), ("agent", "agent"), ("role", "role"), ("branch", "branch"),
    ("model", "model"), ("effort", "effort"),  # given for this job (--model, --effort); null: the settings' own
    ("workspace", "workspace"), ("parent", "parent_id"), ("session_id", "session_id"), ("created_at", "created_at"),
    ("started_at", "started_at"), ("ended_at", "ended_at"), ("age", "round({now} - created_at, 1)"),
    ("silent_for", "CASE WHEN last_activity_at IS NOT NULL AND state IN ({active}) "
                   "THEN round({now} - last_activity_at, 1) END"),
    # printing nothing since its last output while its model's stream still brings bytes (within THINKING_FRESH s)
    ("thinking_for", "CASE WHEN state = 'running' AND receiving_at > coalesce(last_activity_at, created_at) "
                     f"AND {{now}} - receiving_at <= {THINKING_FRESH} "
                     "THEN round({now} - coalesce(last_activity_at, created_at), 1) END"),
    ("events", "event_count"),
    ("files_changed", "CASE WHEN work IS NULL OR work = '{{}}' THEN NULL "
                      "ELSE coalesce(json_array_length(work, '$.files'), 0) END"),
    ("commits", "CASE WHEN work IS NULL OR work = '{{}}' THEN NULL "
                "ELSE coalesce(json_array_length(work, '$.commits'), 0) END"),
    ("behind_base", "{behind}"),
    ("tests", "json(json_extract(work, '$.tests'))"), ("exit_code", "exit_code"), ("runner_pid", "runner_pid"),
    ("agent_pid", "agent_pid"), ("host", "host"), ("prompt", "substr(prompt, 1, 120)"), ("error", "error"),
)


TABLE_FIELDS = ("id", "state", "agent", "host", "role", "branch", "age", "silent_for", "thinking_for",
                "files_changed", "commits", "behind_base", "tests", "error", "prompt")
_STATUS_WITH = "WITH now(t) AS (SELECT ?)"


def _status_exprs(keys: Iterable[str], behind: Sequence[tuple[str, str, Any]] = ()
                  ) -> tuple[list[tuple[str, str]], list[Any]]:
    """(key, SQL expression) for each of ``keys``, from ``STATUS_FIELDS``, and the arguments they take.
    ``behind_base`` is a CASE over the few distinct base commits ``behind`` counts (ref, sha, n): NULL for all
    when there are none, not a lookup per row."""
    exprs = dict(STATUS_FIELDS)
    active = ", ".join(f"'{s}'" for s in ACTIVE_STATES)
    case = f"CASE {' '.join('WHEN base_ref = ? AND base_sha = ? THEN ?' for _ in behind)} END" if behind else "NULL"
    columns = [(k, exprs[k].format(active=active, now="(SELECT t FROM now)", behind=case)) for k in keys]
    args = [v for b in behind for v in b] if "behind_base" in keys else []
    return columns, args


@dataclass
class WorkspaceRecord:
    """A worktree podium made for one task: its branch, the base it started from, the ticket it serves."""

    path: str
    branch: str
    base_ref: str
    base_sha: str
    created_at: float
    ticket: str | None = None  # "<tracker>:<id>"
    removed_at: float | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> WorkspaceRecord:
        return cls(**dict(row))


@dataclass
class TicketRecord:
    """A ticket podium started: the last snapshot fetched from its tracker, and its workspace."""

    key: str  # "<tracker>:<id>"
    tracker: str
    id: str
    data: dict[str, Any]
    started_at: float
    refreshed_at: float
    workspace: str | None = None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> TicketRecord:
        values = dict(row)
        values["data"] = json.loads(values["data"])
        return cls(**values)


@dataclass
class GateRecord:
    """A pending or decided approval: which actions, on which workspace, with the facts the human saw."""

    id: int
    workspace: str
    branch: str
    actions: list[str]
    # pending → carrying_out (approved; its action running in the process carrier_pid) → done once every action
    # succeeded | failed (an action failed, or the process carrying it out ended: approve again once fixed); or
    # rejected, or superseded by a newer request for the same workspace. decided_by: the human, "policy", "podium".
    state: str
    facts: dict[str, Any]
    created_at: float
    reason: str | None = None
    decided_by: str | None = None
    result: dict[str, Any] | None = None
    decided_at: float | None = None
    carrier_pid: int | None = None
    carrier_started: float | None = None

    JSON = ("actions", "facts", "result")

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> GateRecord:
        values = dict(row)
        for key in cls.JSON:
            if values[key] is not None:
                values[key] = json.loads(values[key])
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        return dataclass_values(self)


@dataclass
class Change:
    """A workspace's single commit as podium made it (``podium commit``) and last pushed it."""

    workspace: str
    branch: str
    base_ref: str
    base_sha: str
    message: str
    message_source: str  # "generated" or "user": a user's words are never regenerated silently
    created_at: float
    updated_at: float
    commit_sha: str | None = None
    paths: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)  # paths the user took out; later rounds leave them out
    rounds: int = 0
    author_date: str | None = None
    pushed_sha: str | None = None
    pushed_at: float | None = None
    push_error: str | None = None
    pr_number: str | None = None
    pr_url: str | None = None
    pr_description: str | None = None
    pr_attachments: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Change:
        data = dict(row)
        data["paths"] = json.loads(data["paths"])
        data["excluded"] = json.loads(data["excluded"])
        data["pr_attachments"] = json.loads(data["pr_attachments"])
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class Store:
    """A connection to one repository's podium database."""

    open_connections = 0  # this process's: one that has none holds no SQLite state a fork could carry off

    def __init__(self, root: Path):
        self.root = root
        self._redact: Redactor | None = None
        self.root.mkdir(parents=True, exist_ok=True)
        self.logs = root / "logs"
        self.logs.mkdir(exist_ok=True)
        self.path = root / "state.db"
        self._db: sqlite3.Connection | None = None

    @property
    def db(self) -> sqlite3.Connection:
        """The store's connection, opened (and the store migrated) when first used."""
        if self._db is None:
            self._db = self._connect()
        return self._db

    def _connect(self) -> sqlite3.Connection:
        self._db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
        Store.open_connections += 1
        try:
            self._db.row_factory = sqlite3.Row
            self._db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self._db.execute("PRAGMA synchronous=NORMAL")
            # Switching to WAL and migrating do not wait on SQLite's busy handler the way writes do: a burst of
            # processes opening a new store at once would see "database is locked". They take turns instead.
            with (self.root / "open.lock").open("a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._migrate()
        except BaseException:
            self.close()
            raise
        return self._db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
            Store.open_connections -= 1

    @property
    def redact(self) -> Redactor:
        """What keeps credentials out of the store: this process's (or, set by the runner, its agent's)."""
        if self._redact is None:
            from podium.redaction import for_environment

            self._redact = for_environment()
        return self._redact

    @redact.setter
    def redact(self, redactor: Redactor) -> None:
        self._redact = redactor

    def _encode(self, key: str, value: Any) -> Any:
        """A job column's value as stored: JSON columns encoded, its texts (error, final message) redacted."""
        if value is None:
            return value
        if key in Job.JSON_COLUMNS:
            return json.dumps(value)
        if key in Job.REDACTED:
            return self.redact(value)
        return value

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise PodiumError(f"{self.path} was written by a newer podium (store schema {version}; this podium "
                              f"knows up to {len(MIGRATIONS)}): upgrade podium (pip install -U podium) to use it")
        if version == len(MIGRATIONS):
            return
        with self.transaction() as db:
            # Re-read under the write lock: another process may have migrated meanwhile.
            version = db.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version, len(MIGRATIONS)):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version={number + 1}")

    # -- jobs -------------------------------------------------------------
    def create_job(self, **values: Any) -> Job:
        values.setdefault("created_at", time.time())
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self.transaction() as db:
            cur = db.execute(f"INSERT INTO jobs ({cols}) VALUES ({marks})",
                             [self._encode(k, v) for k, v in values.items()])
            job_id = cur.lastrowid
        assert job_id is not None
        return self.job(job_id)

    def update_job(self, job_id: int, **values: Any) -> None:
        unknown = set(values) - _JOB_COLUMNS
        if unknown:
            raise ValueError(f"unknown job columns {unknown}")
        sets = ", ".join(f"{k} = ?" for k in values)
        with self.transaction() as db:
            db.execute(f"UPDATE jobs SET {sets} WHERE id = ?",
                       [*(self._encode(k, v) for k, v in values.items()), job_id])

    def update_job_if(self, job_id: int, states: Iterable[str], **values: Any) -> bool:
        """Update only while the job is in one of ``states``; True when it was."""
        states = tuple(states)
        sets = ", ".join(f"{k} = ?" for k in values)
        marks = ", ".join("?" for _ in states)
        with self.transaction() as db:
            cur = db.execute(
                f"UPDATE jobs SET {sets} WHERE id = ? AND state IN ({marks})",
                [*(self._encode(k, v) for k, v in values.items()), job_id, *states],
            )
            return cur.rowcount > 0

    def claim_runner(self, job_id: int, was: int | None, runner_pid: int) -> bool:
        """Make ``runner_pid`` the runner of an active job whose runner is still ``was`` (compare-and-set): of
        two podium commands adopting the same job at once, one wins."""
        marks = ", ".join("?" for _ in ACTIVE_STATES)
        with self.transaction() as db:
            cur = db.execute(f"UPDATE jobs SET runner_pid = ?, runner_started = NULL, heartbeat_at = ? "
                             f"WHERE id = ? AND runner_pid IS ? AND state IN ({marks})",
                             (runner_pid, time.time(), job_id, was, *ACTIVE_STATES))
            return cur.rowcount > 0

    def delete_job(self, job_id: int) -> None:
        with self.transaction() as db:
            db.execute("DELETE FROM events WHERE job_id = ?", (job_id,))
            db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))

    def job(self, job_id: int) -> Job:
        row = self.db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is None:
            raise KeyError(job_id)
        return Job.from_row(row)

    def states(self, job_ids: Sequence[int]) -> dict[int, str]:
        """The state of each of these jobs, in one query (what ``wait`` looks at between full reads)."""
        rows = self.db.execute(f"SELECT id, state FROM jobs WHERE id IN ({', '.join('?' for _ in job_ids)})",
                               list(job_ids))
        return dict(rows.fetchall())

    def jobs(
        self, *, states: Iterable[str] | None = None, since: float | None = None, limit: int | None = None
    ) -> list[Job]:
        sql, args = "SELECT * FROM jobs", []
        where = []
        if states is not None:
            states = tuple(states)
            where.append(f"state IN ({', '.join('?' for _ in states)})")
            args.extend(states)
        if since is not None:
            where.append("created_at >= ?")
            args.append(since)
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [Job.from_row(r) for r in self.db.execute(sql, args)]

    def status_bases(self, where: str = "", args: Sequence[Any] = (), *, limit: int | None = None,
                     offset: int = 0) -> list[tuple[str, str]]:
        """The distinct (base ref, base commit) pairs of the jobs ``status_json`` would list."""
        picked = self._picked("base_ref, base_sha", where, limit, offset)
        rows = self.db.execute(f"SELECT DISTINCT base_ref, base_sha FROM ({picked}) "
                               "WHERE base_ref IS NOT NULL AND base_sha IS NOT NULL", list(args))
        return [(r[0], r[1]) for r in rows]

    def status_json(self, where: str = "", args: Sequence[Any] = (), *, behind: Sequence[tuple[str, str, Any]] = (),
                    limit: int | None = None, offset: int = 0) -> str:
        """``status``'s rows, newest first, as the JSON document itself (a list, one row per line): SQLite writes
        each row's JSON, Python only joins the lines — thousands of rows are never decoded and encoded again.
        ``where`` is a condition on ``jobs`` with ``?`` for ``args``; ``behind`` gives each base commit's count
        (ref, sha, n)."""
        exprs, behind_args = _status_exprs(dict(STATUS_FIELDS), behind)
        pairs = ", ".join(f"'{key}', {expr}" for key, expr in exprs)
        sql = f"{_STATUS_WITH} {self._picked(f'json_object({pairs})', where, limit, offset)}"
        rows = [r[0] for r in self.db.execute(sql, [time.time(), *behind_args, *args])]
        return "[\n" + ",\n".join(rows) + "\n]" if rows else "[]"

    def status_table(self, where: str = "", args: Sequence[Any] = (), *,
                     behind: Sequence[tuple[str, str, Any]] = ()) -> list[sqlite3.Row]:
        """The same rows with only the columns of the ``status`` table (``TABLE_FIELDS``): thousands of jobs
        are read as tuples, with no JSON written or decoded (``tests`` stays JSON text)."""
        exprs, behind_args = _status_exprs(TABLE_FIELDS, behind)
        columns = ", ".join(f"{expr} AS {key}" for key, expr in exprs)
        sql = f"{_STATUS_WITH} {self._picked(columns, where, None, 0)}"
        return self.db.execute(sql, [time.time(), *behind_args, *args]).fetchall()

    @staticmethod
    def _picked(columns: str, where: str, limit: int | None, offset: int) -> str:
        return (f"SELECT {columns} FROM jobs" + (f" WHERE {where}" if where else "") + " ORDER BY id DESC"
                + (f" LIMIT {int(limit)} OFFSET {max(0, int(offset))}" if limit is not None else ""))

    def job_filter(self, *, states: Iterable[str] = (), agent: str | None = None, branch: str | None = None,
                   ticket: str | None = None) -> tuple[str, list[Any]]:
        """A condition for ``status_json`` and ``count_jobs``: ``branch`` is a substring, ``ticket`` the id
        (with or without its tracker) of the ticket whose workspace the job ran in."""
        where, args = [], []
        states = tuple(states)
        if states:
            where.append(f"state IN ({', '.join('?' for _ in states)})")
            args.extend(states)
        if agent:
            where.append("agent = ?")
            args.append(agent)
        if branch:
            where.append("instr(branch, ?) > 0")
            args.append(branch)
        if ticket:
            where.append("workspace IN (SELECT path FROM workspaces WHERE ticket = ? OR substr(ticket, -?) = ?)")
            args.extend([ticket, len(ticket) + 1, f":{ticket}"])
        return " AND ".join(where), args

    def count_jobs(self, where: str = "", args: Sequence[Any] = ()) -> int:
        return int(self.db.execute("SELECT count(*) FROM jobs" + (f" WHERE {where}" if where else ""), args)
                   .fetchone()[0])

    def agents(self) -> list[str]:
        """The agents jobs ran with here, for a filter's choices."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT agent FROM jobs ORDER BY agent")]

    def data_version(self) -> int:
        """Changes when another connection committed (SQLite's ``data_version``): a cheap "anything new?"."""
        return int(self.db.execute("PRAGMA data_version").fetchone()[0])

    # -- workspaces and tickets --------------------------------------------
    def add_workspace(self, record: WorkspaceRecord) -> None:
        """Record a new workspace; a removed one that had the same path is replaced."""
        values = dataclass_values(record)
        with self.transaction() as db:
            db.execute(f"INSERT OR REPLACE INTO workspaces ({', '.join(values)}) VALUES "
                       f"({', '.join('?' for _ in values)})", list(values.values()))

    def workspace(self, path: str) -> WorkspaceRecord | None:
        row = self.db.execute("SELECT * FROM workspaces WHERE path = ?", (path,)).fetchone()
        return WorkspaceRecord.from_row(row) if row else None

    def workspaces(self) -> list[WorkspaceRecord]:
        """Workspaces not removed, newest first."""
        rows = self.db.execute("SELECT * FROM workspaces WHERE removed_at IS NULL ORDER BY created_at DESC")
        return [WorkspaceRecord.from_row(r) for r in rows]

    def jobs_in(self, workspace: str) -> list[Job]:
        """The jobs of a workspace since it was made (a removed one's jobs at the same path excluded), oldest first."""
        rows = self.db.execute(
            "SELECT * FROM jobs WHERE workspace = ? AND workspace_removed_at IS NULL ORDER BY id", (workspace,))
        return [Job.from_row(r) for r in rows]

    def save_ticket(self, ticket: TicketRecord) -> None:
        values = dataclass_values(ticket)
        values["data"] = json.dumps(values["data"])
        with self.transaction() as db:
            db.execute(f"INSERT OR REPLACE INTO tickets ({', '.join(values)}) VALUES "
                       f"({', '.join('?' for _ in values)})", list(values.values()))

    def ticket(self, key: str) -> TicketRecord | None:
        row = self.db.execute("SELECT * FROM tickets WHERE key = ?", (key,)).fetchone()
        return TicketRecord.from_row(row) if row else None

    def mark_workspace_removed(self, workspace: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE jobs SET workspace_removed_at = ? WHERE workspace = ?", (time.time(), workspace))
            db.execute("UPDATE workspaces SET removed_at = ? WHERE path = ?", (time.time(), workspace))
            db.execute("UPDATE tickets SET workspace = NULL WHERE workspace = ?", (workspace,))
            db.execute("DELETE FROM workspace_ports WHERE workspace = ?", (workspace,))
            db.execute("DELETE FROM changes WHERE workspace = ?", (workspace,))

    def forget_workspace(self, workspace: str) -> None:
        """Drop a workspace podium made and took back at once (a delegation that failed): no trace of it."""
        with self.transaction() as db:
            db.execute("DELETE FROM workspace_ports WHERE workspace = ?", (workspace,))
            db.execute("DELETE FROM workspaces WHERE path = ?", (workspace,))

    def port_base(self, workspace: str) -> int | None:
        row = self.db.execute("SELECT port_base FROM workspace_ports WHERE workspace = ?", (workspace,)).fetchone()
        return int(row[0]) if row else None

    def taken_port_bases(self) -> set[int]:
        return {int(r[0]) for r in self.db.execute("SELECT port_base FROM workspace_ports")}

    def set_port_base(self, workspace: str, port_base: int) -> None:
        with self.transaction() as db:
            db.execute("INSERT INTO workspace_ports (workspace, port_base) VALUES (?, ?)", (workspace, port_base))

    def active_job_in(self, workspace: str) -> Job | None:
        marks = ", ".join("?" for _ in ACTIVE_STATES)
        row = self.db.execute(
            f"SELECT * FROM jobs WHERE workspace = ? AND state IN ({marks}) ORDER BY id DESC LIMIT 1",
            (workspace, *ACTIVE_STATES),
        ).fetchone()
        return Job.from_row(row) if row else None

    # -- changes ----------------------------------------------------------
    def change(self, workspace: str) -> Change | None:
        row = self.db.execute("SELECT * FROM changes WHERE workspace = ?", (workspace,)).fetchone()
        return Change.from_row(row) if row else None

    def save_change(self, change: Change) -> None:
        values = dataclass_values(change)
        for key in ("message", "pr_description", "push_error"):
            values[key] = values[key] and self.redact(values[key])
        values["paths"] = json.dumps(values["paths"])
        values["excluded"] = json.dumps(values["excluded"])
        values["pr_attachments"] = json.dumps(values["pr_attachments"])
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        with self.transaction() as db:
            db.execute(f"INSERT OR REPLACE INTO changes ({cols}) VALUES ({marks})", list(values.values()))

    # -- gates ------------------------------------------------------------
    def _gate_values(self, values: dict[str, Any]) -> dict[str, Any]:
        """A gate's columns as stored: what it shows (facts, result, reason) with credentials masked."""
        return {k: json.dumps(self.redact.data(v)) if k in GateRecord.JSON
                else self.redact(v) if k == "reason" and v else v for k, v in values.items()}

    def create_gate(self, **values: Any) -> GateRecord:
        values = self._gate_values(values)
        values.setdefault("created_at", time.time())
        with self.transaction() as db:
            cur = db.execute(f"INSERT INTO gates ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})",
                             list(values.values()))
            gate_id = cur.lastrowid
        assert gate_id is not None
        return self.gate(gate_id)

    def gate(self, gate_id: int) -> GateRecord:
        self._settle_gates()
        row = self.db.execute("SELECT * FROM gates WHERE id = ?", (gate_id,)).fetchone()
        if row is None:
            raise KeyError(gate_id)
        return GateRecord.from_row(row)

    def gates(self, states: Iterable[str] | None = None) -> list[GateRecord]:
        self._settle_gates()
        sql, args = "SELECT * FROM gates", []
        if states is not None:
            states = tuple(states)
            sql += f" WHERE state IN ({', '.join('?' for _ in states)})"
            args.extend(states)
        return [GateRecord.from_row(r) for r in self.db.execute(sql + " ORDER BY id DESC", args)]

    def decide_gate(self, gate_id: int, state: str, *, was: Iterable[str] = ("pending",), **values: Any) -> bool:
        """Move a gate from one of the states ``was`` to ``state``; False when it was in none of them (someone
        else decided it meanwhile). The compare-and-set is what makes two approvals at once carry out one."""
        values = self._gate_values(values)
        values.update(state=state, decided_at=time.time())
        sets = ", ".join(f"{k} = ?" for k in values)
        was = tuple(was)
        with self.transaction() as db:
            cur = db.execute(f"UPDATE gates SET {sets} WHERE id = ? AND state IN ({', '.join('?' for _ in was)})",
                             [*values.values(), gate_id, *was])
            return cur.rowcount > 0

    def end_gate(self, gate_id: int, state: str, result: dict[str, Any]) -> None:
        """What carrying out an approved gate ended in: ``done`` or ``failed``, with its result."""
        with self.transaction() as db:
            db.execute("UPDATE gates SET state = ?, result = ? WHERE id = ?",
                       (state, json.dumps(self.redact.data(result)), gate_id))

    def gate_progress(self, gate_id: int, result: dict[str, Any]) -> None:
        """What a gate being carried out has done so far (the commit made, the push): kept if its process ends."""
        with self.transaction() as db:
            db.execute("UPDATE gates SET result = ? WHERE id = ? AND state = 'carrying_out'",
                       (json.dumps(self.redact.data(result)), gate_id))

    def _settle_gates(self) -> None:
        """A gate whose process carrying it out ended (killed, a reboot) before it said how it went is ``failed``:
        the human sees it among the open gates and can approve it again."""
        from podium.processes import process_alive

        carried = self.db.execute("SELECT id, carrier_pid, carrier_started, result FROM gates "
                                  "WHERE state = 'carrying_out'").fetchall()
        for gate_id, pid, started, result in carried:
            if process_alive(pid, started):
                continue
            ended = {**json.loads(result or "{}"), "error": GATE_INTERRUPTED}
            with self.transaction() as db:
                db.execute("UPDATE gates SET state = 'failed', result = ? WHERE id = ? AND state = 'carrying_out' "
                           "AND carrier_pid IS ?", (json.dumps(ended), gate_id, pid))

    def supersede_gates(self, workspace: str, newer: int) -> list[int]:
        """Every open (pending or failed) gate of ``workspace`` older than gate ``newer`` is superseded by it."""
        with self.transaction() as db:
            ids = [r[0] for r in db.execute(
                "SELECT id FROM gates WHERE workspace = ? AND id < ? AND state IN ('pending', 'failed')",
                (workspace, newer))]
            db.executemany("UPDATE gates SET state = 'superseded', reason = ?, decided_by = 'podium', "
                           "decided_at = ? WHERE id = ?",
                           [(f"superseded by gate {newer}", time.time(), i) for i in ids])
        return ids

    # -- events -----------------------------------------------------------
    def add_events(self, job_id: int, events: Iterable[tuple[str, dict[str, Any]]], **job_values: Any) -> None:
        """Append events to a job and update its row in the same transaction."""
        events = list(events)
        now = time.time()
        with self.transaction() as db:
            start = db.execute("SELECT event_count FROM jobs WHERE id = ?", (job_id,)).fetchone()[0]
            db.executemany(
                "INSERT INTO events (job_id, seq, ts, kind, data) VALUES (?, ?, ?, ?, ?)",
                [(job_id, start + i + 1, now, kind, json.dumps(self.redact.data(data)))
                 for i, (kind, data) in enumerate(events)],
            )
            values = dict(job_values, event_count=start + len(events))
            sets = ", ".join(f"{k} = ?" for k in values)
            db.execute(f"UPDATE jobs SET {sets} WHERE id = ?",
                       [*(self._encode(k, v) for k, v in values.items()), job_id])

    def events(self, job_id: int, *, after: int = 0, kinds: Iterable[str] | None = None) -> list[EventRow]:
        sql, args = "SELECT * FROM events WHERE job_id = ? AND seq > ?", [job_id, after]
        if kinds is not None:
            kinds = tuple(kinds)
            sql += f" AND kind IN ({', '.join('?' for _ in kinds)})"
            args.extend(kinds)
        sql += " ORDER BY seq"
        return [
            EventRow(r["job_id"], r["seq"], r["ts"], r["kind"], json.loads(r["data"]))
            for r in self.db.execute(sql, args)
        ]

    # -- sessions ---------------------------------------------------------
    def record_session(self, session_id: str, agent: str, workspace: str | None, job_id: int) -> None:
        with self.transaction() as db:
            db.execute(
                "INSERT OR IGNORE INTO sessions (id, agent, workspace, first_job, created_at) VALUES (?, ?, ?, ?, ?)",
                (session_id, agent, workspace, job_id, time.time()),
            )

    # -- works ------------------------------------------------------------
    def create_work(self, **values: Any) -> WorkRecord:
        values.setdefault("created_at", time.time())
        values.setdefault("updated_at", values["created_at"])
        with self.transaction() as db:
            cur = db.execute(f"INSERT INTO works ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})",
                             tuple(values.values()))
        assert cur.lastrowid is not None
        return self.work(cur.lastrowid)

    def work(self, work_id: int) -> WorkRecord:
        row = self.db.execute("SELECT * FROM works WHERE id = ?", (work_id,)).fetchone()
        if row is None:
            raise KeyError(work_id)
        return WorkRecord(**dict(row))

    def works(self) -> list[WorkRecord]:
        """Every work, newest first."""
        return [WorkRecord(**dict(r)) for r in self.db.execute("SELECT * FROM works ORDER BY id DESC")]

    def update_work(self, work_id: int, **values: Any) -> None:
        values["updated_at"] = time.time()
        with self.transaction() as db:
            db.execute(f"UPDATE works SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?",
                       (*values.values(), work_id))

    def add_round(self, work_id: int, limit: int) -> bool:
        """Count one more worker round for the work, unless ``limit`` rounds were already used."""
        with self.transaction() as db:
            cur = db.execute("UPDATE works SET rounds = rounds + 1, updated_at = ? WHERE id = ? AND rounds < ?",
                             (time.time(), work_id, limit))
        return cur.rowcount == 1

    # -- screenshots ------------------------------------------------------
    def add_screenshot(self, shot: Screenshot) -> Screenshot:
        values = {k: v for k, v in dataclass_values(shot).items() if k != "id"}
        with self.transaction() as db:
            cur = db.execute(f"INSERT INTO screenshots ({', '.join(values)}) VALUES ({', '.join('?' for _ in values)})",
                             tuple(values.values()))
        return Screenshot(**{**values, "id": cur.lastrowid})

    def screenshots(self, branch: str) -> list[Screenshot]:
        """The branch's recorded screenshots, in the order they were taken."""
        rows = self.db.execute("SELECT * FROM screenshots WHERE branch = ? ORDER BY number, id", (branch,))
        return [Screenshot(**dict(r)) for r in rows]

    def others_screenshots(self, branch: str) -> set[str]:
        """The files recorded as screenshots of any other branch (``feature-x-2-1-home.png`` is feature/x-2's, not
        feature/x's second)."""
        return {r[0] for r in self.db.execute("SELECT path FROM screenshots WHERE branch != ?", (branch,))}

    def log_path(self, job_id: int, suffix: str = "log") -> Path:
        return self.logs / f"{job_id}.{suffix}"


@dataclass
class WorkRecord:
    """``podium work``: a ticket, its workspace, the orchestrator job driving it, and how far it got."""

    id: int
    ticket: str
    workspace: str
    branch: str
    state: str  # running, waiting (for the human's approval), done, stopped, interrupted
    agent: str
    max_rounds: int
    stall_after: float
    created_at: float
    updated_at: float
    rounds: int = 0
    orchestrator_job: int | None = None
    outcome: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclass_values(self)


@dataclass
class Screenshot:
    """A screenshot taken for a branch: ``<branch with / as ->-<number>-<label>.png``."""

    branch: str
    number: int
    label: str
    path: str
    url: str
    created_at: float
    workspace: str | None = None
    job_id: int | None = None
    id: int | None = None


def dataclass_values(record: Any) -> dict[str, Any]:
    return {f.name: getattr(record, f.name) for f in fields(record)}



