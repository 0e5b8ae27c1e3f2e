"""Branch names the way the team already names them, learned from the repository's own branches.

``learn`` reads branch names (local and ``origin/``, with their last commit dates)
and finds the team's habit: the prefix by kind of work (``feature/``, ``bugfix/``),
a personal prefix (``users/<name>/``, initials), where and how ticket ids appear
(``PROJ-42-…``, ``1234-…``, ``…-1234``, ``gh-123-…``, ``AB#1234-…``), the separator,
the case and the slug length. Recent branches weigh more than old ones (a team's
habit changes), and names that fit no habit are noise that simply weighs nothing.

``propose`` applies the habit to a ticket (id, title, type) or a task description
and explains the evidence, so the user can see why a name was chosen.
"""

from __future__ import annotations

import math
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from podium.errors import UsageError
from podium.git import Refs, Repo

HALF_LIFE_DAYS = 60.0
MIN_WORDS, MAX_WORDS = 3, 6
WORD_MAX, SLUG_MAX = 24, 48  # characters: a branch name stays one a person would type
NAME_MAX = 200  # a branch's longest part, and its worktree's folder, stay well inside the filesystem's 255 bytes
BOT_PREFIXES = ("release/", "releases/", "podium/", "dependabot/", "renovate/", "revert-", "snyk-", "pr/")
BASE_NAMES = {"main", "master", "develop", "development", "dev", "trunk", "staging", "production", "gh-pages", "HEAD"}
KIND_WORDS = {
    "feature": "feature", "feat": "feature", "features": "feature", "story": "feature", "enhancement": "feature",
    "bugfix": "bug", "bug": "bug", "fix": "bug", "fixes": "bug", "hotfix": "bug",
    "chore": "chore", "task": "chore", "maintenance": "chore",
    "docs": "docs", "doc": "docs",
    "refactor": "refactor", "test": "test", "tests": "test", "perf": "perf", "ci": "ci", "build": "ci",
    "spike": "spike", "experiment": "spike",
}
TYPE_KIND = {
    "bug": "bug", "defect": "bug", "issue": "bug", "incident": "bug",
    "feature": "feature", "story": "feature", "user story": "feature", "product backlog item": "feature",
    "enhancement": "feature", "epic": "feature", "task": "chore", "chore": "chore", "docs": "docs",
}
NOT_INITIALS = {"wip", "tmp", "old", "exp", "poc", "api", "app", "web", "ui", "ux", "db", "sdk", "cli", "dev", "usr"}

_JIRA = re.compile(r"^([A-Za-z][A-Za-z0-9]+)-(\d+)(?:[-_](.*))?$")
_AB = re.compile(r"^(?:AB|ab)#(\d+)(?:[-_](.*))?$")
_HASH = re.compile(r"^#(\d+)(?:[-_](.*))?$")
_GH = re.compile(r"^(gh|GH|issue|issues)[-_](\d+)(?:[-_](.*))?$")
_LEAD = re.compile(r"^(\d+)(?:[-_](.*))?$")
_TRAIL = re.compile(r"^(.*?)[-_](\d+)$")
_PUNCT = re.compile(r"[/_-]")
_INITIALS = re.compile(r"[a-z]{2,3}")
_WORD_SEP = re.compile(r"[-_]")


class Shape(NamedTuple):
    """How one branch is built, with the particular values taken out. (A tuple: hundreds of branches are
    counted by shape on every new workspace.)"""

    prefix: str  # e.g. "{kind}/", "users/{user}/", "{initials}/", "feature/", ""
    ticket: str  # "jira", "ab", "hash", "gh", "lead", "trail", "none"
    sep: str  # "-" or "_"
    case: str  # "lower" or "keep"


@dataclass
class Habit:
    """What the branches say, with weights (recent branches count more)."""

    shapes: Counter[Shape] = field(default_factory=Counter)
    kinds: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # kind -> words used
    users: Counter[str] = field(default_factory=Counter)
    words: list[int] = field(default_factory=list)
    examples: dict[Shape, list[str]] = field(default_factory=lambda: defaultdict(list))
    ignored: list[str] = field(default_factory=list)
    total: int = 0


@dataclass(frozen=True)
class Proposal:
    name: str
    evidence: list[str]


def _parse_leaf(leaf: str) -> tuple[str, str | None, str]:
    """(ticket style, ticket text as written, slug) of the last path segment."""
    for style, pattern in (("ab", _AB), ("hash", _HASH)):
        m = pattern.match(leaf)
        if m:
            return style, m.group(1), m.group(2) or ""
    m = _GH.match(leaf)
    if m:
        return "gh", f"{m.group(1)}-{m.group(2)}", m.group(3) or ""
    m = _JIRA.match(leaf)
    if m and m.group(1).upper() == m.group(1) and not m.group(1).isdigit():
        return "jira", f"{m.group(1)}-{m.group(2)}", m.group(3) or ""
    m = _LEAD.match(leaf)
    if m:
        return "lead", m.group(1), m.group(2) or ""
    m = _TRAIL.match(leaf)
    if m and len(m.group(2)) >= 2:
        return "trail", m.group(2), m.group(1)
    return "none", None, leaf


def ticket_in(branch: str) -> str | None:
    """The ticket id a branch name carries (``feature/PROJ-42-…``, ``users/al/1234-…``, ``fix/AB#12-…``), if any
    (a trailing number is not taken for one: it is as often a version or a duplicate's suffix)."""
    style, ticket, _slug = _parse_leaf(branch.rsplit("/", 1)[-1])
    return ticket if style in ("jira", "ab", "hash", "gh", "lead") else None


def _shape(name: str, user_tokens: set[str]) -> tuple[Shape, dict[str, str], int] | None:
    """The shape of a branch name, the values it holds (kind word, user), and its slug's word count."""
    if name in BASE_NAMES or name.startswith(BOT_PREFIXES) or not _PUNCT.search(name):
        return None  # base branches, release lines, bots' branches and one-word scratch names are not a habit
    parts = name.split("/")
    leaf, dirs = parts[-1], parts[:-1]
    ticket, _, slug = _parse_leaf(leaf)
    if not slug and ticket == "none":
        return None
    values: dict[str, str] = {}
    prefix = ""
    for i, part in enumerate(dirs):
        low = part.lower()
        if low in KIND_WORDS:
            prefix += "{kind}/"
            values["kind_word"] = part
        elif i > 0 and dirs[i - 1].lower() in ("users", "user", "u", "dev", "devs", "people"):
            prefix += "{user}/"
            values["user"] = part
        elif _INITIALS.fullmatch(part) and part not in NOT_INITIALS and (part in user_tokens or i == 0):
            prefix += "{initials}/"
            values["initials"] = part
        else:
            prefix += part + "/"
    sep = "_" if slug.count("_") > slug.count("-") else "-"
    case = "keep" if any(c.isupper() for c in slug) else "lower"
    words = len([w for w in _WORD_SEP.split(slug) if w])
    return Shape(prefix=prefix, ticket=ticket, sep=sep, case=case), values, words


def learn(branches: list[tuple[str, float]], user_tokens: set[str] | None = None, now: float | None = None) -> Habit:
    now = time.time() if now is None else now
    habit = Habit()
    tokens = user_tokens or set()
    for name, stamp in branches:
        parsed = _shape(name, tokens)
        if parsed is None:
            habit.ignored.append(name)
            continue
        shape, values, words = parsed
        weight = math.pow(0.5, max(0.0, now - stamp) / 86400 / HALF_LIFE_DAYS)
        habit.shapes[shape] += weight
        habit.total += 1
        if len(habit.examples[shape]) < 3:
            habit.examples[shape].append(name)
        if "kind_word" in values:
            habit.kinds[KIND_WORDS[values["kind_word"].lower()]][values["kind_word"]] += weight
        if "user" in values:
            habit.users[values["user"]] += weight
        if words:
            habit.words.append(words)
    return habit


