"""Unit tests of the Tendermint state machine, rule by rule (the ``Lnn`` are the lines of
Algorithm 1 of Buchman, Kwon, Milosevic 2018), of its messages, its vote tallies and its
proposer rotation. Four validators of power 1 (f = 1) unless a test says otherwise; at
height 1 the proposers of rounds 0, 1, 2, 3 are v00, v01, v02, v03 (checked below).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consensus.tendermint import (
    Broadcast,
    Decide,
    Evidence,
    LastSigned,
    Limits,
    Output,
    Persist,
    Precommit,
    Prevote,
    Proposal,
    ProposerPriorities,
    Receive,
    Rejected,
    RequestValue,
    ScheduleTimeout,
    Step,
    TendermintMachine,
    Timeout,
    TimeoutFired,
    Timeouts,
    ValueAvailable,
    VoteSet,
    decode_message,
    encode_message,
    message_from_wire,
    sm2_verify,
)
from consensus.tendermint.messages import MAX_VOTE_BYTES, Vote
from ledger.canonical import canonical
from ledger.domains.validator.verify import verify_commit
from ledger.errors import MalformedData, TooLarge
from ledger.model import Header, Validator, ValidatorSet, commit_vote
from tests.sim.chain import CHAIN_ID, genesis_header, invalid_block, make_block, valid_block
from tests.sim.crypto import validator_id, validator_key, validator_set

VS = validator_set((1, 1, 1, 1))
PRIORITIES = ProposerPriorities.initial(VS)
GENESIS = genesis_header(VS)
A = make_block(GENESIS, VS, "v00", 1000, salt="a")
B = make_block(GENESIS, VS, "v01", 1000, salt="b")
BAD = invalid_block(GENESIS, VS, "v00", 1000)
T = Timeouts()


class CountingVerifier:
    def __init__(self) -> None:
        self.calls: list[bytes] = []

    def __call__(self, key: str, message: bytes, signature: str) -> bool:
        self.calls.append(message)
        return sm2_verify(key, message, signature)


def machine(
    me: int,
    *,
    valid: Callable[[int, Header], bool] | None = None,
    verifier: Callable[[str, bytes, str], bool] = sm2_verify,
    validators: ValidatorSet = VS,
    limits: Limits | None = None,
    observer: bool = False,
) -> TendermintMachine[Header]:
    genesis = genesis_header(validators)
    return TendermintMachine(
        chain_id=CHAIN_ID,
        validator_id="observer" if observer else validator_id(me),
        signer=None if observer else validator_key(me),
        value_id=lambda block: block.block_hash,
        valid=valid or (lambda height, block: valid_block(genesis, validators, block)),
        timeouts=T,
        verifier=verifier,
        limits=limits,
    )


def started(me: int, **kwargs: Any) -> tuple[TendermintMachine[Header], list[Output[Header]]]:
    m = machine(me, **kwargs)
    return m, m.start_height(1, VS, PRIORITIES)


def h(block: Header | None) -> str | None:
    return None if block is None else block.block_hash


def proposal(i: int, round_: int, value: Header, valid_round: int = -1, height: int = 1) -> Any:
    return Proposal.sign(
        validator_key(i),
        validator_id(i),
        CHAIN_ID,
        height,
        round_,
        value.block_hash,
        valid_round,
        value,
    )


def prevote(i: int, round_: int, value: Header | None, height: int = 1) -> Prevote:
    return Prevote.sign(validator_key(i), validator_id(i), CHAIN_ID, height, round_, h(value))


def precommit(i: int, round_: int, value: Header | None, height: int = 1) -> Precommit:
    return Precommit.sign(validator_key(i), validator_id(i), CHAIN_ID, height, round_, h(value))


def feed(m: TendermintMachine[Header], *messages: Any) -> list[Output[Header]]:
    out: list[Output[Header]] = []
    for message in messages:
        out += m.receive(message)
    return out


def sent(out: Sequence[Output[Header]]) -> list[Any]:
    return [o.message for o in out if isinstance(o, Broadcast)]


def votes(out: Sequence[Output[Header]], kind: type[Vote]) -> list[str | None]:
    return [m.block_hash for m in sent(out) if isinstance(m, kind)]


def timers(out: Sequence[Output[Header]]) -> list[Timeout]:
    return [o.timeout for o in out if isinstance(o, ScheduleTimeout)]


def decisions(out: Sequence[Output[Header]]) -> list[Decide[Header]]:
    return [o for o in out if isinstance(o, Decide)]


def record(
    round_: int,
    step: Step,
    *,
    locked: tuple[int, Header | None] = (-1, None),
    valid: tuple[int, Header | None] = (-1, None),
    messages: tuple[Any, ...] = (),
) -> LastSigned[Header]:
    return LastSigned(1, round_, step, locked[0], locked[1], valid[0], valid[1], messages)


def lock_on_a_in_round_0(me: int) -> tuple[TendermintMachine[Header], list[Output[Header]]]:
    """Proposal A from v00 and prevotes for A: ``me`` prevotes A, locks A and precommits A."""
    m, out = started(me)
    others = [i for i in range(4) if i not in (0, me)]
    out += feed(m, proposal(0, 0, A), prevote(0, 0, A), prevote(others[0], 0, A))
    return m, out


def to_next_round(m: TendermintMachine[Header], me: int) -> list[Output[Header]]:
    """Precommits from two others (2f+1 with its own), then timeoutPrecommit fires (L47, L65)."""
    others = [i for i in range(4) if i != me][:2]
    out = feed(m, *(precommit(i, m.round, None) for i in others))
    assert Timeout(Step.PRECOMMIT, 1, m.round) in timers(out)
    return out + m.on_timeout(Timeout(Step.PRECOMMIT, 1, m.round))


def test_proposers_of_height_one() -> None:
    assert [PRIORITIES.proposer(r) for r in range(5)] == ["v00", "v01", "v02", "v03", "v00"]


# --- messages ----------------------------------------------------------------------------


def test_precommit_signing_bytes_are_the_spec_commit_vote() -> None:
    vote = precommit(2, 3, A)
    assert vote.signing_bytes == commit_vote(CHAIN_ID, 1, 3, A.block_hash)
    validator_key(2).public_key.verify(vote.signature, commit_vote(CHAIN_ID, 1, 3, A.block_hash))


def test_prevote_proposal_and_nil_signing_bytes() -> None:
    assert json.loads(prevote(1, 2, A).signing_bytes) == {
        "type": "prevote",
        "chain_id": CHAIN_ID,
        "height": 1,
        "round": 2,
        "block_hash": A.block_hash,
    }
    assert json.loads(proposal(0, 4, A, 2).signing_bytes) == {
        "type": "proposal",
        "chain_id": CHAIN_ID,
        "height": 1,
        "round": 4,
        "block_hash": A.block_hash,
        "valid_round": 2,
    }
    nil = json.loads(precommit(1, 0, None).signing_bytes)
    assert nil == {
        "type": "commit",
        "chain_id": CHAIN_ID,
        "height": 1,
        "round": 0,
        "block_hash": None,
    }
    # canonical bytes, and the three kinds never sign the same bytes
    assert prevote(1, 0, A).signing_bytes == canonical(json.loads(prevote(1, 0, A).signing_bytes))
    assert len({prevote(1, 0, A).signing_bytes, precommit(1, 0, A).signing_bytes}) == 2


def test_wire_round_trip_and_limits() -> None:
    for message in (proposal(0, 1, A, 0), prevote(1, 0, None), precommit(2, 5, B)):
        data = encode_message(message, Header.to_wire)
        back = decode_message(data, Header.from_wire, max_proposal_bytes=4096)
        assert back == message
    with pytest.raises(TooLarge):
        decode_message(b" " * 5000, Header.from_wire, max_proposal_bytes=4096)
    padded = encode_message(prevote(1, 0, A), Header.to_wire)[:-1] + b" " * MAX_VOTE_BYTES + b"}"
    with pytest.raises(TooLarge):
        decode_message(padded, Header.from_wire, max_proposal_bytes=8192)
    good = prevote(1, 0, A).to_wire()
    for bad in (
        {**good, "height": True},
        {**good, "round": -1},
        {**good, "block_hash": "AB" * 32},
        {**good, "validator": "no spaces"},
        {**good, "extra": 1},
        {k: v for k, v in good.items() if k != "signature"},
        {**good, "type": "commit"},
    ):
        with pytest.raises(MalformedData):
            message_from_wire(bad, Header.from_wire)
    with pytest.raises(MalformedData):
        message_from_wire(
            {**proposal(0, 1, A).to_wire(Header.to_wire), "block_hash": None}, Header.from_wire
        )


# --- proposer rotation -------------------------------------------------------------------


def _named(powers: dict[str, int]) -> ValidatorSet:
    return ValidatorSet.of([Validator(name, "04", power) for name, power in powers.items()])


def test_proposer_sequence_matches_tendermint_go() -> None:
    """tendermint-go types/validator_set_test.go, TestProposerSelection1."""
    p = ProposerPriorities.initial(_named({"foo": 1000, "bar": 300, "baz": 330}))
    seen = []
    for _ in range(99):
        seen.append(p.proposer_of_height.id)
        p = p.next_height()
    assert " ".join(seen) == (
        "foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar foo foo "
        "baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo foo bar foo baz foo "
        "foo bar foo baz foo foo bar foo baz foo foo foo baz bar foo foo foo baz foo bar foo foo "
        "baz foo bar foo foo baz foo bar foo foo baz foo bar foo foo baz foo foo bar foo baz foo "
        "foo bar foo baz foo foo bar foo baz foo foo"
    )


def test_equal_powers_rotate_in_id_order_and_rounds_continue_the_rotation() -> None:
    p = ProposerPriorities.initial(_named({"c": 5, "a": 5, "b": 5}))
    assert [p.proposer(r) for r in range(6)] == ["a", "b", "c", "a", "b", "c"]
    assert p.next_height().proposer(0) == p.proposer(1)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=20), min_size=1, max_size=7))
def test_each_validator_proposes_in_proportion_to_its_power(powers: list[int]) -> None:
    vs = _named({f"v{i}": w for i, w in enumerate(powers)})
    p = ProposerPriorities.initial(vs)
    counts: Counter[str] = Counter()
    total = vs.total_power
    for _ in range(4 * total):
        counts[p.proposer_of_height.id] += 1
        p = p.next_height()
    for v in vs.validators:
        assert abs(counts[v.id] - 4 * v.power) <= 1


def test_a_newcomer_does_not_propose_at_once() -> None:
    p = ProposerPriorities.initial(_named({"a": 1, "b": 1, "c": 1}))
    grown = p.with_validators(_named({"a": 1, "b": 1, "c": 1, "d": 10}))
    assert grown.proposer(0) != "d"
    assert "d" in {grown.proposer(r) for r in range(1, 6)}


# --- vote tallies ------------------------------------------------------------------------


def test_vote_set_tallies_power_and_keeps_equivocations_apart() -> None:
    powers = {validator_id(i): w for i, w in enumerate((1, 2, 3, 4))}
    votes_: VoteSet[Prevote] = VoteSet(powers, 10)
    assert votes_.add(prevote(3, 0, A)) is None
    assert not votes_.quorum_for(A.block_hash)  # 4 of 10
    votes_.add(prevote(2, 0, A))
    assert votes_.quorum_for(A.block_hash)  # 7 of 10 > 2/3
    evidence = votes_.add(prevote(2, 0, None))
    assert evidence is not None and evidence.first.block_hash == A.block_hash
    assert votes_.power_any == 7  # a validator counts once in "any"
    assert votes_.power_for(None) == 3  # and once in each block's tally
    assert votes_.quorum_hash() == A.block_hash


# --- L11-21: StartRound ------------------------------------------------------------------


def test_l11_start_round_non_proposer_schedules_timeout_propose() -> None:
    m, out = started(1)
    assert (m.round, m.step) == (0, Step.PROPOSE)
    assert timers(out) == [Timeout(Step.PROPOSE, 1, 0)]
    assert [o.delay_ms for o in out if isinstance(o, ScheduleTimeout)] == [T.propose_ms]
    assert not sent(out) and not [o for o in out if isinstance(o, RequestValue)]


def test_l17_proposer_asks_for_a_value_and_l19_proposes_it_then_l22_prevotes_it() -> None:
    m, out = started(0)
    assert RequestValue(1, 0) in out
    out = m.handle(ValueAvailable(1, 0, A))
    assert [type(x) for x in sent(out)] == [Proposal, Prevote]
    assert sent(out)[0].valid_round == -1 and votes(out, Prevote) == [A.block_hash]
    assert isinstance(out[0], Persist)  # written before either message leaves
    assert m.on_value(1, 0, B) == []  # one proposal per round, whatever comes later


def test_l15_proposer_re_proposes_its_valid_value_with_valid_round() -> None:
    me = 1  # proposer of round 1
    m, out = lock_on_a_in_round_0(me)
    assert (m.valid_round, h(m.valid_value)) == (0, A.block_hash)
    out = to_next_round(m, me)
    props = [x for x in sent(out) if isinstance(x, Proposal)]
    assert [(p.round, p.block_hash, p.valid_round) for p in props] == [(1, A.block_hash, 0)]
    assert not [o for o in out if isinstance(o, RequestValue)]


# --- L22-27 ------------------------------------------------------------------------------


def test_l24_prevote_a_valid_proposal_when_unlocked() -> None:
    m, _ = started(1)
    out = feed(m, proposal(0, 0, A))
    assert votes(out, Prevote) == [A.block_hash] and m.step is Step.PREVOTE
    persist = next(i for i, o in enumerate(out) if isinstance(o, Persist))
    first_send = next(i for i, o in enumerate(out) if isinstance(o, Broadcast))
    assert persist < first_send


def test_l26_prevote_nil_for_an_invalid_proposal() -> None:
    m, _ = started(1)
    assert votes(feed(m, proposal(0, 0, BAD)), Prevote) == [None]


def test_l26_prevote_nil_when_locked_on_another_value_l24_when_on_the_same() -> None:
    for value, expected in ((B, None), (A, A.block_hash)):
        m = machine(2)
        m.restore(record(1, Step.PROPOSE, locked=(0, A), valid=(0, A)), VS, PRIORITIES)
        assert votes(feed(m, proposal(1, 1, value)), Prevote) == [expected]


def test_l22_only_in_the_propose_step() -> None:
    m, _ = started(1)
    m.on_timeout(Timeout(Step.PROPOSE, 1, 0))  # prevoted nil already
    assert votes(feed(m, proposal(0, 0, A)), Prevote) == []


# --- L28-33 ------------------------------------------------------------------------------


def test_l28_proposal_with_valid_round_waits_for_its_polka_then_prevotes() -> None:
    m = machine(2)
    m.restore(record(1, Step.PROPOSE), VS, PRIORITIES)
    assert votes(feed(m, proposal(1, 1, A, valid_round=0)), Prevote) == []  # no 2f+1 yet
    out = feed(m, prevote(0, 0, A), prevote(1, 0, A), prevote(3, 0, A))
    assert votes(out, Prevote) == [A.block_hash]  # lockedRound -1 <= vr


def test_l29_locked_in_a_later_round_than_valid_round_prevotes_nil() -> None:
    m = machine(3)
    m.restore(record(2, Step.PROPOSE, locked=(1, B), valid=(1, B)), VS, PRIORITIES)
    out = feed(m, prevote(0, 0, A), prevote(1, 0, A), prevote(2, 0, A), proposal(2, 2, A, 0))
    assert votes(out, Prevote) == [None]


def test_l29_locked_in_an_earlier_round_than_valid_round_follows_the_polka() -> None:
    m = machine(3)
    m.restore(record(2, Step.PROPOSE, locked=(0, B), valid=(0, B)), VS, PRIORITIES)
    out = feed(m, prevote(0, 1, A), prevote(1, 1, A), prevote(2, 1, A), proposal(2, 2, A, 1))
    assert votes(out, Prevote) == [A.block_hash]


def test_valid_round_must_be_below_round() -> None:
    m = machine(2)
    m.restore(record(1, Step.PROPOSE), VS, PRIORITIES)
    out = feed(m, proposal(1, 1, A, valid_round=1))
    assert [o.reason for o in out if isinstance(o, Rejected)] == [
        "valid_round must be in [-1, round)"
    ]


# --- L34-35 ------------------------------------------------------------------------------


def test_l34_any_two_thirds_of_prevotes_schedules_timeout_prevote_once() -> None:
    m, _ = started(1)
    feed(m, proposal(0, 0, A))  # prevotes A
    out = feed(m, prevote(0, 0, B), prevote(2, 0, None))
    assert timers(out) == [Timeout(Step.PREVOTE, 1, 0)]
    assert [o.delay_ms for o in out if isinstance(o, ScheduleTimeout)] == [T.prevote_ms]
    assert timers(feed(m, prevote(3, 0, None))) == []  # "for the first time"


def test_l34_not_before_the_prevote_step() -> None:
    m, _ = started(1)
    out = feed(m, prevote(0, 0, B), prevote(2, 0, None), prevote(3, 0, A))
    assert Timeout(Step.PREVOTE, 1, 0) not in timers(out)


# --- L36-43 ------------------------------------------------------------------------------


def test_l36_two_thirds_prevotes_for_the_proposal_lock_and_precommit() -> None:
    m, out = lock_on_a_in_round_0(2)
    assert votes(out, Precommit) == [A.block_hash] and m.step is Step.PRECOMMIT
    assert (m.locked_round, h(m.locked_value)) == (0, A.block_hash)
    assert (m.valid_round, h(m.valid_value)) == (0, A.block_hash)
    persisted = [o.state for o in out if isinstance(o, Persist)][-1]
    assert (persisted.locked_round, h(persisted.locked_value)) == (0, A.block_hash)


def test_l42_in_the_precommit_step_only_the_valid_value_is_updated() -> None:
    m, _ = started(2)
    feed(m, prevote(0, 0, None), prevote(1, 0, None))
    m.on_timeout(Timeout(Step.PROPOSE, 1, 0))  # prevote nil: 2f+1 nil, so L44 precommits nil
    assert m.step is Step.PRECOMMIT
    out = feed(m, proposal(0, 0, A), prevote(0, 0, A), prevote(1, 0, A), prevote(3, 0, A))
    assert votes(out, Precommit) == []
    assert (m.locked_round, m.valid_round, h(m.valid_value)) == (-1, 0, A.block_hash)


def test_l36_needs_the_proposal_and_a_valid_value() -> None:
    m, _ = started(2)
    m.on_timeout(Timeout(Step.PROPOSE, 1, 0))
    assert (
        votes(feed(m, prevote(0, 0, BAD), prevote(1, 0, BAD), prevote(3, 0, BAD)), Precommit) == []
    )
    assert votes(feed(m, proposal(0, 0, BAD)), Precommit) == []
    assert m.locked_round == -1


# --- L44-46, L47-48 ----------------------------------------------------------------------


def test_l44_two_thirds_prevotes_for_nil_precommit_nil() -> None:
    m, _ = started(1)
    m.on_timeout(Timeout(Step.PROPOSE, 1, 0))
    out = feed(m, prevote(0, 0, None), prevote(2, 0, None))
    assert votes(out, Precommit) == [None] and m.step is Step.PRECOMMIT


def test_l47_any_two_thirds_of_precommits_schedules_timeout_precommit_in_any_step() -> None:
    m, _ = started(1)
    out = feed(m, precommit(0, 0, A), precommit(2, 0, None), precommit(3, 0, B))
    assert m.step is Step.PROPOSE and timers(out) == [Timeout(Step.PRECOMMIT, 1, 0)]
    assert [o.delay_ms for o in out if isinstance(o, ScheduleTimeout)] == [T.precommit_ms]
    assert timers(feed(m, precommit(1, 0, None))) == []


# --- L49-54 ------------------------------------------------------------------------------


def test_l49_proposal_and_two_thirds_precommits_decide_with_a_valid_certificate() -> None:
    m, _ = started(1)
    out = feed(m, proposal(0, 0, A), precommit(0, 0, A), precommit(2, 0, A))
    assert not decisions(out)  # 2 of 4
    out = feed(m, precommit(3, 0, A))
    [decision] = decisions(out)
    assert (decision.height, decision.round, decision.value) == (1, 0, A)
    assert [s.validator for s in decision.certificate.signatures] == ["v00", "v02", "v03"]
    verify_commit(decision.certificate, A, VS, step="test")
    assert feed(m, precommit(1, 0, A)) == []  # decided: the height is over


def test_l49_any_round_earlier_or_later() -> None:
    m = machine(1)
    m.restore(record(3, Step.PREVOTE), VS, PRIORITIES)
    out = feed(m, precommit(0, 1, A), precommit(2, 1, A), precommit(3, 1, A), proposal(1, 1, A))
    assert [d.round for d in decisions(out)] == [1]
    m, _ = started(2)
    out = feed(m, proposal(1, 5, B, -1), precommit(0, 5, B), precommit(1, 5, B), precommit(3, 5, B))
    assert [(d.round, d.value) for d in decisions(out)] == [(5, B)]


def test_l50_no_decision_on_an_invalid_value() -> None:
    m, _ = started(1)
    out = feed(
        m, proposal(0, 0, BAD), precommit(0, 0, BAD), precommit(2, 0, BAD), precommit(3, 0, BAD)
    )
    assert not decisions(out) and m.decision is None


def test_l52_the_next_height_starts_fresh_and_replays_buffered_messages() -> None:
    me = 2
    tip = [GENESIS]
    m, _ = started(me, valid=lambda height, block: valid_block(tip[0], VS, block))
    vs2 = PRIORITIES.next_height()
    a2 = make_block(A, VS, vs2.proposer(0), 2000)
    early = proposal(int(vs2.proposer(0)[1:]), 0, a2, height=2)
    feed(m, early)  # height 2 arrives before height 1 is decided: held
    feed(m, proposal(0, 0, A), precommit(0, 0, A), precommit(1, 0, A), precommit(3, 0, A))
    assert m.decision is not None
    tip[0] = A  # the application stored the block
    out = m.start_height(2, VS, vs2)
    assert (m.height, m.round, m.locked_round, m.valid_round) == (2, 0, -1, -1)
    assert votes(out, Prevote) == [a2.block_hash]


# --- L55-56 ------------------------------------------------------------------------------


def test_l55_f_plus_one_messages_of_a_higher_round_start_it() -> None:
    m, _ = started(1)
    assert feed(m, prevote(0, 2, None)) == [] and m.round == 0  # f: not enough
    out = feed(m, precommit(3, 2, A))  # any kind counts; f+1 distinct validators
    assert m.round == 2 and m.step is Step.PROPOSE
    assert Timeout(Step.PROPOSE, 1, 2) in timers(out)


def test_l55_a_proposal_counts_and_the_highest_round_is_started() -> None:
    m, _ = started(0)
    feed(m, prevote(1, 3, None), prevote(2, 2, None))
    assert m.round == 0
    feed(m, proposal(3, 3, B))
    assert m.round == 3


def test_rounds_beyond_the_window_are_ignored() -> None:
    m, _ = started(1, limits=Limits(future_rounds=4))
    assert feed(m, prevote(0, 5, None), prevote(2, 5, None)) == []
    assert m.round == 0
    feed(m, prevote(0, 4, None), prevote(2, 4, None))
    assert m.round == 4


# --- L57-67: timeouts --------------------------------------------------------------------


def test_l57_timeout_propose_prevotes_nil_only_in_its_round_and_step() -> None:
    m, _ = started(1)
    assert m.on_timeout(Timeout(Step.PROPOSE, 1, 1)) == []  # another round
    assert m.on_timeout(Timeout(Step.PROPOSE, 2, 0)) == []  # another height
    out = m.handle(TimeoutFired(Timeout(Step.PROPOSE, 1, 0)))
    assert votes(out, Prevote) == [None] and m.step is Step.PREVOTE
    assert m.on_timeout(Timeout(Step.PROPOSE, 1, 0)) == []  # already prevoted


def test_l61_timeout_prevote_precommits_nil() -> None:
    m, _ = started(1)
    feed(m, proposal(0, 0, A))
    out = m.on_timeout(Timeout(Step.PREVOTE, 1, 0))
    assert votes(out, Precommit) == [None] and m.step is Step.PRECOMMIT
    assert m.on_timeout(Timeout(Step.PREVOTE, 1, 0)) == []


def test_l65_timeout_precommit_starts_the_next_round_with_longer_timeouts() -> None:
    m, _ = started(2)
    out = m.on_timeout(Timeout(Step.PRECOMMIT, 1, 0))
    assert (m.round, m.step) == (1, Step.PROPOSE)
    [scheduled] = [o for o in out if isinstance(o, ScheduleTimeout)]
    assert scheduled.delay_ms == T.propose_ms + T.propose_delta_ms > T.propose_ms
    assert m.on_timeout(Timeout(Step.PRECOMMIT, 1, 0)) == []  # stale


# --- what a peer's message must pass -----------------------------------------------------


def test_bad_signature_non_member_wrong_proposer_wrong_hash_wrong_chain_are_rejected() -> None:
    m, _ = started(1)
    forged = Prevote(CHAIN_ID, 1, 0, A.block_hash, "v02", prevote(3, 0, A).signature)
    stranger = Prevote(CHAIN_ID, 1, 0, A.block_hash, "mallory", prevote(3, 0, A).signature)
    wrong_proposer = proposal(2, 0, A)
    p = proposal(0, 0, A)
    wrong_value = Proposal(p.chain_id, 1, 0, A.block_hash, -1, "v00", p.signature, B)
    other_chain = Prevote.sign(validator_key(2), "v02", "another-chain", 1, 0, A.block_hash)
    out = feed(m, forged, stranger, wrong_proposer, wrong_value, other_chain)
    reasons = [o.reason for o in out if isinstance(o, Rejected)]
    assert reasons == [
        "signature does not verify",
        "mallory is not a validator at this height",
        "v02 is not the proposer of the round",
        "the value's hash is not the signed block_hash",
        "message is for another chain",
    ]
    assert m.step is Step.PROPOSE and not sent(out)


def test_every_accepted_message_is_verified_once_duplicates_are_not_re_verified() -> None:
    counting = CountingVerifier()
    m, _ = started(1, verifier=counting)
    p, v = proposal(0, 0, A), prevote(2, 0, A)
    feed(m, p, v, p, v, prevote(2, 0, A))  # the same vote again, freshly signed
    assert counting.calls == [p.signing_bytes, v.signing_bytes]


def test_an_observer_follows_and_decides_without_signing() -> None:
    m = machine(0, observer=True)
    out = m.start_height(1, VS, PRIORITIES)
    out += feed(m, proposal(0, 0, A), *(precommit(i, 0, A) for i in (0, 1, 2)))
    assert not sent(out) and not [o for o in out if isinstance(o, Persist)]
    assert [d.value for d in decisions(out)] == [A]


# --- equivocation ------------------------------------------------------------------------


def test_double_votes_are_evidence_counted_once_in_any_and_per_block() -> None:
    m, _ = started(1)
    feed(m, proposal(0, 0, A))  # prevote A
    out = feed(m, prevote(3, 0, A), prevote(3, 0, None))
    [evidence] = [o.equivocation for o in out if isinstance(o, Evidence)]
    assert (evidence.first.block_hash, evidence.second.block_hash) == (A.block_hash, None)
    assert Timeout(Step.PREVOTE, 1, 0) not in timers(out)  # v01 and v03: 2 of 4 in "any"


def test_a_conflicting_precommit_for_the_proposed_block_completes_a_certificate() -> None:
    """A Byzantine sent this node nil and the others A: the catch-up proof still decides."""
    m, _ = started(2)
    feed(m, proposal(0, 0, A), precommit(3, 0, None))
    out = feed(m, precommit(0, 0, A), precommit(1, 0, A), precommit(3, 0, A))
    [decision] = decisions(out)
    verify_commit(decision.certificate, A, VS, step="test")
    assert len([o for o in out if isinstance(o, Evidence)]) == 1


def test_a_further_vote_for_a_block_nobody_proposed_is_dropped_unverified() -> None:
    counting = CountingVerifier()
    m, _ = started(1, verifier=counting)
    feed(m, prevote(3, 0, None))
    calls = len(counting.calls)
    assert feed(m, prevote(3, 0, B)) == []
    assert len(counting.calls) == calls


def test_an_equivocating_proposer_is_evidence_and_the_first_proposal_is_prevoted() -> None:
    m, _ = started(1)
    out = feed(m, proposal(0, 0, A), proposal(0, 0, B))
    assert votes(out, Prevote) == [A.block_hash]
    assert len([o for o in out if isinstance(o, Evidence)]) == 1
    # the twin is kept: if 2f+1 precommit it, it is decided (L49 over every proposal)
    out = feed(m, *(precommit(i, 0, B) for i in (0, 2, 3)))
    assert [d.value for d in decisions(out)] == [B]


# --- persistence -------------------------------------------------------------------------


def test_persist_comes_before_every_own_message_and_holds_all_of_them() -> None:
    m, out = started(0)
    out += m.on_value(1, 0, A)
    out += feed(m, prevote(1, 0, A), prevote(2, 0, A), precommit(1, 0, A))
    own_seen = 0
    for o in out:
        if isinstance(o, Persist):
            own_seen = len(o.state.messages)
        elif isinstance(o, Broadcast):
            assert o.message in m.last_signed().messages
            own_seen -= 1
            assert own_seen >= 0, "a message was broadcast before a Persist that holds it"
    assert [type(x) for x in m.last_signed().messages] == [Proposal, Prevote, Precommit]
    wire = json.loads(canonical(m.last_signed().to_wire(Header.to_wire)))  # plain JSON
    assert LastSigned.from_wire(wire, Header.from_wire) == m.last_signed()
    with pytest.raises(MalformedData):
        LastSigned.from_wire({**wire, "step": "commit"}, Header.from_wire)


def test_restore_re_sends_what_was_signed_and_never_signs_a_conflicting_message() -> None:
    m, _ = started(1)
    feed(m, proposal(0, 0, A))
    saved = m.last_signed()
    assert saved.step is Step.PREVOTE
    restarted = machine(1)
    out = restarted.restore(saved, VS, PRIORITIES)
    assert sent(out) == list(saved.messages) and not [o for o in out if isinstance(o, Persist)]
    assert restarted.on_timeout(Timeout(Step.PROPOSE, 1, 0)) == []
    # an inconsistent record (propose step, prevote already signed) still cannot make it sign twice
    inconsistent = record(0, Step.PROPOSE, messages=saved.messages)
    again = machine(1)
    again.restore(inconsistent, VS, PRIORITIES)
    assert votes(again.on_timeout(Timeout(Step.PROPOSE, 1, 0)), Prevote) == []


def test_restore_of_a_proposer_does_not_propose_twice() -> None:
    m, _ = started(0)
    m.on_value(1, 0, A)
    restarted = machine(0)
    out = restarted.restore(m.last_signed(), VS, PRIORITIES)
    assert not [o for o in out if isinstance(o, RequestValue)]
    assert [type(x) for x in sent(out)] == [Proposal, Prevote]


def test_the_lock_survives_a_restart_and_amnesia_would_break_it() -> None:
    """What persisting before sending protects: a restarted validator keeps its lock."""
    me = 2
    m, _ = lock_on_a_in_round_0(me)
    to_next_round(m, me)
    saved = m.last_signed()
    assert (saved.round, saved.locked_round) == (1, 0)
    restored = machine(me)
    restored.restore(saved, VS, PRIORITIES)
    assert votes(feed(restored, proposal(1, 1, B)), Prevote) == [None]
    amnesiac = machine(me)  # restarted without its record, then led to round 1
    amnesiac.start_height(1, VS, PRIORITIES)
    feed(amnesiac, prevote(0, 1, None), prevote(1, 1, None))
    assert amnesiac.round == 1
    assert votes(feed(amnesiac, proposal(1, 1, B)), Prevote) == [B.block_hash]  # unsafe


# --- a whole height among four honest machines -------------------------------------------


def run_heights(heights: int) -> list[list[Decide[Header]]]:
    tips = [GENESIS] * 4

    def valid_on_tip(i: int) -> Callable[[int, Header], bool]:
        return lambda height, block: valid_block(tips[i], VS, block)

    machines = [machine(i, valid=valid_on_tip(i)) for i in range(4)]
    decided: list[list[Decide[Header]]] = [[] for _ in machines]
    priorities = PRIORITIES
    pending: list[tuple[int, Output[Header]]] = []
    for i, mi in enumerate(machines):
        pending += [(i, o) for o in mi.start_height(1, VS, priorities)]
    while pending:
        i, out = pending.pop(0)
        mi = machines[i]
        if isinstance(out, Broadcast):
            for j, mj in enumerate(machines):
                if j != i:
                    pending += [(j, o) for o in mj.handle(Receive(out.message))]
        elif isinstance(out, RequestValue):
            block = make_block(tips[i], VS, mi.validator_id, 1000 * out.height)
            pending += [(i, o) for o in mi.handle(ValueAvailable(out.height, out.round, block))]
        elif isinstance(out, Decide):
            decided[i].append(out)
            tips[i] = out.value
            if out.height < heights:
                nxt = PRIORITIES
                for _ in range(out.height):
                    nxt = nxt.next_height()
                pending += [(i, o) for o in mi.start_height(out.height + 1, VS, nxt)]
    return decided


def test_four_honest_machines_decide_the_same_blocks_in_round_zero() -> None:
    decided = run_heights(3)
    for height in range(3):
        blocks = {d[height].value.block_hash for d in decided}
        assert len(blocks) == 1 and {d[height].round for d in decided} == {0}
        for d in decided:
            verify_commit(d[height].certificate, d[height].value, VS, step="test")
    proposers = [decided[0][k].value.proposer for k in range(3)]
    assert proposers == ["v00", "v01", "v02"]  # rotation across heights
    assert [d.value.block_hash for d in run_heights(3)[0]] == [
        d.value.block_hash for d in decided[0]
    ]  # deterministic: the same inputs give the same chain
