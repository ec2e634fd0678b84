"""Validator set changes by governance transactions (ledger/validators.py).

- The rules, pure: every refusal has its code and changes nothing; a block's changes take
  effect two heights later, and the block before names the new set.
- A single-validator node refuses changes over HTTP with a 4xx code and stores nothing.
- Four real validator processes: governance removes v4, registers v5 and adds it. A receipt
  issued after both changes carries two ``validator_history`` entries and verifies with
  ``ledger.verify`` and the independent verifier holding only the genesis; receipts from
  before still verify; a tampered history fails at step 5 (or 6). The removed validator
  follows without signing, the added one (not in genesis.json) catches up and votes, a
  restarted node rebuilds the set from its database, and the audit accepts the handovers
  and refuses a forged one.
"""

from __future__ import annotations

import copy
import itertools
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keys import FileKeyStore
from ledger.access_log import verify_head
from ledger.audit import AuditError, Auditor, ChainSource, HttpSource, SourceBlock, StoreAuditor
from ledger.block import build_block
from ledger.canonical import canonical, parse_json
from ledger.client import make_transaction
from ledger.consortium import create
from ledger.crypto import PrivateKey, sm3_hex
from ledger.domains.member.state import MemberRegistry
from ledger.domains.validator.schemas import MAX_POWER
from ledger.domains.validator.state import (
    CHANGE_DELAY,
    ChangeBatch,
    ValidatorSchedule,
    certifies_alone,
    history_entry,
    power_change,
)
from ledger.domains.validator.verify import (
    follow_validator_history,
    history_validator,
    validator_sets,
)
from ledger.errors import InvalidInput, InvalidSignature, RuleViolation, VerificationError
from ledger.execution import check_state
from ledger.genesis import genesis_block
from ledger.merkle import SM3, CompactRange
from ledger.model import (
    CommitCertificate,
    CommitSignature,
    Genesis,
    Header,
    Member,
    SignedTransaction,
    Validator,
    ValidatorSet,
    commit_vote,
)
from ledger.report import verify_report_pdf
from ledger.store import Store
from ledger.verify import (
    verify_checkpoint,
    verify_checkpoint_from_genesis,
    verify_receipt,
)
from ledger.witness import Checkpoint, HistoryConflict, check_evidence, compare
from tests import independent_verifier as iv
from tests.conftest import Consortium
from tests.inprocess import InProcessNode
from tests.test_cluster import Cluster, running_cluster

GOVERNANCE = "gz-gov-service-bureau"
AUDITOR = "gz-audit-bureau"
TOLERANCE_MS = 5 * 60 * 1000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# --- the rules, pure -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def four(tmp_path_factory: pytest.TempPathFactory) -> Consortium:
    c = create(tmp_path_factory.mktemp("four") / "consortium", demo=True, validators=4)
    return Consortium(c.home, c.genesis)


def _tx(c: Consortium, tx_type: str, payload: dict[str, Any], member: str = GOVERNANCE) -> Any:
    chain = c.genesis.chain_id
    return make_transaction(
        c.key(member), chain_id=chain, type=tx_type, submitter=member, payload=payload
    )


def _registry_with_v5(c: Consortium) -> tuple[MemberRegistry, PrivateKey]:
    registry = MemberRegistry.from_genesis(c.genesis)
    key = PrivateKey.generate()
    registry.register("v5", ("validator",), key.public_key.hex, 1)
    return registry, key


def _code(batch: ChangeBatch, registry: MemberRegistry, tx: SignedTransaction) -> str:
    with pytest.raises(RuleViolation) as info:
        check_state(tx, registry, batch)
    assert info.value.http_status == 422
    return info.value.code


