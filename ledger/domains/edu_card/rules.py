"""Trusted education identity cards (可信教育数字身份): docs/domains/edu_card.md.

A school issues a card as a credential shaped like a W3C Verifiable Credential 2.0 whose
claims (name, student number, ID-card number, grade, photo hash, school, birth year-month)
are salted SM3 digests, SD-JWT style: a *disclosure* is the JSON array ``[salt, name, value]``
(``salt`` at least 128 random bits, lowercase hex) and its *digest* is
``hex(SM3(C(disclosure)))`` with ``C`` the canonical JSON of ``ledger.canonical``. Only the
digests are in the credential and on the chain; the holder keeps the disclosures and reveals
the ones a verifier needs. The holder reference (``credentialSubject.id``) is the digest of
one more disclosure, ``[salt, "holder", value]``.

The credential carries the school's SM2 signature over ``C(credential without "proof")``.
``edu_card.issue`` records it; ``suspend``, ``reinstate``, ``revoke`` and ``renew`` (a new
validity period, re-signed by the school: a new version of the same card) are for the
issuing school only. State: ``edu_card.cards``, card id -> the card's record.

The pure helpers at the top (digests, signing, QR strings, status at a given time) are
shared by the rules, the HTTP routes, the demo and independent verifiers.
"""

from __future__ import annotations

import calendar
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import parse_qs, quote, urlsplit

from fastapi import APIRouter, Depends, Path, Request
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from starlette.concurrency import run_in_threadpool

from ledger.canonical import canonical, parse_json
from ledger.crypto import PublicKey, Signer, sm3_hex
from ledger.domains.base import Domain, Payload, TxContext, TxType
from ledger.domains.state import Overlay, StateView
from ledger.errors import (
    InvalidInput,
    LedgerError,
    MalformedData,
    NotFound,
    RuleViolation,
    VerificationError,
)

NAME = "edu_card"
CARDS = "edu_card.cards"

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
CARD_TYPES = ("VerifiableCredential", "EducationIdentityCard")
DID_PREFIX = "did:gzledger:"
CARD_URN = "urn:gzledger:edu-card:"
HOLDER_URN = "urn:gzledger:holder:"
STATUS_TYPE = "GzLedgerCardStatus"
PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "gzledger-sm2-jcs-2025"
SD_ALG = "sm3"
QR_SCHEME = "gzledger"

HOLDER_CLAIM = "holder"
CLAIMS = (
    "name",
    "student_number",
    "id_card_number",
    "grade",
    "photo_hash",
    "school",
    "birth_year_month",
)
MIN_SALT_HEX = 32  # 128 bits
MAX_VALIDITY_MS = 10 * 366 * 24 * 3600 * 1000
MAX_VERIFY_BODY = 256 * 1024
MAX_DISCLOSURES = 32

MEMBER_ID = r"[A-Za-z0-9][A-Za-z0-9._\-]{0,127}"
CARD_ID_RE = r"[0-9a-f]{32}"
DATETIME_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"

Sm3Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
CardId = Annotated[str, StringConstraints(pattern=rf"^{CARD_ID_RE}$")]

SuspendReason = Literal["reported_lost", "under_review", "leave_of_absence", "other"]
ReinstateReason = Literal["card_recovered", "review_cleared", "returned_to_school", "other"]
RevokeReason = Literal[
    "graduated",
    "transferred_out",
    "withdrawn",
    "lost_or_stolen",
    "issued_in_error",
    "holder_request",
    "other",
]


# --- the credential format (pure) -----------------------------------------------------------


def issuer_did(member_id: str) -> str:
    return DID_PREFIX + member_id


def member_of_did(did: str) -> str:
    return did.removeprefix(DID_PREFIX)


def card_urn(card_id: str) -> str:
    return CARD_URN + card_id


def status_path(card_id: str) -> str:
    return f"/v1/edu_card/cards/{card_id}/status"


def new_salt() -> str:
    """128 random bits from the operating system's CSPRNG, as 32 lowercase hex characters."""
    return secrets.token_hex(16)


