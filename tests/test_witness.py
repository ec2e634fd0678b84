"""The auditor witness and checkpoint cosignatures.

The pure core (ledger/witness.py, ledger/cosign.py) is checked on chains built in memory and
signed with real SM2 keys; the command, the node's paths and the forged history run against
real node processes over real HTTP. The forged history is what a rogue operator holding the
validator key can do: wipe the database and certify a different log from the same genesis.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys import FileKeyStore
from ledger.canonical import parse_json
from ledger.client import make_transaction
from ledger.consortium import create
from ledger.cosign import Cosignature, check_cosignature, cosign, verify_cosignature
from ledger.crypto import PrivateKey
from ledger.domains.evidence.demo import example_deposit_payload
from ledger.domains.member.state import MemberRegistry
from ledger.errors import (
    InvalidSignature,
    MalformedData,
    NotFound,
    RuleViolation,
    VerificationError,
)
from ledger.genesis import genesis_block
from ledger.merkle import SM3, MemoryTree, tree_root
from ledger.model import (
    CommitCertificate,
    CommitSignature,
    Genesis,
    Header,
    Member,
    Validator,
    ValidatorSet,
    commit_vote,
)
from ledger.verify import verify_checkpoint
from ledger.witness import (
    CONFLICTING_BLOCKS,
    HEIGHT_WENT_BACK,
    INCONSISTENT_LOG,
    LOG_SHRANK,
    SAME_SIZE_DIFFERENT_ROOT,
    Checkpoint,
    HistoryConflict,
    WitnessState,
    advance,
    check_evidence,
    check_genesis,
)
from tests.conftest import Consortium
from tests.inprocess import InProcessNode

WITNESS = "gz-audit-bureau"
# what a witness keeps of a served checkpoint (its state file, its evidence)
KEPT = ("header", "commit", "validator_history")
CHAIN = "witness-test"

# --- chains in memory ---------------------------------------------------------------------


@dataclass
class Chain:
    """A chain certified by ``validator``: blocks of given leaves on top of the genesis."""

    genesis: Genesis
    validator: PrivateKey
    tree: MemoryTree = field(default_factory=lambda: MemoryTree(SM3))
    checkpoints: list[Checkpoint] = field(default_factory=list)

    def __post_init__(self) -> None:
        block = genesis_block(self.genesis)
        for tx in block.transactions:
            self.tree.append(tx.leaf_hash)
        self.checkpoints.append(Checkpoint(block.header, block.commit))

    def add(self, leaves: Sequence[bytes], timestamp_step: int = 1) -> Checkpoint:
        prev = self.checkpoints[-1].header
        for leaf in leaves:
            self.tree.append_data(leaf)
        vs = self.genesis.validators
        header = Header(
            chain_id=self.genesis.chain_id,
            height=prev.height + 1,
            prev_hash=prev.block_hash,
            timestamp=prev.timestamp + timestamp_step,
            tx_count=len(leaves),
            tx_root=tree_root(SM3, [SM3.hash_leaf(leaf) for leaf in leaves]).hex(),
            log_size=self.tree.size,
            log_root=self.tree.root().hex(),
            validators_hash=vs.hash,
            next_validators_hash=vs.hash,
            proposer="v1",
        )
        vote = commit_vote(header.chain_id, header.height, 0, header.block_hash)
        commit = CommitCertificate(
            header.height,
            0,
            header.block_hash,
            (CommitSignature("v1", self.validator.sign(vote)),),
        )
        self.checkpoints.append(Checkpoint(header, commit))
        return self.checkpoints[-1]

    def proofs(self, first: int, second: int) -> list[str]:
        return [p.hex() for p in self.tree.consistency_proof(first, second)]

    def fork(self) -> Chain:
        """A second chain from the same genesis, certified by the same key."""
        return Chain(self.genesis, self.validator)


@pytest.fixture(scope="module")
def keys() -> dict[str, PrivateKey]:
    return {name: PrivateKey.generate() for name in ("v1", WITNESS, "clerk", "stranger")}


@pytest.fixture(scope="module")
def genesis(keys: dict[str, PrivateKey]) -> Genesis:
    return Genesis(
        chain_id=CHAIN,
        timestamp=1_763_700_000_000,
        validators=ValidatorSet.of([Validator("v1", keys["v1"].public_key.hex, 1)]),
        members=(
            Member("v1", ("validator",), keys["v1"].public_key.hex),
            Member(WITNESS, ("auditor",), keys[WITNESS].public_key.hex),
            Member("clerk", ("depositor",), keys["clerk"].public_key.hex),
        ),
    )


def leaves(tag: str, count: int) -> list[bytes]:
    return [f"{tag}-{i}".encode() for i in range(count)]


def chain_of(genesis: Genesis, keys: dict[str, PrivateKey], *sizes: int, tag: str = "a") -> Chain:
    chain = Chain(genesis, keys["v1"])
    for i, size in enumerate(sizes):
        chain.add(leaves(f"{tag}{i}", size))
    return chain


def no_proofs(first: int, second: int) -> list[str]:
    raise AssertionError(f"no consistency proof should be needed ({first} -> {second})")


# --- the pure core ------------------------------------------------------------------------


def test_witness_follows_a_growing_log(genesis: Genesis, keys: dict[str, PrivateKey]) -> None:
    chain = chain_of(genesis, keys, 3, 1, 5)
    state = check_genesis(None, genesis)
    assert state.checkpoint.header == genesis_block(genesis).header
    # first run: from the genesis block to block 2, then on to block 3, then unchanged
    state = advance(state, chain.checkpoints[2].to_wire(), chain.proofs)
    assert state.checkpoint == chain.checkpoints[2]
    state = advance(state, chain.checkpoints[3].to_wire(), chain.proofs)
    assert state.checkpoint.header.log_size == len(genesis.members) + 9
    assert advance(state, chain.checkpoints[3].to_wire(), no_proofs) == state
    # an empty block: same log, higher height, no proof needed
    chain.add([])
    state = advance(state, chain.checkpoints[4].to_wire(), no_proofs)
    assert state.checkpoint.header.height == 4
    # the state survives its file format
    wire = json.loads(json.dumps(state.to_wire()))
    assert WitnessState.from_wire(wire) == state
    assert check_genesis(state, genesis) is state


def test_state_file_is_checked(genesis: Genesis, keys: dict[str, PrivateKey]) -> None:
    state = WitnessState.initial(genesis).to_wire()
    with pytest.raises(MalformedData, match="genesis_hash"):
        WitnessState.from_wire({**state, "genesis_hash": "00" * 32})
    with pytest.raises(MalformedData, match="version"):
        WitnessState.from_wire({**state, "version": 2})
    forged = chain_of(genesis, keys, 2).checkpoints[1].to_wire()
    forged["header"]["log_size"] += 1
    with pytest.raises(VerificationError):
        WitnessState.from_wire({**state, "checkpoint": forged})


def test_another_genesis_is_refused(genesis: Genesis, keys: dict[str, PrivateKey]) -> None:
    state = WitnessState.initial(genesis)
    other = Genesis(
        chain_id=CHAIN,
        timestamp=genesis.timestamp + 1,
        validators=genesis.validators,
        members=genesis.members,
    )
    with pytest.raises(VerificationError) as caught:
        check_genesis(state, other)
    assert caught.value.code == "genesis_mismatch"
    assert caught.value.expected == genesis.hash and caught.value.found == other.hash


def test_uncertified_checkpoints_prove_nothing(
    genesis: Genesis, keys: dict[str, PrivateKey]
) -> None:
    """A checkpoint without a valid certificate is an error, never evidence."""
    state = WitnessState.initial(genesis)
    rogue = Chain(genesis, keys["stranger"]).add(leaves("x", 2))
    with pytest.raises(VerificationError) as caught:
        advance(state, rogue.to_wire(), no_proofs)
    assert not isinstance(caught.value, HistoryConflict)
    assert caught.value.code == "bad_certificate"
    # a header edited after certification
    good = chain_of(genesis, keys, 2).checkpoints[1].to_wire()
    good["header"]["log_root"] = "11" * 32
    with pytest.raises(VerificationError) as caught:
        advance(state, good, no_proofs)
    assert not isinstance(caught.value, HistoryConflict)
    # a genesis block that is not the trusted one
    block0 = WitnessState.initial(genesis).checkpoint.to_wire()
    block0["header"]["timestamp"] += 1
    with pytest.raises(VerificationError, match="genesis block"):
        advance(state, block0, no_proofs)


def _conflict(state: WitnessState, presented: Checkpoint, chain: Chain) -> HistoryConflict:
    with pytest.raises(HistoryConflict) as caught:
        advance(state, presented.to_wire(), chain.proofs)
    conflict = caught.value
    assert conflict.code == "history_rewritten"
    assert conflict.stored == state.checkpoint and conflict.presented == presented
    # the evidence, as written to disk, convinces a third party holding only the genesis
    evidence = json.loads(json.dumps(conflict.evidence(state.genesis)))
    checked = check_evidence(evidence, state.genesis)
    assert (checked.reason, checked.conclusive) == (conflict.reason, conflict.conclusive)
    assert evidence["conclusive"] == conflict.conclusive
    for side in ("stored", "presented"):
        if evidence[side]["header"]["height"] > 0:
            verify_checkpoint(evidence[side], state.genesis.validators)
    return conflict


def test_rewritten_histories_are_caught(genesis: Genesis, keys: dict[str, PrivateKey]) -> None:
    honest = chain_of(genesis, keys, 2, 3)
    state = advance(WitnessState.initial(genesis), honest.checkpoints[2].to_wire(), honest.proofs)

    # the same validator key certifies another log that is longer; the node's own proof
    # names the root its log has at the stored size, and it is not the certified one
    m = honest.tree.size
    assert m & (m - 1) == 0, "the stored size is a power of two: the proof leaves it out"
    longer = chain_of(genesis, keys, 2, 3, 2, tag="b")
    conflict = _conflict(state, longer.checkpoints[3], longer)
    assert conflict.reason == INCONSISTENT_LOG and conclusive(conflict, longer)
    assert conflict.proof == longer.proofs(m, longer.tree.size)
    # one transaction more: no proof from the node can name its root at the stored size
    just_one = chain_of(genesis, keys, 2, 3, 1, tag="b")
    conflict = _conflict(state, just_one.checkpoints[3], just_one)
    assert conflict.reason == INCONSISTENT_LOG and not conflict.conclusive
    assert "does not show which log" in conflict.message
    # a stored size that is not a power of two, from the proof itself
    other = advance(WitnessState.initial(genesis), honest.checkpoints[1].to_wire(), honest.proofs)
    assert other.checkpoint.header.log_size & (other.checkpoint.header.log_size - 1)
    conflict = _conflict(other, just_one.checkpoints[3], just_one)
    assert conflict.reason == INCONSISTENT_LOG and conclusive(conflict, just_one)
    # ... of the same size ...
    assert _conflict(state, chain_of(genesis, keys, 5, tag="c").checkpoints[1], honest).reason == (
        SAME_SIZE_DIFFERENT_ROOT
    )
    # ... or shorter
    assert _conflict(state, chain_of(genesis, keys, 4, tag="d").checkpoints[1], honest).reason == (
        LOG_SHRANK
    )
    # the same log, but another block at the same height (another timestamp)
    twin = chain_of(genesis, keys, 2, tag="a")
    twin.add(leaves("a1", 3), timestamp_step=7)
    assert _conflict(state, twin.checkpoints[2], twin).reason == CONFLICTING_BLOCKS
    # an older checkpoint of the same honest log
    honest.add([])
    later = advance(state, honest.checkpoints[3].to_wire(), honest.proofs)
    assert _conflict(later, honest.checkpoints[2], honest).reason == HEIGHT_WENT_BACK
    # a node that tampers with the proof of an honest extension is caught too
    honest.add(leaves("e", 2))

    def bad_proofs(first: int, second: int) -> list[str]:
        proof = honest.proofs(first, second)
        return [proof[0][:-1] + ("0" if proof[0][-1] != "0" else "1"), *proof[1:]]

    with pytest.raises(HistoryConflict) as caught:
        advance(later, honest.checkpoints[4].to_wire(), bad_proofs)
    assert caught.value.reason == INCONSISTENT_LOG and not caught.value.conclusive


def conclusive(conflict: HistoryConflict, forged: Chain) -> bool:
    """The conflict names the forged log's real root at the stored size."""
    m = conflict.stored.header.log_size
    return conflict.conclusive and conflict.first_root == forged.tree.root(m).hex()


