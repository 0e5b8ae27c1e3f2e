"""The tester: a resumable claude session per branch (the real CLI against the scripted model), its
verdict read from the test runner's own output, and screenshots taken through podium's browser tool."""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

from conftest import Env, git

PY = shlex.quote(sys.executable)
FRESH_MARK = "a previous session whose history is gone"


def _workspace(env: Env, files: dict[str, str] | None = None) -> dict:
    """A worker job (the command agent) that leaves ``files`` in a new workspace; its status row."""
    script = "; ".join(f"printf %s {shlex.quote(body)} > {shlex.quote(path)}" for path, body in (files or {}).items())
    command = f"sh -c {shlex.quote(script or 'true')}"
    job_id = env.delegate("Make greet shout", "--agent", "command", "--command", command)
    env.podium("wait", str(job_id), "--timeout", "60")
    return env.job(job_id)


def _commit_tests(env: Env) -> None:
    (env.repo / "test_app.py").write_text("from app import greet\n\n\n"
                                          "def test_greet():\n    assert greet() == 'hello'\n")
    git("add", ".", cwd=env.repo)
    git("commit", "--quiet", "-m", "Test greet", cwd=env.repo)
    git("push", "--quiet", "origin", "HEAD:main", cwd=env.repo)


def _transcripts(env: Env, session: str) -> list[Path]:
    return list((Path(env.vars["HOME"]) / ".claude" / "projects").glob(f"*/{session}.jsonl"))


def test_tester_session_is_resumed_turn_after_turn_and_its_verdict_comes_from_the_runner(env: Env) -> None:
    _commit_tests(env)
    worker = _workspace(env, {"app.py": "def greet():\n    return 'HELLO'\n"})
    branch = worker["branch"]
    env.serve({"steps": [
        {"text": "Running the whole suite first.",
         "shell": f"echo scratch > tester-notes.txt && {PY} -m pytest -q -p no:cacheprovider"},
        "Round one: test_greet fails, greet() now returns 'HELLO'.",
        {"shell": f"{PY} -m pytest -q -p no:cacheprovider test_app.py::test_greet"},
        "Round two: still failing.",
    ]})

    first = env.podium_json("test", branch, "The worker made greet shout. Run the suite.")
    assert first["resumed"] is False
    assert env.podium("wait", str(first["id"]), "--timeout", "90").returncode == 0
    turn1 = env.job(first["id"])
    assert turn1["role"] == "tester" and turn1["state"] == "done" and turn1["branch"] == branch
    assert turn1["workspace"] == worker["workspace"]  # the branch's own worktree, not a new one
    session = turn1["session_id"]
    assert session and _transcripts(env, session)

    # the first request carried the role (TESTER.md, generated from podium's tools) and the workspace's facts
    body = json.dumps(next(r for r in env.requests() if not r["aux"])["body"], ensure_ascii=False)
    assert "You handle manual testing" in body and "podium screenshot URL" in body
    assert "`python -m unittest` — test*.py files" in body  # the repository's own test command, detected
    assert branch in body and "What to test now" in body
    role = (env.repo / ".podium" / "roles" / "TESTER.md").read_text()  # written, for the user to read and edit
    assert "podium:generated" in role and "`python -m unittest`" in role

    # the verdict is the runner's: counts and the failing test, not the agent's prose
    summary = env.podium_json("logs", str(first["id"]), "--summary")
    assert summary["tests"]["passed"] is False
    assert summary["tests"]["counts"] == {"failed": 1}
    assert summary["tests"]["failed_tests"] == ["test_app.py::test_greet"]
    assert turn1["tests"]["passed"] is False  # status --json has it too
    assert "tests FAILED (1 failed)" in env.podium("status").stdout

    # a second turn, from a new podium process: the same session, its history sent to the model
    second = env.podium("test", branch, "Run only test_greet again.")
    assert second.returncode == 0, second.stderr
    assert f"resumes session {session}" in second.stderr
    second_id = int(second.stdout.strip())
    assert env.podium("wait", str(second_id), "--timeout", "90").returncode == 0
    turn2 = env.job(second_id)
    assert turn2["session_id"] == session and turn2["parent"] == first["id"]
    last = json.dumps([r for r in env.requests() if not r["aux"]][-1]["body"]["messages"])
    assert "Round one: test_greet fails" in last and "Run only test_greet again." in last
    assert env.podium_json("logs", str(second_id), "--summary")["final"] == "Round two: still failing."

    # the gate shows the tester's verdict; what only the tester wrote stays out of the commit
    assert env.podium("commit", branch).returncode == 4  # waits for the human
    gate = env.podium("gates", check=True).stdout
    assert "tests: FAILED" in gate and "failing: test_app.py::test_greet" in gate
    assert "    app.py  +1 -1" in gate
    assert "left out tester-notes.txt: only the tester changed it" in gate


def test_tester_whose_transcript_is_gone_starts_fresh_with_a_summary_and_says_so(env: Env) -> None:
    worker = _workspace(env, {"notes.txt": "n\n"})
    env.serve({"scripts": [
        {"name": "fresh", "match": FRESH_MARK, "steps": ["Caught up from the summary; retesting."]},
        {"name": "first", "steps": [{"shell": "echo checking"}, "The login page renders; the form posts."]},
    ]})
    first = env.podium_json("test", worker["branch"], "Check the login page.")
    env.podium("wait", str(first["id"]), "--timeout", "90", check=True)
    session = env.job(first["id"])["session_id"]
    for path in _transcripts(env, session):
        path.unlink()

    again = env.podium("test", worker["branch"], "Check the logout link too.")
    assert again.returncode == 0, again.stderr
    assert "starts a new session" in again.stderr
    assert f"note: the tester's session {session} cannot be resumed (its transcript is gone)" in again.stderr
    job_id = int(again.stdout.strip())
    env.podium("wait", str(job_id), "--timeout", "90", check=True)
    job = env.job(job_id)
    assert job["session_id"] and job["session_id"] != session
    assert env.podium_json("logs", str(job_id), "--summary")["final"] == "Caught up from the summary; retesting."
    sent = json.dumps([r for r in env.requests() if not r["aux"]][-1]["body"]["messages"])
    assert "Check the login page." in sent and "The login page renders; the form posts." in sent
    assert "Check the logout link too." in sent
    # the next turn resumes the new session
    third = env.podium_json("test", worker["branch"], "And the footer.")
    assert third["resumed"] is True and third["session_id"] == job["session_id"]


