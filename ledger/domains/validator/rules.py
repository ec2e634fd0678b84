"""Validator set change rules: checked in block order against the block's changes so far.

A new validator must be an active member with the role ``validator`` and its active key; the
set may not become empty; the changes of one block may move at most a third of the voting
power of the set they start from (so that the outgoing set's guarantees carry over).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ledger.domains.base import Domain, TxContext, TxType
from ledger.domains.state import Overlay
from ledger.domains.validator.schemas import ValidatorAdd, ValidatorRemove, ValidatorSetPower
from ledger.domains.validator.state import ChangeBatch, power_change
from ledger.errors import RuleViolation
from ledger.model import Validator, ValidatorSet

GOVERNANCE = frozenset({"governance"})


def _check_power_moved(tx_type: str, batch: ChangeBatch, after: dict[str, Validator]) -> None:
    moved = power_change(batch.base, ValidatorSet.of(list(after.values())))
    if 3 * moved > batch.base.total_power:
        raise RuleViolation(
            f"{tx_type}: the changes of this block would move {moved} of "
            f"{batch.base.total_power} voting power; at most a third may move at once",
            code="validator_change_too_large",
            moved=moved,
            total=batch.base.total_power,
        )


def _sitting(batch: ChangeBatch, validator_id: str, tx_type: str) -> Validator:
    sitting = batch.working.get(validator_id)
    if sitting is None:
        raise RuleViolation(
            f"{tx_type}: {validator_id!r} is not a validator", code="unknown_validator"
        )
    return sitting


class ValidatorDomain(Domain):
    name = "validator"

    def tx_types(self) -> Sequence[TxType[Any]]:
        return (
            TxType(
                "validator.add",
                GOVERNANCE,
                ValidatorAdd,
                self.on_add,
                "add a validator (from the next-but-one block)",
            ),
            TxType(
                "validator.remove",
                GOVERNANCE,
                ValidatorRemove,
                self.on_remove,
                "remove a validator",
            ),
            TxType(
                "validator.set_power",
                GOVERNANCE,
                ValidatorSetPower,
                self.on_set_power,
                "change a validator's voting power",
            ),
        )

    def on_add(self, state: Overlay, ctx: TxContext, p: ValidatorAdd) -> None:
        batch = ctx.host.validator_changes()
        member = ctx.members.get(p.id)
        if member is None or not member.active:
            raise RuleViolation(f"validator.add: no active member {p.id!r}", code="unknown_member")
        if "validator" not in member.roles:
            raise RuleViolation(
                f"validator.add: member {p.id!r} does not have the role validator",
                code="not_a_validator_member",
            )
        if p.public_key != member.public_key:
            raise RuleViolation(
                f"validator.add: public_key is not the active key of member {p.id!r}",
                code="validator_key_mismatch",
            )
        if p.id in batch.working:
            raise RuleViolation(
                f"validator.add: {p.id!r} is already a validator", code="validator_exists"
            )
        added = Validator(p.id, member.public_key, p.power)
        _check_power_moved("validator.add", batch, {**batch.working, p.id: added})
        batch.add(added)

    def on_remove(self, state: Overlay, ctx: TxContext, p: ValidatorRemove) -> None:
        batch = ctx.host.validator_changes()
        _sitting(batch, p.id, "validator.remove")
        after = {i: v for i, v in batch.working.items() if i != p.id}
        if not after:
            raise RuleViolation(
                "validator.remove: the validator set may not become empty",
                code="validator_set_empty",
            )
        _check_power_moved("validator.remove", batch, after)
        batch.remove(p.id)

    def on_set_power(self, state: Overlay, ctx: TxContext, p: ValidatorSetPower) -> None:
        batch = ctx.host.validator_changes()
        sitting = _sitting(batch, p.id, "validator.set_power")
        changed = Validator(p.id, sitting.public_key, p.power)
        _check_power_moved("validator.set_power", batch, {**batch.working, p.id: changed})
        batch.set_power(p.id, p.power)


domain = ValidatorDomain()
