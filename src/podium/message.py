"""Commit messages a teammate would write: a short imperative subject in the team's own style, and a body
that says what the change does now.

The subject is the ticket's title when there is a ticket; else a phrase made from the task (its first
sentence, when it reads as an instruction or can be turned into one: "Users need to subtract numbers" →
"Let users subtract numbers"), else from the agent's own account ("Added sub()" → "Add sub()"), else from the
change itself ("Add sub() to calc.py"). It is a complete phrase of at most ``PHRASE_MAX`` characters, cut at
a clause or word boundary, never a prompt cut off with "…".

The base branch's history decides the form: a conventional-commit type (``docs:`` for documentation only,
``test:`` for tests only, ``fix:`` for a bug ticket or a fix branch, else ``feat:``) and a scope when the
team writes them, and the ticket reference the way recent subjects carry one.
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from pathlib import PurePosixPath

from podium.branches import TYPE_KIND, ticket_in
from podium.git import git
from podium.store import Job

SUBJECT_MAX = 72
PHRASE_MAX = 60
BODY_LINES = 12
DOCS_PATH = re.compile(r"\.(md|mdx|rst|adoc|txt)$|(^|/)docs?/", re.IGNORECASE)
TEST_PATH = re.compile(r"(^|/)(tests?|spec|__tests__)/|(^|/)test_[^/]+\.py$|_test\.(py|go)$|"
                       r"\.(test|spec)\.[cm]?[jt]sx?$|Tests?\.(java|cs|kt)$")
_SUBJECT_TICKET = re.compile(r"^(\[)?((?:[A-Z][A-Z0-9]+-)|AB#|#)?(\d+)(\])?(:)?\s")
_CONVENTIONAL = re.compile(r"^(feat|fix|chore|docs|refactor|test|tests|perf|ci|build|style|revert)(\(([^)]*)\))?!?: ")
_GENERIC_DIRS = {"src", "lib", "pkg", "packages", "apps", "internal", "source", "app"}
_DEFINITION = re.compile(r"^\+\s*(?:export\s+)?(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?"
                         r"(def|class|function|func|fn|interface|struct|enum)\s+(?:\([^)]*\)\s*)?([A-Za-z_]\w*)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_LEAD_IN = re.compile(r"^(?:(?:please|pls|kindly|now|then|also|so|ok(?:ay)?|hi|hey)\b[,!]?\s+|"
                      r"(?:can|could|would|will) you (?:please )?|(?:i'?d like|i would like|i want|we want|i need|"
                      r"we need|you need|you should|you must|we should|let'?s|lets|go ahead and|try to|"
                      r"make sure to|your task is to|the task is to)\s+(?:you\s+)?(?:to\s+)?)", re.IGNORECASE)
_NEEDS = re.compile(r"^(?P<who>[\w'`.-]+(?: [\w'`.-]+)*?) (?:needs?|wants?|has|have) to (?P<rest>\w.*)$",
                    re.IGNORECASE)
_SHOULD = re.compile(r"^(?P<who>[\w'`.-]+(?: [\w'`.-]+)*?) (?:should|must|ought to)(?P<able> be able to)? "
                     r"(?P<rest>\w.*)$", re.IGNORECASE)
_PEOPLE = re.compile(r"^(?:the )?(users?|customers?|admins?|administrators?|people|visitors?|clients?|developers?|"
                     r"members?|buyers?|sellers?|readers?|players?|callers?)\b", re.IGNORECASE)
_NOT_A_SUBJECT = {"when", "if", "after", "before", "because", "since", "as", "while", "once", "until", "so"}
_STRONG_CUT = re.compile(r"\s*(?:;|: | \(| — | -- | - )")
_WEAK_CUT = re.compile(r",? (?:so that|so|because|since|which|while|in order to|instead of|and then|but|when|if|"
                       r"without|unless|after|before|until|once|where|whenever)\b|, ")
_DANGLING = {"a", "an", "the", "of", "to", "for", "in", "on", "with", "and", "or", "but", "when", "that", "by",
             "from", "at", "as", "into", "its", "their", "our", "your", "so", "if", "is", "are", "be", "too",
             "after", "before", "until", "while", "where", "which", "who", "than", "then", "not", "without"}
_VERB_WORDS = """
add adjust align allow apply avoid bump build cache call catch change check clarify clean cleanup clear close
collapse combine compute configure convert copy correct count cover create cut debounce declare decouple default
defer delete deprecate describe detect disable display document drop edit emit enable enforce ensure escape expand
explain export expose extend extract fetch fill filter fix flag format guard handle hide ignore implement import
improve include increase inline install introduce keep kill let limit link list load localize lock log lower make
mark merge migrate move normalize open optimize order parse pass persist pin prefer prepare prevent print protect
prune publish pull push raise read rebuild record redirect reduce refactor refresh reject reload remove rename
render reorder replace report request require reset resize resolve restore restrict retry return reuse revert
rewrite run save scale search send separate serve set show simplify skip sort speed split start stop store
stream strip subtract support switch sync test throttle tidy track translate trim tune turn unify update upgrade
upload use validate verify wait warn wire wrap write
"""
VERBS = frozenset(_VERB_WORDS.split())  # the verbs a subject starts with, in the imperative
_IRREGULAR_PAST = {"wrote": "write", "made": "make", "built": "build", "split": "split", "set": "set", "put": "put",
                   "ran": "run", "kept": "keep", "cut": "cut", "gave": "give", "took": "take", "found": "find",
                   "led": "lead", "let": "let", "read": "read", "sent": "send", "threw": "throw", "hid": "hide"}


def draft_message(ws: str, branch: str, jobs: list[Job], files: list[str], base_sha: str, tree: str,
                  ticket: str | None = None, title: str | None = None, kind: str | None = None) -> str:
    """The message for the change ``base_sha..tree``: subject from the ticket's title, else the task, else the
    agents' accounts, else the diff; body from the accounts of the rounds whose work is in the commit.

    ``jobs`` are the workers' jobs, oldest first; ``kind`` is the ticket's type as its tracker calls it.
    """
    accounts = _accounts(jobs, files)
    task = next((j.prompt for j in jobs if j.parent_id is None), jobs[0].prompt if jobs else "")
    phrase = (_phrase(title, whole=True) if title else None) or from_text(task, accounts) or _from_diff(
        ws, base_sha, tree)
    subjects = git("log", "-50", "--first-parent", "--format=%s", base_sha, cwd=ws, check=False).splitlines()
    conventional = _uses_conventional_commits(subjects)
    subject = _with_ticket(_lower_first(phrase) if conventional else phrase, ticket or ticket_in(branch), subjects)
    if conventional:
        subject = f"{_kind(files, kind, branch, subjects)}{_scope(files, subjects)}: {subject}"
    return f"{_shorten(subject, SUBJECT_MAX)}\n\n{_body(accounts, files)}"


def _accounts(jobs: list[Job], files: list[str]) -> list[str]:
    """The agents' own accounts of the rounds whose changes are in the commit, oldest first, each once."""
    found: list[str] = []
    for job in jobs:
        run_files = (job.work or {}).get("run_files")
        if not job.final_message or (run_files is not None and not set(run_files) & set(files)):
            continue
        if job.final_message.strip() not in found:
            found.append(job.final_message.strip())
    return found


