"""The gate: nothing is committed or pushed without the human, unless the policy says it is straightforward."""

from __future__ import annotations

import json
import shlex
import struct
import sys
import time
import zlib
from pathlib import Path

import pytest

from conftest import Env, git
from test_bad_input import assert_one_line_error

RUN = ("--agent", "command", "--command")


def png(path: Path) -> None:
    """A real 1×1 PNG."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b""))


def done_job(env: Env, script: str, prompt: str = "change it") -> tuple[int, str, Path]:
    job = env.delegate(prompt, *RUN, f"sh -c {json.dumps(script)}")
    env.podium("wait", str(job), "--timeout", "30", check=True)
    return job, env.job(job)["branch"], Path(env.job(job)["workspace"])


def test_headless_commit_waits_for_the_human_who_sees_the_facts_and_approves(env: Env) -> None:
    job, branch, _ = done_job(env, "printf 'def f():\\n    return 1\\n' > f.py")
    base = git("rev-parse", "origin/main", cwd=env.repo)
    shot = Path(env.vars["HOME"]) / "Desktop" / f"{branch.replace('/', '-')}-1-home.png"
    png(shot)
    pending = env.podium("commit", str(job))  # an agent's shell: no terminal
    assert_one_line_error(pending, "gate 1 waits for a human", "podium approve 1")
    assert pending.returncode == 4
    assert git("rev-parse", branch, cwd=env.repo) == base  # nothing committed
    [gate] = env.podium_json("gates")
    assert gate["state"] == "pending" and gate["actions"] == ["commit"]
    assert [s["path"] for s in gate["facts"]["plan"]["stats"]] == ["f.py"]
    assert gate["facts"]["screenshots"] == [str(shot)] and gate["facts"]["tests"] is None
    shown = env.podium("gates").stdout
    for needle in ("gate 1: commit on", "f.py  +2 -0", "message:", "tests: none run", shot.name):
        assert needle in shown, needle
    # an agent cannot approve its own work
    assert_one_line_error(env.podium("approve", "1"), "needs a human at a terminal")
    out = json.loads(env.podium_tty("approve", "1", "--json").stdout)
    assert out["state"] == out["gate"]["state"] == "done" and out["committed"] and out["gate"]["decided_by"]
    assert git("rev-parse", f"{branch}^", cwd=env.repo) == base
    assert git("show", "--name-only", "--format=", branch, cwd=env.repo) == "f.py"
    assert env.podium_json("gates") == []
    assert_one_line_error(env.podium_tty("approve", "1"), "gate 1 is already done")


def test_a_rejection_is_recorded_with_its_reason_and_nothing_happens(env: Env) -> None:
    job, branch, _ = done_job(env, "echo x > x.py")
    base = git("rev-parse", "origin/main", cwd=env.repo)
    assert env.podium("commit", str(job), "--push").returncode == 4
    env.podium("reject", "1", "use the existing helper in utils.py", check=True)
    [gate] = env.podium_json("gates", "--all")
    assert gate["state"] == "rejected" and gate["reason"] == "use the existing helper in utils.py"
    assert git("rev-parse", branch, cwd=env.repo) == base
    assert branch not in git("ls-remote", "--heads", "origin", cwd=env.repo)
    assert_one_line_error(env.podium_tty("approve", "1"), "already rejected")
    # at the terminal, "no" is a rejection too, with the human's words
    at_terminal = env.podium_tty("commit", str(job), answers="n\nnot like this\n")
    assert at_terminal.returncode == 1 and "gate 2 rejected: not like this" in at_terminal.stdout
    assert git("rev-parse", branch, cwd=env.repo) == base


def test_approval_is_refused_when_the_work_changed_after_it_was_shown(env: Env) -> None:
    job, branch, ws = done_job(env, "echo one > f.py")
    base = git("rev-parse", "origin/main", cwd=env.repo)
    assert env.podium("commit", str(job)).returncode == 4
    (ws / "f.py").write_text("something else entirely\n")
    refused = env.podium_tty("approve", "1")
    assert refused.returncode == 2 and "changed since gate 1 was asked for" in refused.stderr
    assert git("rev-parse", branch, cwd=env.repo) == base
    assert env.podium_json("gates")[0]["state"] == "pending"


def test_the_policy_lets_straightforward_changes_through_and_says_why(env: Env) -> None:
    (env.repo / "podium.toml").write_text('[gate]\npass = ["docs-only"]\n')
    docs, docs_branch, _ = done_job(env, "printf '# Usage\\n\\nRun it.\\n' > USAGE.md")
    out = env.podium_json("commit", str(docs))  # headless, yet committed: the policy passed it
    assert out["gate"]["state"] == "done" and out["gate"]["decided_by"] == "policy"
    assert out["gate"]["reason"] == "policy: docs-only (1 file, all documentation)"
    assert git("show", "--name-only", "--format=", docs_branch, cwd=env.repo) == "USAGE.md"
    code, _, _ = done_job(env, "echo 'x = 1' > x.py")
    assert env.podium("commit", str(code)).returncode == 4  # code still asks


def test_small_changes_pass_only_with_green_tests(env: Env) -> None:
    test_file = ("import unittest\n\n\nclass T(unittest.TestCase):\n"
                 "    def test_ok(self):\n        self.assertTrue(True)\n")
    env.serve({"steps": [{"write": {"path": "test_small.py", "content": test_file}},
                         {"shell": "python3 -m unittest test_small"}, "Added a test; it passes."]})
    (env.repo / "podium.toml").write_text('[gate]\npass = ["small"]\nsmall_lines = 10\n')
    job = env.delegate("Add a small test")
    env.podium("wait", str(job), "--timeout", "60", check=True)
    out = env.podium_json("commit", str(job))
    assert out["gate"]["state"] == "done" and out["gate"]["decided_by"] == "policy"
    assert out["gate"]["reason"].startswith("policy: small (6 lines ≤ 10, no dependency or migration files, tests")
    assert out["gate"]["facts"]["tests"]["passed"] is True
    # a dependency file is never "small"
    dep, _, _ = done_job(env, "echo 'requests' > requirements.txt")
    assert env.podium("commit", str(dep)).returncode == 4


def test_a_push_passes_the_gate_too(env: Env) -> None:
    job, branch, _ = done_job(env, "echo x > x.py")
    env.approved_json("commit", str(job))
    pending = env.podium("push", str(job))
    assert pending.returncode == 4 and "gate 2 waits" in pending.stderr
    assert branch not in git("ls-remote", "--heads", "origin", cwd=env.repo)
    out = json.loads(env.podium_tty("approve", "2", "--json").stdout)
    assert out["result"]["pushed"] == out["commit_sha"]
    assert git("ls-remote", "origin", f"refs/heads/{branch}", cwd=env.repo).split("\t")[0] == out["commit_sha"]


def test_a_push_approves_the_commit_it_showed_and_nothing_new_asks_nothing(env: Env) -> None:
    job, branch, ws = done_job(env, "echo x > x.py")
    first = env.approved_json("commit", str(job))
    assert env.podium("push", str(job)).returncode == 4  # gate 2: push of the first commit
    (ws / "x.py").write_text("y\n")
    env.approved_json("commit", str(job))  # gate 3: a new commit replaces the one gate 2 showed
    assert_one_line_error(env.podium_tty("approve", "2"), "gate 2 was superseded by gate 3")
    assert branch not in git("ls-remote", "--heads", "origin", cwd=env.repo)
    assert_one_line_error(env.podium("reject", "2", "stale"), "superseded by gate 3")
    pushed = env.approved_json("push", str(job))
    assert pushed["pushed_sha"] == pushed["commit_sha"] != first["commit_sha"]
    idle = env.podium_json("push", str(job))  # headless, and nothing to ask about
    assert idle["gate"]["state"] == "done" and idle["gate"]["reason"].startswith("nothing new")


def test_a_gate_is_done_only_once_its_action_succeeded_and_a_failed_one_can_be_approved_again(env: Env) -> None:
    job, branch, _ = done_job(env, "echo x > x.py")
    base = git("rev-parse", "origin/main", cwd=env.repo)
    assert env.podium("commit", str(job)).returncode == 4
    # a fresh machine: git has no user.name/user.email, and may not guess one
    for key in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL"):
        env.vars.pop(key)
    git("config", "--unset", "user.email", cwd=env.repo)
    git("config", "user.useConfigOnly", "true", cwd=env.repo)
    failed = env.podium_tty("approve", "1")
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert "gate 1 failed: git does not know who you are" in failed.stderr
    assert "git config --global user.email" in failed.stderr and "podium approve 1 again" in failed.stderr
    [gate] = env.podium_json("gates")  # still listed: the human can act on it
    assert gate["state"] == "failed" and "git does not know who you are" in gate["result"]["error"]
    assert "failed: git does not know who you are" in env.podium("gates").stdout
    assert git("rev-parse", branch, cwd=env.repo) == base  # nothing committed
    doctor = env.podium("doctor")
    assert doctor.returncode == 1 and "git identity (for commits) missing" in doctor.stderr
    init = env.podium("init")  # writes its files, and says first what to fix (exit 0: its work is done)
    assert init.returncode == 0 and "git identity (for commits) missing" in init.stderr
    assert "git config --global user.email" in init.stderr
    git("config", "user.email", "dev@example.com", cwd=env.repo)
    done = json.loads(env.podium_tty("approve", "1", "--json").stdout)
    assert done["state"] == "done" and done["committed"] and "error" not in done["result"]
    assert git("rev-list", "--count", f"{base}..{branch}", cwd=env.repo) == "1"  # exactly one commit
    assert env.podium_json("gates") == []
    assert_one_line_error(env.podium_tty("approve", "1"), "gate 1 is already done")


INTERRUPT_PUSH = """#!{python}
import os, sys, time
import psutil
approve = psutil.Process().parent()  # git push; the podium approve above it
while approve is not None and "approve" not in approve.cmdline():
    approve = approve.parent()
