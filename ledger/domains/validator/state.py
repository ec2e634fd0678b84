"""Validator set changes by governance transactions: a deterministic state machine, no I/O.

``validator.add`` ``{"id", "public_key", "power"}``, ``validator.remove`` ``{"id"}`` and
``validator.set_power`` ``{"id", "power"}`` committed in block ``h`` change the set that
certifies heights ``h + CHANGE_DELAY`` onwards. Block ``h + CHANGE_DELAY - 1``, the last one
the outgoing set certifies, names the new set in ``next_validators_hash`` (spec section 4).
All changes of one block accumulate, in block order, into one new set; changes of later
blocks start from the newest set, pending or not. docs/consensus.md, "Validator set changes".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ledger.model import Envelope, Validator, ValidatorSet

# Block h's changes take effect at h + 2: when block h + 1 is built (and, in Tendermint,
# when its validators are asked to agree on it) the set of h + 2 is already known, so that
# block can name it in next_validators_hash.
CHANGE_DELAY = 2
# A rule of the chain, not a node setting: every validator must reach the same verdict.
MAX_POWER = 1_000_000
VALIDATOR_TYPES = ("validator.add", "validator.remove", "validator.set_power")


@dataclass(frozen=True)
class Epoch:
    """``validators`` certify the blocks from ``height`` until the next epoch."""

    height: int
    validators: ValidatorSet


def power_change(before: ValidatorSet, after: ValidatorSet) -> int:
    """The voting power that moves between two sets: sum of |new power - old power|."""
    old = {v.id: v.power for v in before.validators}
    new = {v.id: v.power for v in after.validators}
    return sum(abs(new.get(i, 0) - old.get(i, 0)) for i in old.keys() | new.keys())


class ChangeBatch:
    """The validator changes of one block, checked and applied in block order."""

    def __init__(self, base: ValidatorSet) -> None:
        self.base = base
        self.working: dict[str, Validator] = {v.id: v for v in base.validators}

    @property
    def result(self) -> ValidatorSet:
        return ValidatorSet.of(list(self.working.values()))

    @property
    def changed(self) -> bool:
        return self.result != self.base

    def scratch(self) -> ChangeBatch:
        """A copy to check a change on without applying it."""
        out = ChangeBatch(self.base)
        out.working = dict(self.working)
        return out

    def add(self, validator: Validator) -> None:
        self.working[validator.id] = validator

    def remove(self, validator_id: str) -> None:
        del self.working[validator_id]

    def set_power(self, validator_id: str, power: int) -> None:
        old = self.working[validator_id]
        self.working[old.id] = Validator(old.id, old.public_key, power)

    def apply(self, env: Envelope) -> None:
        """Apply a validator change of a checked chain (replay, audit, tests)."""
        p = env.payload
        if env.type == "validator.add":
            self.add(Validator(p["id"], p["public_key"], p["power"]))
        elif env.type == "validator.remove":
            self.remove(p["id"])
        elif env.type == "validator.set_power":
            self.set_power(p["id"], p["power"])


class ValidatorSchedule:
    """Which set certifies which height: the genesis set, then one epoch per change."""

    def __init__(self, genesis: ValidatorSet, epochs: Iterable[Epoch] = ()) -> None:
        self.epochs: list[Epoch] = [Epoch(0, genesis), *epochs]

    def copy(self) -> ValidatorSchedule:
        return ValidatorSchedule(self.epochs[0].validators, self.epochs[1:])

    def at(self, height: int) -> ValidatorSet:
        """The set certifying ``height`` (known up to ``tip + CHANGE_DELAY``)."""
        for epoch in reversed(self.epochs):
            if epoch.height <= height:
                return epoch.validators
        return self.epochs[0].validators

    @property
    def latest(self) -> ValidatorSet:
        """The newest set, including one that has not taken effect yet."""
        return self.epochs[-1].validators

    def handovers(self, height: int) -> list[Epoch]:
        """The changes a receipt of block ``height`` must carry: every epoch after genesis
        that started at or before ``height``. Its handover header is ``epoch.height - 1``."""
        return [e for e in self.epochs[1:] if e.height <= height]

    def public_key(self, validator_id: str) -> str | None:
        """The newest key of a validator of any epoch (to authenticate its p2p links)."""
        for epoch in reversed(self.epochs):
            member = epoch.validators.get(validator_id)
            if member is not None:
                return member.public_key
        return None

    def begin_block(self) -> ChangeBatch:
        return ChangeBatch(self.latest)

    def record(self, height: int, batch: ChangeBatch) -> None:
        """Block ``height`` was committed with ``batch``'s changes."""
        if batch.changed:
            self.epochs.append(Epoch(height + CHANGE_DELAY, batch.result))

    @classmethod
    def replay(
        cls, genesis: ValidatorSet, changes: Iterable[tuple[Envelope, int]]
    ) -> ValidatorSchedule:
        """Rebuild from the validator transactions of a checked chain, in chain order."""
        schedule = cls(genesis)
        batch: ChangeBatch | None = None
        batch_height = -1
        for env, height in changes:
            if batch is not None and height != batch_height:
                schedule.record(batch_height, batch)
                batch = None
            if batch is None:
                batch, batch_height = schedule.begin_block(), height
            batch.apply(env)
        if batch is not None:
            schedule.record(batch_height, batch)
        return schedule


def certifies_alone(validators: ValidatorSet, validator_id: str) -> bool:
    """One signature is a commit certificate: the validator holds more than 2/3 of the power."""
    me = validators.get(validator_id)
    return me is not None and 3 * me.power > 2 * validators.total_power


def is_validator_type(tx_type: str) -> bool:
    return tx_type in VALIDATOR_TYPES


def history_entry(header: Any, commit: Any, next_validators: ValidatorSet) -> dict[str, Any]:
    """One ``validator_history`` entry of a receipt (spec section 6)."""
    return {"header": header, "commit": commit, "next_validators": next_validators.to_wire()}