PAGE = """<!doctype html>
<html><head><title>Greeter</title>
<style>body{margin:0;background:#d00000;height:100vh} body.ok{background:#00a000}</style></head>
<body><button id="go" onclick="document.body.className='ok'">Greet</button></body></html>
"""


def _pixel(path: Path, xy: tuple[int, int]) -> tuple[int, int, int]:
    from PIL import Image

    with Image.open(path) as img:
        return img.convert("RGB").getpixel(xy)  # type: ignore[return-value]


def test_tester_screenshots_the_app_it_serves_on_the_workspace_port(env: Env) -> None:
    worker = _workspace(env, {"index.html": PAGE})
    ws = Path(worker["workspace"])
    port = dict(line.split("=", 1) for line in (ws / ".podium" / "env").read_text().splitlines())["PORT"]
    url = f"http://127.0.0.1:{port}/index.html"
    serve = (f"nohup {PY} -m http.server {port} --bind 127.0.0.1 >/dev/null 2>&1 & echo $! > .podium/server.pid; "
             f"for i in $(seq 50); do {PY} -c \"import urllib.request; urllib.request.urlopen('{url}')\" "
             "2>/dev/null && break; sleep 0.2; done")
    env.serve({"steps": [
        {"text": "Starting the app on $PORT.", "shell": serve},
        {"shell": 'podium screenshot "http://127.0.0.1:$PORT/index.html" --label "Before greeting"'},
        {"tool": {"name": "mcp__podium__screenshot",
                  "input": {"url": url, "label": "after greeting", "steps": ["click:#go", "wait:body.ok"]}}},
        {"tool": {"name": "mcp__podium__delegate", "input": {"prompt": "Make the page blue"}}},
        {"shell": "kill $(cat .podium/server.pid)"},
        "Two screenshots: the red page, then green after Greet.",
    ]})
    turn = env.podium_json("test", worker["branch"], "Screenshot the greeter before and after clicking Greet.")
    assert env.podium("wait", str(turn["id"]), "--timeout", "120").returncode == 0
    log = env.podium("logs", str(turn["id"])).stdout
    desktop = Path(env.vars["HOME"]) / "Desktop"
    stem = worker["branch"].replace("/", "-")
    before, after = desktop / f"{stem}-1-before-greeting.png", desktop / f"{stem}-2-after-greeting.png"
    assert before.is_file(), log
    assert after.is_file(), log
    from PIL import Image

    with Image.open(before) as img:
        assert img.size == (1280, 800)
    assert _pixel(before, (640, 400)) == (208, 0, 0)  # the page itself, red
    assert _pixel(after, (640, 400)) == (0, 160, 0)  # after the click, green
    # the MCP call went through claude's tool use to podium's server
    tool_results = [r for r in env.requests() if not r["aux"]][3]["body"]["messages"][-1]["content"]
    assert "after-greeting.png" in json.dumps(tool_results)
    # the tester has podium's screenshot tool, not the orchestrator's: it cannot start a worker
    refused = json.dumps([r for r in env.requests() if not r["aux"]][4]["body"]["messages"][-1])
    assert "permissions to use mcp__podium__delegate" in refused
    assert [r["role"] for r in env.podium_json("status", "--all")].count("worker") == 1
    # recorded against the branch: the gate shows both, in the order taken
    assert env.podium("commit", worker["branch"]).returncode == 4
    assert f"screenshots: {before}, {after}" in env.podium("gates", check=True).stdout


def test_codex_tester_waits_for_the_worker_then_keeps_its_session(env: Env) -> None:
    job_id = env.delegate("Slow worker", "--agent", "command", "--command", "sh -c 'sleep 3; echo x > slow.txt'")
    branch = env.job(job_id)["branch"]
    env.serve({"steps": [{"shell": "cat slow.txt"}, "slow.txt says x.", "Second turn: nothing new."]})
    first = env.podium_json("test", branch, "Check slow.txt", "--agent", "codex")
    assert first["state"] == "queued"  # one agent per worktree: the tester waits for the worker
    env.podium("wait", str(first["id"]), "--timeout", "90", check=True)
    assert env.job(job_id)["state"] == "done"
    turn1 = env.job(first["id"])
    assert turn1["state"] == "done" and turn1["session_id"]
    cat = next(e for e in env.podium_json("logs", str(first["id"]))["events"]
               if e["kind"] == "command")
    assert cat["data"]["output"].strip() == "x"  # it ran after the worker had written the file
    # the tester's agent is remembered: the next turn resumes codex's session without --agent
    second = env.podium_json("test", branch, "Anything new?")
    assert second["agent"] == "codex" and second["resumed"] is True and second["session_id"] == turn1["session_id"]
    env.podium("wait", str(second["id"]), "--timeout", "90", check=True)
    assert env.podium_json("logs", str(second["id"]), "--summary")["final"] == "Second turn: nothing new."
