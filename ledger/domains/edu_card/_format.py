"""The card's credential format: what a school signs and a holder presents (identifiers,
dates, disclosures and their digests, the school's proof, the QR code), how to build one, and
how to read one (:func:`read_credential`, its shape checked field by field in plain code).
Issuing (``new_card``, ``renewed``), the rules, the views and the offline check
(``verify.py``) all use it. Needs only the crypto dependencies.

A card is a credential shaped like a W3C Verifiable Credential 2.0 whose claims are salted
SM3 digests, SD-JWT style: a *disclosure* is the JSON array ``[salt, name, value]`` (``salt``
at least 128 random bits, lowercase hex) and its *digest* is ``hex(SM3(C(disclosure)))``
with ``C`` the canonical JSON of ``ledger.canonical``. The holder reference
(``credentialSubject.id``) is the digest of one more disclosure, ``[salt, "holder", value]``.
The school's SM2 signature (a ``DataIntegrityProof``) covers ``C(credential without
"proof")``. The QR code of a card is a link to the portal's card verification page,
``<public URL>/verify/card?card=<card id>&tx=<tx id>``; the older form
``gzledger://card/<card id>?tx=<tx id>&u=<ledger URL>`` is still read.
"""

from __future__ import annotations

import calendar
import re
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ledger.canonical import canonical
from ledger.crypto import Signer, sm3_hex
from ledger.errors import InvalidInput, VerificationError

VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
CARD_TYPES = ("VerifiableCredential", "EducationIdentityCard")
DID_PREFIX = "did:gzledger:"
CARD_URN = "urn:gzledger:edu-card:"
HOLDER_URN = "urn:gzledger:holder:"
STATUS_TYPE = "GzLedgerCardStatus"
PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "gzledger-sm2-jcs-2025"
PROOF_PURPOSE = "assertionMethod"
SD_ALG = "sm3"
QR_SCHEME = "gzledger"  # the older QR form, still read
CARD_PAGE = "/verify/card"  # the portal's card verification page, which a card's QR opens

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
MAX_DISCLOSURES = 32
MAX_CHAIN_ID = 128
MAX_STATUS_PATH = 200

MEMBER_ID = r"[A-Za-z0-9][A-Za-z0-9._\-]{0,127}"
CARD_ID_RE = r"[0-9a-f]{32}"
SM3_HEX_RE = r"[0-9a-f]{64}"
DATETIME_RE = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$"
CARD_URN_RE = rf"urn:gzledger:edu-card:{CARD_ID_RE}"
HOLDER_URN_RE = rf"urn:gzledger:holder:{SM3_HEX_RE}"
STATUS_ID_RE = rf"urn:gzledger:edu-card:{CARD_ID_RE}#status"
ISSUER_RE = rf"did:gzledger:{MEMBER_ID}"
VERIFICATION_METHOD_RE = rf"did:gzledger:{MEMBER_ID}#{SM3_HEX_RE}"
PUBLIC_KEY_HEX_RE = r"04[0-9a-f]{128}"
PROOF_VALUE_RE = r"[0-9a-f]{16,160}"


# --- identifiers and dates ----------------------------------------------------------------------


def issuer_did(member_id: str) -> str:
    return DID_PREFIX + member_id


def member_of_did(did: str) -> str:
    return did.removeprefix(DID_PREFIX)


def card_urn(card_id: str) -> str:
    return CARD_URN + card_id


def status_path(card_id: str) -> str:
    return f"/v1/edu_card/cards/{card_id}/status"


def iso_to_ms(text: str) -> int:
    """``YYYY-MM-DDTHH:MM:SSZ`` (UTC) to milliseconds since the epoch; ValueError if bad."""
    if not re.fullmatch(DATETIME_RE, text):
        raise ValueError(f"{text!r} is not a UTC date-time YYYY-MM-DDTHH:MM:SSZ")
    parsed = time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")
    return calendar.timegm(parsed) * 1000


def ms_to_iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms // 1000))


# --- disclosures, signing, issuing ----------------------------------------------------------------


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
        "proofPurpose": PROOF_PURPOSE,
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


# --- the QR code ----------------------------------------------------------------------------------


