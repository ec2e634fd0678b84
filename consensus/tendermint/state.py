"""The Tendermint state machine: Algorithm 1 of Buchman, Kwon and Milosevic, "The latest
gossip on BFT consensus" (2018, arXiv:1807.04938), one height at a time.

Pure and deterministic: events in (a received message, a timeout firing, a proposal value
becoming available), outputs out (messages to broadcast, timeouts to schedule, a state to
persist before sending, a request for a value, decisions, evidence of equivocation,
rejected messages). No I/O, no clock, no randomness of its own: the caller owns the network,
the timers and the disk, and signing is delegated to a ``Signer`` (SM2's nonce is the
signer's business, not the protocol's).

Each method that handles an event returns the outputs in order. The caller MUST act on them
in that order; in particular a ``Persist`` comes before any ``Broadcast`` of a message this
validator signed, and MUST be on disk before that message leaves the process. It holds every
message this validator signed at the height and its lock, so that after a crash
``TendermintMachine.restore`` never signs a conflicting message nor forgets a lock.

The value being agreed on is opaque: ``value_id(v)`` gives its hash (the ledger's
``block_hash``, recomputed from content, never taken from a peer's word) and
``valid(height, v)`` is the application's verdict (every transaction against the ledger's
rules, the proposer's timestamp). The comments ``L22`` ... ``L67`` are the lines of
Algorithm 1; docs/consensus.md maps every rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import IntEnum
from functools import lru_cache
from typing import Any, Generic, TypeVar, Union

from consensus.tendermint.messages import (
    Message,
    Precommit,
    Prevote,
    Proposal,
    message_from_wire,
)
from consensus.tendermint.proposer import ProposerPriorities
from consensus.tendermint.vote_set import Equivocation, HeightVotes, Seen, one_third
from ledger.crypto import PublicKey, Signer
from ledger.errors import InvalidSignature, MalformedData
from ledger.model import CommitCertificate, CommitSignature, ValidatorSet

V = TypeVar("V")

Verifier = Callable[[str, bytes, str], bool]
"""``verifier(public_key_hex, message, signature_hex) -> bool``: an SM2 verification."""


@lru_cache(maxsize=4096)
def _public_key(public_key_hex: str) -> PublicKey:
    return PublicKey(public_key_hex)


def sm2_verify(public_key_hex: str, message: bytes, signature_hex: str) -> bool:
    """The default verifier: a real SM2 verification (spec section 1)."""
    try:
        _public_key(public_key_hex).verify(signature_hex, message)
    except (InvalidSignature, MalformedData):
        return False
    return True


class Step(IntEnum):
    PROPOSE = 0
    PREVOTE = 1
    PRECOMMIT = 2


@dataclass(frozen=True)
class Timeouts:
    """``timeoutX(r) = X_ms + r * X_delta_ms``: timeouts grow with the round (liveness)."""

    propose_ms: int = 3000
    propose_delta_ms: int = 500
    prevote_ms: int = 1000
    prevote_delta_ms: int = 500
    precommit_ms: int = 1000
    precommit_delta_ms: int = 500

    def for_step(self, step: Step, round_: int) -> int:
        if step is Step.PROPOSE:
            return self.propose_ms + round_ * self.propose_delta_ms
        if step is Step.PREVOTE:
            return self.prevote_ms + round_ * self.prevote_delta_ms
        return self.precommit_ms + round_ * self.precommit_delta_ms


@dataclass(frozen=True)
class Limits:
    """Bounds on what a peer can make this machine hold (none of them is in Algorithm 1)."""

    future_rounds: int = 64  # messages for rounds above round_p + this are ignored
    proposals_per_round: int = 4  # distinct proposals kept per round (equivocating proposer)
    buffered_next_height: int = 1024  # messages for height_p + 1 held until it starts


# --- events -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Timeout:
    """``OnTimeoutPropose/Prevote/Precommit(height, round)``."""

    step: Step
    height: int
    round: int


@dataclass(frozen=True)
class Receive(Generic[V]):
    message: Message[V]


@dataclass(frozen=True)
class TimeoutFired:
    timeout: Timeout


@dataclass(frozen=True)
class ValueAvailable(Generic[V]):
    """The answer to ``RequestValue``: the application's ``getValue()``."""

    height: int
    round: int
    value: V


