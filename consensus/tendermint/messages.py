"""Signed consensus messages: proposals, prevotes and precommits.

Every message is signed over canonical bytes ``C(v)`` (RFC 8785, ``ledger.canonical``) of a
small JSON object that names its type, the chain, the height and the round:

- proposal: ``{"type": "proposal", "chain_id", "height", "round", "block_hash", "valid_round"}``
- prevote: ``{"type": "prevote", "chain_id", "height", "round", "block_hash"}``
- precommit: ``{"type": "commit", "chain_id", "height", "round", "block_hash"}``, which is
  exactly ``ledger.model.commit_vote``: the precommits for a block *are* the signatures of
  its commit certificate (spec section 4). A vote for nil carries ``"block_hash": null``; it
  can never be part of a certificate, whose ``block_hash`` is 64 hex characters.

The ``type`` field keeps the three kinds of signature apart, so a prevote can never be
replayed as a precommit, and ``chain_id`` keeps chains apart. A proposal carries its value
(for the ledger: the block) beside the signed ``block_hash``; the receiver recomputes the
hash from the value (``value_id``) before it believes the pairing.

The wire form (``to_wire``/``message_from_wire``) is plain JSON with exact field sets and
size limits; the value is encoded by a codec the caller supplies.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar, Generic, Self, TypeVar, Union

from ledger.canonical import MAX_SAFE_INTEGER, canonical, parse_json
from ledger.crypto import Signer, is_hex
from ledger.errors import MalformedData, TooLarge
from ledger.model import commit_vote

V = TypeVar("V")

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,127}")
MAX_CHAIN_ID = 128
MAX_SIGNATURE_HEX = 160  # DER of two 33-byte integers is at most 72 bytes
MAX_VOTE_BYTES = 1024


# --- signing bytes ----------------------------------------------------------------------


def proposal_bytes(
    chain_id: str, height: int, round_: int, block_hash: str, valid_round: int
) -> bytes:
    return canonical(
        {
            "type": "proposal",
            "chain_id": chain_id,
            "height": height,
            "round": round_,
            "block_hash": block_hash,
            "valid_round": valid_round,
        }
    )


def prevote_bytes(chain_id: str, height: int, round_: int, block_hash: str | None) -> bytes:
    return canonical(
        {
            "type": "prevote",
            "chain_id": chain_id,
            "height": height,
            "round": round_,
            "block_hash": block_hash,
        }
    )


def precommit_bytes(chain_id: str, height: int, round_: int, block_hash: str | None) -> bytes:
    """For a block: ``commit_vote`` itself, the bytes of spec section 4's certificate."""
    if block_hash is not None:
        return commit_vote(chain_id, height, round_, block_hash)
    return canonical(
        {
            "type": "commit",
            "chain_id": chain_id,
            "height": height,
            "round": round_,
            "block_hash": None,
        }
    )


# --- messages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal(Generic[V]):
    """``⟨PROPOSAL, height, round, value, valid_round⟩`` signed by the round's proposer."""

    chain_id: str
    height: int
    round: int
    block_hash: str
    valid_round: int
    proposer: str
    signature: str
    value: V

    TYPE: ClassVar[str] = "proposal"

    @classmethod
    def sign(
        cls,
        signer: Signer,
        proposer: str,
        chain_id: str,
        height: int,
        round_: int,
        block_hash: str,
        valid_round: int,
        value: V,
    ) -> Proposal[V]:
        data = proposal_bytes(chain_id, height, round_, block_hash, valid_round)
        return cls(
            chain_id, height, round_, block_hash, valid_round, proposer, signer.sign(data), value
        )

    @property
    def sender(self) -> str:
        return self.proposer

    @cached_property
    def signing_bytes(self) -> bytes:
        return proposal_bytes(
            self.chain_id, self.height, self.round, self.block_hash, self.valid_round
        )

    @property
    def key(self) -> tuple[str, str, int, int, str | None, int]:
        """What makes two proposals the same (the signature bytes may differ: SM2 is randomised)."""
        return (
            self.TYPE,
            self.proposer,
            self.height,
            self.round,
            self.block_hash,
            self.valid_round,
        )

    def to_wire(self, encode_value: Callable[[V], Any]) -> dict[str, Any]:
        return {
            "type": self.TYPE,
            "chain_id": self.chain_id,
            "height": self.height,
            "round": self.round,
            "block_hash": self.block_hash,
            "valid_round": self.valid_round,
            "proposer": self.proposer,
            "signature": self.signature,
            "value": encode_value(self.value),
        }


@dataclass(frozen=True)
class Vote:
    """A prevote or precommit for ``block_hash`` (``None``: a vote for nil)."""

    chain_id: str
    height: int
    round: int
    block_hash: str | None
    validator: str
    signature: str

    TYPE: ClassVar[str] = ""

    @staticmethod
    def bytes_for(chain_id: str, height: int, round_: int, block_hash: str | None) -> bytes:
        raise NotImplementedError

    @classmethod
    def sign(
        cls,
        signer: Signer,
        validator: str,
        chain_id: str,
        height: int,
        round_: int,
        block_hash: str | None,
    ) -> Self:
        data = cls.bytes_for(chain_id, height, round_, block_hash)
        return cls(chain_id, height, round_, block_hash, validator, signer.sign(data))

    @property
    def sender(self) -> str:
        return self.validator

    @cached_property
    def signing_bytes(self) -> bytes:
        return self.bytes_for(self.chain_id, self.height, self.round, self.block_hash)

    @property
    def key(self) -> tuple[str, str, int, int, str | None, int]:
        return (self.TYPE, self.validator, self.height, self.round, self.block_hash, -1)

    def to_wire(self, encode_value: Callable[[Any], Any] | None = None) -> dict[str, Any]:
        return {
            "type": self.TYPE,
            "chain_id": self.chain_id,
            "height": self.height,
            "round": self.round,
            "block_hash": self.block_hash,
            "validator": self.validator,
            "signature": self.signature,
        }