os.kill(approve.pid, {signal})
time.sleep(0.5)
sys.exit(1)  # and the push is refused: nothing reaches origin
"""


def test_a_gate_interrupted_or_killed_while_carried_out_reads_failed_and_is_approved_again(env: Env) -> None:
    """Ctrl-C during the push ends the gate failed at once; a process killed while carrying it out cannot say
    so, and the gate reads failed once its process is gone. Either way it stays open, and approving it again
    pushes the one commit already made."""
    job, branch, _ = done_job(env, "echo x > x.py")
    base = git("rev-parse", "origin/main", cwd=env.repo)
    assert env.podium("commit", str(job), "--push").returncode == 4
    hook = env.repo / ".git" / "hooks" / "pre-push"
    hook.write_text(INTERRUPT_PUSH.format(python=sys.executable, signal="signal.SIGINT").replace(
        "import os", "import os, signal"))
    hook.chmod(0o755)
    interrupted = env.podium_tty("approve", "1")
    assert interrupted.returncode == 130 and "Traceback" not in interrupted.stderr
    [gate] = env.podium_json("gates")  # still listed: the human can act on it
    assert gate["state"] == "failed" and gate["result"]["error"] == "interrupted (Ctrl-C) before it finished"
    commit = gate["result"]["commit"]  # made before the push was interrupted
    assert git("rev-parse", branch, cwd=env.repo) == commit
    hook.write_text(INTERRUPT_PUSH.format(python=sys.executable, signal="signal.SIGKILL").replace(
        "import os", "import os, signal"))
    killed = env.podium_tty("approve", "1")
    assert killed.returncode == -9
    [gate] = env.podium_json("gates")
    assert gate["state"] == "failed" and gate["result"]["error"] == "interrupted: the process carrying it out ended"
    assert "failed: interrupted: the process carrying it out ended" in env.podium("gates").stdout
    assert branch not in git("ls-remote", "--heads", "origin", cwd=env.repo)
    hook.unlink()
    done = json.loads(env.podium_tty("approve", "1", "--json").stdout)
    assert done["state"] == "done" and done["result"]["commit"] == commit == done["result"]["pushed"]
    assert git("rev-list", "--count", f"{base}..{branch}", cwd=env.repo) == "1"  # exactly one commit
    assert git("ls-remote", "origin", f"refs/heads/{branch}", cwd=env.repo).split("\t")[0] == commit
    assert env.podium_json("gates") == []


def test_a_newer_request_supersedes_the_pending_one_and_a_rejected_gate_stays_rejected(env: Env) -> None:
    job, branch, ws = done_job(env, "echo one > f.py")
    first = env.podium("commit", str(job), "--json")
    assert first.returncode == 4 and json.loads(first.stdout)["notes"] == []
    (ws / "f.py").write_text("two\n")
    second = env.podium("commit", str(job), "--json")  # what the MCP tool returns too
    assert second.returncode == 4 and json.loads(second.stdout)["gate"]["id"] == 2
    assert json.loads(second.stdout)["notes"] == [{"kind": "superseded", "text": "supersedes gate 1"}]
    assert [g["id"] for g in env.podium_json("gates")] == [2]  # only the latest picture waits
    every = {g["id"]: g for g in env.podium_json("gates", "--all")}
    assert every[1]["state"] == "superseded" and every[1]["reason"] == "superseded by gate 2"
    assert "— superseded" in env.podium("gates", "--all").stdout
    assert_one_line_error(env.podium_tty("approve", "1"), "gate 1 was superseded by gate 2")
    (ws / "f.py").write_text("three\n")
    third = env.podium("commit", str(job))
    assert third.returncode == 4 and third.stderr.splitlines()[0] == "note: supersedes gate 2"
    assert "gate 3 waits for a human" in third.stderr
    env.podium("reject", "3", "split the change in two", check=True)
    assert_one_line_error(env.podium_tty("approve", "3"), "gate 3 is already rejected")
    assert git("rev-parse", branch, cwd=env.repo) == git("rev-parse", "origin/main", cwd=env.repo)


def test_an_agent_cannot_approve_even_with_a_terminal_of_its_own_and_its_job_variable_cleared(env: Env) -> None:
    """From a worker's shell: ``script`` gives ``podium approve`` a terminal, ``env -u`` drops PODIUM_JOB_ID, and
    ``setsid -f`` detaches it from the agent's process tree. Each try is refused (the runner is still among its
    ancestors: it adopts what its agent leaves behind) and the gate stays pending; the human's own terminal
    approves."""
    job, branch, _ = done_job(env, "echo v > v.py")
    assert env.podium("commit", str(job)).returncode == 4  # gate 1, pending
    podium = f"{sys.executable} -m podium approve 1"
    tries = {  # the job waits for its detached try: while it runs, the runner is its subreaper
        "script": f"env -u PODIUM_JOB_ID script -qec '{podium}' /dev/null > script.out 2>&1",
        "detached": f"env -u PODIUM_JOB_ID setsid -f sh -c \"script -qec '{podium}' /dev/null > detached.out 2>&1; "
                    "touch detached.done\"; while [ ! -e detached.done ]; do sleep 0.1; done",
    }
    sneaky = env.delegate("approve it yourself", *RUN, f"sh -c {json.dumps('; '.join(tries.values()))}")
    env.podium("wait", str(sneaky), "--timeout", "60")
    where = Path(env.job(sneaky)["workspace"])
    for name in tries:
        text = (where / f"{name}.out").read_text()
        assert "approving is the human's, and this process is not" in text and "Traceback" not in text, name
    [gate] = env.podium_json("gates")
    assert gate["id"] == 1 and gate["state"] == "pending"
    assert git("rev-parse", branch, cwd=env.repo) == git("rev-parse", "origin/main", cwd=env.repo)
    done = json.loads(env.podium_tty("approve", "1", "--json").stdout)  # the human, at their terminal
    assert done["state"] == "done" and done["committed"]


def test_what_an_agent_leaves_running_cannot_approve_after_its_job_ended(env: Env) -> None:
    """A process the agent left in its session, its job variable cleared, tries once the job has ended and its
    runner has left (no podium ancestor any more): its session is the agent's, and it is refused."""
    job, branch, _ = done_job(env, "echo v > v.py")
    assert env.podium("commit", str(job)).returncode == 4  # gate 1, pending
    podium = f"{sys.executable} -m podium approve 1"
    later = (f"(env -u PODIUM_JOB_ID sh -c \"sleep 3; script -qec '{podium}' /dev/null > later.out 2>&1; "
             "touch later.done\" > /dev/null 2>&1 &); echo left it running")
    sneaky = env.delegate("approve it later", *RUN, f"sh -c {json.dumps(later)}")
    env.podium("wait", str(sneaky), "--timeout", "60")  # the job ended (no changes); its runner leaves
    where = Path(env.job(sneaky)["workspace"])
    deadline = time.monotonic() + 30
    while not (where / "later.done").exists():
        assert time.monotonic() < deadline, "the leftover never tried"
        time.sleep(0.2)
    text = (where / "later.out").read_text()
    assert f"it was started in the session of job {sneaky}'s agent" in text and "Traceback" not in text, text
    assert env.podium_json("gates")[0]["state"] == "pending"
    assert git("rev-parse", branch, cwd=env.repo) == git("rev-parse", "origin/main", cwd=env.repo)