def qr_payload(card_id: str, tx_id: str, public_url: str) -> str:
    """``<public URL>/verify/card?card=<card id>&tx=<tx id of the card's current version>``:
    the portal page that checks the card, under the ledger's configured public URL."""
    return f"{public_url.rstrip('/')}{CARD_PAGE}?card={card_id}&tx={tx_id}"


@dataclass(frozen=True)
class QrCode:
    card_id: str
    tx_id: str
    ledger_url: str


def parse_qr(text: str) -> QrCode:
    """The card, version and ledger a QR code names: a portal link (:func:`qr_payload`) or
    the older ``gzledger://card/<card id>?tx=<tx id>&u=<ledger URL>``."""
    bad = InvalidInput(
        "the QR payload must be <ledger URL>/verify/card?card=<32 hex card id>&tx=<64 hex tx "
        "id> (or gzledger://card/<card id>?tx=<tx id>&u=<ledger URL>)",
        code="bad_qr",
    )
    if not isinstance(text, str) or len(text) > 1024:
        raise bad
    parts = urlsplit(text)
    query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
    if parts.fragment:
        raise bad
    if parts.scheme in ("http", "https") and parts.netloc and parts.path.endswith(CARD_PAGE):
        base = f"{parts.scheme}://{parts.netloc}{parts.path.removesuffix(CARD_PAGE)}"
        cards, urls = query.get("card", []), [base]
        names = {"card", "tx"}
    elif parts.scheme == QR_SCHEME and parts.netloc == "card":
        cards, urls = [parts.path.removeprefix("/")], query.get("u", [""])
        names = {"tx", "u"}
    else:
        raise bad
    txs = query.get("tx", [])
    if (
        len(cards) != 1
        or not re.fullmatch(CARD_ID_RE, cards[0])
        or len(txs) != 1
        or not re.fullmatch(r"[0-9a-f]{64}", txs[0])
        or len(urls) != 1
        or set(query) - names
    ):
        raise bad
    return QrCode(cards[0], txs[0], urls[0])


# --- the shape of a card ------------------------------------------------------------------------

_TOP = (
    "@context",
    "id",
    "type",
    "issuer",
    "validFrom",
    "validUntil",
    "credentialSubject",
    "credentialStatus",
    "_sd_alg",
    "proof",
)
_SUBJECT = ("id", "_sd")
_STATUS = ("id", "type", "chainId", "statusPath")
_PROOF = (
    "type",
    "cryptosuite",
    "verificationMethod",
    "proofPurpose",
    "publicKeyHex",
    "proofValue",
)


@dataclass(frozen=True)
class CardCredential:
    """A credential that has the shape of a card (not yet its signature checked)."""

    card_id: str
    issuer: str
    """the issuer's DID"""
    subject_id: str
    """``urn:gzledger:holder:`` and the digest of the holder disclosure"""
    digests: tuple[str, ...]
    valid_from: str
    valid_until: str
    chain_id: str
    public_key_hex: str
    proof_value: str

    @property
    def issuer_member(self) -> str:
        return member_of_did(self.issuer)

    @property
    def key_id(self) -> str:
        return sm3_hex(bytes.fromhex(self.public_key_hex))


def _shape(where: str, problem: str, expected: Any = None, found: Any = None) -> VerificationError:
    return VerificationError(where, problem, expected=expected, found=found, code="not_a_card")


