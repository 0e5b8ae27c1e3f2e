"""Small words for people: counts with the right plural, text clipped to fit a line."""

from __future__ import annotations

from dataclasses import dataclass

IRREGULAR = {"reply": "replies", "interrupt": "interruptions"}


def plural(n: int, word: str, many: str | None = None) -> str:
    """``1 file``, ``2 files``, ``0 files`` (``many`` for words that do not just take an s)."""
    return f"{n} {word if n == 1 else (many or IRREGULAR.get(word) or word + 's')}"


def clip(text: str, limit: int) -> str:
    """``text`` on one line (whitespace folded), cut to ``limit`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def one_line(text: str, limit: int = 120) -> str:
    """The first line of ``text``, cut to ``limit`` characters; an ellipsis says when there was more."""
    first, _, rest = text.strip().partition("\n")
    if rest or len(first) > limit:
        return first[: limit - 1] + "…"
    return first


def verdict_word(passed: bool | None) -> str:
    """A test verdict in one word, the same everywhere it is shown: ``passed``, ``FAILED`` or ``unknown``."""
    return {True: "passed", False: "FAILED", None: "unknown"}[passed]


def human_duration(seconds: float) -> str:
    """``42s``, ``3m07s``, ``5h02m``."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


@dataclass(frozen=True)
class Note:
    """Something a front tells its reader about what an operation did (``kind`` says what, for a front that
    shows some notes differently — never a string to parse back): ``queued``, ``stale_base``, ``branch``,
    ``ticket``, ``agent`` (what the adapter decided), ``session``, ``retry`` (a lost job run again),
    ``stall_retry`` (a stalled job resumed by podium), ``work``, ``superseded`` (the older gates a newer request
    replaced)."""

    kind: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "text": self.text}


def note_events(notes: list[Note]) -> list[tuple[str, dict[str, str]]]:
    """Notes as a job's ``note`` events (``message`` is what every reader of the log shows)."""
    return [("note", {"message": n.text, "kind": n.kind}) for n in notes]
