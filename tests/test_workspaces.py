"""Workspaces that follow the team's git rules: one commit per task, pushes with a lease, no branch switched."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import Env, git

RUN = ("--agent", "command", "--command")


def sh(script: str) -> str:
    return f"sh -c {json.dumps(script)}"


def teammate(env: Env, name: str = "mate") -> Path:
    """Another clone of origin, as a teammate's machine."""
    path = env.root / name
    git("clone", "--quiet", str(env.origin), str(path), cwd=env.root)
    git("config", "user.email", f"{name}@example.com", cwd=path)
    git("config", "user.name", name, cwd=path)
    return path


def terminal_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The one-line error of a command run at a terminal (after the prompts the human answered)."""
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert "podium: " in last, proc.stderr
    return last[last.index("podium: "):]


def test_commit_is_one_commit_on_the_base_with_only_the_tasks_files(env: Env) -> None:
    # The user's own checkout is dirty: a tracked file changed and an untracked file. Neither is the task's.
    (env.repo / "README.md").write_text("# demo\nlocal edit\n")
    (env.repo / "scratch.txt").write_text("mine\n")
    script = ("printf 'A = 1\\n' > a.py && git add a.py && git commit -qm wip && printf 'B = 2\\n' > b.py"
              " && rm app.py && echo 'Added a and b, removed app.'")
    job = env.delegate("add the a and b modules.", *RUN, sh(script))
    assert env.podium("wait", str(job), "--timeout", "30").returncode == 0
    ws, branch = Path(env.job(job)["workspace"]), env.job(job)["branch"]
    base = git("rev-parse", "origin/main", cwd=env.repo)
    (ws / "notes.md").write_text("the user's notes, made by hand in the workspace\n")

    out = env.approved_json("commit", str(job))
    assert out["committed"] and out["rounds"] == 1 and out["message_source"] == "generated"
    assert sorted(f["path"] for f in out["files"]) == ["a.py", "app.py", "b.py"]
    assert [x["path"] for x in out["left_out"]] == ["notes.md"]
    assert "no job of this task changed it" in out["left_out"][0]["why"]
    # exactly one commit, straight on the base; the agent's own "wip" commit is squashed into it
    assert git("rev-list", "--count", f"{base}..{branch}", cwd=env.repo) == "1"
    assert git("rev-parse", f"{branch}^", cwd=env.repo) == base
    assert git("show", "--name-status", "--format=", branch, cwd=env.repo).splitlines() == [
        "A\ta.py", "D\tapp.py", "A\tb.py"]
    assert git("log", "-1", "--format=%B", branch, cwd=env.repo).strip() == (
        "Add the a and b modules\n\nAdded a and b, removed app.")
    # nothing of the user's reached the commit, and the user's checkout and notes are as they were
    assert git("diff", "--name-only", cwd=env.repo) == "README.md"  # still changed, not staged
    assert git("diff", "--cached", "--name-only", cwd=env.repo) == ""
    assert (env.repo / "scratch.txt").read_text() == "mine\n"
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=env.repo) == "main"
    assert git("status", "--porcelain", cwd=ws).splitlines() == ["?? notes.md"]
    assert "PODIUM_PORT_BASE=" in (ws / ".podium" / "env").read_text()  # podium's own file: never committed

    # nothing new: nothing committed; the stored message survives
    again = env.approved_json("commit", str(job))
    assert not again["committed"] and again["commit_sha"] == out["commit_sha"]
    # the user opts a file in by name; still one commit on the base, with the same message
    more = env.approved_json("commit", str(job), "--include", "notes.md")
    assert more["committed"] and more["rounds"] == 2 and more["left_out"] == []
    assert git("rev-list", "--count", f"{base}..{branch}", cwd=env.repo) == "1"
    assert "notes.md" in git("show", "--name-only", "--format=", branch, cwd=env.repo).splitlines()
    assert more["message"] == out["message"]
    # the user's words replace the draft, and are kept
    mine = env.approved_json("commit", str(job), "-m", "PROJ-7 Add a and b\n\nAs discussed.")
    assert mine["message_source"] == "user" and mine["rounds"] == 3
    assert git("log", "-1", "--format=%s", branch, cwd=env.repo) == "PROJ-7 Add a and b"
    bad = env.podium("commit", str(job), "--include", "nowhere.txt")
    assert bad.returncode == 2 and "does not differ from the base" in bad.stderr
    # the user takes a file out; it stays out in later rounds, still in the worktree
    less = env.approved_json("commit", str(job), "--exclude", "b.py")
    assert sorted(f["path"] for f in less["files"]) == ["a.py", "app.py", "notes.md"]
    (ws / "a.py").write_text("A = 2\n")
    later = env.approved_json("commit", str(job))
    assert "b.py" not in git("show", "--name-only", "--format=", branch, cwd=env.repo).splitlines()
    assert {"path": "b.py", "why": "excluded by you (--include to add it back)"} in later["left_out"]
    assert (ws / "b.py").read_text() == "B = 2\n"


def test_the_drafted_subject_follows_the_bases_habit_and_the_branchs_ticket(env: Env) -> None:
    mate = teammate(env)

    def land(*subjects: str) -> None:
        for i, subject in enumerate(subjects):
            (mate / "history.txt").write_text(f"{subject} {i}\n")
            git("add", "history.txt", cwd=mate)
            git("commit", "--quiet", "-m", subject, cwd=mate)
        git("push", "--quiet", "origin", "HEAD:main", cwd=mate)

    land("PROJ-1 Set up the project", "PROJ-7 Add login", "Merge branch 'x'", "PROJ-9 Fix the footer")
    job = env.delegate("add the export button", "--branch", "feature/PROJ-42-add-export", *RUN,
                       sh("echo e > export.txt"))
    env.podium("wait", str(job), "--timeout", "30", check=True)
    assert env.approved_json("commit", str(job))["message"].splitlines()[0] == "PROJ-42 Add the export button"

    land(*(f"fix: repair thing {i}" for i in range(6)), "feat: add a thing")
    job = env.delegate("The importer drops empty rows", "--branch", "fix/importer-rows", *RUN,
                       sh("echo i > importer.py; echo 'Kept the empty rows in the importer.'"))
    env.podium("wait", str(job), "--timeout", "30", check=True)
    # the task is no instruction; the agent's account is: its imperative is the subject
    subject = env.approved_json("commit", str(job))["message"].splitlines()[0]
    assert subject == "fix: keep the empty rows in the importer"


def test_later_rounds_amend_the_one_commit(env: Env) -> None:
    env.serve({"steps": [{"write": {"path": "a.txt", "content": "a\n"}}, "Wrote a.txt with the first part.",
                         {"write": {"path": "b.txt", "content": "b\n"}}, "Second part: b.txt."]})
    first = env.delegate("Two part task")
    env.podium("wait", str(first), "--timeout", "60", check=True)
    ws = Path(env.job(first)["workspace"])
    one = env.approved_json("commit", cwd=ws)  # from inside the workspace, no target needed
    assert one["message"] == "Write a.txt with the first part\n\nWrote a.txt with the first part."
    second = int(env.podium_json("resume", str(first), "now the second part")["id"])
    env.podium("wait", str(second), "--timeout", "60", check=True)
    two = env.approved_json("commit", str(second))
    assert two["rounds"] == 2 and two["commit_sha"] != one["commit_sha"]
    assert two["message"] == ("Write a.txt with the first part\n\n"
                              "- Wrote a.txt with the first part.\n- Second part: b.txt.")
    branch = env.job(first)["branch"]
    base = git("rev-parse", "origin/main", cwd=env.repo)
    assert git("rev-parse", f"{branch}^", cwd=env.repo) == base
    assert git("show", "--name-only", "--format=", branch, cwd=env.repo).splitlines() == ["a.txt", "b.txt"]
    # an amend keeps the first round's author date, as `git commit --amend` does
    dates = {git("log", "-1", "--format=%aI", sha, cwd=env.repo) for sha in (one["commit_sha"], two["commit_sha"])}
    assert len(dates) == 1


def test_push_uses_a_lease_and_never_overwrites_a_teammates_push(env: Env) -> None:
    job = env.delegate("add feature", *RUN, sh("echo one > feature.txt"))
    env.podium("wait", str(job), "--timeout", "30", check=True)
    ws, branch = Path(env.job(job)["workspace"]), env.job(job)["branch"]
    first = env.approved_json("commit", str(job), "--push")
    assert first["pushed_sha"] == first["commit_sha"]
    assert git("ls-remote", "origin", f"refs/heads/{branch}", cwd=env.repo).split("\t")[0] == first["commit_sha"]
    assert [w["pushed"] for w in env.podium_json("workspaces")] == ["yes"]

    # a later round, pushed again: the lease (what podium pushed last) holds, so the amend goes through
    (ws / "feature.txt").write_text("two\n")
    env.approved_json("commit", str(job), "--include", "feature.txt")
    second = env.approved_json("push", str(job))
    assert git("ls-remote", "origin", f"refs/heads/{branch}", cwd=env.repo).split("\t")[0] == second["pushed_sha"]

    # a teammate pushes to the branch; podium's next push is refused and nothing of theirs is lost
    mate = teammate(env)
    git("checkout", "--quiet", branch, cwd=mate)
    (mate / "theirs.txt").write_text("theirs\n")
    git("add", "theirs.txt", cwd=mate)
    git("commit", "--quiet", "-m", "their fix", cwd=mate)
    git("push", "--quiet", "origin", branch, cwd=mate)
    theirs = git("rev-parse", "HEAD", cwd=mate)
    (ws / "feature.txt").write_text("three\n")
    env.approved_json("commit", str(job), "--include", "feature.txt")
    refused = env.podium_tty("push", str(job))  # approved at the terminal; origin refuses the lease
    error = terminal_error(refused)
    assert refused.returncode == 1
    assert "someone else changed it" in error and "nothing was overwritten" in error
    assert git("ls-remote", "origin", f"refs/heads/{branch}", cwd=env.repo).split("\t")[0] == theirs
    assert env.podium_json("workspaces", "--fetch")[0]["pushed"] == "differs from origin"
    # and podium keeps the unpushed work when asked to clean
    assert [k["reason"] for k in env.podium_json("clean")["kept"]] == ["1 commit not on origin"]


def test_a_branch_podium_did_not_push_is_never_overwritten(env: Env) -> None:
    mate = teammate(env)
    git("checkout", "--quiet", "-b", "shared-work", cwd=mate)
    (mate / "theirs.txt").write_text("theirs\n")
    git("add", "theirs.txt", cwd=mate)
    git("commit", "--quiet", "-m", "their work", cwd=mate)
    git("push", "--quiet", "origin", "shared-work", cwd=mate)
    theirs = git("rev-parse", "HEAD", cwd=mate)
    job = env.delegate("mine", "--branch", "shared-work", *RUN, sh("echo mine > mine.txt"))
    env.podium("wait", str(job), "--timeout", "30", check=True)
    env.approved_json("commit", str(job))
    refused = env.podium_tty("push", str(job))
    assert refused.returncode == 1 and "podium did not push" in terminal_error(refused)
    assert git("ls-remote", "origin", "refs/heads/shared-work", cwd=env.repo).split("\t")[0] == theirs


def test_nothing_is_ever_pushed_to_a_base_branch(env: Env) -> None:
    job = env.delegate("on master", "--branch", "master", *RUN, sh("echo x > x.txt"))
    env.podium("wait", str(job), "--timeout", "30", check=True)
    env.approved_json("commit", str(job))
    refused = env.podium("push", str(job))
    assert refused.returncode == 2 and "is a base branch" in refused.stderr
    assert git("ls-remote", "--heads", "origin", cwd=env.repo).count("refs/heads/") == 1  # main only


def test_no_job_can_switch_another_jobs_branch_and_a_switch_of_its_own_is_caught(env: Env) -> None:
    holder = env.delegate("hold the branch", *RUN, sh("echo a > a.txt; sleep 60"))
    held = env.wait_for(holder, lambda j: j["state"] == "running")
    ws_a = Path(held["workspace"])
    # another job tries to take the first job's branch: git refuses, the first worktree is untouched
    intruder = env.delegate("take it", *RUN, sh(f"git checkout {held['branch']}; git switch {held['branch']}; "
                                                "echo b > b.txt"))
    env.podium("wait", str(intruder), "--timeout", "30")
    assert env.job(intruder)["state"] == "done"
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=Path(env.job(intruder)["workspace"])) == (
        env.job(intruder)["branch"])
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=ws_a) == held["branch"]
    assert "already" in env.podium("logs", str(intruder), "--raw").stdout + _stderr(env, intruder)
    # a job that switches its own worktree to another branch is failed, and its work is not committed
    switcher = env.delegate("wander off", *RUN, sh("git switch -q -c elsewhere && echo c > c.txt"))
    env.podium("wait", str(switcher), "--timeout", "30")
    job = env.job(switcher)
    assert job["state"] == "failed" and "switched this worktree from" in job["error"] and "elsewhere" in job["error"]
    refused = env.podium("commit", str(switcher))
    assert refused.returncode == 2 and "not its branch" in refused.stderr
    env.podium("cancel", str(holder), check=True)
    assert git("rev-parse", "--abbrev-ref", "HEAD", cwd=env.repo) == "main"


def _stderr(env: Env, job: int) -> str:
    return (env.repo / ".git" / "podium" / "logs" / f"{job}.stderr").read_text()


def test_commit_waits_for_the_agent_to_finish(env: Env) -> None:
    job = env.delegate("slow", *RUN, sh("echo s > s.txt; sleep 60"))
    env.wait_for(job, lambda j: j["state"] == "running")
    proc = env.podium("commit", str(job))
    assert proc.returncode == 2 and f"job {job} is still running" in proc.stderr
    env.podium("cancel", str(job), check=True)


def test_a_stale_base_only_when_asked_and_then_with_its_age(env: Env) -> None:
    base = git("rev-parse", "origin/main", cwd=env.repo)
    git("remote", "set-url", "origin", str(env.root / "gone.git"), cwd=env.repo)
    refused = env.podium("delegate", "--agent", "command", "--command", "true", "--", "offline work")
    assert refused.returncode == 1 and "--allow-stale-base" in refused.stderr
    proc = env.podium("delegate", "--allow-stale-base", *RUN, "sh -c 'echo x > x.txt'", "--", "offline work")
    assert proc.returncode == 0, proc.stderr
    warning = proc.stderr.splitlines()[0]
    assert warning.startswith("warning: stale base accepted: git fetch failed")
    assert "using origin/main as last fetched" in warning and "ago" in warning and "its tip committed" in warning
    job = int(proc.stdout.strip())
    env.podium("wait", str(job), "--timeout", "30", check=True)
    assert git("merge-base", "HEAD", base, cwd=Path(env.job(job)["workspace"])) == base
    assert "stale base accepted" in env.podium("logs", str(job)).stdout


def test_a_branch_deleted_on_origin_is_shown_and_its_work_kept(env: Env) -> None:
    job = env.delegate("short lived", *RUN, sh("echo x > x.txt"))
    env.podium("wait", str(job), "--timeout", "30", check=True)
    branch = env.job(job)["branch"]
    env.approved_json("commit", str(job), "--push")
    subprocess.run(["git", "push", "--quiet", "origin", "--delete", branch], cwd=teammate(env), check=True)
    [ws] = env.podium_json("workspaces", "--fetch")
    assert ws["pushed"] == "deleted on origin"
    assert "deleted on origin" in env.podium("workspaces").stdout
    assert [k["reason"] for k in env.podium_json("clean")["kept"]] == ["1 commit not on origin"]


def test_the_message_can_be_edited_in_the_users_editor(env: Env) -> None:
    job = env.delegate("add the report", *RUN, sh("echo r > report.txt"))
    env.podium("wait", str(job), "--timeout", "30", check=True)
    proc = env.podium_tty("commit", str(job), "--edit", "--json",
                          extra_env={"EDITOR": "sed -i -e 's/^Add the report/Add the monthly report/'"})
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["message_source"] == "user"
    assert out["message"].splitlines()[0] == "Add the monthly report" and "#" not in out["message"]
    branch = env.job(job)["branch"]
    assert git("log", "-1", "--format=%s", branch, cwd=env.repo) == "Add the monthly report"
    # a later round keeps the user's words
    assert env.approved_json("commit", str(job), "--include", "report.txt")["message"] == out["message"]


def test_the_base_is_develop_then_the_configured_one(env: Env) -> None:
    for name in ("develop", "release"):
        git("push", "--quiet", "origin", f"HEAD:refs/heads/{name}", cwd=env.repo)
    run = (*RUN, "true")
    assert env.podium_json("delegate", "on develop", *run)["base"] == "origin/develop"
    (env.repo / "podium.toml").write_text('[branches]\nbase = "release"\n')
    assert env.podium_json("delegate", "on release", *run)["base"] == "origin/release"
    assert env.podium_json("delegate", "--base", "main", "on main", *run)["base"] == "origin/main"


def test_a_worktree_deleted_by_hand_does_not_block_its_path_and_the_default_base_is_asked_once(env: Env) -> None:
    import shutil

    first = env.delegate("first", "--branch", "feature/again", *RUN, sh("echo a > a.txt"))
    env.podium("wait", str(first), "--timeout", "30", check=True)
    workspace = env.job(first)["workspace"]
    shutil.rmtree(workspace)  # deleted by hand, and its branch too: git still lists the worktree
    git("update-ref", "-d", "refs/heads/feature/again", cwd=env.repo)
    assert workspace in git("worktree", "list", cwd=env.repo)
    again = env.delegate("again", "--branch", "feature/again", *RUN, sh("echo b > b.txt"))
    env.podium("wait", str(again), "--timeout", "30", check=True)
    assert env.job(again)["workspace"] == workspace and (Path(workspace) / "b.txt").is_file()

    # origin/HEAD unset (a clone of an empty repository has none): origin is asked once, then remembered
    assert subprocess.run(["git", "symbolic-ref", "-q", "refs/remotes/origin/HEAD"], cwd=env.repo).returncode == 1
    trace = env.root / "git-trace"
    env.vars["GIT_TRACE"] = str(trace)
    for prompt in ("one", "two"):
        env.delegate(prompt, *RUN, sh("true"))
    asked = [line for line in trace.read_text().splitlines() if "built-in: git ls-remote" in line]
    assert len(asked) == 0  # asked when the first workspace was made, before the trace
    assert (env.repo / ".git" / "podium" / "origin-head").read_text() == "main\n"


def test_a_worktree_left_by_a_killed_delegation_is_listed_and_cleaned_only_when_it_holds_nothing(env: Env) -> None:
    """A delegation SIGKILLed between making its worktree and recording it leaves a worktree no record names:
    podium workspaces shows it, clean removes it (and its branch) when it holds no work, and keeps it when it
    does."""
    job = env.delegate("first", "--agent", "command", "--command", "true")
    env.podium("wait", str(job), "--timeout", "30")
    root = Path(env.job(job)["workspace"]).parent
    for name in ("feature/left-behind", "feature/left-with-work"):
        git("worktree", "add", "--quiet", "-b", name, str(root / name.replace("/", "-")), "origin/main",
            cwd=env.repo)
    work = root / "feature-left-with-work"
    (work / "w.py").write_text("x = 1\n")
    git("add", "w.py", cwd=work)
    git("commit", "--quiet", "-m", "work nobody pushed", cwd=work)
    for path in root.iterdir():  # older than a delegation in progress
        os.utime(path, (time.time() - 600, time.time() - 600))
    listed = {w["branch"]: w for w in env.podium_json("workspaces")}
    assert listed["feature/left-behind"]["ahead"] == 0 and listed["feature/left-with-work"]["ahead"] == 1
    cleaned = env.podium_json("clean")
    assert sorted(w["branch"] for w in cleaned["removed"]) == ["feature/first", "feature/left-behind"]
    kept = [(k["branch"], k["reason"]) for k in cleaned["kept"]]
    assert kept == [("feature/left-with-work", "1 commit not on origin")]
    assert not (root / "feature-left-behind").exists() and work.is_dir()
    assert "feature/left-behind" not in git("branch", "--list", cwd=env.repo)


def _git_calls(trace: Path) -> list[list[str]]:
    """The git commands podium ran (not the ones git ran for them), as GIT_TRACE2_EVENT recorded them."""
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    return [e["argv"][1:] for e in events if e["event"] == "start" and "/" not in e["sid"]]


def test_a_workspace_starts_from_origin_as_just_fetched_in_four_git_calls(env: Env) -> None:
    (env.repo / "podium.toml").write_text('[branches]\ntemplate = "feature/{slug}"\n')
    git("remote", "set-head", "origin", "main", cwd=env.repo)  # as a clone has it
    # since the user last fetched, a teammate moved main and took the name podium would give this task
    mate = teammate(env)
    (mate / "app.py").write_text("def greet():\n    return 'hi'\n")
    git("commit", "--quiet", "-am", "moved", cwd=mate)
    git("tag", "-a", "v1.1", "-m", "v1.1", cwd=mate)  # a new tag comes along with the fetch
    git("push", "--quiet", "origin", "HEAD:main", "HEAD:refs/heads/feature/add-csv-import", "v1.1", cwd=mate)
    tip = git("rev-parse", "HEAD", cwd=mate)
    trace = env.root / "trace2"
    env.vars["GIT_TRACE2_EVENT"] = str(trace)
    job = env.delegate("Add CSV import", *RUN, sh("echo x > x.txt"))
    del env.vars["GIT_TRACE2_EVENT"]
    branch = env.job(job)["branch"]
    assert branch == "feature/add-csv-import-2" and git("rev-parse", branch, cwd=env.repo) == tip
    # the workspace: the settings and the branches as last fetched, read while origin is fetched, then the
    # worktree at the tip the fetch brought
    commands = [argv[0] for argv in _git_calls(trace)]
    first = min(commands.index(c) for c in ("config", "for-each-ref", "fetch"))  # the three start in any order
    made = commands[first:commands.index("worktree") + 1]
    assert sorted(made) == ["config", "fetch", "for-each-ref", "worktree"], commands
    # that the job changed something is told from the base's tree, which its runner asked git for
    assert env.podium_json("wait", str(job), "--timeout", "30")["jobs"][0]["state"] == "done"
    assert ["rev-parse", "--verify", f"{tip}^{{tree}}"] in _git_calls(trace)


def test_a_fetch_refspec_of_the_users_own_still_starts_from_origins_tip(env: Env) -> None:
    git("config", "--replace-all", "remote.origin.fetch", "+refs/heads/main:refs/remotes/origin/main", cwd=env.repo)
    git("remote", "set-head", "origin", "main", cwd=env.repo)
    mate = teammate(env)
    git("commit", "--quiet", "--allow-empty", "-m", "moved", cwd=mate)
    git("push", "--quiet", "origin", "HEAD:main", "HEAD:refs/heads/other", cwd=mate)
    job = env.delegate("Single branch", "--branch", "single", *RUN, sh("echo y > y.txt"))
    assert git("rev-parse", "single", cwd=env.repo) == git("rev-parse", "HEAD", cwd=mate)
    assert env.podium_json("wait", str(job), "--timeout", "30")["jobs"][0]["state"] == "done"


@pytest.mark.parametrize("other", ["one branch of origin", "another remote with origin's branch names"])
def test_a_fetch_by_another_tool_right_after_podiums_does_not_hide_origins_branches(env: Env, other: str) -> None:
    # an IDE's fetch rewrites FETCH_HEAD between podium's fetch and its read of it; podium reads the refs
    # instead when the file lacks a branch of origin it knew before, or names another remote
    (env.repo / "podium.toml").write_text('[branches]\ntemplate = "feature/{slug}"\n')
    git("remote", "set-head", "origin", "main", cwd=env.repo)
    git("push", "--quiet", "origin", "HEAD:refs/heads/release", cwd=env.repo)
    old = git("rev-parse", "origin/main", cwd=env.repo)
    mate = teammate(env)
    (mate / "app.py").write_text("def greet():\n    return 'hi'\n")
    git("commit", "--quiet", "-am", "moved", cwd=mate)
    git("push", "--quiet", "origin", "HEAD:main", "HEAD:refs/heads/feature/add-csv-import", cwd=mate)
    tip = git("rev-parse", "HEAD", cwd=mate)
    if other == "one branch of origin":
        then = "fetch --quiet origin main"
    else:  # a fork's upstream: the same branch names, main elsewhere
        upstream = env.root / "upstream.git"
        git("clone", "--quiet", "--bare", str(env.origin), str(upstream), cwd=env.root)
        git("update-ref", "refs/heads/main", old, cwd=upstream)
        git("remote", "add", "upstream", str(upstream), cwd=env.repo)
        then = "fetch --quiet upstream"
    real = shutil.which("git", path=env.vars["PATH"])
    wrapper = env.root / "bin" / "git"
    wrapper.parent.mkdir()
    wrapper.write_text(f'#!/bin/sh\n"{real}" "$@"; rc=$?\ncase "$*" in *--write-fetch-head*) "{real}" {then};; esac\n'
                       "exit $rc\n")
    wrapper.chmod(0o755)
    env.vars["PATH"] = f"{wrapper.parent}{os.pathsep}{env.vars['PATH']}"
    job = env.delegate("Add CSV import", *RUN, sh("echo x > x.txt"))
    # the base is origin's main as fetched, and the name a teammate took on origin is not taken again
    assert env.job(job)["branch"] == "feature/add-csv-import-2"
    assert git("rev-parse", "feature/add-csv-import-2", cwd=env.repo) == tip
    assert env.podium_json("wait", str(job), "--timeout", "30")["jobs"][0]["state"] == "done"


@pytest.mark.parametrize(("url", "written"), [
    ("/srv/git/app.git", "/srv/git/app"),
    ("/srv/git/app/", "/srv/git/app"),
    ("https://token:x-oauth@github.com/acme/app.git", "https://github.com/acme/app"),
    ("git@github.com:acme/app.git", "github.com:acme/app"),
    ("ssh://git@host:22/acme/app.git/", "ssh://host:22/acme/app"),
    ("file:///srv/a@b/app.git", "file:///srv/a@b/app"),
    ("/srv/a@b:c/app", "/srv/a@b:c/app"),
])
def test_fetch_head_names_origin_as_git_writes_it(tmp_path: Path, url: str, written: str) -> None:
    from podium.git import _fetch_head_url

    assert _fetch_head_url(url) == written
