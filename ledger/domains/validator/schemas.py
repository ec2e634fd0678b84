"""Payloads of the validator set change types."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ledger.domains.base import Payload
from ledger.domains.member.schemas import MemberId, PublicKeyHex

# A rule of the chain, not a node setting: every validator must reach the same verdict.
MAX_POWER = 1_000_000
Power = Annotated[int, Field(ge=1, le=MAX_POWER)]


class ValidatorAdd(Payload):
    id: MemberId
    public_key: PublicKeyHex
    power: Power


class ValidatorRemove(Payload):
    id: MemberId


class ValidatorSetPower(Payload):
    id: MemberId
    power: Power
