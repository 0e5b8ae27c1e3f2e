"""The tester's live browser: Microsoft's Playwright MCP server on Debian's Chromium, driven by a real claude
tester against the scripted model; the app under test served by podium for the turn; the screenshots saved
and recorded the team's way, the page's console errors shown at the gate, the PNG attached at ship."""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import Env, assert_one_line_error, git, toolchain
from servers.github import GitHubServer

PY = shlex.quote(sys.executable)
SERVE = f'{sys.executable} -m http.server {{port}} --bind 127.0.0.1'
# the bug shows only after a click: the page is fine until Buy is pressed
SHOP = """<!doctype html>
<html><head><title>Shop</title>
<style>body{margin:0;height:100vh;background:#e0e0e0} body.broken{background:#c00000}</style></head>
<body><button id="buy" onclick="document.body.className='broken';
document.getElementById('msg').textContent='Error: the cart is empty';
console.error('checkout failed: 500')">Buy</button><p id="msg"></p></body></html>
"""
LOGIN = """<!doctype html>
<html><head><title>Account</title></head>
<body><button onclick="localStorage.setItem('user', 'ada'); show()">Log in</button><p id="who"></p>
<script>function show(){document.getElementById('who').textContent =
localStorage.getItem('user') ? 'Signed in as ' + localStorage.getItem('user') : 'Signed out'} show()</script>
</body></html>
"""


@pytest.fixture(autouse=True)
def chromium() -> None:
    toolchain("chromium", "chromium-browser", "google-chrome")


def _workspace(env: Env, files: dict[str, str]) -> tuple[dict, str]:
    """A worker (the command agent) that leaves ``files`` in a new workspace; its status row and its port."""
    script = "; ".join(f"printf %s {shlex.quote(body)} > {shlex.quote(path)}" for path, body in files.items())
    job_id = env.delegate("Build the shop page", "--agent", "command", "--command", f"sh -c {shlex.quote(script)}")
    env.podium("wait", str(job_id), "--timeout", "60", check=True)
    job = env.job(job_id)
    port = dict(line.split("=", 1) for line in (Path(job["workspace"]) / ".podium" / "env").read_text().splitlines())
    return job, port["PORT"]


def _browsers(marker: str) -> list[str]:
    """Every live process whose arguments name ``marker`` (a live browser's profile)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if marker in args:
            found.append(args.replace("\0", " "))
    return found


def _tool(name: str, **tool_input: object) -> dict:
    return {"tool": {"name": f"mcp__playwright__{name}", "input": tool_input}}


def _tool_results(env: Env) -> list[str]:
    """What each of the tester's requests carried back from its last tool call."""
    return [json.dumps(r["body"]["messages"][-1]["content"]) for r in env.requests() if not r["aux"]]


def _pixel(path: Path, xy: tuple[int, int] = (640, 600)) -> tuple[int, int, int]:
    from PIL import Image

    with Image.open(path) as img:
        return img.convert("RGB").getpixel(xy)  # type: ignore[return-value]


@pytest.fixture
def github(env: Env) -> Iterator[GitHubServer]:
    server = GitHubServer()
    env.vars["GITHUB_TOKEN"] = server.token
    (env.repo / "podium.toml").write_text(f'[forge]\nkind = "github"\nrepo = "acme/shop"\napi = "{server.url}"\n'
                                          f'[tester]\nserve = "{SERVE}"\n')
    yield server
    server.stop()
    assert server.errors == []


