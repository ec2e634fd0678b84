"""Read endpoints of the portal's explorer and status pages, under ``/v1/explorer``.

Everything here is public, as blocks and receipts are (spec section 8): newest blocks and
transactions, one block or transaction with summaries, a search by transaction id, block
height, block hash, file hash or tender code, and the chain's status (height, transactions per
domain, validators and their last signatures). Nothing restricted is read: a file hash finds
only the deposits whose single file it is, which anyone can compute from the public payloads
(``files_root = SM3(0x00 ‖ file SM3)``); a file deposited with others is found by its deposit
number (docs/domains/evidence.md).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import func, select

from ledger.canonical import parse_json
from ledger.domains.bidding.state import has_tender
from ledger.domains.evidence import views as evidence_views
from ledger.domains.registry import REGISTRY
from ledger.errors import NotFound
from ledger.node import Node
from ledger.report import times
from ledger.store import schema as t

router = APIRouter(prefix="/v1/explorer", tags=["explorer"])
MAX_INT64 = 2**63 - 1
TX_ID = Path(pattern="^[0-9a-f]{64}$", description="hex SM3 of the canonical envelope")
SCAN_BLOCKS = 2000  # how far back the status page looks for each validator's last signature
_HEX64 = re.compile("^[0-9a-f]{64}$")
_PROJECT_CODE = re.compile("^[A-Z0-9][A-Z0-9-]{2,47}$")


def _node(request: Request) -> Node:
    node: Node = request.app.state.runtime.node
    return node


def domain_of(tx_type: str) -> str:
    domain = REGISTRY.domain_of(tx_type)
    if domain is None:
        return tx_type.split(".", 1)[0]
    return "membership" if domain.name == "member" else domain.name


def _signers(commit_bytes: bytes) -> list[str]:
    commit = parse_json(commit_bytes)
    return [str(s["validator"]) for s in commit.get("signatures", [])]


def _block_row(row: Any) -> dict[str, Any]:
    header = parse_json(row.header)
    return {
        "height": row.height,
        "block_hash": row.block_hash,
        "time_ms": row.timestamp,
        "time_utc": times(row.timestamp)["utc"],
        "tx_count": row.tx_count,
        "log_size": row.log_size,
        "proposer": header.get("proposer"),
        "signers": _signers(row.commit),
    }


def _tx_row(row: Any) -> dict[str, Any]:
    return {
        "tx_id": row.tx_id,
        "type": row.type,
        "domain": domain_of(row.type),
        "submitter": row.submitter,
        "height": row.height,
        "index": row.idx,
        "log_index": row.log_index,
        "submitted_ms": row.timestamp,
    }


def single_file_deposits(node: Node, file_sm3: str) -> list[dict[str, Any]]:
    """Deposits whose only file has this SM3: found from public payloads alone."""
    return evidence_views.single_file_deposits(node.domain_state, file_sm3)


@router.get("/status")
def status(request: Request) -> dict[str, Any]:
    """Height, log, transactions per domain, validators and their last signatures."""
    runtime = request.app.state.runtime
    node = _node(request)
    tip = node.tip
    with node.store.engine.connect() as conn:
        counts = conn.execute(
            select(t.transactions.c.type, func.count()).group_by(t.transactions.c.type)
        ).all()
        rows = conn.execute(
            select(t.blocks.c.height, t.blocks.c.timestamp, t.blocks.c.commit)
            .where(t.blocks.c.height > max(0, tip.height - SCAN_BLOCKS))
            .order_by(t.blocks.c.height.desc())
        ).all()
    domains: dict[str, dict[str, Any]] = {}
    for tx_type, n in counts:
        entry = domains.setdefault(domain_of(tx_type), {"transactions": 0, "types": {}})
        entry["transactions"] += int(n)
        entry["types"][tx_type] = int(n)
    validator_set = node.validators_for(tip.height + 1)
    last: dict[str, dict[str, Any]] = {}
    wanted = {v.id for v in validator_set.validators}
    for row in rows:
        for sig in parse_json(row.commit).get("signatures", []):
            vid = str(sig.get("validator"))
            if vid in wanted and vid not in last:
                last[vid] = {
                    "height": row.height,
                    "time_ms": row.timestamp,
                    "time_utc": times(row.timestamp)["utc"],
                    "signature": sig.get("signature"),
                }
        if len(last) == len(wanted):
            break
    validators = [
        {
            "id": v.id,
            "power": v.power,
            "public_key": v.public_key,
            "last_signed": last.get(v.id),
        }
        for v in validator_set.validators
    ]
    return {
        "chain_id": node.genesis.chain_id,
        "genesis_hash": node.genesis.hash,
        "height": tip.height,
        "block_hash": tip.block_hash,
        "block_time_ms": tip.timestamp,
        "block_time_utc": times(tip.timestamp)["utc"],
        "log_size": tip.log_size,
        "log_root": tip.log_root,
        "pending": node.pending_count(),
        "members": len(node.registry.members),
        "transactions": sum(d["transactions"] for d in domains.values()),
        "domains": dict(sorted(domains.items())),
        "validators": validators,
        "validators_scanned_blocks": len(rows),
        "consensus": runtime.engine.status if runtime.engine else {},
    }


@router.get("/blocks")
def blocks(
    request: Request,
    limit: int = Query(default=20, ge=1, le=100),
    before: int | None = Query(default=None, ge=0, le=MAX_INT64),
) -> dict[str, Any]:
    """The newest blocks (or those below ``before``), newest first."""
    node = _node(request)
    query = select(t.blocks).order_by(t.blocks.c.height.desc()).limit(limit)
    if before is not None:
        query = query.where(t.blocks.c.height < before)
    with node.store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return {"height": node.tip.height, "blocks": [_block_row(r) for r in rows]}


@router.get("/blocks/{height}")
def block(request: Request, height: int = Path(ge=0, le=MAX_INT64)) -> dict[str, Any]:
    """One block: header, certificate and a summary of each transaction."""
    node = _node(request)
    with node.store.engine.connect() as conn:
        row = conn.execute(select(t.blocks).where(t.blocks.c.height == height)).first()
        if row is None:
            raise NotFound(f"no block at height {height}", code="block_not_found")
        txs = conn.execute(
            select(t.transactions)
            .where(t.transactions.c.height == height)
            .order_by(t.transactions.c.idx)
        ).all()
    return {
        **_block_row(row),
        "header": parse_json(row.header),
        "commit": parse_json(row.commit),
        "transactions": [_tx_row(r) for r in txs],
        "tip": node.tip.height,
    }


@router.get("/transactions")
def transactions(
    request: Request,
    limit: int = Query(default=20, ge=1, le=100),
    before: int | None = Query(default=None, ge=0, le=MAX_INT64, description="a log index"),
) -> dict[str, Any]:
    """The newest committed transactions (or those before log index ``before``)."""
    node = _node(request)
    query = (
        select(t.transactions, t.blocks.c.timestamp.label("block_time"))
        .join(t.blocks, t.blocks.c.height == t.transactions.c.height)
        .order_by(t.transactions.c.log_index.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(t.transactions.c.log_index < before)
    with node.store.engine.connect() as conn:
        rows = conn.execute(query).all()
    return {
        "transactions": [
            {
                **_tx_row(r),
                "block_time_ms": r.block_time,
                "block_time_utc": times(r.block_time)["utc"],
            }
            for r in rows
        ]
    }


@router.get("/transactions/{tx_id}")
def transaction(request: Request, tx_id: str = TX_ID) -> dict[str, Any]:
    """A transaction: its status, and once committed its envelope and block."""
    node = _node(request)
    state = node.status(tx_id)
    if state["status"] != "committed":
        return state
    with node.store.engine.connect() as conn:
        row = conn.execute(
            select(t.transactions, t.blocks.c.timestamp.label("block_time"), t.blocks.c.block_hash)
            .join(t.blocks, t.blocks.c.height == t.transactions.c.height)
            .where(t.transactions.c.tx_id == tx_id)
        ).first()
    assert row is not None
    signed = parse_json(row.leaf)
    return {
        **state,
        **_tx_row(row),
        "block_hash": row.block_hash,
        "block_time_ms": row.block_time,
        "block_time_utc": times(row.block_time)["utc"],
        "envelope": signed["envelope"],
        "signature": signed["signature"],
        "genesis": row.height == 0,
        "receipt": None if row.height == 0 else f"/v1/transactions/{tx_id}/receipt",
    }


@router.get("/files/{file_sm3}")
def file_deposits(request: Request, file_sm3: str = TX_ID) -> dict[str, Any]:
    """Evidence deposits whose single file has this SM3 (public payloads only)."""
    return {"sm3": file_sm3, "deposits": single_file_deposits(_node(request), file_sm3)}


@router.get("/search")
def search(request: Request, q: str = Query(min_length=1, max_length=200)) -> dict[str, Any]:
    """What ``q`` names: a block height, a transaction id, a block hash, a file's SM3 (of a
    single-file evidence deposit) or a tender's project code."""
    node = _node(request)
    text = q.strip()
    lowered = text.lower()
    if text.isdigit():
        height = int(text)
        if height <= node.tip.height:
            return {"query": text, "kind": "block", "height": height}
    elif _HEX64.match(lowered):
        if node.store.transaction(lowered) is not None or lowered in node.mempool:
            return {"query": text, "kind": "transaction", "tx_id": lowered}
        with node.store.engine.connect() as conn:
            found = conn.scalar(select(t.blocks.c.height).where(t.blocks.c.block_hash == lowered))
        if found is not None:
            return {"query": text, "kind": "block", "height": int(found)}
        deposits = single_file_deposits(node, lowered)
        if deposits:
            return {"query": text, "kind": "file", "sm3": lowered, "deposits": deposits}
    elif _PROJECT_CODE.match(text.upper()) and has_tender(node.domain_state, text.upper()):
        return {"query": text, "kind": "tender", "project_code": text.upper()}
    return {"query": text, "kind": "none"}