Event = Union[Receive[V], TimeoutFired, ValueAvailable[V]]  # noqa: UP007


# --- outputs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class LastSigned(Generic[V]):
    """What a validator must have on disk before a message it signed leaves the process.

    ``messages`` are all the messages it signed at ``height`` (in signing order): after a
    restart it re-sends them and never signs another message for the same round and kind.
    The lock (``locked_*``) is what Algorithm 1's safety rests on; ``valid_*``, ``round``
    and ``step`` let it resume where it was.
    """

    height: int
    round: int
    step: Step
    locked_round: int
    locked_value: V | None
    valid_round: int
    valid_value: V | None
    messages: tuple[Message[V], ...]

    def to_wire(self, encode_value: Callable[[V], Any]) -> dict[str, Any]:
        return {
            "height": self.height,
            "round": self.round,
            "step": self.step.name.lower(),
            "locked_round": self.locked_round,
            "locked_value": None if self.locked_value is None else encode_value(self.locked_value),
            "valid_round": self.valid_round,
            "valid_value": None if self.valid_value is None else encode_value(self.valid_value),
            "messages": [m.to_wire(encode_value) for m in self.messages],
        }

    @classmethod
    def from_wire(cls, value: Any, decode_value: Callable[[Any], V]) -> LastSigned[V]:
        """Read back what ``to_wire`` wrote (the runtime's own disk: shape-checked only)."""
        if not isinstance(value, dict) or set(value) != LAST_SIGNED_KEYS:
            raise MalformedData("last-signed record: wrong fields")
        messages = value["messages"]
        if not isinstance(messages, list):
            raise MalformedData("last-signed record: messages must be a list")
        try:
            step = Step[str(value["step"]).upper()]
        except KeyError:
            raise MalformedData("last-signed record: unknown step") from None
        ints = [value[k] for k in ("height", "round", "locked_round", "valid_round")]
        if any(isinstance(i, bool) or not isinstance(i, int) for i in ints):
            raise MalformedData("last-signed record: height and rounds must be integers")
        locked, valid = value["locked_value"], value["valid_value"]
        return cls(
            height=value["height"],
            round=value["round"],
            step=step,
            locked_round=value["locked_round"],
            locked_value=None if locked is None else decode_value(locked),
            valid_round=value["valid_round"],
            valid_value=None if valid is None else decode_value(valid),
            messages=tuple(message_from_wire(m, decode_value) for m in messages),
        )


LAST_SIGNED_KEYS = frozenset(
    {
        "height",
        "round",
        "step",
        "locked_round",
        "locked_value",
        "valid_round",
        "valid_value",
        "messages",
    }
)


@dataclass(frozen=True)
class Broadcast(Generic[V]):
    """Send to every validator (and keep gossiping until they have it)."""

    message: Message[V]


@dataclass(frozen=True)
class Persist(Generic[V]):
    """Write durably before acting on the outputs that follow."""

    state: LastSigned[V]


@dataclass(frozen=True)
class ScheduleTimeout:
    """Feed ``TimeoutFired(timeout)`` back after ``delay_ms``."""

    timeout: Timeout
    delay_ms: int


@dataclass(frozen=True)
class RequestValue:
    """``getValue()``: build a block for this height and round, then feed ``ValueAvailable``."""

    height: int
    round: int


@dataclass(frozen=True)
class Decide(Generic[V]):
    """``decision_p[h] = v`` with its proof: the proposal and the precommits of ``round``.

    ``certificate`` is the commit certificate of spec section 4 built from those precommits.
    The caller stores the block with it, then calls ``start_height(height + 1, ...)``.
    """

    height: int
    round: int
    value: V
    certificate: CommitCertificate
    proposal: Proposal[V]
    precommits: tuple[Precommit, ...]


@dataclass(frozen=True)
class Evidence(Generic[V]):
    """A validator signed two conflicting messages (report it; it is never counted twice)."""

    equivocation: Equivocation[V]


