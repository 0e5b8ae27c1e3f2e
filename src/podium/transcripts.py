"""Readers for the transcripts agent CLIs keep, as one stream of normalized entries.

- Claude Code: ``$CLAUDE_CONFIG_DIR`` or ``~/.claude``, ``projects/<project>/<session>.jsonl`` (subagents'
  transcripts in ``projects/<project>/<session>/subagents/*.jsonl`` and sidechain records included).
- Codex: ``$CODEX_HOME`` or ``~/.codex``, ``sessions/YYYY/MM/DD/rollout-*.jsonl``.
- gemini-cli: ``~/.gemini/tmp/<project>/chats/session-*.jsonl`` (message records; older versions: one JSON
  document per session, ``session-*.json``).
- podium's own jobs: their prompts and the commands their agents ran, from the store.

A session podium ran for a job is read once, and only the user's part of it: the words the user gave podium
(the job's prompt, not the role and facts podium wrapped around it in the agent's turn), and the rest — the
commands, the replies — from the agent's transcript, or from podium's record when the transcript is not read.
What podium itself wrote into an agent's turn (TESTER.md, a workspace's facts, the ticket's pointer, its own
briefs and retries) is taken out of every transcript, so a podium job of another repository is not the user's
either.

The JSONL readers stream: one line at a time, so folders of gigabytes take no more memory than their
longest line. Unknown record types, broken lines and fields that moved between versions are skipped, never
fatal. Every entry keeps where it came from (file and line), so a fact built on it can be checked.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from podium.roles import END, START

SOURCES = ("claude", "codex", "gemini", "podium")
# Text the CLIs put in the user's turn that the user did not write.
_INJECTED = ("<environment_context>", "<user_instructions>", "<skills_instructions>", "<system-reminder>",
             "<command-name>", "<command-message>", "<local-command-stdout>", "<permissions instructions>",
             "# AGENTS.md instructions", "<turn_aborted>", "Caveat: The messages below", "<session_context>")
INTERRUPTED = "[Request interrupted by user"
# Roles whose sessions podium drives itself: nothing in them is the user's practice.
PODIUMS_ROLES = ("orchestrator", "distill")
# What podium sends an agent as a whole turn (work.py's brief, retries and resumes; distill's request).
_PODIUM_TURNS = ("podium work: take ticket ", "podium was interrupted (a crash or a reboot)",
                 "You went silent and idle for ", "You are distilling how this engineer")
# A tester's first turn (tester.first_message): the role and the workspace's facts, then the user's message.
_TESTER_FACTS, _TESTER_ASK = "\n---\n## This session\n\n- Branch `", "\n\n## What to test now\n\n"
# What podium appends to the user's message: the ticket's pointer (jobs.py), the files changed since the
# tester's last turn and where the app under test answers (tester.py).
_PODIUM_TAIL = re.compile(r"\n\n(?:The ticket, [^\n]*, is in \.podium/ticket\.md in this worktree: its description, "
                          r"comments and links\.|\(podium: (?:since your last turn .*; HEAD is [^\n]*|the app under "
                          r"test answers at [^\n]*)\.\))\Z", re.DOTALL)


@dataclass(frozen=True)
class Entry:
    """One thing that happened in a session: the user's words, the agent's, a command, another tool."""

    source: str
    session: str
    path: str
    line: int
    ts: float | None
    kind: str  # prompt, reply, command, tool, interrupt
    text: str
    cwd: str | None = None
    branch: str | None = None
    sidechain: bool = False
    job: int | None = None  # podium's record of a job (its session is the agent's, when it has one)

    @property
    def ref(self) -> str:
        return f"podium:job-{self.job}:{self.line}" if self.job is not None else \
            f"{self.source}:{self.session}:{self.line}"


@dataclass(frozen=True)
class Filter:
    since: float | None = None
    until: float | None = None
    project: str | None = None  # a substring of the session's working directory (or Claude's project folder)
    exclude: frozenset[str] = frozenset()  # session ids to leave out (podium's own distilling sessions)

    def file_ok(self, path: Path) -> bool:
        if self.since is not None:
            try:
                if path.stat().st_mtime < self.since:
                    return False  # nothing in a file last written before the window can be in it
            except OSError:
                return False
        return True

    def entry_ok(self, entry: Entry) -> bool:
        if entry.session in self.exclude:
            return False
        if entry.ts is not None:
            if self.since is not None and entry.ts < self.since:
                return False
            if self.until is not None and entry.ts > self.until:
                return False
        return not self.project or self.project in (entry.cwd or "") or self.project in entry.path


def _ts(value: Any) -> float | None:
    if isinstance(value, (int, float)):
        return float(value) / (1000 if value > 1e11 else 1)
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _lines(path: Path, needles: tuple[bytes, ...] = ()) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, record) for each JSON object line that contains one of ``needles`` (all lines without
    any: a cheap byte test spares decoding the records no reader wants); broken lines skipped."""
    try:
        f = path.open("rb")
    except OSError:
        return
    with f:
        for number, raw in enumerate(f, 1):
            if needles and not any(n in raw for n in needles):
                continue
            try:
                record = json.loads(raw)
            except ValueError:
                continue
            if isinstance(record, dict):
                yield number, record


