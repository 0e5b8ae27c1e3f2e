"""codex, gemini, qwen, opencode and kilo as the orchestrator: podium chat and podium work with the real CLIs against
the scripted model — the role and podium's tools wired in each CLI's own way, reading only enforced by the CLI
itself."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import Env, assert_one_line_error, git
from servers.github import GitHubServer
from test_live_browser import CODEX_CATALOG
from test_ship import github  # noqa: F401  (the fixture)
from test_work import GOOD, PYTEST, _repo_with_tests, _work

ROLE_MARK = "## The loop for a ticket"  # a heading of the generated ORCHESTRATOR.md


def _codex_searches_tools(env: Env) -> None:
    """codex as OpenAI's own models run it: MCP tools found through its tool_search (as the tester's are)."""
    catalog = env.root / "codex-models.json"
    catalog.write_text(json.dumps(CODEX_CATALOG))
    with (env.repo / "podium.toml").open("a") as f:
        f.write(f"[agents.codex]\nargs = ['-c', 'model_catalog_json=\"{catalog}\"']\n")


def _codex(name: str, **arguments: Any) -> dict[str, Any]:
    return {"tool": {"name": f"mcp__podium__{name}", "input": arguments}}


def _gemini(name: str, **arguments: Any) -> dict[str, Any]:
    return {"tool": {"name": f"mcp_podium_{name}", "input": arguments}}


def _opencode(name: str, **arguments: Any) -> dict[str, Any]:
    return {"tool": {"name": f"podium_{name}", "input": arguments}}


def _qwen(name: str, **arguments: Any) -> dict[str, Any]:
    return {"tool": {"name": f"mcp__podium__{name}", "input": arguments}}


SEARCH = {"tool": {"name": "tool_search", "input": {"query": "podium", "limit": 40}}}


def _outputs(env: Env) -> str:
    """What codex sent back of its tool calls in its last request."""
    return json.dumps([i for i in env.requests()[-1]["body"]["input"] if i.get("type") == "function_call_output"])


def test_chat_with_codex_wires_the_role_and_podiums_tools(env: Env) -> None:
    _codex_searches_tools(env)
    env.serve({"steps": [SEARCH, {"text": "Checking.", **_codex("status")}, _codex("approve", gate_id=1),
                         "Nothing is running, and approving is yours."]})
    out = env.podium("chat", "--agent", "codex", "--", "exec", "--json", "What is running?", timeout=180)
    assert out.returncode == 0, out.stderr
    assert "podium chat: codex with ORCHESTRATOR.md" in out.stderr
    assert '"text":"Nothing is running, and approving is yours."' in out.stdout
    first = env.requests()[0]["body"]
    developer = [i for i in first["input"] if i.get("role") == "developer"]
    assert ROLE_MARK in json.dumps(developer)  # codex's own place for added instructions
    outputs = _outputs(env)
    assert '{\\"result\\":[]}' in outputs  # status ran through podium's server: no jobs yet
    # approve is not pre-allowed: headless codex refuses it (interactive codex asks the human first)
    assert "requires approval" in outputs


def test_chat_with_gemini_wires_the_role_and_podiums_tools(env: Env) -> None:
    env.serve({"steps": [{"text": "Checking.", **_gemini("status")}, "Nothing is running."]})
    out = env.podium("chat", "--agent", "gemini", "--", "-p", "What is running?", "-o", "json", timeout=180)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["response"] == "Nothing is running."
    requests = [r["body"] for r in env.requests() if not r["aux"]]
    offered = [f["name"] for t in requests[0]["tools"] for f in t["functionDeclarations"]]
    assert {"mcp_podium_delegate", "mcp_podium_status", "mcp_podium_ship"} <= set(offered)
    assert "mcp_podium_approve" not in offered  # it needs the human's confirmation: headless gemini hides it
    assert ROLE_MARK in json.dumps(requests[0]["contents"])  # the role, as gemini's own context file
    [answer] = [p["functionResponse"] for c in requests[1]["contents"] for p in c["parts"] if "functionResponse" in p]
    output = answer["response"]["output"]  # gemini marks what a tool returned as untrusted, then the JSON
    assert json.loads(output.removeprefix("<untrusted_context>").removesuffix("</untrusted_context>")) == []
    assert git("status", "--porcelain", cwd=env.repo) == ""  # podium's folder for gemini is elsewhere


@pytest.mark.parametrize("agent", ["opencode", "kilo"])
def test_chat_with_opencode_wires_the_role_and_podiums_tools(env: Env, agent: str) -> None:
    env.serve({"steps": [{"text": "Checking.", **_opencode("status")}, _opencode("approve", gate_id=1),
                         "Nothing is running, and approving is yours."]})
    out = env.podium("chat", "--agent", agent, "--", "run", "--format", "json", "What is running?", timeout=180)
    assert out.returncode == (1 if agent == "kilo" else 0), out.stderr  # kilo's run fails for what it refused
    assert f"podium chat: {agent} with ORCHESTRATOR.md" in out.stderr
    requests = [r["body"] for r in env.requests() if r["body"].get("tools")]
    offered = {t["function"]["name"] for t in requests[0]["tools"]}
    assert {"podium_delegate", "podium_status", "podium_ship", "bash", "edit"} <= offered  # the human is there
    assert ROLE_MARK in json.dumps(requests[0]["messages"])  # the role, as the CLI's own instructions
    [answer] = [m for m in requests[-1]["messages"] if m["role"] == "tool"]
    assert answer["content"] == "[]"  # status ran through podium's server: no jobs yet
    # approve is not pre-allowed: the CLI asks, and run, with no one to ask, refuses it (its terminal UI asks you)
    assert "permission requested: podium_approve" in out.stderr and "auto-rejecting" in out.stderr
    assert git("status", "--porcelain", cwd=env.repo) == ""  # podium's files for the CLI are elsewhere


def test_chat_with_qwen_wires_the_role_and_podiums_tools(env: Env) -> None:
    env.serve({"steps": [{"text": "Checking.", **_qwen("status")}, _qwen("approve", gate_id=1),
                         "Nothing is running, and approving is yours."]})
    out = env.podium("chat", "--agent", "qwen", "--", "-p", "What is running?", "-o", "json", timeout=180)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)[-1]["result"] == "Nothing is running, and approving is yours."
    requests = [r["body"] for r in env.requests() if r["body"].get("tools")]
    assert ROLE_MARK in json.dumps(requests[0]["messages"])  # the role, appended to qwen's system prompt
    answers = [m["content"] for m in requests[-1]["messages"] if m["role"] == "tool"]
    assert answers[0] == [{"type": "text", "text": "[]"}]  # status ran through podium's server: no jobs yet
    # approve is not pre-allowed: headless qwen declines it (at its terminal, it would ask you)
    assert "permission was declined" in json.dumps(answers[1])


def _work_to_the_gate(env: Env, github: GitHubServer, agent: str, tool: Any, *first: Any) -> None:  # noqa: F811
    _repo_with_tests(env)
    env.serve({"scripts": [
        {"name": "orchestrator", "match": "podium work: take ticket", "steps": [
            *first,
            {"shell": "touch orchestrator-was-here"},  # refused by the CLI itself: the orchestrator only reads
            tool("delegate", prompt="WORKER: the checkout total ignores the coupon; see the ticket"),
            tool("wait"),
            tool("test", message="TESTER: the worker changed total.py; run the suite"),
            tool("wait"),
            tool("ship"),
            "Shipped to the gate: total subtracts the coupon and the suite passes."]},
        {"name": "worker", "match": "WORKER:", "steps": [{"write": {"path": "total.py", "content": GOOD}},
                                                         "total() subtracts the coupon now."]},
        {"name": "tester", "match": "TESTER:", "steps": [{"shell": PYTEST}, "The suite passes: 1 test."]},
    ]})
    out = _work(env, "12", "--agent", agent)
    assert out.returncode == 0, out.stdout + out.stderr
    for line in ("orchestrator → delegate", "orchestrator → wait", "orchestrator → test", "orchestrator → ship",
                 "job 2 worker (codex) done: 1 file", "job 3 tester (claude) done: tests passed (pytest: 1 passed)",
                 "gate 1 (commit + push + pr) pending"):
        assert line in out.stderr, out.stderr
    assert "  orchestrator: Shipped to the gate: total subtracts the coupon and the suite passes." in out.stdout
    assert not (env.repo / "orchestrator-was-here").exists()
    assert git("status", "--porcelain", cwd=env.repo) == "?? podium.toml"
    orchestrator = env.podium_json("status", "1")[0]
    assert orchestrator["agent"] == agent and orchestrator["state"] == "done" and orchestrator["session_id"]
    assert not github.pulls
    approved = env.approved_json("approve", "1")
    assert approved["result"]["pr"].startswith("https://github.com/acme/shop/pull/")


def test_work_with_codex_as_the_orchestrator(env: Env, github: GitHubServer) -> None:  # noqa: F811
    _codex_searches_tools(env)
    _work_to_the_gate(env, github, "codex", _codex, SEARCH)
    commands = [r for r in env.requests() if "orchestrator-was-here" in json.dumps(r["body"].get("input"))]
    refused = json.dumps(commands[-1]["body"]["input"])
    assert "Read-only file system" in refused or "Permission denied" in refused  # codex's own sandbox said no


def test_work_with_gemini_as_the_orchestrator(env: Env, github: GitHubServer) -> None:  # noqa: F811
    _work_to_the_gate(env, github, "gemini", _gemini)
    [refused] = [e["data"] for e in env.podium_json("logs", "1")["events"] if e["kind"] == "command"]
    assert 'Tool "run_shell_command" not found' in refused["output"]  # excluded by the folder's settings
    folders = list((Path(env.vars["HOME"]) / ".local" / "state" / "podium" / "gemini").iterdir())
    [settings] = [json.loads((f / ".gemini" / "settings.json").read_text()) for f in folders
                  if "--work" in json.dumps(json.loads((f / ".gemini" / "settings.json").read_text()))]
    assert settings["tools"]["exclude"] == ["run_shell_command", "write_file", "replace", "edit"]
    assert "mcp_podium_approve" not in settings["tools"]["allowed"]


@pytest.mark.parametrize("agent", ["opencode", "kilo"])
def test_work_with_opencode_as_the_orchestrator(env: Env, github: GitHubServer, agent: str) -> None:  # noqa: F811
    _work_to_the_gate(env, github, agent, _opencode)
    asked = [r["body"] for r in env.requests() if "podium work: take ticket" in json.dumps(r["body"])
             and r["body"].get("tools")]
    offered = {t["function"]["name"] for t in asked[0]["tools"]}
    assert {"podium_delegate", "podium_wait", "podium_test", "podium_ship"} <= offered
    assert not offered & {"bash", "edit", "write", "task", "background_process"}  # reading only: not shown them
    # its try at a command: refused by the CLI itself (the model was not offered one)
    events = env.podium_json("logs", "1")["events"]
    assert any("Model tried to call unavailable tool 'bash'" in json.dumps(e["data"]) for e in events)


def test_work_with_qwen_as_the_orchestrator(env: Env, github: GitHubServer) -> None:  # noqa: F811
    _work_to_the_gate(env, github, "qwen", _qwen)
    asked = [r["body"] for r in env.requests() if "podium work: take ticket" in json.dumps(r["body"])
             and r["body"].get("tools")]
    offered = {t["function"]["name"] for t in asked[0]["tools"]}
    assert not offered & {"run_shell_command", "write_file", "edit"}  # reading only: the model is not shown them
    events = env.podium_json("logs", "1")["events"]
    assert any("touch orchestrator-was-here" in json.dumps(e["data"]) for e in events)  # tried, and refused


def test_an_orchestrator_that_could_write_is_refused_in_one_line(env: Env) -> None:
    env.serve({"steps": ["Never asked."]})
    (env.repo / "podium.toml").write_text('[agents.codex]\nargs = ["--sandbox", "workspace-write"]\n')
    assert_one_line_error(env.podium("work", "12", "--agent", "codex"), "--sandbox workspace-write",
                          "--sandbox read-only")
    (env.repo / "podium.toml").write_text('[agents.gemini]\nargs = ["--yolo"]\n')
    assert_one_line_error(env.podium("work", "12", "--agent", "gemini"), "--approval-mode yolo",
                          "--approval-mode default")
    (env.repo / "podium.toml").write_text('[agents.qwen]\nargs = ["--approval-mode", "yolo"]\n')
    assert_one_line_error(env.podium("work", "12", "--agent", "qwen"), "--approval-mode yolo",
                          "--approval-mode default")
    assert_one_line_error(env.podium("chat", "--agent", "pi"), "cannot be the orchestrator")
