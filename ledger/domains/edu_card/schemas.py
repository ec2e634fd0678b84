"""Payloads of the edu_card types, and the credential as a payload carries it (the format
itself, its patterns and helpers, is in ``_format.py``; ``_format.read_credential``
checks the same shape in plain code, for offline verifiers)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from ledger.crypto import sm3_hex
from ledger.domains.base import Payload
from ledger.domains.edu_card._format import (
    CARD_ID_RE,
    CARD_TYPES,
    CARD_URN,
    CARD_URN_RE,
    DATETIME_RE,
    HOLDER_URN_RE,
    ISSUER_RE,
    MAX_CHAIN_ID,
    MAX_DISCLOSURES,
    MAX_STATUS_PATH,
    MEMBER_ID,
    PROOF_VALUE_RE,
    PUBLIC_KEY_HEX_RE,
    SM3_HEX_RE,
    STATUS_ID_RE,
    VC_CONTEXT,
    VERIFICATION_METHOD_RE,
    card_urn,
    iso_to_ms,
    member_of_did,
    status_path,
)

CARD_ID_PATTERN = rf"^{CARD_ID_RE}$"
SCHOOL_ID_PATTERN = rf"^{MEMBER_ID}$"

Sm3Hex = Annotated[str, StringConstraints(pattern=f"^{SM3_HEX_RE}$")]
CardId = Annotated[str, StringConstraints(pattern=CARD_ID_PATTERN)]

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


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Proof(_Part):
    type: Literal["DataIntegrityProof"]
    cryptosuite: Literal["gzledger-sm2-jcs-2025"]
    verification_method: str = Field(
        alias="verificationMethod", pattern=f"^{VERIFICATION_METHOD_RE}$"
    )
    proof_purpose: Literal["assertionMethod"] = Field(alias="proofPurpose")
    public_key_hex: str = Field(alias="publicKeyHex", pattern=f"^{PUBLIC_KEY_HEX_RE}$")
    proof_value: str = Field(alias="proofValue", pattern=f"^{PROOF_VALUE_RE}$")


class CredentialSubject(_Part):
    id: str = Field(pattern=f"^{HOLDER_URN_RE}$")
    sd: list[Sm3Hex] = Field(alias="_sd", min_length=1, max_length=MAX_DISCLOSURES)

    @field_validator("sd")
    @classmethod
    def _sorted_distinct(cls, value: list[str]) -> list[str]:
        if value != sorted(set(value)):
            raise ValueError("digests must be distinct and sorted in ascending order")
        return value


class CredentialStatus(_Part):
    id: str = Field(pattern=f"^{STATUS_ID_RE}$")
    type: Literal["GzLedgerCardStatus"]
    chain_id: str = Field(alias="chainId", min_length=1, max_length=MAX_CHAIN_ID)
    status_path: str = Field(alias="statusPath", max_length=MAX_STATUS_PATH)


class Credential(_Part):
    context: list[str] = Field(alias="@context")
    id: str = Field(pattern=f"^{CARD_URN_RE}$")
    type: list[str]
    issuer: str = Field(pattern=f"^{ISSUER_RE}$")
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
    """The body of ``POST /v1/edu_card/verify``: a presented card, or the QR code naming
    one, and the disclosures the holder chose to show."""

    credential: dict[str, Any] | None = None
    qr: str | None = Field(default=None, max_length=1024)
    disclosures: list[Any] = Field(default_factory=list, max_length=MAX_DISCLOSURES)

    @model_validator(mode="after")
    def _one_of(self) -> VerifyRequest:
        if (self.credential is None) == (self.qr is None):
            raise ValueError("give either credential (the card as presented) or qr, not both")
        return self
