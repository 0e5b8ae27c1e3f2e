"""Branch names learned from real git histories: the name a teammate would have chosen."""

from __future__ import annotations

import os
import subprocess
import time

import pytest

from conftest import Env, git

DAY = 86400


def make_branches(env: Env, branches: list[tuple[str, float]], push: bool = False) -> None:
    """Real branches with real commit dates (days ago), without touching the checkout."""
    tree = git("rev-parse", "HEAD^{tree}", cwd=env.repo)
    head = git("rev-parse", "HEAD", cwd=env.repo)
    for name, days_ago in branches:
        stamp = f"{int(time.time() - days_ago * DAY)} +0000"
        commit = subprocess.run(
            ["git", "commit-tree", tree, "-p", head, "-m", f"work on {name}"], cwd=env.repo, check=True, text=True,
            capture_output=True, env=dict(os.environ, GIT_COMMITTER_DATE=stamp, GIT_AUTHOR_DATE=stamp),
        ).stdout.strip()
        git("update-ref", f"refs/heads/{name}", commit, cwd=env.repo)
        if push:
            git("push", "--quiet", "origin", f"{name}:{name}", cwd=env.repo)
            git("update-ref", "-d", f"refs/heads/{name}", cwd=env.repo)
    if push:
        git("fetch", "--quiet", "origin", cwd=env.repo)


def recent(names: list[str], start: float = 1, step: float = 2) -> list[tuple[str, float]]:
    return [(n, start + i * step) for i, n in enumerate(names)]


NOISE = [("dependabot/npm_and_yarn/lodash-4.17.21", 1), ("release/2.3", 3), ("wip", 2), ("revert-12-add-thing", 4),
         ("develop", 1), ("spike", 9)]

CONVENTIONS = [
    pytest.param(
        recent(["users/alice/1234-fix-login", "users/bob/1301-add-export-button", "users/alice/1288-update-readme",
                "users/carol/1290-speed-up-search"]),
        ("Alice Smith", "alice@contoso.com"), ["Crash when saving a draft", "--ticket", "1402", "--type", "Bug"],
        "users/alice/1402-crash-when-saving", id="azure-devops-users",
    ),
    pytest.param(
        recent(["fix/123-crash-on-start", "feature/130-dark-mode", "fix/131-null-pointer", "feature/140-export-csv"]),
        None, ["Crash when saving a draft", "--ticket", "#150", "--type", "bug"],
        "fix/150-crash-when-saving", id="github-fix",
    ),
    pytest.param(
        recent(["feature/PROJ-42-add-export", "bugfix/PROJ-51-login-loop", "feature/PROJ-60-dark-mode",
                "bugfix/PROJ-63-broken-link"]),
        None, ["Login fails after reset", "--ticket", "proj-77", "--type", "bug"],
        "bugfix/PROJ-77-login-fails-after", id="jira",
    ),
    pytest.param(
        recent(["ab/retry-uploads", "ab/faster-search-index", "cd/fix-typo-in-docs", "cd/drop-old-api"]),
        ("Alice Brown", "alice.brown@example.com"), ["Retry failed webhooks"],
        "ab/retry-failed-webhooks", id="initials",
    ),
    pytest.param(
        recent(["add-export-1234", "fix-login-loop-1301", "speed-up-search-1310"]),
        None, ["Crash when saving", "--ticket", "1402"], "crash-when-saving-1402", id="ticket-last",
    ),
    pytest.param(
        recent(["feature/add_export", "bugfix/login_loop", "feature/dark_mode_toggle"]),
        None, ["Add CSV import", "--type", "story"], "feature/add_csv_import", id="underscores",
    ),
    pytest.param(
        recent(["gh-12-add-export", "gh-15-fix-login", "gh-20-dark-mode"]),
        None, ["Add CSV import", "--ticket", "31"], "gh-31-add-csv-import", id="gh-prefix",
    ),
    pytest.param(
        recent(["AB#1201-add-export", "AB#1250-fix-login", "AB#1301-dark-mode"]),
        None, ["Add CSV import", "--ticket", "AB#1400"], "AB#1400-add-csv-import", id="azure-boards-mention",
    ),
    pytest.param(
        recent(["feat/add-export", "chore/bump-deps", "feat/dark-mode", "docs/readme-badges"]),
        None, ["Add CSV import", "--type", "feature"], "feat/add-csv-import", id="conventional-commits-kinds",
    ),
    pytest.param(
        # the team moved from feature/<slug> a year ago to users/<name>/<id>-<slug>: the recent habit wins
        [*recent(["users/dev/2001-new-login-page", "users/sam/2004-fix-cache", "users/dev/2010-pager"]),
         *recent([f"feature/old-thing-{i}" for i in "abcdefgh"], start=400, step=3)],
        ("Dev", "dev@example.com"), ["Paginate the audit log", "--ticket", "2042"],
        "users/dev/2042-paginate-audit-log", id="habit-changed",
    ),
]


