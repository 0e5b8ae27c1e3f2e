"""Roles in podium.toml: each role's agent, model and effort reach the real CLI's requests (the scripted model
records them); the user's args are added to podium's flags, never replacing them; a long reasoning turn whose
stream stays alive is "thinking", not stalled."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path

import pytest

from conftest import Env, assert_one_line_error
from test_tester import _commit_tests

PY = shlex.quote(sys.executable)
SEED_ROLES = """
[roles.worker]
agent = "codex"
model = "gpt-5.2"
effort = "xhigh"

[roles.tester]
agent = "claude"
model = "sonnet"
effort = "medium"
"""


def _settings(env: Env, text: str) -> None:
    (env.repo / "podium.toml").write_text(text)


def _bodies(env: Env, api: str) -> list[dict]:
    return [r["body"] for r in env.requests() if r["api"] == api and not r["aux"]]


def test_each_role_runs_its_own_model_and_effort(env: Env) -> None:
    _settings(env, SEED_ROLES)
    _commit_tests(env)
    env.serve({"scripts": [
        {"name": "worker", "match": "Make greet", "steps": [
            {"write": {"path": "NOTES.md", "content": "greet stays polite\n"}}, "Wrote NOTES.md."]},
        {"name": "tester", "steps": [{"shell": f"{PY} -m pytest -q -p no:cacheprovider"}, "The suite passes."]},
    ]})
    worker = env.delegate("Make greet polite")
    assert env.podium("wait", str(worker), "--timeout", "90").returncode == 0
    codex = _bodies(env, "openai")
    assert codex and all(b["model"] == "gpt-5.2" and b["reasoning"]["effort"] == "xhigh" for b in codex)

    turn = env.podium_json("test", env.job(worker)["branch"], "Run the suite.")
    assert turn["agent"] == "claude"
    assert env.podium("wait", str(turn["id"]), "--timeout", "90").returncode == 0
    claude = _bodies(env, "anthropic")
    assert claude and all("sonnet" in b["model"] for b in claude)
    assert all(b["output_config"] == {"effort": "medium"} for b in claude)
    # the tester's Bash ran (podium's permissions kept beside the model): the verdict is the runner's
    assert env.podium_json("logs", str(turn["id"]), "--summary")["tests"]["passed"] is True

    once = env.delegate("Make greet louder", "--model", "gpt-5.1", "--effort", "low")
    assert env.podium("wait", str(once), "--timeout", "90").returncode == 0
    last = _bodies(env, "openai")[-1]
    assert (last["model"], last["reasoning"]["effort"]) == ("gpt-5.1", "low")


def test_a_resume_keeps_the_model_and_effort_its_job_was_given(env: Env) -> None:
    """``delegate --model --effort`` holds for that job's session: resuming it (and resuming the resume) asks the
    same model at the same effort, not the settings' defaults."""
    _settings(env, SEED_ROLES)
    env.serve({"steps": [{"write": {"path": "a.txt", "content": "a\n"}}, "First part done.",
                         {"write": {"path": "b.txt", "content": "b\n"}}, "Second part done.",
                         {"write": {"path": "c.txt", "content": "c\n"}}, "Third part done."]})
    first = env.delegate("Three part task", "--model", "gpt-5.1", "--effort", "low")
    env.podium("wait", str(first), "--timeout", "90", check=True)
    second = int(env.podium_json("resume", str(first), "now the second part")["id"])
    env.podium("wait", str(second), "--timeout", "90", check=True)
    third = int(env.podium_json("resume", str(second), "and the third")["id"])
    env.podium("wait", str(third), "--timeout", "90", check=True)
    bodies = _bodies(env, "openai")
    assert len(bodies) >= 6
    assert {(b["model"], b["reasoning"]["effort"]) for b in bodies} == {("gpt-5.1", "low")}

    plain = env.delegate("Three part task again")  # a job given nothing runs the settings' [roles.worker]
    env.podium("wait", str(plain), "--timeout", "90")
    assert (_bodies(env, "openai")[-1]["model"], _bodies(env, "openai")[-1]["reasoning"]["effort"]) == (
        "gpt-5.2", "xhigh")


def test_a_testers_turn_records_the_model_it_was_given_and_its_next_turns_keep_it(env: Env) -> None:
    """``podium test --model --effort`` holds for the tester's session as ``delegate``'s for a job's: the turn
    records it (``status`` shows what ran), and a later turn asks the same model until another is chosen."""
    _settings(env, SEED_ROLES)
    env.serve({"scripts": [
        {"name": "worker", "match": "Make greet", "steps": [
            {"write": {"path": "NOTES.md", "content": "greet stays polite\n"}}, "Wrote NOTES.md."]},
        {"name": "tester", "steps": ["Looked once.", "Looked twice.", "Looked a third time."]},
    ]})
    worker = env.delegate("Make greet polite")
    env.podium("wait", str(worker), "--timeout", "90", check=True)
    branch = env.job(worker)["branch"]
    first = env.podium_json("test", branch, "Look at it.", "--model", "opus", "--effort", "high")
    env.podium("wait", str(first["id"]), "--timeout", "90", check=True)
    second = env.podium_json("test", branch, "Look again.")
    env.podium("wait", str(second["id"]), "--timeout", "90", check=True)
    turns = [env.job(int(t["id"])) for t in (first, second)]
    assert [(t["model"], t["effort"]) for t in turns] == [("opus", "high"), ("opus", "high")]
    third = env.podium_json("test", branch, "Once more.", "--model", "haiku")
    env.podium("wait", str(third["id"]), "--timeout", "90", check=True)
    assert (env.job(int(third["id"]))["model"], env.job(int(third["id"]))["effort"]) == ("haiku", "high")
    claude = _bodies(env, "anthropic")
    asked = [("opus" in b["model"], "haiku" in b["model"], b["output_config"]) for b in claude]
    assert asked[0][0] and asked[-1][1] and all(a[2] == {"effort": "high"} for a in asked), asked
    assert not any("sonnet" in b["model"] for b in claude)  # the role's model never came back


def test_a_model_in_the_args_keeps_podiums_permissions(env: Env) -> None:
    """``[agents.claude] args = ["--model", …]`` used to replace podium's acceptEdits + Bash: the tester's pytest
    was denied and podium reported tests FAILED."""
    _settings(env, '[agents.claude]\nargs = ["--model", "opus", "--effort", "max"]\n')
    _commit_tests(env)
    env.serve({"scripts": [
        {"name": "worker", "match": "Make greet", "steps": [
            {"write": {"path": "NOTES.md", "content": "greet stays polite\n"}}, "Wrote NOTES.md."]},
        {"name": "tester", "steps": [{"shell": f"{PY} -m pytest -q -p no:cacheprovider"}, "The suite passes."]},
    ]})
    worker = env.delegate("Make greet polite", "--agent", "codex")
    assert env.podium("wait", str(worker), "--timeout", "90").returncode == 0
    job = env.podium_json("test", env.job(worker)["branch"], "Run the suite.")["id"]
    assert env.podium("wait", str(job), "--timeout", "90").returncode == 0
    summary = env.podium_json("logs", str(job), "--summary")
    assert summary["tests"]["passed"] is True, summary
    events = env.podium_json("logs", str(job))["events"]
    command = next(e for e in events if e["kind"] == "command")
    assert command["data"]["exit_code"] == 0 and "passed" in command["data"]["output"]
    body = _bodies(env, "anthropic")[0]
    assert "opus" in body["model"] and body["output_config"] == {"effort": "max"}


@pytest.mark.parametrize(("toml", "args", "needles"), [
    pytest.param('[roles.worker]\nagent = "claude"\nargs = ["--permission-mode", "plan"]\n', [],
                 ["--permission-mode plan", "--permission-mode acceptEdits"], id="claude-plan-worker"),
    pytest.param('[agents.codex]\nargs = ["--sandbox", "read-only"]\n', [],
                 ["--sandbox read-only", "workspace-write"], id="codex-read-only-worker"),
    pytest.param('[roles.worker]\nagent = "gemini"\nargs = ["--approval-mode", "plan"]\n', [],
                 ["--approval-mode plan", "--approval-mode yolo"], id="gemini-plan-worker"),
    pytest.param('[roles.worker]\nmodel = "gpt-5.2"\n[agents.codex]\nargs = ["-m", "o3"]\n', [],
                 ["-m o3", "gpt-5.2"], id="two-models"),
    pytest.param('[agents.codex]\nargs = ["-c", "model_reasoning_effort=high"]\n', ["--effort", "low"],
                 ["model_reasoning_effort=high", "low"], id="two-efforts"),
    pytest.param("", ["--effort", "extreme"], ["--effort must be one of low, medium, high, xhigh, max"],
                 id="unknown-effort"),
    pytest.param("", ["--agent", "gemini", "--effort", "high"], ["gemini has no effort setting"],
                 id="gemini-effort"),
    pytest.param('[roles.worker]\neffort = "extreme"\n', [],
                 ['roles.worker.effort: one of low, medium, high, xhigh, max, not "extreme"'], id="toml-effort"),
    pytest.param('[roles.boss]\nagent = "codex"\n', [], ["roles.boss: unknown setting"], id="unknown-role"),
])
def test_a_contradiction_is_refused_in_one_line_and_nothing_is_left(env: Env, toml: str, args: list[str],
                                                                     needles: list[str]) -> None:
    _settings(env, toml)
    env.serve({"steps": ["never asked"]})
    proc = env.podium("delegate", *args, "Make greet polite")
    assert_one_line_error(proc, *needles)
    (env.repo / "podium.toml").unlink(missing_ok=True)  # (a broken podium.toml stops every command)
    assert env.podium_json("status", "--all") == []
    assert not list(Path(env.vars["PODIUM_WORKTREES"]).glob("*/*"))
    assert env.requests() == []


