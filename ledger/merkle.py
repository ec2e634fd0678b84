"""RFC 9162 Merkle trees with a pluggable hash (spec section 3).

Proofs are described as lists of leaf ranges ``[a, b)`` whose tree hashes make up the
proof. Every range that the RFC 9162 recursion produces is a run of *perfect* subtrees
(``2**level`` leaves starting at a multiple of ``2**level``), so a store that keeps the
hash of every perfect subtree serves any proof in O(log n) node reads:
:func:`inclusion_ranges`/:func:`consistency_ranges` say which ranges, :func:`perfect_nodes`
which stored nodes make each range, and :func:`range_hash` folds them.
Verification follows RFC 9162 sections 2.1.3.2 and 2.1.4.2 and raises ``ProofError``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from ledger.crypto import sm3
from ledger.errors import ProofError

Node = tuple[int, int]  # (level, index): the perfect subtree of leaves [index*2^level, +2^level)


@dataclass(frozen=True)
class Hasher:
    name: str
    digest: Callable[[bytes], bytes]

    def empty_root(self) -> bytes:
        return self.digest(b"")

    def hash_leaf(self, data: bytes) -> bytes:
        return self.digest(b"\x00" + data)

    def hash_children(self, left: bytes, right: bytes) -> bytes:
        return self.digest(b"\x01" + left + right)


SM3 = Hasher("sm3", sm3)
SHA256 = Hasher("sha256", lambda data: hashlib.sha256(data).digest())


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def perfect_nodes(a: int, b: int) -> list[Node]:
    """The perfect subtrees, left to right, whose RFC 9162 fold is ``MTH(D[a:b])``."""
    nodes: list[Node] = []
    while b - a > 0:
        size = b - a
        k = size if size & (size - 1) == 0 else _split(size)
        level = k.bit_length() - 1
        if a % k:
            raise ValueError(f"range [{a}, {b}) is not one the RFC 9162 recursion produces")
        nodes.append((level, a >> level))
        a += k
    return nodes


def fold(hasher: Hasher, hashes: Sequence[bytes]) -> bytes:
    """Combine the hashes of ``perfect_nodes`` (left to right) as RFC 9162 does: from the right."""
    if not hashes:
        return hasher.empty_root()
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = hasher.hash_children(h, acc)
    return acc


def range_hash(hasher: Hasher, nodes: Mapping[Node, bytes], a: int, b: int) -> bytes:
    return fold(hasher, [nodes[n] for n in perfect_nodes(a, b)])


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The ranges of ``PATH(index, D[0:size])`` (RFC 9162 2.1.3.1), in proof order."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of {size} leaves")
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo = lo + k
    ranges.reverse()
    return ranges


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The ranges of ``PROOF(first, D[0:second])`` (RFC 9162 2.1.4.1), in proof order."""
    if not 0 <= first <= second:
        raise ValueError(f"no consistency proof from size {first} to size {second}")
    if first == 0 or first == second:
        return []
    ranges: list[tuple[int, int]] = []
    lo, hi, m, complete = 0, second, first, True
    while True:
        n = hi - lo
        if m == n:
            if not complete:
                ranges.append((lo, hi))
            break
        k = _split(n)
        if m <= k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    ranges.reverse()
    return ranges


def nodes_for(ranges: Iterable[tuple[int, int]]) -> set[Node]:
    return {node for a, b in ranges for node in perfect_nodes(a, b)}


def proof_from_nodes(
    hasher: Hasher, ranges: Sequence[tuple[int, int]], nodes: Mapping[Node, bytes]
) -> list[bytes]:
    return [range_hash(hasher, nodes, a, b) for a, b in ranges]


class CompactRange:
    """The right edge of an append-only tree: one perfect subtree per set bit of ``size``.

    ``append`` returns every perfect node that the new leaf completes, so that a store can
    keep them all; ``root`` is the tree hash of the leaves appended so far.
    """

    def __init__(self, hasher: Hasher, size: int = 0, frontier: Sequence[bytes] = ()) -> None:
        if len(frontier) != bin(size).count("1"):
            raise ValueError("frontier must hold one hash per set bit of size")
        self.hasher = hasher
        self.size = size
        self.frontier = list(frontier)  # largest subtree first

    @staticmethod
    def frontier_nodes(size: int) -> list[Node]:
        """The perfect subtrees that make up a tree of ``size`` leaves, largest first."""
        return perfect_nodes(0, size) if size else []

    def append(self, leaf_hash: bytes) -> list[tuple[Node, bytes]]:
        index = self.size
        created: list[tuple[Node, bytes]] = [((0, index), leaf_hash)]
        acc, level = leaf_hash, 0
        while index & 1:
            acc = self.hasher.hash_children(self.frontier.pop(), acc)
            level += 1
            index >>= 1
            created.append(((level, index), acc))
        self.frontier.append(acc)
        self.size += 1
        return created

    def root(self) -> bytes:
        return fold(self.hasher, self.frontier)


