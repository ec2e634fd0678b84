"""HTTP routes. Bodies of POST requests are read raw and parsed strictly (no floats, no
duplicate keys) before anything else sees them."""

from __future__ import annotations

import asyncio
from typing import Any, get_type_hints

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import create_model
from sqlalchemy import text

from api import schemas
from api.domain_support import read_body
from ledger.canonical import parse_json
from ledger.cosign import Cosignature, check_cosignature
from ledger.domains.validator import views as validator_views
from ledger.errors import MalformedData, NotFound, TooLarge, Unavailable
from ledger.model import Header
from ledger.node import Node

router = APIRouter()
MAX_INT64 = 2**63 - 1
TX_ID = Path(pattern="^[0-9a-f]{64}$", description="hex SM3 of the canonical envelope")


def _node(request: Request) -> Node:
    node: Node = request.app.state.runtime.node
    return node


async def _body(request: Request, limit: int) -> Any:
    return parse_json(await read_body(request, limit))


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


# Proofs are a few primary-key reads (about a millisecond at a million transactions), so they
# run on the event loop: handing them to the thread pool cost as much again. Returned as a
# response, the node's JSON value also skips FastAPI's response-model pass over it.


@router.get("/v1/transactions/{tx_id}/receipt", tags=["proofs"], response_model=None)
async def receipt(request: Request, tx_id: str = TX_ID) -> JSONResponse:
    """The self-contained receipt of spec section 6; 404 until the transaction is committed."""
    return JSONResponse(_node(request).receipt(tx_id))


@router.get("/v1/checkpoint", tags=["proofs"])
def checkpoint(request: Request) -> dict[str, Any]:
    """The newest header and its commit certificate (spec section 7), and beside them this
    node's view of consensus: height and round being decided, peers seen, the last commit's
    signers (informational; not part of what a verifier checks)."""
    runtime = request.app.state.runtime
    node = _node(request)
    body = node.checkpoint()
    body.update(certifying_validators(node, body["header"]["height"]))
    body["consensus"] = runtime.engine.status if runtime.engine else {}
    # witnesses' cosignatures, the newest of each (ledger/cosign.py; docs/witness.md)
    body["cosignatures"] = [c.to_wire() for c in node.store.latest_cosignatures()]
    return body


# --- checkpoint history and witness cosignatures (docs/witness.md) ----------------------


@router.get("/v1/checkpoints", tags=["proofs"])
def checkpoints(
    request: Request,
    from_height: int = Query(0, ge=0, le=MAX_INT64),
    limit: int = Query(100, ge=1, le=MAX_INT64),
) -> dict[str, Any]:
    """The checkpoint of every block from ``from_height`` up, in ascending height, each
    ``{"header", "commit"}`` as ``GET /v1/checkpoint`` shows it; at most ``limit`` (capped by
    ``max_checkpoints_page``). ``next`` is the ``from_height`` of the next page, or null."""
    node = _node(request)
    rows = node.store.checkpoint_rows(from_height, min(limit, node.settings.max_checkpoints_page))
    page = [{"header": parse_json(h), "commit": parse_json(c)} for h, c in rows]
    last: int = page[-1]["header"]["height"] if page else node.tip.height
    # one history for the page: a lower block's is the part below its height
    history = node.validator_history(last)
    for checkpoint in page:
        height = checkpoint["header"]["height"]
        checkpoint["validators"] = node.validators_for(height).to_wire()
        checkpoint["validator_history"] = [e for e in history if e["header"]["height"] < height]
    return {"checkpoints": page, "next": last + 1 if last < node.tip.height else None}


def certifying_validators(node: Node, height: int) -> dict[str, Any]:
    """The set certifying block ``height`` and the handovers from the genesis set to it, as
    a receipt of that block carries them (spec section 6, steps 5 and 6)."""
    return validator_views.certifying_validators(
        node.validators, height, node.validator_history(height)
    )


def signing_identity(node: Node, public_key: str) -> tuple[str, list[dict[str, Any]]] | None:
    """The validator id this node signs reports and access-log heads as, and the validator
    history from genesis to the newest certifying set (one holding that id and key), so that
    a verifier trusting only genesis can authenticate a validator added later; None when
    the key is not that of a validator of a set in effect."""
    tip = node.tip.height
    history = node.validator_history(tip)
    sets = [node.genesis.validators, *(e.validators for e in node.validators.handovers(tip))]
    for validators in reversed(sets):
        member = next((v for v in validators.validators if v.public_key == public_key), None)
        if member is not None:
            return member.id, history
    return None


def _header_at(node: Node, height: int) -> Header | None:
    try:
        header_bytes, _ = node.store.block_row(height)
    except NotFound:
        return None
    return Header.from_wire(parse_json(header_bytes))


# the body's schema in the API docs, from the one definition in ledger/cosign.py
_COSIGNATURE_FIELDS: dict[str, Any] = {
    name: (kind, ...) for name, kind in get_type_hints(Cosignature).items()
}
CosignatureDoc = create_model("Cosignature", **_COSIGNATURE_FIELDS)


@router.post(
    "/v1/checkpoint/cosignatures",
    status_code=201,
    tags=["proofs"],
    openapi_extra=schemas.body(CosignatureDoc),
)
async def cosignature(request: Request) -> JSONResponse:
    """A witness's cosignature of one of this node's checkpoints. Stored when the witness is
    an active auditor signing with its current key, the signature verifies and the checkpoint
    is this node's block at that height; a 4xx with a stable code otherwise."""
    node = _node(request)
    cosig = Cosignature.from_wire(await _body(request, node.settings.max_cosignature_bytes))
    header = await asyncio.to_thread(_header_at, node, cosig.height)
    check_cosignature(cosig, node.genesis.chain_id, node.registry, header)
    await asyncio.to_thread(node.store.save_cosignature, cosig, node.clock())
    return JSONResponse({"stored": cosig.to_wire()}, status_code=201)


@router.get("/v1/blocks/{height}", tags=["blocks"])
def block(request: Request, height: int = Path(ge=0, le=MAX_INT64)) -> dict[str, Any]:
    return _node(request).block(height)


@router.get("/v1/proofs/consistency", tags=["proofs"], response_model=None)
async def consistency(
    request: Request,
    first: int = Query(ge=0, le=MAX_INT64),
    second: int = Query(ge=0, le=MAX_INT64),
) -> JSONResponse:
    return JSONResponse(_node(request).consistency(first, second))


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