def test_evidence_must_prove_a_conflict(genesis: Genesis, keys: dict[str, PrivateKey]) -> None:
    honest = chain_of(genesis, keys, 2, 3)
    state = advance(WitnessState.initial(genesis), honest.checkpoints[1].to_wire(), honest.proofs)
    forged = chain_of(genesis, keys, 2, 4, tag="b")
    with pytest.raises(HistoryConflict) as caught:
        advance(state, forged.checkpoints[2].to_wire(), forged.proofs)
    evidence = caught.value.evidence(genesis)

    # the honest extension with its honest proof is no evidence
    sizes = [c.header.log_size for c in honest.checkpoints[1:]]
    honest_pair = {
        **evidence,
        "presented": honest.checkpoints[2].to_wire(),
        "consistency_proof": {"proof": honest.proofs(*sizes)},
    }
    with pytest.raises(VerificationError, match="do not conflict"):
        check_evidence(honest_pair, genesis)
    # an honest pair with a made-up proof and a made-up root is not conclusive
    made_up = {"proof": ["ab" * 32] * 3, "first_root": "cd" * 32}
    checked = check_evidence({**honest_pair, "consistency_proof": made_up}, genesis)
    assert checked.reason == INCONSISTENT_LOG and not checked.conclusive
    # nor is a forged pair whose first_root was edited
    edited = json.loads(json.dumps(evidence))
    assert edited["conclusive"] and edited["consistency_proof"]["first_root"]
    edited["consistency_proof"]["first_root"] = "cd" * 32
    assert not check_evidence(edited, genesis).conclusive
    # a checkpoint whose certificate does not verify proves nothing
    tampered = json.loads(json.dumps(evidence))
    tampered["presented"]["header"]["timestamp"] += 1
    with pytest.raises(VerificationError, match="does not verify"):
        check_evidence(tampered, genesis)
    # nor does evidence checked against the genesis of a consortium with another validator
    stranger = ValidatorSet.of([Validator("v1", keys["stranger"].public_key.hex, 1)])
    other = Genesis(CHAIN, genesis.timestamp, stranger, genesis.members)
    with pytest.raises(VerificationError, match="does not verify"):
        check_evidence(evidence, other)
    # a growing log without its proof is not evidence either
    with pytest.raises(VerificationError, match="has none"):
        check_evidence({**evidence, "consistency_proof": None}, genesis)
    with pytest.raises(VerificationError, match=r"not a ledger\.witness\.evidence"):
        check_evidence({"type": "something else"}, genesis)


