"""The auditor witness: holds a node to its append-only promise (spec section 7).

A witness keeps the last checkpoint it verified in a state file. Each run it fetches the
node's newest checkpoint, checks its certificate under the set its ``validator_history``
hands trust to (always followed from the genesis set), fetches the consistency proof from
the kept ``log_size`` to the new one and checks it against both roots; then it keeps the new
checkpoint and posts a cosignature of it (``ledger/cosign.py``). Two validator-certified
checkpoints that cannot belong to one append-only log are proof that the node rewrote its
history: the witness writes them, with the node's consistency proof and each checkpoint's
validator history, to an evidence file that anyone holding ``genesis.json`` can check again
(``check_evidence``, ``ledger witness-check-evidence``).
docs/witness.md says what each kind of evidence proves.

The core (``accept_checkpoint``, ``compare``, ``inconsistent``, ``advance``,
``check_evidence``) is pure; the node's consistency proofs come in through a function, and the
node, the disk and the clock are reached only by ``NodeApi`` and ``run``.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.canonical import parse_json
from ledger.cosign import Cosignature, cosign
from ledger.crypto import Signer, is_hex
from ledger.errors import InvalidInput, MalformedData, ProofError, VerificationError
from ledger.genesis import genesis_block
from ledger.merkle import SM3, consistency_ranges, fold, verify_consistency
from ledger.model import CommitCertificate, Genesis, Header, _obj
from ledger.verify import verify_checkpoint_from_genesis

STATE_VERSION = 1
EVIDENCE_TYPE = "ledger.witness.evidence"

# Why two checkpoints cannot both belong to one append-only log.
LOG_SHRANK = "log_shrank"
SAME_SIZE_DIFFERENT_ROOT = "same_size_different_root"
CONFLICTING_BLOCKS = "conflicting_blocks"
HEIGHT_WENT_BACK = "height_went_back"
INCONSISTENT_LOG = "inconsistent_log"


@dataclass(frozen=True)
class Checkpoint:
    """A header with its commit certificate, as ``GET /v1/checkpoint`` shows it."""

    header: Header
    commit: CommitCertificate
    # the handovers from the genesis set to the set certifying ``header`` (spec section 6,
    # step 5), as wire JSON; checked by ``accept_checkpoint``
    validator_history: tuple[Mapping[str, Any], ...] = ()

    @classmethod
    def from_wire(cls, value: Any, where: str = "checkpoint") -> Checkpoint:
        value = _obj(value, where)
        history = value.get("validator_history", [])
        if not isinstance(history, list):
            raise MalformedData(f"{where}.validator_history is not a list")
        return cls(
            Header.from_wire(value.get("header"), f"{where}.header"),
            CommitCertificate.from_wire(value.get("commit"), f"{where}.commit"),
            tuple(history),
        )

    def to_wire(self) -> dict[str, Any]:
        return {
            "header": self.header.to_wire(),
            "commit": self.commit.to_wire(),
            "validator_history": list(self.validator_history),
        }

    def describe(self) -> str:
        h = self.header
        return f"height {h.height}, log size {h.log_size}, root {h.log_root}"


class HistoryConflict(VerificationError):
    """Two certified checkpoints of the same chain that no append-only log can produce, or,
    with ``conclusive`` False, that the node failed to prove consistent."""

    code = "history_rewritten"

    def __init__(
        self,
        reason: str,
        message: str,
        stored: Checkpoint,
        presented: Checkpoint,
        proof: Sequence[str] | None = None,
        *,
        first_root: str | None = None,
        conclusive: bool = True,
        expected: Any = None,
        found: Any = None,
    ) -> None:
        super().__init__(reason, message, expected=expected, found=found)
        self.reason = reason
        self.stored = stored
        self.presented = presented
        self.proof = None if proof is None else list(proof)
        self.first_root = first_root
        self.conclusive = conclusive
        self.evidence_file: Path | None = None

    def evidence(self, genesis: Genesis) -> dict[str, Any]:
        """The evidence file's content: both checkpoints, the proof, what fails."""
        proof = None
        if self.proof is not None:
            proof = {
                "first": self.stored.header.log_size,
                "second": self.presented.header.log_size,
                "proof": self.proof,
                "first_root": self.first_root,
            }
        return {
            "type": EVIDENCE_TYPE,
            "version": 1,
            "reason": self.reason,
            "conclusive": self.conclusive,
            "message": self.message,
            "chain_id": genesis.chain_id,
            "genesis_hash": genesis.hash,
            "stored": self.stored.to_wire(),
            "presented": self.presented.to_wire(),
            "consistency_proof": proof,
            "error": self.to_dict(),
        }


