"""Credentials never reach what podium writes or sends, and a change that adds one is held at the gate."""

from __future__ import annotations

import json
import sqlite3

from conftest import Env, assert_one_line_error, git
from podium.redaction import Redactor, scan, secret_values
from servers.github import GitHubServer
from test_dashboard import start_dashboard
from test_gate import done_job
from test_ship import agent, github  # noqa: F401 (the forge fixture)

# Each credential kind podium names: planted in the environment, or printed by the agent from nowhere.
ENVIRONMENT = {
    "AZURE_DEVOPS_EXT_PAT": "q7zx3mhw2kd4ryvb6ntc5aejp7lfu2sgoi3wkz4hxm6dn5qcye7b",
    "JIRA_PAT": "NjQ1MjM4OTk4NzYxOkJ3bXVwTzU0c2JkVnhJb2",
    "DATABASE_URL": "postgres://shop:Pg-s3cret-2026@db.internal:5432/shop",
    "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx",
    "DEPLOY_KEY": "dk-88a1-33bf-9c2e-aa71",
}
SECRETS = [*ENVIRONMENT.values(), "Pg-s3cret-2026"]
PRINTED = {
    "GitHub token": "ghp_" + "Zq8V2mK4rT6yU1iO3pA5sD7fG9hJ0kL2zXc",
    "Anthropic key": "sk-ant-api03-" + "Tq7Wm2Xr9Kd4Pz6Vb1Ny8Lc3Hs5Jf0Ga",
    "AWS access key": "AKIA" + "Q3X7M2R9K4P6V8N1",
    "Slack token": "xoxb-" + "2048-4096-Zq8V2mK4rT6y",
    "Atlassian token": "ATATT3xFfGF0" + "Tq7Wm2Xr9Kd4Pz6Vb1Ny8Lc3Hs5Jf0Ga=1A2B3C4D",
    "npm token": "npm_" + "Zq8V2mK4rT6yU1iO3pA5sD7fG9hJ0kL2zXcV",
}


def split(secret: str) -> str:
    """The secret as the shell prints it from two quoted halves: the agent makes it up, no argv holds it."""
    return f"{secret[:8]}''{secret[8:]}"


def test_no_credential_reaches_a_log_the_store_a_summary_the_gate_the_commit_or_the_pr(
        env: Env, github: GitHubServer) -> None:  # noqa: F811
    env.vars.update(ENVIRONMENT)
    printed = " ".join(split(v) for v in PRINTED.values())  # printed whole, though never whole in the command
    said = ("echo \"connecting to $DATABASE_URL with $AZURE_DEVOPS_EXT_PAT and $JIRA_PAT\"; "
            "echo \"posting to $SLACK_WEBHOOK_URL as $DEPLOY_KEY\" >&2; "
            f"echo 'found {printed} in the old config'; printf 'def total(x):\\n    return x\\n' > total.py")
    token = PRINTED["GitHub token"]
    final = f"Fixed the total. Deployed with $DATABASE_URL and $(printf %s {token[:8]} {token[8:]})."
    job = env.delegate("Fix the total", *agent(said, final))
    env.podium("wait", str(job), "--timeout", "30", check=True)
    shipped = env.approved_json("ship", str(job))
    assert shipped["gate"]["state"] == "done"
    [pull] = github.pulls.values()
    branch = env.job(job)["branch"]
    podium_dir = env.repo / ".git" / "podium"
    artefacts = {
        "log files": "\n".join(p.read_text() for p in (podium_dir / "logs").iterdir()),
        "store": "\n".join(sqlite3.connect(podium_dir / "state.db").iterdump()),
        **{" ".join(args): env.podium(*args, str(job), check=True).stdout
           for args in (("logs",), ("logs", "--raw"), ("logs", "--summary"), ("status", "--json"))},
        "gates": env.podium("gates", "--all", check=True).stdout,
        "commit": git("log", "-1", "--format=%B", f"origin/{branch}", cwd=env.repo),
        "PR requests": json.dumps([r.get("body") for r in github.requests]),
    }
    for where, text in artefacts.items():
        for secret in [*SECRETS, *PRINTED.values()]:
            assert secret not in text, f"{secret} in the {where}"
    # what was masked reads as masked, and the rest of the words stay
    assert "connecting to postgres://shop:[redacted]@db.internal:5432/shop with [redacted]" in artefacts["logs --raw"]
    assert "postgres://shop:[redacted]@db.internal:5432/shop and [redacted].\n\n_Approved in podium" in pull.body
    assert "[redacted]" in artefacts["commit"] and "[redacted]" in artefacts["logs --summary"]