def land(env: Env, *commits: tuple[str, dict[str, str]], fetch: bool = True) -> None:
    """A teammate's commits (subject, files) pushed to origin's main (and fetched here)."""
    from test_workspaces import teammate

    mate = env.root / "mate"
    if not mate.exists():
        teammate(env)
    git("pull", "--quiet", "origin", "main", cwd=mate)
    for subject, files in commits:
        for name, text in files.items():
            (mate / name).parent.mkdir(parents=True, exist_ok=True)
            (mate / name).write_text(text)
        git("add", *files, cwd=mate)
        git("commit", "--quiet", "-m", subject, cwd=mate)
    git("push", "--quiet", "origin", "HEAD:main", cwd=mate)
    if fetch:
        git("fetch", "--quiet", "origin", cwd=env.repo)


CALC = "def add(a, b):\n    return a + b\n"
CALC_TESTS = "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
HISTORY = (("feat: add the calculator", {"calc.py": CALC}), ("docs: say what calc does", {"README.md": "# calc\n"}),
           ("test: cover add", {"tests/test_calc.py": CALC_TESTS}), ("feat: print results", {"cli.py": "print(1)\n"}))


def test_the_drafted_message_reads_like_the_teams_own_and_follows_every_round(env: Env) -> None:
    land(env, *HISTORY)
    env.serve({"steps": [
        {"write": {"path": "calc.py", "content": CALC + "\n\ndef sub(a, b):\n    return a - b\n"}},
        "Added sub() to calc.py.",
        {"write": {"path": "tests/test_calc.py", "content": CALC_TESTS.replace("add", "add, sub", 1)
                   + "\n\ndef test_sub():\n    assert sub(3, 1) == 2\n"}},
        "Added a test for sub()."]})
    first = env.delegate("Users need to subtract numbers too; calc.py only adds. The unit tests in tests/ should "
                         "cover the new function, with negative numbers and zero as edge cases.")
    env.podium("wait", str(first), "--timeout", "60", check=True)
    one = env.approved_json("commit", str(first))
    subject, _, body = one["message"].partition("\n\n")
    assert subject == "feat: let users subtract numbers"  # the team's type; a phrase, not the prompt cut off
    assert body == "Added sub() to calc.py."
    # round 2: the message follows the change without --regenerate
    second = int(env.podium_json("resume", str(first), "now the tests")["id"])
    env.podium("wait", str(second), "--timeout", "60", check=True)
    two = env.approved_json("commit", str(second))
    assert two["message"] == "feat: let users subtract numbers\n\n- Added sub() to calc.py.\n- Added a test for sub()."
    # the human's words are kept, and the gate says when the change moved on since they were written
    mine = env.approved_json("commit", str(first), "-m", "feat: subtraction\n\nAs discussed with the team.")
    ws = Path(env.job(first)["workspace"])
    (ws / "calc.py").write_text(CALC + "\n\ndef sub(a, b):\n    return a - b  # by hand\n")
    assert env.podium("commit", str(first)).returncode == 4
    shown = env.podium("gates").stdout
    assert "message:\n    feat: subtraction\n    \n    As discussed with the team.\n  note: " in shown
    assert ("note: your message, kept; the change moved on since it was written (calc.py changed): "
            "--regenerate drafts one, -m writes one") in shown
    assert mine["message_source"] == "user"


