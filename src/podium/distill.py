"""``podium distill``: the user's own agent transcripts turned into their role files.

Two passes. First a deterministic one over the transcripts (``podium.transcripts``): what the user
actually does — the agents they delegate to and how, how long those runs take, their branch names and
bases, how they commit and push, their test commands, how often they resume, the instructions they keep
repeating, where they interrupt or correct an agent, what they approve or reject. Every fact carries its
count and references (source:session:line) to check it by. Then an agent pass (headless, through podium's
own adapters) turns the facts and a sample of redacted excerpts into role files for a new agent to follow.
The result is a diff against the current role files; nothing is overwritten unless asked.

Everything stays on this machine except what the agent pass sends to its model, which ``--dry-run``
shows first; tokens and secrets are redacted before any excerpt is sent or written.
"""

from __future__ import annotations

import difflib
import re
import statistics
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from podium.context import Context
from podium.errors import UsageError
from podium.redaction import redact
from podium.store import Job
from podium.summary import TEST_COMMAND, human_duration
from podium.text import Note, note_events, plural
from podium.transcripts import Entry

MAX_REFS = 5
MAX_EXCERPTS = 40
EXCERPT_CHARS = 400
MIN_REPEATS = 2
@dataclass
class Fact:
    key: str
    title: str
    summary: str
    count: int
    refs: list[str] = field(default_factory=list)
    details: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def line(self) -> str:
        parts = ", ".join(f"{k} ×{n}" for k, n in list(self.details.items())[:8])
        return f"- {self.title}: {self.summary}" + (f" ({parts})" if parts else "") + \
            (f" — e.g. {', '.join(self.refs[:3])}" if self.refs else "")


@dataclass
class Tally:
    """Counts with their first few references (and the entries behind them, for excerpts)."""

    counts: Counter[str] = field(default_factory=Counter)
    refs: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    kept: dict[str, Entry] | None = None

    def add(self, key: str, entry: Entry) -> None:
        self.counts[key] += 1
        if len(self.refs[key]) < MAX_REFS:
            self.refs[key].append(entry.ref)
            if self.kept is not None:
                self.kept[entry.ref] = entry

    def total(self) -> int:
        return sum(self.counts.values())

    def all_refs(self) -> list[str]:
        return [r for key, _ in self.counts.most_common() for r in self.refs[key]][:MAX_REFS]


AGENT_RUN = re.compile(r"(?:^|[\s;&|(])((?:npx\s+)?(?:codex(?:\s+exec)?|claude|gemini|aider|qwen|opencode"
                       r"|podium\s+(?:delegate|test|work)))\b([^\n|;&]*)")
BRANCH_CREATE = re.compile(r"\bgit\s+(?:checkout|switch|worktree\s+add)\s+(?:\S+\s+)*?(?:-[bBcC]|--create)"
                           r"\s+([^\s;&|]+)(?:\s+([^\s;&|-][^\s;&|]*))?")
BASE_REF = re.compile(r"\bgit\s+(?:rebase|merge|reset\s+--hard)\s+(origin/[\w./-]+)|--base[= ](\S+)")
RESUME = re.compile(r"\b(claude\b[^\n|;&]*\s(?:--resume|-r|--continue|-c)\b|codex\s+(?:exec\s+)?resume\b|"
                    r"podium\s+resume\b|gemini\b[^\n|;&]*--resume\b)")
CORRECTION = re.compile(r"^\s*(no\b|nope\b|don'?t\b|do not\b|stop\b|actually\b|wait\b|that'?s (?:wrong|not)|"
                        r"not what|undo\b|revert\b)", re.IGNORECASE)
APPROVAL = re.compile(r"^\s*(yes\b|lgtm\b|looks good|go ahead|ship it|approved?\b|commit (?:it|and push))",
                      re.IGNORECASE)
SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")


def _sentences(text: str) -> list[str]:
    out = []
    for raw in SENTENCE.findall(text):
        norm = re.sub(r"[^\w' /-]+", "", raw.lower()).strip()
        norm = re.sub(r"\s+", " ", norm)
        if 3 <= len(norm.split()) <= 20:
            out.append(norm)
    return out


@dataclass
class Reading:
    """What one pass over the transcripts gave: the facts, counts of what was read, and the entries worth
    quoting (those behind the facts, and a few of the user's own words per session)."""

    facts: list[Fact]
    read: dict[str, int]
    quotable: dict[str, Entry]
    words: list[Entry]


