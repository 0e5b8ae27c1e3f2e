"""podium ship end to end: ticket → agent → gate → one commit pushed with a lease → the PR, kept in sync."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Env, git
from servers.github import GitHubServer, Issue, Pull
from test_gate import png

RUN = ("--agent", "command", "--command")


@pytest.fixture
def github(env: Env) -> Iterator[GitHubServer]:
    server = GitHubServer()
    server.issues[12] = Issue(12, "Checkout total ignores discounts", "Add a coupon: the total is wrong.",
                              labels=["bug"])
    env.vars["GITHUB_TOKEN"] = server.token
    settings = f'repo = "acme/shop"\napi = "{server.url}"\n'
    (env.repo / "podium.toml").write_text(f'[tracker]\nkind = "github"\n{settings}[forge]\nkind = "github"\n{settings}')
    yield server
    server.stop()
    assert server.errors == []


def agent(script: str, answer: str) -> tuple[str, ...]:
    return (*RUN, f"sh -c {json.dumps(script + '; echo ' + json.dumps(answer))}")


def test_ship_makes_one_commit_and_one_pr_and_keeps_them_in_sync(env: Env, github: GitHubServer) -> None:
    # the worker is the real codex CLI, its model scripted: it reads the ticket snapshot and writes the fix
    env.serve({"steps": [{"shell": "head -1 .podium/ticket.md"},
                         {"write": {"path": "total.py", "content": "def total(x, d):\n    return x - d\n"}},
                         "Total now subtracts the discount."]})
    first = env.delegate("The total ignores coupons", "--ticket", "12")
    env.podium("wait", str(first), "--timeout", "60", check=True)
    # the command's output (the snapshot's first line) went back to the model in codex's next request
    assert any("# 12: Checkout total ignores discounts" in json.dumps(r.get("body")) for r in env.requests())
    branch = env.job(first)["branch"]
    png(Path(env.vars["HOME"]) / "Desktop" / f"{branch.replace('/', '-')}-1-cart.png")
    base = git("rev-parse", "origin/main", cwd=env.repo)

    shipped = env.approved_json("ship", str(first))
    assert shipped["gate"]["actions"] == ["commit", "push", "pr"] and shipped["gate"]["state"] == "done"
    [pull] = github.pulls.values()
    assert (pull.head, pull.base) == (branch, "main")
    assert pull.title == "Checkout total ignores discounts"  # the commit's subject: the ticket's title
    assert pull.body.startswith("Total now subtracts the discount.\n\nCloses #12")
    # GitHub takes no image uploads: the screenshot went to podium's own branch, shown from its pinned commit
    stem, name = branch.replace("/", "-"), f"{branch.replace('/', '-')}-1-cart.png"
    shots = git("ls-remote", "origin", "refs/heads/podium/screenshots", cwd=env.repo).split("\t")[0]
    git("fetch", "--quiet", "origin", shots, cwd=env.repo)
    assert git("ls-tree", "-r", "--name-only", shots, cwd=env.repo) == f"{stem}/{name}"
    assert f"![{name}](https://github.com/acme/shop/blob/{shots}/{stem}/{name}?raw=true)" in pull.body
    assert shipped["result"]["pr"] == f"https://github.com/acme/shop/pull/{pull.number}"
    assert shipped["pr_url"] == shipped["result"]["pr"] and shipped["pr_description"] == pull.body
    assert pull.body.endswith(f"\n\n_Approved in podium by {getpass.getuser()}, gate 1._")  # how it passed
    remote = git("ls-remote", "origin", f"refs/heads/{branch}", cwd=env.repo).split("\t")[0]
    assert remote == shipped["commit_sha"]
    assert git("rev-parse", f"{remote}^", cwd=env.repo) == base
    assert git("log", "-1", "--format=%s", remote, cwd=env.repo) == pull.title

    # round 2 on the same ticket: still one commit, the same PR, its description brought in line
    round_two = len(github.requests)
    second = env.delegate("Add a test for the discount", "--ticket", "12",
                          *agent("printf 'assert True\\n' > test_total.py", "Added a regression test."))
    env.podium("wait", str(second), "--timeout", "30", check=True)
    again = env.approved_json("ship", str(second))  # the drafted message follows the change: no --regenerate
    assert len(github.pulls) == 1
    assert pull.body.startswith("- Total now subtracts the discount.\n- Added a regression test.\n\nCloses #12")
    assert pull.body.endswith(f"_Approved in podium by {getpass.getuser()}, gate 2._")
    assert git("ls-remote", "origin", "refs/heads/podium/screenshots", cwd=env.repo).split("\t")[0] == shots
    remote = git("ls-remote", "origin", f"refs/heads/{branch}", cwd=env.repo).split("\t")[0]
    assert remote == again["commit_sha"] != shipped["commit_sha"]
    assert git("rev-parse", f"{remote}^", cwd=env.repo) == base
    assert sorted(git("show", "--name-only", "--format=", remote, cwd=env.repo).splitlines()) == [
        "test_total.py", "total.py"]
    patches = [r for r in github.requests[round_two:] if r["method"] == "PATCH"]
    assert len(patches) == 1 and set(patches[0]["body"]) == {"title", "body"}  # updated in place, once

    # nothing new: no question, no request that writes
    writes = len([r for r in github.requests if r["method"] != "GET"])
    idle = env.podium_json("ship", str(second))  # headless: it would wait if it had anything to ask
    assert idle["gate"]["state"] == "done" and idle["gate"]["reason"].startswith("nothing new")
    assert len([r for r in github.requests if r["method"] != "GET"]) == writes


def test_headless_ship_waits_and_an_existing_pr_is_updated_not_duplicated(env: Env, github: GitHubServer) -> None:
    job = env.delegate("fix it", "--ticket", "12", *agent("echo fix > fix.py", "Fixed."))
    env.podium("wait", str(job), "--timeout", "30", check=True)
    branch = env.job(job)["branch"]
    github.pulls[7] = Pull(7, branch, "main", "WIP", "opened by hand")  # someone opened it already
    pending = env.podium("ship", str(job))
    assert pending.returncode == 4 and "podium approve 1" in pending.stderr
    assert branch not in git("ls-remote", "--heads", "origin", cwd=env.repo) and github.pulls[7].title == "WIP"
    shown = env.podium("gates").stdout
    assert "pull request (github): Checkout total ignores discounts" in shown and "Closes #12" in shown
    out = json.loads(env.podium_tty("approve", "1", "--json").stdout)
    assert list(github.pulls) == [7] and github.pulls[7].title == "Checkout total ignores discounts"
    assert out["result"]["pr_number"] == "7"


def test_ship_without_a_forge_says_so_before_asking(env: Env) -> None:
    job = env.delegate("x", *RUN, "sh -c 'echo x > x.py'")
    env.podium("wait", str(job), "--timeout", "30", check=True)
    proc = env.podium("ship", str(job))
    assert proc.returncode == 2 and "no forge for pull requests" in proc.stderr
    assert env.podium_json("gates", "--all") == []


def test_a_forge_refusal_after_the_push_is_one_line_and_the_next_ship_finishes(env: Env, github: GitHubServer) -> None:
    job = env.delegate("fix it", "--ticket", "12", *agent("echo fix > fix.py", "Fixed."))
    env.podium("wait", str(job), "--timeout", "30", check=True)
    branch = env.job(job)["branch"]
    github.fail += [(200, {}, []), (403, {}, {"message": "Resource not accessible by integration"})]  # list, create
    refused = env.podium_tty("ship", str(job))
    last = refused.stderr.strip().splitlines()[-1]
    assert refused.returncode == 1 and "no permission (Resource not accessible by integration)" in last
    assert "Traceback" not in refused.stderr and github.pulls == {}
    # the commit and the push happened and are kept; shipping again only opens the PR
    assert branch in git("ls-remote", "--heads", "origin", cwd=env.repo)
    again = env.approved_json("ship", str(job))
    assert again["result"]["pr_number"] and len(github.pulls) == 1
    [gate] = [g for g in env.podium_json("gates", "--all") if g["id"] == 1]
    assert "no permission" in gate["result"]["error"]


def test_podium_pr_shows_the_checks_on_the_pr(env: Env, github: GitHubServer) -> None:
    job = env.delegate("fix it", "--ticket", "12", *agent("echo fix > fix.py", "Fixed."))
    env.podium("wait", str(job), "--timeout", "30", check=True)
    assert "has no open pull request" in env.podium("pr", str(job)).stderr
    shipped = env.approved_json("ship", str(job))
    [pull] = github.pulls.values()
    pull.head_sha = shipped["commit_sha"]
    github.check_runs[pull.head_sha] = [("tests", "completed", "success"), ("lint", "in_progress", None)]
    github.statuses[pull.head_sha] = [("ci/jenkins", "success")]
    out = env.podium_json("pr", str(job))
    assert out["verdict"] == "pending" and out["number"] == str(pull.number)
    assert [(c["name"], c["state"]) for c in out["checks"]] == [("tests", "passed"), ("lint", "pending"),
                                                                 ("ci/jenkins", "passed")]
    github.check_runs[pull.head_sha][1] = ("lint", "completed", "failure")
    shown = env.podium("pr", str(job)).stdout
    assert "checks: failed (3)" in shown and "failed   lint" in shown


def test_a_bug_tickets_title_is_the_subject_with_the_teams_fix_type(env: Env, github: GitHubServer) -> None:
    from test_gate import land

    land(env, *((f"feat: add part {i}", {f"part{i}.py": f"P = {i}\n"}) for i in range(4)))
    github.issues[13] = Issue(13, "The checkout page shows the total of the previous cart after a coupon was "
                                  "removed from it", "Steps: …", labels=["bug"])
    job = env.delegate("fix it", "--ticket", "13", *agent("echo fix > fix.py", "Fixed."))
    env.podium("wait", str(job), "--timeout", "30", check=True)
    env.approved_json("ship", str(job))
    [pull] = github.pulls.values()
    # the title cut at a word, no "…", and the type a bug ticket gets
    assert pull.title == "fix: the checkout page shows the total of the previous cart"


def test_the_pr_shows_the_full_run_and_the_targeted_runs_after_it(env: Env, github: GitHubServer) -> None:
    from test_gate import PYTEST, SUITE, land

    land(env, ("add calc and its tests", SUITE))
    env.serve({"steps": [
        {"write": {"path": "tests/test_sub.py", "content": "def test_sub():\n    assert 3 - 1 == 2\n"}},
        {"shell": PYTEST}, {"shell": f"{PYTEST} tests/test_sub.py"}, "Added a test for subtraction."]})
    job = env.delegate("Cover subtraction", "--ticket", "12")
    env.podium("wait", str(job), "--timeout", "90", check=True)
    env.approved_json("ship", str(job))
    [pull] = github.pulls.values()
    assert (f"### Tests\n\n**failed**\n\n- full suite: 1 failed, 2 passed (pytest, job {job})\n"
            f"  - failing: `tests/test_calc.py::test_mul`\n"
            f"- targeted after it: tests/test_sub.py passed (job {job})") in pull.body


def test_a_moved_base_is_fetched_and_the_commit_rebased_onto_it_before_the_gate(env: Env,
                                                                                 github: GitHubServer) -> None:
    from test_gate import land

    job = env.delegate("fix it", "--ticket", "12", *agent("echo fix > fix.py", "Fixed."))
    env.podium("wait", str(job), "--timeout", "30", check=True)
    branch, ws = env.job(job)["branch"], Path(env.job(job)["workspace"])
    (ws / "notes.md").write_text("mine, not the task's\n")
    land(env, ("a teammate's change", {"theirs.py": "THEIRS = 1\n"}), fetch=False)
    assert env.podium("ship", str(job)).returncode == 4  # headless: the gate waits
    shown = env.podium("gates").stdout
    assert "rebased onto origin/main (+1 commit); the worktree follows it" in shown
    shipped = env.approved_json("ship", str(job))
    new_base = git("rev-parse", "origin/main", cwd=env.repo)
    remote = git("ls-remote", "origin", f"refs/heads/{branch}", cwd=env.repo).split("\t")[0]
    assert remote == shipped["commit_sha"] and git("rev-parse", f"{remote}^", cwd=env.repo) == new_base
    assert git("show", "--name-only", "--format=", remote, cwd=env.repo) == "fix.py"
    # the worktree followed: the base's new file is there, the human's own file kept, nothing else differs
    assert (ws / "theirs.py").read_text() == "THEIRS = 1\n" and (ws / "notes.md").is_file()
    assert git("status", "--porcelain", cwd=ws).splitlines() == ["?? notes.md"]
    assert env.podium_json("workspaces")[0]["behind"] == 0

    # a push alone of a commit whose base moved on says so at the gate
    (ws / "fix.py").write_text("fixed better\n")
    env.approved_json("commit", str(job))
    land(env, ("another change", {"more.py": "MORE = 1\n"}), fetch=False)
    assert env.podium("push", str(job)).returncode == 4
    assert "origin/main moved on (+1 commit) since this commit: it goes out on its old base" in env.podium(
        "gates").stdout


CONFLICTING = "def total(x, d):\n    return x - d  # {}\n"


def test_a_conflict_with_the_moved_base_is_refused_and_sync_hands_it_to_the_worker(env: Env,
                                                                                   github: GitHubServer) -> None:
    from test_gate import land

    land(env, ("add total", {"total.py": CONFLICTING.format("base")}))
    env.serve({"steps": [
        {"write": {"path": "total.py", "content": CONFLICTING.format("ours")}}, "Total subtracts the discount.",
        {"shell": "cat total.py"},
        {"write": {"path": "total.py", "content": CONFLICTING.format("ours and theirs")}}, "Merged both."]})
    job = env.delegate("Fix the total", "--ticket", "12")
    env.podium("wait", str(job), "--timeout", "60", check=True)
    branch = env.job(job)["branch"]
    land(env, ("their fix", {"total.py": CONFLICTING.format("theirs")}), fetch=False)

    refused = env.podium_tty("ship", str(job))
    error = refused.stderr.strip().splitlines()[-1]
    assert refused.returncode == 2 and error.startswith("podium: origin/main moved on (+1 commit)")
    assert "conflicts in total.py" in error and f"podium sync {branch}" in error and "Traceback" not in refused.stderr
    assert branch not in git("ls-remote", "--heads", "origin", cwd=env.repo) and github.pulls == {}
    [gate] = env.podium_json("gates", "--all")
    assert gate["state"] == "rejected" and gate["decided_by"] == "podium"
    assert "replaying this change onto it conflicts in total.py" in env.podium("gates", "--all").stdout

    synced = env.podium_json("sync", branch)
    assert synced["conflicts"] == ["total.py"] and synced["commits"] == 1
    worker = env.job(synced["job"])
    assert worker["parent"] == job and worker["session_id"] == env.job(job)["session_id"]  # the same session
    again = env.podium("sync", branch)  # not under a worker's feet
    assert again.returncode == 2 and f"job {synced['job']} is" in again.stderr and "once it ended" in again.stderr
    env.podium("wait", str(synced["job"]), "--timeout", "60", check=True)
    told = json.dumps([r["body"] for r in env.requests()])
    assert "The base moved: origin/main gained 1 commit" in told and "conflicts in total.py" in told
    assert "<<<<<<< origin/main" in told and f">>>>>>> {branch}" in told  # what the worker saw in the file
    shipped = env.approved_json("ship", str(job))
    remote = git("ls-remote", "origin", f"refs/heads/{branch}", cwd=env.repo).split("\t")[0]
    assert remote == shipped["commit_sha"]
    assert git("rev-parse", f"{remote}^", cwd=env.repo) == git("rev-parse", "origin/main", cwd=env.repo)
    assert git("show", f"{remote}:total.py", cwd=env.repo) == CONFLICTING.format("ours and theirs").strip()
    # a later resume of the first job works on the workspace's new base, not behind it
    resumed = env.podium_json("resume", str(job), "Tidy up the total.")
    assert resumed["base_sha"] == git("rev-parse", "origin/main", cwd=env.repo)
    env.podium("wait", str(resumed["id"]), "--timeout", "60")
    assert env.job(resumed["id"])["behind_base"] == 0
