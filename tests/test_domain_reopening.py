"""Enterprise reopening filings (企业复工报备): the reopening domain end to end.

Pure tests drive the domain's rules directly (credit codes, routing, every rule); the node
test runs a real node over HTTP with real SM2 signatures: the workflow with receipts that
``verify_receipt`` accepts, every bad input refused with nothing stored, the role matrix of
the domain's types, the restricted approver queue, replay from genesis and the audit.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from api.domains.reopening import check_genesis_params
from keys import FileKeyStore
from ledger import execution
from ledger.client import make_transaction
from ledger.consortium import DEMO_MEMBERS, load_genesis
from ledger.crypto import PrivateKey
from ledger.domains.member.state import MemberRegistry
from ledger.domains.reopening import demo as examples
from ledger.domains.reopening import rules, schemas
from ledger.domains.reopening.state import (
    CONTENT_DEFAULTS,
    CONTENT_FIELDS,
    DEFAULT_ROUTING,
    body_name,
    conventional_bodies,
)
from ledger.domains.reopening.verify import check_filing, signed_content
from ledger.domains.state import StateStore
from ledger.errors import MalformedData, RuleViolation
from ledger.execution import ExecutionHost
from ledger.model import SignedTransaction
from ledger.request_auth import sign_request
from ledger.verify import verify_receipt
from tests.conftest import Consortium
from tests.inprocess import InProcessNode

# Real-format codes with valid check characters: the example of GB 32100-2015 and codes
# published in the national enterprise credit information system.
KNOWN_VALID = (
    "91350100M000100Y43",
    "914403001922038216",
    "91440300708461136T",
    "91330100799655058B",
    "91110000802100433B",
    "91110108551385082Q",
)
GOV = "gz-gov-service-bureau"
ACME, STREET = "acme-manufacturing", "tianhe-street-office"
DEPT, HAIZHU, BETA = "tianhe-industry-dept", "haizhu-street-office", "beta-logistics"
TYPES = ("reopening.file", "reopening.amend", "reopening.review", "reopening.inspect")
ALL_TYPES = (*TYPES, "reopening.configure")
CST = dt.timezone(dt.timedelta(hours=8))


def _day(offset: int) -> str:
    return (dt.datetime.now(CST).date() + dt.timedelta(days=offset)).isoformat()


# --- credit codes (GB 32100-2015) ---------------------------------------------------------


def test_known_valid_codes_pass() -> None:
    for code in KNOWN_VALID:
        assert schemas.credit_code_problem(code) is None, code
        assert schemas.check_character(code[:17]) == code[17]


def test_every_single_character_change_is_caught() -> None:
    for code in KNOWN_VALID:
        for i, original in enumerate(code):
            for c in schemas.CHARSET:
                if c != original:
                    mutated = code[:i] + c + code[i + 1 :]
                    assert not schemas.is_valid_credit_code(mutated), mutated


def test_adjacent_swaps_in_the_body_are_caught() -> None:
    for code in KNOWN_VALID:
        for i in range(16):
            if code[i] != code[i + 1]:
                swapped = code[:i] + code[i + 1] + code[i] + code[i + 2 :]
                problem = schemas.credit_code_problem(swapped)
                assert problem is not None and "check character" in problem, swapped


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("91350100M000100Y4", "17 characters"),
        ("91350100M000100Y433", "19 characters"),
        ("91350100M0001O0Y43", "I, O, S, V and Z"),
        ("91350100m000100Y43", "upper case"),
        ("91350100M000100Y4-", "only 0-9"),
        ("91350100M000100Y44", "typo"),
        ("", "0 characters"),
    ],
)
def test_bad_codes_say_what_is_wrong(code: str, words: str) -> None:
    problem = schemas.credit_code_problem(code)
    assert problem is not None and words in problem


def test_generated_codes_are_valid() -> None:
    for district in ("天河区", "白云区", "增城区"):
        code = examples.fresh_credit_code(district)
        assert schemas.is_valid_credit_code(code) and code[2:8] in code
    assert examples.make_credit_code("440106", "MA5ABCDE").startswith("91440106MA5ABCDE")


# --- the rules, driven directly -------------------------------------------------------------

ROLES = {
    ACME: ("enterprise",),
    BETA: ("enterprise",),
    STREET: ("approver",),
    DEPT: ("approver",),
    HAIZHU: ("approver",),
    GOV: ("governance",),
}


class Rules:
    """A domain state and a clock; transactions executed as a block would execute them, with
    ``params`` as the genesis params."""

    def __init__(self, params: dict[str, Any] | None = None) -> None:
        self.store = StateStore()
        self.key = PrivateKey.generate()
        self.height = 1
        self.params = params

    def tx(self, member: str, tx_type: str, payload: dict[str, Any]) -> SignedTransaction:
        return make_transaction(
            self.key, chain_id="test", type=tx_type, submitter=member, payload=payload
        )

    def run(self, member: str, tx_type: str, payload: dict[str, Any]) -> str:
        tx = self.tx(member, tx_type, payload)
        view = self.store.overlay()
        self.height += 1
        now = time.time_ns() // 1_000_000
        host = ExecutionHost(MemberRegistry(), None, self.params)
        execution.run(tx, host, view, ROLES[member], height=self.height, time_ms=now)
        view.commit()
        return tx.tx_id

    def refuse(self, member: str, tx_type: str, payload: dict[str, Any], code: str) -> str:
        before = copy.deepcopy(self.store.data)
        with pytest.raises(RuleViolation) as caught:
            self.run(member, tx_type, payload)
        assert caught.value.code == code, caught.value.to_dict()
        assert self.store.data == before
        return caught.value.message

    def filing(self, filing_id: str) -> dict[str, Any]:
        value: dict[str, Any] = self.store.get("reopening.filings", filing_id)
        return value


def review(filing_id: str, version: str, decision: str = "approve") -> dict[str, Any]:
    return {"filing_id": filing_id, "version": version, "decision": decision, "comment": "同意"}


def inspect(filing_id: str, on: str | None = None, result: str = "passed") -> dict[str, Any]:
    return {
        "filing_id": filing_id,
        "inspected_on": on or _day(0),
        "result": result,
        "findings": "现场检查防控措施落实到位",
    }


def amend(filing_id: str, previous: str, **changes: Any) -> dict[str, Any]:
    body = {**examples.content(), **changes}
    return {**body, "filing_id": filing_id, "previous": previous, "reason": "更新返岗人数"}


def test_routing_by_staff_and_naming_rule() -> None:
    r = Rules()
    small = r.run(ACME, "reopening.file", examples.file_payload(employees=499))
    large = r.run(BETA, "reopening.file", examples.file_payload(employees=500, street="猎德街道"))
    assert r.filing(small)["body"] == "street_office:天河区:石牌街道"
    assert r.filing(large)["body"] == "district_department:天河区"
    assert body_name(r.filing(small)["body"]) == "天河区石牌街道办事处"
    assert body_name(r.filing(large)["body"]) == "天河区工业和信息化局"
    assert body_name("street_office:白云区:太和镇") == "白云区太和镇人民政府"
    message = r.refuse(STREET, "reopening.review", review(large, large), "not_routed_to_you")
    assert "天河区工业和信息化局" in message and DEPT in message
    r.refuse(DEPT, "reopening.review", review(small, small), "not_routed_to_you")
    r.refuse(HAIZHU, "reopening.review", review(small, small), "not_routed_to_you")
    r.run(DEPT, "reopening.review", review(large, large))
    r.run(STREET, "reopening.review", review(small, small))
    assert r.filing(small)["inspection_required"] is True
    assert conventional_bodies("nansha-industry-dept") == ("district_department:南沙区",)
    assert conventional_bodies("somebody") == ()


def test_routing_configured_on_chain() -> None:
    r = Rules()
    r.run(
        GOV,
        "reopening.configure",
        {
            "routing": [
                {"min_employees": 1, "to": "street_office"},
                {"min_employees": 100, "to": "district_department"},
            ],
            "inspection_min_employees": 200,
            "bodies": {
                HAIZHU: ["district_department:天河区"],
                STREET: ["street_office:天河区:石牌街道"],
            },
            "note": "test",
        },
    )
    mid = r.run(ACME, "reopening.file", examples.file_payload(employees=150))
    small = r.run(BETA, "reopening.file", examples.file_payload(employees=30, street="猎德街道"))
    assert r.filing(mid)["body"] == "district_department:天河区"
    # by the explicit mapping, HAIZHU acts for the Tianhe department; the naming rule is off
    r.refuse(DEPT, "reopening.review", review(mid, mid), "not_routed_to_you")
    r.run(HAIZHU, "reopening.review", review(mid, mid))
    assert r.filing(mid)["inspection_required"] is False  # fewer than 200 staff
    # STREET acts for 石牌街道 only, not for 猎德街道
    r.refuse(STREET, "reopening.review", review(small, small), "not_routed_to_you")


GENESIS_ROUTING = {
    "routing": [{"min_employees": 1, "to": "district_department"}],
    "inspection_min_employees": 1000,
    "bodies": {STREET: ["district_department:天河区"]},
    "note": "genesis: every filing to the district department",
}


def test_routing_precedence_chain_then_genesis_then_default() -> None:
    params = {"reopening": GENESIS_ROUTING}
    r = Rules(params)
    # genesis params replace the default: 120 staff go to the department, not the street office
    f = r.run(ACME, "reopening.file", examples.file_payload(employees=120))
    assert r.filing(f)["body"] == "district_department:天河区"
    assert rules.effective_routing(r.store, params).source == "genesis"
    # ... and their explicit mapping replaces the naming rule
    r.refuse(DEPT, "reopening.review", review(f, f), "not_routed_to_you")
    r.run(STREET, "reopening.review", review(f, f))
    assert r.filing(f)["inspection_required"] is False  # below the genesis threshold of 1000
    # a reopening.configure on chain replaces genesis params; the newest one is in force
    for to in ("street_office", "district_department", "street_office"):
        r.run(GOV, "reopening.configure", {"routing": [{"min_employees": 1, "to": to}]})
    assert rules.effective_routing(r.store, params).source == "chain"
    g = r.run(BETA, "reopening.file", examples.file_payload(employees=120))
    assert r.filing(g)["body"] == "street_office:天河区:石牌街道"
    r.refuse(DEPT, "reopening.review", review(g, g), "not_routed_to_you")
    r.run(STREET, "reopening.review", review(g, g))  # by the naming rule again
    assert r.filing(g)["inspection_required"] is True  # the configure's default threshold, 21
    assert r.filing(f)["body"] == "district_department:天河区"  # routed when it was filed
    # without either, the default
    assert rules.effective_routing(StateStore(), {}).source == "default"
    assert rules.effective_routing(StateStore(), {"other": 1}) is DEFAULT_ROUTING


def test_genesis_routing_params_are_checked() -> None:
    assert rules.routing_from_params({"reopening": GENESIS_ROUTING}) is not None
    assert rules.routing_from_params({}) is None
    with pytest.raises(RuleViolation) as caught:
        rules.routing_from_params({"reopening": {"routing": [{"min_employees": 5, "to": "x"}]}})
    assert caught.value.code == "invalid_payload"


def test_versions_statuses_and_inspections() -> None:
    r = Rules()
    f = r.run(ACME, "reopening.file", examples.file_payload())
    v2 = r.run(ACME, "reopening.amend", amend(f, f, returning_staff=100))
    r.refuse(ACME, "reopening.amend", amend(f, f, returning_staff=90), "stale_version")
    r.refuse(ACME, "reopening.amend", amend(f, v2, returning_staff=100), "no_change")
    r.refuse(BETA, "reopening.amend", amend(f, v2, returning_staff=90), "not_your_filing")
    r.refuse(ACME, "reopening.amend", amend("ab" * 32, v2), "unknown_filing")
    r.refuse(STREET, "reopening.review", review(f, f), "stale_version")
    r.refuse(STREET, "reopening.inspect", inspect(f), "not_approved")
    r.run(STREET, "reopening.review", review(f, v2, "return"))
    assert r.filing(f)["status"] == "returned"
    r.refuse(STREET, "reopening.review", review(f, v2), "not_pending")
    v3 = r.run(ACME, "reopening.amend", amend(f, v2, returning_staff=80))
    r.run(STREET, "reopening.review", review(f, v3, "reject"))
    v4 = r.run(ACME, "reopening.amend", amend(f, v3, returning_staff=70))  # resubmitted
    assert r.filing(f)["status"] == "pending"
    r.run(STREET, "reopening.review", review(f, v4))
    r.refuse(ACME, "reopening.amend", amend(f, v4, returning_staff=60), "already_approved")
    r.refuse(HAIZHU, "reopening.inspect", inspect(f), "not_your_district")
    r.refuse(STREET, "reopening.inspect", inspect(f, _day(2)), "inspection_date_in_future")
    r.run(STREET, "reopening.inspect", inspect(f, result="rectification_required"))
    r.run(DEPT, "reopening.inspect", inspect(f))  # the district department acts there too
    filing = r.filing(f)
    assert filing["versions"] == [f, v2, v3, v4]
    assert [x["decision"] for x in filing["reviews"]] == ["return", "reject", "approve"]
    assert [x["result"] for x in filing["inspections"]] == ["rectification_required", "passed"]
    versions = [r.store.get("reopening.versions", v) for v in filing["versions"]]
    assert [v["previous"] for v in versions] == [None, f, v2, v3]
    assert [v["content"]["returning_staff"] for v in versions] == [118, 100, 80, 70]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"credit_code": "91350100M000100Y44"}, "invalid_credit_code"),
        ({"planned_date": _day(-1)}, "planned_date_in_past"),
        ({"returning_staff": 119}, "inconsistent_screening"),
        ({"employee_count": 100}, "inconsistent_screening"),
        ({"measures": ["temperature_checks", "disinfection"]}, "missing_required_measure"),
        (
            {"supplies": {**examples.content()["supplies"], "masks": 3}},
            "insufficient_supplies",
        ),
        (
            {"supplies": {**examples.content()["supplies"], "thermometers": 0}},
            "insufficient_supplies",
        ),
        ({"planned_date": "2026-02-30"}, "invalid_payload"),
        ({"district": "福田区"}, "invalid_payload"),
        ({"street": "Shipai"}, "invalid_payload"),
        ({"employee_count": 0}, "invalid_payload"),
        ({"measures": ["masks", "masks"]}, "invalid_payload"),
        ({"staff_names": ["张三"]}, "invalid_payload"),
        ({"name": "   "}, "invalid_payload"),
        ({"plan_sm3": "ABCD"}, "invalid_payload"),
        ({"employee_count": "120"}, "invalid_payload"),
    ],
)
def test_bad_filings(change: dict[str, Any], code: str) -> None:
    r = Rules()
    r.refuse(ACME, "reopening.file", {**examples.file_payload(), **change}, code)


def test_one_filing_per_credit_code() -> None:
    r = Rules()
    payload = examples.file_payload()
    f = r.run(ACME, "reopening.file", payload)
    message = r.refuse(BETA, "reopening.file", payload, "already_filed")
    assert f in message and "reopening.amend" in message


# --- offline verification, without pydantic -------------------------------------------------


def test_verify_reads_a_version_s_content_as_the_schema_does() -> None:
    """verify.py recomputes a version's content from the signed payload with state's content
    fields and defaults, not with the schema: they must be the schema's."""
    fields = schemas.FilingContent.model_fields
    assert frozenset(fields) == CONTENT_FIELDS
    optional = {name: f.default for name, f in fields.items() if not f.is_required()}
    assert optional == dict(CONTENT_DEFAULTS)
    for leave_out in ((), ("plan_summary", "plan_sm3"), ("contact_commitment",)):
        payload = {k: v for k, v in examples.file_payload().items() if k not in leave_out}
        parsed = schemas.FilePayload.model_validate(payload)
        assert signed_content(payload) == rules.content_of(parsed)