def new_card_id() -> str:
    return secrets.token_hex(16)


def make_disclosure(name: str, value: str | int | bool, salt: str | None = None) -> list[Any]:
    return [salt if salt is not None else new_salt(), name, value]


def disclosure_digest(disclosure: Sequence[Any]) -> str:
    """``hex(SM3(C([salt, name, value])))``."""
    return sm3_hex(canonical(list(disclosure)))


def iso_to_ms(text: str) -> int:
    """``YYYY-MM-DDTHH:MM:SSZ`` (UTC) to milliseconds since the epoch; ValueError if bad."""
    if not re.fullmatch(DATETIME_RE, text):
        raise ValueError(f"{text!r} is not a UTC date-time YYYY-MM-DDTHH:MM:SSZ")
    parsed = time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    return calendar.timegm(parsed) * 1000


def ms_to_iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


def without_proof(credential: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in credential.items() if k != "proof"}


def signing_bytes(credential: Mapping[str, Any]) -> bytes:
    """What the school signs: ``C(credential without "proof")``."""
    return canonical(without_proof(credential))


def credential_sm3(credential: Mapping[str, Any]) -> str:
    """The fingerprint of one version of a card: ``hex(SM3(C(credential)))``, proof included."""
    return sm3_hex(canonical(dict(credential)))


def core_sm3(credential: Mapping[str, Any]) -> str:
    """Everything a renewal must keep: the credential without validity period and proof."""
    return sm3_hex(
        canonical(
            {k: v for k, v in credential.items() if k not in {"proof", "validFrom", "validUntil"}}
        )
    )


def sign_credential(unsigned: Mapping[str, Any], signer: Signer, member_id: str) -> dict[str, Any]:
    """Add the school's proof to a credential (any old proof is replaced)."""
    body = without_proof(unsigned)
    pk = signer.public_key
    proof = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "verificationMethod": f"{issuer_did(member_id)}#{pk.key_id}",
        "proofPurpose": "assertionMethod",
        "publicKeyHex": pk.hex,
        "proofValue": signer.sign(canonical(body)),
    }
    return {**body, "proof": proof}


@dataclass(frozen=True)
class CardDraft:
    """A card as the school hands it to the holder: the signed credential (digests only,
    what goes on the chain) and the disclosures (plain values, kept by the holder)."""

    card_id: str
    credential: dict[str, Any]
    disclosures: dict[str, list[Any]]
    holder_disclosure: list[Any]


def new_card(
    *,
    signer: Signer,
    school: str,
    chain_id: str,
    claims: Mapping[str, str | int | bool],
    holder: str,
    valid_from: str,
    valid_until: str,
    card_id: str | None = None,
) -> CardDraft:
    """Build and sign a card; salts come from the CSPRNG. ``holder`` is the value the holder
    reference commits to (for example the national student-status number)."""
    cid = card_id or new_card_id()
    disclosures = {name: make_disclosure(name, value) for name, value in claims.items()}
    holder_disclosure = make_disclosure(HOLDER_CLAIM, holder)
    unsigned = {
        "@context": [VC_CONTEXT],
        "id": card_urn(cid),
        "type": list(CARD_TYPES),
        "issuer": issuer_did(school),
        "validFrom": valid_from,
        "validUntil": valid_until,
        "credentialSubject": {
            "id": HOLDER_URN + disclosure_digest(holder_disclosure),
            "_sd": sorted(disclosure_digest(d) for d in disclosures.values()),
        },
        "credentialStatus": {
            "id": card_urn(cid) + "#status",
            "type": STATUS_TYPE,
            "chainId": chain_id,
            "statusPath": status_path(cid),
        },
        "_sd_alg": SD_ALG,
    }
    return CardDraft(cid, sign_credential(unsigned, signer, school), disclosures, holder_disclosure)