def _object(value: Any, where: str, fields: tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise _shape(where, "must be a JSON object", found=type(value).__name__)
    for name in fields:
        if name not in value:
            raise _shape(f"{where}.{name}", "is missing")
    for name in value:
        if name not in fields:
            raise _shape(f"{where}.{name}", "is not a field of this object", expected=fields)
    return value


def _text(obj: Mapping[str, Any], where: str, name: str, pattern: str | None = None) -> str:
    value = obj[name]
    if not isinstance(value, str):
        raise _shape(f"{where}.{name}", "must be a string", found=value)
    if pattern is not None and not re.fullmatch(pattern, value):
        raise _shape(f"{where}.{name}", f"must match {pattern}", expected=pattern, found=value)
    return value


def _exactly(obj: Mapping[str, Any], where: str, name: str, expected: Any) -> None:
    value = obj[name]
    if type(value) is not type(expected) or value != expected:
        raise _shape(f"{where}.{name}", f"must be {expected!r}", expected=expected, found=value)


def _datetime(obj: Mapping[str, Any], where: str, name: str) -> str:
    value = _text(obj, where, name, DATETIME_RE)
    try:
        iso_to_ms(value)
    except ValueError as exc:
        raise _shape(f"{where}.{name}", str(exc), found=value) from None
    return value


def _digests(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_DISCLOSURES:
        raise _shape(where, f"must be a list of 1 to {MAX_DISCLOSURES} digests", found=value)
    for i, item in enumerate(value):
        if not isinstance(item, str) or not re.fullmatch(SM3_HEX_RE, item):
            raise _shape(f"{where}[{i}]", "must be 64 lowercase hex characters", found=item)
    if value != sorted(set(value)):
        raise _shape(where, "digests must be distinct and sorted in ascending order")
    return tuple(value)


def read_credential(value: Any, where: str = "credential") -> CardCredential:
    """``value`` as a card, once its shape is that of the format (the fields, their patterns
    and the links between them); raises a ``VerificationError`` naming the first problem."""
    top = _object(value, where, _TOP)
    _exactly(top, where, "@context", [VC_CONTEXT])
    card_id = _text(top, where, "id", CARD_URN_RE).removeprefix(CARD_URN)
    _exactly(top, where, "type", list(CARD_TYPES))
    issuer = _text(top, where, "issuer", ISSUER_RE)
    valid_from = _datetime(top, where, "validFrom")
    valid_until = _datetime(top, where, "validUntil")
    _exactly(top, where, "_sd_alg", SD_ALG)

    at = f"{where}.credentialSubject"
    subject = _object(top["credentialSubject"], at, _SUBJECT)
    subject_id = _text(subject, at, "id", HOLDER_URN_RE)
    digests = _digests(subject["_sd"], f"{at}._sd")

    at = f"{where}.credentialStatus"
    status = _object(top["credentialStatus"], at, _STATUS)
    status_id = _text(status, at, "id", STATUS_ID_RE)
    _exactly(status, at, "type", STATUS_TYPE)
    chain_id = _text(status, at, "chainId")
    if not 1 <= len(chain_id) <= MAX_CHAIN_ID:
        raise _shape(f"{at}.chainId", f"must be 1 to {MAX_CHAIN_ID} characters", found=chain_id)
    path = _text(status, at, "statusPath")
    if len(path) > MAX_STATUS_PATH:
        raise _shape(f"{at}.statusPath", f"must be at most {MAX_STATUS_PATH} characters")

    at = f"{where}.proof"
    proof = _object(top["proof"], at, _PROOF)
    _exactly(proof, at, "type", PROOF_TYPE)
    _exactly(proof, at, "cryptosuite", CRYPTOSUITE)
    method = _text(proof, at, "verificationMethod", VERIFICATION_METHOD_RE)
    _exactly(proof, at, "proofPurpose", PROOF_PURPOSE)
    public_key_hex = _text(proof, at, "publicKeyHex", PUBLIC_KEY_HEX_RE)
    proof_value = _text(proof, at, "proofValue", PROOF_VALUE_RE)

    card = CardCredential(
        card_id,
        issuer,
        subject_id,
        digests,
        valid_from,
        valid_until,
        chain_id,
        public_key_hex,
        proof_value,
    )
    if status_id != card_urn(card_id) + "#status":
        raise _shape(
            f"{where}.credentialStatus.id",
            "must be the card's id followed by #status",
            expected=card_urn(card_id) + "#status",
            found=status_id,
        )
    if path != status_path(card_id):
        raise _shape(
            f"{where}.credentialStatus.statusPath",
            f"must be {status_path(card_id)}",
            expected=status_path(card_id),
            found=path,
        )
    method_did, _, method_key = method.partition("#")
    if method_did != issuer:
        raise _shape(
            f"{where}.proof.verificationMethod",
            "must name a key of the issuer",
            expected=issuer,
            found=method_did,
        )
    if method_key != card.key_id:
        raise _shape(
            f"{where}.proof.verificationMethod",
            "must end with the key_id of publicKeyHex",
            expected=card.key_id,
            found=method_key,
        )
    return card
