"""The node answers only to its own names: a request whose ``Host`` header is not one of
``Settings.allowed_host_names()`` gets ``400 bad_host`` before any route runs.

Links and QR codes never come from the request (they come from ``LEDGER_PUBLIC_URL``); this
check is the second wall, so that a node reached under a name nobody configured (a forged
``Host``, DNS rebinding) serves nothing, signed reports least of all.
"""

from __future__ import annotations

from collections.abc import Collection

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ledger.errors import InvalidInput

MAX_SHOWN = 80  # characters of a refused Host header quoted back in the message


def host_allowed(host: str, allowed: Collection[str]) -> bool:
    """Whether a ``Host`` header value names this node: listed as it is (host:port), or its
    host alone is listed (any port)."""
    name = host.strip().lower()
    if not name:
        return False
    if name.startswith("["):
        bare = name[: name.find("]") + 1] if "]" in name else name
    else:
        bare = name.rsplit(":", 1)[0]
    return name in allowed or bare in allowed


class AllowedHostsMiddleware:
    """Plain ASGI: refuses an HTTP request whose single ``Host`` header is not allowed (a
    missing or repeated ``Host`` is refused too). The node serves no websockets."""

    def __init__(self, app: ASGIApp, allowed: Collection[str]) -> None:
        self.app = app
        self.allowed = frozenset(allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hosts = [v.decode("latin-1") for k, v in scope["headers"] if k == b"host"]
        if len(hosts) == 1 and host_allowed(hosts[0], self.allowed):
            await self.app(scope, receive, send)
            return
        shown = hosts[0][:MAX_SHOWN] if len(hosts) == 1 else f"{len(hosts)} Host headers"
        refusal = InvalidInput(
            f"this node does not answer to the host {shown!r}; ask it under its public "
            "name (LEDGER_PUBLIC_URL, LEDGER_ALLOWED_HOSTS)",
            code="bad_host",
        )
        response = JSONResponse({"error": refusal.to_dict()}, status_code=400)
        await response(scope, receive, send)


def public_url(request: Request) -> str:
    """The node's configured public base URL (``Settings.public_base_url()``), without a
    trailing slash: what every link and QR code in signed content starts with."""
    url: str = request.app.state.public_url
    return url
