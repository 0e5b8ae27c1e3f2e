"""Screenshots of the smoking gun: a page opened in headless Chromium, saved under its branch's name.

The tester (or the user) names a URL, optionally a few steps (click, type, press, wait), and a label.
podium drives the machine's own Chromium through Playwright (``executable_path``: Playwright's browser
download is never needed), saves ``<branch with / as ->-<n>-<label>.png`` into the screenshots folder
(the desktop unless ``[screenshots] dir`` says otherwise) and records it against the branch, so that
the gate shows it and ``ship`` attaches it to the pull request.

The tester's live browser is Microsoft's Playwright MCP server (``@playwright/mcp``) on the same Chromium,
wired into the tester's session: the agent navigates, reads the page's accessibility snapshot, clicks and
types turn by turn. Its profile lives per workspace in podium's store (a login survives the next turn);
its output folder is podium's: after each turn the screenshots the tester took there (or under a name of
its own in the worktree) are saved and recorded the same way, and the page's console errors kept for the
gate. No browser process outlives the turn.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from podium.config import Config
from podium.errors import GitError, PodiumError, UsageError
from podium.git import Repo, git
from podium.store import Screenshot, Store
from podium.workspace import browser_home, repo_lock

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
# Headless, and quiet on a closed network: without the background-networking flags Chromium keeps
# dialling Google's hosts (update checks, sync, field trials) and logs every refusal.
CHROMIUM_ARGS = ("--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage")
ACTIONS = ("click", "type", "press", "wait", "goto")
DEFAULT_TIMEOUT = 30.0
VIEWPORT = (1280, 800)
MAX_CONSOLE = 5
LIVE_NAME = "playwright"  # the live browser's MCP server: its tools are mcp__playwright__browser_*
LIVE_PACKAGE = "@playwright/mcp@0.0.83"
LIVE_SHOT_TOOL = "browser_take_screenshot"
APP_MARK = "PODIUM_APP_OF"  # in the environment of the app served for a tester's turn: its workspace's browser home
IMAGE_SUFFIXES = (".png", ".jpeg", ".jpg", ".webp")
_AUTO_NAME = re.compile(r"^(page|element)-\d{4}-\d\d-\d\dT[\d-]+Z$")  # the server's own names: page-<time>
_CONSOLE_LINE = re.compile(r"^\[\s*\d+ms\]\s*\[ERROR\]\s*(.*)$")


@dataclass(frozen=True)
class Action:
    """One step before the screenshot: ``click:SELECTOR``, ``type:SELECTOR=TEXT``, ``press:KEY``,
    ``wait:SELECTOR`` or ``wait:MILLISECONDS``, ``goto:URL``. Selectors are Playwright's (CSS, ``text=…``)."""

    kind: str
    target: str
    text: str | None = None

    @classmethod
    def parse(cls, spec: str) -> Action:
        kind, sep, rest = spec.partition(":")
        kind = kind.strip().lower()
        if not sep or kind not in ACTIONS or not rest.strip():
            raise UsageError(f"step {spec!r}: write click:SELECTOR, type:SELECTOR=TEXT, press:KEY, "
                             "wait:SELECTOR, wait:MILLISECONDS or goto:URL")
        if kind == "type":
            selector, eq, text = rest.partition("=")
            if not eq or not selector.strip():
                raise UsageError(f"step {spec!r}: type needs SELECTOR=TEXT")
            return cls(kind, selector.strip(), text)
        return cls(kind, rest.strip())

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}" + (f"={self.text}" if self.text is not None else "")


@dataclass
class Shot:
    """What was saved, and what the page said while it was taken."""

    path: str
    branch: str
    number: int
    label: str
    url: str
    final_url: str
    status: int | None
    title: str
    width: int
    height: int
    bytes: int
    console_errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        status = f"HTTP {self.status}" if self.status is not None else "no HTTP status"
        title = f" “{self.title}”" if self.title else ""
        return f"{self.path} ({self.width}×{self.height}, {status}{title})"


def folder(config: Config, repo: Repo) -> Path:
    """Where screenshots go: ``[screenshots] dir`` (a relative one from the main checkout, so every worktree
    shares it), else the desktop, as the workflow always had it."""
    if not config.screenshots_dir:
        return platformdirs.user_desktop_path()
    return (repo.main_checkout / Path(config.screenshots_dir).expanduser()).resolve()