def test_each_change_type_and_its_refusals(four: Consortium) -> None:
    registry, v5 = _registry_with_v5(four)
    genesis_set = four.genesis.validators
    v1_key = genesis_set.validators[0].public_key
    batch = ValidatorSchedule(genesis_set).begin_block()
    refused = {
        "invalid_payload": [
            _tx(four, "validator.add", {"id": "v5", "public_key": v5.public_key.hex}),
            _tx(four, "validator.add", {"id": "v5", "public_key": v5.public_key.hex, "power": 0}),
            _tx(four, "validator.set_power", {"id": "v1", "power": True}),
            _tx(four, "validator.set_power", {"id": "v1", "power": MAX_POWER + 1}),
            _tx(four, "validator.set_power", {"id": "v1", "power": "2"}),
            _tx(four, "validator.remove", {"id": "v1", "power": 1}),
            _tx(four, "validator.remove", {"id": "NOT AN ID"}),
        ],
        "unknown_member": [
            _tx(four, "validator.add", {"id": "v9", "public_key": v1_key, "power": 1})
        ],
        "not_a_validator_member": [
            _tx(
                four,
                "validator.add",
                {
                    "id": "gz-audit-bureau",
                    "public_key": registry.members["gz-audit-bureau"].public_key,
                    "power": 1,
                },
            )
        ],
        "validator_key_mismatch": [
            _tx(four, "validator.add", {"id": "v5", "public_key": v1_key, "power": 1})
        ],
        "validator_exists": [
            _tx(four, "validator.add", {"id": "v1", "public_key": v1_key, "power": 1})
        ],
        "unknown_validator": [
            _tx(four, "validator.remove", {"id": "v5"}),
            _tx(four, "validator.set_power", {"id": "gz-audit-bureau", "power": 1}),
        ],
        # 4 of power 1: two units may not move in one block (2 * 3 > 4)
        "validator_change_too_large": [
            _tx(four, "validator.set_power", {"id": "v1", "power": 3}),
            _tx(four, "validator.add", {"id": "v5", "public_key": v5.public_key.hex, "power": 2}),
        ],
        "role_not_allowed": [
            _tx(four, "validator.remove", {"id": "v4"}, member="v1"),
            _tx(four, "validator.set_power", {"id": "v4", "power": 2}, member="gz-audit-bureau"),
        ],
    }
    for code, txs in refused.items():
        for tx in txs:
            assert _code(batch, registry, tx) == code, tx.envelope.payload
    assert not batch.changed  # nothing a refusal touched

    # each kind passes alone; within one block the changes accumulate against the bound
    for tx_type, payload in (
        ("validator.add", {"id": "v5", "public_key": v5.public_key.hex, "power": 1}),
        ("validator.remove", {"id": "v4"}),
        ("validator.set_power", {"id": "v2", "power": 2}),
    ):
        fresh = ValidatorSchedule(genesis_set).begin_block()
        tx = _tx(four, tx_type, payload)
        check_state(tx, registry, fresh)
        fresh.apply(tx.envelope)
        assert power_change(genesis_set, fresh.result) == 1
    remove = _tx(four, "validator.remove", {"id": "v4"})
    check_state(remove, registry, batch)
    batch.apply(remove.envelope)
    assert _code(batch, registry, _tx(four, "validator.remove", {"id": "v4"})) == (
        "unknown_validator"
    )
    second = _tx(four, "validator.set_power", {"id": "v1", "power": 2})
    assert _code(batch, registry, second) == "validator_change_too_large"
    # without a schedule (a builder that does not handle them) the types are refused
    with pytest.raises(RuleViolation) as info:
        check_state(remove, registry)
    assert info.value.code == "unknown_type"


def test_a_set_may_not_become_empty_and_one_validator_cannot_move_a_third(
    tmp_path: Path,
) -> None:
    c = create(tmp_path / "one", demo=True)
    one = Consortium(c.home, c.genesis)
    registry = MemberRegistry.from_genesis(one.genesis)
    batch = ValidatorSchedule(one.genesis.validators).begin_block()
    assert _code(batch, registry, _tx(one, "validator.remove", {"id": "v1"})) == (
        "validator_set_empty"
    )
    # the single-validator engine's chain keeps its validator: any change moves a third
    set_power = _tx(one, "validator.set_power", {"id": "v1", "power": 2})
    assert _code(batch, registry, set_power) == "validator_change_too_large"
    # what the single engine checks before it signs a block alone (else: needs_bft)
    v1 = one.genesis.validators.validators[0]
    assert certifies_alone(one.genesis.validators, "v1")
    heavy = ValidatorSet.of([Validator("v1", v1.public_key, 3)])
    grown = ValidatorSet.of([*heavy.validators, Validator("v2", v1.public_key, 1)])
    assert certifies_alone(grown, "v1")  # 3 of 4
    halved = ValidatorSet.of([*heavy.validators, Validator("v2", v1.public_key, 2)])
    assert not certifies_alone(halved, "v1")  # 3 of 5
    assert not certifies_alone(grown, "v9")