def renewed(
    credential: Mapping[str, Any], signer: Signer, school: str, valid_from: str, valid_until: str
) -> dict[str, Any]:
    """The next version of a card: same claims and holder, a new period, signed again."""
    body = {**without_proof(credential), "validFrom": valid_from, "validUntil": valid_until}
    return sign_credential(body, signer, school)


def qr_payload(card_id: str, tx_id: str, ledger_url: str) -> str:
    """``gzledger://card/<card id>?tx=<tx id of the card's current version>&u=<ledger URL>``."""
    return f"{QR_SCHEME}://card/{card_id}?tx={tx_id}&u={quote(ledger_url.rstrip('/'), safe='')}"


@dataclass(frozen=True)
class QrCode:
    card_id: str
    tx_id: str
    ledger_url: str


def parse_qr(text: str) -> QrCode:
    bad = InvalidInput(
        "the QR payload must be gzledger://card/<32 hex card id>?tx=<64 hex tx id>&u=<ledger URL>",
        code="bad_qr",
    )
    if not isinstance(text, str) or len(text) > 1024:
        raise bad
    parts = urlsplit(text)
    if parts.scheme != QR_SCHEME or parts.netloc != "card" or parts.fragment:
        raise bad
    card_id = parts.path.removeprefix("/")
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    txs, urls = query.get("tx", []), query.get("u", [])
    if (
        not re.fullmatch(CARD_ID_RE, card_id)
        or len(txs) != 1
        or not re.fullmatch(r"[0-9a-f]{64}", txs[0])
        or len(urls) > 1
        or set(query) - {"tx", "u"}
    ):
        raise bad
    return QrCode(card_id, txs[0], urls[0] if urls else "")


def card_status(record: Mapping[str, Any], time_ms: int) -> tuple[str, str]:
    """The card's status at ``time_ms`` (a block time) and a sentence that explains it."""
    status = record["status"]
    if status == "revoked":
        last = _last_event(record, "revoke")
        return "revoked", (
            f"the school revoked this card (reason: {last.get('reason', 'unknown')}) "
            f"at block {last.get('height')}"
        )
    if status == "suspended":
        last = _last_event(record, "suspend")
        return "suspended", (
            f"the school suspended this card (reason: {last.get('reason', 'unknown')}) "
            f"at block {last.get('height')}; it is not valid until the school reinstates it"
        )
    if time_ms >= record["valid_until_ms"]:
        return "expired", f"the card expired at {record['valid_until']}"
    if time_ms < record["valid_from_ms"]:
        return "not_yet_valid", f"the card is valid only from {record['valid_from']}"
    return "active", (
        f"the card is active: issued by {record['issuer']}, valid from "
        f"{record['valid_from']} until {record['valid_until']}"
    )


def _last_event(record: Mapping[str, Any], action: str) -> Mapping[str, Any]:
    for event in reversed(record["events"]):
        if event["action"] == action:
            result: Mapping[str, Any] = event
            return result
    return {}


# --- payload schemas --------------------------------------------------------------------------


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Proof(_Part):
    type: Literal["DataIntegrityProof"]
    cryptosuite: Literal["gzledger-sm2-jcs-2025"]
    verification_method: str = Field(
        alias="verificationMethod", pattern=rf"^did:gzledger:{MEMBER_ID}#[0-9a-f]{{64}}$"
    )
    proof_purpose: Literal["assertionMethod"] = Field(alias="proofPurpose")
    public_key_hex: str = Field(alias="publicKeyHex", pattern=r"^04[0-9a-f]{128}$")
    proof_value: str = Field(alias="proofValue", pattern=r"^[0-9a-f]{16,160}$")


class CredentialSubject(_Part):
    id: str = Field(pattern=r"^urn:gzledger:holder:[0-9a-f]{64}$")
    sd: list[Sm3Hex] = Field(alias="_sd", min_length=1, max_length=MAX_DISCLOSURES)

    @field_validator("sd")
    @classmethod
    def _sorted_distinct(cls, value: list[str]) -> list[str]:
        if value != sorted(set(value)):
            raise ValueError("digests must be distinct and sorted in ascending order")
        return value


