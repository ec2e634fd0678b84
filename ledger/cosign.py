"""Witness cosignatures of checkpoints: the one place that defines what a witness signs.

A witness is a registered member with role ``auditor``. After it has checked a checkpoint
(spec section 7) against the checkpoint it verified before, it signs with its SM2 key

    C({"type": "ledger.cosignature", "chain_id": ..., "height": h, "log_size": n,
       "log_root": hex, "block_hash": hex})

and posts the cosignature to the node, which serves it beside its checkpoint. A cosignature
says: this witness saw this validator-certified ``(log_size, log_root)`` and found it consistent
with everything it saw before. Pure: no I/O, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from ledger.canonical import canonical
from ledger.crypto import PublicKey, Signer
from ledger.domains.member.state import MemberRegistry
from ledger.errors import InvalidSignature, NotFound, RuleViolation, VerificationError
from ledger.model import Header, _exact_keys, _hex, _id, _int, _obj

COSIGNATURE_TYPE = "ledger.cosignature"
WITNESS_ROLE = "auditor"
CHECKPOINT_FIELDS = ("height", "log_size", "log_root", "block_hash")


def checkpoint_fields(header: Header) -> dict[str, Any]:
    """What a cosignature names of a checkpoint: its height, log and block hash."""
    return {name: getattr(header, name) for name in CHECKPOINT_FIELDS}


def cosigned_statement(
    chain_id: str, height: int, log_size: int, log_root: str, block_hash: str
) -> bytes:
    """The bytes a witness signs for the checkpoint of ``height``."""
    return canonical(
        {
            "type": COSIGNATURE_TYPE,
            "chain_id": chain_id,
            "height": height,
            "log_size": log_size,
            "log_root": log_root,
            "block_hash": block_hash,
        }
    )


@dataclass(frozen=True)
class Cosignature:
    witness: str
    key_id: str
    height: int
    log_size: int
    log_root: str
    block_hash: str
    signature: str

    @classmethod
    def from_wire(cls, value: Any, where: str = "cosignature") -> Cosignature:
        obj = _obj(value, where)
        _exact_keys(obj, {f.name for f in fields(cls)}, where)
        return cls(
            witness=_id(obj, "witness", where),
            key_id=_hex(obj, "key_id", where, 64),
            height=_int(obj, "height", where),
            log_size=_int(obj, "log_size", where),
            log_root=_hex(obj, "log_root", where, 64),
            block_hash=_hex(obj, "block_hash", where, 64),
            signature=_hex(obj, "signature", where),
        )

    def to_wire(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def statement(self, chain_id: str) -> bytes:
        return cosigned_statement(
            chain_id, self.height, self.log_size, self.log_root, self.block_hash
        )

    def checkpoint(self) -> dict[str, Any]:
        """The checkpoint fields this cosignature names."""
        return {name: getattr(self, name) for name in CHECKPOINT_FIELDS}


def cosign(signer: Signer, witness: str, header: Header) -> Cosignature:
    """Sign the checkpoint whose header is ``header`` as ``witness``."""
    statement = cosigned_statement(
        header.chain_id, header.height, header.log_size, header.log_root, header.block_hash
    )
    return Cosignature(
        witness=witness,
        key_id=signer.public_key.key_id,
        signature=signer.sign(statement),
        **checkpoint_fields(header),
    )


def verify_cosignature(cosignature: Cosignature, chain_id: str, public_key: str) -> None:
    """The signature verifies under ``public_key``, whose key_id the cosignature names."""
    key = PublicKey(public_key)
    if key.key_id != cosignature.key_id:
        raise VerificationError(
            "cosignature key",
            "the public key is not the one the cosignature names",
            expected=cosignature.key_id,
            found=key.key_id,
            code="wrong_witness_key",
        )
    try:
        key.verify(cosignature.signature, cosignature.statement(chain_id), step="cosignature")
    except InvalidSignature as exc:
        raise InvalidSignature(
            "cosignature signature",
            f"the signature of witness {cosignature.witness} does not verify",
            expected=exc.expected,
            found=cosignature.signature,
        ) from None


def check_cosignature(
    cosignature: Cosignature, chain_id: str, registry: MemberRegistry, header: Header | None
) -> None:
    """What a node checks before it stores a cosignature.

    The witness is an active member with role auditor and signs with its current key; the
    signature verifies; and the cosigned checkpoint is the node's own block at that height
    (``header``; None when the node has no such block). Raises a typed error with a stable
    code; nothing is to be stored unless this returns."""
    member = registry.members.get(cosignature.witness)
    if member is None or not member.active or WITNESS_ROLE not in member.roles:
        raise RuleViolation(
            f"{cosignature.witness!r} is not an active member with role {WITNESS_ROLE}",
            code="not_a_witness",
        )
    if member.key_id != cosignature.key_id:
        raise RuleViolation(
            f"key_id {cosignature.key_id} is not the current key of {member.id} ({member.key_id})",
            code="wrong_witness_key",
        )
    verify_cosignature(cosignature, chain_id, member.public_key)
    if header is None:
        raise NotFound(
            f"this node has no block at height {cosignature.height}", code="block_not_found"
        )
    if cosignature.checkpoint() != checkpoint_fields(header):
        raise VerificationError(
            "cosignature checkpoint",
            f"the cosigned checkpoint is not this node's block {header.height}",
            expected=checkpoint_fields(header),
            found=cosignature.checkpoint(),
            code="checkpoint_mismatch",
        )