def test_offline_verification_needs_no_schema_or_web_library() -> None:
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, ledger.domains.reopening.verify; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'pydantic', 'fastapi', 'starlette', 'sqlalchemy', 'api'}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "[]"


# --- over HTTP, on a real node --------------------------------------------------------------


@cache
def _key(home: Path, member: str) -> PrivateKey:
    return FileKeyStore(home / "keys").signer(member)


class Ledger:
    def __init__(self, node: InProcessNode, consortium: Consortium) -> None:
        self.node = node
        self.home = consortium.home
        self.genesis = consortium.genesis
        self.http = node.http()

    def tx(self, member: str, tx_type: str, payload: dict[str, Any]) -> SignedTransaction:
        return make_transaction(
            _key(self.home, member),
            chain_id=self.genesis.chain_id,
            type=tx_type,
            submitter=member,
            payload=payload,
        )

    def commit(self, member: str, tx_type: str, payload: dict[str, Any]) -> str:
        tx = self.tx(member, tx_type, payload)
        response = self.http.post("/v1/transactions", json=tx.to_wire())
        assert response.status_code == 202, response.text
        deadline = time.monotonic() + 20
        while (status := self.get(f"/v1/transactions/{tx.tx_id}"))["status"] != "committed":
            assert status["status"] == "pending", status
            assert time.monotonic() < deadline
            time.sleep(0.05)
        receipt = self.get(f"/v1/transactions/{tx.tx_id}/receipt")
        assert verify_receipt(receipt, self.genesis).tx_id == tx.tx_id
        assert receipt["transaction"] == tx.to_wire()
        return tx.tx_id

    def get(self, path: str, expect: int = 200, **params: Any) -> Any:
        response = self.http.get(path, params=params or None)
        assert response.status_code == expect, response.text
        return response.json()

    def log_size(self) -> int:
        return int(self.get("/v1/checkpoint")["header"]["log_size"])

    def refuse(self, member: str, tx_type: str, payload: dict[str, Any], code: str) -> None:
        """Refused with 422 and ``code``: reported rejected, no receipt, nothing stored."""
        tx = self.tx(member, tx_type, payload)
        response = self.http.post("/v1/transactions", json=tx.to_wire())
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == code, (tx_type, payload, error)
        assert len(error["message"]) > 20
        status = self.get(f"/v1/transactions/{tx.tx_id}")
        assert status["status"] == "rejected" and status["error"]["code"] == code
        self.get(f"/v1/transactions/{tx.tx_id}/receipt", 404)

    def signed(self, member: str, path: str, headers: dict[str, str] | None = None) -> Any:
        headers = headers or sign_request(_key(self.home, member), member, "GET", path)
        return self.http.get(path, headers=headers)


