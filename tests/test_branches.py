"""Branch names learned from real git histories: the name a teammate would have chosen."""

from __future__ import annotations

import os
import subprocess
import time
from typing import NamedTuple

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


def dated(names: list[str], fmt: str) -> list[tuple[str, float]]:
    """Branches named with the day they were made (``{date}`` in ``fmt``), one every two days."""
    return [(n.format(date=time.strftime(fmt, time.localtime(time.time() - days * DAY))), days)
            for n, days in recent(names)]


NOISE = [("dependabot/npm_and_yarn/lodash-4.17.21", 1), ("release/2.3", 3), ("wip", 2), ("revert-12-add-thing", 4),
         ("develop", 1), ("spike", 9)]


class Convention(NamedTuple):
    """A team's branches (name, days since its last commit), who asks, ``podium branch-name``'s arguments, and
    the name a teammate would have chosen. Plain data, so the benchmark reads the same table."""

    id: str
    history: list[tuple[str, float]]
    who: tuple[str, str] | None
    args: list[str]
    expected: str


CONVENTIONS = [
    Convention(
        "azure-devops-users",
        recent(["users/alice/1234-fix-login", "users/bob/1301-add-export-button", "users/alice/1288-update-readme",
                "users/carol/1290-speed-up-search"]),
        ("Alice Smith", "alice@contoso.com"), ["Crash when saving a draft", "--ticket", "1402", "--type", "Bug"],
        "users/alice/1402-crash-when-saving",
    ),
    Convention(
        "github-fix",
        recent(["fix/123-crash-on-start", "feature/130-dark-mode", "fix/131-null-pointer", "feature/140-export-csv"]),
        None, ["Crash when saving a draft", "--ticket", "#150", "--type", "bug"],
        "fix/150-crash-when-saving",
    ),
    Convention(
        "jira",
        recent(["feature/PROJ-42-add-export", "bugfix/PROJ-51-login-loop", "feature/PROJ-60-dark-mode",
                "bugfix/PROJ-63-broken-link"]),
        None, ["Login fails after reset", "--ticket", "proj-77", "--type", "bug"],
        "bugfix/PROJ-77-login-fails-after",
    ),
    Convention(
        "initials",
        recent(["ab/retry-uploads", "ab/faster-search-index", "cd/fix-typo-in-docs", "cd/drop-old-api"]),
        ("Alice Brown", "alice.brown@example.com"), ["Retry failed webhooks"],
        "ab/retry-failed-webhooks",
    ),
    Convention(
        "ticket-last",
        recent(["add-export-1234", "fix-login-loop-1301", "speed-up-search-1310"]),
        None, ["Crash when saving", "--ticket", "1402"], "crash-when-saving-1402",
    ),
    Convention(
        "underscores",
        recent(["feature/add_export", "bugfix/login_loop", "feature/dark_mode_toggle"]),
        None, ["Add CSV import", "--type", "story"], "feature/add_csv_import",
    ),
    Convention(
        "gh-prefix",
        recent(["gh-12-add-export", "gh-15-fix-login", "gh-20-dark-mode"]),
        None, ["Add CSV import", "--ticket", "31"], "gh-31-add-csv-import",
    ),
    Convention(
        "azure-boards-mention",
        recent(["AB#1201-add-export", "AB#1250-fix-login", "AB#1301-dark-mode"]),
        None, ["Add CSV import", "--ticket", "AB#1400"], "AB#1400-add-csv-import",
    ),
    Convention(
        "conventional-commits-kinds",
        recent(["feat/add-export", "chore/bump-deps", "feat/dark-mode", "docs/readme-badges"]),
        None, ["Add CSV import", "--type", "feature"], "feat/add-csv-import",
    ),
    Convention(
        # the team moved from feature/<slug> a year ago to users/<name>/<id>-<slug>: the recent habit wins
        "habit-changed",
        [*recent(["users/dev/2001-new-login-page", "users/sam/2004-fix-cache", "users/dev/2010-pager"]),
         *recent([f"feature/old-thing-{i}" for i in "abcdefgh"], start=400, step=3)],
        ("Dev", "dev@example.com"), ["Paginate the audit log", "--ticket", "2042"],
        "users/dev/2042-paginate-audit-log",
    ),
    Convention(
        # small words stay when the team writes them
        "keeps-small-words",
        recent(["feature/add-support-for-webhooks", "fix/crash-on-empty-cart", "feature/move-docs-to-the-wiki",
                "fix/typo-in-the-readme", "feature/export-to-csv"]),
        None, ["Move the logs to S3", "--type", "feature"], "feature/move-the-logs-to-s3",
    ),
    Convention(
        # slugs of three to five words: a five-word title fits, whole
        "four-or-five-words",
        recent(["fix/1201-login-page-flickers", "feature/1202-bulk-edit-customer-tags", "fix/1203-duplicate-invoice-"
                "email-sent-twice", "feature/1204-saved-search-filters", "fix/1210-timezone-breaks-report"]),
        None, ["Webhook retries ignore backoff setting", "--ticket", "1300", "--type", "bug"],
        "fix/1300-webhook-retries-ignore-backoff-setting",
    ),
    Convention(
        "issue-prefix",
        recent(["issue-42-add-export-button", "issue-57-fix-login-redirect", "issue-61-dark-mode-toggle",
                "issue-70-speed-up-search-results"]),
        None, ["Crash when saving drafts", "--ticket", "#88"], "issue-88-crash-when-saving-drafts",
    ),
    Convention(
        # small words are dropped when the team's slugs never have one, though its titles surely did
        "drops-small-words",
        recent(["feature/add-dark-mode-settings-page", "fix/crash-empty-cart", "feature/export-invoices-pdf",
                "fix/typo-readme", "feature/move-docs-wiki", "fix/login-loop-after-reset"]),
        None, ["Add a retry to the webhook sender", "--type", "feature"], "feature/add-retry-webhook-sender",
    ),
    Convention(
        "keeps-links-drops-articles",
        recent(["feature/add-support-for-webhooks", "fix/crash-on-empty-cart", "feature/export-to-csv",
                "fix/typo-in-readme", "feature/sync-with-crm"]),
        None, ["Add a retry to webhooks", "--type", "feature"], "feature/add-retry-to-webhooks",
    ),
    Convention(
        # GitHub's "Create a branch" on an issue: the number and the whole title
        "github-issue-branch",
        recent(["42-crash-when-the-cart-is-empty", "57-add-a-setting-to-hide-archived-projects",
                "61-dark-mode-does-not-apply-to-the-settings-page", "70-export-to-csv-times-out-for-large-accounts"]),
        None, ["Search results are not sorted by relevance", "--ticket", "#88"],
        "88-search-results-are-not-sorted-by-relevance",
    ),
    Convention(
        # Jira's "Create branch": type folder, key, the whole summary
        "jira-create-branch",
        recent(["feature/SHOP-101-customers-can-apply-two-coupon-codes-at-once",
                "bugfix/SHOP-114-cart-total-is-wrong-for-discounted-items",
                "feature/SHOP-120-show-the-delivery-estimate-on-product-page",
                "bugfix/SHOP-131-checkout-button-stays-disabled-after-login"]),
        None, ["Guest checkout loses the cart on refresh", "--ticket", "SHOP-140", "--type", "Bug"],
        "bugfix/SHOP-140-guest-checkout-loses-the-cart-on-refresh",
    ),
    Convention(
        # slugs of four or five words: a longer title is cut to five, as the team cuts
        "cut-like-the-team",
        recent(["feature/PAY-11-refund-partial-card-payments", "bugfix/PAY-12-payout-report-misses-weekend-transfers",
                "feature/PAY-15-store-card-fingerprints", "bugfix/PAY-19-currency-rounding-breaks-invoice-totals",
                "feature/PAY-21-apple-pay-checkout-button"]),
        None, ["Refund emails show the wrong currency symbol in receipts", "--ticket", "PAY-30", "--type", "bug"],
        "bugfix/PAY-30-refund-emails-show-wrong-currency",
    ),
    Convention(
        "ticket-folder",
        recent(["ticket/4012-add-export-button", "ticket/4020-fix-login-redirect", "ticket/4033-dark-mode",
                "experiment-big-refactor", "ticket/4041-faster-search-result-paging"]),
        None, ["Crash when saving drafts", "--ticket", "4100"], "ticket/4100-crash-when-saving-drafts",
    ),
    Convention(
        # Jira issue types as folders; a bare number gets the team's project key
        "jira-by-type",
        recent(["story/SHOP-12-gift-card-balance", "bug/SHOP-13-cart-total-rounding", "task/SHOP-14-upgrade-node-22",
                "story/SHOP-17-wishlist-sharing-via-email", "bug/SHOP-18-duplicate-order-emails"]),
        None, ["Rotate the API signing keys", "--ticket", "20", "--type", "Task"],
        "task/SHOP-20-rotate-api-signing-keys",
    ),
    Convention(
        "jira-underscores",
        recent(["PROJ-123_add_export_button", "PROJ-130_fix_login_loop", "PROJ-131_dark_mode_toggle",
                "PROJ-140_speed_up_search"]),
        None, ["Dark mode for reports", "--ticket", "PROJ-150"], "PROJ-150_dark_mode_reports",
    ),
    Convention(
        "github-type-number-slug",
        recent(["feat/231-dark-mode-toggle", "fix/240-null-avatar-crash", "docs/245-api-pagination-guide",
                "fix/251-flaky-upload-test", "feat/260-csv-export"]),
        None, ["Document the webhook retries", "--ticket", "#270", "--type", "docs"],
        "docs/270-document-webhook-retries",
    ),
    Convention(
        "enterprise-user-folder",
        recent(["user/jlee/fix-login-timeout", "user/mpatel/add-audit-export", "user/jlee/speed-up-sync",
                "user/okim/retry-failed-jobs"]),
        ("Jordan Lee", "jlee@fabrikam.com"), ["Retry failed uploads"], "user/jlee/retry-failed-uploads",
    ),
    Convention(
        "enterprise-users-kind",
        recent(["users/jlee/feature/add-audit-export", "users/mpatel/bugfix/login-timeout-on-sso",
                "users/okim/feature/bulk-invite-members", "users/mpatel/bugfix/null-avatar-crash"]),
        ("Jordan Lee", "jlee@fabrikam.com"), ["Crash when saving drafts", "--type", "Bug"],
        "users/jlee/bugfix/crash-when-saving-drafts",
    ),
    Convention(
        # a folder per person; a newcomer without branches yet gets one of their own
        "people-folders",
        recent(["alice/retry-uploads", "bob/faster-search-index", "carol/fix-typo-docs", "dave/drop-old-api",
                "bob/cache-user-avatars"]),
        ("Erin Park", "erin@example.com"), ["Retry failed webhooks"], "erin/retry-failed-webhooks",
    ),
    Convention(
        "initials-with-ticket",
        recent(["jd/1234-add-export", "mk/1240-fix-login", "jd/1251-dark-mode-toggle", "tr/1260-speed-up-search"]),
        ("Sam Ortiz", "sam@example.com"), ["Crash when saving", "--ticket", "1300"], "so/1300-crash-when-saving",
    ),
    Convention(
        "month-folders",
        dated(["{date}/retry-uploads", "{date}/faster-search-index", "{date}/drop-old-api", "{date}/fix-typo-docs"],
              "%Y-%m"),
        None, ["Retry failed webhooks"], time.strftime("%Y-%m") + "/retry-failed-webhooks",
    ),
    Convention(
        "date-suffix",
        dated(["retry-uploads-{date}", "faster-search-index-{date}", "drop-old-api-{date}"], "%Y%m%d"),
        None, ["Retry failed webhooks"], "retry-failed-webhooks-" + time.strftime("%Y%m%d"),
    ),
    Convention(
        # one monorepo, a folder per team; this team's branches are most of them
        "nested-teams",
        recent(["team/payments/feature/PAY-12-refund-partial-payments", "team/payments/bugfix/PAY-19-payout-rounding",
                "team/search/feature/SRCH-3-synonym-lists", "team/payments/feature/PAY-21-apple-pay-button",
                "team/payments/bugfix/PAY-25-duplicate-webhook-events-sent"]),
        None, ["Refund emails in wrong currency", "--ticket", "PAY-30", "--type", "Bug"],
        "team/payments/bugfix/PAY-30-refund-emails-wrong-currency",
    ),
    Convention(
        "camel-case",
        recent(["feature/addCsvExport", "bugfix/loginLoop", "feature/darkModeToggle", "bugfix/nullAvatarCrash"]),
        None, ["Retry failed webhooks", "--type", "feature"], "feature/retryFailedWebhooks",
    ),
    Convention(
        "lowercase-jira-keys",
        recent(["feature/shop-12-add-coupon-codes", "bugfix/shop-19-cart-total-rounding",
                "feature/shop-21-gift-card-balance", "bugfix/shop-25-duplicate-order-emails"]),
        None, ["Coupon codes expire", "--ticket", "SHOP-40", "--type", "bug"], "bugfix/shop-40-coupon-codes-expire",
    ),
    Convention(
        "kind-in-name",
        recent(["feature-1201-add-export", "bugfix-1210-login-loop", "feature-1222-dark-mode-toggle",
                "bugfix-1230-null-avatar"]),
        None, ["Crash when saving", "--ticket", "1300", "--type", "bug"], "bugfix-1300-crash-when-saving",
    ),
    Convention(
        "hotfix-for-bugs",
        recent(["hotfix/login-loop", "feature/dark-mode", "hotfix/null-avatar-crash", "feature/csv-export"]),
        None, ["Cart total rounding", "--type", "Bug"], "hotfix/cart-total-rounding",
    ),
]


