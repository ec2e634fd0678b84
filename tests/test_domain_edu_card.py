"""Education identity cards: the credential format, the rules, the API, replay and audit.

Pure tests drive the domain directly over a ``StateStore``; the workflow test runs a real
node process over HTTP (SQLite, and PostgreSQL when configured) with real SM2 keys: the demo
fills it with schools and cards, then every rule the issue names is exercised, verified
through the verify endpoint, and the node is restarted on the same database to check that
replay from genesis answers exactly the same and that `ledger audit` passes.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import random
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from keys import FileKeyStore
from ledger.canonical import canonical
from ledger.client import make_transaction
from ledger.consortium import DEMO_MEMBERS
from ledger.crypto import PrivateKey
from ledger.domains.edu_card import demo as edu_card_demo
from ledger.domains.edu_card._format import (
    CardDraft,
    disclosure_digest,
    iso_to_ms,
    make_disclosure,
    ms_to_iso,
    new_card,
    parse_qr,
    qr_payload,
    read_credential,
    renewed,
    sign_credential,
)
from ledger.domains.edu_card.rules import domain
from ledger.domains.edu_card.schemas import Credential
from ledger.domains.edu_card.state import CARDS, card_status
from ledger.domains.registry import REGISTRY
from ledger.domains.state import StateStore
from ledger.errors import InvalidInput, RuleViolation, VerificationError
from ledger.execution import members_host
from ledger.model import SignedTransaction
from ledger.request_auth import sign_request
from ledger.verify import verify_receipt
from tests.conftest import Consortium
from tests.inprocess import InProcessNode

CHAIN = "gz-gov-ledger"
S1, S2 = "baiyun-school-1", "baiyun-school-2"
NOW = 1_790_000_000_000  # 2026-09-21, a block time for the pure tests
CLAIMS: dict[str, str | int] = {
    "name": "陈梓浩",
    "student_number": "YS20260042",
    "id_card_number": "44011120130415203X",
    "grade": 7,
    "photo_hash": "ab" * 32,
    "school": "广州市白云区云山实验学校",
    "birth_year_month": "2013-04",
}


# --- the credential format --------------------------------------------------------------------


def test_disclosure_digest_is_sm3_of_the_canonical_array() -> None:
    disclosure = ["0123456789abcdef0123456789abcdef", "grade", 7]
    exact = b'["0123456789abcdef0123456789abcdef","grade",7]'
    assert canonical(disclosure) == exact
    assert disclosure_digest(disclosure) == hashlib.new("sm3", exact).hexdigest()
    # non-ASCII values are hashed as UTF-8, unescaped (RFC 8785)
    named = ["00" * 16, "name", "陈梓浩"]
    assert canonical(named) == '["00000000000000000000000000000000","name","陈梓浩"]'.encode()
    salt = make_disclosure("grade", 7)[0]
    assert len(salt) == 32 and int(salt, 16) >= 0


def test_credential_shape_and_signature() -> None:
    key = PrivateKey.generate()
    draft = _draft(key, S1)
    cred = draft.credential
    assert cred["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert cred["type"] == ["VerifiableCredential", "EducationIdentityCard"]
    assert cred["issuer"] == f"did:gzledger:{S1}"
    assert cred["credentialStatus"]["statusPath"] == f"/v1/edu_card/cards/{draft.card_id}/status"
    digests = cred["credentialSubject"]["_sd"]
    assert digests == sorted(disclosure_digest(d) for d in draft.disclosures.values())
    text = json.dumps(cred, ensure_ascii=False)
    for value in ("陈梓浩", "44011120130415203X", "YS20260042", "2013-04"):
        assert value not in text  # only digests in the credential
    assert cred["credentialSubject"]["id"] == "urn:gzledger:holder:" + disclosure_digest(
        draft.holder_disclosure
    )
    body = {k: v for k, v in cred.items() if k != "proof"}
    key.public_key.verify(cred["proof"]["proofValue"], canonical(body))
    assert cred["proof"]["verificationMethod"] == f"did:gzledger:{S1}#{key.key_id}"


def test_qr_payload_round_trip_and_refusals() -> None:
    card, tx = "0f" * 16, "ab" * 32
    text = qr_payload(card, tx, "https://ledger.gz.gov.cn:8443/")
    assert text == f"https://ledger.gz.gov.cn:8443/verify/card?card={card}&tx={tx}"
    qr = parse_qr(text)
    assert (qr.card_id, qr.tx_id, qr.ledger_url) == (card, tx, "https://ledger.gz.gov.cn:8443")
    # the older form, printed on cards before QR codes linked to the portal, is still read
    older = f"gzledger://card/{card}?tx={tx}&u=https%3A%2F%2Fledger.gz.gov.cn%3A8443"
    qr = parse_qr(older)
    assert (qr.card_id, qr.tx_id, qr.ledger_url) == (card, tx, "https://ledger.gz.gov.cn:8443")
    for bad in (
        f"https://card/{card}?tx={tx}",
        f"https://ledger.gz.gov.cn/verify/card?card={card[:-1]}&tx={tx}",
        f"https://ledger.gz.gov.cn/verify/card?card={card}",
        f"https://ledger.gz.gov.cn/verify/card?card={card}&tx={tx}&u=x",
        f"https://ledger.gz.gov.cn/verify/card?card={card}&card={card}&tx={tx}",
        f"https://ledger.gz.gov.cn/verify/receipt?card={card}&tx={tx}",
        f"https://ledger.gz.gov.cn/verify/card?card={card}&tx={tx}#x",
        f"ftp://ledger.gz.gov.cn/verify/card?card={card}&tx={tx}",
        f"gzledger://card/{card[:-1]}?tx={tx}",
        f"gzledger://card/{card}",
        f"gzledger://card/{card}?tx={tx}&x=1",
        f"gzledger://card/{card}?tx={tx}&tx={tx}",
    ):
        with pytest.raises(InvalidInput) as info:
            parse_qr(bad)
        assert info.value.code == "bad_qr"


def test_offline_shape_check_agrees_with_the_payload_schema() -> None:
    """``_format.read_credential`` (plain code, for offline verifiers) accepts exactly the
    credentials the payload schema (pydantic, for the rules) accepts."""
    cred = _draft(PrivateKey.generate(), S1).credential
    values: list[Any] = [None, 1, True, "", "x", [], {}, "2027-02-30T00:00:00Z", "a" * 64]
    values += [["b" * 64, "a" * 64], ["a" * 64] * 2, ["a" * 64] * 33, f"did:gzledger:{S2}"]
    variants: list[Any] = [cred, [cred], {**cred, "extra": 1}]
    for where in (None, "credentialSubject", "credentialStatus", "proof"):
        part = cred if where is None else cred[where]
        for name in part:
            variants.append(_replaced(cred, where, name, None, drop=True))
            variants += [_replaced(cred, where, name, value) for value in values]
    variants.append(_replaced(cred, "credentialStatus", "chainId", "c" * 128))
    variants.append(_replaced(cred, "credentialStatus", "chainId", "c" * 129))
    variants.append(_replaced(cred, "credentialSubject", "_sd", ["a" * 64, "b" * 64]))
    accepted = 0
    for variant in variants:
        try:
            Credential.model_validate(variant)
            by_schema = True
        except ValidationError:
            by_schema = False
        try:
            read_credential(variant)
            by_plain_code = True
        except VerificationError as exc:
            assert exc.message.startswith("credential")
            by_plain_code = False
        assert by_schema == by_plain_code, variant
        accepted += by_schema
    assert accepted == 8  # the card, 5 other chain ids, other digests, another proofValue


def _replaced(
    cred: dict[str, Any], where: str | None, name: str, value: Any, drop: bool = False
) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(cred))
    part = out if where is None else out[where]
    if drop:
        del part[name]
    else:
        part[name] = value
    return out


def test_status_by_block_time() -> None:
    record = {
        "status": "active",
        "issuer": S1,
        "valid_from": "2026-09-01T00:00:00Z",
        "valid_until": "2027-08-31T00:00:00Z",
        "valid_from_ms": iso_to_ms("2026-09-01T00:00:00Z"),
        "valid_until_ms": iso_to_ms("2027-08-31T00:00:00Z"),
        "events": [],
    }
    assert card_status(record, iso_to_ms("2026-08-31T23:59:59Z"))[0] == "not_yet_valid"
    assert card_status(record, iso_to_ms("2026-09-01T00:00:00Z"))[0] == "active"
    assert card_status(record, iso_to_ms("2027-08-31T00:00:00Z"))[0] == "expired"
    assert card_status({**record, "status": "suspended"}, NOW)[0] == "suspended"
    assert card_status({**record, "status": "revoked"}, NOW)[0] == "revoked"
    assert ms_to_iso(iso_to_ms("2027-08-31T00:00:00Z")) == "2027-08-31T00:00:00Z"
    assert iso_to_ms("1970-01-02T00:00:00Z") == 86_400_000


# --- the rules, driven directly -----------------------------------------------------------------


class Chain:
    """Runs transactions through the domain as a block would: each in a child overlay."""

    def __init__(self) -> None:
        self.store = StateStore()
        self.keys = {S1: PrivateKey.generate(), S2: PrivateKey.generate()}
        self.txs: list[SignedTransaction] = []

    def tx(self, member: str, tx_type: str, payload: dict[str, Any]) -> SignedTransaction:
        return make_transaction(
            self.keys[member], chain_id=CHAIN, type=tx_type, submitter=member, payload=payload
        )

    def run(self, tx: SignedTransaction, time_ms: int = NOW) -> None:
        view = self.store.overlay()
        REGISTRY.execute(
            view, tx, host=members_host({}), height=1, time_ms=time_ms, roles=("school",), params={}
        )
        view.commit()
        self.txs.append(tx)

    def refuse(self, tx: SignedTransaction, code: str) -> str:
        before = json.dumps(self.store.data, sort_keys=True)
        with pytest.raises(RuleViolation) as info:
            self.run(tx)
        assert info.value.code == code, info.value.message
        assert json.dumps(self.store.data, sort_keys=True) == before
        return info.value.message

    def issue(self, member: str = S1, **extra: Any) -> CardDraft:
        draft = _draft(self.keys[member], member)
        self.run(self.tx(member, "edu_card.issue", _issue_payload(draft, **extra)))
        return draft

    def card(self, card_id: str) -> dict[str, Any]:
        record: dict[str, Any] = self.store.get(CARDS, card_id)
        return record


def test_issue_and_lifecycle_rules() -> None:
    chain = Chain()
    draft = chain.issue()
    record = chain.card(draft.card_id)
    assert (record["issuer"], record["status"], record["version"]) == (S1, "active", 1)
    card = draft.card_id

    # only the issuing school: another school is refused for every action
    for tx_type, extra in (
        ("edu_card.suspend", {"reason": "reported_lost"}),
        ("edu_card.reinstate", {"reason": "card_recovered"}),
        ("edu_card.revoke", {"reason": "transferred_out"}),
    ):
        message = chain.refuse(chain.tx(S2, tx_type, {"card_id": card, **extra}), "not_issuer")
        assert S1 in message
    other = renewed(draft.credential, chain.keys[S2], S1, "2026-09-01T00:00:00Z", _until(2))
    chain.refuse(
        chain.tx(S2, "edu_card.renew", {"card_id": card, "credential": other}), "not_issuer"
    )

    unknown = {"card_id": "00" * 16, "reason": "reported_lost"}
    chain.refuse(chain.tx(S1, "edu_card.suspend", unknown), "card_not_found")
    chain.refuse(
        chain.tx(S1, "edu_card.reinstate", {"card_id": card, "reason": "card_recovered"}),
        "not_suspended",
    )
    chain.run(chain.tx(S1, "edu_card.suspend", {"card_id": card, "reason": "reported_lost"}))
    assert chain.card(card)["status"] == "suspended"
    chain.refuse(
        chain.tx(S1, "edu_card.suspend", {"card_id": card, "reason": "under_review"}),
        "already_suspended",
    )
    chain.run(chain.tx(S1, "edu_card.reinstate", {"card_id": card, "reason": "card_recovered"}))
    assert chain.card(card)["status"] == "active"

    # renew: a new period, re-signed; only the period may change and it must be later
    longer = renewed(draft.credential, chain.keys[S1], S1, "2026-09-01T00:00:00Z", _until(3))
    shorter = renewed(draft.credential, chain.keys[S1], S1, "2026-09-01T00:00:00Z", _until(1))
    chain.refuse(
        chain.tx(S1, "edu_card.renew", {"card_id": card, "credential": shorter}),
        "invalid_validity",
    )
    changed = sign_credential(
        {
            **longer,
            "credentialSubject": {
                **longer["credentialSubject"],
                "_sd": sorted([*longer["credentialSubject"]["_sd"][1:], "ff" * 32]),
            },
        },
        chain.keys[S1],
        S1,
    )
    chain.refuse(
        chain.tx(S1, "edu_card.renew", {"card_id": card, "credential": changed}),
        "renewal_mismatch",
    )
    chain.refuse(
        chain.tx(S1, "edu_card.renew", {"card_id": "11" * 16, "credential": longer}),
        "renewal_mismatch",
    )
    chain.run(chain.tx(S1, "edu_card.renew", {"card_id": card, "credential": longer}))
    record = chain.card(card)
    assert (record["version"], record["valid_until"]) == (2, _until(3))
    assert [v["version"] for v in record["versions"]] == [1, 2]

    # revoke is final
    chain.run(chain.tx(S1, "edu_card.revoke", {"card_id": card, "reason": "transferred_out"}))
    assert chain.card(card)["status"] == "revoked"
    after_revoke: list[tuple[str, dict[str, Any]]] = [
        ("edu_card.suspend", {"reason": "reported_lost"}),
        ("edu_card.reinstate", {"reason": "card_recovered"}),
        ("edu_card.revoke", {"reason": "other"}),
        ("edu_card.renew", {"credential": longer}),
    ]
    for tx_type, extra in after_revoke:
        chain.refuse(chain.tx(S1, tx_type, {"card_id": card, **extra}), "card_revoked")

    # replaying the same transactions from nothing gives exactly the same state
    again = Chain()
    again.keys = chain.keys
    for tx in chain.txs:
        again.run(tx)
    assert again.store.data == chain.store.data


def test_issue_refusals() -> None:
    chain = Chain()
    k1, k2 = chain.keys[S1], chain.keys[S2]

    # under 14: guardian consent is required (PIPL Art. 28, 31)
    young = _draft(k1, S1)
    for extra in ({}, {"guardian_consent": False}):
        tx = chain.tx(S1, "edu_card.issue", _issue_payload(young, holder_under_14=True, **extra))
        assert "guardian" in chain.refuse(tx, "guardian_consent_required")
    chain.issue(holder_under_14=True, guardian_consent=True, guardian_consent_record="cd" * 32)

    draft = chain.issue()
    again = chain.tx(S1, "edu_card.issue", _issue_payload(draft))
    chain.refuse(again, "card_exists")

    # a card in another school's name
    chain.refuse(chain.tx(S1, "edu_card.issue", _issue_payload(_draft(k2, S2))), "issuer_mismatch")
    # signed with a key other than the submitter's
    chain.refuse(
        chain.tx(S1, "edu_card.issue", _issue_payload(_draft(k2, S1))), "proof_key_mismatch"
    )
    # a wrong signature: the proof of another credential, or a credential altered after signing
    a, b = _draft(k1, S1), _draft(k1, S1)
    swapped = {**a.credential, "proof": b.credential["proof"]}
    chain.refuse(
        chain.tx(S1, "edu_card.issue", _issue_payload_raw(swapped)), "bad_credential_signature"
    )
    altered = json.loads(json.dumps(a.credential))
    altered["validUntil"] = _until(5)
    chain.refuse(
        chain.tx(S1, "edu_card.issue", _issue_payload_raw(altered)), "bad_credential_signature"
    )
    # the status entry names another chain
    elsewhere = _draft(k1, S1, chain_id="another-chain")
    chain.refuse(chain.tx(S1, "edu_card.issue", _issue_payload(elsewhere)), "status_mismatch")
    # periods: already over, reversed, too long
    for start, end in (
        ("2020-09-01T00:00:00Z", "2021-08-31T00:00:00Z"),
        ("2027-09-01T00:00:00Z", "2026-12-31T00:00:00Z"),
        ("2026-09-01T00:00:00Z", "2037-09-01T00:00:00Z"),
    ):
        bad = _draft(k1, S1, valid_from=start, valid_until=end)
        chain.refuse(chain.tx(S1, "edu_card.issue", _issue_payload(bad)), "invalid_validity")

    # malformed payloads: field-level errors
    good = _issue_payload(_draft(k1, S1))
    cred = good["credential"]
    for payload, field in (
        ({k: v for k, v in good.items() if k != "holder_under_14"}, "holder_under_14"),
        ({**good, "holder_under_14": "no"}, "holder_under_14"),
        ({**good, "name": "陈梓浩"}, "name"),
        ({**good, "credential": {**cred, "type": ["VerifiableCredential"]}}, "credential.type"),
        (
            {**good, "credential": {**cred, "validUntil": "2027-02-30T00:00:00Z"}},
            "credential.validUntil",
        ),
        (
            {
                **good,
                "credential": {
                    **cred,
                    "credentialSubject": {**cred["credentialSubject"], "name": "陈梓浩"},
                },
            },
            "credential.credentialSubject.name",
        ),
        (
            {
                **good,
                "credential": {
                    **cred,
                    "credentialSubject": {
                        **cred["credentialSubject"],
                        "_sd": list(reversed(cred["credentialSubject"]["_sd"])),
                    },
                },
            },
            "credential.credentialSubject._sd",
        ),
    ):
        with pytest.raises(RuleViolation) as info:
            chain.run(chain.tx(S1, "edu_card.issue", payload))
        assert info.value.code == "invalid_payload"
        assert any(p["field"] == field for p in info.value.details["problems"]), (
            field,
            info.value.details,
        )
    with pytest.raises(RuleViolation) as info:
        chain.run(chain.tx(S1, "edu_card.revoke", {"card_id": "00" * 16}))
    assert info.value.details["problems"][0]["field"] == "reason"
    with pytest.raises(RuleViolation) as info:
        chain.run(chain.tx(S1, "edu_card.suspend", {"card_id": "XYZ", "reason": "reported_lost"}))
    assert info.value.details["problems"][0]["field"] == "card_id"


# --- helpers -------------------------------------------------------------------------------------


def _until(years: int) -> str:
    return f"{2026 + years}-08-31T00:00:00Z"


def _draft(
    key: PrivateKey,
    school: str,
    *,
    chain_id: str = CHAIN,
    valid_from: str = "2026-09-01T00:00:00Z",
    valid_until: str | None = None,
    claims: dict[str, str | int] | None = None,
) -> CardDraft:
    return new_card(
        signer=key,
        school=school,
        chain_id=chain_id,
        claims=claims or CLAIMS,
        holder="G44011120130415203X",
        valid_from=valid_from,
        valid_until=valid_until or _until(2),
    )


def _issue_payload(draft: CardDraft, **extra: Any) -> dict[str, Any]:
    return _issue_payload_raw(draft.credential, **extra)


def _issue_payload_raw(credential: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"credential": credential, "holder_under_14": False, **extra}


def _utc(ms: int) -> str:
    return ms_to_iso(ms)


# --- over HTTP: a node ----------------------------------------------------------------------


class Api:
    def __init__(self, node: InProcessNode, consortium: Consortium) -> None:
        self.node = node
        self.consortium = consortium
        self.http = node.http()
        self.store = FileKeyStore(consortium.home / "keys")

    def close(self) -> None:
        self.http.close()

    def key(self, member: str) -> PrivateKey:
        return self.store.signer(member)

    def tx(
        self, member: str, tx_type: str, payload: dict[str, Any], key: PrivateKey | None = None
    ) -> SignedTransaction:
        return make_transaction(
            key or self.key(member),
            chain_id=CHAIN,
            type=tx_type,
            submitter=member,
            payload=payload,
        )

    def log_size(self) -> int:
        return int(self.http.get("/v1/checkpoint").json()["header"]["log_size"])

    def commit(self, *txs: SignedTransaction) -> list[dict[str, Any]]:
        answer = self.http.post(
            "/v1/transactions/batch", json={"transactions": [t.to_wire() for t in txs]}
        )
        assert answer.status_code == 202 and not answer.json()["rejected"], answer.text
        receipts = []
        for t in txs:
            deadline = time.monotonic() + 20
            while (status := self.http.get(f"/v1/transactions/{t.tx_id}").json())[
                "status"
            ] != "committed":
                assert status["status"] == "pending", status
                assert time.monotonic() < deadline
                time.sleep(0.05)
            receipt = self.http.get(f"/v1/transactions/{t.tx_id}/receipt").json()
            assert verify_receipt(receipt, self.consortium.genesis).tx_id == t.tx_id
            receipts.append(receipt)
        return receipts

    def refuse(self, tx: SignedTransaction, code: str, status: int = 422) -> dict[str, Any]:
        """Refused with a clear 4xx and a stable code, and nothing stored."""
        before = self.log_size()
        response = self.http.post("/v1/transactions", json=tx.to_wire())
        assert response.status_code == status, response.text
        error: dict[str, Any] = response.json()["error"]
        assert error["code"] == code, error
        assert error["message"]
        reported = self.http.get(f"/v1/transactions/{tx.tx_id}").json()
        assert reported["status"] == "rejected" and reported["error"]["code"] == code
        assert self.http.get(f"/v1/transactions/{tx.tx_id}/receipt").status_code == 404
        self.node.settle()
        assert self.log_size() == before
        return error

    def get(self, path: str) -> Any:
        response = self.http.get(path)
        assert response.status_code == 200, response.text
        return response.json()

    def verify(self, body: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post("/v1/edu_card/verify", json=body)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        for step in result["steps"]:
            assert step["outcome"] in {"passed", "failed", "skipped"} and step["detail"]
        return result

    def signed_get(self, member: str, path: str) -> httpx.Response:
        headers = sign_request(self.key(member), member, "GET", path)
        return self.http.get(path, headers=headers)


def _outcomes(result: dict[str, Any]) -> dict[str, str]:
    return {s["step"]: s["outcome"] for s in result["steps"]}


def _snapshot(api: Api, cards: list[str]) -> dict[str, Any]:
    snap: dict[str, Any] = {"stats": api.get("/v1/edu_card/stats")}
    for card in cards:
        snap[card] = [
            api.get(f"/v1/edu_card/cards/{card}"),
            api.get(f"/v1/edu_card/cards/{card}/status"),
            api.get(f"/v1/edu_card/cards/{card}/qr"),
        ]
    for member, school in (("gz-audit-bureau", S1), (S2, S2)):
        response = api.signed_get(member, f"/v1/edu_card/schools/{school}/cards")
        assert response.status_code == 200, response.text
        snap[f"register {school}"] = response.json()
    return snap


def test_edu_card_workflow_over_http(
    consortium: Consortium, db_url: str, start_node: Callable[..., InProcessNode]
) -> None:
    node = start_node(consortium.home, db_url)
    api = Api(node, consortium)
    try:
        _workflow(api, consortium, db_url, start_node)
    finally:
        api.close()


def _workflow(
    api: Api, consortium: Consortium, db_url: str, start_node: Callable[..., InProcessNode]
) -> None:
    home = consortium.home
    # the demo registers three more schools through governance and issues cards
    seen: list[int] = []
    with api.node.client() as client:
        made = edu_card_demo.generate(client, home, 26, seen.append)
    # 3 schools registered, 26 cards, 1 suspended then reinstated, 1 revoked, 1 renewed
    assert made == 3 + 26 + 1 + 1 + 1 + 1 and seen[-1] == made
    wallet = json.loads((home / edu_card_demo.WALLET).read_text(encoding="utf-8"))
    assert len(wallet["cards"]) == 26
    assert {c["status_when_generated"] for c in wallet["cards"]} == {"active", "revoked"}
    stats = api.get("/v1/edu_card/stats")
    assert stats["cards"] == 26 and stats["by_status"] == {"active": 25, "revoked": 1}
    assert len(stats["by_school"]) == 4
    in_wallet = wallet["cards"][0]
    assert (
        api.verify({"qr": in_wallet["qr"], "disclosures": []})["card_id"] == (in_wallet["card_id"])
    )

    # issue: an older pupil, a pupil under 14 with consent, a card of school 2, and a card
    # that expires in a few seconds
    now = time.time_ns() // 1_000_000
    year = time.gmtime(now / 1000).tm_year
    period = {
        "valid_from": f"{year - 1}-09-01T00:00:00Z",
        "valid_until": f"{year + 2}-08-31T00:00:00Z",
    }
    a = new_card(
        signer=api.key(S1),
        school=S1,
        chain_id=CHAIN,
        claims=CLAIMS,
        holder="G44011120100101001X",
        **period,
    )
    b = new_card(
        signer=api.key(S1), school=S1, chain_id=CHAIN, claims=CLAIMS, holder="G1", **period
    )
    c = new_card(
        signer=api.key(S2), school=S2, chain_id=CHAIN, claims=CLAIMS, holder="G2", **period
    )
    soon = (now // 1000 + 4) * 1000
    e = new_card(
        signer=api.key(S1),
        school=S1,
        chain_id=CHAIN,
        claims=CLAIMS,
        holder="G3",
        valid_from=period["valid_from"],
        valid_until=_utc(soon),
    )
    issue_a = api.tx(S1, "edu_card.issue", _issue_payload(a))
    issue_b = api.tx(
        S1,
        "edu_card.issue",
        _issue_payload(b, holder_under_14=True, guardian_consent=True),
    )
    issue_c = api.tx(S2, "edu_card.issue", _issue_payload(c))
    issue_e = api.tx(S1, "edu_card.issue", _issue_payload(e))
    api.commit(issue_a, issue_b, issue_c, issue_e)

    # bad inputs: each refused with a 4xx and a stable code, nothing stored
    error = api.refuse(
        api.tx(S2, "edu_card.revoke", {"card_id": a.card_id, "reason": "transferred_out"}),
        "not_issuer",
    )
    assert S1 in error["message"]
    api.refuse(
        api.tx(S2, "edu_card.suspend", {"card_id": a.card_id, "reason": "reported_lost"}),
        "not_issuer",
    )
    young = new_card(
        signer=api.key(S1), school=S1, chain_id=CHAIN, claims=CLAIMS, holder="G4", **period
    )
    error = api.refuse(
        api.tx(S1, "edu_card.issue", _issue_payload(young, holder_under_14=True)),
        "guardian_consent_required",
    )
    assert "Art. 31" in error["message"]
    forged = new_card(
        signer=api.key(S2), school=S1, chain_id=CHAIN, claims=CLAIMS, holder="G5", **period
    )
    api.refuse(api.tx(S1, "edu_card.issue", _issue_payload(forged)), "proof_key_mismatch")
    tampered = json.loads(json.dumps(young.credential))
    tampered["credentialSubject"]["_sd"][0] = "00" * 32
    tampered["credentialSubject"]["_sd"].sort()
    api.refuse(
        api.tx(S1, "edu_card.issue", _issue_payload_raw(tampered)), "bad_credential_signature"
    )
    api.refuse(api.tx(S1, "edu_card.issue", _issue_payload(a)), "card_exists")
    api.refuse(api.tx(S1, "edu_card.issue", {"credential": young.credential}), "invalid_payload")
    api.refuse(
        api.tx(S1, "edu_card.revoke", {"card_id": "ab" * 16, "reason": "withdrawn"}),
        "card_not_found",
    )
    api.refuse(
        api.tx(S1, "edu_card.renew", {"card_id": "ab" * 16, "credential": young.credential}),
        "renewal_mismatch",
    )

    # the role matrix of this domain: only schools may submit its types
    for member, member_roles in [("v1", ("validator",)), *DEMO_MEMBERS]:
        if "school" in member_roles:
            continue
        for tx_type in domain.specs:
            tx = api.tx(member, tx_type, {"card_id": a.card_id, "reason": "other"})
            api.refuse(tx, "role_not_allowed")

    # verify: the card as presented with the claims the holder chose to show
    shown = [a.disclosures["school"], a.disclosures["grade"]]
    result = api.verify({"credential": a.credential, "disclosures": shown})
    assert result["valid"] is True, result["steps"]
    assert result["disclosed"] == {"school": CLAIMS["school"], "grade": 7}
    assert result["status"] == "active"
    assert list(_outcomes(result)) == [
        "credential_shape",
        "school_signature",
        "recorded_on_ledger",
        "issuance_receipt",
        "disclosure[0]",
        "disclosure[1]",
        "status",
        "validity_period",
    ]
    assert result["receipt_tx_id"] == issue_a.tx_id
    # a tampered disclosure: the grade changed
    forged_grade = [a.disclosures["grade"][0], "grade", 9]
    result = api.verify({"credential": a.credential, "disclosures": [forged_grade]})
    assert result["valid"] is False and result["disclosed"] == {}
    assert _outcomes(result)["disclosure[0]"] == "failed"
    assert _outcomes(result)["school_signature"] == "passed"
    # another card's disclosure, a short salt, the holder reference
    result = api.verify(
        {
            "credential": a.credential,
            "disclosures": [
                c.disclosures["name"],
                ["abcd", "grade", 7],
                a.holder_disclosure,
            ],
        }
    )
    assert [s["outcome"] for s in result["steps"] if s["step"].startswith("disclosure")] == [
        "failed",
        "failed",
        "passed",
    ]
    # a wrong signature: a digest replaced in the presented card
    altered = json.loads(json.dumps(a.credential))
    altered["credentialSubject"]["_sd"][0] = "00" * 32
    altered["credentialSubject"]["_sd"].sort()
    result = api.verify({"credential": altered, "disclosures": shown})
    steps = _outcomes(result)
    assert result["valid"] is False
    assert steps["school_signature"] == "failed"
    assert steps["recorded_on_ledger"] == "failed" and steps["issuance_receipt"] == "skipped"
    # signed by another school's key under this school's name
    result = api.verify({"credential": forged.credential, "disclosures": []})
    assert _outcomes(result)["school_signature"] == "failed"
    # not a card at all; malformed requests
    result = api.verify({"credential": {"id": "x"}, "disclosures": []})
    assert result["valid"] is False and _outcomes(result) == {"credential_shape": "failed"}
    for body, code, status in (
        ({"credential": a.credential, "qr": "gzledger://card/x"}, "malformed", 400),
        ({"disclosures": []}, "malformed", 400),
        ({"qr": "gzledger://card/zz"}, "bad_qr", 400),
        ({"qr": qr_payload("ab" * 16, issue_a.tx_id, api.node.url)}, "card_not_found", 404),
    ):
        response = api.http.post("/v1/edu_card/verify", json=body)
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code

    # the QR payload: an endpoint gives it, the verify endpoint takes it
    qr = api.get(f"/v1/edu_card/cards/{a.card_id}/qr")
    assert qr["qr"] == qr_payload(a.card_id, issue_a.tx_id, api.node.url)
    assert len(qr["qr"]) < 160
    result = api.verify({"qr": qr["qr"], "disclosures": shown})
    assert result["valid"] is True and result["disclosed"]["grade"] == 7
    assert _outcomes(result)["qr_lookup"] == "passed"
    wrong_tx = qr_payload(a.card_id, issue_b.tx_id, api.node.url)
    assert api.verify({"qr": wrong_tx})["steps"][0]["outcome"] == "failed"

    # suspend -> suspended status, verification fails on status; reinstate; revoke
    api.commit(api.tx(S1, "edu_card.suspend", {"card_id": a.card_id, "reason": "reported_lost"}))
    status = api.get(f"/v1/edu_card/cards/{a.card_id}/status")
    assert status["status"] == "suspended" and "suspended" in status["status_explained"]
    result = api.verify({"credential": a.credential, "disclosures": shown})
    assert result["valid"] is False and result["status"] == "suspended"
    assert _outcomes(result)["status"] == "failed"
    assert _outcomes(result)["school_signature"] == "passed"
    api.refuse(
        api.tx(S1, "edu_card.suspend", {"card_id": a.card_id, "reason": "under_review"}),
        "already_suspended",
    )
    api.commit(api.tx(S1, "edu_card.reinstate", {"card_id": a.card_id, "reason": "card_recovered"}))
    assert api.verify({"credential": a.credential, "disclosures": shown})["valid"] is True
    api.commit(api.tx(S2, "edu_card.revoke", {"card_id": c.card_id, "reason": "transferred_out"}))
    assert api.get(f"/v1/edu_card/cards/{c.card_id}/status")["status"] == "revoked"
    assert api.verify({"credential": c.credential})["status"] == "revoked"
    api.refuse(
        api.tx(S2, "edu_card.reinstate", {"card_id": c.card_id, "reason": "other"}),
        "card_revoked",
    )

    # renew: a new version, re-signed; the old version no longer verifies as current
    new_b = renewed(
        b.credential, api.key(S1), S1, period["valid_from"], f"{year + 3}-08-31T00:00:00Z"
    )
    renew_b = api.tx(S1, "edu_card.renew", {"card_id": b.card_id, "credential": new_b})
    api.commit(renew_b)
    card_b = api.get(f"/v1/edu_card/cards/{b.card_id}")
    assert card_b["version"] == 2 and card_b["current_tx"] == renew_b.tx_id
    assert canonical(card_b["credential"]) == canonical(new_b)
    old = api.verify({"credential": b.credential, "disclosures": [b.disclosures["grade"]]})
    assert old["valid"] is False and _outcomes(old)["recorded_on_ledger"] == "failed"
    assert "renewed" in old["steps"][2]["detail"]
    fresh = api.verify({"credential": new_b, "disclosures": [b.disclosures["grade"]]})
    assert fresh["valid"] is True and fresh["receipt_tx_id"] == renew_b.tx_id
    assert api.get(f"/v1/edu_card/cards/{b.card_id}/qr")["tx_id"] == renew_b.tx_id

    # expired by block time: once a block is made after validUntil (by the node's clock)
    api.node.clock.advance_to(soon + 1)
    api.commit(api.tx(S1, "edu_card.suspend", {"card_id": b.card_id, "reason": "under_review"}))
    assert api.get(f"/v1/edu_card/cards/{e.card_id}/status")["status"] == "expired"
    expired = api.verify({"credential": e.credential})
    assert expired["status"] == "expired" and _outcomes(expired)["validity_period"] == "failed"

    # restricted read: a school's register, for that school and auditors only
    path = f"/v1/edu_card/schools/{S1}/cards"
    unsigned = api.http.get(path)
    assert unsigned.status_code == 401 and unsigned.json()["error"]["code"] == "unauthenticated"
    assert api.signed_get("acme-manufacturing", path).status_code == 403
    other_school = api.signed_get(S2, path)
    assert other_school.status_code == 403 and other_school.json()["error"]["code"] == "forbidden"
    headers = sign_request(api.key(S1), S1, "GET", path)
    own = api.http.get(path, headers=headers)
    assert own.status_code == 200, own.text
    register = {x["card_id"]: x for x in own.json()["cards"]}
    assert register[b.card_id]["holder_under_14"] is True
    assert register[b.card_id]["guardian_consent"] is True
    assert c.card_id not in register
    replayed = api.http.get(path, headers=headers)
    assert replayed.status_code == 401 and replayed.json()["error"]["code"] == "replayed_request"
    assert api.signed_get("gz-audit-bureau", path).status_code == 200
    for bad_path in ("/v1/edu_card/cards/XYZ", "/v1/edu_card/cards/XYZ/status"):
        assert api.http.get(bad_path).status_code == 400
    assert api.http.get(f"/v1/edu_card/cards/{'cd' * 16}").status_code == 404

    # replay from genesis: a restarted node answers exactly the same
    cards = [a.card_id, b.card_id, c.card_id, e.card_id, in_wallet["card_id"]]
    before = _snapshot(api, cards)
    api.node.stop()
    api.node = start_node(consortium.home, db_url, clock=api.node.clock)
    api.http.close()
    api.http = api.node.http()
    after = _snapshot(api, cards)
    for card in cards:  # the QR names the URL the node was reached at, not the chain
        for snap in (before, after):
            snap[card][2].pop("qr")
            snap[card][2].pop("ledger_url")
    assert after == before
    api.node.stop()
    audit = subprocess.run(
        [sys.executable, "-m", "ledger", "audit", "--home", str(consortium.home), "--db", db_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_no_plain_value_on_chain_and_demo_id_numbers() -> None:
    """No plain claim value reaches the transaction; the demo's ID numbers are well formed."""
    key = PrivateKey.generate()
    draft = _draft(key, S1)
    tx = make_transaction(
        key,
        chain_id=CHAIN,
        type="edu_card.issue",
        submitter=S1,
        payload=_issue_payload(draft),
    )
    wire = json.dumps(tx.to_wire(), ensure_ascii=False)
    for value in CLAIMS.values():
        if isinstance(value, str):
            assert value not in wire
    assert (
        sorted(disclosure_digest(d) for d in draft.disclosures.values())
        == (draft.credential["credentialSubject"]["_sd"])
    )
    number = edu_card_demo.id_card_number(
        random.Random(1), time.gmtime(calendar.timegm((2013, 4, 15, 0, 0, 0))), True
    )
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(ch) * w for ch, w in zip(number[:17], weights, strict=True))
    assert number[:14] == "44011120130415" and number[17] == "10X98765432"[total % 11]