@dataclass(frozen=True)
class Rejected(Generic[V]):
    """A message refused: bad signature, not a validator, not the proposer, bad value hash."""

    message: Message[V]
    reason: str


Output = Union[  # noqa: UP007
    Broadcast[V],
    Persist[V],
    ScheduleTimeout,
    RequestValue,
    Decide[V],
    Evidence[V],
    Rejected[V],
]


# --- the machine ------------------------------------------------------------------------


class TendermintMachine(Generic[V]):
    """One validator's Algorithm 1. Not thread-safe: drive it from one task."""

    def __init__(
        self,
        *,
        chain_id: str,
        validator_id: str,
        signer: Signer | None,
        value_id: Callable[[V], str],
        valid: Callable[[int, V], bool],
        timeouts: Timeouts | None = None,
        verifier: Verifier = sm2_verify,
        limits: Limits | None = None,
    ) -> None:
        self.chain_id = chain_id
        self.validator_id = validator_id
        self._signer = signer
        self._value_id = value_id
        self._valid_fn = valid
        self.timeouts = timeouts or Timeouts()
        self._verify = verifier
        self.limits = limits or Limits()
        self._out: list[Output[V]] = []
        self._buffer: list[Message[V]] = []
        self._started = False
        self._persisted_key: tuple[Any, ...] | None = None
        self._reset(-1, None, None)

    # -- per-height state (Algorithm 1, lines 2-9) ----------------------------------------

    def _reset(
        self, height: int, validators: ValidatorSet | None, proposers: ProposerPriorities | None
    ) -> None:
        self.height = height  # h_p
        self.round = 0  # round_p
        self.step = Step.PROPOSE  # step_p
        self.decision: Decide[V] | None = None  # decision_p[h_p]
        self.locked_value: V | None = None  # lockedValue_p
        self.locked_round = -1  # lockedRound_p
        self.valid_value: V | None = None  # validValue_p
        self.valid_round = -1  # validRound_p
        self.validators = validators
        self._proposers = proposers
        self._proposer_cache: dict[int, str] = {}
        members = validators.validators if validators is not None else ()
        self._keys = {v.id: v.public_key for v in members}
        self._votes = HeightVotes({v.id: v.power for v in members})
        self._proposals: dict[int, dict[tuple[str, int], Proposal[V]]] = {}
        self._own: dict[tuple[int, str], Message[V]] = {}
        self._own_order: list[Message[V]] = []
        self._valid_hashes: set[str] = set()
        self._awaiting_value: int | None = None
        # "for the first time" guards of lines 34, 36 and 47: the last round each fired in
        self._l34_round = -1
        self._l36_round = -1
        self._l47_round = -1

    def start_height(
        self, height: int, validators: ValidatorSet, proposers: ProposerPriorities
    ) -> list[Output[V]]:
        """Begin ``height`` (lines 10 and 52-54): fresh locks, ``StartRound(0)``."""
        self._begin(height, validators, proposers)
        self._start_round(0)
        self._replay_buffer()
        self._progress()
        return self._finish()

    def restore(
        self, record: LastSigned[V], validators: ValidatorSet, proposers: ProposerPriorities
    ) -> list[Output[V]]:
        """Resume from the persisted record after a restart (same height, round, lock).

        Re-broadcasts every message signed at the height (they are on disk already) and
        will never sign a different message for a round and kind it has signed.
        """
        self._begin(record.height, validators, proposers)
        self.round = record.round
        self.step = record.step
        self.locked_round, self.locked_value = record.locked_round, record.locked_value
        self.valid_round, self.valid_value = record.valid_round, record.valid_value
        for message in record.messages:
            if message.sender != self.validator_id or message.height != record.height:
                raise ValueError("the record holds a message this validator did not sign here")
            self._remember_own(message)
            self._store(message)
            self._out.append(Broadcast(message))
        self._persisted_key = self._record_key()
        if self.step is Step.PROPOSE:
            self._proposer_duty()
            self._schedule(Step.PROPOSE, self.round)
        self._progress()
        return self._finish()

    def _begin(self, height: int, validators: ValidatorSet, proposers: ProposerPriorities) -> None:
        if proposers.validators != validators:
            raise ValueError("proposer priorities are for another validator set")
        if height <= self.height:
            raise ValueError(f"height {height} is not above {self.height}")
        buffered = [m for m in self._buffer if m.height == height]
        self._reset(height, validators, proposers)
        self._buffer = buffered
        self._started = True

    # -- events ---------------------------------------------------------------------------

    def handle(self, event: Event[V]) -> list[Output[V]]:
        if isinstance(event, Receive):
            return self.receive(event.message)
        if isinstance(event, TimeoutFired):
            return self.on_timeout(event.timeout)
        return self.on_value(event.height, event.round, event.value)

    def receive(self, message: Message[V]) -> list[Output[V]]:
        """A message from a peer: checked (membership, proposer, value hash, signature)."""
        if self._accept(message):
            self._progress()
        return self._finish()

    def on_timeout(self, timeout: Timeout) -> list[Output[V]]:
        if self._started and self.decision is None and timeout.height == self.height:
            if timeout.step is Step.PROPOSE:
                self._on_timeout_propose(timeout.round)
            elif timeout.step is Step.PREVOTE:
                self._on_timeout_prevote(timeout.round)
            else:
                self._on_timeout_precommit(timeout.round)
            self._progress()
        return self._finish()

    def on_value(self, height: int, round_: int, value: V) -> list[Output[V]]:
        """``getValue()`` returned (line 18): propose it if still proposer in that round."""
        if (
            self._started
            and self.decision is None
            and height == self.height
            and round_ == self.round == self._awaiting_value
            and self.step is Step.PROPOSE
            and (round_, Proposal.TYPE) not in self._own
        ):
            self._awaiting_value = None
            self._propose(value, -1)  # line 19 with validValue_p = nil
            self._progress()
        return self._finish()

    # -- views for the runtime ------------------------------------------------------------

    def proposer(self, round_: int) -> str:
        """``proposer(h_p, round)``."""
        found = self._proposer_cache.get(round_)
        if found is None:
            assert self._proposers is not None, "no height started"
            found = self._proposer_cache[round_] = self._proposers.proposer(round_)
        return found

    def messages(self) -> Iterator[Message[V]]:
        """Every message accepted at the current height (to gossip to peers that lack it)."""
        for r in sorted(self._proposals):
            yield from self._proposals[r].values()
        yield from self._votes.all_votes()

    def last_signed(self) -> LastSigned[V]:
        return LastSigned(
            height=self.height,
            round=self.round,
            step=self.step,
            locked_round=self.locked_round,
            locked_value=self.locked_value,
            valid_round=self.valid_round,
            valid_value=self.valid_value,
            messages=tuple(self._own_order),
        )

    @property
    def status(self) -> dict[str, object]:
        return {
            "height": self.height,
            "round": self.round,
            "step": self.step.name.lower(),
            "locked_round": self.locked_round,
            "valid_round": self.valid_round,
            "proposer": self.proposer(self.round) if self._started else None,
            "decided": self.decision is not None,
        }

    # -- accepting messages ---------------------------------------------------------------

    def _accept(self, message: Message[V]) -> bool:
        """Check a message and store it; True if it is new and counts."""
        if message.chain_id != self.chain_id:
            return self._reject(message, "message is for another chain")
        if not self._started or message.height == self.height + 1:
            if len(self._buffer) < self.limits.buffered_next_height:
                self._buffer.append(message)  # checked when that height starts
            return False
        if message.height != self.height or self.decision is not None:
            return False  # another height: the runtime's catch-up deals with it
        if message.round > self.round + self.limits.future_rounds:
            return False
        key = self._keys.get(message.sender)
        if key is None:
            return self._reject(message, f"{message.sender} is not a validator at this height")
        if isinstance(message, Proposal):
            return self._accept_proposal(message, key)
        seen = self._votes.seen(message)
        if seen is Seen.DUPLICATE:
            return False
        if (
            seen is Seen.CONFLICT
            and message.block_hash is not None
            and self._proposal_for(message.round, message.block_hash) is None
        ):
            # An equivocating validator's further vote is kept only if it is for nil or for
            # a block proposed in that round: that bounds what it can make us hold. (Gossip
            # offers it again once the proposal is here.)
            return False
        if not self._verify(key, message.signing_bytes, message.signature):
            return self._reject(message, "signature does not verify")
        evidence = self._votes.add(message)
        if evidence is not None:
            self._out.append(Evidence(evidence))
        return True

    def _accept_proposal(self, proposal: Proposal[V], key: str) -> bool:
        if proposal.proposer != self.proposer(proposal.round):
            return self._reject(proposal, f"{proposal.proposer} is not the proposer of the round")
        if not -1 <= proposal.valid_round < proposal.round:
            return self._reject(proposal, "valid_round must be in [-1, round)")
        known = self._proposals.get(proposal.round, {})
        ident = (proposal.block_hash, proposal.valid_round)
        if ident in known:
            return False
        if len(known) >= self.limits.proposals_per_round and not (
            self._votes.prevotes(proposal.round).one_third_for(proposal.block_hash)
            or self._votes.precommits(proposal.round).one_third_for(proposal.block_hash)
        ):
            return False  # a proposer spamming variants; one with votes behind it still gets in
        if self._value_id(proposal.value) != proposal.block_hash:
            return self._reject(proposal, "the value's hash is not the signed block_hash")
        if not self._verify(key, proposal.signing_bytes, proposal.signature):
            return self._reject(proposal, "signature does not verify")
        if known:
            self._out.append(Evidence(Equivocation(next(iter(known.values())), proposal)))
        self._store(proposal)
        return True

    def _store(self, message: Message[V]) -> None:
        if isinstance(message, Proposal):
            known = self._proposals.setdefault(message.round, {})
            known.setdefault((message.block_hash, message.valid_round), message)
            self._votes.spoke(message.proposer, message.round)
        else:
            self._votes.add(message)

    def _reject(self, message: Message[V], reason: str) -> bool:
        self._out.append(Rejected(message, reason))
        return False

    def _replay_buffer(self) -> None:
        buffered, self._buffer = self._buffer, []
        for message in buffered:
            self._accept(message)

    # -- the rules of Algorithm 1 ---------------------------------------------------------

    def _progress(self) -> None:
        """Apply the ``upon`` rules until none fires (each may enable another)."""
        while self.decision is None and (
            self._upon_decide()  # L49
            or self._upon_higher_round()  # L55
            or self._upon_proposal()  # L22
            or self._upon_proposal_with_pol()  # L28
            or self._upon_prevotes_any()  # L34
            or self._upon_prevotes_for_value()  # L36
            or self._upon_prevotes_nil()  # L44
            or self._upon_precommits_any()  # L47
        ):
            pass

    def _start_round(self, round_: int) -> None:
        """``StartRound(round)``, lines 11-21."""
        self.round = round_  # L12
        self.step = Step.PROPOSE  # L13
        self._awaiting_value = None
        self._proposer_duty()  # L14-19
        # L21. Simplification: the proposer schedules it too, because getValue() is
        # asynchronous here; once it has prevoted (line 22) the timeout does nothing.
        self._schedule(Step.PROPOSE, round_)

    def _proposer_duty(self) -> None:
        if self._signer is None or self.proposer(self.round) != self.validator_id:
            return
        if (self.round, Proposal.TYPE) in self._own:
            return  # proposed in this round before a restart: never a second proposal
        if self.valid_value is not None:  # L15-16
            self._propose(self.valid_value, self.valid_round)
        else:  # L17-18: getValue(), answered by on_value()
            self._awaiting_value = self.round
            self._out.append(RequestValue(self.height, self.round))

    def _upon_proposal(self) -> bool:
        """L22-27: ``⟨PROPOSAL, h_p, round_p, v, -1⟩`` while ``step_p = propose``."""
        if self.step is not Step.PROPOSE:
            return False
        for proposal in self._proposals.get(self.round, {}).values():
            if proposal.valid_round == -1:
                ok = self._valid(proposal) and (  # L23
                    self.locked_round == -1 or self._locked_hash() == proposal.block_hash
                )
                self._prevote(proposal.block_hash if ok else None)  # L24 / L26
                self.step = Step.PREVOTE  # L27
                return True
        return False

    def _upon_proposal_with_pol(self) -> bool:
        """L28-33: a proposal with ``valid_round`` vr and ``2f+1 ⟨PREVOTE, h_p, vr, id(v)⟩``."""
        if self.step is not Step.PROPOSE:
            return False
        for proposal in self._proposals.get(self.round, {}).values():
            vr = proposal.valid_round
            if 0 <= vr < self.round and self._votes.prevotes(vr).quorum_for(proposal.block_hash):
                ok = self._valid(proposal) and (  # L29
                    self.locked_round <= vr or self._locked_hash() == proposal.block_hash
                )
                self._prevote(proposal.block_hash if ok else None)  # L30 / L32
                self.step = Step.PREVOTE  # L33
                return True
        return False

    def _upon_prevotes_any(self) -> bool:
        """L34-35: ``2f+1 ⟨PREVOTE, h_p, round_p, ∗⟩`` while prevote, the first time."""
        if (
            self.step is Step.PREVOTE
            and self._l34_round != self.round
            and self._votes.prevotes(self.round).quorum_any()
        ):
            self._l34_round = self.round
            self._schedule(Step.PREVOTE, self.round)
            return True
        return False

    def _upon_prevotes_for_value(self) -> bool:
        """L36-43: a proposal for v and ``2f+1 ⟨PREVOTE, h_p, round_p, id(v)⟩``, first time."""
        if self.step < Step.PREVOTE or self._l36_round == self.round:
            return False
        block_hash = self._votes.prevotes(self.round).quorum_hash()
        if block_hash is None:
            return False
        proposal = self._proposal_for(self.round, block_hash)
        if proposal is None or not self._valid(proposal):
            return False
        self._l36_round = self.round
        if self.step is Step.PREVOTE:  # L37
            self.locked_value, self.locked_round = proposal.value, self.round  # L38-39
            self._precommit(block_hash)  # L40
            self.step = Step.PRECOMMIT  # L41
        self.valid_value, self.valid_round = proposal.value, self.round  # L42-43
        return True

    def _upon_prevotes_nil(self) -> bool:
        """L44-46: ``2f+1 ⟨PREVOTE, h_p, round_p, nil⟩`` while prevote."""
        if self.step is Step.PREVOTE and self._votes.prevotes(self.round).quorum_for(None):
            self._precommit(None)  # L45
            self.step = Step.PRECOMMIT  # L46
            return True
        return False

    def _upon_precommits_any(self) -> bool:
        """L47-48: ``2f+1 ⟨PRECOMMIT, h_p, round_p, ∗⟩`` for the first time."""
        if self._l47_round != self.round and self._votes.precommits(self.round).quorum_any():
            self._l47_round = self.round
            self._schedule(Step.PRECOMMIT, self.round)
            return True
        return False

    def _upon_decide(self) -> bool:
        """L49-54: a proposal for v and ``2f+1 ⟨PRECOMMIT, h_p, r, id(v)⟩``, any round r."""
        for r in self._votes.precommit_rounds():
            precommits = self._votes.precommits(r)
            block_hash = precommits.quorum_hash()
            if block_hash is None:
                continue
            proposal = self._proposal_for(r, block_hash)
            if proposal is None or not self._valid(proposal):  # L50
                continue
            signed = tuple(precommits.votes_for(block_hash))
            certificate = CommitCertificate(
                height=self.height,
                round=r,
                block_hash=block_hash,
                signatures=tuple(CommitSignature(v.validator, v.signature) for v in signed),
            )
            # L51. Lines 52-54 (next height, reset, StartRound(0)) are start_height(), which
            # the caller invokes once it has stored the block and knows the next validators.
            self.decision = Decide(self.height, r, proposal.value, certificate, proposal, signed)
            self._out.append(self.decision)
            return True
        return False

    def _upon_higher_round(self) -> bool:
        """L55-56: ``f+1 ⟨∗, h_p, round, ∗, ∗⟩`` with ``round > round_p``."""
        target = -1
        for r in self._votes.rounds_with_senders():
            if r > self.round and one_third(self._votes.sender_power(r), self._votes.total):
                target = r  # the highest such round: StartRound once, not once per round
        if target < 0:
            return False
        self._start_round(target)
        return True

    def _on_timeout_propose(self, round_: int) -> None:
        """L57-60."""
        if round_ == self.round and self.step is Step.PROPOSE:
            self._prevote(None)
            self.step = Step.PREVOTE

    def _on_timeout_prevote(self, round_: int) -> None:
        """L61-64."""
        if round_ == self.round and self.step is Step.PREVOTE:
            self._precommit(None)
            self.step = Step.PRECOMMIT

    def _on_timeout_precommit(self, round_: int) -> None:
        """L65-67."""
        if round_ == self.round:
            self._start_round(self.round + 1)

    # -- helpers --------------------------------------------------------------------------

    def _valid(self, proposal: Proposal[V]) -> bool:
        """``valid(v)``. Only a positive verdict is cached: a block whose timestamp was ahead
        of this validator's clock may become acceptable later, never the reverse."""
        if proposal.block_hash in self._valid_hashes:
            return True
        if self._valid_fn(self.height, proposal.value):
            self._valid_hashes.add(proposal.block_hash)
            return True
        return False

    def _locked_hash(self) -> str | None:
        return None if self.locked_value is None else self._value_id(self.locked_value)

    def _proposal_for(self, round_: int, block_hash: str) -> Proposal[V] | None:
        for proposal in self._proposals.get(round_, {}).values():
            if proposal.block_hash == block_hash:
                return proposal
        return None

    def _schedule(self, step: Step, round_: int) -> None:
        delay = self.timeouts.for_step(step, round_)
        self._out.append(ScheduleTimeout(Timeout(step, self.height, round_), delay))

    def _remember_own(self, message: Message[V]) -> None:
        self._own[(message.round, message.TYPE)] = message
        self._own_order.append(message)

    def _signed_before(self, kind: str) -> bool:
        """The double-signing guard: one message per round and kind, ever (see restore)."""
        return (self.round, kind) in self._own

    def _propose(self, value: V, valid_round: int) -> None:
        if self._signer is None or self._signed_before(Proposal.TYPE):
            return
        proposal = Proposal.sign(
            self._signer,
            self.validator_id,
            self.chain_id,
            self.height,
            self.round,
            self._value_id(value),
            valid_round,
            value,
        )
        self._remember_own(proposal)
        self._store(proposal)
        self._out.append(Broadcast(proposal))

    def _prevote(self, block_hash: str | None) -> None:
        if self._signer is None or self.validator_id not in self._keys:
            return
        if self._signed_before(Prevote.TYPE):
            return
        vote = Prevote.sign(
            self._signer, self.validator_id, self.chain_id, self.height, self.round, block_hash
        )
        self._remember_own(vote)
        self._store(vote)
        self._out.append(Broadcast(vote))

    def _precommit(self, block_hash: str | None) -> None:
        if self._signer is None or self.validator_id not in self._keys:
            return
        if self._signed_before(Precommit.TYPE):
            return
        vote = Precommit.sign(
            self._signer, self.validator_id, self.chain_id, self.height, self.round, block_hash
        )
        self._remember_own(vote)
        self._store(vote)
        self._out.append(Broadcast(vote))

    def _record_key(self) -> tuple[Any, ...]:
        return (
            self.height,
            self.round,
            self.step,
            self.locked_round,
            self.valid_round,
            len(self._own_order),
        )

    def _finish(self) -> list[Output[V]]:
        """Hand the outputs over, with a ``Persist`` before the first ``Broadcast`` if the
        record changed (the record is the state after the whole batch: a superset)."""
        out, self._out = self._out, []
        if not self._started or self.validator_id not in self._keys:
            return out
        key = self._record_key()
        if key != self._persisted_key:
            self._persisted_key = key
            persist: Output[V] = Persist(self.last_signed())
            first = next((i for i, o in enumerate(out) if isinstance(o, Broadcast)), len(out))
            out.insert(first, persist)
        return out