@pytest.mark.parametrize(("history", "who", "args", "expected"), CONVENTIONS)
def test_inferred_name_matches_what_a_teammate_would_pick(
    env: Env, history: list[tuple[str, float]], who: tuple[str, str] | None, args: list[str], expected: str
) -> None:
    if who:
        git("config", "user.name", who[0], cwd=env.repo)
        git("config", "user.email", who[1], cwd=env.repo)
    half = len(history) // 2
    make_branches(env, history[:half] + NOISE)
    make_branches(env, history[half:], push=True)  # a teammate's branches are often only on origin
    proc = env.podium("branch-name", *args, "--explain")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == expected, proc.stderr
    assert "branches that follow a habit" in proc.stderr and "not a habit, ignored: " in proc.stderr


def test_no_branches_to_learn_from_falls_back_to_a_default(env: Env) -> None:
    proc = env.podium("branch-name", "Crash when saving", "--ticket", "12", "--type", "bug", "--explain")
    assert proc.stdout.strip() == "bugfix/12-crash-when-saving"
    assert "no branches to learn from" in proc.stderr


def test_a_pinned_template_wins_and_a_bad_one_is_a_clear_error(env: Env) -> None:
    make_branches(env, recent(["fix/1-a-b", "fix/2-c-d"]))
    (env.repo / "podium.toml").write_text('[branches]\ntemplate = "team/{user}/{ticket}-{slug}"\n')
    out = env.podium_json("branch-name", "Add CSV import", "--ticket", "9")
    assert out["name"] == "team/dev/9-add-csv-import"
    (env.repo / "podium.toml").write_text('[branches]\ntemplate = "{nope}/{slug}"\n')
    proc = env.podium("branch-name", "x")
    assert proc.returncode == 2 and proc.stderr.startswith("podium: branch template") and "Traceback" not in proc.stderr


def test_a_ticket_the_team_would_not_write_is_left_out(env: Env) -> None:
    make_branches(env, recent(["feature/add-export", "feature/dark-mode", "bugfix/login-loop"]))
    out = env.podium_json("branch-name", "Add CSV import", "--ticket", "77", "--type", "feature")
    assert out["name"] == "feature/add-csv-import"
    assert any("carry no ticket id" in line for line in out["evidence"])


def test_delegate_names_the_branch_like_the_team_and_never_reuses_one(env: Env) -> None:
    make_branches(env, recent(["fix/101-login-loop", "feature/102-dark-mode", "feature/103-export-csv"]))
    make_branches(env, [("feature/add-csv-import", 1)], push=True)  # someone already has this name
    first = env.delegate("Add CSV import", "--agent", "command", "--command", "true")
    second = env.delegate("Add CSV import", "--agent", "command", "--command", "true")
    assert env.job(first)["branch"] == "feature/add-csv-import-2"
    assert env.job(second)["branch"] == "feature/add-csv-import-3"
    notes = env.podium("logs", str(first)).stdout
    assert "branch feature/add-csv-import-2: " in notes and "branches that follow a habit" in notes
    fixing = env.delegate("Fix the crash when saving", "--agent", "command", "--command", "true")
    assert env.job(fixing)["branch"] == "fix/crash-when-saving"


def test_a_people_folder_is_not_mistaken_for_initials() -> None:
    from podium.branches import learn, propose

    now = time.time()
    habit = learn([("dev/alice/12-add-export", now), ("dev/bob/13-fix-login", now), ("dev/alice/14-dark-mode", now)])
    assert propose(habit, title="New audit log", ticket="20", user="alice").name == "dev/alice/20-new-audit-log"


def test_a_project_key_is_never_cut_to_its_number() -> None:
    from podium.branches import learn, propose

    now = time.time()
    numeric = learn([(f"fix/{1200 + i}-thing-number-{i}", now - i * 3600) for i in range(6)], now=now)
    assert propose(numeric, title="Coupon codes", ticket="SHOP-7", kind="bug").name == "fix/SHOP-7-coupon-codes"
    assert propose(numeric, title="Coupon codes", ticket="1300", kind="bug").name == "fix/1300-coupon-codes"
    assert propose(learn([]), title="Coupon codes", ticket="SHOP-7", kind="bug").name == "bugfix/SHOP-7-coupon-codes"


def test_a_title_that_starts_with_a_very_long_word_still_gives_a_short_branch(env: Env) -> None:
    """A URL or a hash at the start of a prompt used to become a 300-character branch (and "File name too long"
    from git); a name asked for by hand that long is refused in one line, and nothing is created."""
    from test_bad_input import assert_one_line_error

    title = "x" * 300 + " breaks the export"
    name = env.podium("branch-name", title, check=True).stdout.strip()
    assert name == "feature/" + "x" * 24 + "-breaks-export"
    job = env.delegate(title, "--agent", "command", "--command", "true")
    assert env.job(job)["branch"] == name
    long = "b" * 300
    assert_one_line_error(env.podium("delegate", "--agent", "command", "--command", "true", "--branch", long, "--",
                                     "z"), "branch name too long (300 characters; podium takes at most 200)")
    assert git("branch", "--list", long, cwd=env.repo) == "" and len(env.podium_json("status", "--all")) == 1
