"""What routes use: the node, bounded request bodies, signed-request authentication."""

from __future__ import annotations

from fastapi import Request
from starlette.routing import Route

from ledger.domains.member.state import MemberRecord
from ledger.errors import TooLarge
from ledger.node import Node
from ledger.request_auth import RequestVerifier, require_roles

__all__ = [
    "ACCESS_READ",
    "authenticate_request",
    "authenticated",
    "node_of",
    "read_body",
    "require_roles",
]

# The scope key under which an authenticated request leaves the read it makes; the access
# log middleware (api/audit_routes.py) appends it when the response succeeds (status < 400).
ACCESS_READ = "ledger.access_read"


def node_of(request: Request) -> Node:
    node: Node = request.app.state.runtime.node
    return node


def authenticate_request(request: Request, body: bytes) -> MemberRecord:
    """The member who signed this request (401 when unsigned or invalid); its read is noted
    for the read-access log (docs/access.md)."""
    node = node_of(request)
    verifier: RequestVerifier = request.app.state.request_verifier
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    headers = {k.lower(): v for k, v in request.headers.items()}
    member = verifier.verify(node.registry, headers, request.method, path, body, node.clock())
    route = request.scope.get("route")
    template = route.path if isinstance(route, Route) else request.url.path
    request.scope[ACCESS_READ] = {
        "reader": member.id,
        "key_id": member.key_id,
        "action": f"{request.method} {template}",
        "resource": path,
    }
    return member


async def authenticated(request: Request) -> MemberRecord:
    """The member who signed this request (401 when unsigned or invalid); the body is read
    up to the node's request limit."""
    body = await read_body(request, node_of(request).settings.max_request_bytes)
    return authenticate_request(request, body)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it is known to exceed ``limit`` bytes: from
    ``Content-Length`` before reading, else while streaming; never read whole first."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"request body is {declared} bytes; the limit is {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"request body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