def _user_words(text: str) -> bool:
    stripped = text.lstrip()
    return bool(stripped) and not stripped.startswith(_INJECTED)


def users_part(text: str) -> str:
    """A user turn without what podium wrote into it: its generated role text (between its markers), a tester's
    role and facts before the message, the pointers it appends; empty when podium wrote the whole turn."""
    if text.lstrip().startswith(_PODIUM_TURNS):
        return ""
    if _TESTER_FACTS in text:
        before, ask, message = text.partition(_TESTER_ASK)
        return message if ask and _TESTER_FACTS in before else ""
    while START in text and END in text.split(START, 1)[1]:
        before, rest = text.split(START, 1)
        text = before + rest.split(END, 1)[1]
    return _PODIUM_TAIL.sub("", text)


def _said(text: str) -> str | None:
    """The user's words in a user turn, or None: text the CLI injected, or podium's only."""
    if not _user_words(text):
        return None
    words = users_part(text)
    return words if words.strip() else None


# -- Claude Code ---------------------------------------------------------------------------------------

def claude_home() -> Path:
    return Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home() / ".claude")


def claude_files(home: Path | None = None) -> list[Path]:
    root = (home or claude_home()) / "projects"
    return sorted(root.rglob("*.jsonl")) if root.is_dir() else []


def read_claude(path: Path) -> Iterator[Entry]:
    session = path.stem
    for number, r in _lines(path, (b'"user"', b'"assistant"')):
        kind = r.get("type")
        if kind not in ("user", "assistant"):
            continue
        message = r.get("message") if isinstance(r.get("message"), dict) else {}
        session = str(r.get("sessionId") or session)
        base = {"source": "claude", "session": session, "path": str(path), "line": number,
                "ts": _ts(r.get("timestamp")), "cwd": r.get("cwd"), "branch": r.get("gitBranch") or None,
                "sidechain": bool(r.get("isSidechain"))}
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        if not isinstance(blocks, list):
            continue
        for block in blocks:
            if not isinstance(block, dict):
                continue
            btype = block.get("type")
            if btype == "text" and isinstance(block.get("text"), str):
                text = block["text"]
                if kind == "assistant":
                    yield Entry(kind="reply", text=text, **base)
                elif text.startswith(INTERRUPTED):
                    yield Entry(kind="interrupt", text=text, **base)
                elif not r.get("isMeta") and (words := _said(text)):
                    yield Entry(kind="prompt", text=words, **base)
            elif btype == "tool_use" and kind == "assistant":
                tool_input = block.get("input") if isinstance(block.get("input"), dict) else {}
                if block.get("name") == "Bash" and isinstance(tool_input.get("command"), str):
                    yield Entry(kind="command", text=tool_input["command"], **base)
                else:
                    yield Entry(kind="tool", text=str(block.get("name")), **base)


# -- Codex ---------------------------------------------------------------------------------------------

def codex_home() -> Path:
    return Path(os.environ.get("CODEX_HOME") or Path.home() / ".codex")


