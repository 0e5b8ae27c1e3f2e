"""Jobs on the real aider CLI (aider-chat: plain text, whole-file edits, no sessions) against the scripted model."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Env, aider_models, assert_one_line_error, chat_requests, git


def test_aider_worker_writes_the_file_and_leaves_commits_to_podium(env: Env) -> None:
    env.serve({"steps": [{"text": "Writing the changelog.",
                          "write": {"path": "CHANGELOG.md", "content": "# Changes\n"}}]})
    job_id = env.delegate("Start a changelog", "--agent", "aider", "--effort", "max")
    result = env.podium("wait", str(job_id), "--timeout", "120")
    assert result.returncode == 0, result.stdout + result.stderr
    job = env.job(job_id)
    assert job["state"] == "done" and job["commits"] == 0
    worktree = Path(job["workspace"])
    assert (worktree / "CHANGELOG.md").read_text() == "# Changes\n"
    assert git("rev-list", "--count", "origin/main..HEAD", cwd=worktree) == "0"  # aider committed nothing
    # aider's own files (chat history, repo map cache) stay out of the work, and .gitignore is not touched
    status = git("status", "--porcelain", "--untracked-files=all", cwd=worktree).splitlines()
    assert [line[3:] for line in status] == ["CHANGELOG.md"]
    assert git("status", "--porcelain", cwd=env.repo) == ""
    summary = env.podium_json("logs", str(job_id), "--summary")
    assert summary["final"] == "Writing the changelog."
    assert [f["path"] for f in summary["files"]] == ["CHANGELOG.md"]
    events = env.podium_json("logs", str(job_id))["events"]
    assert [e["data"]["path"] for e in events if e["kind"] == "file_change"] == ["CHANGELOG.md"]
    assert [e["data"]["text"] for e in events if e["kind"] == "message"] == ["Writing the changelog."]
    request = chat_requests(env)[-1]["body"]
    assert "Start a changelog" in json.dumps(request["messages"]) and request["reasoning_effort"] == "xhigh"

    assert_one_line_error(env.podium("resume", str(job_id), "add an entry"),
                          f"job {job_id} ran the aider agent, which cannot resume a session")
    assert_one_line_error(env.podium("test", job["branch"], "Check the changelog", "--agent", "aider"),
                          "the aider agent cannot resume a session; the tester needs one that can: codex, claude")


def test_aider_request_that_fails_fails_the_job(env: Env) -> None:
    """aider exits 0 when its model refuses a request: the job says it failed, and why."""
    aider_models(Path(env.vars["HOME"]), "openai/scripted", "openai/scripted-large")
    (env.repo / "podium.toml").write_text('[roles.worker]\nagent = "aider"\nmodel = "openai/scripted-large"\n')
    env.serve({"steps": [{"error": {"status": 400, "message": "this model is not for you"}}]})
    job_id = env.delegate("Start a changelog")
    assert env.podium("wait", str(job_id), "--timeout", "120").returncode == 1
    job = env.job(job_id)
    assert job["state"] == "failed" and job["exit_code"] == 0
    assert "BadRequestError" in job["error"] and "this model is not for you" in job["error"]
    assert chat_requests(env)[-1]["body"]["model"] == "scripted-large"  # the role's model


def test_aider_args_that_undo_podiums_flags_are_refused(env: Env) -> None:
    for args, needles in ((["--auto-commits"], ("--auto-commits", "--no-auto-commits")),
                          (["--message", "hi"], ("--message", "--message-file /dev/stdin")),
                          (["--pretty"], ("--pretty", "--no-pretty"))):
        (env.repo / "podium.toml").write_text(f"[agents.aider]\nargs = {json.dumps(args)}\n")
        assert_one_line_error(env.podium("delegate", "Do it", "--agent", "aider"), *needles)
    (env.repo / "podium.toml").write_text('[agents.aider]\nargs = ["--sonnet"]\n')
    assert_one_line_error(env.podium("delegate", "Do it", "--agent", "aider", "--model", "openai/scripted"),
                          "(--sonnet)", "openai/scripted")
    assert env.podium_json("status", "--all") == []  # no job was made
