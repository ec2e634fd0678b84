"""The evidence domain's rules: deposits and their custody (records: see state.py).

Who may record which custody event (``evidence.custody``, roles depositor, court, auditor):

============================  ===========================================================
kind                          who
============================  ===========================================================
``access``                    the depositor, the current custodian, any court, any auditor
``transfer``                  the current custodian or any court (not while sealed, not
                              after processing ceased)
``seal``                      a court
``unseal``                    the court that sealed it
``cease_processing``          the depositor, the current custodian or a court (PIPL Art. 47:
                              the record stays, processing stops except storage and security)
============================  ===========================================================

After ``cease_processing`` only courts and auditors may record an access; while sealed, only
courts and auditors may. Nothing is ever deleted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ledger.domains.base import Domain, TxContext, TxType
from ledger.domains.evidence.schemas import CustodyPayload, DepositPayload
from ledger.domains.evidence.state import DEPOSITS, STATS, deposit, totals
from ledger.domains.state import Overlay
from ledger.errors import RuleViolation

DEPOSIT_ROLES = frozenset({"depositor", "court"})
CUSTODY_ROLES = frozenset({"depositor", "court", "auditor"})

# which roles may record which custody kind at all (the deposit's own relations come on top)
KIND_ROLES: Mapping[str, frozenset[str]] = {
    "access": frozenset({"depositor", "court", "auditor"}),
    "transfer": frozenset({"depositor", "court"}),
    "seal": frozenset({"court"}),
    "unseal": frozenset({"court"}),
    "cease_processing": frozenset({"depositor", "court"}),
}


def _violation(message: str, code: str, **details: Any) -> RuleViolation:
    return RuleViolation(message, code=code, **details)


class EvidenceDomain(Domain):
    name: ClassVar[str] = "evidence"

    def tx_types(self) -> Sequence[TxType[Any]]:
        return (
            TxType(
                "evidence.deposit",
                DEPOSIT_ROLES,
                DepositPayload,
                self.on_evidence_deposit,
                "deposit evidence: the files' Merkle root, their number, a commitment to the "
                "restricted metadata",
            ),
            TxType(
                "evidence.custody",
                CUSTODY_ROLES,
                CustodyPayload,
                self.on_evidence_custody,
                "a custody event: access, transfer, seal, unseal, cease_processing",
            ),
        )

    # --- evidence.deposit ---------------------------------------------------------------

    def on_evidence_deposit(self, state: Overlay, ctx: TxContext, payload: DepositPayload) -> None:
        deposit_id = ctx.tx_id
        if deposit(state, deposit_id) is not None:  # tx ids are unique; belt and braces
            raise _violation(f"deposit {deposit_id} exists already", "duplicate_deposit")
        state.put(
            DEPOSITS,
            deposit_id,
            {
                "deposit_id": deposit_id,
                "depositor": ctx.submitter,
                "custodian": ctx.submitter,
                "files_root": payload.files_root,
                "file_count": payload.file_count,
                "metadata_commitment": payload.metadata_commitment,
                "height": ctx.height,
                "time_ms": ctx.time_ms,
                "status": "active",
                "sealed_by": None,
                "custody": [],
            },
        )
        counted = totals(state)
        state.put(
            STATS,
            "totals",
            {
                "deposits": counted["deposits"] + 1,
                "files": counted["files"] + payload.file_count,
            },
        )

    # --- evidence.custody ---------------------------------------------------------------

    def on_evidence_custody(self, state: Overlay, ctx: TxContext, payload: CustodyPayload) -> None:
        record = deposit(state, payload.deposit_id)
        if record is None:
            raise _violation(
                f"no evidence deposit {payload.deposit_id} on this ledger; the deposit id is "
                "the transaction id of its evidence.deposit",
                "unknown_deposit",
                deposit_id=payload.deposit_id,
            )
        who, kind = ctx.submitter, payload.kind
        roles = set(ctx.roles)
        if not roles & KIND_ROLES[kind]:
            raise _violation(
                f"a {kind} event may be recorded by roles {sorted(KIND_ROLES[kind])}; "
                f"{who!r} has {sorted(roles)}",
                "custody_kind_not_allowed",
            )
        court, auditor = "court" in roles, "auditor" in roles
        related = who in (record["depositor"], record["custodian"])
        ceased = record["status"] == "processing_ceased"
        sealed_by = record["sealed_by"]
        updated = dict(record)

        if kind == "access":
            if not (related or court or auditor):
                raise self._not_custodian(who, record)
            if ceased and not (court or auditor):
                raise self._ceased(payload.deposit_id)
            if sealed_by is not None and not (court or auditor):
                raise self._sealed(payload.deposit_id, sealed_by)
        elif kind == "transfer":
            if who != record["custodian"] and not court:
                raise self._not_custodian(who, record)
            if ceased:
                raise self._ceased(payload.deposit_id)
            if sealed_by is not None:
                raise self._sealed(payload.deposit_id, sealed_by)
            if payload.to == record["custodian"]:
                raise _violation(
                    f"{payload.to!r} is already the custodian of this evidence",
                    "transfer_to_self",
                )
            updated["custodian"] = payload.to
        elif kind == "seal":
            if sealed_by is not None:
                raise _violation(
                    f"this evidence is already sealed by {sealed_by!r}", "already_sealed"
                )
            updated["sealed_by"] = who
        elif kind == "unseal":
            if sealed_by is None:
                raise _violation("this evidence is not sealed", "not_sealed")
            if sealed_by != who:
                raise _violation(
                    f"only the sealing court {sealed_by!r} may unseal this evidence",
                    "not_sealing_court",
                )
            updated["sealed_by"] = None
        else:  # cease_processing
            if not (related or court):
                raise self._not_custodian(who, record)
            if ceased:
                raise _violation("processing of this evidence has already ceased", "already_ceased")
            updated["status"] = "processing_ceased"

        event: dict[str, Any] = {
            "seq": len(record["custody"]),
            "kind": kind,
            "by": who,
            "height": ctx.height,
            "time_ms": ctx.time_ms,
            "tx_id": ctx.tx_id,
        }
        if payload.to is not None:
            event["to"] = payload.to
        if payload.details_commitment is not None:
            event["details_commitment"] = payload.details_commitment
        updated["custody"] = [*record["custody"], event]
        state.put(DEPOSITS, payload.deposit_id, updated)

    @staticmethod
    def _not_custodian(who: str, record: Mapping[str, Any]) -> RuleViolation:
        return _violation(
            f"{who!r} is neither the depositor ({record['depositor']!r}) nor the custodian "
            f"({record['custodian']!r}) of this evidence",
            "not_custodian",
        )

    @staticmethod
    def _ceased(deposit_id: str) -> RuleViolation:
        return _violation(
            f"processing of evidence {deposit_id} has ceased (PIPL Art. 47): it is kept and "
            "secured, and only courts and auditors may still access it",
            "processing_ceased",
        )

    @staticmethod
    def _sealed(deposit_id: str, court: str) -> RuleViolation:
        return _violation(
            f"evidence {deposit_id} is sealed by {court!r}: only courts and auditors may "
            "access it, and it cannot be transferred until that court unseals it",
            "evidence_sealed",
        )


domain = EvidenceDomain()
