"""Branch names the way the team already names them, learned from the repository's own branches.

``learn`` reads branch names (local and ``origin/``, with their last commit dates)
and finds the team's habit: the prefix by kind of work (``feature/``, ``bugfix/``),
a personal prefix (``users/<name>/``, initials), where and how ticket ids appear
(``PROJ-42-…``, ``1234-…``, ``…-1234``, ``issue-123-…``, ``AB#1234-…``), dates (``2026-11/…``,
``…-20261127``), the separator, the case, how long slugs are and whether small words
("to", "the", "for") stay in them. Recent branches weigh more than old ones (a team's
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
from datetime import datetime
from typing import NamedTuple

from podium.errors import UsageError
from podium.git import Refs, Repo

HALF_LIFE_DAYS = 60.0
MIN_WORDS, MAX_WORDS, DEFAULT_WORDS = 3, 12, 4
WORD_MAX, SLUG_MAX, LONG_SLUG_MAX = 24, 48, 100  # characters: a branch name stays one a person would type
USUAL = 0.9  # a slug's usual length: what nine in ten of the team's slugs stay within
KEPT_SHARE = 0.1  # small words stay when at least one slug in ten has one
SMALL_WORDS = {  # the words a team either writes in its slugs or drops, by class
    **dict.fromkeys(("a", "an", "the"), "articles"),
    **dict.fromkeys(("to", "of", "and", "for", "in", "on"), "links"),
}
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
_WORD_LEAD = re.compile(r"^((?=[A-Za-z]*[a-z])[A-Za-z]{2,}[-_])(\d+)(?:[-_](.*))?$")  # issue-42-…, shop_7_…
_LEAD = re.compile(r"^(\d+)(?:[-_](.*))?$")
_TRAIL = re.compile(r"^(.*?)[-_](\d+)$")
_PUNCT = re.compile(r"[/_-]")
_INITIALS = re.compile(r"[a-z]{2,3}")
_PERSON = re.compile(r"[a-z][a-z0-9.]{3,}")
_WORD_SEP = re.compile(r"[-_]|(?<=[a-z0-9])(?=[A-Z])")
_CAMEL = re.compile(r"[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+")
_PASCAL = re.compile(r"(?:[A-Z][a-z0-9]+){2,}")
_DATE_FORMATS = {r"20\d\d-\d\d-\d\d": "%Y-%m-%d", r"20\d{6}": "%Y%m%d", r"20\d\d-\d\d": "%Y-%m", r"20\d\d": "%Y"}
_DATE_LEAD = re.compile(r"^(20\d\d-\d\d-\d\d|20\d{6})([-_])(.+)$")
_DATE_TRAIL = re.compile(r"^(.+?)([-_])(20\d\d-\d\d-\d\d|20\d{6})$")
_DATE_FIELD = re.compile(r"\{date:([^}]*)\}")


class Shape(NamedTuple):
    """How one branch is built, with the particular values taken out. (A tuple: hundreds of branches are
    counted by shape on every new workspace.)"""

    prefix: str  # e.g. "{kind}/", "users/{user}/", "{initials}/", "feature/", "issue-", "{date:%Y-%m}/", ""
    ticket: str  # "jira", "ab", "hash", "lead", "trail", "none"
    sep: str  # "-" or "_"
    case: str  # "lower", "keep" (the title's own case), "camel" (addCsvExport) or "pascal" (AddCsvExport)
    suffix: str = ""  # after the slug, e.g. "-{date:%Y%m%d}"


class Slug(NamedTuple):
    """One branch's slug as the team wrote it: its words (lower case), length and weight."""

    shape: Shape
    words: tuple[str, ...]
    chars: int
    weight: float