def _register(ledger: Ledger, members: list[tuple[str, str]]) -> None:
    store = FileKeyStore(ledger.home / "keys")
    for member, role in members:
        public = store.generate(member).hex
        ledger.commit(GOV, "member.register", {"id": member, "roles": [role], "public_key": public})


def _answers(ledger: Ledger, filings: dict[str, str], code: str) -> dict[str, Any]:
    """Every query endpoint's answer (signed reads signed afresh)."""
    queue = f"/v1/reopening/approvers/{STREET}/queue"
    return {
        "config": ledger.get("/v1/reopening/config"),
        "stats": ledger.get("/v1/reopening/stats"),
        "list": ledger.get("/v1/reopening/filings", limit=1000),
        "tianhe": ledger.get("/v1/reopening/filings", district="天河区", status="approved"),
        "filings": {k: ledger.get(f"/v1/reopening/filings/{v}") for k, v in filings.items()},
        "verify": {k: ledger.get(f"/v1/reopening/filings/{v}/verify") for k, v in filings.items()},
        "by_code": ledger.get(f"/v1/reopening/filings/by-code/{code}"),
        "acme": ledger.get(f"/v1/reopening/enterprises/{ACME}/filings"),
        "beta": ledger.get(f"/v1/reopening/enterprises/{BETA}/filings"),
        "queue": ledger.signed(STREET, queue).json(),
        "dept_queue": ledger.signed(GOV, f"/v1/reopening/approvers/{DEPT}/queue").json(),
    }