def _build(
    genesis: Genesis,
    registry: MemberRegistry,
    schedule: ValidatorSchedule,
    prev: Header,
    log: CompactRange,
    txs: list[SignedTransaction],
) -> Any:
    height = prev.height + 1
    return build_block(
        prev=prev,
        log=log,
        registry=registry,
        candidates=txs,
        now_ms=now_ms(),
        tolerance_ms=TOLERANCE_MS,
        proposer="v1",
        validators=schedule.at(height),
        next_validators=schedule.at(height + 1),
        schedule=schedule,
    )


def test_a_change_takes_effect_two_heights_later_and_the_block_before_names_the_new_set(
    four: Consortium,
) -> None:
    genesis = four.genesis
    registry, v5 = _registry_with_v5(four)
    block0 = genesis_block(genesis)
    log = CompactRange(SM3)
    for t in block0.transactions:
        log.append(t.leaf_hash)
    schedule = ValidatorSchedule(genesis.validators)
    remove = _tx(four, "validator.remove", {"id": "v4"})
    bad = _tx(four, "validator.remove", {"id": "v4"})
    b1 = _build(genesis, registry, schedule, block0.header, log, [remove, bad])
    assert b1.transactions == [remove]
    assert [e.code for _, e in b1.rejected] == ["unknown_validator"]
    assert schedule.latest == genesis.validators  # the input schedule is untouched
    after = b1.schedule
    three = ValidatorSet(tuple(v for v in genesis.validators.validators if v.id != "v4"))
    assert after.latest == three
    assert after.at(1 + CHANGE_DELAY - 1) == genesis.validators
    assert after.at(1 + CHANGE_DELAY) == three
    # block 1 itself: certified and followed by the genesis set
    assert b1.header.validators_hash == b1.header.next_validators_hash == genesis.validators.hash

    add = _tx(four, "validator.add", {"id": "v5", "public_key": v5.public_key.hex, "power": 1})
    b2 = _build(genesis, b1.registry, after, b1.header, b1.log, [add])
    assert b2.transactions == [add]  # checked against the pending set {v1, v2, v3}
    assert b2.header.validators_hash == genesis.validators.hash
    assert b2.header.next_validators_hash == three.hash  # the handover to the new set
    final = b2.schedule
    assert [e.height for e in final.epochs] == [0, 3, 4]
    b3 = _build(genesis, b2.registry, final, b2.header, b2.log, [])
    assert (b3.header.validators_hash, b3.header.next_validators_hash) == (
        three.hash,
        final.latest.hash,
    )
    assert [e.height for e in final.handovers(3)] == [3]
    assert [e.height for e in final.handovers(4)] == [3, 4]
    assert final.public_key("v4") == genesis.validators.validators[3].public_key
    assert final.public_key("v5") == v5.public_key.hex
    replayed = ValidatorSchedule.replay(
        genesis.validators, [(remove.envelope, 1), (add.envelope, 2)]
    )
    assert replayed.epochs == final.epochs


# --- following a validator history, pure (ledger/verify.py) ---------------------------------

POOL = {f"p{i}": PrivateKey.generate() for i in range(5)}
CHAIN = "history-test"


def _handover(height: int, trusted: ValidatorSet, nxt: ValidatorSet) -> dict[str, Any]:
    """A handover entry: a header naming ``nxt``, certified by all of ``trusted``."""
    zero = "00" * 32
    header = Header(
        CHAIN, height, zero, 1_763_700_000_000, 0, zero, 0, zero, trusted.hash, nxt.hash, "p0"
    )
    vote = commit_vote(CHAIN, height, 0, header.block_hash)
    signatures = tuple(CommitSignature(v.id, POOL[v.id].sign(vote)) for v in trusted.validators)
    commit = CommitCertificate(height, 0, header.block_hash, signatures)
    return history_entry(header.to_wire(), commit.to_wire(), nxt)