def test_a_read_only_role_refuses_a_writing_mode_and_takes_it_for_the_workers(env: Env) -> None:
    """A permission mode for the workers belongs in [roles.worker] args: in [agents.claude] args it would also
    let the orchestrator edit, which podium refuses."""
    _settings(env, '[agents.claude]\nargs = ["--permission-mode", "acceptEdits"]\n')
    env.serve({"steps": ["never asked"]})
    assert_one_line_error(env.podium("work", "T-1", "--detach"), "--permission-mode acceptEdits",
                          "--permission-mode default", "[roles.worker] args")
    _settings(env, '[roles.worker]\nagent = "claude"\nargs = ["--permission-mode", "acceptEdits"]\n')
    env.serve({"steps": [{"shell": "echo written > out.txt"}, "Wrote out.txt."]})
    job = env.delegate("Write out.txt")
    assert env.podium("wait", str(job), "--timeout", "90").returncode == 0
    assert (Path(env.job(job)["workspace"]) / "out.txt").read_text() == "written\n"


def _watch(env: Env, job_id: int, seconds: float) -> list[dict]:
    seen, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        seen.append(env.job(job_id))
        if seen[-1]["state"] not in ("starting", "running", "stalled", "queued"):
            break
        time.sleep(0.5)
    return seen


@pytest.mark.parametrize("agent", ["codex", "claude"])
def test_a_long_reasoning_turn_is_thinking_and_a_hung_model_is_stalled(env: Env, agent: str) -> None:
    env.serve({"scripts": [
        {"name": "thinks", "match": "Think", "steps": [
            {"think": 9, "write": {"path": "IDEA.md", "content": "greet, considered\n"}}, "Thought it through."]},
        {"name": "hangs", "match": "Hang", "steps": [{"hang": True}]},
    ]})
    thinking = env.delegate("Think hard about greet", "--agent", agent, "--stall-after", "3")
    seen = _watch(env, thinking, 60)
    assert seen[-1]["state"] == "done", seen[-1]
    assert all(s["state"] != "stalled" for s in seen)
    assert any(s["thinking_for"] is not None and s["thinking_for"] >= 3 for s in seen)  # silent past its window
    kinds = [e["kind"] for e in env.podium_json("logs", str(thinking))["events"]]
    assert "stalled" not in kinds

    hung = env.delegate("Hang on greet", "--agent", agent, "--stall-after", "3")
    stalled = env.wait_for(hung, lambda j: j["state"] == "stalled", timeout=60)
    assert stalled["thinking_for"] is None
    assert "stalled" in env.podium("status").stdout


def test_the_status_table_says_a_silent_job_is_thinking(env: Env) -> None:
    env.serve({"steps": [{"think": 8, "write": {"path": "IDEA.md", "content": "greet\n"}}, "Done thinking."]})
    job = env.delegate("Think about greet", "--agent", "codex", "--stall-after", "2")
    env.wait_for(job, lambda j: (j["thinking_for"] or 0) >= 2, timeout=60)
    table = env.podium("status").stdout
    assert "running (thinking" in table, table
    assert "  thinking: nothing printed for " in env.podium("logs", str(job), "--summary").stdout
    assert env.podium("wait", str(job), "--timeout", "60").returncode == 0