def codex_files(home: Path | None = None) -> list[Path]:
    root = (home or codex_home()) / "sessions"
    return sorted(root.rglob("rollout-*.jsonl")) if root.is_dir() else []


def _codex_command(payload: dict[str, Any]) -> str | None:
    if payload.get("type") == "local_shell_call":
        command = (payload.get("action") or {}).get("command")
    else:
        try:
            args = json.loads(payload.get("arguments") or "{}")
        except (TypeError, ValueError):
            return None
        if not isinstance(args, dict):
            return None
        command = args.get("cmd") or args.get("command")
    if isinstance(command, list):
        words = [str(w) for w in command]
        if len(words) >= 3 and words[0] in ("bash", "sh", "zsh") and words[1] in ("-lc", "-c"):
            return words[2]
        return " ".join(words)
    return command if isinstance(command, str) else None


def read_codex(path: Path) -> Iterator[Entry]:
    session, cwd, branch = path.stem, None, None
    for number, r in _lines(path):
        payload = r.get("payload") if isinstance(r.get("payload"), dict) else {}
        rtype = r.get("type")
        if rtype == "session_meta":
            session = str(payload.get("id") or session)
            cwd = payload.get("cwd") or cwd
            git = payload.get("git") if isinstance(payload.get("git"), dict) else {}
            branch = git.get("branch") or branch
            continue
        if rtype == "turn_context":
            cwd = payload.get("cwd") or cwd
            continue
        base = {"source": "codex", "session": session, "path": str(path), "line": number,
                "ts": _ts(r.get("timestamp")), "cwd": cwd, "branch": branch}
        if rtype == "event_msg" and payload.get("type") in ("turn_aborted", "interrupted"):
            yield Entry(kind="interrupt", text=str(payload.get("reason") or "interrupted"), **base)
            continue
        if rtype != "response_item":
            continue
        ptype = payload.get("type")
        if ptype == "message":
            role = payload.get("role")
            for block in payload.get("content") or []:
                text = block.get("text") if isinstance(block, dict) else None
                if not isinstance(text, str):
                    continue
                if role == "user" and (words := _said(text)):
                    yield Entry(kind="prompt", text=words, **base)
                elif role == "assistant":
                    yield Entry(kind="reply", text=text, **base)
        elif ptype in ("function_call", "local_shell_call", "custom_tool_call"):
            command = _codex_command(payload)
            if command is not None:
                yield Entry(kind="command", text=command, **base)
            else:
                yield Entry(kind="tool", text=str(payload.get("name")), **base)


# -- gemini-cli ----------------------------------------------------------------------------------------

def gemini_files(home: Path | None = None) -> list[Path]:
    root = (home or Path.home()) / ".gemini" / "tmp"
    return sorted(root.glob("*/chats/session-*.json*")) if root.is_dir() else []


def _gemini_message(m: dict[str, Any], session: str, path: Path, number: int, seen: set[str]) -> Iterator[Entry]:
    """One message record; a record written again (the same id, now with its tool calls) yields only what is new."""
    mid = str(m.get("id") or f"line-{number}")
    base = {"source": "gemini", "session": session, "path": str(path), "line": number,
            "ts": _ts(m.get("timestamp"))}
    content = m.get("content")
    text = content if isinstance(content, str) else " ".join(
        str(p.get("text", "")) for p in content or [] if isinstance(p, dict) and "text" in p)
    if mid not in seen:
        seen.add(mid)
        if m.get("type") == "user" and (words := _said(text)):
            yield Entry(kind="prompt", text=words, **base)
        elif m.get("type") == "gemini" and text.strip():
            yield Entry(kind="reply", text=text, **base)
    for call in m.get("toolCalls") or []:
        if not isinstance(call, dict) or f"call:{call.get('id')}" in seen:
            continue
        seen.add(f"call:{call.get('id')}")
        args = call.get("args") if isinstance(call.get("args"), dict) else {}
        if isinstance(args.get("command"), str):
            yield Entry(kind="command", text=args["command"], **base)
        else:
            yield Entry(kind="tool", text=str(call.get("name")), **base)


