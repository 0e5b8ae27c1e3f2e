"""Jobs on the real copilot CLI (GitHub Copilot CLI, prompt mode, its own provider) against the scripted model."""

from __future__ import annotations

from conftest import Env, changelog_job, changelog_resumed, chat_requests, distill_trying_to_write


def test_copilot_worker_changes_files_and_resume_keeps_the_session(env: Env) -> None:
    job, worktree, summary, events = changelog_job(env, "--agent", "copilot", "--effort", "high")
    assert [f["path"] for f in summary["files"]] == ["CHANGELOG.md"]
    command = next(e["data"] for e in events if e["kind"] == "command")
    assert command["command"] == "wc -l CHANGELOG.md && exit 3" and "1 CHANGELOG.md" in command["output"]
    assert command["exit_code"] == 3
    assert [e["data"]["path"] for e in events if e["kind"] == "file_change"] == [str(worktree / "CHANGELOG.md")]
    assert "--allow-tool shell --allow-tool write" in env.podium("logs", str(job["id"])).stdout
    assert chat_requests(env)[0]["body"].get("reasoning_effort") == "high"  # the role's effort reached the model

    changelog_resumed(env, job, worktree)


def test_copilot_tester_turns_resume_one_session(env: Env) -> None:
    job_id = env.delegate("Worker", "--agent", "command", "--command", "sh -c 'echo x > slow.txt'")
    env.podium("wait", str(job_id), "--timeout", "60")
    branch = env.job(job_id)["branch"]
    env.serve({"steps": [{"shell": "cat slow.txt"}, "slow.txt says x.", "Second turn: nothing new."]})
    first = env.podium_json("test", branch, "Check slow.txt", "--agent", "copilot")
    env.podium("wait", str(first["id"]), "--timeout", "120", check=True)
    turn1 = env.job(first["id"])
    assert turn1["state"] == "done" and turn1["session_id"]
    second = env.podium_json("test", branch, "Anything new?")
    assert second["agent"] == "copilot" and second["resumed"] is True
    assert second["session_id"] == turn1["session_id"]
    env.podium("wait", str(second["id"]), "--timeout", "120", check=True)
    assert env.podium_json("logs", str(second["id"]), "--summary")["final"] == "Second turn: nothing new."


def test_a_copilot_distiller_reads_only_though_podiums_copilot_args_allow_every_tool(env: Env) -> None:
    (env.repo / "podium.toml").write_text('[agents.copilot]\nargs = ["--allow-all-tools"]\n')
    shown, _ = distill_trying_to_write(env, "copilot")
    assert "+# Orchestrator (distilled)" in shown["diff"]["ORCHESTRATOR"]
    assert not (env.repo / "sneaky.txt").exists()  # podium's --deny-tool write: a denial wins in copilot
