"""Every front is the same service: each MCP operation of the catalog, called through ``podium <command> --json``
and through the MCP tool, returns the same document (generated from the catalog: an operation without a case
here fails the suite). Real git, real agent CLIs against the scripted model, a local tracker."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client, types
from mcp.client.stdio import StdioServerParameters

from conftest import Env, make_env, tidy, toolchain
from podium.service import mcp_operations

VOLATILE = {"age", "silent_for", "created_at", "updated_at", "decided_at", "started_at", "ended_at", "ts", "line",
            "duration", "id", "gate", "parent", "session_id", "resumed", "notes", "events", "workspace", "branch",
            "path", "number", "bytes", "shown", "snapshot_tree", "tree", "facts", "stale_base", "commit_sha",
            "runner_pid", "agent_pid", "prompt", "files_changed", "commits", "exit_code", "work", "tests", "result",
            "reason", "decided_by", "committed", "files", "left_out", "next", "usage", "final", "message", "paths",
            "author_date", "pushed_sha"}
SCENARIO = {"scripts": [
    {"name": "worker", "match": "WORKER:", "steps": [
        {"write": {"path": "total.py", "content": "def total(x, d):\n    return x - d\n"}}, "Subtracted it."]},
    {"name": "tester", "match": "TESTER:", "steps": [{"shell": "cat total.py"}, "total.py is fine."]},
]}
TICKET = "---\ntitle: Checkout total ignores coupons\ntype: bug\nstate: New\nassignee:\n---\nCoupons are ignored.\n"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, agent_bin: Path) -> Iterator[Env]:
    env = make_env(tmp_path_factory.mktemp("fronts"), agent_bin)
    (env.repo / "tickets").mkdir()
    (env.repo / "tickets" / "PROJ-1.md").write_text(TICKET)
    (env.repo / "podium.toml").write_text('[agents.command]\ncommand = "sh -c {prompt}"\n')
    env.serve(SCENARIO)
    yield env
    tidy(env)


def mcp(env: Env, name: str, human_approves: bool = False, **arguments: Any) -> tuple[bool, Any]:
    """One tool call through the SDK's own client: (is_error, the document or the error text). With
    ``human_approves``, the client shows its human podium's forms (elicitation) and the human approves."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "podium", "mcp"], env=env.vars,
                                   cwd=str(env.repo))

    async def human(context: Any, params: Any) -> Any:
        return types.ElicitResult(action="accept", content={"decision": "approve"})

    async def call() -> Any:
        if human_approves:
            async with Client(params, mode="legacy", read_timeout_seconds=180, elicitation_callback=human) as c:
                return await c.call_tool(name, arguments)
        async with Client(params, read_timeout_seconds=180) as client:
            return await client.call_tool(name, arguments)

    result = asyncio.run(call())
    if result.is_error:  # the SDK frames a tool's error with its name; the words are podium's
        text = " ".join(getattr(c, "text", "") for c in result.content)
        return True, text.removeprefix(f"Error executing tool {name}: ")
    return False, result.structured_content["result"]


def cli(env: Env, *args: str, tty: bool = False) -> tuple[bool, Any]:
    """``podium ARGS --json``: (is_error, the document or the one-line error)."""
    proc = env.podium_tty(*args, "--json") if tty else env.podium(*args, "--json")
    if proc.stdout.strip():
        return False, json.loads(proc.stdout)
    assert proc.returncode != 0, proc.stderr
    return True, proc.stderr.strip().removeprefix("podium: ")


