"""``podium screenshot`` on Debian's Chromium, TESTER.md generation, and what bad input gets."""

from __future__ import annotations

import functools
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from conftest import Env, assert_one_line_error, git, toolchain

PAGE = """<!doctype html>
<html><head><title>Orders</title>
<style>body{margin:0;background:#0000c0;height:100vh} body.saved{background:#f0f000}</style></head>
<body><input id="name"><button id="save" onclick="if(document.getElementById('name').value==='Ada')
document.body.className='saved'; console.error('saved with a warning')">Save</button></body></html>
"""


@pytest.fixture
def site(tmp_path: Path) -> Iterator[str]:
    toolchain("chromium", "chromium-browser", "google-chrome")
    root = tmp_path / "site"
    root.mkdir()
    (root / "index.html").write_text(PAGE)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    server.shutdown()


def _rgb(path: str, xy: tuple[int, int] = (600, 400)) -> tuple[int, int, int]:
    with Image.open(path) as img:
        return img.convert("RGB").getpixel(xy)  # type: ignore[return-value]


def test_screenshots_are_numbered_per_branch_carry_out_steps_and_are_recorded(env: Env, site: str) -> None:
    desktop = Path(env.vars["HOME"]) / "Desktop"
    first = env.podium_json("screenshot", site, "--label", "Empty form")
    assert first["path"] == str(desktop / "main-1-empty-form.png")
    assert (first["status"], first["title"], first["width"], first["height"]) == (200, "Orders", 1280, 800)
    assert _rgb(first["path"]) == (0, 0, 192)

    out = env.podium("screenshot", site, "--label", "Saved: Ada!", "--do", "type:#name=Ada", "--do", "click:#save",
                     "--do", "wait:body.saved", check=True).stdout
    second = desktop / "main-2-saved-ada.png"
    assert out.startswith(f"{second} (1280×800, HTTP 200 “Orders”)")
    assert "console error: saved with a warning" in out  # the page's own errors, the favicon's 404 aside
    assert _rgb(str(second)) == (240, 240, 0)

    other = env.podium_json("screenshot", site, "--branch", "feature/orders", "--full-page")
    assert Path(other["path"]).name == "feature-orders-1-page.png"
    # a file named after the branch by hand counts too: the next number follows it
    (desktop / "main-7-by-hand.png").write_bytes(Path(first["path"]).read_bytes())
    assert Path(env.podium_json("screenshot", site)["path"]).name == "main-8-page.png"


def test_screenshot_folder_is_configurable_and_shared_by_the_workspaces(env: Env, site: str) -> None:
    (env.repo / "podium.toml").write_text('[screenshots]\ndir = "shots"\n')  # not committed: holds for worktrees too
    job_id = env.delegate("Add orders page", "--agent", "command", "--command", "sh -c 'echo x > orders.txt'")
    env.podium("wait", str(job_id), "--timeout", "60", check=True)
    job = env.job(job_id)
    shot = env.podium_json("screenshot", site, "--label", "orders", cwd=Path(job["workspace"]))
    stem = job["branch"].replace("/", "-")
    assert shot["path"] == str(env.repo / "shots" / f"{stem}-1-orders.png") and shot["branch"] == job["branch"]
    assert env.podium("commit", job["branch"]).returncode == 4
    assert f"screenshots: {shot['path']}" in env.podium("gates", check=True).stdout


def test_screenshot_bad_input_is_one_line_and_leaves_no_file(env: Env, site: str) -> None:
    desktop = Path(env.vars["HOME"]) / "Desktop"
    assert_one_line_error(env.podium("screenshot", "localhost:3000"), "is not a URL")
    assert_one_line_error(env.podium("screenshot", site, "--do", "hover:#x"), "write click:SELECTOR")
    assert_one_line_error(env.podium("screenshot", site, "--do", "type:#name"), "type needs SELECTOR=TEXT")
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/"
    assert_one_line_error(env.podium("screenshot", closed), f"open {closed}", "ERR_CONNECTION_REFUSED")
    late = env.podium("screenshot", site, "--do", "wait:#never", "--timeout", "1")
    assert_one_line_error(late, "wait:#never", "Timeout 1000ms exceeded")
    env.vars["PODIUM_CHROMIUM"] = "/nonexistent/chromium"
    assert_one_line_error(env.podium("screenshot", site), "PODIUM_CHROMIUM = /nonexistent/chromium is not an")
    del env.vars["PODIUM_CHROMIUM"]
    git("checkout", "--quiet", "--detach", cwd=env.repo)
    assert_one_line_error(env.podium("screenshot", site), "HEAD is detached", "--branch")
    assert not desktop.exists() or not list(desktop.glob("*.png"))