def test_reopening_over_http(
    consortium: Consortium, db_url: str, start_node: Callable[..., InProcessNode]
) -> None:
    node = start_node(consortium.home, db_url)
    ledger = Ledger(node, consortium)
    _register(ledger, [(DEPT, "approver"), (HAIZHU, "approver"), (BETA, "enterprise")])

    # --- filing, routing, amendment --------------------------------------------------------
    code_a = examples.fresh_credit_code()
    a = ledger.commit(ACME, "reopening.file", examples.file_payload(credit_code=code_a))
    b = ledger.commit(
        BETA,
        "reopening.file",
        examples.file_payload(name="广州贝塔物流有限公司", employees=800, street="猎德街道"),
    )
    filing_a = ledger.get(f"/v1/reopening/filings/{a}")
    assert filing_a["status"] == "pending" and filing_a["enterprise"] == ACME
    assert filing_a["body"] == "street_office:天河区:石牌街道"
    assert filing_a["reviewers"] == [STREET]
    assert ledger.get(f"/v1/reopening/filings/{b}")["reviewers"] == [DEPT]
    a2 = ledger.commit(ACME, "reopening.amend", amend(a, a, returning_staff=90))

    # --- every bad input: 422 with a stable code, nothing stored ----------------------------
    before = (
        ledger.log_size(),
        ledger.get("/v1/reopening/stats"),
        ledger.get(f"/v1/reopening/filings/{a}"),
    )
    good = examples.file_payload()
    bad_files: list[tuple[dict[str, Any], str]] = [
        ({"credit_code": code_a[:17] + ("0" if code_a[17] != "0" else "1")}, "invalid_credit_code"),
        ({"credit_code": "91440106MA5IBCDE5A"}, "invalid_credit_code"),
        ({"credit_code": code_a}, "already_filed"),
        ({"district": "深圳市"}, "invalid_payload"),
        ({"street": "Shipai Street"}, "invalid_payload"),
        ({"planned_date": "2026-13-01"}, "invalid_payload"),
        ({"planned_date": _day(-1)}, "planned_date_in_past"),
        ({"returning_staff": 119}, "inconsistent_screening"),
        ({"measures": ["temperature_checks", "masks"]}, "missing_required_measure"),
        ({"supplies": {**good["supplies"], "masks": 1}}, "insufficient_supplies"),
        ({"staff_roster": ["张三 13800138000"]}, "invalid_payload"),
        ({"v": 2}, "invalid_payload"),
    ]
    for change, code in bad_files:
        ledger.refuse(ACME, "reopening.file", {**good, **change}, code)
    missing = {k: v for k, v in good.items() if k != "supplies"}
    ledger.refuse(ACME, "reopening.file", missing, "invalid_payload")
    ledger.refuse(BETA, "reopening.amend", amend(a, a2, returning_staff=80), "not_your_filing")
    ledger.refuse(ACME, "reopening.amend", amend(a, a, returning_staff=80), "stale_version")
    ledger.refuse(ACME, "reopening.amend", amend(a, a2, returning_staff=90), "no_change")
    ledger.refuse(ACME, "reopening.amend", amend("cd" * 32, a2), "unknown_filing")
    ledger.refuse(STREET, "reopening.review", review(a, a), "stale_version")
    ledger.refuse(STREET, "reopening.review", review(b, b), "not_routed_to_you")
    ledger.refuse(HAIZHU, "reopening.review", review(a, a2), "not_routed_to_you")
    ledger.refuse(STREET, "reopening.review", review(a, a2, "maybe"), "invalid_payload")
    ledger.refuse(
        STREET, "reopening.review", {**review(a, a2), "comment": "   "}, "invalid_payload"
    )
    ledger.refuse(STREET, "reopening.inspect", inspect(a), "not_approved")
    float_body = json.dumps(ledger.tx(ACME, "reopening.file", good).to_wire())
    float_body = float_body.replace('"employee_count": 120', '"employee_count": 120.0')
    response = ledger.http.post(
        "/v1/transactions", content=float_body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "not_canonical"
    after = (
        ledger.log_size(),
        ledger.get("/v1/reopening/stats"),
        ledger.get(f"/v1/reopening/filings/{a}"),
    )
    assert after == before

    # --- the role matrix of the domain's types ----------------------------------------------
    members = [("v1", ("validator",)), *DEMO_MEMBERS]
    allowed = {t: {"enterprise"} for t in TYPES[:2]}
    allowed |= {t: {"approver"} for t in TYPES[2:]} | {"reopening.configure": {"governance"}}
    size = ledger.log_size()
    for tx_type in ALL_TYPES:
        for member, roles in members:
            if not allowed[tx_type] & set(roles):
                ledger.refuse(member, tx_type, review(a, a2), "role_not_allowed")
    assert ledger.log_size() == size

    # --- decisions and inspections -----------------------------------------------------------
    ledger.commit(STREET, "reopening.review", review(a, a2))
    ledger.commit(DEPT, "reopening.review", review(b, b, "return"))
    b2 = ledger.commit(
        BETA,
        "reopening.amend",
        {
            **amend(b, b),
            **examples.content(name="广州贝塔物流有限公司", employees=800, street="猎德街道"),
            "measures": ["temperature_checks", "masks", "disinfection", "isolation_room"],
        },
    )
    ledger.commit(DEPT, "reopening.review", review(b, b2))
    ledger.commit(STREET, "reopening.inspect", inspect(a))
    size = ledger.log_size()
    ledger.refuse(ACME, "reopening.amend", amend(a, a2, returning_staff=70), "already_approved")
    ledger.refuse(STREET, "reopening.review", review(a, a2), "not_pending")
    ledger.refuse(HAIZHU, "reopening.inspect", inspect(a), "not_your_district")
    ledger.refuse(STREET, "reopening.inspect", inspect(a, _day(1)), "inspection_date_in_future")
    ledger.refuse(
        GOV,
        "reopening.configure",
        {"routing": [{"min_employees": 9, "to": "street_office"}]},
        "invalid_payload",
    )
    assert ledger.log_size() == size
    c = ledger.commit(ACME, "reopening.file", examples.file_payload(employees=30))

    # --- queries -------------------------------------------------------------------------------
    filing_a = ledger.get(f"/v1/reopening/filings/{a}")
    assert filing_a["status"] == "approved" and filing_a["inspection"] == "passed"
    assert [v["tx_id"] for v in filing_a["versions"]] == [a, a2]
    assert [v["previous"] for v in filing_a["versions"]] == [None, a]
    assert filing_a["versions"][1]["content"]["returning_staff"] == 90
    assert [r["approver"] for r in filing_a["reviews"]] == [STREET]
    history = ledger.get(f"/v1/reopening/enterprises/{ACME}/filings")["filings"]
    assert [f["filing_id"] for f in history] == [a, c]
    assert [len(f["versions"]) for f in history] == [2, 1]
    stats = ledger.get("/v1/reopening/stats")
    assert stats["total"] == 3
    assert stats["by_status"] == {"pending": 1, "returned": 0, "approved": 2, "rejected": 0}
    assert stats["by_district"]["天河区"] == {
        "total": 3,
        "pending": 1,
        "returned": 0,
        "approved": 2,
        "rejected": 0,
    }
    assert stats["by_district"]["海珠区"]["total"] == 0
    assert ledger.get(f"/v1/reopening/filings/by-code/{code_a}")["filing_id"] == a
    error = ledger.get("/v1/reopening/filings/by-code/91440106MA5ABCDE50", 400)["error"]
    assert error["code"] == "invalid_credit_code"
    valid_unfiled = examples.fresh_credit_code()
    assert (
        ledger.get(f"/v1/reopening/filings/by-code/{valid_unfiled}", 404)["error"]["code"]
        == "no_filing"
    )
    assert (
        ledger.get(f"/v1/reopening/filings/{'ef' * 32}", 404)["error"]["code"] == "unknown_filing"
    )

    # --- verify --------------------------------------------------------------------------------
    report = ledger.get(f"/v1/reopening/filings/{b}/verify")
    assert report["verified"] is True and report["status"] == "approved"
    steps = [s["step"] for s in report["steps"]]
    assert steps[0] == "filing_found" and steps[-1] == "current_status"
    assert {"version_1_receipt", "version_2_content", "version_chain", "review_2_receipt"} <= set(
        steps
    )
    assert all(s["outcome"] == "passed" and s["detail"] for s in report["steps"])
    missing_report = ledger.get(f"/v1/reopening/filings/{'ef' * 32}/verify", 404)["error"]
    assert missing_report["code"] == "unknown_filing"
    assert missing_report["details"]["steps"][0]["outcome"] == "failed"

    # the same checks catch a state that disagrees with what was signed
    view = ledger.get(f"/v1/reopening/filings/{b}")
    tx_ids = [v["tx_id"] for v in view["versions"]] + [r["tx_id"] for r in view["reviews"]]
    receipts = {t: ledger.get(f"/v1/transactions/{t}/receipt") for t in tx_ids}

    def outcomes(filing: Any, versions: Any, receipts: Any) -> dict[str, str]:
        steps = check_filing(filing, versions, receipts, consortium.genesis)
        return {s["step"]: s["outcome"] for s in steps}

    assert set(outcomes(view, view["versions"], receipts).values()) == {"passed"}
    tampered = copy.deepcopy(view["versions"])
    tampered[1]["content"]["employee_count"] = 499  # as if re-routed to the street office
    assert outcomes(view, tampered, receipts)["version_2_content"] == "failed"
    assert (
        outcomes({**view, "status": "rejected"}, view["versions"], receipts)["current_status"]
        == "failed"
    )
    swapped = outcomes(view, view["versions"], {**receipts, b: receipts[b2]})
    assert swapped["version_1_receipt"] == "failed" and swapped["version_chain"] == "failed"
    broken = copy.deepcopy(receipts[b2])
    broken["header"]["tx_count"] += 1
    assert outcomes(view, view["versions"], {**receipts, b2: broken})["version_2_receipt"] == (
        "failed"
    )

    # --- the approver's queue: restricted --------------------------------------------------
    path = f"/v1/reopening/approvers/{STREET}/queue"
    assert ledger.http.get(path).status_code == 401
    assert ledger.signed(ACME, path).status_code == 403
    assert ledger.signed(HAIZHU, path).status_code == 403
    headers = sign_request(_key(ledger.home, STREET), STREET, "GET", path)
    response = ledger.signed(STREET, path, headers)
    assert response.status_code == 200
    queue = response.json()
    assert [f["filing_id"] for f in queue["reviews"]] == [c]
    assert [f["filing_id"] for f in queue["inspections_due"]] == [b]
    replayed = ledger.signed(STREET, path, headers)
    assert replayed.status_code == 401 and replayed.json()["error"]["code"] == "replayed_request"
    assert ledger.signed("gz-audit-bureau", path).status_code == 200
    dept = ledger.signed(DEPT, f"/v1/reopening/approvers/{DEPT}/queue").json()
    assert dept["reviews"] == [] and [f["filing_id"] for f in dept["inspections_due"]] == [b]

    # --- routing set on chain by governance ---------------------------------------------------
    ledger.commit(
        GOV,
        "reopening.configure",
        {
            "routing": [
                {"min_employees": 100, "to": "district_department"},
                {"min_employees": 1, "to": "street_office"},
            ],
            "note": "100 staff or more: district department",
        },
    )
    config = ledger.get("/v1/reopening/config")
    assert config["source"] == "chain" and config["routing"][0]["min_employees"] == 100
    d = ledger.commit(
        BETA, "reopening.file", examples.file_payload(employees=150, street="冼村街道")
    )
    assert ledger.get(f"/v1/reopening/filings/{d}")["body"] == "district_department:天河区"

    # --- replay from genesis: the same answers after a restart; the audit is clean ---------
    filings = {"A": a, "B": b, "C": c, "D": d}
    answers = _answers(ledger, filings, code_a)
    assert answers["verify"]["A"]["verified"] and answers["queue"]["reviews"]
    node.stop()
    again = Ledger(start_node(consortium.home, db_url), consortium)
    assert _answers(again, filings, code_a) == answers
    audit = subprocess.run(
        [sys.executable, "-m", "ledger", "audit", "--home", str(consortium.home), "--db", db_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr


# --- genesis params["reopening"] on a real node ---------------------------------------------


def _set_genesis_params(consortium: Consortium, params: dict[str, Any]) -> Consortium:
    """The consortium with its genesis.json's params replaced (before any node ran on it)."""
    path = consortium.home / "genesis.json"
    wire = json.loads(path.read_text())
    wire["params"] = params
    path.write_text(json.dumps(wire, ensure_ascii=False, indent=2))
    return Consortium(consortium.home, load_genesis(path))


def test_a_malformed_genesis_routing_rule_stops_the_node(
    consortium: Consortium, db_url: str, start_node: Callable[..., InProcessNode]
) -> None:
    @dataclass
    class Settings:
        home: Path

    @dataclass
    class Api:
        settings: Settings

    api = Api(Settings(consortium.home))
    check_genesis_params(api)  # no params: fine
    _set_genesis_params(consortium, {"reopening": GENESIS_ROUTING})
    check_genesis_params(api)  # a valid routing rule: fine
    bad = {"routing": [{"min_employees": 5, "to": "street_office"}]}  # nobody below 5 staff
    _set_genesis_params(consortium, {"reopening": bad})
    with pytest.raises(MalformedData, match=r"params\.reopening .*min_employees 1") as caught:
        check_genesis_params(api)
    assert caught.value.details["problems"]
    with pytest.raises(MalformedData, match=r"params\.reopening"):
        start_node(consortium.home, db_url)


def test_genesis_params_route_filings_on_a_node(
    consortium: Consortium, db_url: str, start_node: Callable[..., InProcessNode]
) -> None:
    """A consortium whose genesis sets params["reopening"]: its node routes by them until a
    reopening.configure replaces them, and a restart (replay from genesis) agrees."""
    c = _set_genesis_params(consortium, {"reopening": GENESIS_ROUTING})
    node = start_node(c.home, db_url)
    ledger = Ledger(node, c)
    assert ledger.get("/v1/genesis")["params"] == {"reopening": GENESIS_ROUTING}
    config = ledger.get("/v1/reopening/config")
    assert config["source"] == "genesis" and config["tx_id"] is None
    assert config["routing"] == GENESIS_ROUTING["routing"]
    assert config["bodies"] == GENESIS_ROUTING["bodies"] and config["naming_rule"] is False
    assert config["inspection_min_employees"] == 1000

    # 120 staff: by default the street office would review it and inspect on site
    f = ledger.commit(ACME, "reopening.file", examples.file_payload(employees=120))
    filing = ledger.get(f"/v1/reopening/filings/{f}")
    assert filing["body"] == "district_department:天河区"
    assert filing["reviewers"] == [STREET]
    ledger.commit(STREET, "reopening.review", review(f, f))
    filing = ledger.get(f"/v1/reopening/filings/{f}")
    assert filing["status"] == "approved" and filing["inspection_required"] is False

    # the newest reopening.configure takes precedence over genesis params
    ledger.commit(
        GOV,
        "reopening.configure",
        {"routing": [{"min_employees": 1, "to": "street_office"}], "note": "all to streets"},
    )
    config = ledger.get("/v1/reopening/config")
    assert config["source"] == "chain" and config["naming_rule"] is True
    g = ledger.commit(ACME, "reopening.file", examples.file_payload(employees=120))
    later = ledger.get(f"/v1/reopening/filings/{g}")
    assert later["body"] == "street_office:天河区:石牌街道" and later["reviewers"] == [STREET]
    assert ledger.get(f"/v1/reopening/filings/{f}")["body"] == "district_department:天河区"
    assert ledger.get(f"/v1/reopening/filings/{f}/verify")["verified"] is True

    # replay from genesis on restart gives the same answers; the audit replays clean
    answers = [ledger.get(p) for p in ("/v1/reopening/config", f"/v1/reopening/filings/{f}")]
    answers.append(ledger.get(f"/v1/reopening/filings/{g}"))
    node.stop()
    again = Ledger(start_node(c.home, db_url), c)
    paths = ("/v1/reopening/config", f"/v1/reopening/filings/{f}", f"/v1/reopening/filings/{g}")
    assert [again.get(p) for p in paths] == answers
    audit = subprocess.run(
        [sys.executable, "-m", "ledger", "audit", "--home", str(c.home), "--db", db_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr
