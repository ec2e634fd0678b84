"""HTTP endpoints of e-bidding, under ``/v1/bidding``.

Public: tenders, their bids (existence only until the opening record), guarantees, the
evaluation (after opening), the timeline with receipts, verification. Restricted (SM2-signed
request, docs/access.md): a bidder's own sealed bids.

State is read on the event loop (where blocks are committed), receipts are fetched and
verified in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from api.domain_support import authenticated, node_of, require_roles
from api.runtime import NodeRuntime
from ledger.domains.bidding import verify, views
from ledger.domains.bidding.schemas import CODE_PATTERN, GUARANTEE_PATTERN, HEX64_PATTERN
from ledger.domains.bidding.state import bid_of, is_open, tender_of, tender_snapshot
from ledger.domains.member.state import MemberRecord
from ledger.node import Node
from ledger.request_auth import Forbidden

CODE = Path(pattern=CODE_PATTERN, description="the tender's project code")
BID = Path(pattern=HEX64_PATTERN, description="the bid id: tx id of its bid.commit")
GUARANTEE = Path(pattern=GUARANTEE_PATTERN, description="the guarantee number")
Status = Literal["published", "opened", "failed", "evaluated", "awarded"]


def _receipts(node: Node, tx_ids: list[str]) -> list[dict[str, Any]]:
    return [node.receipt(t) for t in tx_ids]


def router(runtime: NodeRuntime) -> APIRouter:
    routes = APIRouter(prefix="/v1/bidding", tags=["bidding"])

    @routes.get("/tenders")
    async def tenders(
        request: Request, status: Status | None = Query(None, description="only this status")
    ) -> dict[str, Any]:
        """Every tender, oldest first, with counts of its bids."""
        return {"tenders": views.tender_list(node_of(request).domain_state, status)}

    @routes.get("/tenders/{code}")
    async def tender(request: Request, code: str = CODE) -> dict[str, Any]:
        """A tender: terms, committee, bid counts; the opening record, evaluation status and
        award once there."""
        return views.tender_view(node_of(request).domain_state, code)

    @routes.get("/tenders/{code}/bids")
    async def tender_bids(request: Request, code: str = CODE) -> dict[str, Any]:
        """The bids of a tender: before opening only that they exist (and withdrawals)."""
        return views.tender_bids(node_of(request).domain_state, code)

    @routes.get("/tenders/{code}/evaluation")
    async def evaluation(request: Request, code: str = CODE) -> dict[str, Any]:
        """Score sheets, totals and averages, the report and every member's answer (409
        before the opening record)."""
        return views.evaluation_view(node_of(request).domain_state, code)

    @routes.get("/tenders/{code}/timeline")
    async def timeline(
        request: Request,
        code: str = CODE,
        receipts: bool = Query(True, description="include each event's receipt"),
    ) -> dict[str, Any]:
        """Every event of the tender in chain order, each with its receipt. A sealed bid
        appears as 'a bid was committed': its receipt holds only the commitment."""
        node = node_of(request)
        events = views.timeline(node.domain_state, code)
        if receipts:
            found = await asyncio.to_thread(_receipts, node, [e["tx_id"] for e in events])
            for event, receipt in zip(events, found, strict=True):
                event["receipt"] = receipt
        return {"project_code": code, "events": events}

    @routes.get("/tenders/{code}/verify")
    async def verify_tender(request: Request, code: str = CODE) -> dict[str, Any]:
        """Re-check the tender from its signed transactions and receipts, step by step."""
        node = node_of(request)
        tender, events = tender_snapshot(node.domain_state, code)
        result = await asyncio.to_thread(
            verify.verify_tender, tender, events, node.receipt, node.genesis
        )
        return {**result, "as_of_height": node.tip.height}

    @routes.get("/tenders/{code}/my-bids")
    async def my_bids(
        request: Request, code: str = CODE, member: MemberRecord = Depends(authenticated)
    ) -> dict[str, Any]:
        """The signing bidder's own bids on this tender, whole (restricted: bidders)."""
        require_roles(member, frozenset({"bidder"}), "a bidder's own bids")
        return views.own_bids(node_of(request).domain_state, code, member.id)

    @routes.get("/bids/{bid_id}")
    async def bid(request: Request, bid_id: str = BID) -> dict[str, Any]:
        """A bid: before opening only that it exists; everything once the tender is opened."""
        state = node_of(request).domain_state
        return views.bid_public(state, bid_of(state, bid_id))

    @routes.get("/bids/{bid_id}/sealed")
    async def sealed_bid(
        request: Request, bid_id: str = BID, member: MemberRecord = Depends(authenticated)
    ) -> dict[str, Any]:
        """The whole bid record (restricted: its bidder before opening, members after)."""
        node = node_of(request)
        state = node.domain_state
        record = bid_of(state, bid_id)
        tender = tender_of(state, record["project_code"])
        if member.id != record["bidder"] and not is_open(tender):
            raise Forbidden("before the opening of its tender a bid is visible only to its bidder")
        private = views.bid_private(state, record)
        receipt = await asyncio.to_thread(node.receipt, bid_id)
        return {**private, "receipt": receipt}

    @routes.get("/bids/{bid_id}/verify")
    async def verify_bid(request: Request, bid_id: str = BID) -> dict[str, Any]:
        """Re-check a bid: receipt, deadline by block time, and (after opening) its reveal."""
        node = node_of(request)
        record = bid_of(node.domain_state, bid_id)
        tender, events = tender_snapshot(node.domain_state, record["project_code"])
        result = await asyncio.to_thread(
            verify.verify_bid, record, tender, events, node.receipt, node.genesis
        )
        return {**result, "as_of_height": node.tip.height}

    @routes.get("/guarantees/{number}")
    async def guarantee(request: Request, number: str = GUARANTEE) -> Mapping[str, Any]:
        """An electronic bid guarantee: before opening only that it exists."""
        return views.guarantee_public(node_of(request).domain_state, number)

    return routes
