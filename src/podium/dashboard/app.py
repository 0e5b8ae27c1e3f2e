"""The dashboard's pages: the service layer's results rendered as HTML, kept live by server-sent events.

Each page is a view: a function from the request's parameters to the data its template shows. A page's live
regions (``<... id="jobs-rows">``) are fragments rendered by the same templates; ``/live`` re-renders them
when the store changed (SQLite's ``data_version``, watched by one thread for every open page) and every
``REFRESH`` seconds (ages and quiet times move on), and sends only the regions that differ. New events of a
job are appended, not re-sent.

Store access happens in worker threads, one ``Context`` (one SQLite connection) per thread.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import anyio
import jinja2
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from podium.config import Config
from podium.context import Context
from podium.dashboard.access import Access
from podium.errors import PodiumError
from podium.render import tests_cell
from podium.service import gates as gate_ops
from podium.service import jobs as job_ops
from podium.service import tester as tester_ops
from podium.service import workspaces as workspace_ops
from podium.store import ACTIVE_STATES
from podium.summary import event_line, history_runs, human_duration, one_line

HERE = Path(__file__).parent
PER_PAGE = 50
EVENTS_SHOWN = 300
REFRESH = 2.0  # seconds between re-renders when nothing in the store changed (ages move on)
CHANGES_EVERY = 5.0  # a live job's worktree diff is taken again this often (it hashes the worktree)
WATCH = 0.2  # how often the store is asked whether anything changed
STATES = ("active", *ACTIVE_STATES, "done", "no_changes", "failed", "cancelled", "lost")
HEADERS = {  # no framing (an Approve button under someone else's page), nothing from elsewhere, no referrer out
    "content-security-policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",  # no-referrer would make a form's Origin "null"
    "x-content-type-options": "nosniff",
    "cache-control": "no-store",
}


class Guard:
    """Every request: the bound address in ``Host``, this start's token (in the first URL, then the cookie);
    a request that changes something also a same-origin ``Origin`` (its CSRF token is checked with its form)."""

    def __init__(self, app: ASGIApp, access: Access):
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refused = self.refusal(request)
        if refused is not None:
            await refused(scope, receive, send)
            return
        token = request.query_params.get("token")
        if token is not None:  # the printed link: trade the token for the cookie, and drop it from the URL
            response = RedirectResponse("/jobs", status_code=303)
            response.set_cookie(self.access.cookie, token, httponly=True, samesite="strict", path="/")
            await self.with_headers(response)(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []),
                                      *((k.encode(), v.encode()) for k, v in HEADERS.items())]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def refusal(self, request: Request) -> Response | None:
        a = self.access
        if request.headers.get("host", "") not in a.hosts:
            return self.with_headers(PlainTextResponse(
                f"podium: refused: this dashboard answers only at {a.url()}", status_code=421))
        given = request.query_params.get("token")
        if given is not None and not a.token_ok(given):
            return self.with_headers(PlainTextResponse(
                "podium: wrong token: open the link podium dashboard printed when it started", status_code=403))
        if given is None and not a.token_ok(request.cookies.get(a.cookie)):
            return self.with_headers(PlainTextResponse(
                "podium: open the link podium dashboard printed (it carries this start's token)", status_code=401))
        if request.method not in ("GET", "HEAD") and request.headers.get("origin") not in a.origins:
            return self.with_headers(PlainTextResponse("podium: refused: a request from another origin",
                                                       status_code=403))
        return None

    @staticmethod
    def with_headers(response: Response) -> Response:
        response.headers.update(HEADERS)
        return response


@dataclass
class Live:
    """What one open page has been sent: its regions' HTML and the last event appended."""

    regions: dict[str, str] = field(default_factory=dict)
    after: int = 0
    changes_at: float = 0.0
    state: str | None = None