@settings(max_examples=25, deadline=None)
@given(
    first=st.integers(1, 40),
    grow=st.integers(0, 40),
    changed=st.integers(0, 10_000),
)
def test_any_rewritten_leaf_is_caught(
    genesis: Genesis, keys: dict[str, PrivateKey], first: int, grow: int, changed: int
) -> None:
    """Honest growth always passes; changing any one leaf the witness has seen never does."""
    honest = chain_of(genesis, keys, first, grow)
    state = advance(WitnessState.initial(genesis), honest.checkpoints[1].to_wire(), honest.proofs)
    assert (
        advance(state, honest.checkpoints[2].to_wire(), honest.proofs).checkpoint
        == (honest.checkpoints[2])
    )
    rewritten = leaves("a0", first)
    rewritten[changed % first] = b"rewritten"
    forged = Chain(genesis, keys["v1"])
    forged.add(rewritten)
    forged.add(leaves("a1", grow))
    with pytest.raises(HistoryConflict) as caught:
        advance(state, forged.checkpoints[2].to_wire(), forged.proofs)
    expected = SAME_SIZE_DIFFERENT_ROOT if grow == 0 else INCONSISTENT_LOG
    assert caught.value.reason == expected
    checked = check_evidence(caught.value.evidence(genesis), genesis)
    assert checked.reason == expected
    # only a power-of-two stored size followed by a single transaction leaves it unproven
    m = honest.checkpoints[1].header.log_size
    assert checked.conclusive == (grow != 1 or m & (m - 1) != 0)
    if expected == INCONSISTENT_LOG and checked.conclusive:
        assert checked.first_root == forged.tree.root(m).hex()


