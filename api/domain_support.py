"""What domain routes use: the node, signed-request authentication, receipts."""

from __future__ import annotations

from fastapi import Request

from ledger.node import Node
from ledger.request_auth import RequestVerifier, require_roles
from ledger.state import MemberRecord

__all__ = ["authenticated", "node_of", "require_roles"]


def node_of(request: Request) -> Node:
    node: Node = request.app.state.runtime.node
    return node


async def authenticated(request: Request) -> MemberRecord:
    """The member who signed this request (401 when unsigned or invalid)."""
    node = node_of(request)
    verifier: RequestVerifier = request.app.state.request_verifier
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    body = await request.body()
    headers = {k.lower(): v for k, v in request.headers.items()}
    return verifier.verify(node.registry, headers, request.method, path, body, node.clock())