@dataclass(frozen=True)
class Prevote(Vote):
    TYPE: ClassVar[str] = "prevote"

    @staticmethod
    def bytes_for(chain_id: str, height: int, round_: int, block_hash: str | None) -> bytes:
        return prevote_bytes(chain_id, height, round_, block_hash)


@dataclass(frozen=True)
class Precommit(Vote):
    TYPE: ClassVar[str] = "precommit"

    @staticmethod
    def bytes_for(chain_id: str, height: int, round_: int, block_hash: str | None) -> bytes:
        return precommit_bytes(chain_id, height, round_, block_hash)


Message = Union[Proposal[V], Prevote, Precommit]  # noqa: UP007 (a generic alias)


# --- wire form --------------------------------------------------------------------------


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise MalformedData(f"{where}: expected a JSON object")
    return value


def _exact_keys(obj: Mapping[str, Any], keys: set[str], where: str) -> None:
    if set(obj) != keys:
        missing = sorted(keys - obj.keys())
        extra = sorted(obj.keys() - keys)
        raise MalformedData(f"{where}: missing {missing}, unknown {extra}")


def _int(obj: Mapping[str, Any], key: str, where: str, minimum: int = 0) -> int:
    value = obj[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedData(f"{where}.{key}: expected an integer")
    if not minimum <= value <= MAX_SAFE_INTEGER:
        raise MalformedData(f"{where}.{key}: {value} is out of range")
    return value


def _chain_id(obj: Mapping[str, Any], where: str) -> str:
    value = obj["chain_id"]
    if not isinstance(value, str) or not 0 < len(value) <= MAX_CHAIN_ID:
        raise MalformedData(f"{where}.chain_id: expected a string of 1 to {MAX_CHAIN_ID} chars")
    return value


def _id(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj[key]
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise MalformedData(f"{where}.{key}: expected a validator id")
    return value


def _signature(obj: Mapping[str, Any], where: str) -> str:
    value = obj["signature"]
    if not is_hex(value) or not 0 < len(value) <= MAX_SIGNATURE_HEX:
        raise MalformedData(f"{where}.signature: expected hex DER of at most 80 bytes")
    result: str = value
    return result


def _block_hash(obj: Mapping[str, Any], where: str, nil_allowed: bool) -> str | None:
    value = obj["block_hash"]
    if value is None and nil_allowed:
        return None
    if not is_hex(value, 64):
        raise MalformedData(f"{where}.block_hash: expected 64 lowercase hex characters")
    result: str = value
    return result


VOTE_KEYS = frozenset(
    {"type", "chain_id", "height", "round", "block_hash", "validator", "signature"}
)
PROPOSAL_KEYS = frozenset(
    {
        "type",
        "chain_id",
        "height",
        "round",
        "block_hash",
        "valid_round",
        "proposer",
        "signature",
        "value",
    }
)


def message_from_wire(
    value: Any, decode_value: Callable[[Any], V], where: str = "message"
) -> Message[V]:
    """Parse the wire JSON of a message; ``MalformedData`` names the offending field.

    Shape only: the signature, the sender's membership and the value's hash are checked by
    the state machine, which trusts nothing before that.
    """
    obj = _obj(value, where)
    kind = obj.get("type")
    if kind == Proposal.TYPE:
        _exact_keys(obj, set(PROPOSAL_KEYS), where)
        block_hash = _block_hash(obj, where, nil_allowed=False)
        assert block_hash is not None
        return Proposal(
            chain_id=_chain_id(obj, where),
            height=_int(obj, "height", where),
            round=_int(obj, "round", where),
            block_hash=block_hash,
            valid_round=_int(obj, "valid_round", where, minimum=-1),
            proposer=_id(obj, "proposer", where),
            signature=_signature(obj, where),
            value=decode_value(obj["value"]),
        )
    cls: type[Prevote] | type[Precommit]
    if kind == Prevote.TYPE:
        cls = Prevote
    elif kind == Precommit.TYPE:
        cls = Precommit
    else:
        raise MalformedData(f"{where}.type: expected proposal, prevote or precommit")
    _exact_keys(obj, set(VOTE_KEYS), where)
    return cls(
        chain_id=_chain_id(obj, where),
        height=_int(obj, "height", where),
        round=_int(obj, "round", where),
        block_hash=_block_hash(obj, where, nil_allowed=True),
        validator=_id(obj, "validator", where),
        signature=_signature(obj, where),
    )


def encode_message(message: Message[V], encode_value: Callable[[V], Any]) -> bytes:
    return canonical(message.to_wire(encode_value))


def decode_message(
    data: bytes, decode_value: Callable[[Any], V], *, max_proposal_bytes: int
) -> Message[V]:
    """Bytes off the wire to a message, refusing anything over the size limits first."""
    if len(data) > max(max_proposal_bytes, MAX_VOTE_BYTES):
        raise TooLarge(f"consensus message of {len(data)} bytes is over the limit")
    message = message_from_wire(parse_json(data), decode_value)
    if not isinstance(message, Proposal) and len(data) > MAX_VOTE_BYTES:
        raise TooLarge(f"vote of {len(data)} bytes is over {MAX_VOTE_BYTES}")
    return message
