"""What the API shows of the validator sets."""

from __future__ import annotations

from typing import Any

from ledger.domains.validator.state import ValidatorSchedule


def certifying_validators(
    schedule: ValidatorSchedule, height: int, history: list[dict[str, Any]]
) -> dict[str, Any]:
    """The set certifying block ``height`` and the handovers from the genesis set to it
    (``history``, as the node reads it from its store), as a receipt of that block carries
    them (spec section 6, steps 5 and 6)."""
    return {"validators": schedule.at(height).to_wire(), "validator_history": history}