def test_cosignature_checks(genesis: Genesis, keys: dict[str, PrivateKey]) -> None:
    registry = MemberRegistry.from_genesis(genesis)
    header = chain_of(genesis, keys, 2).checkpoints[1].header
    good = cosign(keys[WITNESS], WITNESS, header)
    assert Cosignature.from_wire(json.loads(json.dumps(good.to_wire()))) == good
    check_cosignature(good, CHAIN, registry, header)
    good_key = keys[WITNESS].public_key.hex
    verify_cosignature(good, CHAIN, good_key)

    def code(cosignature: Cosignature, at: Header | None = header, chain: str = CHAIN) -> str:
        with pytest.raises((RuleViolation, VerificationError, NotFound)) as caught:
            check_cosignature(cosignature, chain, registry, at)
        return caught.value.code

    assert code(cosign(keys["clerk"], "clerk", header)) == "not_a_witness"
    assert code(cosign(keys["stranger"], "stranger", header)) == "not_a_witness"
    assert code(cosign(keys["stranger"], WITNESS, header)) == "wrong_witness_key"
    flipped = good.signature[:-2] + ("00" if good.signature[-2:] != "00" else "01")
    assert code(Cosignature(**{**good.to_wire(), "signature": flipped})) == "bad_signature"
    assert code(good, chain="another-chain") == "bad_signature"
    other = chain_of(genesis, keys, 3).checkpoints[1].header
    assert code(cosign(keys[WITNESS], WITNESS, other)) == "checkpoint_mismatch"
    assert code(good, at=None) == "block_not_found"
    with pytest.raises(VerificationError) as caught:
        verify_cosignature(good, CHAIN, keys["clerk"].public_key.hex)
    assert caught.value.code == "wrong_witness_key"
    with pytest.raises(InvalidSignature):
        verify_cosignature(Cosignature(**{**good.to_wire(), "height": 9}), CHAIN, good_key)
    with pytest.raises(MalformedData):
        Cosignature.from_wire({**good.to_wire(), "extra": 1})
    revoked = MemberRegistry.from_genesis(genesis)
    revoked.members[WITNESS] = replace(revoked.members[WITNESS], active=False)
    with pytest.raises(RuleViolation):
        check_cosignature(good, CHAIN, revoked, header)