def name_for_convention(env: Env, convention: Convention) -> subprocess.CompletedProcess[str]:
    """``podium branch-name … --explain`` in a repository holding the convention's branches and the noise: half
    of the branches local, half only on origin (a teammate's branches often are)."""
    if convention.who:
        git("config", "user.name", convention.who[0], cwd=env.repo)
        git("config", "user.email", convention.who[1], cwd=env.repo)
    half = len(convention.history) // 2
    make_branches(env, convention.history[:half] + NOISE)
    make_branches(env, convention.history[half:], push=True)
    return env.podium("branch-name", *convention.args, "--explain")


@pytest.mark.parametrize("convention", CONVENTIONS, ids=[c.id for c in CONVENTIONS])
def test_inferred_name_matches_what_a_teammate_would_pick(env: Env, convention: Convention) -> None:
    proc = name_for_convention(env, convention)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == convention.expected, proc.stderr
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


def test_a_title_cut_to_the_teams_length_does_not_end_on_a_small_word_and_says_why() -> None:
    from podium.branches import learn, propose

    now = time.time()
    habit = learn([(n, now) for n in ("feature/add-support-for-webhooks", "fix/crash-on-empty-cart",
                                      "feature/export-to-csv", "fix/typo-in-readme")], now=now)
    proposal = propose(habit, title="Move old logs to the archive bucket", kind="feature")
    assert proposal.name == "feature/move-old-logs"  # its first four words end on "to"
    assert any("up to 4 words" in line and "'to', 'for', 'in' kept but 'a', 'the' dropped, as in the team's slugs"
               in line for line in proposal.evidence), proposal.evidence


def test_a_date_in_the_teams_names_is_the_day_of_the_new_branch() -> None:
    from podium.branches import describe_shape, learn, propose

    made = time.mktime((2026, 3, 9, 12, 0, 0, 0, 0, -1))
    habit = learn([("2026-02/retry-uploads", made), ("2026-02/faster-search", made),
                   ("fix/crash-20260214", made), ("fix/typo-20260216", made), ("fix/loop-20260220", made)], now=made)
    assert propose(habit, title="Login loop", kind="bug", now=made).name == "fix/login-loop-20260309"
    assert describe_shape(habit.shapes.most_common(1)[0][0]) == "{kind}/slug-YYYYMMDD"
    months = learn([("2026-02/retry-uploads", made), ("2026-01/faster-search", made)], now=made)
    assert propose(months, title="Drop old API", now=made).name == "2026-03/drop-old-api"


def test_a_date_or_a_word_in_front_of_a_number_is_not_taken_for_a_ticket() -> None:
    from podium.branches import ticket_in

    assert ticket_in("20261127-retry-uploads") is None and ticket_in("fix/2026-11-27-retry") is None
    assert ticket_in("issue-42-add-export") == "issue-42" and ticket_in("feature/PROJ-7-x") == "PROJ-7"