def facts(entries: Iterable[Entry], gates: list[Any] | None = None, podium_named: Collection[str] = ()) -> Reading:
    """One streaming pass: the measured facts, and what to quote from. A session is its agent's, whichever
    source told of it (podium's record of a job, its transcript); ``podium_named``: branches podium named, which
    are no habit of the user's."""
    kept: dict[str, Entry] = {}
    agents, flags, branches, bases = (Tally(kept=kept) for _ in range(4))
    commits, pushes, tests, resumes, interrupts, corrections, approvals = (Tally(kept=kept) for _ in range(7))
    words: list[Entry] = []
    words_per_session: Counter[str] = Counter()
    sentence_sessions: dict[str, set[str]] = defaultdict(set)
    sentence_times: Counter[str] = Counter()
    sentence_refs: dict[str, list[str]] = defaultdict(list)
    branch_names: list[tuple[str, float]] = []
    branch_seen: set[tuple[str, str]] = set()
    spans: dict[tuple[str, str], list[float]] = {}
    seen: Counter[str] = Counter()
    sessions: set[str] = set()
    for e in entries:
        seen[e.kind] += 1
        sessions.add(e.session)
        if e.ts is not None:
            span = spans.setdefault((e.source, e.session), [e.ts, e.ts])
            span[0], span[1] = min(span[0], e.ts), max(span[1], e.ts)
        if e.kind == "command":
            _command_facts(e, agents, flags, branches, bases, commits, pushes, tests, resumes, branch_names)
        elif e.kind == "prompt":
            if words_per_session[e.session] < 3 and len(words) < MAX_EXCERPTS * 4:
                words_per_session[e.session] += 1
                words.append(e)
            if CORRECTION.match(e.text):
                corrections.add(" ".join(e.text.split())[:60].lower(), e)
            if APPROVAL.match(e.text):
                approvals.add(APPROVAL.match(e.text).group(1).lower(), e)  # type: ignore[union-attr]
            for s in set(_sentences(e.text)):
                sentence_times[s] += 1
                sentence_sessions[s].add(e.session)
                if len(sentence_refs[s]) < MAX_REFS:
                    sentence_refs[s].append(e.ref)
                    kept[e.ref] = e
        elif e.kind == "interrupt":
            interrupts.add(e.source, e)
        if e.branch and e.branch not in ("HEAD", "main", "master", "develop") and e.branch not in podium_named \
                and (e.session, e.branch) not in branch_seen:  # once per session, not per record
            branch_seen.add((e.session, e.branch))
            branch_names.append((e.branch, e.ts or 0.0))
    out: list[Fact] = []
    if agents.total():
        out.append(Fact("delegation", "Agents you delegate to", plural(agents.total(), "run"),
                        agents.total(), agents.all_refs(), dict(agents.counts.most_common())))
    if flags.total():
        out.append(Fact("agent_flags", "Flags you give them", f"{len(flags.counts)} distinct", flags.total(),
                        flags.all_refs(), dict(flags.counts.most_common(10))))
    durations = [b - a for (source, _), (a, b) in spans.items() if source == "codex" and b > a]
    if durations:
        out.append(Fact("run_length", "How long worker (codex) sessions run",
                        f"median {human_duration(statistics.median(durations))} over "
                        f"{plural(len(durations), 'session')}, longest {human_duration(max(durations))}",
                        len(durations)))
    if branches.total() or branch_names:
        out.append(_branch_fact(branches, branch_names))
    if bases.total():
        top = bases.counts.most_common(1)[0][0]
        out.append(Fact("base", "Base you start from", f"{top} most often", bases.total(), bases.all_refs(),
                        dict(bases.counts.most_common())))
    for key, title, tally in (("commit", "How you commit", commits), ("push", "How you push", pushes),
                              ("tests", "Test commands you run", tests), ("resume", "Sessions you resume", resumes),
                              ("interrupt", "Times you interrupted an agent", interrupts),
                              ("correction", "Times you corrected an agent", corrections),
                              ("approval", "Times you approved in words", approvals)):
        if tally.total():
            out.append(Fact(key, title, plural(tally.total(), "time"), tally.total(), tally.all_refs(),
                            dict(tally.counts.most_common(10))))
    repeated = sorted(((len(sentence_sessions[s]), n, s) for s, n in sentence_times.items() if n >= MIN_REPEATS),
                      reverse=True)
    for in_sessions, n, sentence in repeated[:15]:
        where = (f"in {plural(in_sessions, 'session')}" if in_sessions == n
                 else f"{plural(n, 'time')} in {plural(in_sessions, 'session')}")
        out.append(Fact("instruction", "An instruction you repeat", f"\"{sentence}\" {where}", n,
                        sentence_refs[sentence]))
    # the human's own decisions: an approval counts once its action was done (a failed one is not yet an
    # approval of anything); the policy's and podium's passes are not the human's
    decided = [g for g in gates or [] if g.state in ("done", "rejected") and g.decided_by not in ("policy", "podium")]
    if decided:
        states = Counter("approved" if g.state == "done" else g.state for g in decided)
        reasons = Counter(g.reason for g in decided if g.state == "rejected" and g.reason)
        out.append(Fact("gates", "What you approved or rejected at podium's gate",
                        ", ".join(f"{n} {s}" for s, n in states.items()), len(decided),
                        [f"podium:gate-{g.id}" for g in decided[:MAX_REFS]], dict(reasons.most_common(5))))
    read = {"sessions": len(sessions), **dict(seen)}
    return Reading(facts=out, read=read, quotable=kept, words=words)


