"""Offline checks of a member record as the API serves it (``GET /v1/members``): its key is a
valid SM2 point and ``key_id`` is the SM3 of it. Needs only the crypto dependencies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger.crypto import PublicKey
from ledger.errors import InvalidKey, VerificationError


def verify_member_record(record: Mapping[str, Any]) -> PublicKey:
    """The member's public key, once its ``key_id`` is shown to be the SM3 of it."""
    try:
        public_key = PublicKey(str(record.get("public_key", "")))
    except InvalidKey as exc:
        raise VerificationError(
            "member public_key", exc.message, found=record.get("public_key")
        ) from None
    if record.get("key_id") != public_key.key_id:
        raise VerificationError(
            "member key_id",
            "key_id is not the SM3 of the public key",
            expected=public_key.key_id,
            found=record.get("key_id"),
        )
    return public_key
