"""The local tracker: tickets as markdown files in the repository, so everything works with no service at all.

``tickets/<ID>.md`` or ``tickets/<ID>-<slug>.md`` in the main checkout::

    ---
    title: Export fails for empty invoices
    type: bug
    state: New
    assignee:
    links: https://example.com/spec
    ---
    What happens, what should happen.

    ## Comments

    ### alice — 2026-11-20
    It started after the currency change.

Front-matter keys other than these become the ticket's fields. podium writes
``assignee``, ``state`` and new comments back into the file, keeping everything
else as it was.
"""

from __future__ import annotations

import getpass
import os
import re
import tempfile
import time
from pathlib import Path

from podium.git import Repo, git
from podium.providers import Comment, Ticket, TicketNotFound, main_checkout

CLOSED = {"closed", "done", "resolved", "removed", "cancelled", "canceled"}
KNOWN = {"title", "type", "state", "assignee", "assignees", "links", "url"}
_COMMENT_HEAD = re.compile(r"^### (.+?) (?:—|-) (.+)$")


class LocalTracker:
    name = "local"

    def __init__(self, checkout: Repo, path: str = "tickets", active: str = "Active", user: str | None = None):
        self.root = Path(main_checkout(checkout)) / path
        self.active = active
        self.user = user or git("config", "user.name", cwd=checkout.toplevel, check=False) or getpass.getuser()

    # -- reads --------------------------------------------------------------
    def _file(self, ticket_id: str) -> Path:
        wanted = ticket_id.strip().lstrip("#")
        if not wanted or "/" in wanted:
            raise TicketNotFound(f"not a ticket id: {ticket_id!r}")
        if self.root.is_dir():
            for path in sorted(self.root.glob("*.md")):
                stem = path.stem
                if stem.lower() == wanted.lower() or stem.lower().startswith(f"{wanted.lower()}-"):
                    return path
        raise TicketNotFound(f"no ticket {ticket_id} in {self.root} (a file {wanted}.md or {wanted}-<slug>.md)")

    def get(self, ticket_id: str) -> Ticket:
        path = self._file(ticket_id)
        meta, body = _split(path.read_text())
        description, _, rest = body.partition("\n## Comments\n")
        title = meta.get("title") or next(
            (ln[2:].strip() for ln in description.splitlines() if ln.startswith("# ")), path.stem)
        assignees = [a.strip() for a in (meta.get("assignees") or meta.get("assignee") or "").split(",") if a.strip()]
        links = [u.strip() for u in (meta.get("links") or "").split(",") if u.strip()]
        return Ticket(
            tracker=self.name, id=ticket_id.strip().lstrip("#"), title=title, kind=meta.get("type") or None,
            state=meta.get("state") or None, assignees=assignees, url=meta.get("url") or None,
            description=description.strip(), comments=_comments(rest), links=links,
            fields={k: v for k, v in meta.items() if k not in KNOWN and v},
            closed=(meta.get("state") or "").lower() in CLOSED,
        )

    def me(self) -> str:
        return self.user

    def is_active(self, ticket: Ticket) -> bool:
        return (ticket.state or "").lower() == self.active.lower()

    # -- writes -------------------------------------------------------------
    def assign_to_me(self, ticket: Ticket) -> Ticket:
        self._update(ticket.id, assignee=self.user)
        return self.get(ticket.id)

    def set_active(self, ticket: Ticket) -> Ticket:
        self._update(ticket.id, state=self.active)
        return self.get(ticket.id)

    def comment(self, ticket: Ticket, body: str) -> None:
        path = self._file(ticket.id)
        text = path.read_text()
        if "\n## Comments\n" not in text:
            text = text.rstrip("\n") + "\n\n## Comments\n"
        stamp = time.strftime("%Y-%m-%d %H:%M")
        _write(path, text.rstrip("\n") + f"\n\n### {self.user} — {stamp}\n{body.strip()}\n")

    def _update(self, ticket_id: str, **values: str) -> None:
        path = self._file(ticket_id)
        text = path.read_text()
        if not text.startswith("---\n"):
            text = "---\n---\n" + text
        head, sep, rest = text[4:].partition("\n---\n")
        if not sep:
            head, rest = head.rstrip("-\n"), ""
        lines = head.splitlines() if head else []
        if "assignee" in values:  # one spelling of the key in the file
            lines = [ln for ln in lines if not ln.lower().startswith("assignees:")]
        for key, value in values.items():
            for i, line in enumerate(lines):
                if line.split(":", 1)[0].strip().lower() == key:
                    lines[i] = f"{key}: {value}"
                    break
            else:
                lines.append(f"{key}: {value}")
        _write(path, "---\n" + "\n".join(lines) + "\n---\n" + rest)


def _split(text: str) -> tuple[dict[str, str], str]:
    """(front matter as key → value, the rest) of a ticket file."""
    if not text.startswith("---\n"):
        return {}, text
    head, sep, rest = text[4:].partition("\n---\n")
    if not sep:
        return {}, text
    meta = {}
    for line in head.splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            meta[key.strip().lower()] = value.strip()
    return meta, rest


def _comments(text: str) -> list[Comment]:
    comments: list[Comment] = []
    for line in text.splitlines():
        m = _COMMENT_HEAD.match(line)
        if m:
            comments.append(Comment(author=m.group(1).strip(), created=m.group(2).strip(), body=""))
        elif comments:
            comments[-1].body += line + "\n"
    for c in comments:
        c.body = c.body.strip()
    return comments


def _write(path: Path, text: str) -> None:
    """Replace the file in one step: an interrupted write never leaves half a ticket."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, path.stat().st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