class CredentialStatus(_Part):
    id: str = Field(pattern=rf"^urn:gzledger:edu-card:{CARD_ID_RE}#status$")
    type: Literal["GzLedgerCardStatus"]
    chain_id: str = Field(alias="chainId", min_length=1, max_length=128)
    status_path: str = Field(alias="statusPath", max_length=200)


class Credential(_Part):
    context: list[str] = Field(alias="@context")
    id: str = Field(pattern=rf"^urn:gzledger:edu-card:{CARD_ID_RE}$")
    type: list[str]
    issuer: str = Field(pattern=rf"^did:gzledger:{MEMBER_ID}$")
    valid_from: str = Field(alias="validFrom", pattern=DATETIME_RE)
    valid_until: str = Field(alias="validUntil", pattern=DATETIME_RE)
    credential_subject: CredentialSubject = Field(alias="credentialSubject")
    credential_status: CredentialStatus = Field(alias="credentialStatus")
    sd_alg: Literal["sm3"] = Field(alias="_sd_alg")
    proof: Proof

    @field_validator("context")
    @classmethod
    def _context(cls, value: list[str]) -> list[str]:
        if value != [VC_CONTEXT]:
            raise ValueError(f"must be [{VC_CONTEXT!r}]")
        return value

    @field_validator("type")
    @classmethod
    def _type(cls, value: list[str]) -> list[str]:
        if value != list(CARD_TYPES):
            raise ValueError(f"must be {list(CARD_TYPES)}")
        return value

    @field_validator("valid_from", "valid_until")
    @classmethod
    def _datetime(cls, value: str) -> str:
        iso_to_ms(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Credential:
        cid = self.card_id
        if self.credential_status.id != card_urn(cid) + "#status":
            raise ValueError("credentialStatus.id must be the card's id followed by #status")
        if self.credential_status.status_path != status_path(cid):
            raise ValueError(f"credentialStatus.statusPath must be {status_path(cid)}")
        if self.proof.verification_method.split("#")[0] != self.issuer:
            raise ValueError("proof.verificationMethod must name a key of the issuer")
        if self.proof.verification_method.split("#")[1] != self.key_id:
            raise ValueError("proof.verificationMethod must end with the key_id of publicKeyHex")
        return self

    @property
    def card_id(self) -> str:
        return self.id.removeprefix(CARD_URN)

    @property
    def key_id(self) -> str:
        return sm3_hex(bytes.fromhex(self.proof.public_key_hex))

    @property
    def issuer_member(self) -> str:
        return member_of_did(self.issuer)


class IssuePayload(Payload):
    v: Literal[1] = 1
    credential: Credential
    holder_under_14: bool
    guardian_consent: bool | None = None
    guardian_consent_record: Sm3Hex | None = None


class SuspendPayload(Payload):
    v: Literal[1] = 1
    card_id: CardId
    reason: SuspendReason


class ReinstatePayload(Payload):
    v: Literal[1] = 1
    card_id: CardId
    reason: ReinstateReason


class RevokePayload(Payload):
    v: Literal[1] = 1
    card_id: CardId
    reason: RevokeReason


class RenewPayload(Payload):
    v: Literal[1] = 1
    card_id: CardId
    credential: Credential


class VerifyRequest(_Part):
    credential: dict[str, Any] | None = None
    qr: str | None = Field(default=None, max_length=1024)
    disclosures: list[Any] = Field(default_factory=list, max_length=MAX_DISCLOSURES)

    @model_validator(mode="after")
    def _one_of(self) -> VerifyRequest:
        if (self.credential is None) == (self.qr is None):
            raise ValueError("give either credential (the card as presented) or qr, not both")
        return self


# --- rules -------------------------------------------------------------------------------------

SCHOOL = frozenset({"school"})


class EduCardDomain(Domain):
    name: ClassVar[str] = NAME

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

    # --- HTTP -----------------------------------------------------------------------------


domain = EduCardDomain()


# --- queries and verification ---------------------------------------------------------------

CARD_ID_PATH = Path(pattern=rf"^{CARD_ID_RE}$", description="the card's 128-bit random id")
READERS = frozenset({"school", "auditor"})


def _public_view(record: Mapping[str, Any], tip_time: int) -> dict[str, Any]:
    status, why = card_status(record, tip_time)
    return {
        "card_id": record["card_id"],
        "issuer": record["issuer"],
        "issuer_did": issuer_did(record["issuer"]),
        "status": status,
        "status_explained": why,
        "recorded_status": record["status"],
        "valid_from": record["valid_from"],
        "valid_until": record["valid_until"],
        "version": record["version"],
        "current_tx": record["current_tx"],
        "versions": record["versions"],
        "events": record["events"],
    }


def _stored_payload(node: Any, tx_id: str) -> Mapping[str, Any]:
    stored = node.store.transaction(tx_id)
    if stored is None:
        raise NotFound(f"transaction {tx_id} is not on the ledger", code="tx_not_found")
    payload: Mapping[str, Any] = parse_json(stored.leaf)["envelope"]["payload"]
    return payload


def _record(node: Any, card_id: str) -> Mapping[str, Any]:
    record: Mapping[str, Any] | None = node.domain_state.get(CARDS, card_id)
    if record is None:
        raise NotFound(f"no card {card_id} on this ledger", code="card_not_found")
    return record


class _Steps:
    def __init__(self) -> None:
        self.steps: list[dict[str, str]] = []

    def add(self, step: str, passed: bool, detail: str) -> bool:
        self.steps.append(
            {"step": step, "outcome": "passed" if passed else "failed", "detail": detail}
        )
        return passed

    def skip(self, step: str, detail: str) -> None:
        self.steps.append({"step": step, "outcome": "skipped", "detail": detail})

    @property
    def all_passed(self) -> bool:
        return bool(self.steps) and all(s["outcome"] == "passed" for s in self.steps)


def _check_disclosure(
    steps: _Steps, i: int, item: Any, cred: Credential, seen: set[str]
) -> tuple[str, Any] | None:
    step = f"disclosure[{i}]"
    if (
        not isinstance(item, list)
        or len(item) != 3
        or not isinstance(item[0], str)
        or not isinstance(item[1], str)
        or not isinstance(item[2], str | int | bool)
        or (isinstance(item[2], int) and not isinstance(item[2], bool) and abs(item[2]) >= 2**53)
    ):
        steps.add(step, False, "a disclosure is a list [salt, claim name, value]; this is not")
        return None
    salt, name, value = item
    if not re.fullmatch(r"[0-9a-f]+", salt) or len(salt) < MIN_SALT_HEX or len(salt) % 2:
        steps.add(
            step,
            False,
            f"the salt of claim {name!r} is not at least 128 bits of lowercase hex, so the "
            "value behind its digest could be guessed; it is not accepted",
        )
        return None
    digest = disclosure_digest(item)
    if name in seen:
        steps.add(step, False, f"claim {name!r} is disclosed twice")
        return None
    seen.add(name)
    if name == HOLDER_CLAIM:
        ok = cred.credential_subject.id == HOLDER_URN + digest
        steps.add(
            step,
            ok,
            "the holder reference matches the card's subject: this card was issued to this holder"
            if ok
            else "the holder value does not match the card's subject reference: it was "
            "altered or belongs to another card",
        )
    else:
        ok = digest in cred.credential_subject.sd
        steps.add(
            step,
            ok,
            f"claim {name!r} = {value!r} matches digest {digest[:12]}… signed into the card"
            if ok
            else f"claim {name!r} = {value!r} matches none of the card's digests: it was "
            "altered or belongs to another card",
        )
    return (name, value) if ok else None


def verify_presented(
    node: Any, credential: Any, disclosures: Sequence[Any], steps: _Steps | None = None
) -> dict[str, Any]:
    """Check a presented card step by step (see docs/domains/edu_card.md, "Verify")."""
    from ledger.verify import verify_receipt

    steps = steps or _Steps()
    tip = node.tip
    result: dict[str, Any] = {
        "valid": False,
        "card_id": None,
        "issuer": None,
        "status": None,
        "disclosed": {},
        "checked_at": {
            "height": tip.height,
            "block_time": tip.timestamp,
            "block_time_utc": ms_to_iso(tip.timestamp),
            "block_hash": tip.block_hash,
        },
    }
    try:
        cred = Credential.model_validate(credential)
        canonical(credential)
    except (ValidationError, LedgerError) as exc:
        problem = (
            "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                for e in exc.errors(include_url=False)[:3]
            )
            if isinstance(exc, ValidationError)
            else exc.message
        )
        steps.add("credential_shape", False, f"this is not an education card: {problem}")
        result["steps"] = steps.steps
        return result
    steps.add(
        "credential_shape",
        True,
        f"the card is a well-formed education identity card, id {cred.card_id}",
    )
    result["card_id"], result["issuer"] = cred.card_id, cred.issuer_member

    # the school's signature
    registry = node.registry
    key = registry.keys.get(cred.key_id)
    school = registry.members.get(cred.issuer_member)
    if key is None or key.member_id != cred.issuer_member or school is None:
        steps.add(
            "school_signature",
            False,
            f"the key that signed the card is not a key the ledger registered for "
            f"{cred.issuer_member!r}",
        )
    elif "school" not in school.roles:
        steps.add(
            "school_signature", False, f"{cred.issuer_member!r} is not a school on this ledger"
        )
    else:
        try:
            PublicKey(cred.proof.public_key_hex).verify(
                cred.proof.proof_value, signing_bytes(credential), step="proof"
            )
            steps.add(
                "school_signature",
                True,
                f"the card carries a valid SM2 signature of school {cred.issuer_member!r} "
                f"(key {cred.key_id[:12]}…), so nothing in it changed after the school signed",
            )
        except VerificationError:
            steps.add(
                "school_signature",
                False,
                f"the signature does not match the card's contents: the card was altered "
                f"after school {cred.issuer_member!r} signed it",
            )

    # the card and this version of it on the ledger
    record: Mapping[str, Any] | None = node.domain_state.get(CARDS, cred.card_id)
    version: Mapping[str, Any] | None = None
    if record is None or record["issuer"] != cred.issuer_member:
        steps.add(
            "recorded_on_ledger",
            False,
            f"this ledger has no card {cred.card_id} issued by {cred.issuer_member!r}",
        )
    else:
        fingerprint = credential_sm3(credential)
        version = next((v for v in record["versions"] if v["credential_sm3"] == fingerprint), None)
        if version is None:
            steps.add(
                "recorded_on_ledger",
                False,
                "the ledger holds this card, but not this exact credential: it differs from "
                "every version the school recorded",
            )
        elif version["version"] != record["version"]:
            steps.add(
                "recorded_on_ledger",
                False,
                f"this is version {version['version']} of the card; the school renewed it at "
                f"block {record['versions'][-1]['height']} (now valid until "
                f"{record['valid_until']}): ask the holder for the renewed card",
            )
        else:
            steps.add(
                "recorded_on_ledger",
                True,
                f"this exact credential is the card's current version ({version['version']}), "
                f"recorded at block {version['height']}",
            )

    # the receipt of the transaction that recorded this version
    if version is None:
        steps.skip("issuance_receipt", "no recorded version of this card to prove")
    else:
        try:
            receipt = node.receipt(version["tx_id"])
            verified = verify_receipt(receipt, node.genesis)
            env = verified.transaction.envelope
            same = (
                env.submitter == cred.issuer_member
                and env.type in {"edu_card.issue", "edu_card.renew"}
                and canonical(env.payload.get("credential")) == canonical(credential)
            )
            steps.add(
                "issuance_receipt",
                same,
                f"the validators certified block {verified.header.height} "
                f"({ms_to_iso(verified.header.timestamp)}) holding transaction "
                f"{verified.tx_id[:12]}… by which {env.submitter!r} recorded this exact card; "
                "the receipt checks against the ledger's genesis"
                if same
                else "the receipt is valid but its transaction did not record this card",
            )
            result["receipt_tx_id"] = verified.tx_id
        except LedgerError as exc:
            steps.add(
                "issuance_receipt",
                False,
                f"the receipt of the recording transaction does not verify: {exc.message}",
            )

    # disclosures
    seen: set[str] = set()
    disclosed: dict[str, Any] = {}
    if not disclosures:
        steps.add(
            "disclosures", True, "the holder disclosed no claims; only the card itself is checked"
        )
    for i, item in enumerate(disclosures):
        got = _check_disclosure(steps, i, item, cred, seen)
        if got is not None:
            disclosed[got[0]] = got[1]
    result["disclosed"] = disclosed

    # status at the newest block, and the credential's own period
    if record is None:
        steps.skip("status", "the card is not on this ledger")
    else:
        status, why = card_status(record, tip.timestamp)
        result["status"] = status
        steps.add(
            "status",
            status == "active",
            f"at the newest block ({tip.height}, {ms_to_iso(tip.timestamp)}) {why}",
        )
    now = node.clock()
    start, end = iso_to_ms(cred.valid_from), iso_to_ms(cred.valid_until)
    steps.add(
        "validity_period",
        start <= now < end,
        f"the card's own period ({cred.valid_from} to {cred.valid_until}) "
        + ("covers" if start <= now < end else "does not cover")
        + f" the time of this check ({ms_to_iso(now)})",
    )
    result["valid"] = steps.all_passed
    result["steps"] = steps.steps
    return result