def same(a: Any, b: Any, volatile: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    """The two documents are equal once the fields that differ between two calls are set aside."""
    def strip(doc: Any) -> Any:
        if isinstance(doc, dict):
            return {k: strip(v) for k, v in doc.items() if k not in volatile}
        if isinstance(doc, (list, tuple)):
            return [strip(v) for v in doc]
        return doc
    assert strip(a) == strip(b)


def shape(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Two results of calls that each did something new (a job, a gate): the same fields, the same stable values."""
    assert set(a) == set(b)
    same(a, b, VOLATILE)


def finished_job(env: Env, script: str = "echo x > x.py") -> int:
    job = env.delegate(script, "--agent", "command")
    env.podium("wait", str(job), "--timeout", "60", check=True)
    return job


def started_ticket(env: Env) -> str:
    return str(env.podium_json("ticket", "start", "PROJ-1")["branch"])


def case_delegate(env: Env) -> None:
    err, a = cli(env, "delegate", "--agent", "command", "echo a > a.py")
    _, b = mcp(env, "delegate", prompt="echo b > b.py", agent="command")
    assert not err and a["agent"] == b["agent"] == "command" and a["role"] == b["role"] == "worker"
    shape(a, b)


def case_status(env: Env) -> None:
    job = finished_job(env)
    same(cli(env, "status", str(job)), mcp(env, "status", job_ids=[job]), {"age"})
    err, rows = cli(env, "status")
    assert not err and job in [r["id"] for r in rows]


def case_logs(env: Env) -> None:
    job = finished_job(env)
    same(cli(env, "logs", str(job), "--summary"), mcp(env, "logs", job_id=job))
    err, events = cli(env, "logs", str(job), "--tail", "2")
    assert not err and len(events["events"]) == 2
    same((err, events), mcp(env, "logs", job_id=job, summary=False, tail=2))


def case_wait(env: Env) -> None:
    job = finished_job(env)
    err, a = cli(env, "wait", str(job))
    assert not err and a["jobs"][0]["state"] == "done" and a["timed_out"] is False
    same((err, a), mcp(env, "wait", job_ids=[job]))


def case_cancel(env: Env) -> None:
    jobs = [env.delegate("sleep 60", "--agent", "command") for _ in range(2)]
    err, a = cli(env, "cancel", str(jobs[0]))
    _, b = mcp(env, "cancel", job_id=jobs[1])
    assert not err and a["state"] == b["state"] == "cancelled"
    shape(a, b)
    same(cli(env, "cancel", str(jobs[0])), mcp(env, "cancel", job_id=jobs[0]))  # the same refusal, word for word


def case_resume(env: Env) -> None:
    job = env.delegate("WORKER: the total ignores coupons")
    env.podium("wait", str(job), "--timeout", "120", check=True)
    err, a = cli(env, "resume", str(job), "WORKER: and again")
    env.podium("wait", str(a["id"]), "--timeout", "120")
    _, b = mcp(env, "resume", job_id=job, message="WORKER: once more")
    assert not err and a["parent"] == b["parent"] == job and a["session_id"] == b["session_id"]
    shape(a, b)
    env.podium("wait", str(b["id"]), "--timeout", "120")
    command_job = finished_job(env)
    same(cli(env, "resume", str(command_job), "more"), mcp(env, "resume", job_id=command_job, message="more"))


def case_rerun(env: Env) -> None:
    job = finished_job(env, "echo again >> x.py")
    err, a = cli(env, "rerun", str(job))
    assert not err, a
    env.podium("wait", str(a["id"]), "--timeout", "60", check=True)
    _, b = mcp(env, "rerun", job_id=job)
    env.podium("wait", str(b["id"]), "--timeout", "60", check=True)
    assert a["parent"] == b["parent"] == job and a["workspace"] == b["workspace"] == env.job(job)["workspace"]
    shape(a, b)
    assert Path(a["workspace"], "x.py").read_text() == "again\n" * 3  # the same command, run twice more
    same(cli(env, "rerun", "42"), mcp(env, "rerun", job_id=42))


def case_test(env: Env) -> None:
    branch = started_ticket(env)
    err, a = cli(env, "test", branch, "TESTER: check total.py")
    assert not err, a
    env.podium("wait", str(a["id"]), "--timeout", "120")
    _, b = mcp(env, "test", branch=branch, message="TESTER: check it again")
    env.podium("wait", str(b["id"]), "--timeout", "120")
    assert a["role"] == b["role"] == "tester" and b["resumed"] is True
    shape(a, b)


def case_screenshot(env: Env) -> None:
    toolchain("chromium", "chromium-browser", "google-chrome")
    page = env.root / "page.html"
    page.write_text("<title>Cart</title><body>Total: 90</body>")
    err, a = cli(env, "screenshot", page.as_uri(), "--label", "cart", "--branch", "main")
    _, b = mcp(env, "screenshot", url=page.as_uri(), label="cart", branch="main")
    assert not err and a["title"] == b["title"] == "Cart" and b["number"] == a["number"] + 1
    shape(a, b)


def case_ticket_start(env: Env) -> None:
    started_ticket(env)  # the first start makes the workspace; the two starts after it both refresh
    same(cli(env, "ticket", "start", "PROJ-1"), mcp(env, "ticket_start", ticket_id="PROJ-1"), {"notes"})


def case_branch_name(env: Env) -> None:
    same(cli(env, "branch-name", "Export orders as CSV", "--ticket", "7", "--type", "feature"),
         mcp(env, "branch_name", title="Export orders as CSV", ticket="7", kind="feature"))


def _pending(env: Env, call: Callable[[], tuple[bool, Any]]) -> dict[str, Any]:
    err, doc = call()
    assert not err and doc["state"] == "pending", doc
    return dict(doc)


def case_commit(env: Env) -> None:
    job = finished_job(env, "echo c > c.py")
    a = _pending(env, lambda: cli(env, "commit", str(job)))
    b = _pending(env, lambda: mcp(env, "commit", target=str(job)))
    assert b["gate"]["id"] == a["gate"]["id"] + 1 and [f["path"] for f in a["files"]] == ["c.py"]
    shape(a, b)
    same(a["files"], b["files"])


def case_ship(env: Env) -> None:
    job = finished_job(env, "echo s > s.py")  # no forge here: both fronts refuse, in the same words
    err, a = cli(env, "ship", str(job))
    assert err and "forge" in a
    same((err, a), mcp(env, "ship", target=str(job)))


def case_sync(env: Env) -> None:
    job = finished_job(env, "echo y > y.py")
    branch = env.job(job)["branch"]
    err, a = cli(env, "sync", branch)
    assert not err and a["onto"] is None and a["commits"] == 0  # on its base as origin has it: nothing to do
    same((err, a), mcp(env, "sync", target=branch))
    same(cli(env, "sync", "no/such-branch"), mcp(env, "sync", target="no/such-branch"))


def case_gates(env: Env) -> None:
    job = finished_job(env, "echo g > g.py")
    _pending(env, lambda: cli(env, "commit", str(job)))
    same(cli(env, "gates", "--all"), mcp(env, "gates", all=True))
    same(cli(env, "gates"), mcp(env, "gates"))


def case_approve(env: Env) -> None:
    one, two = finished_job(env, "echo p > p.py"), finished_job(env, "echo q > q.py")
    first = _pending(env, lambda: cli(env, "commit", str(one)))["gate"]["id"]
    second = _pending(env, lambda: cli(env, "commit", str(two)))["gate"]["id"]
    err, a = cli(env, "approve", str(first), tty=True)
    _, b = mcp(env, "approve", human_approves=True, gate_id=second)
    assert not err and a["state"] == b["state"] == "done" and a["committed"] and b["committed"]
    assert b["gate"]["decided_by"] == f"{a['gate']['decided_by']} (elicitation)"  # the channel is recorded
    b.pop("asked")  # the form's answer: MCP's own
    shape(a, b)
    same(cli(env, "approve", str(first), tty=True), mcp(env, "approve", human_approves=True, gate_id=first))


def case_reject(env: Env) -> None:
    one, two = finished_job(env, "echo r > r.py"), finished_job(env, "echo t > t.py")
    first = _pending(env, lambda: cli(env, "commit", str(one)))["gate"]["id"]
    second = _pending(env, lambda: cli(env, "commit", str(two)))["gate"]["id"]
    err, a = cli(env, "reject", str(first), "use the helper")
    _, b = mcp(env, "reject", gate_id=second, why="use the helper")
    assert not err and a["state"] == b["state"] == "rejected" and a["gate"]["reason"] == "use the helper"
    shape(a, b)


CASES: dict[str, Callable[[Env], None]] = {name.removeprefix("case_"): fn for name, fn in globals().items()
                                           if name.startswith("case_")}


def test_each_command_is_found_where_the_cli_loads_it_from() -> None:
    """``podium X`` loads only X's module of podium.cli: every command a module defines is listed, under that
    module, and nothing else is (a command left out would be missing from podium --help and unknown)."""
    import importlib

    import click

    from podium.cli import COMMANDS

    for module in set(COMMANDS.values()):
        group = click.Group()
        importlib.import_module(f"podium.cli.{module}").register(group)
        assert sorted(group.commands) == sorted(c for c, m in COMMANDS.items() if m == module), module
    defined = {p.stem for p in (Path(__file__).parent.parent / "src" / "podium" / "cli").glob("*.py")}
    assert set(COMMANDS.values()) == defined - {"__init__", "_common", "_index"}


def test_podium_help_lists_each_command_as_its_own_help_says_it() -> None:
    """``podium --help`` reads each command's line from the index, not from the command: each line is the start of
    the command's own help, and listing them loads no command's module."""
    import subprocess
    import sys

    import click

    from podium.cli import COMMANDS, SUMMARIES, cli

    assert sorted(SUMMARIES) == sorted(COMMANDS)
    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None and command.help
        first_paragraph = " ".join(command.help.partition("\n\n")[0].split())
        assert first_paragraph.startswith(SUMMARIES[name]), name
        assert SUMMARIES[name].endswith("."), name
        assert command.get_short_help_str() == SUMMARIES[name]
    listed = subprocess.run([sys.executable, "-c", "from podium.cli import main; main(['--help'])"],
                            capture_output=True, text=True, check=True).stdout.split("Commands:")[1].splitlines()[1:]
    lines = dict(line.split(None, 1) for line in listed)
    assert sorted(lines) == sorted(COMMANDS)
    for name, line in lines.items():  # as much of the line as fits, cut at a word
        assert len(line) > 20 and SUMMARIES[name].startswith(line.removesuffix("...")), name
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys; from podium.cli import main\ntry: main(['--help'])\nexcept SystemExit: "
         "pass\nprint(sorted(m for m in sys.modules if m.startswith('podium.')))"],
        capture_output=True, text=True, check=True).stdout.splitlines()[-1]
    assert loaded == str(["podium.cli", "podium.cli._index", "podium.errors"])


def test_every_mcp_operation_has_a_case() -> None:
    assert sorted(CASES) == sorted(op.name for op in mcp_operations())


@pytest.mark.parametrize("name", [op.name for op in mcp_operations()])
def test_the_cli_and_the_mcp_tool_return_the_same_document(world: Env, name: str) -> None:
    CASES[name](world)
