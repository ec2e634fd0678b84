"""Tallies of votes by voting power, with equivocation detected.

"2f + 1 messages" of the paper is, with weighted validators, "messages from validators holding
more than two thirds of the total power" (``quorum``); "f + 1" is "more than one third"
(``one_third``). Each validator counts once in the tally of any vote (``⟨VOTE, h, r, ∗⟩``)
and at most once in the tally of each block hash.

A second, validly signed vote of the same kind and round for another block is an
equivocation: both votes are returned as evidence, and, as in tendermint-go (which counts a
conflicting vote for a block some peer claims has a two-thirds majority), the second vote
is also counted for the block it names. Algorithm 1 counts messages received, and a
Byzantine validator did send both; safety is untouched because two quorums for different
blocks in one round would still need an honest validator in both, and honest validators
never equivocate. Without this, a validator that saw a Byzantine's nil precommit first could
never assemble the certificate everyone else decided with. Which conflicting votes are
worth keeping (bounded) is the state machine's decision, made before it verifies them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Generic, TypeVar

from consensus.tendermint.messages import Precommit, Prevote, Proposal, Vote

V = TypeVar("V")
VoteT = TypeVar("VoteT", Prevote, Precommit)


def quorum(power: int, total: int) -> bool:
    """More than two thirds of the voting power: the paper's ``2f + 1``."""
    return 3 * power > 2 * total


def one_third(power: int, total: int) -> bool:
    """More than one third of the voting power: the paper's ``f + 1``."""
    return 3 * power > total


@dataclass(frozen=True)
class Equivocation(Generic[V]):
    """Two validly signed, conflicting messages of one validator for one height and round."""

    first: Proposal[V] | Prevote | Precommit
    second: Proposal[V] | Prevote | Precommit

    @property
    def validator(self) -> str:
        return self.first.sender


class Seen(Enum):
    NEW = "new"
    DUPLICATE = "duplicate"  # the same vote again (its signature bytes may differ)
    CONFLICT = "conflict"  # another vote of the same kind and round: equivocation


class VoteSet(Generic[VoteT]):
    """The votes of one kind (prevote or precommit) of one height and round."""

    def __init__(self, powers: Mapping[str, int], total: int) -> None:
        self._powers = powers
        self.total = total
        self._by_validator: dict[str, dict[str | None, VoteT]] = {}
        self._power_for: dict[str | None, int] = {}
        self.power_any = 0

    def __len__(self) -> int:
        return len(self._by_validator)

    def __iter__(self) -> Iterator[VoteT]:
        for votes in self._by_validator.values():
            yield from votes.values()

    def first(self, validator: str) -> VoteT | None:
        """The first vote of ``validator`` in this round (its only one, if it is honest)."""
        votes = self._by_validator.get(validator)
        return None if votes is None else next(iter(votes.values()))

    def seen(self, vote: Vote) -> Seen:
        votes = self._by_validator.get(vote.validator)
        if votes is None:
            return Seen.NEW
        if vote.block_hash in votes:
            return Seen.DUPLICATE
        return Seen.CONFLICT

    def add(self, vote: VoteT) -> Equivocation[Any] | None:
        """Count a vote whose signature and membership the caller has checked.

        Returns the evidence if the validator had already voted for something else.
        """
        power = self._powers[vote.validator]
        votes = self._by_validator.get(vote.validator)
        if votes is None:
            votes = self._by_validator[vote.validator] = {}
            self.power_any += power
        elif vote.block_hash in votes:
            return None
        first = next(iter(votes.values()), None)
        votes[vote.block_hash] = vote
        self._power_for[vote.block_hash] = self._power_for.get(vote.block_hash, 0) + power
        return None if first is None else Equivocation(first, vote)

    def power_for(self, block_hash: str | None) -> int:
        return self._power_for.get(block_hash, 0)

    def quorum_any(self) -> bool:
        """``2f + 1 ⟨VOTE, h, r, ∗⟩``: distinct validators, whatever they voted for."""
        return quorum(self.power_any, self.total)

    def quorum_for(self, block_hash: str | None) -> bool:
        """``2f + 1 ⟨VOTE, h, r, block_hash⟩`` (``None``: nil)."""
        return quorum(self.power_for(block_hash), self.total)

    def quorum_hash(self) -> str | None:
        """A block hash with a quorum, if any (at most one unless a third of the power lies)."""
        for block_hash, power in self._power_for.items():
            if block_hash is not None and quorum(power, self.total):
                return block_hash
        return None

    def one_third_for(self, block_hash: str | None) -> bool:
        return one_third(self.power_for(block_hash), self.total)

    def votes_for(self, block_hash: str | None) -> list[VoteT]:
        """The votes for ``block_hash``, one per validator, in ascending validator id order."""
        found = [votes[block_hash] for votes in self._by_validator.values() if block_hash in votes]
        return sorted(found, key=lambda v: v.validator)


class HeightVotes:
    """All prevotes and precommits of one height, by round, and who spoke in which round."""

    def __init__(self, powers: Mapping[str, int]) -> None:
        self.powers = powers
        self.total = sum(powers.values())
        self._prevotes: dict[int, VoteSet[Prevote]] = {}
        self._precommits: dict[int, VoteSet[Precommit]] = {}
        self._senders: dict[int, dict[str, int]] = {}

    def prevotes(self, round_: int) -> VoteSet[Prevote]:
        """The prevotes of a round (an empty set, not stored, when there are none)."""
        found = self._prevotes.get(round_)
        return found if found is not None else VoteSet(self.powers, self.total)

    def precommits(self, round_: int) -> VoteSet[Precommit]:
        found = self._precommits.get(round_)
        return found if found is not None else VoteSet(self.powers, self.total)

    def _set_for(self, vote: Vote) -> VoteSet[Any]:
        store: dict[int, Any] = self._prevotes if isinstance(vote, Prevote) else self._precommits
        found = store.get(vote.round)
        if found is None:
            found = store[vote.round] = VoteSet(self.powers, self.total)
        result: VoteSet[Any] = found
        return result

    def seen(self, vote: Vote) -> Seen:
        store: dict[int, Any] = self._prevotes if isinstance(vote, Prevote) else self._precommits
        found = store.get(vote.round)
        return Seen.NEW if found is None else found.seen(vote)

    def add(self, vote: Prevote | Precommit) -> Equivocation[Any] | None:
        evidence = self._set_for(vote).add(vote)
        self.spoke(vote.validator, vote.round)
        return evidence

    def spoke(self, validator: str, round_: int) -> None:
        """Record that ``validator`` sent a valid message (of any kind) in ``round_``."""
        senders = self._senders.setdefault(round_, {})
        senders.setdefault(validator, self.powers[validator])

    def sender_power(self, round_: int) -> int:
        """The power of the validators that sent any valid message in ``round_``."""
        return sum(self._senders.get(round_, {}).values())

    def rounds_with_senders(self) -> list[int]:
        return sorted(self._senders)

    def precommit_rounds(self) -> list[int]:
        return sorted(self._precommits)

    def all_votes(self) -> Iterator[Prevote | Precommit]:
        for r in sorted(set(self._prevotes) | set(self._precommits)):
            if r in self._prevotes:
                yield from self._prevotes[r]
            if r in self._precommits:
                yield from self._precommits[r]