def _command_facts(e: Entry, agents: Tally, flags: Tally, branches: Tally, bases: Tally, commits: Tally,
                   pushes: Tally, tests: Tally, resumes: Tally, branch_names: list[tuple[str, float]]) -> None:
    text = e.text
    for m in AGENT_RUN.finditer(text):
        agent = " ".join(m.group(1).split()).removeprefix("npx ")
        if agent in ("claude", "gemini") and not re.search(r"\s(-p|--print|--prompt)\b", m.group(2)):
            continue  # an interactive session, not a delegated run
        agents.add(agent, e)
        for flag in re.findall(r"(?:^|\s)(--?[A-Za-z][\w-]*)", m.group(2)):
            flags.add(f"{agent} {flag}", e)
    for m in BRANCH_CREATE.finditer(text):
        branches.add(m.group(1), e)
        branch_names.append((m.group(1), e.ts or 0.0))
        if m.group(2) and m.group(2).startswith(("origin/", "upstream/")):
            bases.add(m.group(2), e)
    for m in BASE_REF.finditer(text):
        bases.add(m.group(1) or m.group(2), e)
    if re.search(r"\bgit\s+commit\b", text):
        commits.add("amend" if "--amend" in text else ("fixup" if "--fixup" in text else "new commit"), e)
    if re.search(r"\bgit\s+push\b", text):
        if "--force-with-lease" in text:
            pushes.add("--force-with-lease", e)
        elif re.search(r"\s(--force|-f)\b|\s\+\S+", text):
            pushes.add("--force (no lease)", e)
        else:
            pushes.add("plain push", e)
    for m in TEST_COMMAND.finditer(text):
        tests.add(m.group(0), e)
    for m in RESUME.finditer(text):
        resumes.add(" ".join(m.group(1).split()[:2]), e)


def _branch_fact(branches: Tally, names: list[tuple[str, float]]) -> Fact:
    from podium.branches import describe_shape, learn

    habit = learn(names)
    if habit.shapes:
        shape, weight = habit.shapes.most_common(1)[0]
        share = weight / max(sum(habit.shapes.values()), 1e-9)
        examples = list(dict.fromkeys(habit.examples.get(shape, [])))[:3]
        summary = f"like {describe_shape(shape)} ({share:.0%} of {len(set(n for n, _ in names))} names: " \
                  f"{', '.join(examples)})"
    else:
        summary = f"{len(set(n for n, _ in names))} names, no common pattern"
    return Fact("branches", "How you name branches", summary, len(names), branches.all_refs(),
                dict(branches.counts.most_common(8)))


