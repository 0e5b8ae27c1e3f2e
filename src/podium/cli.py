"""The ``podium`` command line: a thin skin over ``podium.jobs`` and friends.

Each command builds data first, then renders it for people (rich) or for agents
(``--json``). Errors podium understands are printed as one line on stderr with a
non-zero exit; ``podium wait`` exits 0 only when every job is ``done`` (3 when one stalled).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import sys
import time
from typing import Any

import click

from podium import jobs as jobs_mod
from podium.errors import PodiumError, UsageError
from podium.render import print_events, print_status, print_workspaces, status_rows
from podium.summary import summarize
from podium.workspace import WorkspaceState

FOLLOW_POLL = 0.5


def _ctx(obj: dict[str, Any]) -> jobs_mod.Context:
    return jobs_mod.Context.open(obj.get("cwd") or ".")


def _emit_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-C", "cwd", type=click.Path(file_okay=False), help="Run as if podium was started in this directory.")
@click.version_option(package_name="podium")
@click.pass_context
def cli(ctx: click.Context, cwd: str | None) -> None:
    """podium: coding-agent jobs you can leave running and trust when you come back."""
    ctx.obj = {"cwd": cwd}


@cli.command()
@click.argument("prompt")
@click.option("--agent", help="Agent CLI to run (codex, claude, gemini, command, or a plugin). Default: codex.")
@click.option("--branch", help="Branch for the new workspace (default: named the way this repo names branches).")
@click.option("--base", help="Base branch on origin (default: [branches] base in podium.toml, else origin/develop, "
                             "else origin's default branch).")
@click.option("--stall-after", type=float, help="Seconds of silence and idleness before the job counts as stalled.")
@click.option("--allow-stale-base", is_flag=True,
              help="When fetching origin fails, start from the base as last fetched (podium says how old it is).")
@click.option("--ticket", help="Work on this ticket, in its workspace (started first if needed: assigned, set active).")
@click.option("--command", "command", help="Command line for --agent command; {prompt} marks the prompt.")
@click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
@click.pass_obj
def delegate(
    obj: dict[str, Any],
    prompt: str,
    agent: str | None,
    branch: str | None,
    base: str | None,
    stall_after: float | None,
    allow_stale_base: bool,
    ticket: str | None,
    command: str | None,
    as_json: bool,
) -> None:
    """Hand PROMPT to a worker agent in a new worktree; prints the job id at once."""
    ctx = _ctx(obj)
    jobs_mod.reconcile(ctx.store)
    options = {"command": command} if command else None
    job = jobs_mod.delegate(
        ctx, prompt, agent=agent, branch=branch, base=base, stall_after=stall_after, agent_options=options,
        allow_stale_base=allow_stale_base, ticket=ticket,
    )
    stale = next((e.data["message"] for e in ctx.store.events(job.id, kinds=("note",))
                  if e.data.get("message", "").startswith("stale base accepted")), None)
    if as_json:
        _emit_json(
            {
                "id": job.id,
                "state": job.state,
                "agent": job.agent,
                "branch": job.branch,
                "workspace": job.workspace,
                "base": job.base_ref,
                "base_sha": job.base_sha,
                "stale_base": stale,
            }
        )
    else:
        click.echo(job.id)
        if stale:
            click.echo(f"warning: {stale}", err=True)
        click.echo(f"{job.agent} working on {job.branch} in {job.workspace} (from {job.base_ref})", err=True)


@cli.command()
@click.argument("job_ids", nargs=-1)
@click.option("--all", "show_all", is_flag=True, help="Every job, not only active and recent ones.")
@click.option("--json", "as_json", is_flag=True, help="Print jobs as JSON.")
@click.pass_obj
def status(obj: dict[str, Any], job_ids: tuple[str, ...], show_all: bool, as_json: bool) -> None:
    """What every job is doing: state, agent, branch, last activity."""
    ctx = _ctx(obj)
    jobs_mod.reconcile(ctx.store)
    selected = jobs_mod.listing(ctx, list(job_ids), show_all=show_all)
    rows = status_rows(selected, jobs_mod.behind_base(ctx, selected))
    if as_json:
        _emit_json(rows)
    else:
        print_status(rows)


@cli.command()
@click.argument("job_id")
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the job finishes.")
@click.option("--summary", "-s", "as_summary", is_flag=True, help="A few lines: answer, files, failures, tests.")
@click.option("--raw", is_flag=True, help="The agent's raw output instead of podium's events.")
@click.option("--tail", "-n", "tail", type=click.IntRange(min=1), help="Only the last N events.")
@click.option("--json", "as_json", is_flag=True, help="Events (or the summary) as JSON.")
@click.pass_obj
def logs(
    obj: dict[str, Any], job_id: str, follow: bool, as_summary: bool, raw: bool, tail: int | None, as_json: bool
) -> None:
    """A job's log: podium's events by default, --raw for the agent's own output, --summary for the gist."""
    ctx = _ctx(obj)
    jobs_mod.reconcile(ctx.store)
    job = ctx.job(job_id)
    if as_summary:
        summary = summarize(ctx.store, job)
        if as_json:
            _emit_json(summary.to_dict())
        else:
            click.echo("\n".join(summary.lines()))
        return
    if raw:
        _print_raw(ctx, job.id, follow)
        return
    seq = max(0, job.event_count - tail) if tail else 0
    while True:
        events = ctx.store.events(job.id, after=seq)
        if events:
            seq = events[-1].seq
            if as_json:
                for e in events:
                    click.echo(json.dumps({"seq": e.seq, "ts": e.ts, "kind": e.kind, "data": e.data}))
            else:
                print_events(events)
        if not follow or not ctx.store.job(job.id).active:
            if follow and ctx.store.events(job.id, after=seq):
                continue
            break
        time.sleep(FOLLOW_POLL)
        jobs_mod.reconcile(ctx.store)
    if follow and not as_json:
        click.echo("\n".join(summarize(ctx.store, ctx.store.job(job.id)).lines()))


