"""Where a running dashboard answers, for podium's other fronts on the same repository: ``podium mcp`` offers a
client that can only open links (URL-mode elicitation) a gate's page there.

Only the address is published — ``dashboard.json`` in the repository's podium state, written while the
dashboard serves and removed when it stops — never the token: the human's browser holds that (the cookie the
printed link left). A file a killed dashboard left behind names an address where no dashboard answers: ignored.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

FILE = "dashboard.json"
ANSWER_WITHIN = 1.0  # seconds: a dashboard refuses a request without its token at once


@contextlib.contextmanager
def published(state: Path, url: str) -> Iterator[None]:
    """While the block runs, ``url`` (``http://host:port``) is where this repository's dashboard answers. The
    dashboard started last is the one offered; a stopping one removes the file only while it is still its own."""
    path = state / FILE
    mine = json.dumps({"url": url, "pid": os.getpid()})
    part = path.with_name(f".{FILE}.{os.getpid()}")
    part.write_text(mine)
    os.replace(part, path)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            if path.read_text() == mine:
                path.unlink()


def running(state: Path) -> str | None:
    """The address of the dashboard serving this repository now (``http://host:port``), or None: none is."""
    try:
        url = json.loads((state / FILE).read_text())["url"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return url if isinstance(url, str) and answers(url) else None


def answers(url: str) -> bool:
    """Whether a podium dashboard answers at ``url``: asked without its token, it refuses as only it does (a
    port reused by another program since is no dashboard)."""
    try:
        parts = urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=ANSWER_WITHIN)
    except ValueError:
        return False
    try:
        conn.request("GET", "/", headers={"host": parts.netloc})
        response = conn.getresponse()
        return response.status == 401 and response.read(100).startswith(b"podium: ")
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()
