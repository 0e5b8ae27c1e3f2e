"""Credentials kept out of everything podium writes or sends, and held at the gate when a change adds one.

Two kinds of secret are known. The environment's credentials, by the variable's name (``*TOKEN*``, ``*PAT*``,
``*SECRET*``, ``*PASSWORD*``, ``*_KEY``, webhooks, ...) and the password of any URL with userinfo
(``DATABASE_URL``): their exact values, also as JSON writes them. And the token formats of the common services
(GitHub, GitLab, Azure DevOps, Atlassian, Slack, OpenAI, Anthropic, AWS, Google, npm, PyPI, Stripe, private
keys, ...), wherever they appear. ``Redactor`` replaces both in a text (the agent's log lines, events,
summaries, gate text, commit messages, PR bodies), one literal-led expression at a time; ``scan`` finds them
in the lines a diff adds, named by file and line, so the gate can hold such a change the way a forge's push
protection does.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache

MASK = "[redacted]"
SECRET_NAME = re.compile(
    r"(^|_)KEYS?(_|$)|APIKEY|TOKEN|SECRET|PASSW(OR)?D|PASSPHRASE|CREDENTIAL|(^|_)AUTH(_|$)|(^|_)PAT(_|$)|"
    r"WEBHOOK|(^|_)DSN(_|$)|PRIVATE",
    re.IGNORECASE,
)
MIN_SECRET = 8
WORDLIKE = 16  # letters-only values shorter than this are words, not secrets

# The formats a token has wherever it appears: (kind, pattern). Each starts with a literal, which the regular
# expression engine finds as fast as a substring; character classes stop at quotes and backslashes, so a token
# inside a JSON string is replaced without breaking the JSON around it. (Azure DevOps' classic 52-character
# tokens have no format of their own: they are found by the variable's name, ``AZURE_DEVOPS_EXT_PAT``.)
TOKEN_FORMATS: list[tuple[str, str]] = [
    ("GitHub token", r"gh[pousr]_[A-Za-z0-9]{30,}"),
    ("GitHub token", r"github_pat_[A-Za-z0-9_]{40,}"),
    ("GitLab token", r"gl(?:pat|dt|rt|ptt|cbt|soat|ft|imt)-[A-Za-z0-9_\-]{20,}"),
    ("Anthropic key", r"sk-ant-[A-Za-z0-9_\-]{20,}"),
    ("OpenAI key", r"sk-(?!ant-)(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),
    ("Slack token", r"xox[abposre]-[A-Za-z0-9\-]{10,}"),
    ("Slack webhook", r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/\-]{20,}"),
    ("AWS access key", r"A(?:KIA|SIA)[0-9A-Z]{16}(?![0-9A-Z])"),
    ("Google API key", r"AIza[0-9A-Za-z_\-]{35}"),
    ("Google OAuth token", r"ya29\.[0-9A-Za-z_\-]{20,}"),
    ("Linear key", r"lin_(?:api|oauth)_[A-Za-z0-9]{30,}"),
    ("Atlassian token", r"ATATT[A-Za-z0-9_\-=]{30,}"),
    ("Azure DevOps token", r"AZDO[A-Za-z0-9]{4}(?![A-Za-z0-9])"),  # the signature ends it: AZURE_TOKEN
    ("npm token", r"npm_[A-Za-z0-9]{36}"),
    ("PyPI token", r"pypi-AgE[A-Za-z0-9_\-]{50,}"),
    ("Stripe key", r"[rs]k_(?:live|test)_[A-Za-z0-9]{20,}"),
    ("Hugging Face token", r"hf_[A-Za-z0-9]{30,}"),
    ("JSON web token", r"eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"),
    ("private key", r"-----BEGIN [A-Z ]*PRIVATE KEY-----[^\"]*?-----END [A-Z ]*PRIVATE KEY-----"),
]
# Azure DevOps' tokens: 76 characters, the signature AZDO, 4 more. Searched for only where AZDO appears.
AZURE_TOKEN = r"(?<![A-Za-z0-9])[A-Za-z0-9]{76}AZDO[A-Za-z0-9]{4}(?![A-Za-z0-9])"
# What only reads as a secret in context: its value is redacted, what names it (``keep``) stays; not held at the
# gate (test fixtures are full of them). Matched in the lower-cased text, each from its literal keyword.
_VALUE = r"(?=[^\s'\"\\,;)\]}]*[^\d\s'\"\\,;)\]}])[^\s'\"\\,;)\]}]{8,}"  # not a number (token counts)
_ASSIGNED = r"[\w-]*(?:\\?[\"'])?\s*[:=]\s*(?:\\?[\"'])?"
CONTEXT_FORMATS: list[tuple[str, str]] = [  # (its keyword, the expression)
    *((word, rf"(?P<keep>{word}\s+)(?=[a-z0-9_\-.=+/]*\d)[a-z0-9_\-.=+/]{{16,}}")  # a digit in it: not a word
      for word in ("bearer", "basic", "token")),
    *((word, rf"(?P<keep>{word}{_ASSIGNED}){_VALUE}")
      for word in ("password", "passwd", "secret", "token", "api_key", "api-key", "apikey", "access_key",
                   "access-key")),
]
USERINFO = r"(://[^/\s:@\"'\\]+:)[^/\s@\"'\\]{3,}(?=@)"  # user:password@ in URLs: the user stays


def _lead(pattern: str) -> str:
    """The literal a token format starts with, up to its first special character: a text without it holds no
    match (``""`` when the format starts with a class)."""
    end = 0
    while end < len(pattern) and (pattern[end].isalnum() or pattern[end] in "_- "):
        end += 1
    return pattern[:end]


# Each expression is compiled the first time a text holds its literal: most texts hold none, and compiling them
# all would cost every process that writes an event ~10 ms (a delegation, before its agent can start).
_TOKENS = [(_lead(p), p) for _, p in TOKEN_FORMATS if not p.startswith("AZDO")]
_KINDS = [(kind, _lead(p), p) for kind, p in TOKEN_FORMATS if kind not in ("private key", "Azure DevOps token")] + [
    ("Azure DevOps token", "AZDO", AZURE_TOKEN),
    ("private key", "-----BEGIN ", r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),  # at the gate, line by line
]


@cache
def _pattern(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """Values of the environment's credentials, longest first: each variable named like one, and the password of
    every URL with userinfo (``DATABASE_URL=postgres://app:pw@db/app``).

    Not a value shorter than 8 characters, nor one that reads as a word (letters only, shorter than 16:
    ``scripted``, ``changeme``): masking those would blot ordinary words out of every log, and a real
    credential is longer or mixes in digits and symbols. The token formats catch short ones in context."""
    found: set[str] = set()
    for name, value in environ.items():
        if SECRET_NAME.search(name):
            found.add(value)
        if "://" in value and "@" in value:
            found.add(_url_password(value))
    return sorted((v for v in found if len(v) >= MIN_SECRET and not _wordlike(v)), key=len, reverse=True)


def _url_password(value: str) -> str:
    try:
        from urllib.parse import urlsplit

        return urlsplit(value.strip()).password or ""
    except ValueError:
        return ""


def _wordlike(value: str) -> bool:
    return len(value) < WORDLIKE and value.isalpha()


class Redactor:
    """Replaces every known credential in a text with ``[redacted]``: the given values (as written and as JSON
    escapes them), every token format, URL passwords, and values assigned to names like ``password``."""

    def __init__(self, values: Iterable[str] = ()):
        variants: set[str] = set()
        for value in values:
            if value:
                variants.add(value)
                variants.add(json.dumps(value)[1:-1])  # the value inside a JSON string (the agents' streams)
        self.values = sorted(variants, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        if not text:
            return text
        for value in self.values:
            if value in text:
                text = text.replace(value, MASK)
        for lead, pattern in _TOKENS:
            if lead in text:
                text = _pattern(pattern).sub(MASK, text)
        if "AZDO" in text:
            text = _pattern(AZURE_TOKEN).sub(MASK, text)
        if "://" in text:
            text = _pattern(USERINFO).sub(rf"\1{MASK}", text)
        return _in_context(text, text.lower())

    def data(self, value: object) -> object:
        """A JSON-like value with every string in it redacted."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value


def _in_context(text: str, lower: str) -> str:
    """``text`` with the values its credential names assign masked, found in its lower-cased copy."""
    words, flags = lower, 0
    if len(lower) != len(text):  # a character whose lower case is longer: match the text itself, ignoring case
        lower, flags = text, re.IGNORECASE
    patterns = [_pattern(p, flags) for word, p in CONTEXT_FORMATS if word in words]
    spans = sorted((m.end("keep"), m.end()) for p in patterns for m in p.finditer(lower))
    if not spans:
        return text
    out, at = [], 0
    for start, end in spans:
        if start < at:  # overlaps the value masked before it: mask on to its end
            at = max(at, end)
            continue
        out += [text[at:start], MASK]
        at = end
    out.append(text[at:])
    return "".join(out)


@lru_cache(maxsize=8)
def _redactor(values: tuple[str, ...]) -> Redactor:
    return Redactor(values)


def for_environment(environ: Mapping[str, str] | None = None) -> Redactor:
    """The redactor for an environment's credentials (this process's by default) and every token format."""
    return _redactor(tuple(secret_values(os.environ if environ is None else environ)))


def redact(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with this process's credentials, ``extra`` values and every token format replaced."""
    values = secret_values(os.environ)
    extra = [v for v in extra if v]
    return _redactor(tuple(values + extra))(text)


@dataclass(frozen=True)
class Finding:
    """A line a change adds that holds what looks like a credential."""

    path: str
    line: int
    kind: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} ({self.kind})"


def scan(diff: str, values: Iterable[str] = ()) -> list[Finding]:
    """The credentials in the lines ``diff`` adds (``git diff -U0``'s text): token formats, and ``values`` (the
    environment's secrets) found verbatim. A file's first finding of each kind only, the way push protection
    names them."""
    values = [v for v in values if v]
    found: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for path, number, text in _added_lines(diff):
        kinds: list[str] = []
        kinds += [kind for kind, lead, pattern in _KINDS if lead in text and _pattern(pattern).search(text)]
        kinds += ["credential from your environment" for v in values if v in text][:1]
        for kind in kinds:
            if (path, kind) not in seen:
                seen.add((path, kind))
                found.append(Finding(path, number, kind))
    return found


def _added_lines(diff: str) -> Iterator[tuple[str, int, str]]:
    path, number = "", 0
    for line in diff.splitlines():
        if line.startswith("+++ "):
            target = line[4:]
            path = target[2:] if target.startswith("b/") else target
        elif line.startswith("@@"):
            match = re.match(r"@@ -\S+ \+(\d+)", line)
            number = int(match.group(1)) if match else 0
        elif line.startswith("+"):
            yield path, number, line[1:]
            number += 1
