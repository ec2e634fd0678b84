"""The evidence domain's state: deposits and their custody, derived from the chain alone.

Namespace ``evidence.deposits``, key = deposit id = the deposit's transaction id::

    {"deposit_id", "depositor", "custodian", "files_root", "file_count",
     "metadata_commitment", "height", "time_ms", "status": "active" | "processing_ceased",
     "sealed_by": court id | None, "custody": [event, ...]}

with each custody event ``{"seq", "kind", "by", "height", "time_ms", "tx_id"[, "to"]
[, "details_commitment"]}``, and ``evidence.stats`` / ``totals`` with the number of deposits
and files. ``time_ms`` is the block timestamp: the deposit time the validators attest.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ledger.domains.state import StateView

DEPOSITS = "evidence.deposits"
STATS = "evidence.stats"


def deposit(view: StateView, deposit_id: str) -> dict[str, Any] | None:
    """The deposit record, or None when no deposit has this id."""
    record: dict[str, Any] | None = view.get(DEPOSITS, deposit_id)
    return record


def deposits(view: StateView) -> Iterator[dict[str, Any]]:
    """Every deposit record, in the state's order."""
    for _, record in view.items(DEPOSITS):
        yield record


def totals(view: StateView) -> dict[str, int]:
    """``{"deposits", "files"}``: how many deposits and files the chain holds."""
    counted: dict[str, int] | None = view.get(STATS, "totals")
    return counted or {"deposits": 0, "files": 0}