# --- the pure core ------------------------------------------------------------------------

# ``proofs(first, second)``: the node's consistency proof, as hex hashes
ProofSource = Callable[[int, int], Sequence[str]]


@dataclass(frozen=True)
class WitnessState:
    """What a witness keeps between runs: the genesis it trusts and the last checkpoint it
    verified (the genesis block until the first run has verified one)."""

    genesis: Genesis
    checkpoint: Checkpoint

    @classmethod
    def initial(cls, genesis: Genesis) -> WitnessState:
        block = genesis_block(genesis)
        return cls(genesis, Checkpoint(block.header, block.commit))

    @classmethod
    def from_wire(cls, value: Any) -> WitnessState:
        if not isinstance(value, Mapping) or value.get("version") != STATE_VERSION:
            raise MalformedData(f"witness state: expected version {STATE_VERSION}")
        genesis = Genesis.from_wire(value.get("genesis"), "witness state genesis")
        if value.get("genesis_hash") != genesis.hash:
            raise MalformedData(
                "witness state: genesis_hash is not the hash of the genesis it holds"
            )
        state = cls(genesis, Checkpoint.from_wire(value.get("checkpoint"), "state checkpoint"))
        accept_checkpoint(genesis, state.checkpoint.to_wire())
        return state

    def to_wire(self) -> dict[str, Any]:
        return {
            "version": STATE_VERSION,
            "chain_id": self.genesis.chain_id,
            "genesis_hash": self.genesis.hash,
            "genesis": self.genesis.to_wire(),
            "checkpoint": self.checkpoint.to_wire(),
        }


def check_genesis(state: WitnessState | None, genesis: Genesis) -> WitnessState:
    """The state to continue from: a new one for a first run, else the kept one, whose
    genesis the node's must be."""
    if state is None:
        return WitnessState.initial(genesis)
    if genesis.hash != state.genesis.hash:
        raise VerificationError(
            "genesis",
            "the node's genesis is not the one this witness trusts",
            expected=state.genesis.hash,
            found=genesis.hash,
            code="genesis_mismatch",
        )
    return state


def accept_checkpoint(genesis: Genesis, value: Any) -> Checkpoint:
    """A checkpoint of this chain with a valid certificate; block 0 must be the genesis
    block rebuilt from ``genesis`` (it carries no signatures)."""
    checkpoint = Checkpoint.from_wire(value)
    header = checkpoint.header
    if header.chain_id != genesis.chain_id:
        raise VerificationError(
            "checkpoint chain",
            "checkpoint is for another chain",
            expected=genesis.chain_id,
            found=header.chain_id,
        )
    if header.height == 0:
        block = genesis_block(genesis)
        if checkpoint != Checkpoint(block.header, block.commit):
            raise VerificationError(
                "checkpoint genesis",
                "block 0 is not the genesis block of the trusted genesis",
                expected=block.header.block_hash,
                found=header.block_hash,
            )
        return checkpoint
    try:
        verify_checkpoint_from_genesis(checkpoint.to_wire(), genesis)
    except VerificationError as exc:
        if exc.step == "checkpoint validators":
            raise VerificationError(
                exc.step,
                "the checkpoint is certified by another validator set than the one its "
                "validator_history hands trust to from the genesis set",
                expected=exc.expected,
                found=exc.found,
            ) from None
        raise
    return checkpoint


def compare(stored: Checkpoint, presented: Checkpoint) -> bool:
    """Raise ``HistoryConflict`` when the two checkpoints contradict each other without a
    proof; return whether a consistency proof is needed (the log grew)."""
    old, new = stored.header, presented.header
    # (contradiction, reason, message, what the stored checkpoint requires, what was found)
    checks: list[tuple[bool, str, str, Any, Any]] = [
        (
            new.log_size < old.log_size,
            LOG_SHRANK,
            f"the log shrank from {old.log_size} to {new.log_size} transactions",
            f">= {old.log_size}",
            new.log_size,
        ),
        (
            new.log_size == old.log_size and new.log_root != old.log_root,
            SAME_SIZE_DIFFERENT_ROOT,
            f"two different logs of {new.log_size} transactions",
            old.log_root,
            new.log_root,
        ),
        (
            new.height == old.height and new.block_hash != old.block_hash,
            CONFLICTING_BLOCKS,
            f"two different certified blocks at height {new.height}",
            old.block_hash,
            new.block_hash,
        ),
        (
            new.height < old.height,
            HEIGHT_WENT_BACK,
            f"the newest block went back from height {old.height} to {new.height}",
            f">= {old.height}",
            new.height,
        ),
    ]
    for contradiction, reason, message, expected, found in checks:
        if contradiction:
            raise HistoryConflict(
                reason, message, stored, presented, expected=expected, found=found
            )
    return new.log_size > old.log_size


