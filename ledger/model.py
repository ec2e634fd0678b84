"""The data model of spec sections 2, 4 and 5, with conversion to and from wire JSON.

Objects are immutable; ``from_wire`` checks shape and raises ``MalformedData`` naming the
field; ``to_wire`` returns the JSON value whose canonical bytes are hashed and signed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ledger.canonical import MAX_SAFE_INTEGER, canonical
from ledger.crypto import PublicKey, is_hex, sm3, sm3_hex
from ledger.errors import MalformedData

TYPE_PATTERN = re.compile(r"[a-z_]+\.[a-z_]+")
ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,127}")
ZERO_HASH = "0" * 64


# --- field readers ----------------------------------------------------------------------


def _obj(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise MalformedData(f"{where}: expected a JSON object")
    return value


def _exact_keys(obj: Mapping[str, Any], keys: set[str], where: str) -> None:
    missing = keys - obj.keys()
    extra = obj.keys() - keys
    if missing:
        raise MalformedData(f"{where}: missing field(s) {', '.join(sorted(missing))}")
    if extra:
        raise MalformedData(f"{where}: unknown field(s) {', '.join(sorted(extra))}")


def _str(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise MalformedData(f"{where}.{key}: expected a string")
    return value


def _int(obj: Mapping[str, Any], key: str, where: str, minimum: int = 0) -> int:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedData(f"{where}.{key}: expected an integer")
    if not minimum <= value <= MAX_SAFE_INTEGER:
        raise MalformedData(f"{where}.{key}: {value} is out of range")
    return value


def _hex(obj: Mapping[str, Any], key: str, where: str, length: int | None = None) -> str:
    value = _str(obj, key, where)
    if not is_hex(value, length):
        size = f"{length} " if length else ""
        raise MalformedData(f"{where}.{key}: expected {size}lowercase hex characters")
    return value


def _id(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = _str(obj, key, where)
    if not ID_PATTERN.fullmatch(value):
        raise MalformedData(
            f"{where}.{key}: {value!r} is not an id (letters, digits, '.', '_', '-'; "
            "at most 128 characters)"
        )
    return value


# --- transactions (section 2) -------------------------------------------------------------


@dataclass(frozen=True)
class Envelope:
    chain_id: str
    type: str
    submitter: str
    key_id: str
    nonce: str
    timestamp: int
    payload: Mapping[str, Any]

    KEYS = frozenset({"chain_id", "type", "submitter", "key_id", "nonce", "timestamp", "payload"})

    @classmethod
    def from_wire(cls, value: Any, where: str = "envelope") -> Envelope:
        obj = _obj(value, where)
        _exact_keys(obj, set(cls.KEYS), where)
        tx_type = _str(obj, "type", where)
        if not TYPE_PATTERN.fullmatch(tx_type):
            raise MalformedData(f"{where}.type: {tx_type!r} is not <domain>.<action>")
        return cls(
            chain_id=_str(obj, "chain_id", where),
            type=tx_type,
            submitter=_id(obj, "submitter", where),
            key_id=_hex(obj, "key_id", where, 64),
            nonce=_hex(obj, "nonce", where, 32),
            timestamp=_int(obj, "timestamp", where),
            payload=_obj(obj["payload"], f"{where}.payload"),
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "type": self.type,
            "submitter": self.submitter,
            "key_id": self.key_id,
            "nonce": self.nonce,
            "timestamp": self.timestamp,
            "payload": self.payload,
        }

    @cached_property
    def canonical(self) -> bytes:
        return canonical(self.to_wire())

    @cached_property
    def tx_id(self) -> str:
        return sm3_hex(self.canonical)


@dataclass(frozen=True)
class SignedTransaction:
    envelope: Envelope
    signature: str

    @classmethod
    def from_wire(cls, value: Any, where: str = "transaction") -> SignedTransaction:
        obj = _obj(value, where)
        _exact_keys(obj, {"envelope", "signature"}, where)
        signature = _str(obj, "signature", where)
        if not is_hex(signature) or len(signature) > 160:
            raise MalformedData(f"{where}.signature: expected hex DER of at most 80 bytes")
        return cls(Envelope.from_wire(obj["envelope"], f"{where}.envelope"), signature)

    @classmethod
    def from_checked(
        cls, value: Mapping[str, Any], envelope_bytes: bytes, tx_id: str, leaf_hash: bytes
    ) -> SignedTransaction:
        """The transaction that :meth:`from_wire` accepted from an identical copy of
        ``value`` in a verification worker (``ledger.admission.check_chunk``), rebuilt
        without checking it again; the bytes and hashes the worker computed come along."""
        obj = value["envelope"]
        envelope = Envelope(
            chain_id=obj["chain_id"],
            type=obj["type"],
            submitter=obj["submitter"],
            key_id=obj["key_id"],
            nonce=obj["nonce"],
            timestamp=obj["timestamp"],
            payload=obj["payload"],
        )
        envelope.__dict__["canonical"] = envelope_bytes
        envelope.__dict__["tx_id"] = tx_id
        tx = cls(envelope, value["signature"])
        tx.__dict__["leaf_hash"] = leaf_hash
        return tx

    def to_wire(self) -> dict[str, Any]:
        return {"envelope": self.envelope.to_wire(), "signature": self.signature}

    @property
    def tx_id(self) -> str:
        return self.envelope.tx_id

    @cached_property
    def leaf(self) -> bytes:
        """``C(signed transaction)``: the Merkle leaf data (spec section 3).

        Built from ``C(envelope)``: the keys sort as envelope < signature and a hex string
        needs no escaping, so this equals ``canonical(self.to_wire())``.
        """
        return (
            b'{"envelope":'
            + self.envelope.canonical
            + b',"signature":"'
            + self.signature.encode()
            + b'"}'
        )

    @cached_property
    def leaf_hash(self) -> bytes:
        return sm3(b"\x00" + self.leaf)

    def verify_signature(self, public_key: PublicKey) -> None:
        public_key.verify(self.signature, self.envelope.canonical)


# --- validators, headers, certificates (section 4) ---------------------------------------


@dataclass(frozen=True)
class Validator:
    id: str
    public_key: str
    power: int

    def to_wire(self) -> dict[str, Any]:
        return {"id": self.id, "public_key": self.public_key, "power": self.power}


@dataclass(frozen=True)
class ValidatorSet:
    validators: tuple[Validator, ...]

    @classmethod
    def from_wire(cls, value: Any, where: str = "validators") -> ValidatorSet:
        obj = _obj(value, where)
        _exact_keys(obj, {"validators"}, where)
        items = obj["validators"]
        if not isinstance(items, list) or not items:
            raise MalformedData(f"{where}.validators: expected a non-empty list")
        validators = []
        for i, item in enumerate(items):
            w = f"{where}.validators[{i}]"
            v = _obj(item, w)
            _exact_keys(v, {"id", "public_key", "power"}, w)
            validators.append(
                Validator(_id(v, "id", w), _hex(v, "public_key", w, 130), _int(v, "power", w, 1))
            )
        ids = [v.id for v in validators]
        if ids != sorted(ids) or len(set(ids)) != len(ids):
            raise MalformedData(f"{where}.validators: ids must be distinct and in ascending order")
        return cls(tuple(validators))

    @classmethod
    def of(cls, validators: list[Validator]) -> ValidatorSet:
        return cls(tuple(sorted(validators, key=lambda v: v.id)))

    def to_wire(self) -> dict[str, Any]:
        return {"validators": [v.to_wire() for v in self.validators]}

    @cached_property
    def hash(self) -> str:
        return sm3_hex(canonical(self.to_wire()))

    @property
    def total_power(self) -> int:
        return sum(v.power for v in self.validators)

    def get(self, validator_id: str) -> Validator | None:
        for v in self.validators:
            if v.id == validator_id:
                return v
        return None


@dataclass(frozen=True)
class Header:
    chain_id: str
    height: int
    prev_hash: str
    timestamp: int
    tx_count: int
    tx_root: str
    log_size: int
    log_root: str
    validators_hash: str
    next_validators_hash: str
    proposer: str

    @classmethod
    def from_wire(cls, value: Any, where: str = "header") -> Header:
        obj = _obj(value, where)
        _exact_keys(obj, set(cls.__dataclass_fields__), where)
        return cls(
            chain_id=_str(obj, "chain_id", where),
            height=_int(obj, "height", where),
            prev_hash=_hex(obj, "prev_hash", where, 64),
            timestamp=_int(obj, "timestamp", where),
            tx_count=_int(obj, "tx_count", where),
            tx_root=_hex(obj, "tx_root", where, 64),
            log_size=_int(obj, "log_size", where),
            log_root=_hex(obj, "log_root", where, 64),
            validators_hash=_hex(obj, "validators_hash", where, 64),
            next_validators_hash=_hex(obj, "next_validators_hash", where, 64),
            proposer=_str(obj, "proposer", where),
        )

    def to_wire(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @cached_property
    def canonical(self) -> bytes:
        return canonical(self.to_wire())

    @cached_property
    def block_hash(self) -> str:
        return sm3_hex(self.canonical)


def commit_vote(chain_id: str, height: int, round_: int, block_hash: str) -> bytes:
    """``C(vote)``: the bytes a validator signs to commit a block (spec section 4)."""
    return canonical(
        {
            "type": "commit",
            "chain_id": chain_id,
            "height": height,
            "round": round_,
            "block_hash": block_hash,
        }
    )


@dataclass(frozen=True)
class CommitSignature:
    validator: str
    signature: str


@dataclass(frozen=True)
class CommitCertificate:
    height: int
    round: int
    block_hash: str
    signatures: tuple[CommitSignature, ...]

    @classmethod
    def from_wire(cls, value: Any, where: str = "commit") -> CommitCertificate:
        obj = _obj(value, where)
        _exact_keys(obj, {"height", "round", "block_hash", "signatures"}, where)
        items = obj["signatures"]
        if not isinstance(items, list):
            raise MalformedData(f"{where}.signatures: expected a list")
        sigs = []
        for i, item in enumerate(items):
            w = f"{where}.signatures[{i}]"
            s = _obj(item, w)
            _exact_keys(s, {"validator", "signature"}, w)
            sigs.append(CommitSignature(_str(s, "validator", w), _hex(s, "signature", w)))
        return cls(
            height=_int(obj, "height", where),
            round=_int(obj, "round", where),
            block_hash=_hex(obj, "block_hash", where, 64),
            signatures=tuple(sigs),
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "height": self.height,
            "round": self.round,
            "block_hash": self.block_hash,
            "signatures": [
                {"validator": s.validator, "signature": s.signature} for s in self.signatures
            ],
        }


# --- genesis (section 5) ------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    id: str
    roles: tuple[str, ...]
    public_key: str

    def to_wire(self) -> dict[str, Any]:
        return {"id": self.id, "roles": list(self.roles), "public_key": self.public_key}


def member_from_wire(value: Any, where: str) -> Member:
    obj = _obj(value, where)
    _exact_keys(obj, {"id", "roles", "public_key"}, where)
    roles = obj["roles"]
    if not isinstance(roles, list) or not roles or not all(isinstance(r, str) for r in roles):
        raise MalformedData(f"{where}.roles: expected a non-empty list of role names")
    if len(set(roles)) != len(roles):
        raise MalformedData(f"{where}.roles: a role is listed twice")
    return Member(_id(obj, "id", where), tuple(roles), _hex(obj, "public_key", where, 130))


@dataclass(frozen=True)
class Genesis:
    chain_id: str
    timestamp: int
    validators: ValidatorSet
    members: tuple[Member, ...]
    params: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_wire(cls, value: Any, where: str = "genesis") -> Genesis:
        obj = _obj(value, where)
        _exact_keys(obj, {"chain_id", "timestamp", "validators", "members", "params"}, where)
        members = obj["members"]
        if not isinstance(members, list):
            raise MalformedData(f"{where}.members: expected a list")
        parsed = tuple(member_from_wire(m, f"{where}.members[{i}]") for i, m in enumerate(members))
        if len({m.id for m in parsed}) != len(parsed):
            raise MalformedData(f"{where}.members: member ids must be distinct")
        return cls(
            chain_id=_str(obj, "chain_id", where),
            timestamp=_int(obj, "timestamp", where),
            validators=ValidatorSet.from_wire(obj["validators"], f"{where}.validators"),
            members=parsed,
            params=_obj(obj["params"], f"{where}.params"),
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "timestamp": self.timestamp,
            "validators": self.validators.to_wire(),
            "members": [m.to_wire() for m in self.members],
            "params": dict(self.params),
        }

    @cached_property
    def hash(self) -> str:
        return sm3_hex(canonical(self.to_wire()))