@dataclass
class Habit:
    """What the branches say, with weights (recent branches count more)."""

    shapes: Counter[Shape] = field(default_factory=Counter)
    kinds: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))  # kind -> words used
    users: Counter[str] = field(default_factory=Counter)
    keys: Counter[str] = field(default_factory=Counter)  # Jira project keys: PROJ
    slugs: list[Slug] = field(default_factory=list)
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
    (a trailing number is not taken for one: it is as often a version or a duplicate's suffix; nor is a date)."""
    _lead, leaf, _trail = _undated(branch.rsplit("/", 1)[-1])
    style, ticket, _slug = _parse_leaf(leaf)
    return ticket if style in ("jira", "ab", "hash", "gh", "lead") else None


def _date_field(text: str) -> str | None:
    """``{date:%Y-%m}`` for ``2026-11``: a date in a branch name is the day it was made, never a literal."""
    for pattern, fmt in _DATE_FORMATS.items():
        if re.fullmatch(pattern, text):
            try:
                datetime.strptime(text, fmt)
            except ValueError:
                return None
            return f"{{date:{fmt}}}"
    return None


def _undated(leaf: str) -> tuple[str, str, str]:
    """A leaf's leading date field (with its separator), the rest, and its trailing date field."""
    m = _DATE_LEAD.match(leaf)
    if m and _date_field(m.group(1)):
        return f"{_date_field(m.group(1))}{m.group(2)}", m.group(3), ""
    m = _DATE_TRAIL.match(leaf)
    if m and _date_field(m.group(3)):
        return "", m.group(1), f"{m.group(2)}{_date_field(m.group(3))}"
    return "", leaf, ""


def _folder(i: int, part: str, dirs: list[str], user_tokens: set[str], values: dict[str, str]) -> str:
    """One folder of a branch name as a shape has it: a placeholder for what varies, else the literal."""
    low = part.lower()
    if low in KIND_WORDS:
        values["kind_word"] = part
        return "{kind}/"
    if i > 0 and dirs[i - 1].lower() in ("users", "user", "u", "dev", "devs", "people"):
        values["user"] = part
        return "{user}/"
    if _INITIALS.fullmatch(part) and part not in NOT_INITIALS and (part in user_tokens or i == 0):
        values["initials"] = part
        return "{initials}/"
    if i == 0 and low in user_tokens:
        values["user"] = part
        return "{user}/"
    return (_date_field(part) or part) + "/"


def _leaf_word(leaf: str, values: dict[str, str]) -> tuple[str, str]:
    """The literal word before a leading number (``issue-``, ``gh-``, ``shop_``), or ``{kind}-`` for a kind
    word (``feature-1234-…``), and the rest of the leaf; ("", leaf) when there is none."""
    m = _WORD_LEAD.match(leaf)
    if not m:
        return "", leaf
    word, rest = m.group(1), leaf[len(m.group(1)):]
    if word[:-1].lower() in KIND_WORDS:
        values["kind_word"] = word[:-1]
        return "{kind}" + word[-1], rest
    return word, rest


def _case(slug: str) -> str:
    if _CAMEL.fullmatch(slug):
        return "camel"
    if _PASCAL.fullmatch(slug):
        return "pascal"
    return "keep" if any(c.isupper() for c in slug) else "lower"


def _words(slug: str) -> tuple[str, ...]:
    return tuple(w.lower() for w in _WORD_SEP.split(slug) if w)


def _shape(name: str, user_tokens: set[str]) -> tuple[Shape, dict[str, str], str] | None:
    """The shape of a branch name, the values it holds (kind word, user, project key), and its slug."""
    if name in BASE_NAMES or name.startswith(BOT_PREFIXES) or not (_PUNCT.search(name) or _CAMEL.fullmatch(name)):
        return None  # base branches, release lines, bots' branches and one-word scratch names are not a habit
    parts = name.split("/")
    values: dict[str, str] = {}
    prefix = "".join(_folder(i, part, parts[:-1], user_tokens, values) for i, part in enumerate(parts[:-1]))
    lead, leaf, suffix = _undated(parts[-1])
    word, leaf = _leaf_word(leaf, values)
    ticket, text, slug = _parse_leaf(leaf)
    if not slug and ticket == "none":
        return None
    if ticket == "jira" and text:
        values["key"] = text.split("-")[0]
    sep = "_" if slug.count("_") > slug.count("-") else "-"
    return Shape(prefix=prefix + lead + word, ticket=ticket, sep=sep, case=_case(slug), suffix=suffix), values, slug


def _people(parsed: list[tuple[str, float, tuple[Shape, dict[str, str], str]]]) -> set[str]:
    """First folders that are people: three or more names (``alice/``, ``bob.lee/``) in front of the same shape."""
    seen: dict[Shape, set[str]] = defaultdict(set)
    for _name, _stamp, (shape, _values, _slug) in parsed:
        first, slash, rest = shape.prefix.partition("/")
        if slash and _PERSON.fullmatch(first):
            seen[shape._replace(prefix="{user}/" + rest)].add(first)
    return {person for folks in seen.values() if len(folks) >= 3 for person in folks}


def learn(branches: list[tuple[str, float]], user_tokens: set[str] | None = None, now: float | None = None) -> Habit:
    now = time.time() if now is None else now
    habit = Habit()
    tokens = {t.lower() for t in user_tokens or ()}
    parsed: list[tuple[str, float, tuple[Shape, dict[str, str], str]]] = []
    for name, stamp in branches:
        found = _shape(name, tokens)
        if found is None:
            habit.ignored.append(name)
        else:
            parsed.append((name, stamp, found))
    people = _people(parsed)
    for name, stamp, found in parsed:
        if name.split("/")[0] in people:
            found = _shape(name, tokens | people) or found
        shape, values, slug = found
        weight = math.pow(0.5, max(0.0, now - stamp) / 86400 / HALF_LIFE_DAYS)
        habit.shapes[shape] += weight
        habit.total += 1
        if len(habit.examples[shape]) < 3:
            habit.examples[shape].append(name)
        if "kind_word" in values:
            habit.kinds[KIND_WORDS[values["kind_word"].lower()]][values["kind_word"]] += weight
        if "user" in values:
            habit.users[values["user"]] += weight
        if "key" in values:
            habit.keys[values["key"]] += weight
        if slug:
            habit.slugs.append(Slug(shape, _words(slug), len(slug), weight))
    return habit


def _usual_words(slugs: list[Slug]) -> int:
    """The word count that nine in ten of the slugs (by weight) stay within."""
    total, weight = sum(s.weight for s in slugs), 0.0
    for slug in sorted(slugs, key=lambda s: len(s.words)):
        weight += slug.weight
        if weight >= USUAL * total - 1e-9:  # nine of ten equal weights is nine in ten
            return len(slug.words)
    return max(len(s.words) for s in slugs)


def _kept_words(slugs: list[Slug]) -> frozenset[str]:
    """The classes of small words the team writes: those in at least one slug in ten (by weight)."""
    total = sum(s.weight for s in slugs)
    return frozenset(kind for kind in set(SMALL_WORDS.values())
                     if sum(s.weight for s in slugs if any(SMALL_WORDS.get(w) == kind for w in s.words))
                     >= KEPT_SHARE * total)


@dataclass(frozen=True)
class SlugHabit:
    """How long the team's slugs are and which small words stay in them."""

    words: int = DEFAULT_WORDS  # a longer title is cut to this many words
    chars: int = SLUG_MAX
    kept: frozenset[str] = frozenset()  # classes of SMALL_WORDS the team writes: "articles", "links"
    seen: int = 0  # slugs it was learned from

    @classmethod
    def of(cls, slugs: list[Slug], shape: Shape) -> SlugHabit:
        """From the slugs of the habit followed (all of them when it has too few to say)."""
        own = [s for s in slugs if s.shape == shape]
        slugs = own if len(own) >= 3 else slugs
        if not slugs:
            return cls()
        return cls(words=max(MIN_WORDS, min(_usual_words(slugs), MAX_WORDS)), kept=_kept_words(slugs),
                   chars=max(SLUG_MAX, min(max(s.chars for s in slugs), LONG_SLUG_MAX)), seen=len(slugs))

    def explain(self, sep: str, case: str) -> str:
        length = (f"the whole title up to {self.words} words (9 in 10 of the team's {self.seen} slugs are no longer)"
                  if self.seen else f"the title's first {self.words} words (podium's default)")
        joined = "" if case in ("camel", "pascal") else f", joined by {sep!r}"
        cases = {"keep": "case kept", "camel": "camelCase", "pascal": "PascalCase"}
        small = {frozenset(): "small words ('the', 'to', 'for') dropped",
                 frozenset({"links"}): "'to', 'for', 'in' kept but 'a', 'the' dropped",
                 frozenset({"articles"}): "'a', 'the' kept but 'to', 'for', 'in' dropped"}.get(
                     self.kept, "small words ('the', 'to', 'for') kept")
        told = ", as in the team's slugs" if self.seen else ""
        return f"slugs: {length}{joined}, {cases.get(case, 'lower case')}; {small}{told}"


def _slug(text: str, sep: str, case: str, slugs: SlugHabit) -> str:
    """The title's words the team would keep: the whole title when it fits the team's usual length, else as many
    words as that; at most the team's longest slug in characters, each word at most ``WORD_MAX`` (a URL or a hash
    at the start of a title is one very long word)."""
    tokens = re.findall(r"[A-Za-z0-9]+", text)
    tokens = [t for t in tokens if SMALL_WORDS.get(t.lower(), "kept") in slugs.kept | {"kept"}] or tokens
    tokens = [t[:WORD_MAX] if case == "keep" else t[:WORD_MAX].lower() for t in tokens] or ["task"]
    if case in ("camel", "pascal"):
        tokens = [t if i == 0 and case == "camel" else t.capitalize() for i, t in enumerate(tokens)]
        sep = ""
    cut = tokens[:slugs.words]
    while len(sep.join(cut)) > slugs.chars and len(cut) > 1:
        cut.pop()
    while len(cut) < len(tokens) and len(cut) > 1 and cut[-1].lower() in SMALL_WORDS:
        cut.pop()  # cut short, a slug does not end on "to" or "the"
    return sep.join(cut)[:slugs.chars]


def _ticket_text(style: str, ticket: str, keys: Counter[str], prefix: str) -> str:
    number = re.sub(r"\D", "", ticket) or ticket
    key = re.match(r"^([A-Za-z][A-Za-z0-9]+)-\d+$", ticket)
    if key and prefix.lower().endswith((key.group(1).lower() + "-", key.group(1).lower() + "_")):
        return number  # the team writes the key itself, in its own case: shop-7-…
    if style in ("jira", "lead", "trail") and key:
        return ticket.upper()  # a project key is part of the id: SHOP-7, never a bare 7
    if style == "jira":
        return f"{keys.most_common(1)[0][0]}-{number}" if keys and number.isdigit() else number
    return {"ab": f"AB#{number}", "hash": f"#{number}"}.get(style, number)


def _fill(name: str, now: float) -> str:
    return _DATE_FIELD.sub(lambda m: time.strftime(m.group(1), time.localtime(now)), name)


def propose(
    habit: Habit,
    *,
    title: str,
    ticket: str | None = None,
    kind: str | None = None,
    user: str | None = None,
    initials: str | None = None,
    now: float | None = None,
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
    slugs = SlugHabit.of(habit.slugs, shape)
    evidence.append(slugs.explain(shape.sep, shape.case))
    kind_name = TYPE_KIND.get((kind or "").lower(), "bug" if re.search(r"\b(fix|bug|crash|broken|error)\b",
                                                                     title, re.I) else "feature")
    prefix = shape.prefix
    if "{kind}" in prefix:  # "Fix the crash" under fix/ is fix/crash-…, not fix/fix-crash-…
        title = re.sub(r"^\s*(\w+)\W*", lambda m: "" if m.group(1).lower() in KIND_WORDS else m.group(0), title)
        used, end = habit.kinds.get(kind_name), prefix[prefix.index("{kind}") + len("{kind}")]
        if used:
            word = used.most_common(1)[0][0]
            evidence.append(f"{kind_name} work goes under {word}{end} ({', '.join(used)} seen)")
        else:
            word = {"bug": "bugfix", "feature": "feature"}.get(kind_name, kind_name)
            if habit.kinds:
                evidence.append(f"no {kind_name} branches yet; using {word}{end} beside {', '.join(habit.kinds)}")
        prefix = prefix.replace("{kind}", word)
    if "{user}" in prefix:
        who = user or (habit.users.most_common(1)[0][0] if habit.users else "me")
        evidence.append(f"personal branches live under {prefix.split('{user}')[0]}{who}/")
        prefix = prefix.replace("{user}", who)
    if "{initials}" in prefix:
        prefix = prefix.replace("{initials}", initials or "me")
    slug = _slug(title, shape.sep, shape.case, slugs)
    if ticket and shape.ticket != "none":
        text = _ticket_text(shape.ticket, ticket, habit.keys, prefix)
        leaf = f"{slug}{shape.sep}{text}" if shape.ticket == "trail" else f"{text}{shape.sep}{slug}"
        evidence.append(f"ticket ids are written as {describe_shape(shape)}")
    else:
        leaf = slug
        if ticket:
            evidence.append("the team's branches carry no ticket id; neither does this one")
    return Proposal(name=_fill(prefix + leaf + shape.suffix, time.time() if now is None else now),
                    evidence=evidence)


def describe_shape(shape: Shape) -> str:
    leaf = {"jira": "PROJ-42-slug", "ab": "AB#1234-slug", "hash": "#123-slug", "lead": "1234-slug",
            "trail": "slug-1234", "none": "slug"}[shape.ticket]
    if shape.sep == "_":
        leaf = leaf.replace("-slug", "_slug").replace("slug-", "slug_")
    if shape.case in ("camel", "pascal"):
        leaf = leaf.replace("slug", "someSlug" if shape.case == "camel" else "SomeSlug")
    text = f"{shape.prefix}{leaf}{shape.suffix}"
    return _DATE_FIELD.sub(lambda m: m.group(1).replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD"), text)


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
        """What may stand for the user in a branch name: the name, the initials, the spellings of the name."""
        return {t for t in (self.name, self.initials, *self.spellings) if t}


def render_template(template: str, *, title: str, ticket: str | None, kind: str | None, me: Me) -> str:
    """A pinned ``[branches] template`` such as ``"feature/{ticket}-{slug}"`` filled in."""
    kind_name = TYPE_KIND.get((kind or "").lower(), "feature")
    values = {"slug": _slug(title, "-", "lower", SlugHabit(words=5)), "ticket": ticket or "", "kind": kind_name,
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
