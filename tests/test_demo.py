"""README command 1: `podium demo` runs a real worker job to the end on a throw-away repo."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from conftest import Env


@pytest.mark.parametrize("agent", ["codex", "claude", "gemini"])
def test_demo_runs_a_real_agent_to_done(env: Env, agent: str, tmp_path: Path) -> None:
    for key in ("ANTHROPIC_API_KEY", "GEMINI_API_KEY", "OPENAI_API_KEY"):  # a fresh machine: no API key at all
        env.vars.pop(key, None)
    proc = env.podium("demo", "--agent", agent, "--keep", cwd=tmp_path, timeout=180)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "podium scripted model (no API key set)" in out
    assert re.search(r"^job 1 done · " + agent, out, re.MULTILINE)
    assert "files: 2 changed uncommitted" in out and "tests: passed" in out
    kept = Path(re.search(r"^kept: (.+)$", out, re.MULTILINE).group(1))  # type: ignore[union-attr]
    try:
        (worktree,) = (kept / "worktrees").glob("greeter-*/*")
        assert 'return f"Goodbye, {name}!"' in (worktree / "greet.py").read_text()
        assert "farewell" not in (kept / "greeter" / "greet.py").read_text()  # the user's checkout is untouched
    finally:
        shutil.rmtree(kept)
