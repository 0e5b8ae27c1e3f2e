"""``podium mcp`` through the MCP SDK's own client: every tool, called on a real repository with the real
codex (worker) and claude (tester) CLIs against the scripted model, a GitHub test server as tracker and forge."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from mcp import Client, types
from mcp.client.stdio import StdioServerParameters

from conftest import Env, git, toolchain
from podium.service import mcp_operations
from servers.github import GitHubServer
from test_ship import github  # noqa: F401  (the fixture)

TOOLS = [op.name for op in mcp_operations()]


def _data(result: Any) -> Any:
    assert not result.is_error, result.content
    structured = result.structured_content
    if isinstance(structured, dict) and set(structured) == {"result"}:
        return structured["result"]
    return structured if structured is not None else json.loads(result.content[0].text)


def _error(result: Any) -> str:
    assert result.is_error
    return " ".join(getattr(c, "text", "") for c in result.content)


def _with_client(env: Env, body: Callable[[Client], Awaitable[None]], *args: str,
                 human: Callable[..., Awaitable[Any]] | None = None) -> None:
    """An SDK client session on ``podium mcp``; with ``human``, one whose forms (elicitation) ``human`` answers."""
    params = StdioServerParameters(command=sys.executable, args=["-m", "podium", "mcp", *args], env=env.vars,
                                   cwd=str(env.repo))

    async def main() -> None:
        if human is None:
            async with Client(params, read_timeout_seconds=180) as client:
                await body(client)
        else:
            async with Client(params, mode="legacy", read_timeout_seconds=180, elicitation_callback=human) as client:
                await body(client)

    asyncio.run(main())


SCENARIO = {"scripts": [
    {"name": "worker", "match": "WORKER:", "steps": [
        {"write": {"path": "total.py", "content": "def total(x, d):\n    return x - d\n"}},
        "Fixed the total: it subtracts the discount.",
        {"hang": True}]},
    {"name": "tester", "match": "TESTER:", "steps": [
        {"shell": "cat total.py"}, "total.py subtracts the discount; nothing else to test."]},
]}


def test_every_tool_through_the_sdk_client(env: Env, github: GitHubServer) -> None:  # noqa: F811
    toolchain("chromium", "chromium-browser", "google-chrome")
    env.serve(SCENARIO)
    page = env.root / "cart.html"
    page.write_text("<title>Cart</title><body style='background:#00c'>Total: 90</body>")
    seen: dict[str, Any] = {}

    async def orchestrate(client: Client) -> None:
        tools = (await client.list_tools()).tools
        assert sorted(t.name for t in tools) == sorted(TOOLS)
        assert all(t.description for t in tools)

        async def call(name: str, **arguments: Any) -> Any:
            return await client.call_tool(name, arguments)

        name = _data(await call("branch_name", title="Checkout total ignores discounts", ticket="12", kind="bug"))
        assert "12" in name["name"] and "checkout" in name["name"]

        started = _data(await call("ticket_start", ticket_id="12"))
        assert started["ticket"]["id"] == "12" and started["created"] is True
        branch = started["branch"]

        job = _data(await call("delegate", prompt="WORKER: the checkout total ignores coupons", ticket="12"))
        assert job["branch"] == branch and job["agent"] == "codex"
        assert job["id"] in [r["id"] for r in _data(await call("status"))]
        waited = _data(await call("wait", job_ids=[job["id"]], timeout=120))
        assert waited["timed_out"] is False
        assert waited["jobs"][0]["state"] == "done"
        assert [f["path"] for f in waited["jobs"][0]["files"]] == ["total.py"]
        summary = _data(await call("logs", job_id=job["id"]))
        assert summary["final"] == "Fixed the total: it subtracts the discount."
        assert "runner_pid" not in summary  # the summary, not the job's whole record
        events = _data(await call("logs", job_id=job["id"], summary=False, tail=3))["events"]
        assert 0 < len(events) <= 3

        again = _data(await call("resume", job_id=job["id"], message="WORKER: one more thing"))
        assert again["id"] != job["id"]
        cancelled = _data(await call("cancel", job_id=again["id"]))
        assert cancelled["state"] == "cancelled"

        turn = _data(await call("test", branch=branch, message="TESTER: check total.py"))
        assert turn["role"] == "tester" and turn["resumed"] is False
        tested = _data(await call("wait", job_ids=[turn["id"]], timeout=120))["jobs"][0]
        assert tested["final"] == "total.py subtracts the discount; nothing else to test."

        shot = _data(await call("screenshot", url=page.as_uri(), label="cart total", branch=branch))
        assert Path(shot["path"]).name == f"{branch.replace('/', '-')}-1-cart-total.png"
        assert shot["title"] == "Cart"

        (Path(job["workspace"]) / "NOTES.md").write_text("coupon rule: see total.py\n")  # no job wrote it
        pending = _data(await call("commit", target=branch, include=["NOTES.md"], ticket="12"))
        assert pending["state"] == "pending" and any("total.py" in line for line in pending["gate"]["shown"])
        assert "    NOTES.md  +1 -0" in pending["gate"]["shown"]  # included, for the human to see
        assert pending["next"].startswith(f"gate {pending['gate']['id']} waits for a human")
        listed = _data(await call("gates"))
        assert [g["id"] for g in listed] == [pending["gate"]["id"]]
        assert "approve is the human's" in _error(await call("approve", gate_id=pending["gate"]["id"]))
        rejected = _data(await call("reject", gate_id=pending["gate"]["id"], why="Name the coupon rule"))
        assert rejected["state"] == "rejected"

        shipping = _data(await call("ship", target=branch, message="Subtract coupons from the checkout total",
                                    exclude=["NOTES.md"]))
        assert shipping["state"] == "pending"
        assert [ln.strip() for ln in shipping["gate"]["shown"] if "NOTES.md" in ln] == [
            "left out NOTES.md: excluded by you (--include to add it back)"]
        assert any(line.startswith("  pull request (github)") for line in shipping["gate"]["shown"])
        seen["gate"] = shipping["gate"]["id"]
        seen["branch"] = branch

    _with_client(env, orchestrate)
    assert not github.pulls  # nothing reached the forge without the human
    assert git("ls-remote", "origin", f"refs/heads/{seen['branch']}", cwd=env.repo) == ""

    async def human(context: Any, params: Any) -> Any:  # the form the client shows its human, who says yes
        seen["form"] = params.message
        return types.ElicitResult(action="accept", content={"decision": "approve"})

    async def human_says_yes(client: Client) -> None:  # podium chat: the model asks, the human answers the form
        approved = _data(await client.call_tool("approve", {"gate_id": seen["gate"]}))
        assert approved["state"] == "done" and approved["asked"] == "accept"
        assert approved["result"]["pr"].startswith("https://github.com/acme/shop/pull/")
        assert approved["gate"]["decided_by"].endswith("(elicitation)")  # the channel the human approved through
        seen["pushed"] = approved["result"]["pushed"]

    _with_client(env, human_says_yes, human=human)
    assert "Subtract coupons from the checkout total" in seen["form"]
    [pull] = github.pulls.values()
    assert pull.title == "Subtract coupons from the checkout total" and "Closes #12" in pull.body
    assert "cart-total.png" in pull.body
    assert git("ls-remote", "origin", f"refs/heads/{seen['branch']}", cwd=env.repo).split("\t")[0] == seen["pushed"]
    assert git("show", "--name-only", "--format=", seen["pushed"], cwd=env.repo) == "total.py"  # NOTES.md left out


def test_chat_starts_claude_with_the_orchestrator_role_and_podiums_tools(env: Env) -> None:
    env.serve({"steps": [
        {"text": "Checking.", "tool": {"name": "mcp__podium__status", "input": {}}},
        {"tool": {"name": "mcp__podium__approve", "input": {"gate_id": 1}}},
        "Nothing is running, and approving is yours.",
    ]})
    (env.repo / "podium.toml").write_text('[roles.orchestrator]\nmodel = "opus"\neffort = "high"\n')
    out = env.podium("chat", "--", "-p", "What is running?", "--output-format", "json", timeout=180)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["result"] == "Nothing is running, and approving is yours."
    assert "podium chat: claude with ORCHESTRATOR.md" in out.stderr
    first, second, third = [r["body"] for r in env.requests() if not r["aux"]][:3]
    assert "opus" in first["model"] and first["output_config"] == {"effort": "high"}  # the orchestrator's role
    # the CLI's own request: podium's tools registered, the role in the system prompt
    offered = json.dumps(first)  # claude lists MCP tools as deferred ones (loaded through its ToolSearch)
    assert all(f"mcp__podium__{t}" in offered for t in TOOLS)
    system = json.dumps(first["system"])
    assert "# Orchestrator" in system and "## The loop for a ticket" in system and "mcp__podium" not in system
    assert "`ship(target?, message?, regenerate?, include?, exclude?)`" in system
    assert "`resume(message, job_id?, queue?)`" in system
    # status ran through podium's server; approve was not pre-allowed, so headless claude refused it
    [status_result] = [b for b in second["messages"][-1]["content"] if b.get("type") == "tool_result"]
    assert json.loads(status_result["content"]) == {"result": []}  # no jobs yet, from podium's own store
    [refused] = [b for b in third["messages"][-1]["content"] if b.get("type") == "tool_result"]
    assert refused.get("is_error") and "permissions to use mcp__podium__approve" in refused["content"]
    role = env.repo / ".podium" / "roles" / "ORCHESTRATOR.md"
    assert role.read_text().startswith("# Orchestrator")


def test_a_long_prompt_through_mcp_reaches_the_model_whole(env: Env) -> None:
    env.serve({"steps": ["Read it all."]})
    prompt = "Summarise this log.\n" + "a line of the log that goes on and on\n" * 16_000 + "END-OF-THE-PROMPT"
    assert len(prompt) > 600_000  # far over what one argument of a command line may hold (128 KiB)

    async def body(client: Client) -> None:
        job = _data(await client.call_tool("delegate", {"prompt": prompt}))
        waited = _data(await client.call_tool("wait", {"job_ids": [job["id"]], "timeout": 120}))
        assert waited["jobs"][0]["state"] in ("done", "no_changes"), waited

    _with_client(env, body)
    assert "END-OF-THE-PROMPT" in json.dumps([r.get("body") for r in env.requests()])