def stem(branch: str) -> str:
    return branch.replace("/", "-")


def slug(label: str) -> str:
    text = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    return text[:40].rstrip("-") or "page"


def find_chromium(configured: str | None = None) -> str:
    """The Chromium to drive: ``[screenshots] browser``, ``$PODIUM_CHROMIUM``, else one on PATH."""
    for name, where in ((configured, "[screenshots] browser"), (os.environ.get("PODIUM_CHROMIUM"), "PODIUM_CHROMIUM")):
        if name:
            found = shutil.which(os.path.expanduser(name))
            if not found:
                raise UsageError(f"{where} = {name} is not an executable")
            return found
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    raise UsageError("no Chromium found for screenshots: install it (apt install chromium) "
                     "or set PODIUM_CHROMIUM / [screenshots] browser")


def launch_args() -> list[str]:
    args = list(CHROMIUM_ARGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to start its sandbox as root
    return args


def capture(url: str, path: Path, actions: list[Action], *, executable: str, full_page: bool = False,
            timeout: float = DEFAULT_TIMEOUT, viewport: tuple[int, int] = VIEWPORT) -> dict[str, Any]:
    """Open ``url`` in headless Chromium, carry out ``actions``, save a PNG at ``path``; the page's facts."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise PodiumError("screenshots need Playwright: pip install playwright (no browser download needed)") from None
    console: list[str] = []
    with sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(executable_path=executable, headless=True, args=launch_args(),
                                         timeout=timeout * 1000)
        except PlaywrightError as e:
            raise PodiumError(f"Chromium ({executable}) did not start: {_first_line(e)}") from None
        try:
            page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
            page.set_default_timeout(timeout * 1000)
            page.on("console", lambda m: console.append(m.text) if m.type == "error" and not _favicon(m) else None)
            page.on("pageerror", lambda e: console.append(str(e)))
            step = f"open {url}"
            try:
                response = page.goto(url, wait_until="load")
                for action in actions:
                    step = str(action)
                    if action.kind == "click":
                        page.click(action.target)
                    elif action.kind == "type":
                        page.fill(action.target, action.text or "")
                    elif action.kind == "press":
                        page.keyboard.press(action.target)
                    elif action.kind == "goto":
                        response = page.goto(action.target, wait_until="load")
                    elif action.target.isdigit():
                        page.wait_for_timeout(int(action.target))
                    else:
                        page.wait_for_selector(action.target)
                page.wait_for_load_state("load")
                path.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(path), full_page=full_page)
            except PlaywrightError as e:
                raise PodiumError(f"{step}: {_first_line(e)}") from None
            size = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
            width, height = (viewport[0], max(viewport[1], int(size[1]))) if full_page else viewport
            return {"final_url": page.url, "status": response.status if response else None, "title": page.title(),
                    "width": width, "height": height, "console_errors": console[:MAX_CONSOLE]}
        finally:
            browser.close()


def _favicon(message: Any) -> bool:
    """Chromium's own favicon request: a 404 for it is not the page's error."""
    return str((message.location or {}).get("url", "")).endswith("/favicon.ico")


def _first_line(e: Exception) -> str:
    text = str(e).strip()
    for prefix in ("Page.goto: ", "Page.click: ", "Page.fill: ", "Page.wait_for_selector: ",
                   "BrowserType.launch: ", "Keyboard.press: ", "Page.screenshot: "):
        text = text.removeprefix(prefix)
    return text.splitlines()[0] if text else type(e).__name__


def current_branch(cwd: Path) -> str:
    try:
        return git("symbolic-ref", "--short", "HEAD", cwd=cwd)
    except GitError:
        raise UsageError("HEAD is detached here: name the branch the screenshot is for with --branch") from None


def take(repo: Repo, store: Store, config: Config, url: str, *, label: str = "page", branch: str | None = None,
         actions: list[Action] | None = None, full_page: bool = False, timeout: float = DEFAULT_TIMEOUT,
         job_id: int | None = None) -> Shot:
    """Screenshot ``url`` for ``branch`` (default: the branch checked out where podium runs) and record it,
    against ``job_id`` — by default the job whose agent asked, as the runner tells it (``PODIUM_JOB_ID``)."""
    if job_id is None and os.environ.get("PODIUM_JOB_ID", "").isdigit():
        job_id = int(os.environ["PODIUM_JOB_ID"])
    if not re.match(r"^(https?|file)://", url):
        raise UsageError(f"{url!r} is not a URL (http://, https:// or file://)")
    branch = branch or current_branch(repo.toplevel)
    executable = find_chromium(config.browser)
    number, path = _claim(repo, store, folder(config, repo), branch, slug(label))
    try:
        facts = capture(url, path, actions or [], executable=executable, full_page=full_page, timeout=timeout)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    workspace = str(repo.toplevel) if store.workspace(str(repo.toplevel)) else None
    store.add_screenshot(Screenshot(branch=branch, number=number, label=label, path=str(path), url=url,
                                    created_at=time.time(), workspace=workspace, job_id=job_id))
    return Shot(path=str(path), branch=branch, number=number, label=label, url=url, bytes=path.stat().st_size,
                **facts)


def _claim(repo: Repo, store: Store, out_dir: Path, branch: str, name: str, suffix: str = ".png") -> tuple[int, Path]:
    """The branch's next screenshot number and its file, created empty to hold the name."""
    with repo_lock(repo, "screenshots"):  # two screenshots at once must not take the same number
        taken = [s.number for s in store.screenshots(branch)]
        pattern = re.compile(rf"^{re.escape(stem(branch))}-(\d+)-")
        theirs = store.others_screenshots(branch)  # a branch named like this one and more (feature/x-2) is not it
        on_disk = [int(m.group(1)) for p in out_dir.glob(f"{stem(branch)}-*")
                   if (m := pattern.match(p.name)) and str(p) not in theirs]
        number = max([0, *taken, *on_disk]) + 1
        path = out_dir / f"{stem(branch)}-{number}-{name}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()  # hold the name while the browser works
    return number, path


def for_branch(repo: Repo, store: Store, config: Config, branch: str) -> list[str]:
    """The branch's screenshots still on disk: recorded ones in the order taken, then any others named
    after the branch in the screenshots folder (taken by hand), by name."""
    recorded = [s.path for s in store.screenshots(branch) if Path(s.path).is_file() and Path(s.path).stat().st_size]
    out_dir = folder(config, repo)
    theirs = store.others_screenshots(branch)
    others = sorted(str(p) for p in out_dir.glob(f"{stem(branch)}*.png")) if out_dir.is_dir() else []
    return recorded + [p for p in others if p not in recorded and p not in theirs]


@dataclass(frozen=True)
class Live:
    """A workspace's live browser: the MCP server's command, its Chromium profile and its output folder."""

    command: list[str]
    profile: Path
    output: Path


def live(store_root: Path, workspace: str, config: Config) -> Live:
    """The live browser for a workspace's tester: ``@playwright/mcp`` (``$PODIUM_PLAYWRIGHT_MCP``, else on PATH)
    driving the machine's Chromium, headless, its profile kept across turns. UsageError when either is missing."""
    from podium.agents import find_executable
    from podium.errors import AgentError

    try:
        server = find_executable("playwright-mcp", "PODIUM_PLAYWRIGHT_MCP", f"npm install -g {LIVE_PACKAGE}")
    except AgentError as e:
        raise UsageError(str(e).replace("the playwright-mcp CLI", "the live browser (playwright-mcp)")) from None
    home = browser_home(store_root, workspace)
    profile, output = home / "profile", home / "output"
    command = [server, "--headless", "--executable-path", find_chromium(config.browser), "--user-data-dir",
               str(profile), "--output-dir", str(output), "--console-level", "error",
               "--viewport-size", f"{VIEWPORT[0]}x{VIEWPORT[1]}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--no-sandbox")  # Chromium refuses to start its sandbox as root
    return Live(command, profile, output)


def end_live(home: Path) -> int:
    """End every process left of a workspace's tester turn: those using its live browser's profile (the MCP
    server, Chromium and its helpers — Chromium leads a process group of its own, so ending the agent's leaves
    it) and those of the app served for it (marked ``APP_MARK`` in their environment, which their children
    inherit); how many there were."""
    profile, mark = str(home / "profile"), f"{APP_MARK}={home}".encode()
    found = [pid for pid in _pids() if any(profile in arg for arg in _cmdline(pid)) or mark in _environ(pid)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in [p for p in found if _cmdline(p)]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline and any(_cmdline(pid) for pid in found):
            time.sleep(0.05)
    return len(found)


def _environ(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return b""


def _pids() -> list[int]:
    try:
        return [int(n) for n in os.listdir("/proc") if n.isdigit() and int(n) != os.getpid()]
    except OSError:
        return []


def _cmdline(pid: int) -> list[str]:
    """A live process's arguments; none for one that is gone (or a zombie)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").split("\0") if raw else []


def live_label(path: Path) -> str:
    """A screenshot's label from its file name: the tester's own (``after-click.png``), or ``page`` for one the
    server named by its time."""
    name = path.stem
    return name.split("-", 1)[0] if _AUTO_NAME.match(name) else name


def adopt_live(repo: Repo, store: Store, config: Config, home: Path, calls: list[tuple[dict[str, Any], str]],
               *, workspace: str, branch: str, job_id: int) -> tuple[list[str], list[str]]:
    """After a tester's turn: each screenshot it took through the live browser (``calls``: the screenshot tool's
    input and the page's URL then, in order) saved as ``<branch>-<n>-<label>.png`` and recorded, as
    ``podium screenshot`` does; the page's console errors. The output folder is emptied for the next turn."""
    output = home / "output"
    auto = sorted((p for p in output.glob("*") if p.suffix.lower() in IMAGE_SUFFIXES), key=_mtime)
    saved = []
    for tool_input, url in calls:
        name = tool_input.get("filename")
        source = (Path(workspace) / str(name)) if name else (auto.pop(0) if auto else None)
        if source is None or not source.is_file() or not _inside(source, (Path(workspace), output)):
            continue
        saved.append(_save(repo, store, config, source, branch=branch, url=url, workspace=workspace, job_id=job_id))
    saved += [_save(repo, store, config, p, branch=branch, url="", workspace=workspace, job_id=job_id) for p in auto]
    errors = console_errors(output)
    shutil.rmtree(output, ignore_errors=True)
    return saved, errors


def _save(repo: Repo, store: Store, config: Config, source: Path, *, branch: str, url: str, workspace: str,
          job_id: int) -> str:
    label = live_label(source)
    suffix = ".png" if source.suffix.lower() == ".png" else source.suffix.lower()
    number, path = _claim(repo, store, folder(config, repo), branch, slug(label), suffix)
    shutil.move(str(source), path)
    store.add_screenshot(Screenshot(branch=branch, number=number, label=label, path=str(path), url=url,
                                    created_at=time.time(), workspace=workspace, job_id=job_id))
    return str(path)


def keep(repo: Repo, store: Store, config: Config, content: bytes, *, label: str, url: str, branch: str,
         workspace: str, job_id: int, suffix: str = ".png") -> str:
    """A screenshot taken elsewhere (by a tester on a podium worker) saved and recorded here, as if taken here."""
    number, path = _claim(repo, store, folder(config, repo), branch, slug(label), suffix)
    path.write_bytes(content)
    store.add_screenshot(Screenshot(branch=branch, number=number, label=label, path=str(path), url=url,
                                    created_at=time.time(), workspace=workspace, job_id=job_id))
    return str(path)


def console_errors(output: Path) -> list[str]:
    """The page's console errors the server logged (``console-<time>.log``), without Chromium's own favicon
    request, oldest first, at most ``MAX_CONSOLE``."""
    found: list[str] = []
    for log in sorted(output.glob("console-*.log"), key=_mtime):
        with contextlib.suppress(OSError):
            for line in log.read_text(errors="replace").splitlines():
                m = _CONSOLE_LINE.match(line.strip())
                if m and "/favicon.ico" not in m.group(1) and m.group(1) not in found:
                    found.append(m.group(1))
    return found[:MAX_CONSOLE]


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    real = path.resolve()
    return any(real.is_relative_to(root.resolve()) for root in roots)
