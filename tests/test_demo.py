"""README command 1: `podium demo` takes a sample ticket to the gate with the real agent CLIs."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import Env


@pytest.mark.parametrize("agent", ["codex", "claude", "gemini"])
def test_demo_takes_a_ticket_to_the_gate(env: Env, agent: str, tmp_path: Path) -> None:
    for key in ("ANTHROPIC_API_KEY", "GEMINI_API_KEY", "OPENAI_API_KEY"):  # a fresh machine: no API key at all
        env.vars.pop(key, None)
    proc = env.podium("demo", "--agent", agent, "--keep", cwd=tmp_path, timeout=240)
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
    finally:
        shutil.rmtree(kept)
