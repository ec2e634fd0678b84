"""The state map's compact sparse Merkle tree (spec section 6a), updated incrementally.

A node sits at a *path*: the bits leading to it from the root, written as one integer, a 1
followed by those bits (heap numbering): the root is 1, the children of ``p`` are ``2p``
(bit 0) and ``2p + 1`` (bit 1), and ``p.bit_length() - 1`` is its depth. A path holds a
``Leaf`` when exactly one key lies under it, a ``Branch`` when two or more do, and nothing
when none does (or when it lies under a leaf). The nodes live in a ``NodeStore``
(``MemoryNodeStore`` here; a database can keep them, so that a restart reads the tree
instead of rebuilding it), which always holds exactly the nodes of the current tree.

``StateTree.update`` applies a batch of puts and deletes by walking down only the paths of
the changed keys and rehashing them on the way back up: O(changed keys × depth) node reads,
writes and hashes. ``root_of`` computes a map's root from scratch, for tests and audits.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ledger.canonical import parse_json
from ledger.crypto import sm3
from ledger.state_proof import (
    EMPTY,
    KEY_BITS,
    ProofLeaf,
    StateProof,
    bit,
    branch_hash,
    key_hash,
    leaf_hash,
    value_bytes,
    value_hash,
)

Path = int  # 1 followed by the bits of the path from the root
ROOT_PATH: Path = 1


@dataclass(frozen=True, slots=True)
class Leaf:
    """One key of the map with its value, kept as its canonical bytes ``C(value)``."""

    key: str
    value_bytes: bytes
    key_hash: bytes
    value_hash: bytes
    hash: bytes

    @classmethod
    def of(cls, key: str, value: Any) -> Leaf:
        k, data = key_hash(key), value_bytes(value)
        v_hash = sm3(data)
        return cls(key, data, k, v_hash, leaf_hash(k, v_hash))

    @property
    def value(self) -> Any:
        return parse_json(self.value_bytes)


@dataclass(frozen=True, slots=True)
class Branch:
    """A subtree holding two or more keys: ``H(0x01 ‖ left ‖ right)``."""

    hash: bytes


Node = Leaf | Branch


class NodeStore(Protocol):
    def get(self, path: Path) -> Node | None: ...

    def put(self, path: Path, node: Node) -> None: ...

    def delete(self, path: Path) -> None: ...


class MemoryNodeStore:
    def __init__(self) -> None:
        self.nodes: dict[Path, Node] = {}

    def get(self, path: Path) -> Node | None:
        return self.nodes.get(path)

    def put(self, path: Path, node: Node) -> None:
        self.nodes[path] = node

    def delete(self, path: Path) -> None:
        self.nodes.pop(path, None)


def _hash_of(node: Node | None) -> bytes:
    return EMPTY if node is None else node.hash


def _first_right(ints: Sequence[int], path: Path) -> int:
    """Where, in key-hash integers sorted ascending and all under ``path``, the keys of the
    right child begin."""
    depth = path.bit_length() - 1
    right_bits = 2 * path + 1 - (2 << depth)  # the right child's path without its leading 1
    return bisect_left(ints, right_bits << (KEY_BITS - 1 - depth))


# A change: (key hash as an integer, the key's new leaf, or its key hash to delete it)
_Change = tuple[int, Leaf | bytes]


class StateTree:
    def __init__(self, store: NodeStore | None = None) -> None:
        self.store: NodeStore = store if store is not None else MemoryNodeStore()

    def root(self) -> bytes:
        return _hash_of(self.store.get(ROOT_PATH))

    def get(self, key: str) -> Any:
        """The value of ``key``, or None when the map does not hold it."""
        leaf, _ = self._descend(key_hash(key), with_siblings=False)
        return leaf.value if leaf is not None and leaf.key == key else None

    def prove(self, key: str) -> StateProof:
        """The proof of inclusion of ``key``'s value, or of the key's absence."""
        k = key_hash(key)
        leaf, siblings = self._descend(k, with_siblings=True)
        if leaf is None or leaf.key_hash == k:
            return StateProof(tuple(siblings))
        return StateProof(tuple(siblings), ProofLeaf(leaf.key_hash, leaf.value_hash))

    def _descend(self, k: bytes, *, with_siblings: bool) -> tuple[Leaf | None, list[bytes]]:
        """Walk the path of ``k`` down to the leaf or empty subtree that ends it."""
        path, node = ROOT_PATH, self.store.get(ROOT_PATH)
        siblings: list[bytes] = []
        k_int = int.from_bytes(k, "big")
        while isinstance(node, Branch):
            path = 2 * path + bit(k_int, path.bit_length() - 1)
            if with_siblings:
                siblings.append(_hash_of(self.store.get(path ^ 1)))
            node = self.store.get(path)
        return node, siblings

    def update(self, changes: Mapping[str, Any]) -> bytes:
        """Put each key's value (a JSON value; ``None`` deletes the key) and return the new
        root. Every key and value is checked before the first node is written."""
        batch: list[_Change] = []
        for key, value in changes.items():
            if value is None:
                k = key_hash(key)
                batch.append((int.from_bytes(k, "big"), k))
            else:
                leaf = Leaf.of(key, value)
                batch.append((int.from_bytes(leaf.key_hash, "big"), leaf))
        batch.sort(key=lambda change: change[0])
        if batch:
            self._apply(ROOT_PATH, batch, [change[0] for change in batch])
        return self.root()

    def _apply(self, path: Path, batch: Sequence[_Change], ints: Sequence[int]) -> Node | None:
        """Apply ``batch`` (sorted, every key under ``path``) to the subtree at ``path``;
        return the subtree's new top node, which the store then holds at ``path``."""
        store = self.store
        node = store.get(path)
        if not isinstance(node, Branch):
            return self._rebuild(path, node, batch)
        split = _first_right(ints, path)
        left_path, right_path = 2 * path, 2 * path + 1
        if split > 0:
            left = self._apply(left_path, batch[:split], ints[:split])
        else:
            left = store.get(left_path)
        if split < len(batch):
            right = self._apply(right_path, batch[split:], ints[split:])
        else:
            right = store.get(right_path)
        if left is None and right is None:
            store.delete(path)
            return None
        lone = right if left is None else left if right is None else None
        if isinstance(lone, Leaf):  # one key left in this subtree: its leaf moves up here
            store.delete(left_path)
            store.delete(right_path)
            store.put(path, lone)
            return lone
        branch = Branch(branch_hash(_hash_of(left), _hash_of(right)))
        store.put(path, branch)
        return branch

    def _rebuild(self, path: Path, node: Leaf | None, batch: Sequence[_Change]) -> Node | None:
        """A subtree of at most one key (``node``) changes: build it anew from its leaves."""
        leaves: dict[bytes, Leaf] = {} if node is None else {node.key_hash: node}
        for _, change in batch:
            if isinstance(change, Leaf):
                leaves[change.key_hash] = change
            else:
                leaves.pop(change, None)
        ordered = sorted(leaves.values(), key=lambda leaf: leaf.key_hash)
        top = self._build(path, ordered, [int.from_bytes(leaf.key_hash, "big") for leaf in ordered])
        if top is None and node is not None:
            self.store.delete(path)
        return top

    def _build(self, path: Path, leaves: Sequence[Leaf], ints: Sequence[int]) -> Node | None:
        if not leaves:
            return None
        node: Node
        if len(leaves) == 1:
            node = leaves[0]
        else:
            split = _first_right(ints, path)
            left_path, right_path = 2 * path, 2 * path + 1
            left = self._build(left_path, leaves[:split], ints[:split])
            right = self._build(right_path, leaves[split:], ints[split:])
            node = Branch(branch_hash(_hash_of(left), _hash_of(right)))
        self.store.put(path, node)
        return node


def root_of(mapping: Mapping[str, Any]) -> bytes:
    """The root of ``mapping`` computed from scratch, straight from the definition."""
    leaves = sorted((key_hash(key), value_hash(value)) for key, value in mapping.items())
    return _subtree_hash([(int.from_bytes(k, "big"), k, v) for k, v in leaves], 0)


def _subtree_hash(leaves: Sequence[tuple[int, bytes, bytes]], depth: int) -> bytes:
    """The hash of the subtree at ``depth`` holding ``leaves`` (sorted, one shared prefix)."""
    if not leaves:
        return EMPTY
    if len(leaves) == 1:
        return leaf_hash(leaves[0][1], leaves[0][2])
    split = next((i for i, leaf in enumerate(leaves) if bit(leaf[0], depth)), len(leaves))
    left = _subtree_hash(leaves[:split], depth + 1)
    return branch_hash(left, _subtree_hash(leaves[split:], depth + 1))
