"""State proofs of spec section 6a: the node hashes, the proof's wire form, offline checking.

The state map's keys are hashed to ``k = H(UTF-8(key))`` and placed in a compact sparse
Merkle tree over the bits of ``k`` (``ledger.state_tree`` builds it). A proof is the list
of sibling hashes on the key's path, top down, plus, for the absence of a key whose path
ends at another key's leaf, that leaf's ``key_hash`` and ``value_hash``.
``verify_state_proof`` folds the path upward and compares with the root; every failure is a
``ProofError`` whose ``step`` says which check failed. Pure and offline: stdlib, SM3 and
canonical JSON only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger.canonical import canonical
from ledger.crypto import sm3
from ledger.errors import CanonicalizationError, MalformedData, ProofError

EMPTY = bytes(32)  # Z: the hash of an empty subtree and the root of the empty map
KEY_BITS = 256
MAX_KEY_BYTES = 256
_KEY = re.compile(r"[a-z_]+/.+", re.DOTALL)
_HASH_HEX = re.compile(r"[0-9a-f]{64}")

SHAPE = "state proof shape"
KEY = "state key"
VALUE = "state value"
LEAF = "state proof leaf"
ROOT = "state root"


def key_hash(key: str) -> bytes:
    """``k = H(UTF-8(key))`` of a key ``<domain>/<rest>`` of at most 256 bytes."""
    if not isinstance(key, str) or _KEY.fullmatch(key) is None:
        raise MalformedData(f"a state key is <domain>/<rest>, not {key!r}")
    try:
        data = key.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedData(f"state key {key!r} is not valid Unicode") from exc
    if len(data) > MAX_KEY_BYTES:
        raise MalformedData(f"state key is {len(data)} bytes long, more than {MAX_KEY_BYTES}")
    return sm3(data)


def value_bytes(value: Any) -> bytes:
    """``C(value)`` of a state value: any JSON value but null (null means an absent key)."""
    if value is None:
        raise CanonicalizationError("a state value cannot be null (null means an absent key)")
    return canonical(value)


def value_hash(value: Any) -> bytes:
    return sm3(value_bytes(value))


def leaf_hash(k: bytes, v_hash: bytes) -> bytes:
    return sm3(b"\x00" + k + v_hash)


def branch_hash(left: bytes, right: bytes) -> bytes:
    return sm3(b"\x01" + left + right)


def bit(k: int, depth: int) -> int:
    """Bit ``depth`` of a key hash read as a 256-bit integer (bit 0 is the top bit)."""
    return (k >> (KEY_BITS - 1 - depth)) & 1


def same_prefix(a: bytes, b: bytes, bits: int) -> bool:
    shift = KEY_BITS - bits
    return int.from_bytes(a, "big") >> shift == int.from_bytes(b, "big") >> shift


def fold(k: bytes, start: bytes, siblings: Sequence[bytes]) -> bytes:
    """The root that ``start``, at depth ``len(siblings)`` on the path of ``k``, leads to."""
    path = int.from_bytes(k, "big")
    node = start
    for depth in range(len(siblings) - 1, -1, -1):
        if bit(path, depth):
            node = branch_hash(siblings[depth], node)
        else:
            node = branch_hash(node, siblings[depth])
    return node


@dataclass(frozen=True)
class ProofLeaf:
    """Another key's leaf, ending the path of an absent key."""

    key_hash: bytes
    value_hash: bytes


@dataclass(frozen=True)
class StateProof:
    siblings: tuple[bytes, ...]  # siblings[i]: the sibling at depth i + 1 on the key's path
    leaf: ProofLeaf | None = None

    def to_wire(self) -> dict[str, Any]:
        leaf = self.leaf
        return {
            "siblings": [s.hex() for s in self.siblings],
            "leaf": None
            if leaf is None
            else {"key_hash": leaf.key_hash.hex(), "value_hash": leaf.value_hash.hex()},
        }

    @classmethod
    def from_wire(cls, wire: Any) -> StateProof:
        """Parse strictly: exactly the keys of the spec, lowercase 64-hex hashes, at most
        256 siblings. Raises ``ProofError`` with step ``state proof shape``."""
        _exact_keys(wire, {"siblings", "leaf"}, "proof")
        siblings = wire["siblings"]
        if not isinstance(siblings, list):
            raise ProofError(SHAPE, "siblings is not a list", found=type(siblings).__name__)
        if len(siblings) > KEY_BITS:
            raise ProofError(
                SHAPE, "too many siblings", expected=f"<= {KEY_BITS}", found=len(siblings)
            )
        parsed = tuple(parse_hash(s, f"siblings[{i}]") for i, s in enumerate(siblings))
        leaf = wire["leaf"]
        if leaf is None:
            return cls(parsed)
        _exact_keys(leaf, {"key_hash", "value_hash"}, "leaf")
        return cls(
            parsed,
            ProofLeaf(
                parse_hash(leaf["key_hash"], "leaf.key_hash"),
                parse_hash(leaf["value_hash"], "leaf.value_hash"),
            ),
        )


def _exact_keys(wire: Any, keys: set[str], what: str) -> None:
    if not isinstance(wire, dict):
        raise ProofError(SHAPE, f"{what} is not a JSON object", found=type(wire).__name__)
    if set(wire) != keys:
        raise ProofError(
            SHAPE, f"{what} has the wrong fields", expected=sorted(keys), found=sorted(wire)
        )


def parse_hash(text: Any, what: str) -> bytes:
    if not isinstance(text, str) or _HASH_HEX.fullmatch(text) is None:
        raise ProofError(SHAPE, f"{what} is not 64 lowercase hex characters", found=text)
    return bytes.fromhex(text)


def verify_state_proof(root_hex: str, key: str, value: Any, proof_wire: Any) -> None:
    """Check that ``proof_wire`` shows ``key`` holding ``value`` (absent for ``None``) in the
    state map whose root is ``root_hex``. Returns nothing; raises ``ProofError`` naming the
    failing step (``state proof shape``, ``state key``, ``state value``,
    ``state proof leaf``, ``state root``), what was expected and what was found."""
    root = parse_hash(root_hex, "root")
    proof = StateProof.from_wire(proof_wire)
    try:
        k = key_hash(key)
    except MalformedData as exc:
        raise ProofError(KEY, exc.message, found=key) from None
    depth = len(proof.siblings)
    leaf = proof.leaf
    if value is not None:
        if leaf is not None:
            raise ProofError(
                LEAF, "a proof of inclusion has no leaf", expected=None, found=proof_wire["leaf"]
            )
        try:
            start = leaf_hash(k, value_hash(value))
        except CanonicalizationError as exc:
            raise ProofError(VALUE, exc.message, found=value) from None
    elif leaf is None:
        start = EMPTY
    elif leaf.key_hash == k:
        raise ProofError(
            LEAF,
            "a proof of absence names the key's own leaf",
            expected=f"a key hash other than {k.hex()}",
            found=leaf.key_hash.hex(),
        )
    elif not same_prefix(leaf.key_hash, k, depth):
        raise ProofError(
            LEAF,
            f"the leaf's key hash does not share the first {depth} bits of the key's",
            expected=k.hex(),
            found=leaf.key_hash.hex(),
        )
    else:
        start = leaf_hash(leaf.key_hash, leaf.value_hash)
    computed = fold(k, start, proof.siblings)
    if computed != root:
        raise ProofError(
            ROOT,
            "the proof does not lead to the state root",
            expected=root_hex,
            found=computed.hex(),
        )