def test_claude_tester_clicks_through_the_app_podium_serves_and_its_screenshot_goes_to_the_gate_and_the_pr(
        env: Env, github: GitHubServer) -> None:
    worker, port = _workspace(env, {"index.html": SHOP, "shop.py": "PRICE = 3\n"})
    branch, ws = worker["branch"], Path(worker["workspace"])
    url = f"http://127.0.0.1:{port}/index.html"
    env.serve({"steps": [
        _tool("browser_navigate", url=url),
        _tool("browser_snapshot"),
        _tool("browser_click", element="Buy button", target="e2"),
        _tool("browser_snapshot"),
        _tool("browser_take_screenshot", filename="cart-error.png"),
        "Buy shows 'Error: the cart is empty' and logs a 500.",
    ]})
    turn = env.podium_json("test", branch, "Click Buy and screenshot what happens.")
    assert env.podium("wait", str(turn["id"]), "--timeout", "120").returncode == 0, env.podium("logs", str(turn["id"]))

    # the tester was told where the app is, and the role lists the live browser
    first = json.dumps(next(r for r in env.requests() if not r["aux"])["body"], ensure_ascii=False)
    assert f"podium serves it at http://127.0.0.1:{port}/" in first and "browser_take_screenshot" in first
    assert "A live browser: the `playwright` MCP server" in (env.repo / ".podium" / "roles" / "TESTER.md").read_text()
    # it read the page before and after the click, through its snapshot (the error text is only there after)
    results = _tool_results(env)
    assert 'button \\"Buy\\" [ref=e2]' in results[2] and "Error: the cart is empty" not in results[2]
    assert "Error: the cart is empty" in results[4]
    # the screenshot is the team's: named by branch, in the screenshots folder, the page as it was after the click
    shot = Path(env.vars["HOME"]) / "Desktop" / f"{branch.replace('/', '-')}-1-cart-error.png"
    assert shot.is_file()
    assert _pixel(shot) == (192, 0, 0)
    assert not (ws / "cart-error.png").exists()  # moved out of the worktree: never committed
    log = env.podium("logs", str(turn["id"])).stdout
    assert f"browser: 1 screenshot from the live browser: {shot}; console errors: checkout failed: 500" in log
    # nothing of the turn is left running: not the browser, not the app
    assert _browsers(str(env.repo / ".git" / "podium" / "browser")) == []
    import urllib.request

    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=2)

    # the gate shows the screenshot and the console error the tester saw; ship attaches the PNG: GitHub takes no
    # uploads, so it is on podium's screenshots branch, shown in the PR
    shipped = env.approved_json("ship", branch)
    shown = "\n".join(shipped["gate"]["shown"])
    assert f"screenshots: {shot}" in shown
    assert f"console errors (the tester's browser, job {turn['id']}): checkout failed: 500" in shown
    assert shipped["gate"]["state"] == "done"
    [pull] = github.pulls.values()
    assert f"![{shot.name}](https://github.com/acme/shop/blob/" in pull.body
    assert git("ls-remote", "origin", "refs/heads/podium/screenshots", cwd=env.repo)


def _serve_config(env: Env) -> None:
    (env.repo / "podium.toml").write_text(f'[tester]\nserve = "{SERVE}"\n')


def test_a_resumed_turn_is_still_logged_in_and_no_browser_outlives_a_turn_or_a_cancel(env: Env) -> None:
    _serve_config(env)
    worker, port = _workspace(env, {"login.html": LOGIN})
    url = f"http://127.0.0.1:{port}/login.html"
    profiles = str(env.repo / ".git" / "podium" / "browser")
    env.serve({"steps": [
        _tool("browser_navigate", url=url), _tool("browser_click", element="Log in button", target="e2"),
        _tool("browser_snapshot"), "Logged in as ada.",
        _tool("browser_navigate", url=url), _tool("browser_snapshot"), "Still signed in.",
        _tool("browser_navigate", url=url), {"shell": f"{PY} -c 'import time; time.sleep(120)'"}, "never reached",
    ]})
    first = env.podium_json("test", worker["branch"], "Log in.")
    env.podium("wait", str(first["id"]), "--timeout", "120", check=True)
    assert "Signed in as ada" in _tool_results(env)[3]  # what the page said after the click
    assert _browsers(profiles) == []

    second = env.podium_json("test", worker["branch"], "Are you still logged in?")
    assert second["resumed"] is True
    env.podium("wait", str(second["id"]), "--timeout", "120", check=True)
    assert "Signed in as ada" in _tool_results(env)[-1]  # a new browser, the same profile: the login survived
    assert _browsers(profiles) == []
    resumed = [r["body"] for r in env.requests() if not r["aux"]][4]  # the second turn's first request
    assert f"(podium: the app under test answers at http://127.0.0.1:{port}/ this turn" in json.dumps(resumed)

    third = env.podium_json("test", worker["branch"], "Look again, slowly.")
    # the model has seen the page (its 9th request) and answered with a long command: the browser is open
    env.wait_for(third["id"], lambda j: len(_tool_results(env)) >= 9, timeout=90)
    assert _browsers(profiles)
    env.podium("cancel", str(third["id"]), check=True)
    env.wait_for(third["id"], lambda j: j["state"] == "cancelled", timeout=60)
    assert _browsers(profiles) == []
    import urllib.request

    with pytest.raises(OSError):  # the app went with it
        urllib.request.urlopen(url, timeout=2)


COLOURED = """<!doctype html><html><head><title>{name}</title>
<style>body{{margin:0;height:100vh;background:{colour}}}</style></head><body><h1>{name}</h1></body></html>
"""