def _slug(text: str, sep: str, case: str, words: int) -> str:
    """The title's first ``words`` words, joined by ``sep``; at most ``SLUG_MAX`` characters, each word at most
    ``WORD_MAX`` (a URL or a hash at the start of a title is one very long word)."""
    tokens = re.findall(r"[A-Za-z0-9]+", text)
    tokens = [t for t in tokens if t.lower() not in {"a", "an", "the", "to", "of", "and", "for", "in", "on"}] or tokens
    tokens = [t[:WORD_MAX] for t in tokens[:words]] or ["task"]
    slug = sep.join(t if case == "keep" else t.lower() for t in tokens)
    while len(slug) > SLUG_MAX and sep in slug:
        slug = slug.rsplit(sep, 1)[0]
    return slug[:SLUG_MAX]


def _ticket_text(style: str, ticket: str, sep: str) -> str:
    number = re.sub(r"\D", "", ticket) or ticket
    if style in ("jira", "lead", "trail") and re.match(r"^[A-Za-z][A-Za-z0-9]+-\d+$", ticket):
        return ticket.upper()  # a project key is part of the id: SHOP-7, never a bare 7
    if style == "jira":
        return number
    return {"ab": f"AB#{number}", "hash": f"#{number}", "gh": f"gh{sep}{number}"}.get(style, number)