def _set(members: dict[str, int]) -> ValidatorSet:
    return ValidatorSet.of([Validator(i, POOL[i].public_key.hex, p) for i, p in members.items()])


def history_receipt() -> tuple[dict[str, Any], Genesis]:
    """A receipt whose block is certified by a set two handovers away from the genesis set,
    with its ``validator_history``, and that genesis; every hash and signature real."""
    chain = [_set({"p0": 1}), _set({"p1": 1}), _set({"p1": 2, "p2": 1})]
    history = [_handover(10 * (i + 1), a, b) for i, (a, b) in enumerate(itertools.pairwise(chain))]
    tx = make_transaction(
        POOL["p3"], chain_id=CHAIN, type="note.add", submitter="clerk", payload={"n": 1}
    ).to_wire()
    zero, leaf = "00" * 32, SM3.hash_leaf(canonical(tx)).hex()
    last = chain[-1]
    header = Header(
        CHAIN, 30, zero, 1_763_700_000_000, 1, leaf, 9, zero, last.hash, last.hash, "p1"
    )
    vote = commit_vote(CHAIN, 30, 0, header.block_hash)
    signatures = tuple(CommitSignature(v.id, POOL[v.id].sign(vote)) for v in last.validators)
    receipt = {
        "version": 1,
        "chain_id": CHAIN,
        "tx_id": sm3_hex(canonical(tx["envelope"])),
        "transaction": tx,
        "submitter_public_key": POOL["p3"].public_key.hex,
        "index": 0,
        "inclusion_proof": [],
        "header": header.to_wire(),
        "commit": CommitCertificate(30, 0, header.block_hash, signatures).to_wire(),
        "validators": last.to_wire(),
        "validator_history": history,
    }
    members = (Member("clerk", ("depositor",), POOL["p3"].public_key.hex),)
    return receipt, Genesis(CHAIN, 1_763_700_000_000, chain[0], members)


def test_a_receipt_two_handovers_away_verifies_and_an_altered_entry_fails_at_step_5() -> None:
    receipt, genesis = history_receipt()
    assert verify_receipt(receipt, genesis).header.height == 30
    assert iv.verify(receipt, genesis.to_wire()) == 0
    altered = copy.deepcopy(receipt)
    altered["validator_history"][1]["next_validators"]["validators"][0]["power"] = 3
    _fails(altered, genesis, "5 validator_history[1]")


sets_strategy = st.lists(
    st.dictionaries(st.sampled_from(sorted(POOL)), st.integers(1, 3), min_size=1),
    min_size=2,
    max_size=4,
)


@settings(max_examples=20, deadline=None)
@given(sets_strategy, st.data())
def test_following_a_history_reaches_its_last_set_and_a_mutation_fails_at_its_entry(
    memberships: list[dict[str, int]], data: st.DataObject
) -> None:
    chain = [_set(m) for m in memberships]
    history = [_handover(10 * (i + 1), a, b) for i, (a, b) in enumerate(itertools.pairwise(chain))]
    assert validator_sets(chain[0], history, CHAIN) == chain
    assert follow_validator_history(chain[0], history, CHAIN) == chain[-1]
    assert follow_validator_history(chain[0], [], CHAIN) == chain[0]
    last = chain[-1].validators[-1]
    genesis = Genesis(CHAIN, 1, chain[0], ())
    found = history_validator(genesis, last.id, history, step="s", public_key=last.public_key)
    assert found == last

    i = data.draw(st.integers(0, len(history) - 1))
    how = data.draw(st.sampled_from(["power", "unsigned", "chain", "keys"]))
    bad = copy.deepcopy(history)
    if how == "power":
        bad[i]["next_validators"]["validators"][0]["power"] += 1
    elif how == "unsigned":
        bad[i]["commit"]["signatures"] = []
    elif how == "chain":
        bad[i]["header"]["chain_id"] = "another"
    else:
        bad[i] = {**bad[i], "extra": 1}
    with pytest.raises(VerificationError) as info:
        follow_validator_history(chain[0], bad, CHAIN, "P")
    assert info.value.step == f"P[{i}]"


