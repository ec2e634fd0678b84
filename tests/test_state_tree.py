"""The state map's tree and proofs (spec section 6a): ``ledger.state_tree``, ``ledger.state_proof``.

Checked against a reference written here straight from the spec's text (bit strings, SM3 from
``gmalg``, canonical bytes from ``rfc8785``; nothing from the ledger), on generated maps and
update sequences, on edge cases, and on the vectors of ``tests/vectors/state/`` (maps with
roots and proofs, and named mutations that must be refused at a named step).
"""

from __future__ import annotations

import ast
import json
import random
from itertools import count
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from gmalg import SM3 as GmalgSM3
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.errors import CanonicalizationError, MalformedData, ProofError
from ledger.state_proof import StateProof, verify_state_proof
from ledger.state_tree import MemoryNodeStore, StateTree, root_of

VECTORS = Path(__file__).parent / "vectors" / "state"
MAPS = json.loads((VECTORS / "maps.json").read_text(encoding="utf-8"))["vectors"]
NEGATIVES = json.loads((VECTORS / "negatives.json").read_text(encoding="utf-8"))["vectors"]
Z = bytes(32)


# --- reference: spec section 6a, read literally ----------------------------------------------


def H(data: bytes) -> bytes:
    h = GmalgSM3()
    h.update(data)
    digest: bytes = h.value()
    return digest


def bits(k: bytes) -> str:
    return "".join(f"{byte:08b}" for byte in k)


def spec_root(mapping: dict[str, Any]) -> bytes:
    entries = [(H(key.encode()), H(rfc8785.dumps(value))) for key, value in mapping.items()]

    def node(prefix: str, under: list[tuple[bytes, bytes]]) -> bytes:
        here = [e for e in under if bits(e[0]).startswith(prefix)]
        if not here:
            return Z
        if len(here) == 1:
            return H(b"\x00" + here[0][0] + here[0][1])
        return H(b"\x01" + node(prefix + "0", here) + node(prefix + "1", here))

    return node("", entries)


def spec_accepts(root_hex: Any, key: Any, value: Any, proof: Any) -> bool:
    """The verification rule of spec section 6a, with the proof's wire shape checked strictly."""

    def is_hash(x: Any) -> bool:
        return isinstance(x, str) and len(x) == 64 and all(c in "0123456789abcdef" for c in x)

    if not (is_hash(root_hex) and isinstance(proof, dict) and set(proof) == {"siblings", "leaf"}):
        return False
    siblings, leaf = proof["siblings"], proof["leaf"]
    if not isinstance(siblings, list) or len(siblings) > 256 or not all(map(is_hash, siblings)):
        return False
    if not isinstance(key, str) or "/" not in key or len(key.encode()) > 256:
        return False
    k, d = H(key.encode()), len(siblings)
    if value is not None:
        if leaf is not None or isinstance(value, float):
            return False
        node = H(b"\x00" + k + H(rfc8785.dumps(value)))
    elif leaf is None:
        node = Z
    else:
        if not (isinstance(leaf, dict) and set(leaf) == {"key_hash", "value_hash"}):
            return False
        if not (is_hash(leaf["key_hash"]) and is_hash(leaf["value_hash"])):
            return False
        other = bytes.fromhex(leaf["key_hash"])
        if other == k or bits(other)[:d] != bits(k)[:d]:
            return False
        node = H(b"\x00" + other + bytes.fromhex(leaf["value_hash"]))
    for i in range(d - 1, -1, -1):
        sibling = bytes.fromhex(siblings[i])
        node = H(b"\x01" + node + sibling) if bits(k)[i] == "0" else H(b"\x01" + sibling + node)
    return bool(node.hex() == root_hex)


# --- generated maps and update sequences ----------------------------------------------------

KEYS = st.sampled_from([f"edu_card/{i}" for i in range(24)]) | st.text(min_size=1, max_size=6).map(
    lambda rest: "evidence/" + rest
)
SCALARS = st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=8)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner | st.none(), max_size=3)
        | st.dictionaries(st.text(max_size=4), inner | st.none(), max_size=3)
    ),
    max_leaves=6,
)
BATCHES = st.lists(st.dictionaries(KEYS, VALUES | st.none(), max_size=8), min_size=1, max_size=8)


def apply(model: dict[str, Any], batch: dict[str, Any]) -> None:
    for key, value in batch.items():
        if value is None:
            model.pop(key, None)
        else:
            model[key] = value


def fresh(mapping: dict[str, Any]) -> StateTree:
    tree = StateTree()
    tree.update(mapping)
    return tree