def excerpts(reading: Reading, extra_secrets: Iterable[str] = ()) -> list[dict[str, str]]:
    """A sample to quote, redacted: the entries behind the facts first, then the user's own words."""
    secrets = list(extra_secrets)
    refs = [r for f in reading.facts for r in f.refs[:2]]
    chosen = [reading.quotable[r] for r in dict.fromkeys(refs) if r in reading.quotable]
    chosen += [e for e in reading.words if e.ref not in set(refs)]
    out = []
    for e in chosen[:MAX_EXCERPTS]:
        text = " ".join(e.text.split())
        if len(text) > EXCERPT_CHARS:
            text = text[: EXCERPT_CHARS - 1] + "…"
        out.append({"ref": e.ref, "kind": e.kind, "text": redact(text, secrets)})
    return out


DEFAULT_ROLES = ("ORCHESTRATOR", "TESTER")
FILE_MARK = re.compile(r"^=== FILE: ([A-Za-z0-9_\-]+)\.md ===\s*$", re.MULTILINE)


def prompt(found: list[Fact], samples: list[dict[str, str]], roles: list[str], current: dict[str, str]) -> str:
    """What the agent pass is asked: the facts, the excerpts, the role files as they are, the format."""
    lines = [
        "You are distilling how this engineer really works with coding agents into role files that a new agent",
        "(or a new teammate) will follow. Below are facts measured from their own agent transcripts (counts and",
        "references), excerpts of their own words, and the current role files.",
        "",
        f"Write these role files: {', '.join(r + '.md' for r in roles)}. Keep what the facts support, drop what",
        "they contradict, be concrete (their branch pattern, their base, their test commands, their push",
        "habit), and write instructions, not a report. Each file short: the orchestrator needs more context",
        "than the tester.",
        "",
        "Answer with each file after a line of its own, exactly:",
        *[f"=== FILE: {r}.md ===" for r in roles],
        "",
        "## Facts (measured)",
        "",
        *[f.line() for f in found],
        "",
        "## Excerpts (redacted)",
        "",
        *[f"- [{s['ref']}] ({s['kind']}) {s['text']}" for s in samples],
        "",
        "## The current role files",
    ]
    for name in roles:
        lines += ["", f"### {name}.md", "", current.get(name) or "(none yet)"]
    return "\n".join(lines) + "\n"


def parse_reply(text: str, roles: list[str]) -> dict[str, str]:
    """The role files in the agent's answer, by name."""
    marks = list(FILE_MARK.finditer(text))
    files: dict[str, str] = {}
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        files[m.group(1)] = text[m.end():end].strip("\n") + "\n"
    missing = [r for r in roles if r not in files]
    if missing:
        raise UsageError(f"the agent's answer has no {', '.join(m + '.md' for m in missing)} "
                         f"(expected a line '=== FILE: {missing[0]}.md ===')")
    return {r: files[r] for r in roles}


def diff(name: str, old: str, new: str) -> str:
    return "".join(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                        fromfile=f"{name}.md (current)", tofile=f"{name}.md (distilled)"))


def parse_since(value: str | None, now: float | None = None) -> float | None:
    """``30d``, ``12h``, ``2w`` or an ISO date, as a timestamp."""
    if not value:
        return None
    now = time.time() if now is None else now
    m = re.fullmatch(r"(\d+)([hdw])", value.strip())
    if m:
        return now - int(m.group(1)) * {"h": 3600, "d": 86400, "w": 604800}[m.group(2)]
    from datetime import datetime

    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise UsageError(f"--since {value!r}: write 30d, 12h, 2w or a date such as 2026-10-01") from None


def merge_role(current: str, distilled: str, start_marker: str, end_marker: str) -> str:
    """The distilled text as the user's part of a role file, podium's generated part kept below it."""
    if start_marker in current and end_marker in current.split(start_marker, 1)[1]:
        block = start_marker + current.split(start_marker, 1)[1].split(end_marker, 1)[0] + end_marker
        return f"{distilled.rstrip()}\n\n{block}\n"
    return distilled


