"""Offline checks of what validators sign: commit certificates (spec section 4) and the
validator history that hands trust from the genesis set to a later set (section 6, step 5).
Pure functions over wire JSON; needs only the crypto dependencies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger.crypto import PublicKey
from ledger.errors import (
    CertificateError,
    InvalidInput,
    InvalidSignature,
    MalformedData,
    VerificationError,
)
from ledger.model import CommitCertificate, Genesis, Header, Validator, ValidatorSet, commit_vote


def parse_wire(fn: Any, value: Any, step: str) -> Any:
    """``fn(value)``, malformed input reported as a failure of ``step``."""
    try:
        return fn(value)
    except InvalidInput as exc:
        raise VerificationError(step, exc.message, code="malformed_receipt") from None


def verify_commit(
    commit: CommitCertificate, header: Header, validators: ValidatorSet, *, step: str
) -> None:
    """A valid certificate: distinct members of the set, each signature valid, power > 2/3."""
    if commit.height != header.height:
        raise CertificateError(
            step, "certificate is for another height", expected=header.height, found=commit.height
        )
    if commit.block_hash != header.block_hash:
        raise CertificateError(
            step,
            "certificate is for another block",
            expected=header.block_hash,
            found=commit.block_hash,
        )
    seen: set[str] = set()
    power = 0
    for i, sig in enumerate(commit.signatures):
        member = validators.get(sig.validator)
        if member is None:
            raise CertificateError(
                step,
                f"signature {i} is by a non-member of the validator set",
                expected=[v.id for v in validators.validators],
                found=sig.validator,
            )
        if sig.validator in seen:
            raise CertificateError(
                step, f"validator {sig.validator} signed twice", found=sig.validator
            )
        seen.add(sig.validator)
        vote = commit_vote(header.chain_id, commit.height, commit.round, commit.block_hash)
        try:
            PublicKey(member.public_key).verify(sig.signature, vote, step=step)
        except InvalidSignature as exc:
            raise CertificateError(
                step,
                f"signature of validator {sig.validator} does not verify",
                expected=exc.expected,
                found=sig.signature,
            ) from None
        except MalformedData as exc:
            raise CertificateError(step, f"validator {sig.validator}: {exc.message}") from None
        power += member.power
    total = validators.total_power
    if 3 * power <= 2 * total:
        raise CertificateError(
            step,
            "signers hold no more than 2/3 of the voting power",
            expected=f"> {2 * total}/3 of {total}",
            found=power,
        )


HISTORY_STEP = "5 validator_history"
HISTORY_ENTRY_KEYS = frozenset({"header", "commit", "next_validators"})


def validator_sets(
    trusted: ValidatorSet, history: Any, chain_id: str, step_prefix: str = HISTORY_STEP
) -> list[ValidatorSet]:
    """The sets a ``validator_history`` (spec section 6, step 5) hands trust through, from
    ``trusted`` to the last one reached, each certified by the one before; raises a
    ``VerificationError`` whose step is ``{step_prefix}[i]`` for the failing entry ``i``."""
    if not isinstance(history, list):
        raise VerificationError(step_prefix, "validator_history is not a list")
    sets = [trusted]
    for i, entry in enumerate(history):
        step = f"{step_prefix}[{i}]"
        if not isinstance(entry, Mapping) or set(entry) != HISTORY_ENTRY_KEYS:
            raise VerificationError(step, "entry must hold header, commit and next_validators")
        h = parse_wire(Header.from_wire, entry["header"], step)
        c = parse_wire(CommitCertificate.from_wire, entry["commit"], step)
        nxt = parse_wire(ValidatorSet.from_wire, entry["next_validators"], step)
        if h.chain_id != chain_id:
            raise VerificationError(
                step, "header is for another chain", expected=chain_id, found=h.chain_id
            )
        if h.validators_hash != sets[-1].hash:
            raise VerificationError(
                step,
                "header is not certified by the trusted set",
                expected=sets[-1].hash,
                found=h.validators_hash,
            )
        verify_commit(c, h, sets[-1], step=step)
        if h.next_validators_hash != nxt.hash:
            raise VerificationError(
                step,
                "next_validators does not match next_validators_hash",
                expected=h.next_validators_hash,
                found=nxt.hash,
            )
        sets.append(nxt)
    return sets


def follow_validator_history(
    trusted: ValidatorSet, history: Any, chain_id: str, step_prefix: str = HISTORY_STEP
) -> ValidatorSet:
    """The set ``history`` hands trust to from ``trusted`` (spec section 6, step 5)."""
    return validator_sets(trusted, history, chain_id, step_prefix)[-1]


def history_validator(
    genesis: Genesis,
    validator_id: str,
    history: Any,
    *,
    step: str,
    public_key: str | None = None,
) -> Validator:
    """A validator (with ``public_key``, when given) of the genesis set or of a set that
    ``history`` hands trust to: how a verifier authenticates what a node signed with its
    validator key when that validator joined after genesis. The newest such membership."""
    for validators in reversed(validator_sets(genesis.validators, history, genesis.chain_id, step)):
        member = validators.get(validator_id)
        if member is not None and public_key in (None, member.public_key):
            return member
    raise VerificationError(
        step,
        "the signer is not a validator (with this key) of the genesis set or of a set the "
        "validator history hands trust to",
        expected="a validator of a trusted set",
        found=validator_id if public_key is None else f"{validator_id} {public_key}",
        code="unknown_signer",
    )
