"""HTTP routes of the reopening domain, under ``/v1/reopening``.

Public (as the chain itself is to members): filings, their versions and decisions, counts,
the routing rule, verification. Restricted: an approver's work queue (the approver itself,
governance and auditors), with an SM2-signed request (docs/access.md).
"""

from __future__ import annotations

import asyncio
from pathlib import Path as FsPath
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from api.domain_support import authenticated, node_of, require_roles
from api.runtime import NodeRuntime
from ledger.consortium import load_genesis
from ledger.domains.member.state import MemberRecord
from ledger.domains.reopening import views
from ledger.domains.reopening.rules import effective_routing, routing_from_params
from ledger.domains.reopening.schemas import District, credit_code_problem
from ledger.domains.reopening.state import BY_CODE, FILINGS, VERSIONS, RoutingConfig
from ledger.domains.reopening.verify import check_filing
from ledger.errors import InvalidInput, LedgerError, MalformedData, NotFound, RuleViolation
from ledger.request_auth import Forbidden

FILING_ID = Path(pattern="^[0-9a-f]{64}$", description="tx id of the filing's reopening.file")
MEMBER_ID = Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")
QUEUE_READERS = frozenset({"governance", "auditor"})


def check_genesis_params(runtime: Any) -> None:
    """Refuse to serve a genesis whose ``params.reopening`` is not a valid routing rule.

    Genesis ``params.reopening`` configures the routing (below the newest
    ``reopening.configure``, above the default). A malformed one would refuse every reopening
    transaction with ``invalid_payload``; the node stops at start instead, saying why."""
    home = getattr(getattr(runtime, "settings", None), "home", None)
    if home is None:
        return
    try:
        genesis = load_genesis(FsPath(home) / "genesis.json")
    except LedgerError:
        return  # the node reports a missing or bad genesis itself
    try:
        routing_from_params(genesis.params)
    except RuleViolation as exc:
        problems = exc.details.get("problems", [])
        said = "; ".join(f"{p['field']}: {p['problem']}" for p in problems) or exc.message
        raise MalformedData(
            "genesis params.reopening is not a valid routing rule (it has the shape of a "
            f"reopening.configure payload): {said}",
            problems=problems,
        ) from None


def router(runtime: NodeRuntime) -> APIRouter:
    check_genesis_params(runtime)
    routes = APIRouter(prefix="/v1/reopening", tags=["reopening"])

    def config_of(request: Request) -> RoutingConfig:
        node = node_of(request)
        return effective_routing(node.domain_state, node.genesis.params)

    @routes.get("/config")
    async def config(request: Request) -> dict[str, Any]:
        """The routing rule in force and where it comes from (default, genesis, chain)."""
        return config_of(request).to_wire()

    @routes.get("/stats")
    async def stats(request: Request) -> dict[str, Any]:
        """Counts of filings by status and by district, and of inspection outcomes."""
        return views.stats(node_of(request).domain_state)

    @routes.get("/filings")
    async def list_filings(
        request: Request,
        district: District | None = Query(None),
        status: Literal["pending", "returned", "approved", "rejected"] | None = Query(None),
        limit: int = Query(100, ge=1, le=1000),
        offset: int = Query(0, ge=0, le=10_000_000),
    ) -> dict[str, Any]:
        """Filings in filing order, optionally of one district or status."""
        state = node_of(request).domain_state
        return views.list_filings(
            state, district=district, status=status, limit=limit, offset=offset
        )

    @routes.get("/filings/by-code/{credit_code}")
    async def by_code(request: Request, credit_code: str = Path(max_length=36)) -> dict[str, Any]:
        """The filing of an enterprise, by its unified social credit code."""
        problem = credit_code_problem(credit_code)
        if problem is not None:
            raise InvalidInput(f"{credit_code!r} {problem}", code="invalid_credit_code")
        state = node_of(request).domain_state
        filing_id = state.get(BY_CODE, credit_code)
        if filing_id is None:
            raise NotFound(f"no reopening filing for credit code {credit_code}", code="no_filing")
        view = views.filing_view(state, filing_id, config_of(request))
        assert view is not None
        return view

    @routes.get("/filings/{filing_id}")
    async def filing(request: Request, filing_id: str = FILING_ID) -> dict[str, Any]:
        """A filing: status, reviewing body, every version (complete), reviews, inspections."""
        view = views.filing_view(node_of(request).domain_state, filing_id, config_of(request))
        if view is None:
            raise NotFound(f"no reopening filing {filing_id}", code="unknown_filing")
        return view

    @routes.get("/enterprises/{member_id}/filings")
    async def enterprise(request: Request, member_id: str = MEMBER_ID) -> dict[str, Any]:
        """An enterprise member's filing history: each filing with all its versions."""
        state = node_of(request).domain_state
        filings = views.enterprise_filings(state, member_id, config_of(request))
        return {"enterprise": member_id, "filings": filings}

    @routes.get("/approvers/{member_id}/queue")
    async def approver_queue(
        request: Request,
        member_id: str = MEMBER_ID,
        member: MemberRecord = Depends(authenticated),
    ) -> dict[str, Any]:
        """Restricted: the filings waiting for an approver's review, and inspections due.
        Readable by that approver (signed request), governance and auditors."""
        if member.id != member_id:
            require_roles(member, QUEUE_READERS, f"the work queue of {member_id}")
        elif "approver" not in member.roles:
            raise Forbidden(f"{member_id} is not an approver; it has no work queue")
        return views.queue(node_of(request).domain_state, member_id, config_of(request))

    @routes.get("/filings/{filing_id}/verify")
    async def verify(request: Request, filing_id: str = FILING_ID) -> dict[str, Any]:
        """Checks a filing step by step: found, each receipt, each version's content, the
        version chain, each decision, the current status; each step with its outcome."""
        node = node_of(request)
        state = node.domain_state
        record = state.get(FILINGS, filing_id)
        if record is None:
            step = {
                "step": "filing_found",
                "outcome": "failed",
                "detail": f"No filing {filing_id} is on this ledger.",
            }
            raise NotFound(f"no reopening filing {filing_id}", code="unknown_filing", steps=[step])
        versions = [state.get(VERSIONS, tx_id) for tx_id in record["versions"]]
        ids = [
            *record["versions"],
            *(r["tx_id"] for r in record["reviews"]),
            *(i["tx_id"] for i in record["inspections"]),
        ]
        tip = node.tip.height

        def fetch() -> dict[str, Any]:
            out: dict[str, Any] = {}
            for tx_id in ids:
                try:
                    out[tx_id] = node.receipt(tx_id)
                except LedgerError as exc:
                    out[tx_id] = exc
            return out

        receipts = await asyncio.to_thread(fetch)
        steps = check_filing(record, versions, receipts, node.genesis)
        return {
            "filing_id": filing_id,
            "verified": all(s["outcome"] == "passed" for s in steps),
            "status": record["status"],
            "height": tip,
            "steps": steps,
        }

    return routes