def test_the_type_and_scope_come_from_the_change_and_the_teams_habit(env: Env) -> None:
    land(env, ("feat(calc): add the calculator", {"calc/core.py": CALC}),
         ("docs(calc): say what calc does", {"calc/README.md": "# calc\n"}),
         ("fix(cli): print the result", {"cli/main.py": "print(1)\n"}), ("chore: tidy", {"x.txt": "x\n"}))
    docs, _, _ = done_job(env, "printf '# calc\\n\\nAdds and subtracts.\\n' > calc/README.md",
                          "Please document subtraction in the calc readme")
    assert env.approved_json("commit", str(docs))["message"].splitlines()[0] == (
        "docs(calc): document subtraction in the calc readme")
    tests, _, _ = done_job(env, "mkdir -p calc/tests && echo 'def test_x(): pass' > calc/tests/test_core.py",
                           "The core module has no tests at all")
    subject = env.approved_json("commit", str(tests))["message"].splitlines()[0]
    assert subject == "test(calc): add tests for core"  # no phrase in the prompt, no account: what the change does
    code, _, _ = done_job(env, "printf 'def mul(a, b):\\n    return a * b\\n' >> calc/core.py && echo 'Added mul().'",
                          "multiplication, in the style of add(); and then a long explanation that goes on and on "
                          "and on about how multiplication should work")
    assert env.approved_json("commit", str(code))["message"].splitlines()[0] == "feat(calc): add mul()"