def test_a_history_that_is_not_a_list_and_a_signer_outside_every_set_are_refused() -> None:
    first, second = _set({"p0": 1}), _set({"p0": 1, "p1": 1})
    with pytest.raises(VerificationError) as info:
        follow_validator_history(first, {"not": "a list"}, CHAIN)
    assert info.value.step == "5 validator_history"
    genesis = Genesis(CHAIN, 1, first, ())
    history = [_handover(5, first, second)]
    p1 = POOL["p1"].public_key.hex
    assert history_validator(genesis, "p1", history, step="k", public_key=p1).power == 1
    for args in (("p1", []), ("p2", history)):
        with pytest.raises(VerificationError) as info:
            history_validator(genesis, *args, step="k")
        assert info.value.step == "k" and info.value.code == "unknown_signer"
    with pytest.raises(VerificationError):
        history_validator(genesis, "p1", history, step="k", public_key=POOL["p0"].public_key.hex)


def test_a_single_validator_node_refuses_changes_with_4xx_and_stores_nothing(
    consortium: Consortium, node: InProcessNode
) -> None:
    with node.client() as client:
        before = client.checkpoint()["header"]["log_size"]
        cases = {
            "validator_set_empty": _tx(consortium, "validator.remove", {"id": "v1"}),
            "validator_change_too_large": _tx(
                consortium, "validator.set_power", {"id": "v1", "power": 2}
            ),
            "unknown_member": _tx(
                consortium,
                "validator.add",
                {"id": "v2", "public_key": PrivateKey.generate().public_key.hex, "power": 1},
            ),
        }
        for code, tx in cases.items():
            with pytest.raises(InvalidInput) as info:
                client.submit(tx)
            assert info.value.code == code
            assert client.status(tx.tx_id)["status"] == "rejected"
        tx_id = client.submit(_tx(consortium, "member.register", _member("v2")))
        client.wait_for_receipt(tx_id)
        assert client.checkpoint()["header"]["log_size"] == before + 1


def _member(vid: str, home: Path | None = None) -> dict[str, Any]:
    key = (
        FileKeyStore(home / "keys").public_key(vid).hex
        if home is not None
        else PrivateKey.generate().public_key.hex
    )
    return {"id": vid, "roles": ["validator"], "public_key": key}


# --- four real validators, two changes -----------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("changes") / "consortium", ("v5",)) as c:
        yield c


def _governance(cluster: Cluster, vid: str, tx_type: str, payload: dict[str, Any]) -> Any:
    tx = make_transaction(
        FileKeyStore(cluster.home / "keys").signer(GOVERNANCE),
        chain_id=cluster.genesis.chain_id,
        type=tx_type,
        submitter=GOVERNANCE,
        payload=payload,
    )
    return cluster.wait_receipt(vid, cluster.client(vid).submit(tx))


def _receipt_at_or_above(cluster: Cluster, vid: str, height: int) -> Any:
    """Commit evidence deposits until one lands at ``height`` or above."""
    while True:
        receipt = cluster.wait_receipt(vid, cluster.client(vid).submit(cluster.transaction()))
        if receipt["header"]["height"] >= height:
            return receipt


def _signers(receipt: Any) -> set[str]:
    return {s["validator"] for s in receipt["commit"]["signatures"]}


def _ledger(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger", *args], capture_output=True, text=True, timeout=120
    )


def _fails(receipt: Any, genesis: Genesis, step: str) -> None:
    with pytest.raises(VerificationError) as info:
        verify_receipt(receipt, genesis)
    assert info.value.step.startswith(step), info.value.step