def test_two_testers_test_their_own_apps_side_by_side(env: Env) -> None:
    _serve_config(env)
    red, red_port = _workspace(env, {"index.html": COLOURED.format(name="Red", colour="#c00000")})
    blue, blue_port = _workspace(env, {"index.html": COLOURED.format(name="Blue", colour="#0000c0")})
    assert red_port != blue_port
    env.serve({"scripts": [
        {"name": colour, "match": f"podium serves it at http://127.0.0.1:{port}/",
         "steps": [_tool("browser_navigate", url=f"http://127.0.0.1:{port}/index.html"),
                   _tool("browser_take_screenshot", filename="home.png"), f"The {colour} page."]}
        for colour, port in (("red", red_port), ("blue", blue_port))]})
    turns = [env.podium_json("test", ws["branch"], "Screenshot the home page.") for ws in (red, blue)]
    for turn in turns:
        env.podium("wait", str(turn["id"]), "--timeout", "120", check=True)
    desktop = Path(env.vars["HOME"]) / "Desktop"
    red_shot = desktop / f"{red['branch'].replace('/', '-')}-1-home.png"
    blue_shot = desktop / f"{blue['branch'].replace('/', '-')}-1-home.png"
    assert _pixel(red_shot) == (192, 0, 0)
    assert _pixel(blue_shot) == (0, 0, 192)
    starts = [env.podium_json("logs", str(t["id"]))["events"] for t in turns]
    assert all(any("the app under test answers" in json.dumps(e) for e in events) for events in starts)



SERVE_PY = """import argparse, functools, http.server
parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
port = parser.parse_args().port
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=".")
http.server.ThreadingHTTPServer(("127.0.0.1", port), handler).serve_forever()
"""


def test_a_codex_tester_is_served_the_detected_dev_server(env: Env) -> None:
    toolchain("npm")
    package = json.dumps({"name": "shop", "private": True, "scripts": {"dev": f"{sys.executable} serve.py"}})
    worker, port = _workspace(env, {"package.json": package, "serve.py": SERVE_PY,
                                    "index.html": COLOURED.format(name="Green", colour="#00a000")})
    env.serve({"steps": ["The page is served."]})
    turn = env.podium("test", worker["branch"], "Is the app up?", "--agent", "codex")
    assert turn.returncode == 0, turn.stderr
    job_id = int(turn.stdout.strip())
    env.podium("wait", str(job_id), "--timeout", "120", check=True)
    # podium found the dev script, served it on the workspace's port for the turn, and told the tester so
    first = json.dumps(next(r for r in env.requests())["body"], ensure_ascii=False)
    assert (f"podium serves it at http://127.0.0.1:{port}/ for each of your turns (`npm run dev -- --port {port}`, "
            "package.json's dev script)") in first
    log = env.podium("logs", str(job_id)).stdout
    assert f"the app under test answers at http://127.0.0.1:{port}/" in log
    served = (env.repo / ".git" / "podium" / "logs" / f"{job_id}.app").read_text()
    assert f"serve.py --port {port}" in served and '"GET / HTTP/1.1" 200' in served
    import urllib.request

    with pytest.raises(OSError):  # stopped with the turn: npm and the server it started
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)


def test_a_serve_command_that_is_not_text_is_one_line_and_one_that_dies_is_said_in_the_turns_log(env: Env) -> None:
    worker, _ = _workspace(env, {"index.html": SHOP})
    (env.repo / "podium.toml").write_text("[tester]\nserve = 8080\n")
    assert_one_line_error(env.podium("test", worker["branch"], "Look."), "serve")
    (env.repo / "podium.toml").write_text('[tester]\nserve = "echo no such app >&2; exit 3"\n')
    env.serve({"steps": ["Nothing to see: the app is down."]})
    turn = env.podium_json("test", worker["branch"], "Look.")
    env.podium("wait", str(turn["id"]), "--timeout", "120", check=True)  # the turn runs all the same
    log = env.podium("logs", str(turn["id"])).stdout
    assert "the app under test (`echo no such app >&2; exit 3`) exited 3; its output: " in log
    assert "no such app" in (env.repo / ".git" / "podium" / "logs" / f"{turn['id']}.app").read_text()


