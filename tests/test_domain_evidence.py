"""Electronic evidence (电子证据存证): deposits, custody, restricted reads, court verification.

Pure tests drive the domain's rules directly; the others run a node over HTTP with real SM2
signatures: deposits of one and many files, the metadata and file store checked
against the chain, the court verification (an original file matches with a receipt the
independent verifier accepts, a tampered one does not), reports re-verified offline, access
control of restricted reads, custody, the role matrix, bad inputs refused with nothing stored,
and replay from genesis after a restart.
"""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from keys import FileKeyStore
from ledger.client import make_transaction
from ledger.consortium import DEMO_MEMBERS
from ledger.crypto import PrivateKey, sm3_hex
from ledger.domains.base import TxContext, parse_payload
from ledger.domains.evidence import demo as ev_demo
from ledger.domains.evidence import rules as ev_rules
from ledger.domains.evidence import schemas as ev_schemas
from ledger.domains.evidence import state as ev_state
from ledger.domains.evidence import verify as ev_verify
from ledger.domains.evidence.demo import Capture, register_metadata, sample_capture, upload_file
from ledger.domains.registry import REGISTRY
from ledger.domains.state import StateStore
from ledger.errors import RuleViolation
from ledger.execution import members_host
from ledger.model import SignedTransaction
from ledger.request_auth import sign_request
from ledger.verify import verify_receipt
from tests import independent_verifier as iv
from tests.conftest import Consortium
from tests.inprocess import InProcessNode

PLATFORM = "evidence-platform"
COURT = "gz-internet-court"
AUDITOR = "gz-audit-bureau"
BIDDER = "bidder-alpha"
ENTERPRISE = "acme-manufacturing"


# --- pure: the files tree, the commitment, the schemas ----------------------------------------


def _mth(leaves: list[bytes]) -> bytes:
    """RFC 9162 MTH written out with the independent verifier's SM3."""
    if len(leaves) == 1:
        return iv.leaf(leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return iv.node(_mth(leaves[:k]), _mth(leaves[k:]))


@pytest.mark.parametrize("n", [1, 2, 3, 5, 8])
def test_files_root_is_rfc9162_over_the_files_sm3_digests(n: int) -> None:
    hashes = [sm3_hex(f"file {i}".encode()) for i in range(n)]
    assert ev_verify.files_root(hashes) == _mth([bytes.fromhex(h) for h in hashes]).hex()
    for i, h in enumerate(hashes):
        path = ev_verify.file_path(hashes, i)
        assert ev_verify.root_from_path(h, i, n, path) == ev_verify.files_root(hashes)
        assert iv.inclusion_root(i, n, iv.leaf(bytes.fromhex(h)), [bytes.fromhex(p) for p in path])
    if n > 1:  # a file's path does not prove another file
        assert ev_verify.root_from_path(
            hashes[1], 0, n, ev_verify.file_path(hashes, 0)
        ) != ev_verify.files_root(hashes)


def test_metadata_commitment_is_sm3_of_salt_and_canonical_json() -> None:
    capture = sample_capture(random.Random(1), 7)
    salt = capture.salt
    assert len(bytes.fromhex(salt)) >= 16
    expected = iv.sm3(bytes.fromhex(salt) + iv.c(capture.metadata)).hex()
    assert ev_verify.metadata_commitment(salt, capture.metadata) == expected
    payload = capture.payload
    assert payload["metadata_commitment"] == expected
    assert payload["file_count"] == len(capture.metadata["files"])
    # no personal data, title, URL or case reference on chain: only hashes and a count
    assert set(payload) == {"v", "files_root", "file_count", "metadata_commitment"}
    ev_schemas.Metadata.model_validate(capture.metadata)


def _problem(tx_type: str, payload: dict[str, Any]) -> str:
    spec = REGISTRY.by_type[tx_type][1]
    with pytest.raises(RuleViolation) as info:
        parse_payload(spec.payload, payload, tx_type)
    assert info.value.code == "invalid_payload"
    return str(info.value.details["problems"][0]["field"])


def test_payload_schemas_refuse_bad_fields_by_name() -> None:
    good = ev_demo.example_deposit_payload()
    parse_payload(ev_schemas.DepositPayload, good, "evidence.deposit")
    cases = {
        "files_root": {**good, "files_root": good["files_root"].upper()},
        "metadata_commitment": {**good, "metadata_commitment": "ab" * 31},
        "file_count": {**good, "file_count": 0},
        "v": {**good, "v": 2},
        "title": {**good, "title": "合同截图"},  # metadata never on chain
        "payload": {},
    }
    for field, payload in cases.items():
        got = _problem("evidence.deposit", payload)
        assert got == field or (
            field == "payload" and got in ev_schemas.DepositPayload.model_fields
        )
    assert _problem("evidence.deposit", {**good, "file_count": "3"}) == "file_count"
    assert _problem("evidence.deposit", {**good, "file_count": True}) == "file_count"
    dep = "ab" * 32
    assert _problem("evidence.custody", {"deposit_id": dep, "kind": "delete"}) == "kind"
    assert _problem("evidence.custody", {"deposit_id": "xyz", "kind": "access"}) == "deposit_id"
    assert _problem("evidence.custody", {"deposit_id": dep, "kind": "transfer"}) == "payload"
    assert _problem("evidence.custody", {"deposit_id": dep, "kind": "seal", "to": COURT})
    # the off-chain metadata document is checked as strictly
    meta = sample_capture(random.Random(2), 1).metadata
    for bad in (
        {**meta, "case_ref": "粤0192民初123号"},
        {**meta, "files": []},
        {**meta, "files": [meta["files"][0], meta["files"][0]]},
        {**meta, "files": [{**meta["files"][0], "media_type": "PNG"}]},
        {**meta, "provenance": {**meta["provenance"], "captured_at": "yesterday"}},
        {**meta, "provenance": {k: v for k, v in meta["provenance"].items() if k != "tool"}},
    ):
        with pytest.raises(ValueError):
            ev_schemas.Metadata.model_validate(bad)


# --- pure: the rules of custody ----------------------------------------------------------------

_KEY = PrivateKey.generate()
ROLES_OF = {
    PLATFORM: ("depositor",),
    "other-platform": ("depositor",),
    COURT: ("court",),
    "second-court": ("court",),
    AUDITOR: ("auditor",),
}


class Rules:
    def __init__(self) -> None:
        self.state = StateStore()
        self.height = 0

    def run(self, member: str, tx_type: str, payload: dict[str, Any]) -> str:
        tx = make_transaction(
            _KEY, chain_id="test", type=tx_type, submitter=member, payload=payload
        )
        _, spec = REGISTRY.by_type[tx_type]
        parsed = parse_payload(spec.payload, payload, tx_type)
        self.height += 1
        view = self.state.overlay()
        ctx = TxContext(
            tx, self.height, 1_000 * self.height, ROLES_OF[member], {}, members_host({})
        )
        spec.run(view, ctx, parsed)
        view.commit()
        return tx.tx_id

    def refuse(self, member: str, payload: dict[str, Any], code: str) -> None:
        before = copy.deepcopy(self.state.data)
        with pytest.raises(RuleViolation) as info:
            self.run(member, "evidence.custody", payload)
        assert info.value.code == code, info.value.message
        assert self.state.data == before

    def record(self, deposit_id: str) -> dict[str, Any]:
        value: dict[str, Any] = self.state.get(ev_state.DEPOSITS, deposit_id)
        return value


def test_custody_rules() -> None:
    r = Rules()
    dep = r.run(PLATFORM, "evidence.deposit", ev_demo.example_deposit_payload())
    rec = r.record(dep)
    assert (rec["depositor"], rec["custodian"], rec["status"]) == (PLATFORM, PLATFORM, "active")
    assert rec["time_ms"] == 1_000 and rec["height"] == 1

    def c(kind: str, **extra: Any) -> dict[str, Any]:
        return {"deposit_id": dep, "kind": kind, **extra}

    r.refuse(PLATFORM, {"deposit_id": "cd" * 32, "kind": "access"}, "unknown_deposit")
    # who may record which kind
    r.refuse(PLATFORM, c("seal"), "custody_kind_not_allowed")
    r.refuse(AUDITOR, c("transfer", to=COURT), "custody_kind_not_allowed")
    r.refuse(AUDITOR, c("cease_processing"), "custody_kind_not_allowed")
    r.refuse("other-platform", c("access"), "not_custodian")
    r.refuse("other-platform", c("transfer", to="other-platform"), "not_custodian")
    r.refuse("other-platform", c("cease_processing"), "not_custodian")
    r.refuse(PLATFORM, c("transfer", to=PLATFORM), "transfer_to_self")
    r.refuse(COURT, c("unseal"), "not_sealed")
    for member in (PLATFORM, COURT, AUDITOR):
        r.run(member, "evidence.custody", c("access"))
    # transfer to another platform: the new custodian may act, the old one still reads
    r.run(PLATFORM, "evidence.custody", c("transfer", to="other-platform"))
    assert r.record(dep)["custodian"] == "other-platform"
    r.refuse(PLATFORM, c("transfer", to=COURT), "not_custodian")
    r.run(PLATFORM, "evidence.custody", c("access"))
    r.run("other-platform", "evidence.custody", c("transfer", to=COURT))
    # sealing by a court: only courts and auditors access; no transfer; only the sealer unseals
    r.run(COURT, "evidence.custody", c("seal", details_commitment="ef" * 32))
    assert r.record(dep)["sealed_by"] == COURT
    r.refuse(COURT, c("seal"), "already_sealed")
    r.refuse(PLATFORM, c("access"), "evidence_sealed")
    r.refuse(COURT, c("transfer", to="second-court"), "evidence_sealed")
    r.refuse("second-court", c("unseal"), "not_sealing_court")
    r.run(AUDITOR, "evidence.custody", c("access"))
    r.run("second-court", "evidence.custody", c("access"))
    r.run(COURT, "evidence.custody", c("unseal"))
    # cease processing (PIPL Art. 47): the record stays; only courts and auditors go on
    r.run(PLATFORM, "evidence.custody", c("cease_processing"))
    r.refuse(PLATFORM, c("cease_processing"), "already_ceased")
    r.refuse(PLATFORM, c("access"), "processing_ceased")
    r.refuse(COURT, c("transfer", to="second-court"), "processing_ceased")
    r.run(COURT, "evidence.custody", c("access"))
    r.run(COURT, "evidence.custody", c("seal"))
    rec = r.record(dep)
    assert rec["status"] == "processing_ceased" and rec["files_root"]
    kinds = [(e["seq"], e["kind"], e["by"]) for e in rec["custody"]]
    assert kinds[0] == (0, "access", PLATFORM) and kinds[-1][1:] == ("seal", COURT)
    assert [e["seq"] for e in rec["custody"]] == list(range(len(kinds)))
    assert rec["custody"][3]["kind"] == "transfer" and rec["custody"][3]["to"] == "other-platform"
    assert r.state.get("evidence.stats", "totals") == {"deposits": 1, "files": 1}
    # no type deletes evidence
    assert set(ev_rules.domain.specs) == {"evidence.deposit", "evidence.custody"}
    assert ev_rules.domain.specs["evidence.deposit"].roles == {"depositor", "court"}
    assert ev_rules.domain.specs["evidence.custody"].roles == {"depositor", "court", "auditor"}
    union = frozenset().union(*ev_rules.KIND_ROLES.values())
    assert union == ev_rules.domain.specs["evidence.custody"].roles


# --- over HTTP ---------------------------------------------------------------------------------


class Evidence:
    """A running node seen over HTTP, with the consortium's keys."""

    def __init__(self, node: InProcessNode, consortium: Consortium) -> None:
        self.node, self.consortium = node, consortium
        self.http = node.http()
        self.client = node.client()
        self.keys = FileKeyStore(consortium.home / "keys")
        self.genesis_wire = self.http.get("/v1/genesis").json()

    def close(self) -> None:
        self.http.close()
        self.client.close()

    def tx(self, member: str, tx_type: str, payload: dict[str, Any]) -> SignedTransaction:
        return make_transaction(
            self.keys.signer(member),
            chain_id=self.consortium.genesis.chain_id,
            type=tx_type,
            submitter=member,
            payload=payload,
        )

    def commit(self, tx: SignedTransaction) -> dict[str, Any]:
        receipt: dict[str, Any] = self.client.submit_and_wait(tx)
        verify_receipt(receipt, self.consortium.genesis)
        assert iv.verify(receipt, self.genesis_wire) == 0
        return receipt

    def deposit(self, member: str, capture: Capture) -> str:
        tx = self.tx(member, "evidence.deposit", capture.payload)
        self.commit(tx)
        return tx.tx_id

    def signed(
        self,
        member: str,
        method: str,
        path: str,
        body: bytes = b"",
        *,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        signed = sign_request(self.keys.signer(member), member, method, path, body)
        return self.http.request(method, path, content=body, headers={**signed, **(headers or {})})

    def verify(
        self,
        deposit_id: str,
        data: bytes | None = None,
        *,
        sm3: str | None = None,
        name: str = "evidence.bin",
        file_index: int | None = None,
        member: str | None = None,
    ) -> httpx.Response:
        if data is None:
            body: dict[str, Any] = {"deposit_id": deposit_id, "sm3": sm3}
            if file_index is not None:
                body["file_index"] = file_index
            raw = json.dumps(body).encode()
            request = self.http.build_request(
                "POST",
                "/v1/evidence/verify",
                content=raw,
                headers={"content-type": "application/json"},
            )
        else:
            form = {"deposit_id": deposit_id}
            if file_index is not None:
                form["file_index"] = str(file_index)
            request = self.http.build_request(
                "POST", "/v1/evidence/verify", data=form, files={"file": (name, data)}
            )
        if member is not None:
            content = request.read()
            request.headers.update(
                sign_request(
                    self.keys.signer(member), member, "POST", "/v1/evidence/verify", content
                )
            )
        return self.http.send(request)

    def log_size(self) -> int:
        return int(self.http.get("/v1/checkpoint").json()["header"]["log_size"])


def error_code(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"], error
    return str(error["code"])


@pytest.fixture
def evidence(node: InProcessNode, consortium: Consortium) -> Any:
    e = Evidence(node, consortium)
    yield e
    e.close()


def _steps(body: dict[str, Any]) -> dict[str, str]:
    return {s["step"]: s["outcome"] for s in body["steps"]}


def test_deposit_verify_restricted_reads_custody_and_replay(
    evidence: Evidence,
    consortium: Consortium,
    db_url: str,
    start_node: Callable[..., InProcessNode],
) -> None:
    e = evidence
    rng = random.Random(20260301)
    # a web capture of several files by the platform, one contract by the court itself
    web = sample_capture(rng, 1)
    while len(web.files) < 3:
        web = sample_capture(rng, 1)
    contract = sample_capture(rng, 2)
    while len(contract.files) != 1:
        contract = sample_capture(rng, 2)
    web_id = e.deposit(PLATFORM, web)
    court_id = e.deposit(COURT, contract)
    public = e.http.get(f"/v1/evidence/deposits/{web_id}").json()
    assert (
        public["file_count"] == len(web.files) and public["files_root"] == web.payload["files_root"]
    )
    assert public["depositor"] == PLATFORM and public["metadata_registered"] is False
    receipt = e.client.receipt(web_id)
    assert public["deposit_time_ms"] == receipt["header"]["timestamp"]
    assert public["height"] == receipt["header"]["height"]
    assert "title" not in json.dumps(public) and web.metadata["title"] not in json.dumps(public)

    # --- metadata: only the depositor registers it, only the committed document is taken
    meta_path = f"/v1/evidence/deposits/{web_id}/metadata"
    body = json.dumps({"salt": web.salt, "metadata": web.metadata}).encode()
    assert error_code(e.http.put(meta_path, content=body), 401) == "unauthenticated"
    assert error_code(e.signed(COURT, "PUT", meta_path, body), 403) == "forbidden"
    other_salt = json.dumps({"salt": ev_schemas.new_salt(), "metadata": web.metadata}).encode()
    assert (
        error_code(e.signed(PLATFORM, "PUT", meta_path, other_salt), 422)
        == "metadata_commitment_mismatch"
    )
    altered = {**web.metadata, "title": web.metadata["title"] + "（补充）"}
    altered_body = json.dumps({"salt": web.salt, "metadata": altered}).encode()
    assert (
        error_code(e.signed(PLATFORM, "PUT", meta_path, altered_body), 422)
        == "metadata_commitment_mismatch"
    )
    malformed = json.dumps({"salt": "00", "metadata": web.metadata}).encode()
    assert error_code(e.signed(PLATFORM, "PUT", meta_path, malformed), 400) == "invalid_metadata"
    assert e.signed(PLATFORM, "PUT", meta_path, body).status_code == 201
    assert e.signed(PLATFORM, "PUT", meta_path, body).status_code == 200  # idempotent
    unknown_meta = f"/v1/evidence/deposits/{'ee' * 32}/metadata"
    assert error_code(e.signed(PLATFORM, "PUT", unknown_meta, body), 404) == "unknown_deposit"
    register_metadata(e.client, e.keys.signer(COURT), COURT, court_id, contract)

    # --- files: checked against the deposit's list, stored by SM3 under the node's home
    name0, _, data0 = web.files[0]
    files_path = f"/v1/evidence/deposits/{web_id}/files"
    tampered = bytearray(data0)
    tampered[len(tampered) // 2] ^= 0x01
    tampered_bytes = bytes(tampered)
    assert (
        error_code(e.signed(PLATFORM, "PUT", f"{files_path}/{sm3_hex(data0)}", tampered_bytes), 422)
        == "file_hash_mismatch"
    )
    assert (
        error_code(
            e.signed(PLATFORM, "PUT", f"{files_path}/{sm3_hex(tampered_bytes)}", tampered_bytes),
            422,
        )
        == "file_not_in_deposit"
    )
    assert error_code(e.signed(AUDITOR, "PUT", f"{files_path}/{sm3_hex(data0)}", data0), 403)
    for _, _, data in web.files:
        assert upload_file(e.client, e.keys.signer(PLATFORM), PLATFORM, web_id, data)["stored"]
    h0 = sm3_hex(data0)
    assert (consortium.home / "files" / h0[:2] / h0[2:4] / h0).read_bytes() == data0

    # --- court verification: the original matches, the tampered copy does not
    match = e.verify(web_id, data0, name=name0)
    assert match.status_code == 200, match.text
    m = match.json()
    assert m["result"] == "match" and m["file"] == {"sm3": h0, "index": 0, "size": len(data0)}
    assert m["height"] == receipt["header"]["height"] and m["tx_id"] == web_id
    assert m["deposit_time_ms"] == receipt["header"]["timestamp"]
    assert m["receipt"] == receipt
    assert iv.verify(m["receipt"], e.genesis_wire) == 0
    verify_receipt(m["receipt"], consortium.genesis)
    hashes = [f["sm3"] for f in web.metadata["files"]]
    assert m["merkle_path"] == ev_verify.file_path(hashes, 0)
    assert _steps(m) == {
        "deposit": "passed",
        "receipt": "passed",
        "file_hash": "passed",
        "file_list": "passed",
        "file_in_deposit": "passed",
        "deposit_time": "passed",
        "status": "info",
    }
    assert all(isinstance(s["detail"], str) and s["detail"] for s in m["steps"])
    assert "metadata" not in m["report"] and "file_hashes" not in m["report"]  # public
    offline = ev_verify.verify_report(m["report"], e.genesis_wire)
    assert offline["valid"] and offline["result"] == "match", offline
    assert ev_verify.verify_report(json.loads(json.dumps(m["report"])), consortium.genesis)["valid"]

    bad = e.verify(web_id, tampered_bytes, name=name0)
    b = bad.json()
    assert bad.status_code == 200 and b["result"] == "mismatch"
    assert b["merkle_path"] is None and b["file"]["index"] is None
    assert _steps(b)["file_in_deposit"] == "failed" and _steps(b)["receipt"] == "passed"
    assert h0 not in json.dumps(b)  # the public answer does not give out deposited hashes
    offline_bad = ev_verify.verify_report(b["report"], e.genesis_wire)
    assert offline_bad["result"] == "mismatch"
    assert {s["step"]: s["outcome"] for s in offline_bad["steps"]}["file_in_deposit"] == "skipped"

    # every file of the multi-file deposit has its own path to the same root
    for i, (_, _, data) in enumerate(web.files):
        r = e.verify(web_id, sm3=sm3_hex(data)).json()
        assert r["result"] == "match" and r["file"]["index"] == i, r
        assert (
            ev_verify.root_from_path(sm3_hex(data), i, len(web.files), r["merkle_path"])
            == (web.payload["files_root"])
        )
        assert ev_verify.verify_report(r["report"], e.genesis_wire)["valid"]
    wrong_slot = e.verify(web_id, sm3=sm3_hex(web.files[1][2]), file_index=0).json()
    assert wrong_slot["result"] == "mismatch" and "file 0" in wrong_slot["steps"][4]["detail"]
    # a single-file deposit
    single = e.verify(court_id, contract.files[0][2]).json()
    assert single["result"] == "match" and single["merkle_path"] == []
    assert ev_verify.verify_report(single["report"], e.genesis_wire)["valid"]

    # signed by a court: the report carries the file list, metadata and salt, all re-verified
    full = e.verify(web_id, tampered_bytes, name=name0, member=COURT).json()
    assert full["result"] == "mismatch"
    assert full["steps"][4]["data"] == {"expected_index": 0, "expected_sm3": h0}
    assert name0 in full["steps"][4]["detail"]
    checked = ev_verify.verify_report(full["report"], e.genesis_wire)
    assert checked["valid"], checked
    outcomes = {s["step"]: s["outcome"] for s in checked["steps"]}
    assert outcomes["file_in_deposit"] == outcomes["metadata"] == "passed"
    full_match = e.verify(web_id, data0, member=COURT).json()
    assert full_match["file"]["name"] == name0 and _steps(full_match)["provenance"] == "passed"
    checked = ev_verify.verify_report(full_match["report"], e.genesis_wire)
    assert checked["valid"], checked
    assert {s["step"] for s in checked["steps"]} >= {"metadata", "provenance_time", "receipt"}
    assert error_code(e.verify(web_id, data0, member=BIDDER), 403) == "forbidden"

    # a tampered report does not re-verify
    report = full_match["report"]
    tampers: dict[str, Callable[[dict[str, Any]], None]] = {
        "file": lambda r: r["file"].update(sm3=sm3_hex(tampered_bytes)),
        "path": lambda r: r["merkle_path"].__setitem__(0, "00" * 32),
        "time": lambda r: r["deposit"].update(time_ms=r["deposit"]["time_ms"] - 86_400_000),
        "receipt": lambda r: r["receipt"]["header"].update(timestamp=1),
        "metadata": lambda r: r["metadata"].update(title="另一份证据"),
        "count": lambda r: r.update(file_count=r["file_count"] + 1),
        "deposit": lambda r: r.update(deposit_id=court_id),
        "mismatch": lambda r: r.update(result="mismatch"),
    }
    for what, tamper in tampers.items():
        forged = copy.deepcopy(report)
        tamper(forged)
        outcome = ev_verify.verify_report(forged, e.genesis_wire)
        assert not outcome["valid"], what
        assert any(s["outcome"] == "failed" for s in outcome["steps"]), what
    assert not ev_verify.verify_report({"type": "something else"}, e.genesis_wire)["valid"]
    # the command a court runs offline
    report_file = consortium.home / "report.json"
    report_file.write_text(json.dumps(report, ensure_ascii=False))
    cli = [sys.executable, "-m", "ledger.domains.evidence", str(report_file)]
    ok = subprocess.run([*cli, str(consortium.home / "genesis.json")], capture_output=True)
    assert ok.returncode == 0 and b"VALID" in ok.stdout, ok.stdout + ok.stderr
    report_file.write_text(json.dumps({**report, "files_root": "00" * 32}))
    assert subprocess.run([*cli, str(consortium.home / "genesis.json")]).returncode == 1

    # unknown deposit, malformed requests
    unknown = e.verify("ab" * 32, data0)
    assert error_code(unknown, 404) == "unknown_deposit"
    assert "deposit" in unknown.json()["error"]["message"]
    assert error_code(e.verify("ab" * 32, sm3=h0), 404) == "unknown_deposit"
    assert error_code(e.http.get(f"/v1/evidence/deposits/{'ab' * 32}"), 404) == "unknown_deposit"
    assert error_code(e.verify("xyz", sm3=h0), 400) == "bad_verify_request"
    assert error_code(e.verify(web_id, sm3="00"), 400) == "bad_verify_request"
    assert error_code(e.verify(web_id, sm3=h0, file_index=9), 400) == "bad_file_index"
    assert (
        error_code(e.http.post("/v1/evidence/verify", content=b"deposit_id=x"), 400)
        == "bad_verify_request"
    )

    # --- restricted reads: unsigned 401, wrong role 403, right member 200, replay 401
    def read(member: str | None, path: str) -> httpx.Response:
        return e.http.get(path) if member is None else e.signed(member, "GET", path)

    file_path = f"{files_path}/{h0}"
    for path in (meta_path, file_path, "/v1/evidence/deposits"):
        assert error_code(read(None, path), 401) == "unauthenticated"
        assert error_code(read(BIDDER, path), 403) == "forbidden"
        for member in (PLATFORM, COURT, AUDITOR):
            assert read(member, path).status_code == 200, (member, path)
    got = read(COURT, meta_path).json()
    assert got["metadata"] == web.metadata and got["salt"] == web.salt
    assert got["commitment_verified"] is True and all(got["files_stored"])
    served = read(AUDITOR, file_path)
    assert served.content == data0 and served.headers["content-type"].startswith("image/png")
    assert served.headers["x-evidence-sm3"] == h0
    headers = sign_request(e.keys.signer(COURT), COURT, "GET", meta_path)
    assert e.http.get(meta_path, headers=headers).status_code == 200
    assert error_code(e.http.get(meta_path, headers=headers), 401) == "replayed_request"
    forged = {**headers, "X-Ledger-Member": AUDITOR}
    assert error_code(e.http.get(meta_path, headers=forged), 401) == "bad_request_signature"
    # another depositor reads nothing of this deposit
    notary_key = e.keys.generate("gz-notary")
    e.commit(
        e.tx(
            "gz-gov-service-bureau",
            "member.register",
            {"id": "gz-notary", "roles": ["depositor"], "public_key": notary_key.hex},
        )
    )
    assert error_code(read("gz-notary", meta_path), 403) == "forbidden"
    assert read("gz-notary", "/v1/evidence/deposits").json()["deposits"] == []
    case_query = "/v1/evidence/deposits?case_ref=" + quote(web.metadata.get("case_ref", "x"))
    listed = read(COURT, case_query)
    if "case_ref" in web.metadata:
        assert [d["deposit_id"] for d in listed.json()["deposits"]] == [web_id]
    mine = read(PLATFORM, "/v1/evidence/deposits").json()["deposits"]
    assert [d["deposit_id"] for d in mine] == [web_id]
    assert mine[0]["title"] == web.metadata["title"]
    logged = read(AUDITOR, "/v1/access-log").json()["entries"]
    reads = [(e["reader"], e["action"]) for e in logged]
    assert (AUDITOR, "GET /v1/evidence/deposits/{deposit_id}/metadata as auditor") in reads
    assert (COURT, "GET /v1/evidence/deposits/{deposit_id}/metadata as court") in reads

    # --- custody on chain: access, transfer, seal, cease processing
    def custody(member: str, deposit_id: str, kind: str, **extra: Any) -> dict[str, Any]:
        payload = {"deposit_id": deposit_id, "kind": kind, **extra}
        return e.commit(e.tx(member, "evidence.custody", payload))

    custody(COURT, web_id, "access")
    custody(PLATFORM, web_id, "transfer", to=COURT)
    custody(COURT, web_id, "seal", details_commitment=sm3_hex(b"order"))
    assert error_code(read(PLATFORM, meta_path), 403) == "evidence_sealed"
    assert read(AUDITOR, meta_path).status_code == 200
    custody(COURT, web_id, "unseal")
    assert read(PLATFORM, meta_path).status_code == 200
    custody(COURT, web_id, "cease_processing")
    for path in (meta_path, file_path):
        assert error_code(read(PLATFORM, path), 403) == "processing_ceased"
        assert read(COURT, path).status_code == 200
    state = e.http.get(f"/v1/evidence/deposits/{web_id}").json()
    assert state["status"] == "processing_ceased" and state["custodian"] == COURT
    assert [c["kind"] for c in state["custody"]] == [
        "access",
        "transfer",
        "seal",
        "unseal",
        "cease_processing",
    ]
    for event in state["custody"]:
        assert iv.verify(e.client.receipt(event["tx_id"]), e.genesis_wire) == 0
    # still verifiable: processing for the court's verification of a presented file
    assert e.verify(web_id, data0).json()["result"] == "match"

    # --- a few deposits from the demo generator, then replay from genesis
    from ledger.domains.evidence import demo as evidence_demo

    seen: list[int] = []
    made = evidence_demo.generate(e.client, consortium.home, 6, seen.append)
    assert made >= 6 and seen and seen[-1] == made

    def snapshot(node: InProcessNode) -> dict[str, Any]:
        with node.http() as http:
            out: dict[str, Any] = {"stats": http.get("/v1/evidence/stats").json()}
            ids = []
            for row in e.signed(AUDITOR, "GET", "/v1/evidence/deposits").json()["deposits"]:
                ids.append(row["deposit_id"])
            for deposit_id in ids:
                out[deposit_id] = http.get(f"/v1/evidence/deposits/{deposit_id}").json()
                out["meta " + deposit_id] = e.signed(
                    AUDITOR, "GET", f"/v1/evidence/deposits/{deposit_id}/metadata"
                ).json()
            out["verify"] = {k: v for k, v in e.verify(web_id, data0).json().items()}
            del out["verify"]["report"]["checked_at_ms"]
            return out

    assert len(snapshot(e.node)) >= 9
    e.node.settle()
    before = snapshot(e.node)
    assert before["stats"]["deposits"] == 8
    e.node.stop()
    restarted = start_node(consortium.home, db_url)
    e.http = restarted.http()
    assert snapshot(restarted) == before
    restarted.stop()
    audit = subprocess.run(
        [sys.executable, "-m", "ledger", "audit", "--home", str(consortium.home), "--db", db_url],
        capture_output=True,
    )
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_role_matrix_and_bad_inputs_are_refused_with_nothing_stored(
    evidence: Evidence, consortium: Consortium
) -> None:
    e = evidence
    rng = random.Random(5)
    capture = sample_capture(rng, 1)
    while len(capture.files) < 2:
        capture = sample_capture(rng, 1)
    deposit_id = e.deposit(PLATFORM, capture)
    # without the registered file list a file of a multi-file deposit cannot be placed
    data = capture.files[1][2]
    unplaced = e.verify(deposit_id, data).json()
    assert unplaced["result"] == "undetermined" and unplaced["merkle_path"] is None
    assert _steps(unplaced)["file_list"] == "failed"
    assert not ev_verify.verify_report(unplaced["report"], e.genesis_wire)["valid"]
    members = [m for m, _ in DEMO_MEMBERS] + ["v1"]
    allowed = {
        "evidence.deposit": {PLATFORM, COURT},
        "evidence.custody": {PLATFORM, COURT, AUDITOR},
    }
    accepted: list[SignedTransaction] = []
    refused: list[tuple[SignedTransaction, str]] = []
    for member in members:
        for tx_type, who in allowed.items():
            payload = (
                ev_demo.example_deposit_payload()
                if tx_type == "evidence.deposit"
                else {"deposit_id": deposit_id, "kind": "access"}
            )
            tx = e.tx(member, tx_type, payload)
            (accepted.append(tx) if member in who else refused.append((tx, "role_not_allowed")))
    good = ev_demo.example_deposit_payload()
    bad_payloads = [
        {**good, "files_root": "AB" * 32},
        {**good, "files_root": "ab" * 31},
        {**good, "file_count": 0},
        {**good, "file_count": "2"},
        {k: v for k, v in good.items() if k != "metadata_commitment"},
        {**good, "case_ref": "(2026)粤0192民初123号"},
        {**good, "v": 2},
        {"sha3": "ab" * 32},
    ]
    for payload in bad_payloads:
        refused.append((e.tx(PLATFORM, "evidence.deposit", payload), "invalid_payload"))
    custody_bad = [
        ({"deposit_id": "cd" * 32, "kind": "access"}, COURT, "unknown_deposit"),
        ({"deposit_id": deposit_id, "kind": "erase"}, PLATFORM, "invalid_payload"),
        ({"deposit_id": deposit_id, "kind": "transfer"}, PLATFORM, "invalid_payload"),
        ({"deposit_id": deposit_id, "kind": "seal"}, PLATFORM, "custody_kind_not_allowed"),
        ({"deposit_id": deposit_id, "kind": "unseal"}, COURT, "not_sealed"),
        (
            {"deposit_id": deposit_id, "kind": "transfer", "to": PLATFORM},
            PLATFORM,
            "transfer_to_self",
        ),
        (
            {"deposit_id": deposit_id, "kind": "cease_processing"},
            AUDITOR,
            "custody_kind_not_allowed",
        ),
    ]
    for payload, member, code in custody_bad:
        refused.append((e.tx(member, "evidence.custody", payload), code))
    refused.append((e.tx(PLATFORM, "evidence.delete", {"deposit_id": deposit_id}), "unknown_type"))

    size = e.log_size()
    for tx, code in refused:
        response = e.http.post("/v1/transactions", json=tx.to_wire())
        assert response.status_code == 422, (tx.envelope.type, tx.envelope.submitter)
        assert response.json()["error"]["code"] == code, (response.text, code)
    e.node.settle()
    assert e.log_size() == size
    for tx, code in refused:
        status = e.client.status(tx.tx_id)
        assert status["status"] == "rejected" and status["error"]["code"] == code
        assert error_code(e.http.get(f"/v1/transactions/{tx.tx_id}/receipt"), 404) == (
            "receipt_not_found"
        )
    a_float = e.tx(PLATFORM, "evidence.deposit", good).to_wire()
    raw = json.dumps(a_float).replace(f'"file_count": {good["file_count"]}', '"file_count": 1.0')
    response = e.http.post(
        "/v1/transactions", content=raw, headers={"content-type": "application/json"}
    )
    assert error_code(response, 400) == "not_canonical"
    assert e.http.get(f"/v1/evidence/deposits/{deposit_id}").json()["custody"] == []
    for tx in accepted:
        e.commit(tx)
    assert e.log_size() == size + len(accepted)
    state = e.http.get(f"/v1/evidence/deposits/{deposit_id}").json()
    assert sorted(c["by"] for c in state["custody"]) == sorted([AUDITOR, COURT, PLATFORM])
    assert e.http.get("/v1/evidence/stats").json()["deposits"] == 3
    register_metadata(e.client, e.keys.signer(PLATFORM), PLATFORM, deposit_id, capture)
    placed = e.verify(deposit_id, data).json()
    assert placed["result"] == "match" and placed["file"]["index"] == 1