class ForgedHandover:
    """A chain source whose handover block names another next set, re-certified by the
    outgoing validators (whose keys a demo consortium holds): signatures alone do not
    show the forgery, replaying the validator transactions does."""

    def __init__(self, source: ChainSource, home: Path, height: int, forged: str) -> None:
        self.source, self.home, self.target, self.forged = source, home, height, forged

    def genesis(self) -> Genesis:
        return self.source.genesis()

    def height(self) -> int:
        return self.source.height()

    def blocks(self) -> Iterator[SourceBlock]:
        for block in self.source.blocks():
            if block.height == self.target:
                header = Header.from_wire({**block.header, "next_validators_hash": self.forged})
                keys = FileKeyStore(self.home / "keys")
                signatures = tuple(
                    CommitSignature(
                        vid,
                        keys.signer(vid).sign(
                            commit_vote(header.chain_id, header.height, 0, header.block_hash)
                        ),
                    )
                    for vid in ("v1", "v2", "v3")
                )
                commit = CommitCertificate(header.height, 0, header.block_hash, signatures)
                block = SourceBlock(
                    block.height, header.to_wire(), commit.to_wire(), block.transactions
                )
            yield block


def _witness(cluster: Cluster, vid: str, state: Path) -> subprocess.CompletedProcess[str]:
    keys = cluster.home / "keys"
    return _ledger(
        *("witness", "--url", cluster.nodes[vid].url, "--state", str(state)),
        *("--key", str(keys / f"{AUDITOR}.pem"), "--id", AUDITOR),
        *("--genesis", str(cluster.home / "genesis.json")),
    )


def _checkpoints_after_the_changes(
    cluster: Cluster, before: dict[str, Any], state: Path, h1: int, h2: int
) -> None:
    """Checkpoints carry the handovers: the witness follows them from the genesis set, an
    altered one fails naming its entry, evidence across the changes is checked offline."""
    genesis = cluster.genesis
    genesis_file = str(cluster.home / "genesis.json")
    checkpoint = cluster.client("v5").checkpoint()
    assert [e["header"]["height"] for e in checkpoint["validator_history"]] == [h1 + 1, h2 + 1]
    assert [v["id"] for v in checkpoint["validators"]["validators"]] == ["v1", "v2", "v3", "v5"]
    assert verify_checkpoint_from_genesis(checkpoint, genesis).height >= h2 + CHANGE_DELAY
    with pytest.raises(VerificationError) as info:
        verify_checkpoint(checkpoint, genesis.validators)
    assert info.value.step == "checkpoint validators"
    altered = copy.deepcopy(checkpoint)
    altered["validator_history"][1]["next_validators"]["validators"][0]["power"] = 2
    with pytest.raises(VerificationError) as info:
        verify_checkpoint_from_genesis(altered, genesis)
    assert info.value.step == "checkpoint validator_history[1]"
    weak = copy.deepcopy(checkpoint)
    weak["validator_history"][0]["commit"]["signatures"] = weak["validator_history"][0]["commit"][
        "signatures"
    ][:1]
    with pytest.raises(VerificationError) as info:
        verify_checkpoint_from_genesis(weak, genesis)
    assert info.value.step == "checkpoint validator_history[0]"

    # a page across both handovers: each entry carries the history below its height
    page = cluster.client("v2").http.get(f"/v1/checkpoints?from_height={h1}&limit=8").json()
    for entry in page["checkpoints"]:
        height = entry["header"]["height"]
        assert len(entry["validator_history"]) == (height > h1 + 1) + (height > h2 + 1)
        assert verify_checkpoint_from_genesis(entry, genesis).height == height

    # the witness that last verified a genesis-set checkpoint goes on across the changes
    run = _witness(cluster, "v5", state)
    assert run.returncode == 0 and "consistent" in run.stdout, run.stdout + run.stderr
    kept = parse_json(state.read_bytes())["checkpoint"]
    assert len(kept["validator_history"]) == 2
    served = cluster.client("v5").checkpoint()["cosignatures"]
    assert any(c["witness"] == AUDITOR and c["height"] >= h2 + CHANGE_DELAY for c in served)

    # evidence across a set change: the newer (stored) checkpoint's history is in the file
    stored, presented = Checkpoint.from_wire(checkpoint), Checkpoint.from_wire(before)
    with pytest.raises(HistoryConflict) as conflict:
        compare(stored, presented)
    evidence = cluster.home.parent / "evidence.json"
    evidence.write_text(json.dumps(conflict.value.evidence(genesis)))
    checked = _ledger("witness-check-evidence", str(evidence), "--genesis", genesis_file)
    assert checked.returncode == 0 and "proven" in checked.stdout, checked.stdout + checked.stderr
    record = conflict.value.evidence(genesis)
    record["stored"]["validator_history"] = []
    with pytest.raises(VerificationError) as info:
        check_evidence(record, genesis)
    assert info.value.step == "evidence certificate"


