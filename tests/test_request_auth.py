"""SM2-signed requests (ledger/request_auth.py): who may read restricted records."""

from __future__ import annotations

import pytest

from ledger.crypto import PrivateKey
from ledger.domains.member.state import MemberRegistry
from ledger.model import Envelope
from ledger.request_auth import (
    HEADER_TIMESTAMP,
    Forbidden,
    RequestVerifier,
    Unauthenticated,
    require_roles,
    sign_request,
)
from tests.conftest import Consortium


def _headers(h: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in h.items()}


@pytest.fixture
def registry(consortium: Consortium) -> MemberRegistry:
    return MemberRegistry.from_genesis(consortium.genesis)


def test_signed_request_identifies_member(consortium: Consortium, registry: MemberRegistry) -> None:
    key = consortium.key("gz-internet-court")
    h = sign_request(key, "gz-internet-court", "GET", "/v1/evidence/x?full=1")
    now = int(h[HEADER_TIMESTAMP])
    member = RequestVerifier().verify(
        registry, _headers(h), "GET", "/v1/evidence/x?full=1", b"", now
    )
    assert member.id == "gz-internet-court"
    require_roles(member, frozenset({"court", "auditor"}), "evidence metadata")
    with pytest.raises(Forbidden):
        require_roles(member, frozenset({"school"}), "a card's wallet")


@pytest.mark.parametrize(
    "change", ["path", "method", "body", "member", "key", "stale", "missing", "replay", "revoked"]
)
def test_refusals(consortium: Consortium, registry: MemberRegistry, change: str) -> None:
    key = consortium.key("gz-internet-court")
    h = sign_request(key, "gz-internet-court", "POST", "/v1/x", b'{"a":1}')
    now = int(h[HEADER_TIMESTAMP])
    verifier = RequestVerifier()
    method, path, body = "POST", "/v1/x", b'{"a":1}'
    if change == "path":
        path = "/v1/y"
    elif change == "method":
        method = "PUT"
    elif change == "body":
        body = b'{"a":2}'
    elif change == "member":
        h["X-Ledger-Member"] = "gz-audit-bureau"
    elif change == "key":
        h = sign_request(PrivateKey.generate(), "gz-internet-court", "POST", "/v1/x", body)
    elif change == "stale":
        now += 61_000
    elif change == "missing":
        del h["X-Ledger-Signature"]
    elif change == "replay":
        verifier.verify(registry, _headers(h), method, path, body, now)
    elif change == "revoked":
        revoke = Envelope(
            consortium.genesis.chain_id,
            "member.revoke",
            "gz-gov-service-bureau",
            "0" * 64,
            "0" * 32,
            now,
            {"id": "gz-internet-court"},
        )
        registry.apply(revoke, 1)
    with pytest.raises(Unauthenticated):
        verifier.verify(registry, _headers(h), method, path, body, now)
