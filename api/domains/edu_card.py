"""HTTP routes of the edu_card domain: a card's record, status and QR code, counts, a school's
card register (signed requests), and the verify endpoint (``ledger.domains.edu_card.verify``
run against this node's state)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.domain_support import authenticated, node_of, read_body, require_roles
from api.host_check import public_url
from api.runtime import NodeRuntime
from ledger.canonical import parse_json
from ledger.domains.edu_card import views
from ledger.domains.edu_card.schemas import CARD_ID_PATTERN, SCHOOL_ID_PATTERN, VerifyRequest
from ledger.domains.edu_card.state import card_record
from ledger.domains.edu_card.verify import verify_presented, verify_qr
from ledger.domains.member.state import MemberRecord
from ledger.errors import MalformedData
from ledger.model import Genesis, Header
from ledger.node import Node
from ledger.request_auth import Forbidden

MAX_VERIFY_BODY = 256 * 1024
CARD_ID_PATH = Path(pattern=CARD_ID_PATTERN, description="the card's 128-bit random id")


class _NodeLedger:
    """The node as the :class:`~ledger.domains.edu_card.verify.CardLedger` a check asks:
    its membership and newest block as they stand when the check starts."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.tip: Header = node.tip
        self.genesis: Genesis = node.genesis
        self._registry = node.registry

    def key_owner(self, key_id: str) -> str | None:
        key = self._registry.keys.get(key_id)
        return None if key is None else key.member_id

    def member_roles(self, member_id: str) -> Collection[str] | None:
        member = self._registry.members.get(member_id)
        return None if member is None else member.roles

    def card(self, card_id: str) -> Mapping[str, Any] | None:
        return card_record(self.node.domain_state, card_id)

    def receipt(self, tx_id: str) -> Mapping[str, Any]:
        return self.node.receipt(tx_id)

    def credential(self, tx_id: str) -> Any:
        return views.recorded_credential(_leaf_loader(self.node), tx_id)


def _leaf_loader(node: Node) -> Callable[[str], bytes | None]:
    def leaf(tx_id: str) -> bytes | None:
        stored = node.store.transaction(tx_id)
        return None if stored is None else stored.leaf

    return leaf


def _verify(node: Node, request: VerifyRequest) -> dict[str, Any]:
    ledger = _NodeLedger(node)
    if request.qr is not None:
        return verify_qr(request.qr, request.disclosures, ledger, node.clock())
    return verify_presented(request.credential, request.disclosures, ledger, node.clock())


def router(runtime: NodeRuntime) -> APIRouter:
    router = APIRouter(prefix="/v1/edu_card", tags=["edu_card"])

    @router.get("/cards/{card_id}")
    def card(request: Request, card_id: str = CARD_ID_PATH) -> dict[str, Any]:
        """A card's public record: status at the newest block, validity, versions, events,
        and the current credential (claim digests only)."""
        node = node_of(request)
        record = views.find_card(node.domain_state, card_id)
        tip = node.tip
        credential = views.recorded_credential(_leaf_loader(node), record["current_tx"])
        return views.card_view(record, credential, tip.height, tip.timestamp)

    @router.get("/cards/{card_id}/status")
    def status(request: Request, card_id: str = CARD_ID_PATH) -> dict[str, Any]:
        """The card's status at the newest block (what credentialStatus.statusPath names)."""
        node = node_of(request)
        record = views.find_card(node.domain_state, card_id)
        tip = node.tip
        return views.status_view(card_id, record, tip.height, tip.timestamp)

    @router.get("/cards/{card_id}/qr")
    def qr(request: Request, card_id: str = CARD_ID_PATH) -> dict[str, Any]:
        """The string to print as the card's QR code: the portal's card verification page
        under the node's configured public URL (never the request's Host)."""
        node = node_of(request)
        record = views.find_card(node.domain_state, card_id)
        return views.qr_view(card_id, record, public_url(request))

    @router.get("/stats")
    def stats(request: Request) -> dict[str, Any]:
        """Counts of cards by school and by status at the newest block."""
        node = node_of(request)
        tip = node.tip
        return views.stats(node.domain_state, tip.height, tip.timestamp)

    @router.get("/schools/{school}/cards")
    def school_cards(
        request: Request,
        school: str = Path(pattern=SCHOOL_ID_PATTERN),
        member: MemberRecord = Depends(authenticated),
    ) -> dict[str, Any]:
        """Restricted: the cards a school issued, with guardian-consent flags; for that
        school itself and for auditors (SM2-signed request, see docs/access.md)."""
        require_roles(member, views.REGISTER_READERS, "a school's card register")
        if "auditor" not in member.roles and member.id != school:
            raise Forbidden(
                f"the card register of {school!r} is for that school and for auditors; "
                f"{member.id!r} may read only its own"
            )
        node = node_of(request)
        tip = node.tip
        return views.school_register(node.domain_state, school, tip.height, tip.timestamp)

    @router.post("/verify")
    async def verify(request: Request) -> dict[str, Any]:
        """Verify a presented card: {"credential": {...} | "qr": "gzledger://card/...",
        "disclosures": [[salt, name, value], ...]} -> the steps checked, each with its
        outcome in plain words, and the disclosed claims that matched."""
        node = node_of(request)
        value = parse_json(await read_body(request, MAX_VERIFY_BODY))
        if not isinstance(value, dict):
            raise MalformedData('the body must be a JSON object {"credential" | "qr", ...}')
        try:
            parsed = VerifyRequest.model_validate(value)
        except ValidationError as exc:
            problems = [
                {"field": ".".join(str(p) for p in e["loc"]) or "body", "problem": e["msg"]}
                for e in exc.errors(include_url=False, include_context=False, include_input=False)
            ]
            raise MalformedData(
                f"verify request: {problems[0]['field']}: {problems[0]['problem']}",
                problems=problems,
            ) from None
        result: dict[str, Any] = await run_in_threadpool(_verify, node, parsed)
        return result

    return router