def _verify(node: Any, request: VerifyRequest) -> dict[str, Any]:
    steps = _Steps()
    credential: Any = request.credential
    if request.qr is not None:
        qr = parse_qr(request.qr)
        record = _record(node, qr.card_id)
        version = next((v for v in record["versions"] if v["tx_id"] == qr.tx_id), None)
        if version is None:
            steps.add(
                "qr_lookup",
                False,
                f"the QR code names transaction {qr.tx_id[:12]}…, which recorded no version "
                f"of card {qr.card_id}",
            )
            return {"valid": False, "card_id": qr.card_id, "disclosed": {}, "steps": steps.steps}
        credential = _stored_payload(node, qr.tx_id)["credential"]
        steps.add(
            "qr_lookup",
            True,
            f"the QR code names card {qr.card_id}; the ledger holds version "
            f"{version['version']} of it, recorded by transaction {qr.tx_id[:12]}…",
        )
    return verify_presented(node, credential, request.disclosures, steps)


def _router() -> APIRouter:
    from api.domain_support import authenticated, node_of, read_body, require_roles
    from ledger.request_auth import Forbidden

    router = APIRouter(prefix="/v1/edu_card", tags=["edu_card"])

    @router.get("/cards/{card_id}")
    def card(request: Request, card_id: str = CARD_ID_PATH) -> dict[str, Any]:
        """A card's public record: status at the newest block, validity, versions, events,
        and the current credential (claim digests only)."""
        node = node_of(request)
        record = _record(node, card_id)
        view = _public_view(record, node.tip.timestamp)
        view["credential"] = _stored_payload(node, record["current_tx"])["credential"]
        view["checked_at"] = {"height": node.tip.height, "block_time": node.tip.timestamp}
        return view

    @router.get("/cards/{card_id}/status")
    def status(request: Request, card_id: str = CARD_ID_PATH) -> dict[str, Any]:
        """The card's status at the newest block (what credentialStatus.statusPath names)."""
        node = node_of(request)
        record = _record(node, card_id)
        tip = node.tip
        state, why = card_status(record, tip.timestamp)
        return {
            "card_id": card_id,
            "issuer": record["issuer"],
            "status": state,
            "status_explained": why,
            "valid_from": record["valid_from"],
            "valid_until": record["valid_until"],
            "version": record["version"],
            "current_tx": record["current_tx"],
            "height": tip.height,
            "block_time": tip.timestamp,
            "block_time_utc": ms_to_iso(tip.timestamp),
        }

    @router.get("/cards/{card_id}/qr")
    def qr(request: Request, card_id: str = CARD_ID_PATH) -> dict[str, Any]:
        """The compact string to print as the card's QR code."""
        node = node_of(request)
        record = _record(node, card_id)
        base = str(request.base_url).rstrip("/")
        return {
            "card_id": card_id,
            "tx_id": record["current_tx"],
            "ledger_url": base,
            "qr": qr_payload(card_id, record["current_tx"], base),
        }

    @router.get("/stats")
    def stats(request: Request) -> dict[str, Any]:
        """Counts of cards by school and by status at the newest block."""
        node = node_of(request)
        tip_time = node.tip.timestamp
        by_status: dict[str, int] = {}
        by_school: dict[str, dict[str, int]] = {}
        for _, record in node.domain_state.items(CARDS):
            state, _why = card_status(record, tip_time)
            by_status[state] = by_status.get(state, 0) + 1
            school = by_school.setdefault(record["issuer"], {})
            school[state] = school.get(state, 0) + 1
        return {
            "cards": sum(by_status.values()),
            "by_status": dict(sorted(by_status.items())),
            "by_school": {k: dict(sorted(v.items())) for k, v in sorted(by_school.items())},
            "height": node.tip.height,
        }

    @router.get("/schools/{school}/cards")
    def school_cards(
        request: Request,
        school: str = Path(pattern=rf"^{MEMBER_ID}$"),
        member: Any = Depends(authenticated),
    ) -> dict[str, Any]:
        """Restricted: the cards a school issued, with guardian-consent flags; for that
        school itself and for auditors (SM2-signed request, see docs/access.md)."""
        require_roles(member, READERS, "a school's card register")
        if "auditor" not in member.roles and member.id != school:
            raise Forbidden(
                f"the card register of {school!r} is for that school and for auditors; "
                f"{member.id!r} may read only its own"
            )
        node = node_of(request)
        tip_time = node.tip.timestamp
        cards = []
        for card_id, record in sorted(node.domain_state.items(CARDS)):
            if record["issuer"] != school:
                continue
            state, _why = card_status(record, tip_time)
            cards.append(
                {
                    "card_id": card_id,
                    "status": state,
                    "valid_from": record["valid_from"],
                    "valid_until": record["valid_until"],
                    "version": record["version"],
                    "holder_under_14": record["holder_under_14"],
                    "guardian_consent": record["guardian_consent"],
                    "guardian_consent_record": record["guardian_consent_record"],
                    "issued_tx": record["versions"][0]["tx_id"],
                    "current_tx": record["current_tx"],
                }
            )
        return {"school": school, "count": len(cards), "cards": cards, "height": node.tip.height}

    @router.post("/verify")
    async def verify(request: Request) -> dict[str, Any]:
        """Verify a presented card: {"credential": {...} | "qr": "gzledger://card/...",
        "disclosures": [[salt, name, value], ...]} -> the steps checked, each with its
        outcome in plain words, and the disclosed claims that matched."""
        node = node_of(request)
        value = parse_json(await read_body(request, MAX_VERIFY_BODY))
        if not isinstance(value, dict):
            raise MalformedData('the body must be a JSON object {"credential" | "qr", ...}')
        try:
            parsed = VerifyRequest.model_validate(value)
        except ValidationError as exc:
            problems = [
                {"field": ".".join(str(p) for p in e["loc"]) or "body", "problem": e["msg"]}
                for e in exc.errors(include_url=False, include_context=False, include_input=False)
            ]
            raise MalformedData(
                f"verify request: {problems[0]['field']}: {problems[0]['problem']}",
                problems=problems,
            ) from None
        result: dict[str, Any] = await run_in_threadpool(_verify, node, parsed)
        return result

    return router