def propose(
    habit: Habit,
    *,
    title: str,
    ticket: str | None = None,
    kind: str | None = None,
    user: str | None = None,
    initials: str | None = None,
) -> Proposal:
    """The branch a teammate would create for this work, and why."""
    evidence: list[str] = []
    if not habit.shapes:
        shape = Shape(prefix="{kind}/", ticket="lead", sep="-", case="lower")
        evidence.append("no branches to learn from: podium's default, <kind>/<ticket>-<slug>")
    else:
        shape, weight = habit.shapes.most_common(1)[0]
        share = weight / sum(habit.shapes.values())
        examples = ", ".join(habit.examples[shape])
        evidence.append(f"{share:.0%} of the {habit.total} branches that follow a habit (recent ones weigh more) "
                        f"look like {describe_shape(shape)}: {examples}")
    if habit.ignored:
        shown = ", ".join(habit.ignored[:4]) + (" …" if len(habit.ignored) > 4 else "")
        evidence.append(f"not a habit, ignored: {shown}")
    words = sorted(habit.words)[len(habit.words) // 2] if habit.words else 4
    words = max(MIN_WORDS, min(words, MAX_WORDS))  # the team's usual length, within sane bounds
    evidence.append(f"slugs have about {words} words, joined by {shape.sep!r}, "
                    f"{'case kept' if shape.case == 'keep' else 'lower case'}")
    kind_name = TYPE_KIND.get((kind or "").lower(), "bug" if re.search(r"\b(fix|bug|crash|broken|error)\b",
                                                                     title, re.I) else "feature")
    prefix = shape.prefix
    if "{kind}" in prefix:  # "Fix the crash" under fix/ is fix/crash-…, not fix/fix-crash-…
        title = re.sub(r"^\s*(\w+)\W*", lambda m: "" if m.group(1).lower() in KIND_WORDS else m.group(0), title)
        used = habit.kinds.get(kind_name)
        if used:
            word = used.most_common(1)[0][0]
            evidence.append(f"{kind_name} work goes under {word}/ ({', '.join(used)} seen)")
        else:
            word = {"bug": "bugfix", "feature": "feature"}.get(kind_name, kind_name)
            if habit.kinds:
                evidence.append(f"no {kind_name} branches yet; using {word}/ beside {', '.join(habit.kinds)}")
        prefix = prefix.replace("{kind}", word)
    if "{user}" in prefix:
        who = user or (habit.users.most_common(1)[0][0] if habit.users else "me")
        prefix = prefix.replace("{user}", who)
        evidence.append(f"personal branches live under users/{who}/")
    if "{initials}" in prefix:
        prefix = prefix.replace("{initials}", initials or "me")
    slug = _slug(title, shape.sep, shape.case, words)
    if ticket and shape.ticket != "none":
        text = _ticket_text(shape.ticket, ticket, shape.sep)
        leaf = f"{slug}{shape.sep}{text}" if shape.ticket == "trail" else f"{text}{shape.sep}{slug}"
        evidence.append(f"ticket ids are written as {_ticket_example(shape.ticket)}")
    else:
        leaf = slug
        if ticket:
            evidence.append("the team's branches carry no ticket id; neither does this one")
    return Proposal(name=prefix + leaf, evidence=evidence)


def _ticket_example(style: str) -> str:
    return {"jira": "PROJ-42-<slug>", "ab": "AB#1234-<slug>", "hash": "#123-<slug>", "gh": "gh-123-<slug>",
            "lead": "1234-<slug>", "trail": "<slug>-1234"}.get(style, "nothing")


def describe_shape(shape: Shape) -> str:
    leaf = {"jira": "PROJ-42-slug", "ab": "AB#1234-slug", "hash": "#123-slug", "gh": "gh-123-slug",
            "lead": "1234-slug", "trail": "slug-1234", "none": "slug"}[shape.ticket]
    if shape.sep == "_":
        leaf = leaf.replace("-slug", "_slug").replace("slug-", "slug_")
    return f"{shape.prefix}{leaf}"


@dataclass(frozen=True)
class Me:
    """How the current user may appear in branch names."""

    name: str | None  # the token for users/<name>/
    initials: str | None
    spellings: frozenset[str] = frozenset()  # lower-case forms of the user's name that may appear

    @classmethod
    def from_settings(cls, settings: dict[str, str]) -> Me:
        """From git's user.name and user.email (``Repo.settings()``)."""
        full, email = settings.get("user.name", ""), settings.get("user.email", "")
        local = email.split("@")[0].lower() if email else ""
        first = full.split()[0].lower() if full.split() else ""
        initials = "".join(w[0] for w in full.lower().split() if w[:1].isalpha())[:3] or None
        spellings = frozenset(s for s in (local, first, full.lower().replace(" ", ""),
                                          full.lower().replace(" ", ".")) if s)
        return cls(name=local or first or None, initials=initials, spellings=spellings)

    def as_seen_in(self, habit_users: Counter[str]) -> Me:
        """The spelling the user already uses in branch names, when the branches show one."""
        for seen in habit_users:
            if seen.lower() in self.spellings:
                return Me(name=seen, initials=self.initials, spellings=self.spellings)
        return self

    def tokens(self) -> set[str]:
        return {t for t in (self.name, self.initials) if t}


def render_template(template: str, *, title: str, ticket: str | None, kind: str | None, me: Me) -> str:
    """A pinned ``[branches] template`` such as ``"feature/{ticket}-{slug}"`` filled in."""
    kind_name = TYPE_KIND.get((kind or "").lower(), "feature")
    values = {"slug": _slug(title, "-", "lower", 5), "ticket": ticket or "", "kind": kind_name,
              "user": me.name or "me", "initials": me.initials or "me"}
    try:
        name = template.format(**values)
    except (KeyError, IndexError, ValueError) as e:
        raise UsageError(f"branch template {template!r} is not valid: unknown or bad field {e}") from None
    return re.sub(r"[-_/]{2,}", lambda m: m.group(0)[0], name).strip("-_/")


def name_for(repo: Repo, *, title: str, ticket: str | None = None, kind: str | None = None,
             template: str | None = None, refs: Refs | None = None, settings: dict[str, str] | None = None
             ) -> Proposal:
    """The branch name for this work in this repository: the pinned template, else the learned habit
    (``refs`` and ``settings``, when read already, spare git calls)."""
    branches = (refs or repo.refs()).recent()
    me = Me.from_settings(repo.settings() if settings is None else settings)
    habit = learn(branches, me.tokens())
    me = me.as_seen_in(habit.users)
    if template:
        return Proposal(name=render_template(template, title=title, ticket=ticket, kind=kind, me=me),
                        evidence=[f"pinned by podium.toml: [branches] template = {template!r}"])
    return propose(habit, title=title, ticket=ticket, kind=kind, user=me.name, initials=me.initials)