@pytest.mark.parametrize(("task", "subject"), [
    ("Users need to subtract numbers too; calc.py only adds. The unit tests…", "Let users subtract numbers"),
    ("Could you please add a CSV export to the reports page?", "Add a CSV export to the reports page"),
    ("The total should include tax", "Make the total include tax"),
    ("Users should be able to export their invoices as CSV", "Let users export their invoices as CSV"),
    ("I've fixed the importer so that empty rows are kept", "Fix the importer so that empty rows are kept"),
    ("Refactored the parser into smaller functions.", "Refactor the parser into smaller functions"),
    ("Implement the new billing flow for enterprise customers, including proration, invoices and the emails",
     "Implement the new billing flow for enterprise customers"),
    ("We need to support Python 3.13", "Support Python 3.13"),
    ("The importer drops empty rows", None),  # no instruction in it: the account or the change says it
])
def test_a_subject_is_an_instruction_made_from_the_task(task: str, subject: str | None) -> None:
    from podium.message import from_text

    assert from_text(task, []) == subject


SUITE = {"calc.py": CALC + "\n\ndef mul(a, b):\n    return a + b\n",  # mul is broken on the base
         "tests/test_calc.py": "from calc import add, mul\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\n"
                               "def test_mul():\n    assert mul(2, 3) == 6\n"}
