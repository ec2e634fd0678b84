"""Offline verification of commit certificates, receipts and checkpoints (spec 4, 6, 7).

Pure functions over wire JSON and a trusted genesis: no I/O, no clock. Each check computes
its value, compares, and raises a ``VerificationError`` (or subclass) whose ``step`` names
the failed step of the spec, with what was expected and what was found.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.canonical import canonical
from ledger.crypto import PublicKey, key_id, sm3_hex
from ledger.domains.validator.verify import (
    follow_validator_history,
    parse_wire,
    verify_commit,
)
from ledger.errors import (
    InvalidInput,
    InvalidSignature,
    MalformedData,
    ProofError,
    VerificationError,
)
from ledger.merkle import SM3, verify_consistency, verify_inclusion
from ledger.model import (
    CommitCertificate,
    Genesis,
    Header,
    SignedTransaction,
    ValidatorSet,
)

RECEIPT_KEYS = frozenset(
    {
        "version",
        "chain_id",
        "tx_id",
        "transaction",
        "submitter_public_key",
        "index",
        "inclusion_proof",
        "header",
        "commit",
        "validators",
        "validator_history",
    }
)


@dataclass(frozen=True)
class VerifiedReceipt:
    tx_id: str
    transaction: SignedTransaction
    header: Header
    index: int


def verify_receipt(receipt: Mapping[str, Any], genesis: Genesis) -> VerifiedReceipt:
    """Check a receipt (spec section 6) against a trusted genesis; raise at the first failure.

    Every failure is a ``VerificationError`` whose ``step`` starts with the step number.
    """
    try:
        return _verify_receipt(receipt, genesis)
    except VerificationError:
        raise
    except InvalidInput as exc:
        raise VerificationError("0 shape", exc.message, code="malformed_receipt") from None
    except (KeyError, TypeError, AttributeError) as exc:
        raise VerificationError(
            "0 shape", f"receipt is malformed: {exc!r}", code="malformed_receipt"
        ) from None


def _verify_receipt(receipt: Mapping[str, Any], genesis: Genesis) -> VerifiedReceipt:
    if not isinstance(receipt, Mapping):
        raise VerificationError("0 shape", "a receipt is a JSON object", code="malformed_receipt")
    missing = RECEIPT_KEYS - receipt.keys()
    if missing:
        raise VerificationError(
            "0 shape",
            "receipt misses fields",
            code="malformed_receipt",
            expected=sorted(RECEIPT_KEYS),
            found=sorted(receipt.keys()),
        )
    if receipt["version"] != 1:
        raise VerificationError(
            "0 shape",
            "unknown receipt version",
            expected=1,
            found=receipt["version"],
            code="malformed_receipt",
        )
    tx = parse_wire(SignedTransaction.from_wire, receipt["transaction"], "0 shape")
    header = parse_wire(Header.from_wire, receipt["header"], "0 shape")
    commit = parse_wire(CommitCertificate.from_wire, receipt["commit"], "0 shape")
    env = tx.envelope

    # 1. transaction id and chain
    computed = sm3_hex(canonical(receipt["transaction"]["envelope"]))
    if computed != receipt["tx_id"]:
        raise VerificationError(
            "1 tx_id", "tx_id is not H(C(envelope))", expected=computed, found=receipt["tx_id"]
        )
    if receipt["chain_id"] != genesis.chain_id:
        raise VerificationError(
            "1 chain_id",
            "receipt is for another chain",
            expected=genesis.chain_id,
            found=receipt["chain_id"],
        )
    if env.chain_id != genesis.chain_id:
        raise VerificationError(
            "1 chain_id",
            "envelope is for another chain",
            expected=genesis.chain_id,
            found=env.chain_id,
        )

    # 2. submitter's key and signature
    pk_hex = receipt["submitter_public_key"]
    try:
        public_key = PublicKey(pk_hex)
    except MalformedData as exc:
        raise VerificationError("2 key_id", exc.message, found=pk_hex) from None
    if env.key_id != key_id(pk_hex):
        raise VerificationError(
            "2 key_id",
            "envelope.key_id is not key_id(submitter_public_key)",
            expected=key_id(pk_hex),
            found=env.key_id,
        )
    try:
        tx.verify_signature(public_key)
    except InvalidSignature as exc:
        raise InvalidSignature(
            "2 signature",
            "the submitter's signature does not verify",
            expected=exc.expected,
            found=tx.signature,
        ) from None

    # 3. inclusion in the block
    index, proof_hex = receipt["index"], receipt["inclusion_proof"]
    if isinstance(index, bool) or not isinstance(index, int):
        raise VerificationError("3 inclusion", "index is not an integer", found=index)
    if not isinstance(proof_hex, list) or not all(isinstance(p, str) for p in proof_hex):
        raise VerificationError("3 inclusion", "inclusion_proof is not a list of hex hashes")
    try:
        proof = [bytes.fromhex(p) for p in proof_hex]
        leaf_hash = SM3.hash_leaf(canonical(receipt["transaction"]))
        verify_inclusion(
            SM3, index, header.tx_count, leaf_hash, proof, bytes.fromhex(header.tx_root)
        )
    except ValueError:
        raise ProofError("3 inclusion", "inclusion_proof holds something that is not hex") from None
    except ProofError as exc:
        raise ProofError(
            "3 inclusion", exc.message.split(": ", 1)[-1], expected=exc.expected, found=exc.found
        ) from None

    # 4. certificate names this header
    if commit.height != header.height:
        raise VerificationError(
            "4 commit",
            "commit.height is not header.height",
            expected=header.height,
            found=commit.height,
        )
    if commit.block_hash != header.block_hash:
        raise VerificationError(
            "4 commit",
            "commit.block_hash is not H(C(header))",
            expected=header.block_hash,
            found=commit.block_hash,
        )

    # 5. hand-over of trust from the genesis validator set
    trusted = follow_validator_history(
        genesis.validators, receipt["validator_history"], genesis.chain_id
    )

    # 6. the block's certificate under the trusted set
    validators = parse_wire(ValidatorSet.from_wire, receipt["validators"], "6 validators")
    if validators != trusted:
        raise VerificationError(
            "6 validators",
            "validators is not the trusted set reached",
            expected=trusted.hash,
            found=validators.hash,
        )
    if header.validators_hash != validators.hash:
        raise VerificationError(
            "6 validators",
            "header.validators_hash does not match",
            expected=validators.hash,
            found=header.validators_hash,
        )
    if header.chain_id != genesis.chain_id:
        raise VerificationError(
            "6 validators",
            "header is for another chain",
            expected=genesis.chain_id,
            found=header.chain_id,
        )
    verify_commit(commit, header, validators, step="6 commit")
    return VerifiedReceipt(receipt["tx_id"], tx, header, index)


CHECKPOINT_HISTORY_STEP = "checkpoint validator_history"


def verify_checkpoint_from_genesis(checkpoint: Mapping[str, Any], genesis: Genesis) -> Header:
    """A checkpoint certified by the set its ``validator_history`` (empty when absent; the
    same handovers as in a receipt of its block) hands trust to from the genesis set."""
    if not isinstance(checkpoint, Mapping):
        raise VerificationError("checkpoint", "a checkpoint is a JSON object")
    trusted = follow_validator_history(
        genesis.validators,
        checkpoint.get("validator_history", []),
        genesis.chain_id,
        CHECKPOINT_HISTORY_STEP,
    )
    return verify_checkpoint(checkpoint, trusted)


def verify_checkpoint(checkpoint: Mapping[str, Any], validators: ValidatorSet) -> Header:
    """A checkpoint (spec section 7) is a header with a valid certificate of ``validators``."""
    header = parse_wire(Header.from_wire, checkpoint.get("header"), "checkpoint")
    commit = parse_wire(CommitCertificate.from_wire, checkpoint.get("commit"), "checkpoint")
    if header.validators_hash != validators.hash:
        raise VerificationError(
            "checkpoint validators",
            "header names another validator set",
            expected=validators.hash,
            found=header.validators_hash,
        )
    verify_commit(commit, header, validators, step="checkpoint commit")
    result: Header = header
    return result


def verify_log_consistency(older: Header, newer: Header, proof_hex: Sequence[str]) -> None:
    """The newer header's log extends the older one's (spec section 7)."""
    try:
        proof = [bytes.fromhex(p) for p in proof_hex]
    except (ValueError, TypeError):
        raise ProofError("consistency", "proof holds something that is not hex") from None
    verify_consistency(
        SM3,
        older.log_size,
        newer.log_size,
        bytes.fromhex(older.log_root),
        bytes.fromhex(newer.log_root),
        proof,
    )