def test_what_a_died_runner_left_on_the_port_is_ended_before_the_next_turn_serves_the_app(env: Env) -> None:
    import subprocess

    from podium.workspace import browser_home

    _serve_config(env)
    worker, port = _workspace(env, {"index.html": COLOURED.format(name="Fresh", colour="#00a000")})
    stale_root = env.root / "stale"
    stale_root.mkdir()
    (stale_root / "index.html").write_text(COLOURED.format(name="Stale", colour="#000000"))
    home = browser_home(env.repo / ".git" / "podium", worker["workspace"])
    # the app an earlier turn served, its runner killed before it could stop it: still on the workspace's port
    stale = subprocess.Popen([sys.executable, "-m", "http.server", port, "--bind", "127.0.0.1"], cwd=stale_root,
                             env={**env.vars, "PODIUM_APP_OF": str(home)}, start_new_session=True,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        env.serve({"steps": [_tool("browser_navigate", url=f"http://127.0.0.1:{port}/index.html"),
                             _tool("browser_snapshot"), "The fresh page."]})
        turn = env.podium_json("test", worker["branch"], "Which page is it?")
        env.podium("wait", str(turn["id"]), "--timeout", "120", check=True)
        assert stale.wait(timeout=10) is not None
        assert 'heading \\"Fresh\\"' in _tool_results(env)[-1]
    finally:
        stale.kill()


# The scripted model as codex's model catalog describes it: one that searches for tools, as OpenAI's own do —
# codex offers MCP tools to such a model only through its tool_search.
CODEX_CATALOG = {"models": [{
    "slug": "scripted", "display_name": "scripted", "base_instructions": "You are a coding agent.",
    "supports_search_tool": True, "shell_type": "shell_command", "visibility": "list", "supported_in_api": True,
    "priority": 1, "context_window": 272000, "max_context_window": 272000, "auto_compact_token_limit": None,
    "truncation_policy": {"mode": "tokens", "limit": 10000}, "input_modalities": ["text"],
    "default_reasoning_level": "medium", "supported_reasoning_levels": [{"effort": "medium", "description": "m"}],
    "default_reasoning_summary": "none", "supports_reasoning_summaries": False,
    "supports_reasoning_summary_parameter": False, "support_verbosity": False, "default_verbosity": None,
    "apply_patch_tool_type": None, "web_search_tool_type": "text", "supports_parallel_tool_calls": False,
    "supports_image_detail_original": False, "experimental_supported_tools": [], "prefer_websockets": False,
    "use_responses_lite": False, "tool_mode": None, "multi_agent_version": None,
    "multi_agent_reasoning_effort": None, "supports_reasoning_effort_updates": False,
    "include_skills_usage_instructions": False, "include_apps_usage_instructions": False,
    "include_plugin_usage_instructions": False, "node_repl_auto_review_required": False,
    "node_repl_disabled": False, "requires_sandboxed_review": False, "auto_review_model_override": None,
    "model_specialty": None, "supports_experimental_context": False, "default_service_tier": None,
}]}


def test_a_codex_tester_drives_the_live_browser_through_its_tool_search(env: Env) -> None:
    catalog = env.root / "codex-models.json"
    catalog.write_text(json.dumps(CODEX_CATALOG))
    (env.repo / "podium.toml").write_text(f'[tester]\nagent = "codex"\nserve = "{SERVE}"\n'
                                          f"[agents.codex]\nargs = ['-c', 'model_catalog_json=\"{catalog}\"']\n")
    worker, port = _workspace(env, {"index.html": SHOP})
    branch = worker["branch"]
    env.serve({"steps": [
        {"shell": f"{PY} -c 'import time; time.sleep(3)'"},  # codex connects its MCP servers while the turn starts
        {"tool": {"name": "tool_search", "input": {"query": "browser", "limit": 40}}},
        _tool("browser_navigate", url=f"http://127.0.0.1:{port}/index.html"),
        _tool("browser_click", element="Buy button", target="e2"),
        _tool("browser_snapshot"),
        _tool("browser_take_screenshot", filename="cart-error.png"),
        "Buy shows 'Error: the cart is empty'.",
    ]})
    turn = env.podium_json("test", branch, "Click Buy and screenshot what happens.")
    assert turn["agent"] == "codex"
    env.podium("wait", str(turn["id"]), "--timeout", "120", check=True)
    outputs = [json.dumps(r["body"]["input"][-1]) for r in env.requests()]
    assert "Error: the cart is empty" in outputs[5]  # what the snapshot after the click said
    shot = Path(env.vars["HOME"]) / "Desktop" / f"{branch.replace('/', '-')}-1-cart-error.png"
    assert _pixel(shot) == (192, 0, 0)
    log = env.podium("logs", str(turn["id"])).stdout
    assert f"browser: 1 screenshot from the live browser: {shot}; console errors: checkout failed: 500" in log
    assert _browsers(str(env.repo / ".git" / "podium" / "browser")) == []
