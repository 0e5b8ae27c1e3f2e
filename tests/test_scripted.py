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


def chat_tool(name: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": {
        "type": "object", "properties": properties, "required": required}}}


# the shell and write tools as a qwen-like CLI declares them: its shell tool requires more than the command
TOOLS_CHAT = [
    chat_tool("run_shell_command", {"command": {"type": "string"}, "is_background": {"type": "boolean"},
                                    "timeout": {"type": "number"}}, ["command", "is_background"]),
    chat_tool("write_file", {"file_path": {"type": "string"}, "content": {"type": "string"}},
              ["file_path", "content"]),
]


def chat_stream(text: str) -> list[dict[str, Any]]:
    """The chunks of a Chat Completions stream, which must end with ``data: [DONE]``."""
    blocks = [b.strip() for b in text.replace("\r\n", "\n").strip().split("\n\n")]
    assert blocks[-1] == "data: [DONE]"
    return [json.loads(b.removeprefix("data: ")) for b in blocks[:-1]]


def test_chat_completions_stream_fills_each_tool_from_its_schema(model: ScriptedModel) -> None:
    url = f"{model.url}/v1/chat/completions"
    setup = "We are setting up the context for our chat.\nI'm currently working in the directory: /srv/app"
    history: list[dict[str, Any]] = [
        {"role": "system", "content": "You are an agent."},
        {"role": "user", "content": [{"type": "text", "text": setup}]},
        {"role": "assistant", "content": "Got it. Thanks for the context!"},  # no turn of the scenario's
        {"role": "user", "content": "please help"},
    ]
    body = {"model": "m", "stream": True, "stream_options": {"include_usage": True}, "tools": TOOLS_CHAT}
    status, text = post(url, {**body, "messages": history})
    assert status == 200
    chunks = chat_stream(text)
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"]) == "Let me look."
    call = next(c["choices"][0]["delta"]["tool_calls"][0] for c in chunks if c["choices"]
                and c["choices"][0]["delta"].get("tool_calls"))
    assert call["function"]["name"] == "run_shell_command"
    assert json.loads(call["function"]["arguments"]) == {"command": "ls -la", "is_background": False}
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "tool_calls"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0

    history += [{"role": "assistant", "content": "Let me look.", "tool_calls": [call]},
                {"role": "tool", "tool_call_id": call["id"], "content": "total 0"}]
    _, text = post(url, {**body, "messages": history})
    call = next(c["choices"][0]["delta"]["tool_calls"][0] for c in chat_stream(text) if c["choices"]
                and c["choices"][0]["delta"].get("tool_calls"))
    assert call["function"]["name"] == "write_file"  # an absolute path, in the directory the agent said it is in
    assert json.loads(call["function"]["arguments"]) == {"file_path": "/srv/app/notes/a.txt", "content": "it's here\n"}
    assert [r["step"] for r in model.requests] == [1, 2] and model.requests[0]["cwd"] == "/srv/app"


def test_chat_completions_without_streaming_and_side_requests(model: ScriptedModel) -> None:
    url = f"{model.url}/v1/chat/completions"
    shell_only = [chat_tool("bash", {"command": {"type": "string"}}, ["command"])]
    history = [{"role": "user", "content": "go"}, {"role": "assistant", "content": "Let me look."},
               {"role": "user", "content": "and?"}]
    _, text = post(url, {"model": "m", "tools": shell_only, "messages": history})
    reply = json.loads(text)
    assert reply["object"] == "chat.completion" and reply["choices"][0]["finish_reason"] == "tool_calls"
    command = json.loads(reply["choices"][0]["message"]["tool_calls"][0]["function"]["arguments"])["command"]
    out = subprocess.run(["bash", "-c", f"cd $(mktemp -d) && {command} && cat notes/a.txt"], capture_output=True,
                         text=True, check=True).stdout
    assert out == "it's here\n"  # no write tool offered: the file is written by a shell command

    schema = {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]}
    _, text = post(url, {"model": "m", "messages": [{"role": "user", "content": "a title?"}],
                         "response_format": {"type": "json_schema", "json_schema": {"name": "t", "schema": schema}}})
    assert json.loads(json.loads(text)["choices"][0]["message"]["content"]) == {"title": "ok"}
    assert model.requests[-1]["aux"] is True
    status, text = post(url, {"model": "m", "tools": shell_only, "messages": [{"role": "user", "content": "[fail]"}]})
    assert status == 429 and json.loads(text)["error"]["message"] == "slow down"
