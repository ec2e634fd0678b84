"""Payloads of the membership types."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, StringConstraints

from ledger.crypto import PublicKey
from ledger.domains.base import Payload
from ledger.errors import InvalidKey
from ledger.policy import ROLES

MEMBER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$"
MemberId = Annotated[str, StringConstraints(pattern=MEMBER_ID_PATTERN)]


def _public_key(value: str) -> str:
    try:
        PublicKey(value)
    except InvalidKey as exc:
        raise ValueError(exc.message) from None
    return value


def _roles(value: list[str]) -> list[str]:
    if not value or len(set(value)) != len(value) or not set(value) <= ROLES:
        raise ValueError(f"roles must be distinct names from {sorted(ROLES)}")
    return value


PublicKeyHex = Annotated[str, AfterValidator(_public_key)]


class MemberRegister(Payload):
    id: MemberId
    roles: Annotated[list[str], AfterValidator(_roles)]
    public_key: PublicKeyHex


class MemberRotateKey(Payload):
    id: MemberId
    public_key: PublicKeyHex


class MemberRevoke(Payload):
    id: MemberId
    reason: str = ""