def test_a_change_that_adds_a_credential_is_held_until_the_human_says_it_is_none(env: Env) -> None:
    (env.repo / "podium.toml").write_text('[gate]\npass = ["always"]\n')  # even a pass-everything policy holds it
    token = PRINTED["GitHub token"]
    job, branch, _ = done_job(env, f"printf 'import os\\n\\nTOKEN = \"{token}\"\\n' > settings.py; "
                                   "printf '# Settings\\n' > README.md")
    base = git("rev-parse", "origin/main", cwd=env.repo)
    held = env.podium("commit", str(job))
    assert held.returncode == 4  # not passed by the policy: it waits for the human
    shown = env.podium("gates", check=True).stdout
    assert "HELD: settings.py:3 adds what looks like a GitHub token" in shown and token not in shown
    refused = env.podium_tty("approve", "1")
    assert_one_line_error(refused, "gate 1 adds what looks like a GitHub token (settings.py:3)",
                          "podium approve 1 --allow-secrets")
    assert git("rev-parse", branch, cwd=env.repo) == base  # nothing committed
    assert env.podium_json("gates")[0]["state"] == "pending"
    dash = start_dashboard(env)  # the gate's page shows the finding next to Approve
    try:
        page = dash.client().get("/gates/1").text
    finally:
        dash.proc.kill()
    assert "settings.py:3</span> adds what looks like a GitHub token — approving commits it" in page
    done = json.loads(env.podium_tty("approve", "1", "--allow-secrets", "--json").stdout)
    assert done["gate"]["state"] == "done"
    assert "approved knowing it adds what looks like a credential" in done["gate"]["reason"]
    assert token in git("show", f"{branch}:settings.py", cwd=env.repo)  # the human's call: committed as it is
    # the next round scans only what it adds to the commit the human approved
    ws = env.job(job)["workspace"]
    with open(f"{ws}/README.md", "a") as f:
        f.write("More.\n")
    assert "HELD" not in "\n".join(env.podium_json("commit", str(job))["gate"]["shown"])


def test_every_kind_is_masked_and_json_stays_json() -> None:
    redact = Redactor(secret_values(ENVIRONMENT))
    for kind, secret in [*PRINTED.items(), *ENVIRONMENT.items()]:
        text = json.dumps({"text": f"use \"{secret}\" and 'x', then\n{secret}\\ again"})
        masked = json.loads(redact(text))["text"]  # still a JSON document
        assert secret not in masked, kind
        assert masked.startswith('use "postgres://shop:[redacted]@db' if kind == "DATABASE_URL"
                                 else 'use "[redacted]"'), kind
    assert redact("ordinary words: input_tokens 12345678, a token of thanks, sha 0123abcd" * 2) == \
        "ordinary words: input_tokens 12345678, a token of thanks, sha 0123abcd" * 2
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXkt\n-----END OPENSSH PRIVATE KEY-----"
    assert redact(json.dumps(key)) == '"[redacted]"'


def test_the_scan_names_file_line_and_kind_of_what_a_diff_adds() -> None:
    diff = "\n".join([
        "diff --git a/app.py b/app.py", "--- a/app.py", "+++ b/app.py", "@@ -10,0 +11,2 @@",
        "+x = 1", f"+KEY = '{PRINTED['AWS access key']}'",
        "diff --git a/old.py b/old.py", "--- a/old.py", "+++ b/old.py", "@@ -3 +3 @@",
        f"-OLD = '{PRINTED['GitHub token']}'", "+OLD = os.environ['GITHUB_TOKEN']",
        "diff --git a/deploy/.env b/deploy/.env", "--- /dev/null", "+++ b/deploy/.env", "@@ -0,0 +1,2 @@",
        f"+SLACK={ENVIRONMENT['SLACK_WEBHOOK_URL']}", f"+PAT={ENVIRONMENT['AZURE_DEVOPS_EXT_PAT']}",
    ])
    found = [str(f) for f in scan(diff, secret_values(ENVIRONMENT))]
    assert found == ["app.py:12 (AWS access key)", "deploy/.env:1 (Slack webhook)",
                     "deploy/.env:1 (credential from your environment)"]
