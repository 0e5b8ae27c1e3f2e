"""The store: migrations and many writers at once (a burst of runners)."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path
from typing import Any

from podium.store import MIGRATIONS, Store


def _writer(root: str, job_id: int, n: int) -> None:
    store = Store(Path(root))
    for i in range(n):
        store.add_events(job_id, [("message", {"text": f"line {i}"})], last_activity_at=float(i))
    store.close()


def test_schema_version_and_reopen(tmp_path: Path) -> None:
    store = Store(tmp_path)
    job = store.create_job(agent="codex", prompt="p", state="starting", stall_after=60)
    store.close()
    again = Store(tmp_path)
    assert again.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert again.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert again.job(job.id).prompt == "p"


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path)
    ids = [store.create_job(agent="codex", prompt=f"job {i}", state="running", stall_after=60).id for i in range(8)]
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), job_id, 150)) for job_id in ids]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    for job_id in ids:
        events = store.events(job_id)
        assert [e.seq for e in events] == list(range(1, 151))
        assert store.job(job_id).event_count == 150
    assert sqlite3.connect(tmp_path / "state.db").execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_store_from_an_older_podium_is_migrated_in_place(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "state.db")
    db.executescript(MIGRATIONS[0] + "; PRAGMA user_version = 1;")
    db.execute(
        "INSERT INTO jobs (agent, prompt, state, created_at, stall_after) VALUES ('codex', 'old', 'done', 1, 60)"
    )
    for created in (2, 3):  # two rounds in one workspace, from before workspaces had records of their own
        db.execute("INSERT INTO jobs (agent, prompt, state, created_at, stall_after, workspace, branch, base_ref,"
                   " base_sha) VALUES ('codex', 'round', 'done', ?, 60, '/w/fix-it', 'fix-it', 'origin/main', 'abc')",
                   (created,))
    db.commit()
    db.close()
    store = Store(tmp_path)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    job = store.job(1)
    assert job.prompt == "old" and job.start_tree is None
    store.update_job(1, start_tree="abc")
    assert store.job(1).start_tree == "abc"
    [ws] = store.workspaces()
    assert (ws.path, ws.branch, ws.base_ref, ws.base_sha, ws.created_at) == ("/w/fix-it", "fix-it", "origin/main",
                                                                             "abc", 2)
    assert [j.id for j in store.jobs_in("/w/fix-it")] == [2, 3]


def test_a_resumed_stream_reporting_another_session_id_keeps_the_first(tmp_path: Path) -> None:
    """claude-code #58760: a resumed run's stream may carry a throwaway id; podium resumes the first one."""
    from podium.agents import Event
    from podium.runner import Runner

    store = Store(tmp_path)
    first = store.create_job(agent="claude", prompt="p", state="running", stall_after=60)
    runner = Runner(store, first)
    runner._record([Event("session", {"id": "first-id"})])
    assert store.job(first.id).session_id == "first-id"

    resumed = store.create_job(agent="claude", prompt="more", state="running", stall_after=60,
                               session_id="first-id", parent_id=first.id)
    runner = Runner(store, resumed)
    runner._record([Event("session", {"id": "throwaway-id"}), Event("message", {"text": "hi"})])
    assert store.job(resumed.id).session_id == "first-id"
    kinds = [(e.kind, e.data.get("message", "")) for e in store.events(resumed.id)]
    assert kinds[0] == ("note", "agent reported session throwaway-id; keeping first-id")
    assert [k for k, _ in kinds] == ["note", "message"]


def _open_and_write(root: str, results: Any) -> None:
    try:
        Store(Path(root)).create_job(agent="codex", prompt="p", state="done", stall_after=60)
        results.put("ok")
    except Exception as e:
        results.put(repr(e))


def test_many_processes_opening_a_new_store_at_once(tmp_path: Path) -> None:
    """The first podium commands in a repo may run at once (a burst of delegations): none may fail."""
    ctx = multiprocessing.get_context("fork")
    for round_ in range(30):
        root = tmp_path / f"store-{round_}"
        results = ctx.Queue()
        procs = [ctx.Process(target=_open_and_write, args=(str(root), results)) for _ in range(8)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        outcomes = [results.get(timeout=10) for _ in procs]
        assert outcomes == ["ok"] * 8, outcomes
        assert len(Store(root).jobs()) == 8


def test_the_status_table_reads_the_same_rows_as_the_json_document(tmp_path: Path) -> None:
    """``status_table`` (the table's columns as tuples) and ``status_json`` (the document) agree on every row."""
    import json

    from podium.store import TABLE_FIELDS

    store = Store(tmp_path)
    tests = {"passed": False, "counts": {"failed": 1, "passed": 9}}
    for i in range(5):
        job = store.create_job(agent="codex", prompt=f"task {i}\nmore", state="running" if i % 2 else "failed",
                               role="tester" if i == 3 else "worker", base_ref="origin/main", base_sha=f"{i}" * 40,
                               stall_after=600)
        store.update_job(job.id, branch=f"b{i}", error="boom" if i % 2 == 0 else None, last_activity_at=1.0,
                         work={"files": [{"path": "a"}] * i, "commits": [], "tests": tests if i == 3 else None})
    behind = [("origin/main", "1" * 40, 4)]
    document = json.loads(store.status_json(behind=behind))
    table = store.status_table(behind=behind)
    assert [r["id"] for r in table] == [r["id"] for r in document] == [5, 4, 3, 2, 1]
    for got, want in zip(table, document, strict=True):
        got = dict(got, tests=json.loads(got["tests"]) if got["tests"] else None)
        assert got == {k: want[k] for k in TABLE_FIELDS} | {"age": got["age"], "silent_for": got["silent_for"]}
        assert abs(got["age"] - want["age"]) < 1
    assert [r["behind_base"] for r in table] == [None, None, None, 4, None]  # job 2 started from that commit
    assert document[1]["tests"] == tests and document[1]["silent_for"] > 0 and document[0]["silent_for"] is None