def tree_root(hasher: Hasher, leaf_hashes: Iterable[bytes]) -> bytes:
    tree = CompactRange(hasher)
    for leaf in leaf_hashes:
        tree.append(leaf)
    return tree.root()


class MemoryTree:
    """A whole tree in memory (every perfect node); for blocks being built, tests and tools."""

    def __init__(self, hasher: Hasher) -> None:
        self.hasher = hasher
        self.compact = CompactRange(hasher)
        self.nodes: dict[Node, bytes] = {}

    @property
    def size(self) -> int:
        return self.compact.size

    def append_data(self, data: bytes) -> None:
        self.append(self.hasher.hash_leaf(data))

    def append(self, leaf_hash: bytes) -> None:
        self.nodes.update(self.compact.append(leaf_hash))

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        return fold(self.hasher, [self.nodes[n] for n in self.compact.frontier_nodes(size)])

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        size = self.size if size is None else size
        return proof_from_nodes(self.hasher, inclusion_ranges(index, size), self.nodes)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        second = self.size if second is None else second
        return proof_from_nodes(self.hasher, consistency_ranges(first, second), self.nodes)


# --- verification (RFC 9162 2.1.3.2 and 2.1.4.2) --------------------------------------------


def root_from_inclusion(
    hasher: Hasher, index: int, size: int, leaf_hash: bytes, proof: Sequence[bytes]
) -> bytes:
    if not 0 <= index < size:
        raise ProofError(
            "inclusion", "leaf index outside the tree", expected=f"< {size}", found=index
        )
    fn, sn, r = index, size - 1, leaf_hash
    for p in proof:
        if sn == 0:
            raise ProofError("inclusion", "proof is longer than the tree is deep", found=len(proof))
        if fn & 1 or fn == sn:
            r = hasher.hash_children(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = hasher.hash_children(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion", "proof is shorter than the tree is deep", found=len(proof))
    return r


def _check_lengths(step: str, size: int, hashes: Iterable[bytes]) -> None:
    for h in hashes:
        if len(h) != size:
            raise ProofError(step, "a hash has the wrong length", expected=size, found=len(h))


def verify_inclusion(
    hasher: Hasher,
    index: int,
    size: int,
    leaf_hash: bytes,
    proof: Sequence[bytes],
    root: bytes,
) -> None:
    _check_lengths("inclusion", len(hasher.empty_root()), [leaf_hash, root, *proof])
    computed = root_from_inclusion(hasher, index, size, leaf_hash, proof)
    if computed != root:
        raise ProofError(
            "inclusion",
            "the audit path does not lead to the tree root",
            expected=root.hex(),
            found=computed.hex(),
        )


def verify_consistency(
    hasher: Hasher,
    first: int,
    second: int,
    first_root: bytes,
    second_root: bytes,
    proof: Sequence[bytes],
) -> None:
    step = "consistency"
    _check_lengths(step, len(hasher.empty_root()), [first_root, second_root, *proof])
    if first > second:
        raise ProofError(
            step, "first size is larger than second", expected=f"<= {second}", found=first
        )
    if first == second:
        if proof:
            raise ProofError(step, "proof between equal sizes must be empty", found=len(proof))
        if first_root != second_root:
            raise ProofError(
                step,
                "equal sizes with different roots",
                expected=first_root.hex(),
                found=second_root.hex(),
            )
        return
    if first == 0:
        if proof:
            raise ProofError(step, "proof from size 0 must be empty", found=len(proof))
        return
    if not proof:
        raise ProofError(step, "empty proof between different sizes", found=0)
    path = list(proof)
    if first & (first - 1) == 0:  # first is a power of two: its root is the first node
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(step, "proof is longer than expected", found=len(proof))
        if fn & 1 or fn == sn:
            fr = hasher.hash_children(c, fr)
            sr = hasher.hash_children(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = hasher.hash_children(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(step, "proof is shorter than expected", found=len(proof))
    if fr != first_root:
        raise ProofError(
            step,
            "proof does not reproduce the first root",
            expected=first_root.hex(),
            found=fr.hex(),
        )
    if sr != second_root:
        raise ProofError(
            step,
            "proof does not reproduce the second root",
            expected=second_root.hex(),
            found=sr.hex(),
        )
