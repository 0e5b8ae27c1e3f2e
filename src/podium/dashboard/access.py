"""Who may use the dashboard: the holder of one start's token, through the address it listens on."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import socket
from dataclasses import dataclass, field
from pathlib import Path

from podium.errors import UsageError

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1", "[::1]")
MIN_TOKEN = 16


def is_loopback(host: str) -> bool:
    if host in ("localhost", "[::1]"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Access:
    """Who may use this dashboard: the holder of this start's token, through the bound address only.

    ``hosts`` are the ``Host`` header values a browser sends for the bound address (others are a DNS
    rebinding attempt); ``origin`` is what a same-origin request's ``Origin`` header says."""

    token: str
    host: str
    port: int
    hosts: frozenset[str] = field(init=False)
    origins: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        names = {self.host, *(LOOPBACK_NAMES if is_loopback(self.host) or self.wildcard else ())}
        if self.wildcard:  # every address of this machine, by name and number
            names |= {socket.gethostname(), socket.getfqdn()}
            with contextlib.suppress(OSError):
                names |= {str(a[4][0]) for a in socket.getaddrinfo(socket.gethostname(), None)}
        shown = [f"[{n}]" if ":" in n and not n.startswith("[") else n for n in names]
        self.hosts = frozenset(f"{n}:{self.port}" for n in shown)
        self.origins = frozenset(f"http://{h}" for h in self.hosts)

    @property
    def cookie(self) -> str:
        return f"podium_{self.port}"  # cookies ignore ports: two dashboards on one machine keep apart

    @property
    def csrf(self) -> str:
        """The token forms carry: derived from this start's token, useless without the cookie."""
        return hmac.new(self.token.encode(), b"csrf", hashlib.sha256).hexdigest()

    @property
    def wildcard(self) -> bool:
        return self.host in ("0.0.0.0", "::", "[::]")

    def url(self, path: str = "/") -> str:
        host = socket.gethostname() if self.wildcard else f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}{path}"

    def token_ok(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), self.token.encode())  # type: ignore[union-attr]

    def csrf_ok(self, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), self.csrf.encode())  # type: ignore[union-attr]


def read_token_file(path: str) -> str:
    try:
        token = Path(path).read_text().strip()
    except OSError as e:
        raise UsageError(f"cannot read the token file {path}: {e.strerror or e}") from None
    if len(token) < MIN_TOKEN or any(c.isspace() for c in token):
        raise UsageError(f"the token in {path} must be one word of at least {MIN_TOKEN} characters")
    return token
