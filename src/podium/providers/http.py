"""One HTTP client for every provider: timeouts, rate limits and refusals turned into one-line errors.

Credentials go in the client's headers and nowhere else: no error message, log or
snapshot ever carries them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from podium.providers import ProviderError

MAX_WAIT = 30.0  # a rate limit that lifts within this many seconds is waited out, twice at most
ATTEMPTS = 3


class NotFound(ProviderError):
    exit_code = 2


class Api:
    def __init__(self, service: str, base_url: str, headers: dict[str, str], *, auth_hint: str,
                 timeout: float = 30.0, max_wait: float = MAX_WAIT,
                 auth_failed: Callable[[httpx.Response], bool] | None = None):
        self.service = service
        self.auth_failed = auth_failed or (lambda r: r.status_code == 401)
        self.base_url = base_url.rstrip("/")
        self.auth_hint = auth_hint
        self.max_wait = max_wait
        self.client = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout, follow_redirects=True)

    def request(self, method: str, path: str, *, json: Any = None, params: dict[str, Any] | None = None,
                content: bytes | None = None, headers: dict[str, str] | None = None,
                files: dict[str, tuple[str, bytes, str]] | None = None) -> Any:
        """The service's JSON answer (None when empty); ``files`` go as a multipart form (name, bytes, type)."""
        for attempt in range(ATTEMPTS):
            try:
                response = self.client.request(method, path, json=json, params=params, content=content,
                                               headers=headers, files=files)
            except httpx.TransportError as e:
                reason = str(e) or type(e).__name__
                raise ProviderError(f"cannot reach {self.service} at {self.base_url}: {reason}") from None
            code = response.status_code
            if code == 429 or (code == 403 and response.headers.get("x-ratelimit-remaining") == "0"):
                wait = _retry_after(response)
                if wait is not None and wait <= self.max_wait and attempt + 1 < ATTEMPTS:
                    time.sleep(wait)
                    continue
                when = f"; try again in {wait:.0f}s" if wait is not None else ""
                raise ProviderError(f"{self.service} rate limit reached{when}")
            if 200 <= code < 300:
                if not response.content:
                    return None
                try:
                    return response.json()
                except ValueError:
                    raise ProviderError(f"{self.service} answered {method} {path} with something not JSON") from None
            message = _message(response)
            if self.auth_failed(response):
                raise ProviderError(f"{self.service} rejected the credentials (expired or revoked?): {self.auth_hint}")
            if code == 403:
                raise ProviderError(f"{self.service} refused {method} {path}: no permission{message}")
            if code == 404:
                raise NotFound(f"{self.service} has no {path}{message}")
            raise ProviderError(f"{self.service} answered {code} to {method} {path}{message}")
        raise ProviderError(f"{self.service} rate limit reached")  # not reached: the loop returns or raises

    def close(self) -> None:
        self.client.close()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value and value.strip().isdigit():
        return float(value)
    reset = response.headers.get("x-ratelimit-reset")
    if reset and reset.isdigit():
        return max(0.0, float(reset) - time.time())
    return None


def _message(response: httpx.Response) -> str:
    """The service's own words, when it gave some (first line, bounded)."""
    try:
        data = response.json()
    except ValueError:
        return ""
    text = None
    if isinstance(data, dict):  # {"message"}, GraphQL {"errors": [{"message"}]}, Jira {"errorMessages": [...]}
        errors = data.get("errors") if isinstance(data.get("errors"), list) else []
        first = errors[0] if errors and isinstance(errors[0], dict) else {}
        text = data.get("message") or first.get("message") or (data.get("errorMessages") or [None])[0]
    return f" ({str(text).splitlines()[0][:200]})" if text else ""