def read_gemini(path: Path) -> Iterator[Entry]:
    """gemini-cli's chats: a JSONL log of message records and ``$set`` snapshots (newer versions; the
    snapshots repeat what the records said and are skipped), or one JSON document (older versions)."""
    seen: set[str] = set()
    if path.suffix == ".jsonl":
        session = path.stem
        for number, r in _lines(path):
            if "$set" in r:
                continue
            if "sessionId" in r and "type" not in r:
                session = str(r["sessionId"])
                continue
            if r.get("type") in ("user", "gemini"):
                yield from _gemini_message(r, session, path, number, seen)
        return
    try:
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return
    if isinstance(data, dict):
        session = str(data.get("sessionId") or path.stem)
        for number, m in enumerate(data.get("messages") or [], 1):
            if isinstance(m, dict):
                yield from _gemini_message(m, session, path, number, seen)


# -- podium's own jobs ---------------------------------------------------------------------------------

def read_podium(store: Any, transcribed: Collection[str] = ()) -> Iterator[Entry]:
    """The jobs the user started through podium (workers, tester turns): the words they gave podium, and the
    commands their agents ran unless the job's session is in ``transcribed`` (read from its transcript, with its
    lines). A job's entries belong to its agent's session. podium's own sessions (an orchestrator's brief, a
    distillation) are not the user's practice and are left out."""
    for job in reversed(store.jobs()):
        if job.role in PODIUMS_ROLES:
            continue
        base = {"source": "podium", "session": job.session_id or f"job-{job.id}", "job": job.id,
                "path": str(store.root), "cwd": job.workspace, "branch": job.branch}
        words = users_part(job.prompt)
        if words.strip():
            yield Entry(kind="prompt", text=words, line=0, ts=job.created_at, **base)
        if job.session_id in transcribed:
            continue
        for e in store.events(job.id, kinds=("command",)):
            yield Entry(kind="command", text=str(e.data.get("command", "")), line=e.seq, ts=e.ts, **base)


def podium_named(store: Any) -> set[str]:
    """The branches podium named for its jobs: a job records why podium chose its branch's name (a ``branch``
    note); a branch the user gave has none."""
    return {job.branch for job in store.jobs() if job.branch and job.role == "worker"
            and any(e.data.get("kind") == "branch" for e in store.events(job.id, kinds=("note",)))}


def scan(sources: Iterable[str] = SOURCES, where: Filter | None = None, *, store: Any = None,
         claude: Path | None = None, codex: Path | None = None, gemini: Path | None = None) -> Iterator[Entry]:
    """Every entry of the chosen sources that passes the filter, file by file; podium's jobs last. Read with
    podium's jobs, a job's session gives its prompts from podium's record only (the transcript's turn is
    what podium sent), its other entries from the transcript."""
    where = where or Filter()
    readers = {"claude": (claude_files(claude), read_claude), "codex": (codex_files(codex), read_codex),
               "gemini": (gemini_files(gemini), read_gemini)}
    chosen = list(dict.fromkeys(sources))
    with_jobs = store is not None and "podium" in chosen
    jobs = {j.session_id for j in store.jobs() if j.session_id} if with_jobs else set()
    transcribed: set[str] = set()
    for source in (s for s in chosen if s != "podium"):
        files, read = readers[source]
        for path in files:
            if not where.file_ok(path):
                continue
            for e in read(path):
                if not where.entry_ok(e) or (e.kind == "prompt" and e.session in jobs):
                    continue
                if e.session in jobs:
                    transcribed.add(e.session)
                yield e
    if with_jobs:
        yield from (e for e in read_podium(store, transcribed) if where.entry_ok(e))


def files_of(sources: Iterable[str], *, claude: Path | None = None, codex: Path | None = None,
             gemini: Path | None = None) -> list[Path]:
    found: list[Path] = []
    for source in sources:
        found += {"claude": lambda: claude_files(claude), "codex": lambda: codex_files(codex),
                  "gemini": lambda: gemini_files(gemini)}.get(source, lambda: [])()
    return found
