"""The rules of the edu_card types: a school issues a card (a signed credential, ``verify.py``)
and alone may suspend, reinstate, revoke or renew it (a new validity period, re-signed by the
school: a new version of the same card). Checked against the card records (``state.py``),
then applied to them. Timed checks use the block's time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ledger.crypto import PublicKey
from ledger.domains.base import Domain, TxContext, TxType
from ledger.domains.edu_card._format import (
    core_sm3,
    credential_sm3,
    iso_to_ms,
    issuer_did,
    ms_to_iso,
    signing_bytes,
)
from ledger.domains.edu_card.schemas import (
    Credential,
    IssuePayload,
    ReinstatePayload,
    RenewPayload,
    RevokePayload,
    SuspendPayload,
)
from ledger.domains.edu_card.state import CARDS
from ledger.domains.state import Overlay, StateView
from ledger.errors import LedgerError, RuleViolation

MAX_VALIDITY_MS = 10 * 366 * 24 * 3600 * 1000

SCHOOL = frozenset({"school"})


class EduCardDomain(Domain):
    name = "edu_card"

    def tx_types(self) -> Sequence[TxType[Any]]:
        return (
            TxType(
                "edu_card.issue",
                SCHOOL,
                IssuePayload,
                self.on_edu_card_issue,
                "a school issues a signed card",
            ),
            TxType(
                "edu_card.suspend",
                SCHOOL,
                SuspendPayload,
                self.on_edu_card_suspend,
                "the issuing school suspends a card",
            ),
            TxType(
                "edu_card.reinstate",
                SCHOOL,
                ReinstatePayload,
                self.on_edu_card_reinstate,
                "the issuing school lifts a suspension",
            ),
            TxType(
                "edu_card.revoke",
                SCHOOL,
                RevokePayload,
                self.on_edu_card_revoke,
                "the issuing school revokes a card",
            ),
            TxType(
                "edu_card.renew",
                SCHOOL,
                RenewPayload,
                self.on_edu_card_renew,
                "the issuing school re-signs a card for a new period",
            ),
        )

    # --- checks shared by issue and renew -----------------------------------------------------

    @staticmethod
    def _check_credential(
        ctx: TxContext, raw: Mapping[str, Any], cred: Credential
    ) -> tuple[int, int]:
        if cred.issuer_member != ctx.submitter:
            raise RuleViolation(
                f"the credential's issuer is {cred.issuer!r}; a school issues only in its own "
                f"name: {issuer_did(ctx.submitter)!r}",
                code="issuer_mismatch",
            )
        if cred.credential_status.chain_id != ctx.tx.envelope.chain_id:
            raise RuleViolation(
                f"credentialStatus.chainId is {cred.credential_status.chain_id!r}; the card's "
                f"status lives on this ledger, {ctx.tx.envelope.chain_id!r}",
                code="status_mismatch",
            )
        if cred.key_id != ctx.tx.envelope.key_id:
            raise RuleViolation(
                "the credential is signed with a key other than the one that signs this "
                f"transaction ({ctx.tx.envelope.key_id}); sign both with the school's current key",
                code="proof_key_mismatch",
            )
        try:
            PublicKey(cred.proof.public_key_hex).verify(
                cred.proof.proof_value, signing_bytes(raw), step="credential proof"
            )
        except LedgerError:
            raise RuleViolation(
                "the school's SM2 signature (proof.proofValue) does not verify over the "
                "canonical credential without its proof: the credential was altered after "
                "signing or signed with another key",
                code="bad_credential_signature",
            ) from None
        start, end = iso_to_ms(cred.valid_from), iso_to_ms(cred.valid_until)
        if end <= start:
            raise RuleViolation(
                f"validUntil ({cred.valid_until}) must be after validFrom ({cred.valid_from})",
                code="invalid_validity",
            )
        if end - start > MAX_VALIDITY_MS:
            raise RuleViolation(
                "a card is valid for at most 10 years; renew it when the period ends",
                code="invalid_validity",
            )
        if end <= ctx.time_ms:
            raise RuleViolation(
                f"validUntil ({cred.valid_until}) is already past at block time "
                f"{ms_to_iso(ctx.time_ms)}",
                code="invalid_validity",
            )
        return start, end

    @staticmethod
    def _card_of(state: StateView, ctx: TxContext, card_id: str, action: str) -> dict[str, Any]:
        record = state.get(CARDS, card_id)
        if record is None:
            raise RuleViolation(f"no card {card_id} on this ledger", code="card_not_found")
        if record["issuer"] != ctx.submitter:
            raise RuleViolation(
                f"card {card_id} was issued by {record['issuer']!r}; only the issuing school "
                f"may {action} it",
                code="not_issuer",
            )
        if record["status"] == "revoked":
            raise RuleViolation(
                f"card {card_id} is revoked; a revoked card cannot be {action}d "
                "(issue a new card instead)",
                code="card_revoked",
            )
        result: dict[str, Any] = record
        return result

    @staticmethod
    def _event(ctx: TxContext, action: str, **extra: Any) -> dict[str, Any]:
        return {
            "action": action,
            "tx_id": ctx.tx_id,
            "height": ctx.height,
            "time_ms": ctx.time_ms,
            **extra,
        }

    # --- handlers -------------------------------------------------------------------------

    def on_edu_card_issue(self, state: Overlay, ctx: TxContext, payload: IssuePayload) -> None:
        cred = payload.credential
        raw = ctx.tx.envelope.payload["credential"]
        if payload.holder_under_14 and payload.guardian_consent is not True:
            raise RuleViolation(
                "the holder is under 14: their personal information is sensitive (PIPL "
                "Art. 28) and processing it needs a parent's or guardian's consent (Art. 31); "
                "record the consent and send guardian_consent: true",
                code="guardian_consent_required",
            )
        if state.get(CARDS, cred.card_id) is not None:
            raise RuleViolation(
                f"card {cred.card_id} already exists; every card has its own random id",
                code="card_exists",
            )
        start, end = self._check_credential(ctx, raw, cred)
        version = {
            "version": 1,
            "tx_id": ctx.tx_id,
            "height": ctx.height,
            "time_ms": ctx.time_ms,
            "credential_sm3": credential_sm3(raw),
            "valid_from": cred.valid_from,
            "valid_until": cred.valid_until,
        }
        state.put(
            CARDS,
            cred.card_id,
            {
                "card_id": cred.card_id,
                "issuer": ctx.submitter,
                "holder": cred.credential_subject.id,
                "status": "active",
                "valid_from": cred.valid_from,
                "valid_until": cred.valid_until,
                "valid_from_ms": start,
                "valid_until_ms": end,
                "core_sm3": core_sm3(raw),
                "claim_digests": len(cred.credential_subject.sd),
                "holder_under_14": payload.holder_under_14,
                "guardian_consent": payload.guardian_consent is True,
                "guardian_consent_record": payload.guardian_consent_record,
                "version": 1,
                "current_tx": ctx.tx_id,
                "versions": [version],
                "events": [self._event(ctx, "issue")],
            },
        )

    def _transition(
        self,
        state: Overlay,
        ctx: TxContext,
        card_id: str,
        action: str,
        status: str,
        reason: str,
    ) -> None:
        record = self._card_of(state, ctx, card_id, action)
        if action == "suspend" and record["status"] == "suspended":
            raise RuleViolation(f"card {card_id} is already suspended", code="already_suspended")
        if action == "reinstate" and record["status"] != "suspended":
            raise RuleViolation(
                f"card {card_id} is {record['status']}, not suspended; only a suspended card "
                "can be reinstated",
                code="not_suspended",
            )
        event = self._event(ctx, action, reason=reason)
        state.put(
            CARDS,
            card_id,
            {**record, "status": status, "events": [*record["events"], event]},
        )

    def on_edu_card_suspend(self, state: Overlay, ctx: TxContext, payload: SuspendPayload) -> None:
        self._transition(state, ctx, payload.card_id, "suspend", "suspended", payload.reason)

    def on_edu_card_reinstate(
        self, state: Overlay, ctx: TxContext, payload: ReinstatePayload
    ) -> None:
        self._transition(state, ctx, payload.card_id, "reinstate", "active", payload.reason)

    def on_edu_card_revoke(self, state: Overlay, ctx: TxContext, payload: RevokePayload) -> None:
        self._transition(state, ctx, payload.card_id, "revoke", "revoked", payload.reason)

    def on_edu_card_renew(self, state: Overlay, ctx: TxContext, payload: RenewPayload) -> None:
        cred = payload.credential
        raw = ctx.tx.envelope.payload["credential"]
        if cred.card_id != payload.card_id:
            raise RuleViolation(
                f"the renewed credential is card {cred.card_id}, not {payload.card_id}",
                code="renewal_mismatch",
            )
        record = self._card_of(state, ctx, payload.card_id, "renew")
        if core_sm3(raw) != record["core_sm3"]:
            raise RuleViolation(
                "a renewal changes only validFrom, validUntil and the proof; this credential "
                "differs in its claims, holder or status entry (issue a new card instead)",
                code="renewal_mismatch",
            )
        start, end = self._check_credential(ctx, raw, cred)
        if end <= record["valid_until_ms"]:
            raise RuleViolation(
                f"the new validUntil ({cred.valid_until}) must be later than the current one "
                f"({record['valid_until']})",
                code="invalid_validity",
            )
        number = record["version"] + 1
        version = {
            "version": number,
            "tx_id": ctx.tx_id,
            "height": ctx.height,
            "time_ms": ctx.time_ms,
            "credential_sm3": credential_sm3(raw),
            "valid_from": cred.valid_from,
            "valid_until": cred.valid_until,
        }
        event = self._event(ctx, "renew", version=number, valid_until=cred.valid_until)
        state.put(
            CARDS,
            payload.card_id,
            {
                **record,
                "valid_from": cred.valid_from,
                "valid_until": cred.valid_until,
                "valid_from_ms": start,
                "valid_until_ms": end,
                "version": number,
                "current_tx": ctx.tx_id,
                "versions": [*record["versions"], version],
                "events": [*record["events"], event],
            },
        )


domain = EduCardDomain()
