"""README command 1: `podium demo` takes a sample ticket to the gate with the real agent CLIs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from conftest import Env


@pytest.mark.parametrize("agent", ["codex", "claude", "gemini", "opencode", "pi"])
def test_demo_takes_a_ticket_to_the_gate(env: Env, agent: str, tmp_path: Path) -> None:
    for key in ("ANTHROPIC_API_KEY", "GEMINI_API_KEY", "OPENAI_API_KEY"):  # a fresh machine: no API key at all
        env.vars.pop(key, None)
    keep = [] if agent == "codex" else ["--keep"]  # at the gate the repository is kept anyway
    proc = env.podium("demo", "--agent", agent, *keep, cwd=tmp_path, timeout=240)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "podium scripted model (no API key set)" in out
    assert f"$ podium work GREET-7   # claude orchestrates and tests, {agent} works" in out
    for line in ("orchestrator → delegate", "orchestrator → test", "orchestrator → commit {\"push\": true}",
                 f"job 2 worker ({agent}) done", "job 3 tester (claude) done: tests passed (unittest: 2 ran)",
                 "gate 1 (commit + push) pending"):
        assert line in out, out
    assert re.search(r"^work 1 on GREET-7: waiting · branch feature/GREET-7-say-goodbye-too", out, re.MULTILINE)
    assert "  waits for you: gate 1 (commit + push)" in out
    assert "    greet.py  +4 -0" in out and "    Say goodbye too" in out  # the gate, as the human sees it
    kept = Path(re.search(r"^kept: (.+)$", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    try:
        (worktree,) = (kept / "worktrees").glob("greeter-*/*")
        assert 'return f"Goodbye, {name}!"' in (worktree / "greet.py").read_text()
        assert "farewell" not in (kept / "greeter" / "greet.py").read_text()  # the user's checkout is untouched
        ticket = (kept / "greeter" / "tickets" / "GREET-7-say-goodbye.md").read_text()
        assert "state: Active" in ticket or "state: In Progress" in ticket, ticket  # started the team's way
        if agent == "codex":
            follow_the_next_steps(env, out, kept)
    finally:
        shutil.rmtree(kept)


def follow_the_next_steps(env: Env, out: str, kept: Path) -> None:
    """The commands the demo prints at its end, run as printed (approve at a terminal, as the human would)."""
    steps = out.split("next, in a terminal", 1)[1].splitlines()[1:]
    commands = [line.strip() for line in steps if line.startswith("  ") and not line.strip().startswith("#")]
    assert commands[0].startswith("cd ") and commands[1:] == ["podium gates", "podium approve 1"], commands
    where = Path(commands[0].removeprefix("cd "))
    assert where == kept / "greeter"
    assert "gate 1: commit + push" in env.podium("gates", cwd=where, check=True).stdout
    approved = env.podium_tty("approve", "1", cwd=where)
    assert approved.returncode == 0, approved.stderr
    [gate] = env.podium_json("gates", "--all", cwd=where)
    assert gate["state"] == "done" and gate["result"]["pushed"]
    branch = gate["branch"]
    pushed = subprocess.run(["git", "ls-remote", str(kept / "origin.git"), f"refs/heads/{branch}"],
                            capture_output=True, text=True, check=True).stdout
    assert pushed.split("\t")[0] == gate["result"]["pushed"]


def test_a_demo_that_removes_its_repository_prints_no_step_that_cannot_work(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """``podium demo --no-keep`` ending at the gate: the gate is shown, but neither ``podium approve`` nor where the
    work waits — both are gone with the repository, and the demo says so. (The work itself is stood in for: the
    real one is the test above.)"""
    from podium import demo
    from podium import work as work_mod

    monkeypatch.setenv("PODIUM_WORKTREES", str(tmp_path / "worktrees"))  # the demo sets it; the test restores it
    monkeypatch.setattr(demo, "ensure_cli", lambda agent: None)
    monkeypatch.setattr(demo, "use_scripted_model", lambda agent, root: None)

    def start(ctx: Any, ticket: str, orchestration: Any) -> Any:
        return SimpleNamespace(workspace=str(tmp_path / "worktrees" / "greeter" / "feature-GREET-7"))

    def watch(ctx: Any, work: Any, emit: Any, poll: float) -> work_mod.Report:
        gate = ctx.store.create_gate(workspace=work.workspace, branch="feature/GREET-7-say-goodbye-too",
                                     actions=["commit", "push"], state="pending", facts={"base": "main"})
        record = SimpleNamespace(to_dict=dict)
        return work_mod.Report(work=record, state="waiting", facts=["work 1 on GREET-7: waiting"],  # type: ignore
                               pending_gate=gate.id, steps=[f"  waits for you: gate {gate.id} (commit + push) — "
                                                            f"podium approve {gate.id}"])

    monkeypatch.setattr(work_mod, "start", start)
    monkeypatch.setattr(work_mod, "watch", watch)
    assert demo.run_demo(keep=False) == 0
    out = capsys.readouterr().out
    root = Path(re.search(r"^demo repository: (.+)/greeter ", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    assert not root.exists()
    assert "gate 1: commit + push on feature/GREET-7-say-goodbye-too (from main) — pending" in out
    for gone in ("podium approve", "  waits for you:", "the work waits in", "kept:", "next, in a terminal"):
        assert gone not in out, gone
    assert f"the demo repository ({root}) was removed, and its gate with it: nothing waits for you" in out
