"""``podium dashboard``: the same picture as ``podium status``, ``logs`` and ``gates``, live in a browser.

A third front on the service layer (``podium.service``): every page is an operation's result rendered as HTML on
the server, kept live by server-sent events; Approve and Reject call the very operations ``podium approve`` and
``podium reject`` call, with the channel ``dashboard`` recorded.

Who may use it: the server binds loopback unless told otherwise; a random token made at start (never written
to disk, never put in an environment) rides in the printed URL once and then in an HttpOnly SameSite=Strict
cookie; a request whose ``Host`` is not the bound address is refused (DNS rebinding); every request that
changes something needs the page's CSRF token and a same-origin ``Origin``.
"""

from __future__ import annotations

from podium.dashboard.access import Access
from podium.dashboard.server import serve

__all__ = ["Access", "serve"]