PYTEST = f"{shlex.quote(sys.executable)} -m pytest -q -p no:cacheprovider"


def test_a_targeted_pass_never_hides_a_failing_full_run(env: Env) -> None:
    land(env, ("add calc and its tests", SUITE))
    env.serve({"steps": [
        {"write": {"path": "calc.py", "content": SUITE["calc.py"] + "\n\ndef sub(a, b):\n    return a - b\n"}},
        {"write": {"path": "tests/test_sub.py", "content": "from calc import sub\n\n\ndef test_sub():\n"
                                                           "    assert sub(3, 1) == 2\n"}},
        {"shell": f"{PYTEST} 2>&1"},
        {"shell": f"cd tests/.. && {PYTEST} tests/test_sub.py::test_sub"},
        "Added sub(); its test passes.",
        {"write": {"path": "calc.py", "content": CALC + "\n\ndef mul(a, b):\n    return a * b\n\n\n"
                                                 "def sub(a, b):\n    return a - b\n"}},
        {"shell": f"{PYTEST} -k mul"},
        "Fixed mul too.",
        {"shell": PYTEST}, "The whole suite passes."]})
    job = env.delegate("Add sub() to calc.py")
    env.podium("wait", str(job), "--timeout", "90", check=True)
    assert env.podium("commit", str(job)).returncode == 4
    [gate] = env.podium_json("gates")
    assert gate["facts"]["tests"]["passed"] is False
    shown = env.podium("gates").stdout
    assert (f"  tests: FAILED\n    full suite: 1 failed, 2 passed (pytest, job {job})\n"
            f"      failing: tests/test_calc.py::test_mul\n"
            f"    targeted after it: tests/test_sub.py::test_sub passed (job {job})\n") in shown
    # a targeted pass of the failing test does not clear it either: only a full run that passes does
    second = int(env.podium_json("resume", str(job), "fix mul as well")["id"])
    env.podium("wait", str(second), "--timeout", "90", check=True)
    assert env.podium("commit", str(second)).returncode == 4
    shown = env.podium("gates").stdout
    assert f"targeted after it: -k mul passed (job {second})" in shown and "tests: FAILED" in shown
    third = int(env.podium_json("resume", str(job), "run everything")["id"])
    env.podium("wait", str(third), "--timeout", "90")
    assert env.job(third)["state"] == "no_changes"  # it only ran the tests
    assert env.podium("commit", str(third)).returncode == 4
    shown = env.podium("gates").stdout
    assert f"  tests: passed\n    full suite: 3 passed (pytest, job {third})\n" in shown
    assert "targeted after it" not in shown