# -- the subject's phrase -----------------------------------------------------------------------------------


def from_text(task: str, accounts: list[str]) -> str | None:
    """An imperative phrase from the task's first sentence, else from the first sentences of an account."""
    first = _sentences(task)[:1]
    for sentence in first + [s for account in accounts for s in _sentences(account)[:2]]:
        phrase = imperative(sentence)
        if phrase:
            return _phrase(phrase)
    return None


def _sentences(text: str) -> list[str]:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = re.sub(r"^(#+|[-*>]|\d+[.)])\s+", "", line)
    return [s.strip() for s in _SENTENCE_END.split(line) if s.strip()]


def imperative(sentence: str) -> str | None:
    """``sentence`` as an instruction (``Add sub() to calc.py``), or None when it cannot be read as one."""
    text = re.sub(r"\s+", " ", sentence).strip().rstrip(".!?")
    while (shorter := _LEAD_IN.sub("", text, count=1)) != text:
        text = shorter
    if not text:
        return None
    if text.split(" ", 1)[0].lower() in VERBS:
        return _upper_first(text)
    past = _past_to_imperative(text)
    if past:
        return past
    m = _NEEDS.match(text) or _SHOULD.match(text)
    if m is None or len(m.group("who").split()) > 4 or m.group("who").split()[0].lower() in _NOT_A_SUBJECT:
        return None
    who, rest = _lower_first(m.group("who")), m.group("rest")
    if m.re is _SHOULD and not m.group("able"):  # "the total should be exact" → "Make the total exact"
        return f"Make {who} {re.sub(r'^be ', '', rest)}"
    return f"{'Let' if _PEOPLE.match(who) or m.re is _SHOULD else 'Make'} {who} {rest}"


def _past_to_imperative(text: str) -> str | None:
    """``Added x`` / ``I've added x`` / ``Wrote x`` → ``Add x`` / ``Write x``, for verbs podium knows."""
    m = re.match(r"^(?:i(?: have|'ve)? )?(\w+)\b(.*)$", text, re.IGNORECASE)
    if m is None:
        return None
    word, rest = m.group(1).lower(), m.group(2)
    base = _IRREGULAR_PAST.get(word)
    if base is None and word.endswith("ed"):
        stem = word[:-2]
        doubled = stem[:-1] if len(stem) > 2 and stem[-1] == stem[-2] else ""
        base = next((c for c in (stem, stem + "e", doubled, stem[:-1] + "y") if c in VERBS), None)
    return _upper_first(base + rest) if base else None