class Dashboard:
    """The app's state: the repository, who may use it, the templates, and a watch on the store."""

    def __init__(self, root: Path, access: Access):
        self.root = root
        self.access = access
        self.local = threading.local()
        self.version = 0
        self.stopping = threading.Event()
        self.blocked = self.approval_blocked()
        self.templates = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
                                            trim_blocks=True, lstrip_blocks=True)
        self.templates.filters.update(duration=lambda s: "" if s is None else human_duration(s),
                                      oneline=lambda t, n=120: one_line(t or "", n), tests=tests_cell,
                                      runs=history_runs)
        self.templates.globals.update(csrf=access.csrf, blocked=self.blocked, qs=urlencode)

    @staticmethod
    def approval_blocked() -> str | None:
        """Why this dashboard may not decide gates: a podium job started it (its agent would approve)."""
        from podium.jobs import inside_job

        why = inside_job()
        return f"this dashboard was started from inside a podium job ({why}): deciding gates is the human's" \
            if why else None

    def ctx(self) -> Context:
        """This thread's context (SQLite connections stay in the thread that made them), its settings read
        again when podium.toml changed."""
        ctx = getattr(self.local, "ctx", None)
        settings = self.root / "podium.toml"
        stamp = settings.stat().st_mtime_ns if settings.is_file() else None
        if ctx is None:
            ctx = self.local.ctx = Context.open(self.root, channel="dashboard")
        elif stamp != self.local.stamp:
            ctx.config = Config.load(self.root, ctx.store.root)
        self.local.stamp = stamp
        return ctx

    def watch(self) -> None:
        """Count the store's changes (made by runners, the CLI, this app) for the live pages."""
        store = self.ctx().store  # this thread's own connection: data_version counts the others' commits
        last = store.data_version()
        while not self.stopping.wait(WATCH):
            now = store.data_version()
            if now != last:
                last, self.version = now, self.version + 1

    def page(self, name: str, status: int = 200, **data: Any) -> Response:
        html = self.templates.get_template(f"{name}.html").render(**data)
        return Response(html, status_code=status, media_type="text/html; charset=utf-8")

    def fragment(self, name: str, **data: Any) -> str:
        return self.templates.get_template(f"_{name}.html").render(**data)

    # -- views: the data each page shows ---------------------------------------------------------------
    def jobs_view(self, query: dict[str, str]) -> dict[str, Any]:
        filters = {k: query.get(k, "").strip() for k in ("state", "agent", "branch", "ticket")}
        offset = int(query["offset"]) if query.get("offset", "").isdigit() else 0
        ctx = self.ctx()
        page = job_ops.jobs_page(ctx, **{k: v or None for k, v in filters.items()}, offset=offset, limit=PER_PAGE)
        return {"page": page, "rows": page.rows, "filters": filters, "agents": ctx.store.agents(), "states": STATES,
                "now": time.time()}

    def job_view(self, job_id: int, after: int | None = None) -> dict[str, Any]:
        ctx = self.ctx()
        job = ctx.job(job_id)
        summary = job_ops.logs(ctx, job.id, summary=True)
        start = max(0, job.event_count - EVENTS_SHOWN) if after is None else after
        events = ctx.store.events(job.id, after=start)
        return {"job": job, "summary": summary, "events": [(e, event_line(e)) for e in events],
                "after": events[-1].seq if events else start, "shots": self.shots(ctx, job.branch),
                "resumable": bool(job.session_id) and not job.active}

    def changes_view(self, job_id: int) -> dict[str, Any]:
        found = job_ops.changes(self.ctx(), job_id).to_dict()
        return {"changes": found, "patch_lines": patch_lines(found["patch"])}

    def gates_view(self, show_all: bool) -> dict[str, Any]:
        return {"gates": gate_ops.gates(self.ctx(), all=show_all).to_dict(), "show_all": show_all}

    def gate_view(self, gate_id: int) -> dict[str, Any]:
        ctx = self.ctx()
        gate = gate_ops.gate_detail(ctx, gate_id).to_dict()
        shots = gate["facts"].get("screenshots") or []
        return {"g": gate, "facts": gate["facts"], "plan": gate["facts"].get("plan") or {},
                "patch_lines": patch_lines(gate["patch"]), "shots": self.shots(ctx, gate["branch"], shots)}

    @staticmethod
    def shots(ctx: Context, branch: str | None, paths: list[str] | None = None) -> list[dict[str, Any]]:
        if not branch:
            return []
        found = tester_ops.branch_screenshots(ctx, branch)
        wanted = found if paths is None else [p for p in paths if p in found]
        return [{"src": "/shot?" + urlencode({"branch": branch, "n": found.index(p)}), "name": Path(p).name}
                for p in wanted]

    # -- live regions ------------------------------------------------------------------------------------
    def regions(self, target: str, live: Live) -> dict[str, Any] | None:
        """The message for one open page: regions whose HTML changed, events to append; None: nothing new."""
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query))
        out: dict[str, Any] = {"replace": {}, "append": {}}
        fresh: dict[str, str] = {}
        if parts.path in ("/", "/jobs"):
            data = self.jobs_view(query)
            fresh = {"jobs-rows": self.fragment("job_rows", **data), "jobs-count": self.fragment("jobs_count", **data)}
        elif m := re.fullmatch(r"/jobs/(\d+)", parts.path):
            data = self.job_view(int(m.group(1)), after=live.after)
            job = data["job"]
            fresh = {"job-head": self.fragment("job_head", **data), "job-summary": self.fragment("job_summary", **data),
                     "job-shots": self.fragment("shots", **data)}
            if data["events"]:
                out["append"]["job-events"] = self.fragment("events", **data)
                live.after = data["after"]
            moved = job.state != live.state
            if moved or (job.active and time.monotonic() - live.changes_at > CHANGES_EVERY):
                fresh["job-changes"] = self.fragment("changes", **self.changes_view(job.id))
                live.changes_at, live.state = time.monotonic(), job.state
        elif parts.path == "/gates":
            fresh = {"gates-list": self.fragment("gates_list", **self.gates_view(query.get("all") == "1"))}
        elif m := re.fullmatch(r"/gates/(\d+)", parts.path):
            fresh = {"gate-state": self.fragment("gate_state", **self.gate_view(int(m.group(1))))}
        elif parts.path == "/workspaces":
            fresh = {"workspaces-rows": self.fragment("workspace_rows", **self.workspaces_view())}
        elif parts.path == "/works":
            fresh = {"works-rows": self.fragment("work_rows", **self.works_view())}
        for region, html in fresh.items():
            if live.regions.get(region) != html:
                out["replace"][region] = live.regions[region] = html
        return out if out["replace"] or out["append"] else None

    def workspaces_view(self) -> dict[str, Any]:
        return {"workspaces": workspace_ops.workspaces(self.ctx()).to_dict()}

    def works_view(self) -> dict[str, Any]:
        return {"works": workspace_ops.works(self.ctx()).to_dict(), "now": time.time()}