def _signed_by_the_added_validator(cluster: Cluster, receipt: dict[str, Any]) -> None:
    """v5, not in genesis.json, signs a report and an access-log head that verify from the
    genesis alone through the validator history they carry."""
    genesis_file = str(cluster.home / "genesis.json")
    pdf = cluster.home.parent / "report-v5.pdf"
    made = _ledger("report", receipt["tx_id"], "--out", str(pdf), "--url", cluster.nodes["v5"].url)
    assert made.returncode == 0, made.stdout + made.stderr
    checked = _ledger("report-verify", str(pdf), "--genesis", genesis_file)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    result = verify_report_pdf(pdf.read_bytes(), cluster.genesis)
    assert result["report"]["node"]["validator"] == "v5"
    assert {s["step"]: s["outcome"] for s in result["steps"]}["node_key"] == "passed"

    signer = FileKeyStore(cluster.home / "keys").signer(AUDITOR)
    log = cluster.client("v5").signed_request(signer, AUDITOR, "GET", "/v1/access-log")
    assert verify_head(log["head"], cluster.genesis).validator == "v5"
    no_history = {**log["head"], "validator_history": []}
    with pytest.raises(InvalidSignature):
        verify_head(no_history, cluster.genesis)


def test_a_receipt_across_two_changes_verifies_from_the_genesis_alone(cluster: Cluster) -> None:
    genesis = cluster.genesis
    genesis_wire = genesis.to_wire()
    before = cluster.wait_receipt("v1", cluster.client("v1").submit(cluster.transaction()))
    assert before["validator_history"] == []
    # an auditor witness verifies and cosigns a checkpoint of the genesis set
    witness_state = cluster.home.parent / "witness.json"
    first = _witness(cluster, "v1", witness_state)
    assert first.returncode == 0, first.stdout + first.stderr
    checkpoint_before = cluster.client("v1").checkpoint()
    assert checkpoint_before["validator_history"] == []

    # change 1: v4 leaves (effective two heights after its block)
    removal = _governance(cluster, "v2", "validator.remove", {"id": "v4"})
    h1 = removal["header"]["height"]
    # v5 becomes a member with the role validator and starts: it is not in genesis.json
    _governance(cluster, "v1", "member.register", _member("v5", cluster.home))
    cluster.start("v5")
    middle = _receipt_at_or_above(cluster, "v3", h1 + CHANGE_DELAY)
    assert len(middle["validator_history"]) == 1
    handover = middle["validator_history"][0]
    assert handover["header"]["height"] == h1 + CHANGE_DELAY - 1
    assert [v["id"] for v in handover["next_validators"]["validators"]] == ["v1", "v2", "v3"]
    assert _signers(middle) <= {"v1", "v2", "v3"}

    # change 2: v5 joins
    addition = _governance(
        cluster,
        "v1",
        "validator.add",
        {"id": "v5", "public_key": _member("v5", cluster.home)["public_key"], "power": 1},
    )
    h2 = addition["header"]["height"]
    after = _receipt_at_or_above(cluster, "v1", h2 + CHANGE_DELAY)
    history = after["validator_history"]
    assert [e["header"]["height"] for e in history] == [h1 + 1, h2 + 1]
    assert [v["id"] for v in after["validators"]["validators"]] == ["v1", "v2", "v3", "v5"]

    # the offline verifiers hold only the genesis
    for receipt in (before, middle, after):
        assert verify_receipt(receipt, genesis).tx_id == receipt["tx_id"]
        assert iv.verify(receipt, genesis_wire) == 0

    # a tampered history fails at step 5 (or 6 when the last hand-over is missing)
    swapped = copy.deepcopy(after)
    swapped["validator_history"].reverse()
    dropped_first = copy.deepcopy(after)
    del dropped_first["validator_history"][0]
    altered = copy.deepcopy(after)
    altered["validator_history"][0]["next_validators"]["validators"][0]["power"] = 2
    altered_sig = copy.deepcopy(after)
    weak = altered_sig["validator_history"][1]["commit"]
    weak["signatures"] = weak["signatures"][:1]
    for tampered in (swapped, dropped_first, altered, altered_sig):
        _fails(tampered, genesis, "5")
        assert iv.verify(tampered, genesis_wire) == 5
    # the command line verifier, with genesis.json as its only trust
    files = cluster.home.parent
    for name, receipt in (("after", after), ("swapped", swapped)):
        (files / f"{name}.json").write_text(json.dumps(receipt))
    genesis_file = str(cluster.home / "genesis.json")
    ok = _ledger("verify", str(files / "after.json"), "--genesis", genesis_file)
    assert ok.returncode == 0 and "valid" in ok.stdout, ok.stdout + ok.stderr
    bad = _ledger("verify", str(files / "swapped.json"), "--genesis", genesis_file)
    assert bad.returncode != 0 and "5 validator_history" in bad.stdout + bad.stderr
    dropped_last = copy.deepcopy(after)
    del dropped_last["validator_history"][-1]
    _fails(dropped_last, genesis, "6")
    assert iv.verify(dropped_last, genesis_wire) == 6
    no_history = copy.deepcopy(middle)
    no_history["validator_history"] = []
    _fails(no_history, genesis, "6")

    # v5 votes: commits signed by it appear; v4 follows without signing
    deadline = time.monotonic() + 60
    receipt = after
    while "v5" not in _signers(receipt):
        assert time.monotonic() < deadline, "v5 never signed a commit"
        receipt = cluster.wait_receipt("v5", cluster.client("v5").submit(cluster.transaction()))
    assert "v4" not in _signers(receipt)
    top = receipt["header"]["height"]
    everyone = ["v1", "v2", "v3", "v4", "v5"]
    for vid in everyone:
        cluster.wait_tip(vid, top, timeout=60)
    cluster.assert_identical_chains(everyone)
    status = cluster.client("v4").checkpoint()["consensus"]
    assert status["validator"] == "v4"
    _checkpoints_after_the_changes(cluster, checkpoint_before, witness_state, h1, h2)
    _signed_by_the_added_validator(cluster, after)

    # a restarted node rebuilds the schedule from its database (each node keeps the
    # certificates it assembled, so receipts are compared on one node)
    issued = cluster.client("v2").receipt(after["tx_id"])
    assert verify_receipt(issued, genesis).tx_id == after["tx_id"]
    cluster.nodes["v2"].stop()
    cluster.clients.pop("v2").close()
    cluster.start("v2")
    assert cluster.client("v2").receipt(after["tx_id"]) == issued
    later = _receipt_at_or_above(cluster, "v2", top + 1)
    assert iv.verify(later, genesis_wire) == 0

    # the audit replays both changes; a forged handover is caught
    report = Auditor(HttpSource(cluster.client("v3")), genesis).run()
    assert report.blocks > top
    audit = _ledger("audit", "--url", cluster.nodes["v4"].url, "--genesis", genesis_file)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    # nothing is pending: once v1 holds the last block its database stays as it is
    cluster.wait_tip("v1", later["header"]["height"])
    store = Store(f"sqlite:///{cluster.db('v1')}")
    try:
        StoreAuditor(store, genesis).run()
    finally:
        store.close()
    forged = ForgedHandover(
        HttpSource(cluster.client("v3")), cluster.home, h1 + 1, genesis.validators.hash
    )
    with pytest.raises(AuditError) as info:
        Auditor(forged, genesis).run()
    assert info.value.step == f"block {h1 + 1} header.next_validators_hash"
