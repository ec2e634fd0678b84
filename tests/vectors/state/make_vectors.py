#!/usr/bin/env python
"""Write the state-map vectors of spec section 6a: ``maps.json`` and ``negatives.json``.

    PYTHONPATH=. python tests/vectors/state/make_vectors.py

``maps.json``: maps with their roots and, for every present key and a few absent ones, the
key's value (null when absent) and proof. ``negatives.json``: named mutations of those
proofs, each with the step at which ``ledger.state_proof.verify_state_proof`` must refuse it.
The vectors come from ``ledger.state_tree``; ``tests/test_state_tree.py`` checks them
against a reference written from the spec alone. Deterministic: rerunning rewrites the same
files.
"""

from __future__ import annotations

import copy
import json
from itertools import count
from pathlib import Path
from typing import Any

from ledger.state_proof import KEY_BITS, key_hash
from ledger.state_tree import StateTree, root_of

HERE = Path(__file__).resolve().parent
Z_HEX = "00" * 32


def common_bits(a: bytes, b: bytes) -> int:
    diff = int.from_bytes(a, "big") ^ int.from_bytes(b, "big")
    return KEY_BITS - diff.bit_length()


def keys_sharing(bits: int, stem: str) -> tuple[str, str]:
    """The first two keys ``<stem><n>`` whose hashes share their first ``bits`` bits."""
    seen: dict[int, str] = {}
    for n in count():
        key = f"{stem}{n}"
        prefix = int.from_bytes(key_hash(key), "big") >> (KEY_BITS - bits)
        if prefix in seen:
            return seen[prefix], key
        seen[prefix] = key
    raise AssertionError("unreachable")


def absent_keys(tree: StateTree, mapping: dict[str, Any]) -> list[str]:
    """One absent key whose path ends in an empty subtree and one whose path ends at another
    key's leaf, when the map has such paths."""
    found: dict[bool, str] = {}
    for n in count():
        key = f"edu_card/absent-{n}"
        if key in mapping:
            continue
        by_leaf = tree.prove(key).leaf is not None
        found.setdefault(by_leaf, key)
        if len(found) == 2 or n > 2000:
            return [found[kind] for kind in (False, True) if kind in found]
    raise AssertionError("unreachable")


def map_vector(name: str, mapping: dict[str, Any]) -> dict[str, Any]:
    tree = StateTree()
    root = tree.update(mapping)
    assert root == root_of(mapping)
    proofs = [
        {"key": key, "value": mapping.get(key), "proof": tree.prove(key).to_wire()}
        for key in [*sorted(mapping), *absent_keys(tree, mapping)]
    ]
    return {"name": name, "map": mapping, "root": root.hex(), "proofs": proofs}


def maps() -> list[dict[str, Any]]:
    near_a, near_b = keys_sharing(14, "evidence/near-")
    domains = {
        "member/gz-internet-court": {
            "id": "gz-internet-court",
            "name": "广州互联网法院",
            "roles": ["court"],
            "status": "active",
            "keys": [{"public_key": "04" + "ab" * 64, "status": "active"}],
        },
        "edu_card/GZ-2025-000117": {
            "holder": "李明",
            "status": "active",
            "valid_until": 1893456000000,
        },
        "edu_card/GZ-2025-000118": {"holder": "王芳", "status": "revoked"},
        "evidence/dep-7f3a": {"custody": "gz-internet-court", "files": 3, "amount": "1250000.00"},
        "bidding/tender/ZB-2025-0042": {"state": "opened", "bids": 5},
        "reopening/91440101MA5CXXXX1X": {"status": "approved", "since": 1763700000000},
        "member/v1": {"id": "v1", "roles": ["validator"], "status": "revoked", "keys": []},
        "edu_card/ünïcode-🙂": [1, "two", {"three": [True, False, None]}],
        "evidence/empty-object": {},
        "evidence/a-string": "plain",
    }
    return [
        map_vector("empty map", {}),
        map_vector("one key", {"member/alice": {"id": "alice", "status": "active"}}),
        map_vector("two keys", {"member/alice": {"id": "alice"}, "member/bob": {"id": "bob"}}),
        map_vector(
            f"two keys sharing their first {common_bits(key_hash(near_a), key_hash(near_b))} bits",
            {near_a: {"n": 1}, near_b: {"n": 2}},
        ),
        map_vector("ten keys of several domains", domains),
    ]


