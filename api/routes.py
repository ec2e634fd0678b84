"""HTTP routes. Bodies of POST requests are read raw and parsed strictly (no floats, no
duplicate keys) before anything else sees them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api import schemas
from ledger.canonical import parse_json
from ledger.errors import MalformedData, TooLarge, Unavailable
from ledger.node import Node

router = APIRouter()
MAX_INT64 = 2**63 - 1
TX_ID = Path(pattern="^[0-9a-f]{64}$", description="hex SM3 of the canonical envelope")


def _node(request: Request) -> Node:
    node: Node = request.app.state.runtime.node
    return node


async def _body(request: Request, limit: int) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"request body is {declared} bytes; the limit is {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"request body is larger than the limit of {limit} bytes")
        chunks.append(chunk)
    return parse_json(b"".join(chunks))


@router.post(
    "/v1/transactions",
    status_code=202,
    tags=["transactions"],
    openapi_extra=schemas.body(schemas.SignedTransactionDoc),
    responses={202: {"model": schemas.Accepted}},
)
async def submit(request: Request) -> JSONResponse:
    node = _node(request)
    value = await _body(request, node.settings.max_tx_bytes + 4096)
    result = await node.submit([value])
    if result.rejected:
        raise result.rejected[0][1].to_error()
    return JSONResponse({"tx_id": result.accepted[0]}, status_code=202)


@router.post(
    "/v1/transactions/batch",
    status_code=202,
    tags=["transactions"],
    openapi_extra=schemas.body(schemas.BatchDoc),
    responses={202: {"model": schemas.BatchResult}},
)
async def submit_batch(request: Request) -> JSONResponse:
    node = _node(request)
    value = await _body(request, node.settings.max_request_bytes)
    if (
        not isinstance(value, dict)
        or set(value) != {"transactions"}
        or not isinstance(value["transactions"], list)
    ):
        raise MalformedData('the body must be {"transactions": [signed transaction, ...]}')
    txs = value["transactions"]
    if len(txs) > node.settings.max_batch_txs:
        raise TooLarge(
            f"{len(txs)} transactions in one batch; the limit is {node.settings.max_batch_txs}"
        )
    result = await node.submit(txs)
    return JSONResponse(
        {
            "accepted": result.accepted,
            "rejected": [{"index": i, "error": r.to_dict()} for i, r in result.rejected],
        },
        status_code=202,
    )


@router.get("/v1/transactions/{tx_id}", tags=["transactions"])
def transaction_status(request: Request, tx_id: str = TX_ID) -> dict[str, Any]:
    """pending, committed (with height and index) or rejected (with the reason)."""
    return _node(request).status(tx_id)


@router.get("/v1/transactions/{tx_id}/receipt", tags=["proofs"])
def receipt(request: Request, tx_id: str = TX_ID) -> dict[str, Any]:
    """The self-contained receipt of spec section 6; 404 until the transaction is committed."""
    return _node(request).receipt(tx_id)


@router.get("/v1/checkpoint", tags=["proofs"])
def checkpoint(request: Request) -> dict[str, Any]:
    """The newest header and its commit certificate (spec section 7), and beside them this
    node's view of consensus: height and round being decided, peers seen, the last commit's
    signers (informational; not part of what a verifier checks)."""
    runtime = request.app.state.runtime
    body = _node(request).checkpoint()
    body["consensus"] = runtime.engine.status if runtime.engine else {}
    return body


@router.get("/v1/blocks/{height}", tags=["blocks"])
def block(request: Request, height: int = Path(ge=0, le=MAX_INT64)) -> dict[str, Any]:
    return _node(request).block(height)


@router.get("/v1/proofs/consistency", tags=["proofs"])
def consistency(
    request: Request,
    first: int = Query(ge=0, le=MAX_INT64),
    second: int = Query(ge=0, le=MAX_INT64),
) -> dict[str, Any]:
    return _node(request).consistency(first, second)


@router.get("/v1/genesis", tags=["chain"])
def genesis(request: Request) -> dict[str, Any]:
    return _node(request).genesis.to_wire()


@router.get("/v1/members", tags=["chain"])
def members(request: Request) -> dict[str, Any]:
    return {"members": _node(request).members()}


@router.get("/healthz", tags=["operations"])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", tags=["operations"])
def readyz(request: Request) -> dict[str, Any]:
    runtime = request.app.state.runtime
    node = runtime.node
    try:
        with node.store.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        raise Unavailable(f"database unreachable: {exc}", code="not_ready") from exc
    status = runtime.engine.status if runtime.engine else {}
    if status.get("last_error"):
        raise Unavailable(f"block production is failing: {status['last_error']}", code="not_ready")
    return {
        "status": "ready",
        "height": node.tip.height,
        "log_size": node.tip.log_size,
        "pending": node.pending_count(),
        "consensus": status,
    }