def patch_lines(patch: str) -> list[tuple[str, str]]:
    """A unified diff's lines with the class each is shown in."""
    out = []
    for line in patch.splitlines():
        kind = ("file" if line.startswith(("diff --git", "+++", "---")) else "hunk" if line.startswith("@@")
                else "add" if line.startswith("+") else "del" if line.startswith("-") else "ctx")
        out.append((kind, line))
    return out


def build(root: Path, access: Access) -> Starlette:
    """The dashboard's ASGI app for the repository at ``root``."""
    d = Dashboard(root, access)
    d.ctx()  # fail now, in one line, when root is not a repository

    async def run(fn: Callable[..., Any], *args: Any) -> Any:
        return await anyio.to_thread.run_sync(fn, *args)

    async def jobs_page(request: Request) -> Response:
        return d.page("jobs", **await run(d.jobs_view, dict(request.query_params)))

    async def job_page(request: Request, error: str | None = None, status: int = 200) -> Response:
        job_id = request.path_params["job_id"]
        try:
            data = await run(d.job_view, job_id)
        except PodiumError as e:
            return d.page("missing", status=404, message=str(e))
        return d.page("job", status=status, error=error, **data, **await run(d.changes_view, job_id))

    async def job_log(request: Request) -> Response:
        job_id = request.path_params["job_id"]
        return PlainTextResponse(await run(lambda: job_ops.log_tail(d.ctx(), job_id)))

    async def job_action(request: Request) -> Response:
        form = await checked_form(request)
        job_id, action = request.path_params["job_id"], request.path_params["action"]
        try:
            if action == "cancel":
                await run(lambda: job_ops.cancel(d.ctx(), job_id=job_id))
                return RedirectResponse(f"/jobs/{job_id}", status_code=303)
            message = str(form.get("message", "")).strip()
            if not message:
                raise PodiumError("say what the agent should do next")
            started = await run(lambda: job_ops.resume(d.ctx(), message=message, job_id=job_id))
            return RedirectResponse(f"/jobs/{started.id}", status_code=303)
        except PodiumError as e:
            return await job_page(request, error=str(e), status=409)

    async def gates_page(request: Request) -> Response:
        return d.page("gates", **await run(d.gates_view, request.query_params.get("all") == "1"))

    async def gate_page(request: Request, error: str | None = None, status: int = 200) -> Response:
        try:
            data = await run(d.gate_view, request.path_params["gate_id"])
        except PodiumError as e:
            return d.page("missing", status=404, message=str(e))
        return d.page("gate", status=status, error=error, **data)

    async def gate_decision(request: Request) -> Response:
        form = await checked_form(request)
        gate_id, decision = request.path_params["gate_id"], request.path_params["decision"]
        try:
            if d.blocked:
                raise PodiumError(d.blocked)
            if decision == "approve":
                await run(lambda: gate_ops.approve_shown(d.ctx(), gate_id, str(form.get("shown", ""))))
            else:
                await run(lambda: gate_ops.reject(d.ctx(), gate_id, str(form.get("why", ""))))
        except PodiumError as e:
            return await gate_page(request, error=str(e), status=409)
        return RedirectResponse(f"/gates/{gate_id}", status_code=303)

    async def checked_form(request: Request) -> Any:
        form = await request.form()
        if not access.csrf_ok(str(form.get("csrf", "")) or request.headers.get("x-csrf-token")):
            raise CsrfRefused
        return form

    async def workspaces_page(request: Request) -> Response:
        return d.page("workspaces", **await run(d.workspaces_view))

    async def works_page(request: Request) -> Response:
        return d.page("works", **await run(d.works_view))

    async def shot(request: Request) -> Response:
        branch, n = request.query_params.get("branch", ""), request.query_params.get("n", "")
        found = await run(lambda: tester_ops.branch_screenshots(d.ctx(), branch))
        if not n.isdigit() or int(n) >= len(found):
            return PlainTextResponse("podium: no such screenshot", status_code=404)
        return FileResponse(found[int(n)], media_type="image/png")

    async def live(request: Request) -> Response:
        target = request.query_params.get("page", "/jobs")
        after = request.query_params.get("after", "")
        state = Live(after=int(after) if after.isdigit() else 0)
        state.changes_at = time.monotonic()

        async def stream() -> AsyncIterator[str]:
            yield "retry: 1000\n\n"
            seen, rendered = -1, 0.0
            while True:
                if d.version != seen or time.monotonic() - rendered > REFRESH:
                    seen, rendered = d.version, time.monotonic()
                    try:
                        message = await run(d.regions, target, state)
                    except PodiumError as e:
                        message = {"error": str(e)}
                    if message:
                        yield f"data: {json.dumps(message)}\n\n"
                await anyio.sleep(WATCH)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"x-accel-buffering": "no", "cache-control": "no-store"})

    async def home(request: Request) -> Response:
        return RedirectResponse("/jobs", status_code=303)

    async def refused_csrf(request: Request, exc: Exception) -> Response:
        return Guard.with_headers(PlainTextResponse("podium: refused: the form's CSRF token is missing or wrong "
                                                    "(reload the page)", status_code=403))

    def lifespan(app: Starlette) -> Any:
        from contextlib import asynccontextmanager

        @asynccontextmanager
        async def span(app: Starlette) -> AsyncIterator[None]:
            watcher = threading.Thread(target=d.watch, name="podium-dashboard-watch", daemon=True)
            watcher.start()
            yield
            d.stopping.set()

        return span(app)

    routes = [
        Route("/", home), Route("/jobs", jobs_page), Route("/jobs/{job_id:int}", job_page),
        Route("/jobs/{job_id:int}/log", job_log),
        Route("/jobs/{job_id:int}/{action:str}", job_action, methods=["POST"]),
        Route("/gates", gates_page), Route("/gates/{gate_id:int}", gate_page),
        Route("/gates/{gate_id:int}/{decision:str}", gate_decision, methods=["POST"]),
        Route("/workspaces", workspaces_page), Route("/works", works_page), Route("/shot", shot),
        Route("/live", live),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={CsrfRefused: refused_csrf})
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    return Guard(app, access)  # type: ignore[return-value]


class CsrfRefused(Exception):
    """A state-changing request without this page's CSRF token."""
