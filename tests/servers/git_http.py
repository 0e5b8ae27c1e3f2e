"""A git host on loopback: the bare repositories under a folder, cloned over git's smart HTTP protocol (``git
http-backend``, the CGI program every git ships), as ``https://`` URLs of a forge are."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from servers import JsonHandler, LocalServer


class _Handler(JsonHandler):
    state: GitHttpServer

    def do_GET(self) -> None:
        self.backend()

    def do_POST(self) -> None:
        self.backend()

    def backend(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path, _, query = self.path.partition("?")
        cgi = {"GIT_PROJECT_ROOT": str(self.state.root), "GIT_HTTP_EXPORT_ALL": "1", "PATH_INFO": path,
               "QUERY_STRING": query, "REQUEST_METHOD": self.command, "REMOTE_ADDR": "127.0.0.1",
               "CONTENT_TYPE": self.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(body)),
               "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
               "HTTP_GIT_PROTOCOL": self.headers.get("Git-Protocol", "")}
        out = subprocess.run(["git", "http-backend"], input=body, env={**os.environ, **cgi}, capture_output=True,
                             timeout=60).stdout
        head, _, payload = out.partition(b"\r\n\r\n")  # the CGI's headers, then the body
        status, headers = 200, []
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            else:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class GitHttpServer(LocalServer):
    """Serves ``root``'s bare repositories: ``{url}/name.git`` clones ``root/name.git``."""

    def __init__(self, root: Path):
        self.root = root
        self.serve(_Handler)