def _phrase(text: str, *, whole: bool = False) -> str:
    """A complete phrase of at most ``PHRASE_MAX`` characters: up to the first clause break (``;``, ``: ``,
    `` — ``; for a ``whole`` title only when it is too long), cut at a weaker one (``, so``, `` because``…)
    when too long, else at a word without a dangling "the" or "and"; a task's trailing "too" dropped."""
    text = re.sub(r"\s+", " ", text).strip()
    strong = _STRONG_CUT.search(text)
    if strong and len(text[: strong.start()].split()) >= 2 and (not whole or len(text) > PHRASE_MAX):
        text = text[: strong.start()]
    text = text.rstrip(".!?,;:- ")
    if len(text) > PHRASE_MAX:
        fits = [m.start() for m in _WEAK_CUT.finditer(text)
                if m.start() <= PHRASE_MAX and len(text[: m.start()].split()) >= 2]
        words = (text[: fits[-1]] if fits else text).split(" ")
        while len(" ".join(words)) > PHRASE_MAX and len(words) > 1:
            words.pop()
        while len(words) > 2 and words[-1].lower().strip(",") in _DANGLING:
            words.pop()
        text = " ".join(words).rstrip(",;:-")
    if not whole:  # "Let users subtract numbers too": the task's "too" speaks to the agent, not the reader
        text = re.sub(r"(?<=\w) (?:too|as well|also)$", "", text)
    return _upper_first(text) if text else "Update"


def _from_diff(ws: str, base_sha: str, tree: str) -> str:
    """What the change does, read from it: the functions and classes it adds, else the files it touches."""
    status = [ln.split("\t") for ln in git("diff", "--name-status", "--no-renames", base_sha, tree,
                                            cwd=ws).splitlines()]
    code = [p for _, p in status if not TEST_PATH.search(p) and not DOCS_PATH.search(p)]
    names: dict[str, list[str]] = {}
    if code:
        diff = git("diff", "-U0", "--no-color", "--no-ext-diff", base_sha, tree, "--", *code, cwd=ws)
        path = ""
        for line in diff.splitlines():
            if line.startswith("+++ "):
                path = line[6:] if line.startswith("+++ b/") else ""
            m = _DEFINITION.match(line)
            if m and path:
                names.setdefault(path, []).append(m.group(2) + ("" if m.group(1) in ("class", "struct", "interface",
                                                                                       "enum") else "()"))
    if names:
        found = [n for found in names.values() for n in found]
        what = _listed(found, "more")
        where = f" to {PurePosixPath(next(iter(names))).name}" if len(names) == 1 else ""
        fresh = {p for s, p in status if s == "A"}
        return _phrase(f"Add {what}" + ("" if set(names) <= fresh else where))
    kinds = {s for s, _ in status}
    paths = [p for _, p in status]
    if paths and all(TEST_PATH.search(p) for p in paths) and kinds == {"A"}:
        stems = [re.sub(r"^test_|_test$|\.(test|spec)$|Tests?$", "", PurePosixPath(p).stem) for p in paths]
        return _phrase(f"Add tests for {_listed(list(dict.fromkeys(stems)), 'more')}")
    verb = {"A": "Add", "D": "Remove"}.get(next(iter(kinds)), "Update") if len(kinds) == 1 else "Update"
    return _phrase(f"{verb} {_listed([PurePosixPath(p).name for p in paths], 'more files')}")


def _listed(names: list[str], more: str) -> str:
    if len(names) <= 2:
        return " and ".join(names)
    return f"{names[0]}, {names[1]} and {len(names) - 2} {more}"