@settings(max_examples=60, deadline=None)
@given(BATCHES)
def test_incremental_updates_match_the_root_from_scratch(batches: list[dict[str, Any]]) -> None:
    tree, model = StateTree(), dict[str, Any]()
    for batch in batches:
        apply(model, batch)
        root = tree.update(batch)
        assert root == root_of(model) == spec_root(model)
        assert tree.root() == root
        # the store holds exactly the nodes of the tree, as if built at once
        store = tree.store
        assert isinstance(store, MemoryNodeStore)
        rebuilt = fresh(model).store
        assert isinstance(rebuilt, MemoryNodeStore)
        assert store.nodes == rebuilt.nodes


@settings(max_examples=40, deadline=None)
@given(BATCHES, st.lists(KEYS, max_size=6))
def test_proofs_of_present_and_absent_keys_verify(
    batches: list[dict[str, Any]], probes: list[str]
) -> None:
    tree, model = StateTree(), dict[str, Any]()
    for batch in batches:
        apply(model, batch)
        tree.update(batch)
    root = tree.root().hex()
    for key in [*model, *probes, "member/never-written"]:
        value = model.get(key)
        assert tree.get(key) == value
        proof = tree.prove(key).to_wire()
        verify_state_proof(root, key, value, proof)
        assert spec_accepts(root, key, value, proof)
        assert StateProof.from_wire(proof).to_wire() == proof
        if value is not None:  # and the same proof does not show absence, nor another value
            with pytest.raises(ProofError):
                verify_state_proof(root, key, None, proof)
            with pytest.raises(ProofError):
                verify_state_proof(root, key, {"other": value}, proof)


@settings(max_examples=40, deadline=None)
@given(BATCHES, BATCHES)
def test_proofs_from_an_older_root_fail_against_the_new_root(
    before: list[dict[str, Any]], after: list[dict[str, Any]]
) -> None:
    tree, model = StateTree(), dict[str, Any]()
    for batch in before:
        apply(model, batch)
        tree.update(batch)
    old_root = tree.root()
    old = {key: (model.get(key), tree.prove(key).to_wire()) for key in [*model, "edu_card/1"]}
    for batch in after:
        tree.update(batch)
    new_root = tree.root()
    for key, (value, proof) in old.items():
        verify_state_proof(old_root.hex(), key, value, proof)
        if new_root != old_root:
            with pytest.raises(ProofError) as failure:
                verify_state_proof(new_root.hex(), key, value, proof)
            assert failure.value.step == "state root"
            assert not spec_accepts(new_root.hex(), key, value, proof)


# --- edge cases -----------------------------------------------------------------------------


def keys_sharing(prefix_bits: int) -> tuple[str, str]:
    seen: dict[str, str] = {}
    for n in count():
        key = f"evidence/{n}"
        prefix = bits(H(key.encode()))[:prefix_bits]
        if prefix in seen:
            return seen[prefix], key
        seen[prefix] = key
    raise AssertionError("unreachable")


def test_empty_map() -> None:
    tree = StateTree()
    assert tree.root() == root_of({}) == spec_root({}) == Z
    proof = tree.prove("member/anyone")
    assert proof.to_wire() == {"siblings": [], "leaf": None}
    verify_state_proof(Z.hex(), "member/anyone", None, proof.to_wire())
    assert tree.update({}) == Z
    assert tree.update({"member/anyone": None}) == Z  # deleting an absent key changes nothing


def test_one_key_is_its_leaf_at_the_root() -> None:
    value = {"id": "alice", "status": "active"}
    tree = fresh({"member/alice": value})
    leaf = H(b"\x00" + H(b"member/alice") + H(rfc8785.dumps(value)))
    assert tree.root() == leaf == root_of({"member/alice": value})
    assert tree.prove("member/alice").to_wire() == {"siblings": [], "leaf": None}
    absence = tree.prove("member/bob")  # ends at alice's leaf, at depth 0
    assert absence.leaf is not None and absence.leaf.key_hash == H(b"member/alice")
    verify_state_proof(leaf.hex(), "member/bob", None, absence.to_wire())
    assert tree.get("member/alice") == value and tree.get("member/bob") is None