def test_a_worktree_that_cannot_follow_a_moved_base_keeps_the_old_base_and_the_gate_says_why(env: Env) -> None:
    job, branch, ws = done_job(env, "echo x > x.py")
    (ws / "README.md").write_text("# demo\nmy own note\n")  # the human's, outside the task
    land(env, ("readme", {"README.md": "# demo, documented\n"}), fetch=False)
    base = git("rev-parse", f"{branch}", cwd=env.repo)
    assert env.podium("commit", str(job), "--push").returncode == 2  # a push on the old base: refused
    assert env.podium("commit", str(job)).returncode == 4  # a commit alone may wait on the old base, said so
    shown = env.podium("gates").stdout
    assert ("origin/main moved on (+1 commit); still on the old base: README.md changed in the worktree outside "
            "this change and there too") in shown
    out = json.loads(env.podium_tty("approve", "2", "--json").stdout)
    assert git("rev-parse", f"{out['commit_sha']}^", cwd=env.repo) == base
    assert (ws / "README.md").read_text() == "# demo\nmy own note\n"  # nothing of the human's touched
    synced = env.podium("sync", branch)
    assert_one_line_error(synced, "README.md changed in the worktree outside this task and on origin/main too")


def test_a_half_resolved_conflict_is_never_committed(env: Env) -> None:
    job, branch, ws = done_job(env, "printf 'def greet():\\n<<<<<<< origin/main\\n    return \"hi\"\\n=======\\n"
                                    "    return \"hello\"\\n>>>>>>> feature\\n' > app.py")
    refused = env.podium("commit", str(job))
    assert_one_line_error(refused, "app.py:2 (and 2 more) still holds a conflict marker", f"podium sync {branch}")
    assert env.podium_json("gates", "--all") == []  # no gate was opened for it
    (ws / "app.py").write_text("def greet():\n    return 'hi'\n")  # resolved: it goes to the gate as usual
    assert_one_line_error(env.podium("commit", str(job)), "gate 1 waits for a human")