def links(first: int, second: int, first_root: str, second_root: str, proof: Sequence[str]) -> bool:
    """Whether ``proof`` is a valid RFC 9162 consistency proof between the two logs."""
    try:
        verify_consistency(
            SM3,
            first,
            second,
            bytes.fromhex(first_root),
            bytes.fromhex(second_root),
            [bytes.fromhex(p) for p in proof],
        )
    except (ProofError, ValueError, TypeError):
        return False
    return True


def prefix_root(first: int, second: int, second_root: str, proof: Sequence[str]) -> str | None:
    """The root of the first ``first`` leaves of the log ``(second, second_root)``, as the
    consistency proof between them commits to it; None when ``first`` is a power of two (the
    proof leaves that root out) or the proof does not lead to ``second_root``.

    The proof's hashes that lie inside ``[0, first)`` are, left to right, the RFC 9162
    decomposition of that prefix, so their fold is its root."""
    if not 0 < first < second or first & (first - 1) == 0:
        return None
    ranges = consistency_ranges(first, second)
    if len(proof) != len(ranges) or not all(is_hex(p, 64) for p in proof):
        return None
    inside = sorted(
        (a, bytes.fromhex(h)) for (a, b), h in zip(ranges, proof, strict=True) if b <= first
    )
    candidate = fold(SM3, [h for _, h in inside]).hex()
    return candidate if links(first, second, candidate, second_root, proof) else None


def presented_prefix_root(
    stored: Checkpoint, presented: Checkpoint, proof: Sequence[str], proofs: ProofSource
) -> str | None:
    """The root the presented log has at the stored size, established by the node's own
    consistency proofs; None when they do not establish one."""
    m, n, root = stored.header.log_size, presented.header.log_size, presented.header.log_root
    if m & (m - 1):
        return prefix_root(m, n, root, proof)
    # a power of two: the proof from m + 1 holds the subtree of the first m leaves
    if m + 1 >= n:
        return None
    wider = list(proofs(m + 1, n))
    if prefix_root(m + 1, n, root, wider) is None:
        return None
    ranges = consistency_ranges(m + 1, n)
    candidate = next((h for r, h in zip(ranges, wider, strict=True) if r == (0, m)), None)
    return candidate if candidate is not None and links(m, n, candidate, root, proof) else None


def inconsistent(
    stored: Checkpoint, presented: Checkpoint, proof: Sequence[str], first_root: str | None
) -> HistoryConflict | None:
    """None when ``proof`` links the two logs; else the conflict.

    It is conclusive when ``first_root`` is a root of the stored size, other than the stored
    one, that ``proof`` links to the presented log: the presented certified log then begins
    with another history. A proof that merely fails shows only that the node did not prove
    consistency, since anyone can write a failing proof."""
    old, new = stored.header, presented.header
    if links(old.log_size, new.log_size, old.log_root, new.log_root, proof):
        return None
    conclusive = (
        first_root is not None
        and first_root != old.log_root
        and links(old.log_size, new.log_size, first_root, new.log_root, proof)
    )
    if conclusive:
        message = (
            f"the certified log of {new.log_size} transactions begins with a log of "
            f"{old.log_size} whose root is {first_root}, not the certified {old.log_root}"
        )
    else:
        message = (
            f"the node's consistency proof from {old.log_size} to {new.log_size} transactions "
            f"fails; it does not show which log of {old.log_size} the new log extends"
        )
    return HistoryConflict(
        INCONSISTENT_LOG,
        message,
        stored,
        presented,
        proof,
        first_root=first_root if conclusive else None,
        conclusive=conclusive,
        expected=old.log_root,
        found=first_root if conclusive else None,
    )


def advance(state: WitnessState, presented_value: Any, proofs: ProofSource) -> WitnessState:
    """The state after verifying the presented checkpoint against the kept one.

    ``proofs(first, second)`` gives the node's consistency proof. Raises
    ``VerificationError`` for a checkpoint that is not certified (nothing is proven by it),
    ``HistoryConflict`` for one that contradicts the kept checkpoint."""
    stored, presented = state.checkpoint, accept_checkpoint(state.genesis, presented_value)
    if compare(stored, presented):
        proof = list(proofs(stored.header.log_size, presented.header.log_size))
        if inconsistent(stored, presented, proof, None) is not None:
            first_root = presented_prefix_root(stored, presented, proof, proofs)
            conflict = inconsistent(stored, presented, proof, first_root)
            if conflict is not None:
                raise conflict
    return WitnessState(state.genesis, presented)


