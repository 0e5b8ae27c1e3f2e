"""Starting the dashboard: the socket, the token, the URL, and who may talk to it (``Access``)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import secrets
import socket
import sys
import webbrowser
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from podium.errors import UsageError

DEFAULT_PORT = 7420
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


def bind(host: str, port: int | None) -> socket.socket:
    """A listening socket on ``host``: ``port``, or 7420 and else any free port when none was asked for."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    wanted = [port] if port is not None else [DEFAULT_PORT, 0]
    last: OSError | None = None
    for p in wanted:
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip("[]"), p))
        except OSError as e:
            sock.close()
            last = e
            continue
        sock.listen(128)
        sock.set_inheritable(True)
        return sock
    if port is not None and last is not None and last.errno == 98:
        raise UsageError(f"port {port} is in use (podium dashboard --port N picks another; 0: any free one)")
    raise UsageError(f"cannot listen on {host}:{port}: {last.strerror if last else 'unknown error'}")


def serve(root: Path, *, host: str = "127.0.0.1", port: int | None = None, open_browser: bool = True,
          token_file: str | None = None, echo: Callable[[str], None] = print) -> None:
    """Serve the dashboard for the repository at ``root`` until interrupted."""
    import uvicorn

    from podium.dashboard.app import build

    host = host.strip()
    if not is_loopback(host) and not token_file:
        raise UsageError(f"--host {host} lets other machines reach the dashboard: give --token-file with a "
                         "token you keep secret (or leave --host out: 127.0.0.1)")
    token = read_token_file(token_file) if token_file else secrets.token_urlsafe(24)
    sock = bind(host, port)
    if not is_loopback(host):
        print(f"podium: warning: the dashboard listens on {host}, not only this machine; anyone who can reach it "
              "and holds the token can approve your gates", file=sys.stderr)
    access = Access(token=token, host=host, port=sock.getsockname()[1])
    app = build(root, access)
    url = access.url(f"/?token={token}")
    echo(f"podium dashboard: {url}")
    echo("(Ctrl-C stops it; the link holds until then)")
    if open_browser:
        webbrowser.open(url)
    config = uvicorn.Config(app, log_level="warning", access_log=False,  # the first URL carries the token
                            timeout_graceful_shutdown=2, lifespan="on")
    with contextlib.suppress(KeyboardInterrupt):  # uvicorn shut down cleanly, then passed Ctrl-C on
        uvicorn.Server(config).run(sockets=[sock])
