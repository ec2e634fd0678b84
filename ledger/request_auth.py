"""SM2-signed requests: how a member proves who is reading a restricted record.

The signed bytes are ``C({"member", "method", "path", "timestamp", "nonce", "body_sm3"})``
where ``path`` is the request path with its query string exactly as sent, ``timestamp`` is
milliseconds since the epoch and ``nonce`` 32 random hex characters; the signature is the
member's SM2 signature (spec section 1) in ``X-Ledger-Signature``. A node accepts a request
within ±60 s of its clock and remembers nonces for that long, so a request cannot be replayed.
"""

from __future__ import annotations

import time
from collections import OrderedDict

from ledger.canonical import canonical
from ledger.crypto import PublicKey, Signer, random_nonce, sm3_hex
from ledger.domains.member.state import MemberRecord, MemberRegistry
from ledger.errors import InvalidInput, InvalidSignature, LedgerError

HEADER_MEMBER = "X-Ledger-Member"
HEADER_TIMESTAMP = "X-Ledger-Timestamp"
HEADER_NONCE = "X-Ledger-Nonce"
HEADER_SIGNATURE = "X-Ledger-Signature"
WINDOW_MS = 60_000


class Unauthenticated(InvalidInput):
    code = "unauthenticated"
    http_status = 401


class Forbidden(InvalidInput):
    code = "forbidden"
    http_status = 403


def signed_bytes(
    member: str, method: str, path: str, timestamp: int, nonce: str, body: bytes
) -> bytes:
    return canonical(
        {
            "member": member,
            "method": method.upper(),
            "path": path,
            "timestamp": timestamp,
            "nonce": nonce,
            "body_sm3": sm3_hex(body),
        }
    )


def sign_request(
    signer: Signer, member: str, method: str, path: str, body: bytes = b""
) -> dict[str, str]:
    """The headers that authenticate one request as ``member``."""
    timestamp, nonce = time.time_ns() // 1_000_000, random_nonce()
    signature = signer.sign(signed_bytes(member, method, path, timestamp, nonce, body))
    return {
        HEADER_MEMBER: member,
        HEADER_TIMESTAMP: str(timestamp),
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: signature,
    }


class RequestVerifier:
    """Checks signed requests against the membership; keeps the nonces it has seen."""

    def __init__(self, window_ms: int = WINDOW_MS, max_nonces: int = 1_000_000) -> None:
        self.window_ms = window_ms
        self.max_nonces = max_nonces
        self.seen: OrderedDict[str, int] = OrderedDict()

    def verify(
        self,
        registry: MemberRegistry,
        headers: dict[str, str],
        method: str,
        path: str,
        body: bytes,
        now_ms: int,
    ) -> MemberRecord:
        try:
            member_id = headers[HEADER_MEMBER.lower()]
            timestamp = int(headers[HEADER_TIMESTAMP.lower()])
            nonce = headers[HEADER_NONCE.lower()]
            signature = headers[HEADER_SIGNATURE.lower()]
        except (KeyError, ValueError):
            raise Unauthenticated(
                "this record is restricted: sign the request with your member key "
                f"({HEADER_MEMBER}, {HEADER_TIMESTAMP}, {HEADER_NONCE}, {HEADER_SIGNATURE}; "
                "see docs/access.md)"
            ) from None
        if abs(timestamp - now_ms) > self.window_ms:
            raise Unauthenticated(
                f"request timestamp is more than {self.window_ms // 1000} s from the node's clock",
                code="stale_request",
            )
        member = registry.members.get(member_id)
        if member is None or not member.active:
            raise Unauthenticated(f"{member_id!r} is not an active member")
        message = signed_bytes(member_id, method, path, timestamp, nonce, body)
        try:
            PublicKey(member.public_key).verify(signature, message)
        except (InvalidSignature, LedgerError):
            raise Unauthenticated(
                "the request signature does not verify under the member's current key",
                code="bad_request_signature",
            ) from None
        self._expire(now_ms)
        if nonce in self.seen:
            raise Unauthenticated(
                "this request was already used (nonce seen)", code="replayed_request"
            )
        self.seen[nonce] = timestamp
        return member

    def _expire(self, now_ms: int) -> None:
        while self.seen and (
            len(self.seen) >= self.max_nonces
            or next(iter(self.seen.values())) < now_ms - 2 * self.window_ms
        ):
            self.seen.popitem(last=False)


def require_roles(member: MemberRecord, roles: frozenset[str], what: str) -> None:
    if not roles.intersection(member.roles):
        raise Forbidden(
            f"{what} is restricted to roles {sorted(roles)}; "
            f"{member.id!r} has {sorted(member.roles)}"
        )