# --- nodes over HTTP ----------------------------------------------------------------------


def submit(node: InProcessNode, consortium: Consortium, count: int) -> None:
    """``count`` deposits, one block each."""
    key = FileKeyStore(consortium.home / "keys").signer("evidence-platform")
    with node.client() as client:
        for _ in range(count):
            tx = make_transaction(
                key,
                chain_id=consortium.genesis.chain_id,
                type="evidence.deposit",
                submitter="evidence-platform",
                payload=example_deposit_payload(),
            )
            client.submit_and_wait(tx)


def witness(
    url: str, home: Path, state: Path, *extra: str, member: str = WITNESS
) -> subprocess.CompletedProcess[str]:
    cmd = [
        *(sys.executable, "-m", "ledger", "witness", "--url", url, "--state", str(state)),
        *("--key", str(home / "keys" / f"{member}.pem"), "--id", member, *extra),
    ]
    return subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "200"}
    )


def read(path: Path) -> Any:
    return parse_json(path.read_bytes())


def test_witness_cosigns_a_growing_node(
    consortium: Consortium, node: InProcessNode, tmp_path: Path
) -> None:
    state = tmp_path / "witness.json"
    heights = []
    url = node.listen()  # the witness runs as a process of its own
    for count in (0, 2, 1):
        submit(node, consortium, count)
        result = witness(
            url, consortium.home, state, "--genesis", str(consortium.home / "genesis.json")
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "consistent" in result.stdout
        kept = read(state)
        assert kept["genesis_hash"] == consortium.genesis.hash
        with node.client() as client:
            checkpoint = client.checkpoint()
        assert kept["checkpoint"] == {k: checkpoint[k] for k in KEPT}
        heights.append(kept["checkpoint"]["header"]["height"])
        # the node serves the cosignature beside its checkpoint, and it verifies
        [served] = checkpoint["cosignatures"]
        assert served["witness"] == WITNESS and served["height"] == heights[-1]
        assert served["log_root"] == checkpoint["header"]["log_root"]
        witness_key = FileKeyStore(consortium.home / "keys").signer(WITNESS).public_key.hex
        verify_cosignature(Cosignature.from_wire(served), consortium.genesis.chain_id, witness_key)
    assert heights == [0, 2, 3]
    assert "log grew from" in result.stdout

    # another consortium's genesis is refused, and the state stays as it was
    other = create(tmp_path / "other", demo=True)
    before = state.read_bytes()
    result = witness(url, consortium.home, state, "--genesis", str(other.home / "genesis.json"))
    assert result.returncode == 2 and "genesis_mismatch" in result.stderr
    assert state.read_bytes() == before
    # a member without role auditor gets a clear refusal from the node
    result = witness(url, consortium.home, tmp_path / "clerk.json", member="evidence-platform")
    assert result.returncode == 2 and "not_a_witness" in result.stderr


def test_checkpoint_history_pages(
    consortium: Consortium, start_node: Callable[..., InProcessNode]
) -> None:
    node = start_node(
        consortium.home, f"sqlite:///{consortium.home / 'ledger.db'}", {"max_checkpoints_page": 3}
    )
    submit(node, consortium, 4)
    with node.http() as http, node.client() as client:
        tip = client.checkpoint()["header"]["height"]
        assert tip == 4
        seen, cursor, pages = [], 0, 0
        while cursor is not None:
            page = http.get("/v1/checkpoints", params={"from_height": cursor, "limit": 2}).json()
            assert len(page["checkpoints"]) <= 2
            seen.extend(page["checkpoints"])
            cursor, pages = page["next"], pages + 1
        assert pages == 3
        assert [c["header"]["height"] for c in seen] == list(range(tip + 1))
        for c in seen:
            block = client.block(c["header"]["height"])
            assert c == {
                "header": block["header"],
                "commit": block["commit"],
                "validators": client.genesis().validators.to_wire(),
                "validator_history": [],
            }
        newest = client.checkpoint()
        assert seen[-1] == {k: newest[k] for k in (*KEPT, "validators")}
        # the page size is capped by the setting; past the tip is an empty last page
        capped = http.get("/v1/checkpoints", params={"limit": 1000}).json()
        assert len(capped["checkpoints"]) == 3 and capped["next"] == 3
        assert http.get("/v1/checkpoints", params={"from_height": 99}).json() == {
            "checkpoints": [],
            "next": None,
        }
        for bad in ({"limit": 0}, {"from_height": -1}, {"limit": "x"}):
            answer = http.get("/v1/checkpoints", params=bad)
            assert answer.status_code == 400 and answer.json()["error"]["code"] == "malformed"


def test_node_refuses_bad_cosignatures(
    consortium: Consortium, start_node: Callable[..., InProcessNode]
) -> None:
    node = start_node(consortium.home, f"sqlite:///{consortium.home / 'ledger.db'}")
    submit(node, consortium, 1)
    store = FileKeyStore(consortium.home / "keys")
    with node.http() as http, node.client() as client:
        header = Header.from_wire(client.checkpoint()["header"])
        good = cosign(store.signer(WITNESS), WITNESS, header).to_wire()

        def post(body: Any, status: int, code: str) -> None:
            answer = http.post("/v1/checkpoint/cosignatures", json=body)
            assert answer.status_code == status, answer.text
            assert answer.json()["error"]["code"] == code
            assert client.checkpoint()["cosignatures"] == []

        post(
            cosign(store.signer("evidence-platform"), "evidence-platform", header).to_wire(),
            422,
            "not_a_witness",
        )
        post(cosign(store.signer("v1"), WITNESS, header).to_wire(), 422, "wrong_witness_key")
        sig = good["signature"]
        post(
            {**good, "signature": sig[:10] + ("0" if sig[10] != "0" else "1") + sig[11:]},
            400,
            "bad_signature",
        )
        wrong_root = {**header.to_wire(), "log_root": "ab" * 32}
        forged = cosign(store.signer(WITNESS), WITNESS, Header.from_wire(wrong_root)).to_wire()
        post(forged, 400, "checkpoint_mismatch")
        beyond = Header.from_wire({**header.to_wire(), "height": header.height + 5})
        post(cosign(store.signer(WITNESS), WITNESS, beyond).to_wire(), 404, "block_not_found")
        post({**good, "extra": 1}, 400, "malformed")
        answer = http.post(
            "/v1/checkpoint/cosignatures",
            content=b'{"witness": 1.5}',
            headers={"Content-Type": "application/json"},
        )
        assert answer.status_code == 400 and answer.json()["error"]["code"] == "not_canonical"
        answer = http.post("/v1/checkpoint/cosignatures", content=b"x" * 5000)
        assert answer.status_code == 413
        # the good one is stored and served; posting it again changes nothing
        for _ in range(2):
            answer = http.post("/v1/checkpoint/cosignatures", json=good)
            assert answer.status_code == 201, answer.text
            assert client.checkpoint()["cosignatures"] == [good]
        # an older cosignature does not hide the newest one
        older = Header.from_wire(client.block(0)["header"])
        answer = http.post(
            "/v1/checkpoint/cosignatures",
            json=cosign(store.signer(WITNESS), WITNESS, older).to_wire(),
        )
        assert answer.status_code == 201
        assert client.checkpoint()["cosignatures"] == [good]


def test_witness_catches_a_forged_history(
    consortium: Consortium, start_node: Callable[..., InProcessNode], tmp_path: Path
) -> None:
    """The operator keeps the validator key, wipes the database and certifies another log."""
    genesis_file = str(consortium.home / "genesis.json")
    state = tmp_path / "witness.json"
    node = start_node(consortium.home, f"sqlite:///{tmp_path / 'original.db'}")
    submit(node, consortium, 3)
    result = witness(node.listen(), consortium.home, state, "--genesis", genesis_file)
    assert result.returncode == 0, result.stdout + result.stderr
    node.stop()
    kept = state.read_bytes()
    stored = read(state)["checkpoint"]
    assert stored["header"]["log_size"] == len(consortium.genesis.members) + 3

    for name, count, reason in (
        ("longer", 4, INCONSISTENT_LOG),
        ("same-size", 3, SAME_SIZE_DIFFERENT_ROOT),
        ("shorter", 2, LOG_SHRANK),
    ):
        rogue = start_node(consortium.home, f"sqlite:///{tmp_path / f'{name}.db'}")
        submit(rogue, consortium, count)
        evidence = tmp_path / f"{name}.evidence.json"
        result = witness(
            rogue.listen(),
            consortium.home,
            state,
            "--genesis",
            genesis_file,
            "--evidence",
            str(evidence),
        )
        assert result.returncode == 1, result.stdout + result.stderr
        assert "HISTORY REWRITTEN" in result.stderr and reason in result.stderr
        assert state.read_bytes() == kept, "the state must keep the checkpoint it verified"
        with rogue.client() as client:
            assert client.checkpoint()["cosignatures"] == []
            presented = {k: client.checkpoint()[k] for k in KEPT}
        rogue.stop()

        # the evidence: both checkpoints, each certified by the genesis validators
        record = read(evidence)
        assert record["reason"] == reason and record["witness"] == WITNESS
        assert record["stored"] == stored and record["presented"] == presented
        for side in ("stored", "presented"):
            verify_checkpoint(record[side], consortium.genesis.validators)
        if reason == INCONSISTENT_LOG:
            proof = record["consistency_proof"]
            assert proof["first"] == stored["header"]["log_size"]
            assert proof["second"] == presented["header"]["log_size"] and proof["proof"]
            # the rogue node's own proof names its log's root at the stored size
            assert proof["first_root"] not in (None, stored["header"]["log_root"])
        assert record["conclusive"] is True
        assert check_evidence(record, consortium.genesis).reason == reason
        checked = subprocess.run(
            [
                sys.executable,
                "-m",
                "ledger",
                "witness-check-evidence",
                str(evidence),
                "--genesis",
                genesis_file,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert checked.returncode == 0 and "proven" in checked.stdout, checked.stderr

    # without --evidence, evidence goes beside the state file and never replaces earlier one
    rogue = start_node(consortium.home, f"sqlite:///{tmp_path / 'longer.db'}")
    url = rogue.listen()
    for _ in range(2):
        assert witness(url, consortium.home, state).returncode == 1
    assert read(tmp_path / "witness.json.conflict.json")["reason"] == INCONSISTENT_LOG
    assert read(tmp_path / "witness.json.conflict.1.json")["reason"] == INCONSISTENT_LOG


def test_status_page_shows_cosignatures(
    consortium: Consortium, start_node: Callable[..., InProcessNode], tmp_path: Path
) -> None:
    """The portal's status page lists each auditor's newest cosignature."""
    from tests.test_portal import CHROMEDRIVER, CHROMIUM, _browser_missing, _css, _wait

    problem = _browser_missing()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    node = start_node(consortium.home, f"sqlite:///{consortium.home / 'ledger.db'}")
    url = node.listen()  # for the witness process and the browser
    submit(node, consortium, 1)
    result = witness(url, consortium.home, tmp_path / "witness.json")
    assert result.returncode == 0, result.stderr
    submit(node, consortium, 1)
    options = Options()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1400"):
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={tmp_path / 'profile'}")
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        for lang, words in (("en", "Auditor cosignatures"), ("zh", "审计见证")):
            driver.get(f"{url}/status?lang={lang}")
            _wait(driver, "#st-cosignatures table")
            text = _css(driver, "#st")[0].text
            assert words in text
            row = _css(driver, "#st-cosignatures tbody tr")[0].text
            assert WITNESS in row and "13 /" in row and row.endswith("1")
            shots = Path(os.environ.get("PORTAL_SCREENSHOTS") or tmp_path)
            shots.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(shots / f"status-cosignatures-{lang}.png"))
    finally:
        driver.quit()
