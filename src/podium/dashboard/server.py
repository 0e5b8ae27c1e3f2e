"""Starting the dashboard: the socket, the token, the URL, the server."""

from __future__ import annotations

import contextlib
import secrets
import socket
import sys
import webbrowser
from collections.abc import Callable
from pathlib import Path

from podium.dashboard.access import Access, is_loopback, read_token_file
from podium.errors import UsageError

DEFAULT_PORT = 7420


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
    """Serve the dashboard for the repository at ``root`` until interrupted, its address (not its token)
    published in the repository's podium state meanwhile (``address``)."""
    import uvicorn

    from podium.dashboard.address import published
    from podium.dashboard.app import build
    from podium.git import Repo

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
    config = uvicorn.Config(app, log_level="warning", access_log=False,  # the first URL carries the token
                            timeout_graceful_shutdown=2, lifespan="on")
    with published(Repo.find(root).state_dir, access.url().rstrip("/")), \
            contextlib.suppress(KeyboardInterrupt):  # uvicorn shut down cleanly, then passed Ctrl-C on
        echo(f"podium dashboard: {url}")
        echo("(Ctrl-C stops it; the link holds until then)")
        if open_browser:
            webbrowser.open(url)
        uvicorn.Server(config).run(sockets=[sock])