def _upper_first(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower_first(text: str) -> str:
    """``Add x`` → ``add x``; a word written in capitals or with inner capitals (README, iOS, Calc.py) stays."""
    word = text.split(" ", 1)[0]
    if len(word) > 1 and word[1:].isalpha() and word[1:].islower() and word[0].isupper():
        return text[0].lower() + text[1:]
    return text


def _shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary (no "…": a subject is a phrase, not an excerpt)."""
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:-")


# -- the team's form ----------------------------------------------------------------------------------------


def _uses_conventional_commits(subjects: list[str]) -> bool:
    return len(subjects) >= 4 and sum(bool(_CONVENTIONAL.match(s)) for s in subjects) * 2 >= len(subjects)


def _kind(files: list[str], ticket_kind: str | None, branch: str, subjects: list[str]) -> str:
    """The conventional type: docs only → docs, tests only → test (as the team spells it), a bug → fix, else
    feat."""
    used = Counter(m.group(1) for s in subjects if (m := _CONVENTIONAL.match(s)))
    if files and all(DOCS_PATH.search(p) for p in files):
        return "docs"
    if files and all(TEST_PATH.search(p) for p in files):
        return "tests" if used["tests"] > used["test"] else "test"
    kind = TYPE_KIND.get((ticket_kind or "").lower())
    if kind == "bug" or (kind is None and re.search(r"(^|/)(fix|bugfix|hotfix|bug)[/-]", branch)):
        return "fix"
    return "docs" if kind == "docs" else "feat"


def _scope(files: list[str], subjects: list[str]) -> str:
    """``(calc)`` when a third or more of the team's conventional subjects carry a scope: one of their scopes
    that every changed file lives under, else the directory they share (past ``src/`` and the like)."""
    scopes = [m.group(3) for s in subjects if (m := _CONVENTIONAL.match(s))]
    used = [s for s in scopes if s]
    if not files or not scopes or len(used) * 3 < len(scopes):
        return ""
    parts = [PurePosixPath(p).parts[:-1] for p in files]
    for scope, _ in Counter(used).most_common():
        if all(scope in dirs for dirs in parts):
            return f"({scope})"
    common = []
    for level in zip(*parts, strict=False):
        if len(set(level)) != 1:
            break
        common.append(level[0])
    named = [d for d in common if d not in _GENERIC_DIRS]
    return f"({named[0]})" if named else ""


def _with_ticket(subject: str, ticket: str | None, subjects: list[str]) -> str:
    """``subject`` with the ticket in front, written the way a third or more of recent subjects write one (after
    a conventional type, if any); unchanged when the history has no such habit or the ticket cannot be written
    that way."""
    if not ticket or len(subjects) < 4:
        return subject
    habits: Counter[tuple[str, str, str, str]] = Counter()
    for line in subjects:
        m = _SUBJECT_TICKET.match(_CONVENTIONAL.sub("", line))
        if m:
            habits[(m.group(1) or "", m.group(2) or "", m.group(4) or "", m.group(5) or "")] += 1
    if not habits:
        return subject
    (open_, form, close, colon), count = habits.most_common(1)[0]
    if count * 3 < len(subjects):
        return subject
    number = re.sub(r"\D", "", ticket.rsplit("-", 1)[-1])
    if form.endswith("-"):  # a Jira-style key: only a Jira-style ticket fits
        if not re.match(r"^[A-Za-z][A-Za-z0-9]+-\d+$", ticket):
            return subject
        ref = ticket.upper()
    else:
        if not number:
            return subject
        ref = f"{form}{number}"
    return f"{open_}{ref}{close}{colon} {subject}"


# -- the body -------------------------------------------------------------------------------------------------


def _body(accounts: list[str], files: list[str]) -> str:
    """The agents' accounts as a wrapped body (one round: as written; several: one bullet each), at most
    ``BODY_LINES`` lines; without an account, the files it changes."""
    if len(accounts) == 1:
        body = _wrapped(accounts[0])
    elif accounts:
        lines: list[str] = []
        for account in accounts:
            first = _wrapped(account).split("\n\n", 1)[0].replace("\n", " ")
            lines += textwrap.wrap(f"- {first}", 72, subsequent_indent="  ")
        body = "\n".join(lines[:BODY_LINES])
    else:
        body = ""
    if body:
        return body
    more = f" and {len(files) - 8} more files" if len(files) > 8 else ""
    return textwrap.fill("Changes " + ", ".join(files[:8]) + more + ".", 72)


def _wrapped(account: str) -> str:
    """An agent's final message as a wrapped commit body: at most ``BODY_LINES`` lines, no code fences."""
    text = re.sub(r"```.*?```", "", account, flags=re.DOTALL)
    paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
    lines: list[str] = []
    for para in paragraphs:
        if lines:
            lines.append("")
        for raw in para.splitlines():
            bullet = re.match(r"^(\s*[-*]\s+|\s*\d+[.)]\s+)", raw)
            indent = " " * len(bullet.group(1)) if bullet else ""
            lines.extend(textwrap.wrap(raw.strip() if not bullet else raw.rstrip(), 72,
                                       subsequent_indent=indent) or [""])
        if len(lines) >= BODY_LINES:
            break
    return "\n".join(lines[:BODY_LINES]).strip()


def comment_char(text: str) -> str:
    """``#`` marks comments in the editor, unless the message itself has lines starting with it (``#12 Fix…``)."""
    return ";" if any(ln.startswith("#") for ln in text.splitlines()) else "#"


def clean_message(text: str, comment: str | None = None) -> str:
    """Whitespace tidied (and, from an editor, ``comment`` lines dropped), as git stores a message."""
    lines = [ln.rstrip() for ln in text.splitlines() if not (comment and ln.startswith(comment))]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
