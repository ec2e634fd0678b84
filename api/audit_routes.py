"""Auditor tools over HTTP: the streamed export and the read-access log (docs/access.md).

Every request authenticated by ``api.domain_support.authenticate_request`` leaves the read it
makes in the request scope; :class:`AccessLogMiddleware` appends it to the hash-chained
access log when the response starts with a status below 400, before any byte of the record
leaves the node. If the entry cannot be written the client gets a 500 and not the record.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.responses import StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.domain_support import ACCESS_READ, authenticated, node_of, require_roles
from api.routes import signing_identity
from ledger.access_log import head_body, sign_head
from ledger.canonical import MAX_SAFE_INTEGER
from ledger.domains.member.state import MemberRecord
from ledger.errors import NotFound, StorageError
from ledger.export import AUDIT_ROLES, MEDIA_TYPES, ExportQuery, encode, export_records
from ledger.node import Node

router = APIRouter(tags=["audit"])


class AccessLogMiddleware:
    """Appends the read an authenticated request made once its response succeeds."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                read = scope.get(ACCESS_READ)
                if read is not None:
                    node: Node = scope["app"].state.runtime.node
                    await asyncio.to_thread(
                        node.store.access_log_append, at_ms=node.clock(), **read
                    )
            await send(message)

        await self.app(scope, receive, send_logged)


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.add_middleware(AccessLogMiddleware)


@router.get("/v1/export")
async def export(
    request: Request,
    requester: MemberRecord = Depends(authenticated),
    member: str | None = Query(default=None, min_length=1, max_length=128),
    domain: str | None = Query(default=None, min_length=1, max_length=64),
    from_ms: int | None = Query(default=None, ge=0, le=MAX_SAFE_INTEGER),
    to_ms: int | None = Query(default=None, ge=0, le=MAX_SAFE_INTEGER),
    format: str = Query(default="jsonl", max_length=16),
) -> StreamingResponse:
    """Every transaction of a member or of a domain with ``from_ms <= timestamp < to_ms``,
    each with its receipt, streamed as JSON lines or CSV (restricted: auditors, governance,
    and a member for its own transactions)."""
    query = ExportQuery.parse(
        member=member, domain=domain, from_ms=from_ms, to_ms=to_ms, format=format
    )
    if query.member != requester.id:
        what = f"the export of {query.member}" if query.member else "a domain export"
        require_roles(requester, AUDIT_ROLES, what)
    node = node_of(request)
    if query.member is not None and query.member not in node.registry.members:
        raise NotFound(f"no member {query.member!r} on this ledger", code="unknown_member")
    log_size = node.tip.log_size
    records = export_records(
        node, query, log_size=log_size, page_size=node.settings.export_page_size
    )
    return StreamingResponse(
        encode(records, query.format),
        media_type=MEDIA_TYPES[query.format],
        headers={
            "Content-Disposition": f'attachment; filename="{query.filename()}"',
            "X-Ledger-Log-Size": str(log_size),
        },
    )


@router.get("/v1/access-log")
async def access_log(
    request: Request,
    requester: MemberRecord = Depends(authenticated),
    from_seq: int = Query(default=1, ge=1, le=MAX_SAFE_INTEGER),
    limit: int | None = Query(default=None, ge=1, le=MAX_SAFE_INTEGER),
) -> dict[str, Any]:
    """Entries ``from_seq`` on (at most ``limit``, capped by the node's
    ``access_log_max_page``) and the head signed by the node (restricted: auditors,
    governance). This request itself is logged after its head was taken."""
    require_roles(requester, AUDIT_ROLES, "the read-access log")
    node = node_of(request)
    cap = node.settings.access_log_max_page
    size = cap if limit is None else min(limit, cap)

    def read() -> tuple[tuple[int, str], list[dict[str, Any]]]:
        head = node.store.access_log_head()
        entries = node.store.access_log_entries(from_seq, size)
        return head, [e.to_wire() for e in entries if e.seq <= head[0]]

    (seq, entry_hash), entries = await asyncio.to_thread(read)
    signer = request.app.state.runtime.signer
    identity = await asyncio.to_thread(signing_identity, node, signer.public_key.hex)
    if identity is None:
        raise StorageError("this node's key is not a validator key of a set in effect")
    validator, history = identity
    head = head_body(node.genesis.chain_id, validator, seq, entry_hash, node.clock())
    return {
        "from_seq": from_seq,
        "limit": size,
        "entries": entries,
        "head": sign_head(head, signer, history),
    }