def _print_raw(ctx: jobs_mod.Context, job_id: int, follow: bool) -> None:
    path = ctx.store.log_path(job_id)
    pos = 0
    while True:
        if path.exists():
            with path.open("rb") as f:
                f.seek(pos)
                chunk = f.read()
                pos += len(chunk)
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()
        if not follow or not ctx.store.job(job_id).active:
            break
        time.sleep(FOLLOW_POLL)
        jobs_mod.reconcile(ctx.store)


@cli.command()
@click.argument("job_ids", nargs=-1, required=True)
@click.option("--timeout", type=float, help="Give up after this many seconds (exit code 124).")
@click.option("--through-stalls", is_flag=True, help="Keep waiting while a job is stalled.")
@click.option("--json", "as_json", is_flag=True, help="Print the summaries as JSON.")
@click.pass_obj
def wait(
    obj: dict[str, Any], job_ids: tuple[str, ...], timeout: float | None, through_stalls: bool, as_json: bool
) -> None:
    """Block until the jobs finish or stall.

    Exit 0 when every job is done with work to show, 3 when one is stalled (silent and idle:
    cancel it, resume it, or wait again with --through-stalls), 1 when one ended otherwise
    (failed, no_changes, cancelled, lost), 124 on --timeout.
    """
    ctx = _ctx(obj)
    finished = jobs_mod.wait(ctx, list(job_ids), timeout=timeout, through_stalls=through_stalls)
    summaries = [summarize(ctx.store, j) for j in finished]
    if as_json:
        _emit_json([s.to_dict() for s in summaries])
    else:
        click.echo("\n".join(line for s in summaries for line in s.lines()))
    if any(j.state == "stalled" for j in finished):
        sys.exit(3)
    if any(j.state != "done" for j in finished):
        sys.exit(1)


@cli.command()
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def cancel(obj: dict[str, Any], job_id: str, as_json: bool) -> None:
    """Stop a job: the agent's whole process group ends; its worktree is kept."""
    ctx = _ctx(obj)
    job = jobs_mod.cancel(ctx, job_id)
    if as_json:
        _emit_json({"id": job.id, "state": job.state, "workspace": job.workspace})
    else:
        click.echo(f"job {job.id} {job.state}; worktree kept at {job.workspace}")