def test_two_keys_sharing_a_long_prefix() -> None:
    a, b = keys_sharing(12)
    a_bits, b_bits = bits(H(a.encode())), bits(H(b.encode()))
    shared = next(i for i in range(256) if a_bits[i] != b_bits[i])
    assert shared >= 12
    mapping = {a: {"n": 1}, b: {"n": 2}}
    tree = fresh(mapping)
    assert tree.root() == root_of(mapping) == spec_root(mapping)
    for key, other in ((a, b), (b, a)):
        proof = tree.prove(key)
        # leaves sit one below the shared prefix; every sibling above them is empty
        assert len(proof.siblings) == shared + 1
        assert proof.siblings[:shared] == (Z,) * shared
        other_leaf = H(b"\x00" + H(other.encode()) + H(rfc8785.dumps(mapping[other])))
        assert proof.siblings[shared] == other_leaf
        verify_state_proof(tree.root().hex(), key, mapping[key], proof.to_wire())
    # deleting one moves the other's leaf back up to the root
    assert tree.update({b: None}) == H(b"\x00" + H(a.encode()) + H(b'{"n":1}'))
    store = tree.store
    assert isinstance(store, MemoryNodeStore) and len(store.nodes) == 1


def test_delete_back_to_empty() -> None:
    keys = [f"edu_card/{i}" for i in range(50)]
    tree = fresh({key: {"i": i} for i, key in enumerate(keys)})
    random.Random(7).shuffle(keys)
    for i in range(0, 50, 7):
        tree.update(dict.fromkeys(keys[i : i + 7]))
        assert tree.root() == root_of({k: tree.get(k) for k in keys if tree.get(k) is not None})
    assert tree.root() == Z
    store = tree.store
    assert isinstance(store, MemoryNodeStore) and store.nodes == {}


def test_a_batch_with_a_bad_value_or_key_changes_nothing() -> None:
    tree = fresh({"member/alice": {"id": "alice"}})
    root = tree.root()
    with pytest.raises(CanonicalizationError):
        tree.update({"member/bob": {"id": "bob"}, "member/carol": {"score": 1.5}})
    with pytest.raises(MalformedData):
        tree.update({"member/bob": {"id": "bob"}, "no-domain": {"id": "x"}})
    with pytest.raises(MalformedData):
        tree.update({"member/" + "x" * 250: {"id": "x"}})
    assert tree.root() == root and tree.get("member/bob") is None


def test_twenty_thousand_inserts_in_blocks_match_the_root_from_scratch() -> None:
    tree, model = StateTree(), dict[str, Any]()
    for block in range(20):
        batch: dict[str, Any] = {f"evidence/dep-{block}-{i}": {"i": i} for i in range(1000)}
        if block % 4 == 3:  # some blocks also change and delete earlier keys
            batch.update(
                {f"evidence/dep-{block - 1}-{i}": {"changed": i} for i in range(0, 900, 3)}
            )
            batch.update(dict.fromkeys(f"evidence/dep-{block - 2}-{i}" for i in range(1, 900, 3)))
        apply(model, batch)
        tree.update(batch)
    assert tree.root() == root_of(model)
    assert len(model) == 20_000 - 5 * 300


# --- vectors ----------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", MAPS, ids=[v["name"] for v in MAPS])
def test_map_vectors(vector: dict[str, Any]) -> None:
    mapping, root = vector["map"], vector["root"]
    assert spec_root(mapping).hex() == root
    assert root_of(mapping).hex() == root
    tree = fresh(mapping)
    assert tree.root().hex() == root
    for entry in vector["proofs"]:
        key, value, proof = entry["key"], entry["value"], entry["proof"]
        assert tree.prove(key).to_wire() == proof
        assert spec_accepts(root, key, value, proof)
        verify_state_proof(root, key, value, proof)


@pytest.mark.parametrize("case", NEGATIVES, ids=[c["name"] for c in NEGATIVES])
def test_negative_vectors(case: dict[str, Any]) -> None:
    with pytest.raises(ProofError) as failure:
        verify_state_proof(case["root"], case["key"], case["value"], case["proof"])
    assert failure.value.step == case["step"], failure.value.message
    assert not spec_accepts(case["root"], case["key"], case["value"], case["proof"])


def test_vectors_cover_the_named_mutations() -> None:
    names = {case["name"] for case in NEGATIVES}
    assert {
        "changed value",
        "changed sibling",
        "dropped sibling",
        "extra sibling",
        "absence leaf with k' = k",
        "absence leaf whose prefix differs",
        "uppercase hex",
        "wrong root",
        "proof from an older root",
    } <= names


# --- offline: no pydantic, no I/O -------------------------------------------------------------


@pytest.mark.parametrize("module", ["ledger/state_tree.py", "ledger/state_proof.py"])
def test_state_modules_import_only_the_stdlib_and_the_pure_core(module: str) -> None:
    allowed = {"ledger.crypto", "ledger.canonical", "ledger.errors", "ledger.state_proof"}
    stdlib = {"__future__", "bisect", "collections", "dataclasses", "re", "typing"}
    tree = ast.parse((Path(__file__).parent.parent / module).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        for name in names:
            assert name in allowed or name.split(".")[0] in stdlib, f"{module} imports {name}"
