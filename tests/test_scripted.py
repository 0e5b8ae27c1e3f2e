"""The scripted model server over real HTTP: shapes, steps, failures, recording."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from podium.errors import UsageError
from podium.scripted import Scenario, ScriptedModel

TOOLS_ANTHROPIC = [{"name": "Bash", "input_schema": {}}, {"name": "Write", "input_schema": {}}]
TOOLS_OPENAI = [{"type": "function", "name": "exec_command", "parameters": {}}]


def post(url: str, body: dict[str, Any], timeout: float = 10) -> tuple[int, str]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def sse(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


@pytest.fixture
def model() -> Any:
    scenario = Scenario.from_data({
        "scripts": [
            {"name": "fail", "match": "[fail]", "steps": [{"error": {"status": 429, "message": "slow down"}}]},
            {"name": "broken", "match": "[broken]", "steps": [{"malformed": True}]},
            {"name": "main", "steps": [
                {"text": "Let me look.", "shell": "ls -la"},
                {"write": {"path": "notes/a.txt", "content": "it's here\n"}},
                "Finished.",
            ]},
        ],
    })
    with ScriptedModel(scenario) as m:
        yield m


def test_anthropic_stream_follows_the_script_by_history(model: ScriptedModel) -> None:
    url = f"{model.url}/v1/messages?beta=true"
    history: list[dict[str, Any]] = [{"role": "user", "content": "Working directory: /srv/app\nplease help"}]
    status, body = post(url, {"model": "m", "stream": True, "tools": TOOLS_ANTHROPIC, "messages": history})
    assert status == 200
    events = sse(body)
    assert [e for e, _ in events][:1] == ["message_start"] and events[-1][0] == "message_stop"
    tool = next(d["content_block"] for e, d in events if e == "content_block_start" and d["content_block"]["type"]
                == "tool_use")
    assert tool["name"] == "Bash"
    args = json.loads("".join(d["delta"]["partial_json"] for e, d in events if e == "content_block_delta"
                              and d["delta"]["type"] == "input_json_delta"))
    assert args["command"] == "ls -la"
    assert next(d for e, d in events if e == "message_delta")["delta"]["stop_reason"] == "tool_use"

    history += [{"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]}]
    _, body = post(url, {"model": "m", "stream": True, "tools": TOOLS_ANTHROPIC, "messages": history})
    args = json.loads("".join(d["delta"]["partial_json"] for e, d in sse(body) if e == "content_block_delta"))
    assert args == {"file_path": "/srv/app/notes/a.txt", "content": "it's here\n"}

    history += [{"role": "assistant", "content": [{"type": "tool_use", "id": "t2", "name": "Write", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t2", "content": "ok"}]}]
    _, body = post(url, {"model": "m", "stream": False, "tools": TOOLS_ANTHROPIC, "messages": history})
    message = json.loads(body)
    assert message["content"] == [{"type": "text", "text": "Finished."}]
    assert message["stop_reason"] == "end_turn"
    assert [r["step"] for r in model.requests] == [1, 2, 3]


def test_anthropic_request_without_tools_is_an_aux_reply(model: ScriptedModel) -> None:
    _, body = post(f"{model.url}/v1/messages", {"model": "m", "messages": [{"role": "user", "content": "title?"}]})
    assert json.loads(body)["content"][0]["text"] == "ok"
    assert model.requests[-1]["aux"] is True


def test_openai_responses_stream_with_shell_and_write(model: ScriptedModel) -> None:
    url = f"{model.url}/v1/responses"
    items: list[dict[str, Any]] = [{"type": "message", "role": "user", "content": [{"type": "input_text",
                                                                                    "text": "go"}]}]
    _, body = post(url, {"model": "m", "stream": True, "tools": TOOLS_OPENAI, "input": items})
    events = sse(body)
    assert events[0][0] == "response.created" and events[-1][0] == "response.completed"
    done = [d["item"] for e, d in events if e == "response.output_item.done"]
    assert done[0]["type"] == "message" and done[0]["content"][0]["text"] == "Let me look."
    assert done[1]["name"] == "exec_command" and json.loads(done[1]["arguments"]) == {"cmd": "ls -la"}
    assert events[-1][1]["response"]["usage"]["total_tokens"] > 0

    items += [*done, {"type": "function_call_output", "call_id": done[1]["call_id"], "output": "ok"}]
    _, body = post(url, {"model": "m", "stream": True, "tools": TOOLS_OPENAI, "input": items})
    call = next(d["item"] for e, d in sse(body) if e == "response.output_item.done")
    cmd = json.loads(call["arguments"])["cmd"]
    out = subprocess.run(["bash", "-c", f"cd $(mktemp -d) && {cmd} && cat notes/a.txt"], capture_output=True,
                         text=True, check=True).stdout
    assert out == "it's here\n"


def test_errors_and_malformed_streams(model: ScriptedModel) -> None:
    status, body = post(f"{model.url}/v1/messages", {"model": "m", "tools": TOOLS_ANTHROPIC,
                                                      "messages": [{"role": "user", "content": "[fail] x"}]})
    assert status == 429 and json.loads(body)["error"]["type"] == "rate_limit_error"
    status, body = post(f"{model.url}/v1/responses", {"model": "m", "stream": True, "tools": TOOLS_OPENAI,
                                                       "input": "[broken] x"})
    assert status == 200
    with pytest.raises(ValueError):
        sse(body)


def test_delay_and_hang_end_when_the_server_stops() -> None:
    scenario = Scenario.from_data({"steps": [{"hang": True}]})
    model = ScriptedModel(scenario).start()
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        post(f"{model.url}/v1/messages", {"stream": False, "tools": TOOLS_ANTHROPIC,
                                          "messages": [{"role": "user", "content": "x"}]}, timeout=1)
    assert time.monotonic() - started >= 1
    model.stop()


def test_requests_are_recorded_to_file_and_endpoint(tmp_path: Path, model: ScriptedModel) -> None:
    scenario = Scenario.from_data({"steps": ["hello"]})
    record = tmp_path / "requests.jsonl"
    with ScriptedModel(scenario, record_path=record) as m:
        post(f"{m.url}/v1/messages", {"tools": TOOLS_ANTHROPIC, "messages": [{"role": "user", "content": "hi"}]})
        with urllib.request.urlopen(f"{m.url}/_scripted/requests") as resp:
            served = json.loads(resp.read())
    lines = [json.loads(x) for x in record.read_text().splitlines()]
    assert served == lines and lines[0]["body"]["messages"][0]["content"] == "hi"


def test_scenario_files_are_validated(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"steps": [{"shel": "ls"}]}')
    with pytest.raises(UsageError, match="unknown step keys"):
        Scenario.load(bad)
    toml = tmp_path / "ok.toml"
    toml.write_text('[[scripts]]\nname = "a"\nsteps = ["hi", {shell = "ls"}]\n')
    assert Scenario.load(toml).scripts[0].steps[1].shell == "ls"


def test_serve_command_prints_its_url(tmp_path: Path) -> None:
    scenario = tmp_path / "s.json"
    scenario.write_text('{"steps": ["hi"]}')
    proc = subprocess.Popen([sys.executable, "-m", "podium", "scripted-model", "serve", "--scenario", str(scenario)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        status, body = post(f"{url}/v1/messages", {"tools": TOOLS_ANTHROPIC,
                                                    "messages": [{"role": "user", "content": "x"}]})
        assert status == 200 and json.loads(body)["content"][0]["text"] == "hi"
    finally:
        proc.terminate()
        proc.wait(5)