def test_tester_role_file_is_generated_and_keeps_the_users_edits(env: Env) -> None:
    (env.repo / "package.json").write_text('{"scripts": {"test": "vitest run"}}')
    (env.repo / "pnpm-lock.yaml").write_text("lockfileVersion: '9.0'\n")
    made = env.podium("roles", "tester", check=True).stdout
    path = env.repo / ".podium" / "roles" / "TESTER.md"
    assert made.strip() == f"{path}: created"
    text = path.read_text()
    assert "- `pnpm test` — package.json scripts.test: vitest run" in text
    assert "- `pnpm test -- <file or -t 'name'>`" in text and "- `npm test --" not in text
    assert "podium screenshot URL" in text and "MCP tool `screenshot`" in text
    assert git("status", "--porcelain", cwd=env.repo) == "?? package.json\n?? pnpm-lock.yaml".strip()

    # the user's words outside the markers stay; the generated part follows the repository
    edited = text.replace("# Tester\n", "# Tester\n\nAlways test in Firefox-sized viewports too.\n")
    edited = edited.replace("Run them as they are", "Whatever I write here is replaced. Run them as they are")
    path.write_text(edited)
    (env.repo / "go.mod").write_text("module example.com/x\n")
    assert env.podium("roles", "tester", check=True).stdout.strip() == f"{path}: generated part updated"
    text = path.read_text()
    assert "Always test in Firefox-sized viewports too." in text
    assert "Whatever I write here is replaced." not in text
    assert "- `go test ./...` — go.mod" in text
    assert env.podium("roles", "tester", check=True).stdout.strip() == f"{path}: up to date"

    # without the markers, the file is all the user's
    path.write_text("# My own tester\n\nJust run make test.\n")
    assert "no podium markers" in env.podium("roles", "tester", check=True).stdout
    assert path.read_text() == "# My own tester\n\nJust run make test.\n"
    assert env.podium("roles", "tester", "--print", check=True).stdout == "# My own tester\n\nJust run make test.\n\n"


def test_tester_bad_input_is_one_line(env: Env) -> None:
    assert_one_line_error(env.podium("test", "feature/nope", "run it"), "no podium workspace on branch 'feature/nope'")
    job_id = env.delegate("Something", "--agent", "command", "--command", "true")
    env.podium("wait", str(job_id), "--timeout", "60")
    branch = env.job(job_id)["branch"]
    assert_one_line_error(env.podium("test", branch, "  "), "the message is empty")
    assert_one_line_error(env.podium("test", branch, "run it", "--agent", "command"),
                          "the command agent cannot resume a session")
    assert_one_line_error(env.podium("test", branch, "run it", "--agent", "nope"), "unknown agent 'nope'")
    assert json.loads(env.podium("status", "--json").stdout)[0]["id"] == job_id  # no tester job was made
    (env.repo / "podium.toml").write_text("[tester]\nagent = 3\n")
    assert_one_line_error(env.podium("test", branch, "run it"), "tester.agent: a string, not 3")


def test_a_branch_named_like_another_and_more_keeps_its_own_numbering(env: Env) -> None:
    """feature/shop-page-2's first screenshot (feature-shop-page-2-1-home.png) is not feature/shop-page's second."""
    from podium import browser
    from podium.context import Context

    desktop = Path(env.vars["HOME"]) / "Desktop"
    (env.repo / "podium.toml").write_text(f'[screenshots]\ndir = "{desktop}"\n')
    ctx = Context.open(env.repo)
    png = b"\x89PNG\r\n\x1a\n"
    longer = browser.keep(ctx.repo, ctx.store, ctx.config, png, label="home", url="", branch="feature/shop-page-2",
                          workspace="", job_id=1)
    shorter = browser.keep(ctx.repo, ctx.store, ctx.config, png, label="home", url="", branch="feature/shop-page",
                           workspace="", job_id=2)
    assert (Path(longer).name, Path(shorter).name) == ("feature-shop-page-2-1-home.png", "feature-shop-page-1-home.png")
    assert browser.for_branch(ctx.repo, ctx.store, ctx.config, "feature/shop-page") == [shorter]