@cli.command()
@click.argument("job_id")
@click.argument("message")
@click.option("--no-queue", is_flag=True, help="Refuse instead of queueing when a job is active in the worktree.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def resume(obj: dict[str, Any], job_id: str, message: str, no_queue: bool, as_json: bool) -> None:
    """Continue JOB's agent session with MESSAGE, as a new job in the same worktree.

    One agent at a time per worktree: while a job is active there, the new job is queued behind it.
    """
    ctx = _ctx(obj)
    job = jobs_mod.resume(ctx, job_id, message, queue=not no_queue)
    if as_json:
        _emit_json(
            {
                "id": job.id,
                "parent": job.parent_id,
                "session_id": job.session_id,
                "state": job.state,
                "workspace": job.workspace,
                "branch": job.branch,
            }
        )
    else:
        click.echo(job.id)
        queued = " (queued: another job is active in this worktree)" if job.state == "queued" else ""
        click.echo(f"resuming session {job.session_id} of job {job.parent_id} in {job.workspace}{queued}", err=True)


@cli.command("test")
@click.argument("branch")
@click.argument("message")
@click.option("--agent", help="The tester's agent CLI (default: [tester] agent in podium.toml, else claude).")
@click.option("--fresh", is_flag=True, help="Start a new session (with a summary of the earlier turns).")
@click.option("--no-queue", is_flag=True, help="Refuse instead of queueing when a job is active in the worktree.")
@click.option("--stall-after", type=float, help="Seconds of silence and idleness before the turn counts as stalled.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def test_cmd(obj: dict[str, Any], branch: str, message: str, agent: str | None, fresh: bool, no_queue: bool,
             stall_after: float | None, as_json: bool) -> None:
    """A turn of BRANCH's tester session: MESSAGE says what changed and what to test.

    The first turn starts the session with TESTER.md (podium roles tester); later turns resume the
    same session. BRANCH is a branch, a job id, or "." for the workspace podium runs in. Runs in the
    background like any job: podium wait / logs --summary show its verdict.
    """
    from podium import tester

    ctx = _ctx(obj)
    result = tester.turn(ctx, None if branch == "." else branch, message, agent=agent, fresh=fresh,
                         queue=not no_queue, stall_after=stall_after)
    job = result.job
    if as_json:
        _emit_json({"id": job.id, "state": job.state, "agent": job.agent, "branch": job.branch,
                    "workspace": job.workspace, "session_id": job.session_id, "resumed": result.resumed,
                    "notes": result.notes})
        return
    click.echo(job.id)
    how = f"resumes session {job.session_id}" if result.resumed else "starts a new session"
    queued = " (queued: another job is active in this worktree)" if job.state == "queued" else ""
    click.echo(f"tester ({job.agent}) {how} on {job.branch}{queued}", err=True)
    for note in result.notes:
        if not note.startswith("queued behind"):
            click.echo(f"note: {note}", err=True)


@cli.command("screenshot")
@click.argument("url")
@click.option("--label", default="page", show_default=True, help="What it shows; part of the file name.")
@click.option("--do", "steps", multiple=True, metavar="STEP",
              help="Before the shot, in order: click:SEL, type:SEL=TEXT, press:KEY, wait:SEL, wait:MS, goto:URL.")
@click.option("--full-page", is_flag=True, help="The whole page, not only the viewport.")
@click.option("--branch", help="The branch it is for (default: the branch checked out here).")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds for each step.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def screenshot_cmd(obj: dict[str, Any], url: str, label: str, steps: tuple[str, ...], full_page: bool,
                   branch: str | None, timeout: float, as_json: bool) -> None:
    """Open URL in headless Chromium and save <branch>-<n>-<label>.png into the screenshots folder.

    Recorded against the branch: the gate shows it and podium ship attaches it to the pull request.
    """
    from podium import browser

    actions = [browser.Action.parse(s) for s in steps]
    ctx = _ctx(obj)
    shot = browser.take(ctx.repo, ctx.store, ctx.config, url, label=label, branch=branch, actions=actions,
                        full_page=full_page, timeout=timeout)
    if as_json:
        _emit_json(shot.to_dict())
        return
    click.echo(shot.line())
    for message in shot.console_errors:
        click.echo(f"  console error: {message}")


@cli.command("roles")
@click.argument("names", nargs=-1, type=click.Choice(["orchestrator", "tester"]))
@click.option("--print", "show", is_flag=True, help="Print the role file, not only its path.")
@click.pass_obj
def roles_cmd(obj: dict[str, Any], names: tuple[str, ...], show: bool) -> None:
    """Write the role files (ORCHESTRATOR.md, TESTER.md) from podium's tools and this repository's conventions,
    keeping your edits outside podium's markers."""
    from podium import roles

    ctx = _ctx(obj)
    makers = {"orchestrator": roles.orchestrator, "tester": roles.tester}
    for name in names or tuple(makers):
        role = makers[name](ctx.repo, ctx.config)
        if show:
            click.echo(role.text)
            continue
        if not role.generated:
            what = "left as it is (no podium markers: the file is all yours)"
        else:
            what = "created" if role.created else ("generated part updated" if role.changed else "up to date")
        click.echo(f"{role.path}: {what}")


@cli.command("init")
@click.option("--force", is_flag=True, help="Rewrite podium.toml from what is found now.")
@click.option("--register", is_flag=True,
              help="Register podium's MCP server with the agent CLIs installed (claude for this project; codex, "
                   "gemini for you).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def init_cmd(obj: dict[str, Any], force: bool, register: bool, as_json: bool) -> None:
    """Find this repository's conventions and the tools here, write podium.toml and the role files."""
    from podium import detect, roles
    from podium.config import Config

    ctx = _ctx(obj)
    toml = ctx.repo.main_checkout / "podium.toml"
    found = detect.survey(ctx.repo, ctx.config)
    installed = [name for name, f in found.agents.items() if f.ok]
    default_agent = next((a for a in ("codex", "claude", "gemini") if a in installed), None)
    tester_agent = next((a for a in ("claude", "codex", "gemini") if a in installed), None)
    wrote = force or not toml.exists()
    if wrote:
        detect.write_toml(toml, detect.toml_for(found, default_agent, tester_agent))
    ctx.config = Config.load(ctx.repo.main_checkout)
    made = [roles.orchestrator(ctx.repo, ctx.config), roles.tester(ctx.repo, ctx.config)]
    registered = {}
    if register:
        server = [sys.executable, "-m", "podium", "mcp"]
        for name in installed:
            registered[name] = detect.register_mcp(name, str(found.agents[name].source), ctx.repo.main_checkout,
                                                   server)
    problems = _problems(found)
    if as_json:
        _emit_json({"podium_toml": str(toml), "written": wrote, "survey": found.to_dict(),
                    "roles": [str(r.path) for r in made], "mcp": registered, "problems": problems})
    else:
        click.echo(f"{toml}: " + ("written" if wrote else "exists, kept (--force rewrites it)"))
        click.echo("\n".join(detect.report_lines(found)))
        for role in made:
            click.echo(f"{role.path}: " + ("created" if role.created else "up to date" if not role.changed
                                           else "generated part updated"))
        for name, what in registered.items():
            click.echo(f"MCP server for {name}: {what}")
        if not register and installed:
            click.echo("register podium's tools with your agent CLIs: podium init --register")
    if problems:
        raise UsageError("; ".join(problems))


def _problems(found: Any) -> list[str]:
    problems = [f"{f.what} missing: {f.hint}" for f in found.findings() if f.required and not f.ok]
    if not any(f.ok for f in found.agents.values()):
        problems.append("no agent CLI installed (codex, claude or gemini)")
    return problems


@cli.command("doctor")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def doctor_cmd(obj: dict[str, Any], as_json: bool) -> None:
    """What podium found here and what is missing; exits 1 when podium cannot work in this repository."""
    from podium import detect

    ctx = _ctx(obj)
    found = detect.survey(ctx.repo, ctx.config)
    problems = _problems(found)
    if as_json:
        _emit_json({"survey": found.to_dict(), "problems": problems})
    else:
        click.echo("\n".join(detect.report_lines(found)))
    if problems:
        raise UsageError("; ".join(problems))


@cli.command("work")
@click.argument("ticket_id", required=False)
@click.option("--resume", "resume_id", is_flag=False, flag_value="latest", default=None, metavar="[N]",
              help="Pick work N (default: the latest) up again after a crash or a reboot, or follow it.")
@click.option("--rounds", type=int, default=3, show_default=True, help="At most this many worker rounds.")
@click.option("--stall-after", type=float, help="Seconds of silence before a worker counts as stalled.")
@click.option("--agent", default="claude", show_default=True, help="The orchestrator's agent CLI.")
@click.option("--detach", is_flag=True, help="Start it and return; podium work --resume N follows it.")
@click.option("--json", "as_json", is_flag=True, help="The final report as JSON.")
@click.pass_obj
def work_cmd(obj: dict[str, Any], ticket_id: str | None, resume_id: str | None, rounds: int,
             stall_after: float | None, agent: str, detach: bool, as_json: bool) -> None:
    """The whole loop for TICKET_ID, to the human's gate: ticket, workspace, workers, tester, ship.

    An orchestrator agent (claude, headless, with ORCHESTRATOR.md and podium's tools) drives it in the
    background; podium shows what happens and ends with what waits for you.
    """
    from podium import work as work_mod

    ctx = _ctx(obj)
    if (ticket_id is None) == (resume_id is None):
        raise UsageError("name a ticket (podium work TICKET) or pick one up again (podium work --resume [N])")
    if resume_id is not None:
        work, notes = work_mod.resume(ctx, None if resume_id == "latest" else resume_id)
        for note in notes:
            click.echo(f"note: {note}", err=True)
    else:
        assert ticket_id is not None
        work = work_mod.start(ctx, ticket_id, rounds=rounds, stall_after=stall_after, agent=agent)
        click.echo(f"work {work.id}: {work.ticket} on {work.branch} ({work.workspace})", err=True)
    if detach:
        click.echo(work.id)
        return
    _follow_work(ctx, work, as_json)


def _follow_work(ctx: jobs_mod.Context, work: Any, as_json: bool) -> None:
    import contextlib

    from rich.console import Console
    from rich.markup import escape

    from podium import work as work_mod

    console = Console(stderr=True, highlight=False)

    def emit(line: str) -> None:
        console.print(f"[dim]{time.strftime('%H:%M:%S')}[/] {escape(line)}", soft_wrap=True)

    try:
        with console.status("the orchestrator is working…") if console.is_terminal else contextlib.nullcontext():
            report = work_mod.watch(ctx, work, emit, poll=FOLLOW_POLL)
    except KeyboardInterrupt:
        click.echo(f"\nwork {work.id} goes on in the background: podium work --resume {work.id} follows it", err=True)
        sys.exit(130)
    if as_json:
        _emit_json(report.to_dict())
    else:
        click.echo("\n".join(report.lines))
    if report.state not in ("waiting", "done"):
        sys.exit(1)


@cli.command("distill")
@click.option("--source", "sources", multiple=True, type=click.Choice(["claude", "codex", "gemini", "podium"]),
              help="Transcripts to read (default: all found).")
@click.option("--since", help="Only sessions since: 30d, 12h, 2w or a date.")
@click.option("--project", help="Only sessions whose working directory contains this.")
@click.option("--role", "role_names", multiple=True, help="Role files to write (default: ORCHESTRATOR, TESTER).")
@click.option("--agent", default="claude", show_default=True, help="The agent that distils (claude or codex).")
@click.option("--facts", "facts_only", is_flag=True, help="Only the measured facts; no agent.")
@click.option("--dry-run", is_flag=True, help="Show what would be sent to the agent, and stop.")
@click.option("--apply", "apply_", is_flag=True, help="Write the distilled role files (podium's part kept).")
@click.option("--interactive", is_flag=True, help="Argue with the distiller turn by turn until you accept.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def distill_cmd(obj: dict[str, Any], sources: tuple[str, ...], since: str | None, project: str | None,
                role_names: tuple[str, ...], agent: str, facts_only: bool, dry_run: bool, apply_: bool,
                interactive: bool, as_json: bool) -> None:
    """Turn your own agent transcripts into role files: measured facts first, then an agent's distillation,
    shown as a diff against the current files (--apply writes them)."""
    import os

    from podium import distill, roles, transcripts
    from podium.runner import secret_values

    if interactive and not sys.stdin.isatty():
        raise UsageError("--interactive needs a terminal to argue in")
    ctx = _ctx(obj)
    names = [n.removesuffix(".md").upper() for n in role_names] or list(distill.DEFAULT_ROLES)
    own = frozenset(j.session_id for j in ctx.store.jobs() if j.role == "distill" and j.session_id)
    where = transcripts.Filter(since=distill.parse_since(since), project=project, exclude=own)
    entries = transcripts.scan(sources or transcripts.SOURCES, where, store=ctx.store)
    reading = distill.facts(entries, gates=ctx.store.gates())
    if facts_only:
        if as_json:
            _emit_json({"read": reading.read, "facts": [f.to_dict() for f in reading.facts]})
        else:
            plural = {"reply": "replies", "interrupt": "interruptions"}
            click.echo(f"read {reading.read.get('sessions', 0)} sessions: " + ", ".join(
                f"{n} {plural.get(k, k + 's')}" for k, n in reading.read.items() if k != "sessions"))
            click.echo("\n".join(f.line() for f in reading.facts) or "no facts: no transcripts found")
        return
    if not reading.facts:
        raise UsageError("no transcripts to distill (looked in ~/.claude, $CODEX_HOME, ~/.gemini and podium's jobs)")
    samples = distill.excerpts(reading, secret_values(dict(os.environ)))
    paths = {n: roles.role_path(ctx.repo, ctx.config, n) for n in names}
    current = {n: p.read_text() if p.is_file() else "" for n, p in paths.items()}
    text = distill.prompt(reading.facts, samples, names, current)
    if dry_run:
        click.echo(text, nl=False)
        return
    job = distill.run_agent(ctx, agent, text)
    proposed = distill.parse_reply(job.final_message, names)
    while True:
        proposal_dir = next(iter(paths.values())).parent / "distilled"
        proposal_dir.mkdir(parents=True, exist_ok=True)
        changes = {}
        for n in names:
            (proposal_dir / f"{n}.md").write_text(proposed[n])
            changes[n] = distill.diff(n, current[n], proposed[n])
        if not as_json:
            click.echo("".join(changes.values()) or "the distilled role files are the current ones")
        if not interactive:
            break
        feedback = click.prompt("What should change? (empty: accept)", default="", show_default=False)
        if not feedback.strip():
            apply_ = True
            break
        job = distill.run_agent(ctx, agent, feedback, session=job.session_id)
        proposed = distill.parse_reply(job.final_message, names)
    written = []
    if apply_:
        makers = {"ORCHESTRATOR": roles.orchestrator, "TESTER": roles.tester}
        for n in names:
            if not current[n] and n in makers:  # a new file gets podium's generated part too
                current[n] = makers[n](ctx.repo, ctx.config).text
            merged = distill.merge_role(current[n], proposed[n], roles.START, roles.END)
            paths[n].parent.mkdir(parents=True, exist_ok=True)
            paths[n].write_text(merged)
            written.append(str(paths[n]))
    if as_json:
        _emit_json({"facts": [f.to_dict() for f in reading.facts], "job": job.id, "session_id": job.session_id,
                    "proposed": proposed, "diff": changes, "written": written})
    else:
        for path in written:
            click.echo(f"wrote {path}")
        if not written:
            click.echo(f"proposals in {proposal_dir}; your role files are unchanged (--apply writes a "
                       "distillation, --interactive lets you argue with it first)", err=True)


@cli.command("chat", context_settings={"ignore_unknown_options": True})
@click.argument("cli_args", nargs=-1, type=click.UNPROCESSED)
@click.pass_obj
def chat_cmd(obj: dict[str, Any], cli_args: tuple[str, ...]) -> None:
    """Talk to the orchestrator: Claude Code in this repository with ORCHESTRATOR.md and podium's tools.

    The role file is (re)generated first; podium's MCP server is wired in for this session only, its
    tools allowed except approve, which Claude Code asks you about each time. Arguments after -- go
    to claude (e.g. podium chat -- --model opus, or -- -p "what is running?").
    """
    import os

    from podium import roles
    from podium.agents import find_executable
    from podium.mcp_server import UNATTENDED

    ctx = _ctx(obj)
    role = roles.orchestrator(ctx.repo, ctx.config)
    exe = find_executable("claude", "PODIUM_CLAUDE", "npm install -g @anthropic-ai/claude-code")
    server = {"type": "stdio", "command": sys.executable, "args": ["-m", "podium", "mcp", "--allow-approve"]}
    # the user's arguments first: a prompt among them must not be taken for one of --allowedTools' values
    argv = [exe, *cli_args, "--append-system-prompt", role.text,
            "--mcp-config", json.dumps({"mcpServers": {"podium": server}}),
            "--allowedTools", ",".join(f"mcp__podium__{t}" for t in UNATTENDED)]
    click.echo(f"podium chat: claude with {role.path.name} ({role.path}) and podium's tools", err=True)
    os.chdir(ctx.repo.toplevel)
    os.execv(exe, argv)


@cli.command("mcp")
@click.option("--allow-approve", is_flag=True,
              help="Let the approve tool act (for a CLI that asks the human before each call to it).")
@click.option("--work", "work_id", type=int,
              help="Serve podium work N's orchestrator: its ticket's defaults and rules.")
@click.pass_obj
def mcp_cmd(obj: dict[str, Any], allow_approve: bool, work_id: int | None) -> None:
    """Serve podium's tools over MCP (stdio) for agent CLIs: claude mcp add podium -- podium mcp."""
    from podium.mcp_server import serve

    serve(obj.get("cwd") or ".", allow_approve=allow_approve, work_id=work_id)


@cli.command("workspaces")
@click.option("--fetch", is_flag=True, help="Fetch origin first, so behind/pushed are as of now.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def workspaces_cmd(obj: dict[str, Any], fetch: bool, as_json: bool) -> None:
    """Every workspace podium made here: branch, base, ahead/behind, dirty, pushed, last job.

    Behind and pushed are as of the last fetch (podium delegate fetches; so does --fetch).
    """
    ctx = _ctx(obj)
    jobs_mod.reconcile(ctx.store)
    if fetch:
        from podium.workspace import repo_lock

        with repo_lock(ctx.repo):
            ctx.repo.fetch()
    states = jobs_mod.workspaces(ctx)
    if as_json:
        _emit_json([dataclasses.asdict(s) for s in states])
    else:
        print_workspaces(states)


@cli.command()
@click.option("--force", is_flag=True,
              help="Also offer workspaces with unsaved work, one by one: type each branch name to remove it.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def clean(obj: dict[str, Any], force: bool, as_json: bool) -> None:
    """Remove finished workspaces; any with uncommitted or unpushed work is kept, and said why."""
    ctx = _ctx(obj)
    confirm = None
    if force:
        if not sys.stdin.isatty():
            raise UsageError("--force asks about each workspace with unsaved work; run it in a terminal")

        def confirm(state: WorkspaceState, risk: str) -> bool:
            typed = click.prompt(f"{state.branch} has {risk}. Type the branch name to remove it anyway "
                                 "(anything else keeps it)", default="", show_default=False)
            return bool(typed) and typed == state.branch

    result = jobs_mod.clean(ctx, force=confirm)
    if as_json:
        _emit_json({"removed": [dataclasses.asdict(s) for s in result.removed],
                    "kept": [{**dataclasses.asdict(s), "reason": why} for s, why in result.kept]})
        return
    for state in result.removed:
        click.echo(f"removed {state.branch} ({state.path})")
    for state, why in result.kept:
        click.echo(f"kept {state.branch}: {why}")
    if not result.removed and not result.kept:
        click.echo("no workspaces to clean")


def _human_ask() -> Any:
    """At a terminal, the human decides a gate right there; headless callers leave it pending."""
    if not sys.stdin.isatty():
        return None
    from podium.gate import describe

    def ask(gate: Any) -> tuple[bool, str | None]:
        click.echo("\n".join(describe(gate)), err=True)
        if click.confirm("Approve?", default=False, err=True):
            return True, None
        return False, click.prompt("Why not (the agents read this)", default="", show_default=False, err=True) or None

    return ask


def _editor() -> Any:
    """``--edit``: the message goes through the user's $EDITOR, which needs a terminal."""
    if not sys.stdin.isatty():
        raise UsageError("--edit opens an editor; run it in a terminal, or pass the message with -m")

    def edit(text: str) -> str | None:
        return click.edit(text, extension=".txt")

    return edit


def _gate_outcome(ctx: jobs_mod.Context, as_json: bool, outcome: Any) -> None:
    """What a gated command did: the workspace's change as it now stands, the gate, what was carried out."""
    gate, result = outcome.gate, outcome.result or {}
    if as_json:
        change = ctx.store.change(gate.workspace)
        plan = gate.facts.get("plan") or {}
        _emit_json({**(change.to_dict() if change else {}), "gate": gate.to_dict(), "result": result,
                    "committed": bool(result.get("committed")), "files": plan.get("stats", []),
                    "left_out": plan.get("left_out", [])})
    elif gate.state == "rejected":
        click.echo(f"gate {gate.id} rejected: {gate.reason}")
    else:
        why = f" ({gate.reason})" if gate.reason else ""
        if result.get("commit"):
            verb = "committed" if result.get("committed") else "already committed"
            click.echo(f"{verb} {str(result['commit'])[:8]} on {gate.branch}{why}")
        if result.get("pushed"):
            click.echo(f"pushed {gate.branch} ({str(result['pushed'])[:8]}) to origin, lease held")
        if result.get("pr"):
            click.echo(f"pull request: {result['pr']}")
        if result.get("warning"):
            click.echo(f"warning: {result['warning']}", err=True)
    if gate.state == "rejected":
        sys.exit(1)


@cli.command("commit")
@click.argument("target", required=False)
@click.option("-m", "--message", help="The commit message (stored; later rounds keep it).")
@click.option("--edit", is_flag=True, help="Edit the message in $EDITOR before committing.")
@click.option("--include", multiple=True, metavar="PATH",
              help="Also commit PATH, which podium would leave out (changed before or outside the task's jobs).")
@click.option("--exclude", multiple=True, metavar="PATH", help="Leave PATH out of the commit (and of later rounds).")
@click.option("--ticket", help="The task's ticket id for the drafted message (default: the one in the branch name).")
@click.option("--regenerate", is_flag=True, help="Draft the message again instead of keeping the stored one.")
@click.option("--push", "and_push", is_flag=True, help="Push after committing (with a lease, to the task's branch).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def commit_cmd(obj: dict[str, Any], target: str | None, message: str | None, edit: bool, include: tuple[str, ...],
               exclude: tuple[str, ...], ticket: str | None, regenerate: bool, and_push: bool, as_json: bool) -> None:
    """Squash a workspace's work into one commit on its base (TARGET: job id or branch; default: this worktree).

    Later rounds replace the commit (amend). Only files the task's jobs changed go in: never a file
    that was dirty before the first agent started, never podium's own files; podium says what it left out.
    The commit (and --push) pass the gate: at a terminal you approve it there; otherwise it waits for
    podium approve (exit code 4), unless [gate] pass lets it through.
    """
    from podium import gate as gate_mod

    ctx = _ctx(obj)
    jobs_mod.reconcile(ctx.store)
    editor = _editor() if edit else None
    actions = ["commit", "push"] if and_push else ["commit"]
    outcome = gate_mod.request(ctx, target, actions, ask=_human_ask(), message=message, edit=editor,
                               include=include, exclude=exclude, regenerate=regenerate, ticket=ticket)
    plan = outcome.gate.facts.get("plan") or {}
    if not as_json and outcome.gate.state != "rejected":
        for item in plan.get("left_out", []):
            click.echo(f"  left out {item['path']}: {item['why']}", err=True)
    _gate_outcome(ctx, as_json, outcome)


@cli.command("ship")
@click.argument("target", required=False)
@click.option("-m", "--message", help="The commit message (and so the PR's title and description).")
@click.option("--edit", is_flag=True, help="Edit the message in $EDITOR first.")
@click.option("--include", multiple=True, metavar="PATH", help="Also commit PATH (see podium commit).")
@click.option("--exclude", multiple=True, metavar="PATH", help="Leave PATH out of the commit.")
@click.option("--regenerate", is_flag=True, help="Draft the message again instead of keeping the stored one.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def ship_cmd(obj: dict[str, Any], target: str | None, message: str | None, edit: bool, include: tuple[str, ...],
             exclude: tuple[str, ...], regenerate: bool, as_json: bool) -> None:
    """Commit (one commit on the base), push with a lease, and open or update the branch's pull request.

    The PR's title and description come from the commit message, with the ticket linked, the tests'
    verdict and the screenshots; every ship brings them back in line. One gate for all three.
    """
    from podium import gate as gate_mod

    ctx = _ctx(obj)
    jobs_mod.reconcile(ctx.store)
    editor = _editor() if edit else None
    outcome = gate_mod.request(ctx, target, ["commit", "push", "pr"], ask=_human_ask(), message=message,
                               edit=editor, include=include, exclude=exclude, regenerate=regenerate)
    _gate_outcome(ctx, as_json, outcome)


@cli.command("pr")
@click.argument("target", required=False)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def pr_cmd(obj: dict[str, Any], target: str | None, as_json: bool) -> None:
    """The workspace's pull request and the CI checks on it (TARGET: job id or branch; default: this worktree)."""
    from podium.change import find_workspace
    from podium.providers import checks_verdict, get_forge

    ctx = _ctx(obj)
    record = find_workspace(ctx.store, ctx.repo, target)
    forge = get_forge(ctx.repo, ctx.config.forge)
    pr = forge.find_pr(record.branch)
    if pr is None:
        raise UsageError(f"{record.branch} has no open pull request (podium ship opens one)")
    checks = forge.checks(pr)
    verdict = checks_verdict(checks)
    if as_json:
        _emit_json({**dataclasses.asdict(pr), "checks": [dataclasses.asdict(c) for c in checks], "verdict": verdict})
        return
    click.echo(f"{pr.url}  {pr.title}  [{pr.state}]")
    click.echo(f"checks: {verdict}" + (f" ({len(checks)})" if checks else ""))
    for c in checks:
        click.echo(f"  {c.state:8} {c.name}" + (f"  {c.url}" if c.url else ""))


@cli.command("push")
@click.argument("target", required=False)
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def push_cmd(obj: dict[str, Any], target: str | None, as_json: bool) -> None:
    """Push a workspace's commit to its own branch on origin, --force-with-lease on what podium last pushed.

    Refused, and nothing overwritten, when someone else pushed to the branch meanwhile; never to a base
    branch. Passes the gate like commit.
    """
    from podium import gate as gate_mod

    ctx = _ctx(obj)
    _gate_outcome(ctx, as_json, gate_mod.request(ctx, target, ["push"], ask=_human_ask()))


@cli.command("gates")
@click.option("--all", "show_all", is_flag=True, help="Decided gates too, not only pending ones.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def gates_cmd(obj: dict[str, Any], show_all: bool, as_json: bool) -> None:
    """What waits for your approval: each gate's change, tests and screenshots."""
    from podium.gate import describe

    ctx = _ctx(obj)
    gates = ctx.store.gates(None if show_all else ("pending",))
    if as_json:
        _emit_json([g.to_dict() for g in gates])
    elif not gates:
        click.echo("nothing waits for approval" if not show_all else "no gates yet")
    else:
        click.echo("\n\n".join("\n".join(describe(g)) for g in gates))


@cli.command("approve")
@click.argument("gate_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def approve_cmd(obj: dict[str, Any], gate_id: str, as_json: bool) -> None:
    """Approve a gate and carry out what it holds (exactly what was shown). Needs a terminal."""
    from podium import gate as gate_mod

    if not sys.stdin.isatty():
        raise UsageError("approving needs a human at a terminal: run podium approve there")
    ctx = _ctx(obj)
    _gate_outcome(ctx, as_json, gate_mod.approve(ctx, gate_id, by=gate_mod.who()))


@cli.command("reject")
@click.argument("gate_id")
@click.argument("why")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def reject_cmd(obj: dict[str, Any], gate_id: str, why: str, as_json: bool) -> None:
    """Reject a gate, saying why (the agents read it); nothing is committed or pushed."""
    from podium import gate as gate_mod

    ctx = _ctx(obj)
    gate = gate_mod.reject(ctx, gate_id, why, by=gate_mod.who())
    if as_json:
        _emit_json(gate.to_dict())
    else:
        click.echo(f"gate {gate.id} rejected: {gate.reason}")


@cli.group()
def ticket() -> None:
    """Tickets from the repository's tracker ([tracker] in podium.toml, or a tickets/ folder)."""


@ticket.command("start")
@click.argument("ticket_id")
@click.option("--branch", help="Branch for its workspace (default: named the way this repo names branches).")
@click.option("--base", help="Base branch on origin (default as for delegate).")
@click.option("--reassign", is_flag=True, help="Take the ticket over when someone else has it.")
@click.option("--allow-stale-base", is_flag=True,
              help="When fetching origin fails, start from the base as last fetched.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def ticket_start(obj: dict[str, Any], ticket_id: str, branch: str | None, base: str | None, reassign: bool,
                 allow_stale_base: bool, as_json: bool) -> None:
    """Fetch TICKET_ID, assign it to you, set it active, and give it a workspace with its snapshot.

    Run it again to refresh the snapshot; the workspace is reused.
    """
    from podium.ticket import start

    ctx = _ctx(obj)
    jobs_mod.reconcile(ctx.store)
    started = start(ctx, ticket_id, branch=branch, base=base, reassign=reassign, allow_stale_base=allow_stale_base)
    t, ws = started.ticket, started.workspace
    if as_json:
        _emit_json({"ticket": t.to_dict(), "workspace": ws.path, "branch": ws.branch, "base": ws.base_ref,
                    "created": started.created, "assigned": started.assigned, "activated": started.activated,
                    "snapshot": str(started.snapshot)})
        return
    click.echo(f"{t.id}: {t.title}  [{t.state}, {', '.join(t.assignees) or 'unassigned'}]")
    click.echo(f"{'new workspace' if started.created else 'workspace'} {ws.branch} at {ws.path} (from {ws.base_ref})")
    for line in started.notes():
        click.echo(f"  {line}", err=True)


@ticket.command("show")
@click.argument("ticket_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def ticket_show(obj: dict[str, Any], ticket_id: str, as_json: bool) -> None:
    """The ticket as the tracker has it now (markdown, as agents see it)."""
    from podium.providers import get_tracker, ticket_markdown

    ctx = _ctx(obj)
    found = get_tracker(ctx.repo, ctx.config.tracker).get(ticket_id)
    if as_json:
        _emit_json(found.to_dict())
    else:
        click.echo(ticket_markdown(found), nl=False)


@ticket.command("comment")
@click.argument("ticket_id")
@click.argument("body")
@click.pass_obj
def ticket_comment(obj: dict[str, Any], ticket_id: str, body: str) -> None:
    """Add a comment to the ticket, as you."""
    from podium.providers import get_tracker

    if not body.strip():
        raise UsageError("the comment is empty")
    ctx = _ctx(obj)
    tracker = get_tracker(ctx.repo, ctx.config.tracker)
    tracker.comment(tracker.get(ticket_id), body)
    click.echo(f"commented on {ticket_id}")


@cli.command("branch-name")
@click.argument("title")
@click.option("--ticket", help="Ticket id (PROJ-42, 1234, #123, AB#1234).")
@click.option("--type", "kind", help="Ticket type: bug, feature, story, task, …")
@click.option("--explain", is_flag=True, help="Say which branches the name was learned from.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_obj
def branch_name(
    obj: dict[str, Any], title: str, ticket: str | None, kind: str | None, explain: bool, as_json: bool
) -> None:
    """The branch name a teammate would choose for TITLE, learned from the repository's branches."""
    from podium.branches import name_for

    ctx = _ctx(obj)
    proposal = name_for(str(ctx.repo.toplevel), title=title, ticket=ticket, kind=kind,
                        template=ctx.config.branch_template)
    if as_json:
        _emit_json({"name": proposal.name, "evidence": proposal.evidence})
        return
    click.echo(proposal.name)
    if explain:
        for line in proposal.evidence:
            click.echo(f"  {line}", err=True)


@cli.group("scripted-model")
def scripted_model() -> None:
    """The scripted model server: run the real agent CLIs with no API key and no network."""


@scripted_model.command("serve")
@click.option(
    "--scenario", "scenario_path", required=True, type=click.Path(dir_okay=False), help="Scenario file (JSON or TOML)."
)
@click.option("--port", type=int, default=0, help="Port on 127.0.0.1 (default: any free port).")
@click.option("--record", type=click.Path(dir_okay=False), help="Append every request to this JSONL file.")
def scripted_serve(scenario_path: str, port: int, record: str | None) -> None:
    """Serve the Anthropic Messages, OpenAI Responses and Gemini APIs from a scenario until interrupted."""
    from podium.scripted import Scenario, ScriptedModel

    try:
        model = ScriptedModel(Scenario.load(scenario_path), port=port, record_path=record)
    except OSError as e:
        raise UsageError(f"cannot listen on 127.0.0.1:{port}: {e.strerror}") from None
    click.echo(model.url, err=False)
    sys.stdout.flush()
    model.serve_forever()


@cli.command()
@click.option("--agent", type=click.Choice(["codex", "claude", "gemini"]), default="codex", show_default=True,
              help="The worker's agent CLI (claude orchestrates and tests).")
@click.option("--keep", is_flag=True, help="Keep the demo repository and print where it is.")
def demo(agent: str, keep: bool) -> None:
    """podium work on a sample ticket in a throw-away repo, to the gate (the scripted model when no API key)."""
    from podium.demo import run_demo

    sys.exit(run_demo(agent=agent, keep=keep))


def main(argv: list[str] | None = None) -> None:
    try:
        rc = cli.main(args=argv, prog_name="podium", standalone_mode=False)
    except PodiumError as e:
        click.echo(f"podium: {e}", err=True)
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        click.echo("podium: aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except sqlite3.Error as e:
        click.echo(f"podium: state database error: {e}", err=True)
        sys.exit(1)
    except OSError as e:
        where = f": {e.filename}" if e.filename else ""
        click.echo(f"podium: {e.strerror or e}{where}", err=True)
        sys.exit(1)
    sys.exit(rc if isinstance(rc, int) else 0)


if __name__ == "__main__":
    main()