def check_evidence(evidence: Any, genesis: Genesis) -> HistoryConflict:
    """Re-check an evidence file against a trusted genesis: both checkpoints are certified
    for this chain and contradict each other. Returns the conflict found, computed here
    (the file's own ``reason`` is not trusted; see its ``conclusive``); raises
    ``VerificationError`` when the file shows no conflict."""
    step = "evidence"
    if not isinstance(evidence, Mapping) or evidence.get("type") != EVIDENCE_TYPE:
        raise VerificationError(step, f"not a {EVIDENCE_TYPE} document")
    try:
        stored = accept_checkpoint(genesis, evidence.get("stored"))
        presented = accept_checkpoint(genesis, evidence.get("presented"))
    except InvalidInput as exc:
        raise VerificationError(
            f"{step} certificate", f"a checkpoint does not verify: {exc.message}"
        ) from None
    try:
        if compare(stored, presented):
            given = evidence.get("consistency_proof")
            if not isinstance(given, Mapping) or not isinstance(given.get("proof"), list):
                raise VerificationError(
                    step, "the checkpoints need a consistency proof and the evidence has none"
                )
            first_root = given.get("first_root")
            conflict = inconsistent(
                stored,
                presented,
                given["proof"],
                first_root if is_hex(first_root, 64) else None,
            )
            if conflict is not None:
                return conflict
    except HistoryConflict as conflict:
        return conflict
    raise VerificationError(
        step,
        "the two checkpoints do not conflict: the presented log extends the stored one",
        expected="a conflict",
        found=f"{stored.describe()} -> {presented.describe()}",
    )


# --- the shell: disk, node, clock -----------------------------------------------------------


def read_state(path: Path) -> WitnessState | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return WitnessState.from_wire(parse_json(data))


def write_atomically(path: Path, value: Any) -> None:
    """Write JSON to ``path`` so that a crash leaves the old file or the new one, whole."""
    directory = path.resolve().parent
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(value, fh, indent=2, ensure_ascii=False)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def evidence_path(state_path: Path) -> Path:
    return state_path.with_name(state_path.name + ".conflict.json")


def unused_path(path: Path) -> Path:
    """``path``, or ``NAME.1.json``, ``NAME.2.json``, ...: earlier evidence is never replaced."""
    candidate, n = path, 0
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.stem}.{n}{path.suffix}")
    return candidate


class NodeApi:
    """The node's paths the witness uses, over HTTP."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        from ledger.client import LedgerClient

        self.url = url
        self.client = LedgerClient(url, timeout=timeout)

    def close(self) -> None:
        self.client.close()

    def genesis(self) -> Genesis:
        return self.client.genesis()

    def checkpoint(self) -> Any:
        return self.client.checkpoint()

    def consistency(self, first: int, second: int) -> list[str]:
        answer = self.client.consistency(first, second)
        proof = answer.get("proof") if isinstance(answer, Mapping) else None
        if not isinstance(proof, list) or not all(isinstance(p, str) for p in proof):
            raise MalformedData("the node's consistency proof is not a list of hex hashes")
        return proof

    def post_cosignature(self, cosignature: Cosignature) -> None:
        self.client.post_cosignature(cosignature.to_wire())


@dataclass(frozen=True)
class Outcome:
    previous: Checkpoint
    current: Checkpoint
    cosignature: Cosignature


def run(
    node: NodeApi,
    state_path: Path,
    signer: Signer,
    witness_id: str,
    *,
    trusted_genesis: Genesis | None = None,
    evidence: Path | None = None,
    clock: Callable[[], int] | None = None,
) -> Outcome:
    """One witness run. On a conflict the evidence file is written, the state is left as
    it was and the ``HistoryConflict`` is raised."""
    kept = read_state(state_path)
    served = node.genesis()
    state = check_genesis(kept, trusted_genesis or served)
    check_genesis(state, served)
    try:
        new_state = advance(state, node.checkpoint(), node.consistency)
    except HistoryConflict as conflict:
        record = conflict.evidence(state.genesis)
        record["node"] = node.url
        record["witness"] = witness_id
        if clock is not None:
            record["observed_ms"] = clock()
        conflict.evidence_file = unused_path(evidence or evidence_path(state_path))
        write_atomically(conflict.evidence_file, record)
        raise
    write_atomically(state_path, new_state.to_wire())
    cosignature = cosign(signer, witness_id, new_state.checkpoint.header)
    node.post_cosignature(cosignature)
    return Outcome(state.checkpoint, new_state.checkpoint, cosignature)
