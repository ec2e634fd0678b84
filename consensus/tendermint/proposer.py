"""Proposer rotation weighted by voting power: Tendermint's proposer-priority algorithm.

As specified in Tendermint's ``spec/consensus/proposer-selection.md`` and implemented by
``ValidatorSet.IncrementProposerPriority`` in tendermint-go (and CometBFT):

- every validator carries an integer priority;
- one *increment*: each priority grows by the validator's power, the validator with the
  highest priority (ties: the smallest id) is the proposer, and its priority drops by the
  total power;
- before a batch of increments the priorities are rescaled, so that max - min stays within
  ``2 * total``, and centred on their average.

Over ``total`` consecutive increments a validator is chosen about ``power`` times, spread
out rather than in a block. The state is a value (frozen, no clock, no randomness): every
validator derives the same proposer for every height and round from the same chain.

Use: ``ProposerPriorities.initial(set)`` for the first height; ``next_height()`` for each
following height (whatever round decided the previous one, as in tendermint-go);
``with_validators(new_set)`` when the validator set changes (a newcomer starts at
``-1.125 * total``, as in tendermint-go, so that it cannot propose at once).
``proposer(round)`` names the proposer of a round of the height.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from ledger.model import Validator, ValidatorSet

PRIORITY_WINDOW_FACTOR = 2


def _trunc_div(a: int, b: int) -> int:
    """Integer division rounding towards zero (Go's ``/`` on ``int64``)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


@dataclass(frozen=True)
class ProposerPriorities:
    validators: ValidatorSet
    priorities: tuple[int, ...]
    proposer_index: int

    @classmethod
    def initial(cls, validators: ValidatorSet) -> ProposerPriorities:
        """All priorities zero, then one increment (tendermint-go's ``NewValidatorSet``)."""
        zero = cls(validators, tuple(0 for _ in validators.validators), 0)
        return zero.increment(1)

    @cached_property
    def _powers(self) -> tuple[int, ...]:
        return tuple(v.power for v in self.validators.validators)

    @property
    def proposer_of_height(self) -> Validator:
        """The proposer of round 0."""
        return self.validators.validators[self.proposer_index]

    def increment(self, times: int) -> ProposerPriorities:
        if times < 1:
            raise ValueError("increment at least once")
        powers = self._powers
        total = sum(powers)
        prio = list(self.priorities)
        # rescale: keep max - min within 2 * total
        window = PRIORITY_WINDOW_FACTOR * total
        diff = max(prio) - min(prio)
        if diff > window:
            ratio = (diff + window - 1) // window
            prio = [_trunc_div(p, ratio) for p in prio]
        # centre on the average (Euclidean division, as big.Int.Div)
        avg = sum(prio) // len(prio)
        prio = [p - avg for p in prio]
        chosen = 0
        ids = [v.id for v in self.validators.validators]
        for _ in range(times):
            prio = [p + w for p, w in zip(prio, powers, strict=True)]
            chosen = 0
            for i in range(1, len(prio)):
                if prio[i] > prio[chosen] or (prio[i] == prio[chosen] and ids[i] < ids[chosen]):
                    chosen = i
            prio[chosen] -= total
        return ProposerPriorities(self.validators, tuple(prio), chosen)

    def next_height(self) -> ProposerPriorities:
        return self.increment(1)

    def proposer(self, round_: int) -> str:
        """The id of the proposer of ``round_`` at this height."""
        if round_ < 0:
            raise ValueError("rounds start at 0")
        if round_ == 0:
            return self.proposer_of_height.id
        return self.increment(round_).proposer_of_height.id

    def with_validators(self, new: ValidatorSet) -> ProposerPriorities:
        """Carry priorities over to a changed set; newcomers start at -1.125 * new total."""
        old = {v.id: p for v, p in zip(self.validators.validators, self.priorities, strict=True)}
        total = new.total_power
        start = -(total + (total >> 3))
        prio = tuple(old.get(v.id, start) for v in new.validators)
        # centre (as tendermint-go does after an update), then the next height's increment
        avg = sum(prio) // len(prio)
        return ProposerPriorities(new, tuple(p - avg for p in prio), 0).increment(1)
