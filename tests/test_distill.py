"""podium distill: transcripts made by the REAL claude and codex CLIs (against the scripted model) read back
into measured facts, redacted excerpts, and role files written by a distilling agent."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import Env, git
from podium.distill import facts
from podium.redaction import redact
from podium.store import GateRecord

TOKEN = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
SESSIONS = {  # marker: (agent, the user's prompt, the branch the session creates)
    "S1": ("claude", "S1: Add the login page. Don't switch branches. Run the full suite before you stop.",
           "feature/PROJ-101-login-page"),
    "S2": ("claude", f"S2: Fix the logout redirect. Don't switch branches. Use {TOKEN} for the API.",
           "feature/PROJ-102-logout-redirect"),
    "S3": ("claude", "S3: Rename the settings tab. Don't switch branches.", "feature/PROJ-103-settings-tab"),
    "C1": ("codex", "C1: Speed up the export. Don't switch branches. Run the full suite before you stop.",
           "feature/PROJ-104-faster-export"),
    "G1": ("gemini", "G1: Tidy the README. Don't switch branches.", "feature/PROJ-105-tidy-readme"),
}


def _script(marker: str, branch: str) -> dict:
    delegation = [{"shell": "codex exec --skip-git-repo-check -s read-only 'Check the docs for typos' || true"}] \
        if marker == "S1" else []  # a worker delegated from inside a session, as the workflow does
    return {"name": marker, "match": f"{marker}:", "steps": [
        *delegation,
        {"shell": f"git checkout -q -b {branch}"},
        {"shell": "git commit -q --allow-empty -m wip && git commit -q --amend --allow-empty --no-edit"},
        {"shell": "git push -q --force-with-lease origin HEAD || true"},
        {"shell": f"{sys.executable} -m pytest -q || true"},
        f"{marker} done.",
    ]}


def record_sessions(env: Env) -> None:
    """Real sessions of the real CLIs, in the user's own repository, as the user would have run them."""
    env.serve({"scripts": [_script(m, b) for m, (_, _, b) in SESSIONS.items()]})
    for agent, prompt, _ in SESSIONS.values():
        git_main = ["git", "checkout", "-q", "main"]
        subprocess.run(git_main, cwd=env.repo, env=env.vars, check=True)
        argv = {"claude": ["claude", "-p", "--permission-mode", "acceptEdits", "--allowedTools", "Bash", "--", prompt],
                "codex": ["codex", "exec", "--json", "-s", "danger-full-access", "--", prompt],
                "gemini": ["gemini", "--skip-trust", "--approval-mode", "yolo", f"--prompt={prompt}"]}[agent]
        proc = subprocess.run(argv, cwd=env.repo, env=env.vars, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    subprocess.run(["git", "checkout", "-q", "main"], cwd=env.repo, env=env.vars, check=True)


def _facts(env: Env, *args: str) -> dict:
    return {f["key"] + (":" + f["summary"] if f["key"] == "instruction" else ""): f
            for f in env.podium_json("distill", "--facts", *args)["facts"]}


def test_facts_from_real_claude_and_codex_transcripts(env: Env) -> None:
    record_sessions(env)
    assert len(list((Path(env.vars["HOME"]) / ".claude" / "projects").glob("*/*.jsonl"))) == 3
    assert len(list((Path(env.vars["CODEX_HOME"]) / "sessions").rglob("rollout-*.jsonl"))) == 2  # C1, S1's worker
    assert len(list((Path(env.vars["HOME"]) / ".gemini" / "tmp").glob("*/chats/session-*"))) == 1
    out = env.podium_json("distill", "--facts")
    assert out["read"]["sessions"] == 6
    found = _facts(env)
    branches = found["branches"]
    assert branches["summary"].startswith("like {kind}/PROJ-42-slug (100% of 5 names")
    assert branches["details"] == {b: 1 for _, _, b in SESSIONS.values()}
    assert found["push"]["details"] == {"--force-with-lease": 5}
    assert found["commit"]["details"] == {"amend": 5}
    assert found["tests"]["details"] == {"pytest": 5}
    assert found["instruction:\"don't switch branches\" in 5 sessions"]["count"] == 5
    assert found["delegation"]["details"] == {"codex exec": 1}
    assert found["agent_flags"]["details"] == {"codex exec --skip-git-repo-check": 1, "codex exec -s": 1}
    assert found["instruction:\"run the full suite before you stop\" in 2 sessions"]["count"] == 2
    # every fact can be checked: its references are real lines of real transcripts
    ref = found["push"]["refs"][0]
    source, session, line = ref.split(":")
    folders = {"claude": Path(env.vars["HOME"]) / ".claude", "codex": Path(env.vars["CODEX_HOME"]),
               "gemini": Path(env.vars["HOME"]) / ".gemini"}
    path = next(p for p in folders[source].rglob("*.jsonl") if session in p.read_text())
    assert "--force-with-lease" in path.read_text().splitlines()[int(line) - 1]
    # filters: a project that is not this one, a window that ended before
    assert env.podium_json("distill", "--facts", "--project", "/nowhere")["facts"] == []
    assert env.podium_json("distill", "--facts", "--since", "2020-01-01")["read"]["sessions"] == 6
    assert env.podium_json("distill", "--facts", "--source", "codex")["read"]["sessions"] == 2
    assert env.podium_json("distill", "--facts", "--source", "gemini")["read"]["sessions"] == 1


def test_distillation_sends_facts_and_redacted_excerpts_and_writes_only_when_asked(env: Env) -> None:
    record_sessions(env)
    env.podium("roles", check=True)  # the role files as podium generates them
    role = env.repo / ".podium" / "roles" / "ORCHESTRATOR.md"
    before = role.read_text()
    dry = env.podium("distill", "--dry-run", check=True).stdout
    assert TOKEN not in dry and "[redacted]" in dry  # redacted before anything could be sent
    assert "--force-with-lease ×5" in dry and "\"don't switch branches\" in 5 sessions" in dry
    assert "(prompt) S2: Fix the logout redirect." in dry

    reply = ("=== FILE: ORCHESTRATOR.md ===\n# Orchestrator (distilled)\n\nBranches: feature/PROJ-42-slug. "
             "Push with --force-with-lease.\n=== FILE: TESTER.md ===\n# Tester (distilled)\n\nRun the full suite.\n")
    revised = reply.replace("(distilled)", "(distilled, shorter)")
    env.serve({"scripts": [{"name": "distiller", "match": "You are distilling how this engineer",
                            "steps": [reply, revised]}]})
    shown = env.podium_json("distill")
    sent = json.dumps(next(r for r in env.requests() if not r["aux"])["body"])
    assert "--force-with-lease" in sent and "S1: Add the login page" in sent and TOKEN not in sent
    assert "+# Orchestrator (distilled)" in shown["diff"]["ORCHESTRATOR"]
    assert shown["written"] == [] and role.read_text() == before  # a diff, never a silent overwrite
    proposal = env.repo / ".podium" / "roles" / "distilled" / "ORCHESTRATOR.md"
    assert proposal.read_text().startswith("# Orchestrator (distilled)")

    # arguing with it, turn by turn, in the same session; an empty answer accepts and writes
    argued = env.podium_tty("distill", "--interactive", answers="Make it shorter\n\n")
    assert argued.returncode == 0, argued.stdout + argued.stderr
    last = [r for r in env.requests() if not r["aux"]][-1]
    assert "Make it shorter" in json.dumps(last["body"]["messages"])
    text = role.read_text()
    assert text.startswith("# Orchestrator (distilled, shorter)")
    assert "<!-- podium:generated" in text and "## Your tools" in text  # podium's generated part is kept
    assert (env.repo / ".podium" / "roles" / "TESTER.md").read_text().startswith("# Tester (distilled, shorter)")
    # the distiller's own sessions are not read as the user's practice
    assert env.podium_json("distill", "--facts")["read"]["sessions"] == 6


def test_redaction_of_common_token_formats() -> None:
    planted = {
        "github": TOKEN, "github-fine": "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGH",
        "anthropic": "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789", "openai": "sk-proj-AbCdEfGhIjKlMnOpQrSt1234",
        "aws": "AKIAIOSFODNN7EXAMPLE", "slack": "xoxb-123456789012-abcdefghijkl",
        "gitlab": "glpat-AbCdEfGhIjKlMnOpQrSt",
        "google": "AIzaSyA1234567890abcdefghijklmnopqrstuv", "linear": "lin_api_" + "x" * 40,
        "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    }
    for name, secret in planted.items():
        assert secret not in redact(f"use {secret} here"), name
    assert redact("curl -H 'Authorization: Bearer abcdefghijklmnop0123456789'") == \
        "curl -H 'Authorization: Bearer [redacted]'"
    assert "hunter2hunter2" not in redact("export DB_PASSWORD=hunter2hunter2")
    assert "s3cr3tpass" not in redact("git clone https://dev:s3cr3tpass@example.com/repo.git")
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----"
    assert "b3BlbnNzaC1rZXkt" not in redact(f"key:\n{key}\n")
    assert redact("git push --force-with-lease origin HEAD") == "git push --force-with-lease origin HEAD"
    assert redact("value sk-short", ["my-own-secret-value"]) == "value sk-short"
    assert redact("x my-own-secret-value y", ["my-own-secret-value"]) == "x [redacted] y"


LINE_USER = json.dumps({"type": "user", "sessionId": "big", "timestamp": "2026-11-01T10:00:00Z", "cwd": "/src/app",
                        "message": {"role": "user", "content": "Don't switch branches. Keep going with the export."}})
LINE_BASH = json.dumps({"type": "assistant", "sessionId": "big", "timestamp": "2026-11-01T10:00:01Z",
                        "message": {"role": "assistant", "content": [
                            {"type": "text", "text": "Pushing. " + "x" * 300},
                            {"type": "tool_use", "id": "t", "name": "Bash",
                             "input": {"command": "git push --force-with-lease origin HEAD"}}]}})
LINE_NOISE = json.dumps({"type": "attachment", "attachment": {"type": "environment", "blob": "y" * 600}})


# podium in a process that reports its own peak memory when it ends (RUSAGE_CHILDREN would be the largest
# child this test process ever had, the agent CLIs included)
MEASURED = """
import resource, runpy, sys
sys.argv = ["podium", *sys.argv[1:]]
code = 0
try:
    runpy.run_module("podium", run_name="__main__")
except SystemExit as e:
    code = e.code
sys.stderr.write(f"PEAK {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}")
sys.exit(code)
"""


CODEX_USER = json.dumps({"timestamp": "2026-11-02T09:00:00Z", "type": "response_item", "payload": {
    "type": "message", "role": "user", "content": [{"type": "input_text", "text": "Don't switch branches."}]}})
CODEX_PUSH = json.dumps({"timestamp": "2026-11-02T09:00:02Z", "type": "response_item", "payload": {
    "type": "function_call", "name": "exec_command",
    "arguments": json.dumps({"cmd": "git push --force-with-lease origin HEAD"})}})
CODEX_OUTPUT = json.dumps({"timestamp": "2026-11-02T09:00:03Z", "type": "response_item", "payload": {
    "type": "function_call_output", "output": "z" * 700}})


def _big(path: Path, lines: list[str], megabytes: int) -> int:
    """A transcript of at least ``megabytes`` MiB repeating ``lines``; how many times it repeats them."""
    chunk = "\n".join(lines) + "\n"
    repeats = megabytes * 1024 * 1024 // len(chunk) + 1
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        for _ in range(repeats // 1000):
            f.write(chunk * 1000)
        f.write(chunk * (repeats % 1000))
    assert path.stat().st_size >= megabytes * 1024 * 1024
    return repeats


def test_the_readers_stream_transcripts_of_hundreds_of_megabytes(env: Env) -> None:
    home, codex = Path(env.vars["HOME"]), Path(env.vars["CODEX_HOME"])
    in_claude = _big(home / ".claude" / "projects" / "-src-app" / "big.jsonl",
                     [LINE_USER, LINE_BASH, LINE_NOISE, "{broken json", LINE_NOISE], 210)
    in_codex = _big(codex / "sessions" / "2026" / "11" / "02" / "rollout-2026-11-02T09-00-00-big.jsonl",
                    [CODEX_USER, CODEX_PUSH, CODEX_OUTPUT, '{"type": "from_a_future_version"}'], 205)
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", MEASURED, "distill", "--facts", "--json", "--source", "claude",
                           "--source", "codex"], cwd=env.repo, env=env.vars, capture_output=True, text=True,
                          timeout=900)
    took = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    peak_kib = int(proc.stderr.rsplit("PEAK ", 1)[1])
    facts = json.loads(proc.stdout)["facts"]
    found = {f["key"]: f for f in facts}
    assert found["push"]["details"] == {"--force-with-lease": in_claude + in_codex}
    summaries = [f["summary"] for f in facts]
    assert f"\"don't switch branches\" {in_claude + in_codex} times in 2 sessions" in summaries
    assert peak_kib < 200 * 1024, f"peak RSS {peak_kib / 1024:.0f} MiB for 415 MiB of transcripts"
    print(f"read 415 MiB in {took:.1f} s, peak RSS {peak_kib / 1024:.0f} MiB")


def test_distill_bad_input_is_one_line(env: Env) -> None:
    from conftest import assert_one_line_error

    assert_one_line_error(env.podium("distill", "--since", "last tuesday"), "--since 'last tuesday'")
    assert_one_line_error(env.podium("distill"), "no transcripts to distill")
    assert_one_line_error(env.podium("distill", "--interactive"), "--interactive needs a terminal")


@pytest.mark.parametrize("reply", ["no markers at all", "=== FILE: ORCHESTRATOR.md ===\nonly one\n"])
def test_an_answer_without_the_role_files_is_refused_and_nothing_is_written(env: Env, reply: str) -> None:
    record_sessions(env)
    env.serve({"scripts": [{"name": "distiller", "match": "You are distilling", "steps": [reply]}]})
    from conftest import assert_one_line_error

    assert_one_line_error(env.podium("distill", "--apply"), "the agent's answer has no")
    assert not (env.repo / ".podium" / "roles" / "ORCHESTRATOR.md").exists()


def test_applied_to_a_repository_without_role_files_they_get_podiums_generated_part_too(env: Env) -> None:
    record_sessions(env)
    reply = "=== FILE: ORCHESTRATOR.md ===\n# Mine\n\nDelegate.\n=== FILE: TESTER.md ===\n# Mine too\n\nTest.\n"
    env.serve({"scripts": [{"name": "distiller", "match": "You are distilling", "steps": [reply]}]})
    out = env.podium("distill", "--apply", check=True).stdout
    role = env.repo / ".podium" / "roles" / "ORCHESTRATOR.md"
    assert f"wrote {role}" in out
    text = role.read_text()
    assert text.startswith("# Mine\n\nDelegate.\n") and "<!-- podium:generated" in text and "`delegate(" in text
    assert env.podium("roles", "orchestrator", check=True).stdout.strip() == f"{role}: up to date"


def test_the_gate_fact_counts_only_the_humans_carried_out_decisions() -> None:
    def gate(gate_id: int, state: str, by: str, reason: str | None = None) -> GateRecord:
        return GateRecord(id=gate_id, workspace="/w", branch="b", actions=["commit"], state=state, facts={},
                          created_at=0.0, reason=reason, decided_by=by)

    gates = [gate(1, "done", "ada"), gate(2, "failed", "ada"),  # an approval whose commit failed is no approval yet
             gate(3, "rejected", "ada", "use the helper"), gate(4, "done", "policy"), gate(5, "done", "podium"),
             gate(6, "superseded", "podium"), gate(7, "pending", "")]
    [fact] = [f for f in facts([], gates=gates).facts if f.key == "gates"]
    assert fact.summary == "1 approved, 1 rejected" and fact.count == 2
    assert fact.refs == ["podium:gate-1", "podium:gate-3"]


TICKETS = {"PROJ-42": "Export fails for empty invoices", "PROJ-43": "Totals round the wrong way",
           "PROJ-44": "The logo is blurry"}
DELEGATED = (  # the user's prompts, with podium delegate's options
    ("W1: Fix the rounding in totals. Keep the diff small.", ("--agent", "claude")),
    ("W2: Speed up the export. Keep the diff small.", ("--agent", "codex")),
    ("W3: Tidy the footer. Keep the diff small.", ("--agent", "claude", "--branch", "dev/footer-tidy")),
    ("W4: Fix it. Keep the diff small.", ("--agent", "claude", "--ticket", "PROJ-42")),
    ("W5: Fix it too. Keep the diff small.", ("--agent", "claude", "--ticket", "PROJ-43")),
    ("W6: Sort the imports. Keep the diff small.", ("--agent", "gemini")),
)
TESTED = ("Check the totals page. Run the whole suite.", "Check the footer. Run the whole suite.",
          "Check the totals again. Run the whole suite.")
# what the user repeated in those prompts, and nothing else
THE_USERS = ['"keep the diff small" in 6 sessions', '"run the whole suite" 3 times in 2 sessions']
# what podium wrote in the agents' turns: the tester's role, the ticket's pointer, the files changed since the
# tester's last turn, the orchestrator's brief
PODIUMS_TEXT = ("You handle manual testing", "ticket.md", "since your last turn", "take ticket")


def record_jobs(env: Env) -> list[dict]:
    """The user's work through podium, by the real CLIs: workers on branches podium named, one on a branch the
    user named, two on tickets; then the tester on two of those branches, twice on one (after the user edited
    a file there). The workers' status rows."""
    (env.repo / "tickets").mkdir()
    for key, title in TICKETS.items():
        (env.repo / "tickets" / f"{key}.md").write_text(f"---\ntitle: {title}\ntype: bug\nstate: New\n"
                                                         f"assignee:\n---\n{title}.\n")
    git("add", "tickets", cwd=env.repo)
    git("commit", "--quiet", "-m", "Add tickets", cwd=env.repo)
    git("push", "--quiet", "origin", "HEAD:main", cwd=env.repo)
    env.serve({"scripts": [
        {"name": "orchestrator", "match": "podium work: take ticket", "steps": ["Nothing to do: a duplicate."]},
        {"name": "tester", "match": "Run the whole suite.", "steps": ["Tested: the page renders."]},
        {"name": "worker", "match": "Keep the diff small.",
         "steps": [{"shell": f"{sys.executable} -m pytest -q -p no:cacheprovider || true"},
                   {"write": {"path": "notes.md", "content": "checked\n"}}, "Checked."]},
    ]})
    ids = [env.delegate(prompt, *options) for prompt, options in DELEGATED]
    env.podium("wait", *map(str, ids), "--timeout", "120", check=True)
    workers = [env.job(j) for j in ids]
    totals, footer = workers[0], workers[2]
    turns = [env.podium_json("test", job["branch"], message)["id"]
             for job, message in ((totals, TESTED[0]), (footer, TESTED[1]))]
    env.podium("wait", *map(str, turns), "--timeout", "120", check=True)
    (Path(totals["workspace"]) / "totals.py").write_text("ROUND = 2\n")  # the user's own edit between turns
    again = env.podium_json("test", totals["branch"], TESTED[2])["id"]
    env.podium("wait", str(again), "--timeout", "120", check=True)
    work = env.podium("work", "PROJ-44", timeout=180)  # podium's orchestrator, on a ticket of its own
    assert "orchestrator: Nothing to do: a duplicate." in work.stdout, work.stdout + work.stderr  # (stopped)
    return workers


def _instructions(out: dict) -> list[str]:
    return [f["summary"] for f in out["facts"] if f["key"] == "instruction"]


def _quoted(env: Env, cwd: Path) -> str:
    """The excerpts ``podium distill`` would send its model."""
    dry = env.podium("distill", "--dry-run", cwd=cwd, check=True).stdout
    return dry.split("## Excerpts (redacted)", 1)[1].split("## The current role files", 1)[0]


def test_podiums_jobs_are_read_once_and_only_for_what_the_user_wrote(env: Env) -> None:
    workers = record_jobs(env)
    sent = [json.dumps(r["body"]) for r in env.requests() if not r["aux"]]
    # what podium sent: the tester's role, the ticket's pointer, the files changed since the tester's last turn
    assert any("You handle manual testing" in b for b in sent)
    assert any("its description, comments and links" in b for b in sent)
    assert any("(podium: since your last turn 1 file changed: totals.py" in b for b in sent)

    out = env.podium_json("distill", "--facts")
    # six workers and two tester sessions (a job is its agent's session); the orchestrator's is podium's
    assert out["read"]["sessions"] == 8
    assert _instructions(out) == THE_USERS  # each prompt once, none of podium's text
    found = {f["key"]: f for f in out["facts"]}
    assert found["tests"]["details"] == {"pytest": 6}  # each worker's run once, from its transcript
    assert all(ref.startswith(("claude:", "codex:", "gemini:")) for ref in found["tests"]["refs"])
    # the branch the user named is their habit (its worker's session and its tester's); podium's names are not
    branches = found["branches"]
    assert branches["count"] == 2 and "of 1 names: dev/footer-tidy)" in branches["summary"]
    for job in workers:
        assert job["branch"] == "dev/footer-tidy" or job["branch"] not in json.dumps(out["facts"])
    quoted = _quoted(env, env.repo)
    assert "(prompt) W4: Fix it. Keep the diff small." in quoted and "podium:job-" in quoted
    assert not [text for text in PODIUMS_TEXT if text in quoted]

    # read from another repository, whose podium knows none of these jobs: still only the user's words
    other = env.root / "other"
    subprocess.run(["git", "clone", "-q", str(env.origin), str(other)], check=True, env=env.vars)
    elsewhere = env.podium_json("distill", "--facts", cwd=other)
    assert elsewhere["read"]["sessions"] == 9  # the orchestrator's too, read without podium's brief
    # (claude now and then leaves a session's first prompt out of its transcript: the sentences, not the counts)
    assert {summary.split('"')[1] for summary in _instructions(elsewhere)} == {"keep the diff small",
                                                                             "run the whole suite"}
    quoted = _quoted(env, other)
    assert "Keep the diff small." in quoted
    assert not [text for text in PODIUMS_TEXT if text in quoted]


@pytest.mark.parametrize("tail", [
    "(podium: since your last turn 1 file changed: app.py; HEAD is 1a2b3c4 Fix greet.)",
    "(podium: the app under test answers at http://127.0.0.1:8123/ this turn (podium serves it; do not start it).)",
    "(podium: the app under test answers at http://127.0.0.1:8123/ this turn (podium serves it; do not start it); "
    "since your last turn 2 files changed: app.py, b.py; HEAD is 1a2b3c4 Fix greet.)",
])
def test_what_podium_adds_to_a_testers_next_turn_is_not_the_users(tail: str) -> None:
    from podium.transcripts import users_part

    assert users_part(f"Run the suite again.\n\n{tail}") == "Run the suite again."