def run_agent(ctx: Context, agent: str, text: str, session: str | None = None, timeout: float = 1800.0) -> Job:
    """One turn of the distilling agent, as a podium job (role ``distill``) from the main checkout, read-only
    (its CLI's own defaults, none of podium's write permissions); returns the finished job."""
    from podium import jobs
    from podium.agents import Wiring, agent_input, get_agent

    adapter = get_agent(agent, ctx.agent_options(agent, "distill"))
    if not adapter.can_resume:
        raise UsageError(f"the {agent} agent cannot hold a distillation session; use one that resumes")
    here = ctx.repo.main_checkout
    preflight = adapter.wire(adapter.preflight(here), Wiring(read_only=True))
    argv = adapter.resume_argv(session, text, here, preflight) if session else adapter.new_argv(text, here, preflight)
    job = ctx.store.create_job(agent=agent, role="distill", prompt=text, state="starting", session_id=session,
                               argv=argv, stdin=agent_input(adapter, text),
                               stall_after=ctx.config.stall_after_for("distill"))
    if preflight.notes:
        ctx.store.add_events(job.id, note_events([Note("agent", n) for n in preflight.notes]))
    jobs.launch(ctx.store, job.id, here)
    [done] = jobs.wait(ctx, [job.id], timeout=timeout, through_stalls=True)
    if done.state != "done" or not done.final_message:
        raise UsageError(f"the distilling agent (job {done.id}) ended {done.state}: "
                         f"{done.error or 'no answer'} (podium logs {done.id})")
    return done


def read(ctx: Context, sources: Iterable[str], since: str | None, project: str | None) -> Reading:
    """The deterministic pass over the user's transcripts (the sessions podium drives itself left out)."""
    from podium import transcripts

    own = frozenset(j.session_id for j in ctx.store.jobs() if j.role in transcripts.PODIUMS_ROLES and j.session_id)
    where = transcripts.Filter(since=parse_since(since), project=project, exclude=own)
    entries = transcripts.scan(tuple(sources) or transcripts.SOURCES, where, store=ctx.store)
    return facts(entries, gates=ctx.store.gates(), podium_named=transcripts.podium_named(ctx.store))


@dataclass
class Distilled:
    """The agent's proposal for each role file, as a diff against the current one, and what was written."""

    facts: list[Fact]
    job: Job
    proposed: dict[str, str]
    diffs: dict[str, str]
    proposal_dir: Path
    written: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"facts": [f.to_dict() for f in self.facts], "job": self.job.id, "session_id": self.job.session_id,
                "proposed": self.proposed, "diff": self.diffs, "written": self.written}


def request_text(ctx: Context, reading: Reading, names: list[str]) -> str:
    """What the agent pass sends to its model (``--dry-run`` shows it): facts, redacted excerpts, current files."""
    from podium.roles import role_path

    samples = excerpts(reading)  # redact() masks the environment's credentials and every token format
    current = {n: _read(role_path(ctx.repo, ctx.config, n)) for n in names}
    return prompt(reading.facts, samples, names, current)


def distill(ctx: Context, reading: Reading, names: list[str], agent: str, *,
            feedback: Callable[[Distilled], str | None] | None = None, apply: bool = False,
            new_role: Callable[[str], str | None] | None = None) -> Distilled:
    """The agent pass: propose role files, argue turn by turn while ``feedback`` has something to say (an empty
    answer accepts, and so applies), and with ``apply`` merge them into the role files (podium's generated
    part kept; ``new_role`` gives a missing file's generated part)."""
    from podium.roles import END, START, role_path

    if not reading.facts:
        raise UsageError("no transcripts to distill (looked in ~/.claude, $CODEX_HOME, ~/.gemini and podium's jobs)")
    paths = {n: role_path(ctx.repo, ctx.config, n) for n in names}
    current = {n: _read(p) for n, p in paths.items()}
    job = run_agent(ctx, agent, request_text(ctx, reading, names))
    while True:
        proposed = parse_reply(job.final_message or "", names)
        proposal_dir = next(iter(paths.values())).parent / "distilled"
        proposal_dir.mkdir(parents=True, exist_ok=True)
        for n in names:
            (proposal_dir / f"{n}.md").write_text(proposed[n])
        result = Distilled(facts=reading.facts, job=job, proposed=proposed,
                           diffs={n: diff(n, current[n], proposed[n]) for n in names}, proposal_dir=proposal_dir)
        if feedback is None:
            break
        said = feedback(result)
        if not said or not said.strip():
            apply = True
            break
        job = run_agent(ctx, agent, said, session=job.session_id)
    if apply:
        for n in names:
            base = current[n] or (new_role(n) if new_role else None) or ""  # a new file gets podium's part too
            paths[n].parent.mkdir(parents=True, exist_ok=True)
            paths[n].write_text(merge_role(base, proposed[n], START, END))
            result.written.append(str(paths[n]))
    return result


def _read(path: Path) -> str:
    return path.read_text() if path.is_file() else ""