def negatives(vectors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    domains = vectors[-1]
    root = domains["root"]
    present = next(
        p for p in domains["proofs"] if p["value"] is not None and p["proof"]["siblings"]
    )
    by_empty = next(
        p for p in domains["proofs"] if p["value"] is None and p["proof"]["leaf"] is None
    )
    by_leaf = next(p for p in domains["proofs"] if p["proof"]["leaf"] is not None)
    cases: list[dict[str, Any]] = []

    def case(name: str, base: dict[str, Any], step: str, **change: Any) -> dict[str, Any]:
        entry = {"name": name, "root": root, **copy.deepcopy(base), **change, "step": step}
        cases.append(entry)
        return entry

    def mutated(base: dict[str, Any], how: Any) -> dict[str, Any]:
        proof: dict[str, Any] = copy.deepcopy(base["proof"])
        how(proof)
        return proof

    def flip_first(proof: dict[str, Any]) -> None:
        first = proof["siblings"][0]
        proof["siblings"][0] = ("1" if first[0] == "0" else "0") + first[1:]

    case("changed value", present, "state root", value={"changed": True})
    case("changed sibling", present, "state root", proof=mutated(present, flip_first))
    dropped = mutated(present, lambda p: p["siblings"].pop())
    case("dropped sibling", present, "state root", proof=dropped)
    extra = mutated(present, lambda p: p["siblings"].append(Z_HEX))
    case("extra sibling", present, "state root", proof=extra)
    own_leaf = {"key_hash": key_hash(by_leaf["key"]).hex(), "value_hash": Z_HEX}
    own = mutated(by_leaf, lambda p: p.__setitem__("leaf", own_leaf))
    case("absence leaf with k' = k", by_leaf, "state proof leaf", proof=own)
    leaf_hash_hex = by_leaf["proof"]["leaf"]["key_hash"]
    first_bit_flipped = format(int(leaf_hash_hex[0], 16) ^ 8, "x") + leaf_hash_hex[1:]
    assert by_leaf["proof"]["siblings"], "absence by a leaf below the root"
    other = mutated(by_leaf, lambda p: p["leaf"].__setitem__("key_hash", first_bit_flipped))
    case("absence leaf whose prefix differs", by_leaf, "state proof leaf", proof=other)
    upper = mutated(present, lambda p: p["siblings"].__setitem__(0, p["siblings"][0].upper()))
    case("uppercase hex", present, "state proof shape", proof=upper)
    case("wrong root", present, "state root", root=vectors[2]["root"])
    case("present key claimed absent", present, "state root", value=None)
    case("absent key claimed present", by_empty, "state root", value={"id": "x"})
    with_leaf = mutated(present, lambda p: p.__setitem__("leaf", by_leaf["proof"]["leaf"]))
    case("inclusion proof with a leaf", present, "state proof leaf", proof=with_leaf)
    case("missing field", present, "state proof shape", proof={"siblings": []})
    extra_field = mutated(present, lambda p: p.__setitem__("height", 3))
    case("extra field", present, "state proof shape", proof=extra_field)
    case(
        "257 siblings",
        by_empty,
        "state proof shape",
        proof={"siblings": [Z_HEX] * 257, "leaf": None},
    )
    short = mutated(present, lambda p: p["siblings"].__setitem__(0, p["siblings"][0][:62]))
    case("short sibling", present, "state proof shape", proof=short)
    case("uppercase root", present, "state proof shape", root=root.upper())
    case("key without a domain", by_empty, "state key", key="no-domain")
    case("key over 256 bytes", by_empty, "state key", key="evidence/" + "x" * 248)
    case("float value", present, "state value", value=1.5)

    # a proof that was valid for the map before one more key was written
    older = StateTree()
    older.update(domains["map"])
    old_proof = older.prove(present["key"]).to_wire()
    newer_root = older.update({"evidence/new": {"n": 1}}).hex()
    old = {"key": present["key"], "value": present["value"], "proof": old_proof}
    case("proof from an older root", old, "state root", root=newer_root)
    return cases


def main() -> None:
    vectors = maps()
    write("maps.json", "Maps of the state map (spec section 6a), their roots and proofs.", vectors)
    write(
        "negatives.json",
        "Mutated state proofs; verify_state_proof(root, key, value, proof) must refuse each "
        "with a ProofError whose step is 'step'.",
        negatives(vectors),
    )


def write(name: str, comment: str, entries: list[dict[str, Any]]) -> None:
    text = json.dumps({"_comment": comment, "vectors": entries}, indent=1, ensure_ascii=False)
    (HERE / name).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
