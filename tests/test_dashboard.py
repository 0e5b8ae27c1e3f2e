"""``podium dashboard`` in Debian's Chromium (Playwright): live jobs, a job's events, diff and screenshots, the gate
page's Approve and Reject; who is refused; and the gate put to the human through MCP elicitation."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import shlex
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import mcp_types as types
import pytest
from mcp import Client
from playwright.sync_api import expect

from conftest import Env, assert_one_line_error, git, toolchain
from podium.store import Store
from servers.github import GitHubServer
from test_gate import png
from test_ship import github  # noqa: F401  (the fixture)

PY = shlex.quote(sys.executable)
ROOT = Path(__file__).resolve().parent.parent
TEST_FILE = "from total import total\n\n\ndef test_total():\n    assert total(10, 3) == 7\n"


@dataclass
class Dashboard:
    proc: subprocess.Popen[str]
    link: str  # the printed URL, with this start's token

    @property
    def base(self) -> str:
        return self.link.split("/?")[0]

    @property
    def token(self) -> str:
        return self.link.split("token=")[1]

    def client(self) -> httpx.Client:
        """A client holding the cookie, as a browser does after opening the link."""
        c = httpx.Client(base_url=self.base, timeout=30)
        assert c.get(self.link).status_code == 303
        return c


def start_dashboard(env: Env, *args: str) -> Dashboard:
    proc = subprocess.Popen([sys.executable, "-m", "podium", "dashboard", "--no-open", "--port", "0", *args],
                            cwd=env.repo, env=env.vars, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    found = re.search(r"http://\S+", line)
    if not found:
        proc.kill()
        raise AssertionError(f"no URL printed: {line!r} {proc.stderr.read() if proc.stderr else ''}")
    return Dashboard(proc, found.group(0))


@pytest.fixture
def dash(env: Env) -> Iterator[Dashboard]:
    d = start_dashboard(env)
    yield d
    d.proc.send_signal(signal.SIGINT)
    assert d.proc.wait(timeout=15) == 0


@pytest.fixture
def chromium() -> Iterator[Any]:
    """One browser profile (its pages share the dashboard's cookie), in Debian's Chromium."""
    from playwright.sync_api import sync_playwright

    executable = toolchain("chromium", "chromium-browser", "google-chrome")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"] if os.geteuid() == 0 else [])
        yield browser.new_context(viewport={"width": 1280, "height": 900})
        browser.close()


def test_a_codex_job_goes_running_to_done_live_and_its_page_streams_events_diff_and_screenshot(
        env: Env, dash: Dashboard, chromium: Any) -> None:
    env.serve({"steps": [
        {"text": "Looking first.", "shell": "ls"},
        {"write": {"path": "total.py", "content": "def total(x, d):\n    return x - d\n"}, "delay": 2},
        {"shell": "sleep 2"},
        "Total now subtracts the discount.",
        {"shell": "env"},  # the turn resumed from the page: what its agent's environment holds
        "Checked the environment.",
    ]})
    jobs = chromium.new_page()
    jobs.goto(dash.link)
    assert jobs.url == f"{dash.base}/jobs"  # the token left the address bar for a cookie
    jobs.evaluate("window.notReloaded = true")
    job = env.delegate("The total ignores the discount")  # the real codex CLI, its model scripted
    row = f'tr[data-job="{job}"]'
    jobs.wait_for_selector(f"{row} .badge.running", timeout=30_000)

    branch = env.job(job)["branch"]
    png(Path(env.vars["HOME"]) / "Desktop" / f"{branch.replace('/', '-')}-1-total.png")
    page = chromium.new_page()
    page.goto(f"{dash.base}/jobs/{job}")
    first = page.locator("#job-events li").count()
    page.wait_for_selector("#job-head .badge.done", timeout=60_000)
    jobs.wait_for_selector(f"{row} .badge.done", timeout=10_000)
    assert jobs.evaluate("window.notReloaded") is True  # the row changed in place

    events = page.locator("#job-events li")
    assert events.count() > first  # streamed in while the page was open
    lines = events.all_inner_texts()
    assert any("» Total now subtracts the discount." in t for t in lines), lines
    assert [int(s) for s in page.locator("#job-events li").evaluate_all("l => l.map(e => e.dataset.seq)")] == \
        list(range(1, len(lines) + 1))  # each event once, in order
    summary = page.inner_text("#job-summary")
    assert summary.startswith(f"job {job} done · codex") and "total.py" in summary
    assert env.podium("logs", str(job), "--summary", check=True).stdout.strip() == summary.strip()  # the same words
    diff = page.inner_text("#job-changes pre.diff")
    assert "+++ b/total.py" in diff and "+    return x - d" in diff
    img = page.locator("#job-shots img")
    img.first.wait_for()
    assert img.evaluate("i => i.complete && i.naturalWidth") == 1
    page.click("#job-log summary")
    page.click("button[data-log]")
    expect(page.locator("pre.log")).to_contain_text("Total now subtracts the discount.")  # codex's own output

    # Resume from the page: the same session goes on as a new job; its agent never sees the dashboard's token
    page.fill(".resume input[name=message]", "Check the environment")
    page.click(".resume button")
    page.wait_for_url(f"{dash.base}/jobs/{job + 1}")
    page.wait_for_selector("#job-head .badge.no_changes", timeout=60_000)
    assert "Checked the environment." in page.inner_text("#job-summary")
    assert f"job {job}" in page.inner_text("#job-head")  # it continues the first
    page.click("#job-log summary")
    page.click("button[data-log]")
    expect(page.locator("pre.log")).to_contain_text(f"PODIUM_JOB_ID={job + 1}")  # codex's record of `env`
    assert dash.token not in page.inner_text("pre.log")


def test_cancel_from_the_job_page(env: Env, dash: Dashboard, chromium: Any) -> None:
    job = env.delegate("wait a while", "--agent", "command", "--command", "sh -c 'sleep 120'")
    env.wait_for(job, lambda j: j["state"] == "running")
    page = chromium.new_page()
    page.goto(dash.link)
    row = f'tr[data-job="{job}"]'
    assert page.inner_text(f"{row} td.role") == "worker"
    assert re.fullmatch(r"\d+s", page.inner_text(f"{row} td.age"))
    assert re.fullmatch(r"\d+s", page.inner_text(f"{row} td.quiet"))  # running, and silent since it started
    page.goto(f"{dash.base}/jobs/{job}")
    page.click("#job-head button.cancel")
    page.wait_for_selector("#job-head .badge.cancelled", timeout=30_000)
    assert env.job(job)["state"] == "cancelled"


def _gated_job(env: Env, message: str) -> tuple[int, str]:
    env.serve({"steps": [
        {"write": {"path": "total.py", "content": "def total(x, d):\n    return x - d\n"}},
        {"write": {"path": "test_total.py", "content": TEST_FILE}},
        {"shell": f"{PY} -m pytest -q -p no:cacheprovider test_total.py"},
        message,
    ]})
    job = env.delegate("The total ignores coupons", "--ticket", "12")
    env.podium("wait", str(job), "--timeout", "90", check=True)
    return job, env.job(job)["branch"]


def test_the_gate_page_shows_what_approve_does_and_approve_ships_it(
        env: Env, github: GitHubServer, dash: Dashboard, chromium: Any) -> None:  # noqa: F811
    job, branch = _gated_job(env, "Total now subtracts the discount.")
    png(Path(env.vars["HOME"]) / "Desktop" / f"{branch.replace('/', '-')}-1-cart.png")
    assert env.podium("ship", str(job)).returncode == 4  # headless: the gate waits
    [gate] = env.podium_json("gates")

    page = chromium.new_page()
    page.goto(dash.link)
    assert page.inner_text(f'tr[data-job="{job}"] td.verdict') == "tests passed (1 passed)"  # from pytest's output
    page.goto(f"{dash.base}/gates")
    page.click(f"a[href='/gates/{gate['id']}']")
    assert "pending" in page.inner_text("#gate-state")
    assert page.inner_text("pre.message").startswith("Checkout total ignores discounts")
    assert page.inner_text(".pr-title") == "Checkout total ignores discounts"
    assert "Closes #12" in page.inner_text(".pr-body")
    assert "tests passed (1 passed)" in page.inner_text(".verdict")
    assert page.inner_text("ul.runs") == f"targeted (no full-suite run): test_total.py passed (job {job})"
    diff = page.inner_text("pre.diff")
    assert "+++ b/test_total.py" in diff and "+    return x - d" in diff
    assert page.locator(".shots img").evaluate("i => i.complete && i.naturalWidth") == 1
    assert github.pulls == {}  # nothing happened yet
    if os.environ.get("PODIUM_README_SHOT"):  # the README's picture, from this very run
        page.screenshot(path=str(ROOT / "docs" / "dashboard.png"))

    page.click("button.approve")
    page.wait_for_selector("#gate-state .badge.done")
    [pull] = github.pulls.values()
    assert (pull.head, pull.base, pull.title) == (branch, "main", "Checkout total ignores discounts")
    remote = git("ls-remote", "origin", f"refs/heads/{branch}", cwd=env.repo).split("\t")[0]
    assert git("rev-parse", f"{remote}^", cwd=env.repo) == git("rev-parse", "origin/main", cwd=env.repo)
    assert f"/pull/{pull.number}" in page.inner_text("#gate-state")
    [done] = env.podium_json("gates", "--all")
    assert done["state"] == "done" and done["decided_by"].endswith("(dashboard)")


def test_reject_records_the_reason_and_a_changed_worktree_is_refused(
        env: Env, github: GitHubServer, dash: Dashboard, chromium: Any) -> None:  # noqa: F811
    job, branch = _gated_job(env, "Done.")
    workspace = Path(env.job(job)["workspace"])
    (workspace / "notes.md").write_text("the human's own notes\n")  # no job of the task wrote it: left out
    assert env.podium("commit", str(job)).returncode == 4
    page = chromium.new_page()
    page.goto(dash.link)
    page.goto(f"{dash.base}/gates/1")
    assert page.locator("ul.left-out li").all_inner_texts() == [
        "notes.md: no job of this task changed it (--include to add it)"]

    # a page that showed the gate otherwise than it is now (its fingerprint): refused, nothing committed. Once the
    # page's live stream has put its regions in place: a region whose HTML differs from the server's (as a
    # hidden input's value set by hand makes it) is replaced by the server's, fingerprint and all
    page.wait_for_selector("body[data-updated]", state="attached")
    page.locator("input[name=shown]").evaluate("i => i.value = '0'.repeat(32)")
    page.click("button.approve")
    assert "gate 1 changed since it was shown: look again, then decide" in page.inner_text(".error")
    assert env.podium_json("gates")[0]["state"] == "pending"
    assert git("rev-list", "--count", f"origin/main..{branch}", cwd=env.repo) == "0"

    (workspace / "total.py").write_text("changed after the page was shown\n")
    page.click("button.approve")
    assert "the work changed since gate 1 was asked for" in page.inner_text(".error")
    assert env.podium_json("gates")[0]["state"] == "pending"

    page.fill(".reject input[name=why]", "Use Decimal, not float")
    page.click(".reject button")
    page.wait_for_selector("#gate-state .badge.rejected")
    [gate] = env.podium_json("gates", "--all")
    assert (gate["state"], gate["reason"]) == ("rejected", "Use Decimal, not float")
    assert github.pulls == {} and "total" not in git("ls-remote", "--heads", "origin", cwd=env.repo)


def test_who_is_refused(env: Env, dash: Dashboard) -> None:
    bare = httpx.Client(base_url=dash.base, timeout=30)
    assert bare.get("/jobs").status_code == 401  # no token
    assert bare.get("/?token=not-the-token").status_code == 403  # wrong token
    guess = httpx.Client(base_url=dash.base, timeout=30, cookies={f"podium_{dash.base.rsplit(':', 1)[1]}": "guess"})
    assert guess.get("/jobs").status_code == 401
    c = dash.client()
    cookie = next(h for h in c.get(dash.link).headers.get_list("set-cookie"))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert c.get("/jobs", headers={"host": "evil.example:80"}).status_code == 421  # DNS rebinding
    page = c.get("/jobs")
    assert page.status_code == 200 and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    csrf = re.search(r'name="csrf" content="(\w+)"', page.text).group(1)  # type: ignore[union-attr]
    origin = {"origin": dash.base}
    assert c.post("/gates/1/reject", data={"why": "no"}, headers=origin).status_code == 403  # no CSRF token
    assert c.post("/gates/1/reject", data={"why": "no", "csrf": "x" * 64}, headers=origin).status_code == 403
    assert c.post("/gates/1/reject", data={"why": "no", "csrf": csrf},
                  headers={"origin": "http://evil.example"}).status_code == 403  # cross-origin
    assert c.post("/gates/1/reject", data={"why": "no", "csrf": csrf}).status_code == 403  # no Origin at all
    missing = c.post("/gates/1/reject", data={"why": "no", "csrf": csrf}, headers=origin)
    assert missing.status_code == 404 and "no gate 1" in missing.text  # every check passed: the operation answered

    # the token is nowhere on disk, and not in the environment of the jobs it starts
    for folder in (env.repo, Path(env.vars["HOME"]), env.root / "worktrees"):
        for path in folder.rglob("*"):
            if path.is_file() and path.stat().st_size < 5_000_000:
                assert dash.token.encode() not in path.read_bytes(), path


def test_filters_workspaces_and_works_pages_and_a_dashboard_inside_a_job_decides_no_gate(env: Env) -> None:
    (env.repo / "tickets").mkdir()
    (env.repo / "tickets" / "PROJ_1.md").write_text("---\ntitle: Coupons\nstate: New\n---\nCoupons are ignored.\n")
    job = env.delegate("change it", "--ticket", "PROJ_1", "--agent", "command", "--command", "sh -c 'echo x > x.txt'")
    other = env.delegate("other", "--agent", "command", "--command", "sh -c 'exit 3'")
    env.podium("wait", str(job), str(other), "--timeout", "60")
    assert env.podium("commit", str(job)).returncode == 4
    branch = env.job(job)["branch"]
    env.vars["PODIUM_JOB_ID"] = "7"  # as an agent's shell inside job 7 would start it
    d = start_dashboard(env)
    try:
        c = d.client()

        def shown(query: str) -> list[int]:
            return [int(n) for n in re.findall(r'data-job="(\d+)"', c.get(f"/jobs?{query}").text)]

        assert shown("") == [other, job]
        assert shown("state=failed") == [other] and shown("state=done") == [job] and shown("state=active") == []
        assert shown("agent=command") == [other, job] and shown("agent=codex") == []
        assert shown(f"branch={branch.split('/')[-1][:6]}") == [job]
        assert shown("ticket=PROJ_1") == [job] and shown("ticket=local:PROJ_1") == [job]
        assert shown("ticket=PROJ%1") == [] and shown("ticket=PROJ_2") == []
        assert "no jobs match" in c.get("/jobs?ticket=PROJ_2").text
        rows = c.get("/jobs").text
        assert rows.count('<td class="role">worker</td>') == 2 and rows.count('<td class="quiet"></td>') == 2
        assert re.search(rf'data-job="{job}".*?<td class="age">\d+s</td>', rows, re.S)
        assert rows.count('<td class="behind">0</td>') == 2  # their base is origin's main still
        mate = env.root / "mate"
        git("clone", "--quiet", str(env.origin), str(mate), cwd=env.root)
        git("commit", "--quiet", "--allow-empty", "-m", "a teammate's change", cwd=mate)
        git("push", "--quiet", "origin", "HEAD:main", cwd=mate)
        git("fetch", "--quiet", "origin", cwd=env.repo)
        assert c.get("/jobs").text.count('<td class="behind">1</td>') == 2  # main moved on by one since
        workspaces = c.get("/workspaces").text
        assert branch in workspaces and f'href="/jobs/{job}"' in workspaces and "yes" in workspaces  # dirty
        assert "No podium work runs yet" in c.get("/works").text
        Store(env.repo / ".git" / "podium").create_work(  # as podium work records its run, two rounds in
            ticket="local:PROJ_1", workspace=env.job(job)["workspace"], branch=branch, state="running",
            agent="claude", max_rounds=3, stall_after=600, rounds=2, orchestrator_job=other)
        works = c.get("/works").text
        assert '<progress max="3" value="2"></progress> 2/3' in works and branch in works
        assert f'href="/jobs/{other}">job {other}</a>' in works and "local:PROJ_1" in works
        page = c.get("/gates/1").text
        assert "from inside a podium job (it runs in podium job 7)" in page and "button class=\"approve\"" not in page
        csrf = re.search(r'name="csrf" content="(\w+)"', page).group(1)  # type: ignore[union-attr]
        refused = c.post("/gates/1/approve", data={"csrf": csrf}, headers={"origin": d.base})
        assert refused.status_code == 409 and "job 7): deciding gates is the human" in refused.text
        assert env.podium_json("gates")[0]["state"] == "pending"
    finally:
        d.proc.kill()
        d.proc.wait()


def test_bad_dashboard_options_are_one_line_errors(env: Env, tmp_path: Path) -> None:
    assert_one_line_error(env.podium("dashboard", "--no-open", "--host", "0.0.0.0"), "--token-file")
    weak = tmp_path / "token"
    weak.write_text("short\n")
    assert_one_line_error(env.podium("dashboard", "--no-open", "--host", "0.0.0.0", "--token-file", str(weak)),
                          "at least 16 characters")
    assert_one_line_error(env.podium("dashboard", "--no-open", "--token-file", str(tmp_path / "nope")),
                          "cannot read the token file")
    d = start_dashboard(env)
    try:
        taken = d.base.rsplit(":", 1)[1]
        assert_one_line_error(env.podium("dashboard", "--no-open", "--port", taken), f"port {taken} is in use")
    finally:
        d.proc.kill()
        d.proc.wait()
    outside = env.podium("dashboard", "--no-open", cwd=env.root)
    assert outside.returncode != 0 and "Traceback" not in outside.stderr


def test_a_shared_host_needs_a_token_file_and_warns(env: Env, tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("a-long-shared-secret-token-0123\n")
    d = start_dashboard(env, "--host", "0.0.0.0", "--token-file", str(secret))
    try:
        assert d.token == "a-long-shared-secret-token-0123"
        port = d.base.rsplit(":", 1)[1]
        c = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        assert c.get(f"/?token={d.token}").status_code == 303 and c.get("/jobs").status_code == 200
        assert c.get("/jobs", headers={"host": f"evil.example:{port}"}).status_code == 421
    finally:
        d.proc.send_signal(signal.SIGINT)
        d.proc.wait(timeout=15)
    assert "warning: the dashboard listens on 0.0.0.0" in (d.proc.stderr.read() if d.proc.stderr else "")


# -- the gate put to the human in the conversation (MCP elicitation) ------------------------------------------
OPEN = {"action": "accept"}  # a links-only client's human: they open the page they are sent


class LinksOnly(Client):
    """The SDK's client declaring only URL-mode elicitation (``elicitation.url``): it opens the pages a server
    names, and shows no form."""

    async def _build_session(self, exit_stack: Any) -> Any:
        session = await super()._build_session(exit_stack)
        declared = session._build_capabilities
        session._build_capabilities = lambda version: declared(version).model_copy(
            update={"elicitation": types.ElicitationCapability(url=types.UrlElicitationCapability())})
        return session


def _call(env: Env, tool: str, arguments: dict[str, Any], answer: dict[str, Any] | None, *,
          links_only: bool = False, told: queue.Queue[Any] | None = None) -> tuple[Any, list[str]]:
    """One tool call over stdio from the SDK's client; ``answer`` is what the human fills in the form (None: a
    client without elicitation). Returns the document and the messages the human was shown — with
    ``links_only``, the pages the client was sent. ``told``: the session stays open after the call, which is put
    there at once, until the server says the elicitation completed ("completed" is put there then)."""
    from mcp.client.stdio import StdioServerParameters

    shown: list[str] = []
    completed = asyncio.Event()

    async def human(context: Any, params: Any) -> Any:
        shown.append(params.url if links_only else params.message)
        return types.ElicitResult(**answer)  # type: ignore[arg-type]

    async def notified(message: Any) -> None:
        if isinstance(message, types.ElicitCompleteNotification):
            completed.set()

    params = StdioServerParameters(command=sys.executable, args=["-m", "podium", "mcp"], env=env.vars,
                                   cwd=str(env.repo))

    async def call() -> Any:
        callback = human if answer is not None else None
        async with (LinksOnly if links_only else Client)(params, mode="legacy", read_timeout_seconds=180,
                                                         elicitation_callback=callback, message_handler=notified) as c:
            result = await c.call_tool(tool, arguments)
            if told is not None:
                told.put((result.structured_content["result"], shown))
                await asyncio.wait_for(completed.wait(), 120)
                told.put("completed")
            return result

    with ThreadPoolExecutor(1) as thread:  # a loop of its own: Playwright's may be running in this thread
        result = thread.submit(asyncio.run, call()).result()
    if result.is_error:
        return " ".join(getattr(c, "text", "") for c in result.content), shown
    return result.structured_content["result"], shown


def test_a_client_that_only_opens_links_is_sent_the_gate_page_and_the_human_approves_there(
        env: Env, github: GitHubServer, chromium: Any) -> None:  # noqa: F811
    job, branch = _gated_job(env, "Total now subtracts the discount.")
    address = env.repo / ".git" / "podium" / "dashboard.json"
    killed = start_dashboard(env)
    killed.proc.kill()
    killed.proc.wait()
    assert address.exists()  # left behind: where it points, no dashboard answers
    # no dashboard runs: nothing to send the client to; the gate waits, and the result says how to open one
    waiting, sent = _call(env, "ship", {"target": str(job)}, OPEN, links_only=True)
    assert waiting["state"] == "pending" and sent == [] and "podium dashboard is not running" in waiting["next"]
    refused, _ = _call(env, "approve", {"gate_id": 1}, OPEN, links_only=True)
    assert "approve is the human's" in refused and "/gates/1" in refused

    dash = start_dashboard(env)
    try:
        told: queue.Queue[Any] = queue.Queue()
        talk = threading.Thread(target=_call, args=(env, "approve", {"gate_id": 1}, OPEN),
                                kwargs={"links_only": True, "told": told})
        talk.start()
        offered, sent = told.get(timeout=120)
        assert sent == [f"{dash.base}/gates/1"]  # the page of the running dashboard, without its token
        assert offered["state"] == "pending" and offered["page"] == sent[0] and "was offered" in offered["next"]
        assert env.podium_json("gates")[0]["state"] == "pending" and github.pulls == {}  # the model decided nothing

        page = chromium.new_page()
        page.goto(dash.link)  # the human's browser holds the dashboard's cookie
        page.goto(sent[0])
        page.click("button.approve")
        page.wait_for_selector("#gate-state .badge.done")
        assert told.get(timeout=30) == "completed"  # the client is told the human decided
        talk.join(timeout=30)
    finally:
        dash.proc.send_signal(signal.SIGINT)
        dash.proc.wait(timeout=15)
    [pull] = github.pulls.values()
    assert pull.head == branch and env.podium_json("gates", "--all")[0]["decided_by"].endswith("(dashboard)")
    assert not address.exists()  # the address goes with the dashboard that stopped


def test_ship_from_the_conversation_asks_the_human_and_carries_out_their_answer(
        env: Env, github: GitHubServer) -> None:  # noqa: F811
    job, branch = _gated_job(env, "Total now subtracts the discount.")
    # a client without elicitation: unchanged, the gate waits and approve is the human's at a terminal
    pending, shown = _call(env, "ship", {"target": str(job)}, None)
    assert pending["state"] == "pending" and shown == [] and "podium approve 1" in pending["next"]
    refused, _ = _call(env, "approve", {"gate_id": 1}, None)
    assert "approve is the human's" in refused

    # a client started inside a podium job (an agent's own) is never asked: it would answer the form itself
    inside = dict(env.vars)
    env.vars["PODIUM_JOB_ID"] = "7"
    refused, shown = _call(env, "approve", {"gate_id": 1}, {"action": "accept", "content": {"decision": "approve"}})
    env.vars = inside
    assert shown == [] and "approve is the human's" in refused and github.pulls == {}

    # the human declines to decide now: still pending, nothing pushed
    declined, shown = _call(env, "approve", {"gate_id": 1}, {"action": "decline"})
    assert declined["state"] == "pending" and declined["asked"] == "decline"
    assert shown[0].startswith("gate 1: commit + push + pr on ") and "Closes #12" in shown[0]
    assert github.pulls == {}

    # ship again: the new gate supersedes the old one and the human approves it in the form
    shipped, shown = _call(env, "ship", {"target": str(job)}, {"action": "accept", "content": {"decision": "approve"}})
    assert len(shown) == 1 and "tests: passed" in shown[0]
    assert shipped["state"] == "done" and shipped["gate"]["decided_by"].endswith("(elicitation)")
    [pull] = github.pulls.values()
    assert pull.head == branch and shipped["result"]["pr"].endswith(f"/pull/{pull.number}")
    states = {g["id"]: g["state"] for g in env.podium_json("gates", "--all")}
    assert states == {1: "superseded", 2: "done"}


def test_rejecting_in_the_form_records_the_reason(env: Env) -> None:
    job = env.delegate("change it", "--agent", "command", "--command", "sh -c 'echo x > x.txt'")
    env.podium("wait", str(job), "--timeout", "60", check=True)
    out, shown = _call(env, "commit", {"target": str(job)},
                       {"action": "accept", "content": {"decision": "reject", "reason": "Not this file"}})
    assert shown and out["state"] == "rejected" and out["gate"]["reason"] == "Not this file"
    assert json.loads(env.podium("gates", "--all", "--json").stdout)[0]["state"] == "rejected"
