"""The verification portal: pages at ``/``, their verification endpoints, and the reports.

The pages are static HTML, CSS and plain JavaScript shipped in ``api/portal/static`` and served
by the node itself with ``Content-Security-Policy: default-src 'self'``: no CDN, no request
beyond the node, so the portal works on a closed network. One HTML shell serves every page
path; ``app.js`` draws the page the path names, in Chinese or English.

Endpoints (JSON unless said):

* ``POST /v1/verify/receipt``: a receipt (or ``{"receipt": ..., "genesis": ...}``) → every
  step of spec section 6 with its outcome and a plain sentence (en, zh).
* ``POST /v1/verify/evidence``: ``{"sm3", "deposit_id"?, "file_name"?}`` → the five steps
  (hash computed, deposit found, inclusion proof, validator signatures, deposit time). The
  SM3 was computed in the browser; the file is never sent.
* ``GET /v1/reports/{tx_id}.pdf`` (``?sm3=&file_name=`` for an evidence file): the printable
  report signed by the node's validator key; ``.json`` gives the signed document alone.
* ``POST /v1/reports/verify``: a report PDF as the body → its checks against this node's
  genesis (offline: ``ledger report-verify``).

See docs/portal.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from api import explorer
from api.domain_support import read_body
from api.domains.evidence import deposit_record, verify_deposit_file
from api.evidence_store import store_of
from api.host_check import public_url
from api.routes import signing_identity
from ledger.canonical import parse_json
from ledger.errors import InvalidInput, LedgerError, MalformedData, NotFound, Unavailable
from ledger.model import Genesis
from ledger.node import Node
from ledger.report import (
    build_report,
    check_receipt,
    evidence_not_found,
    evidence_result,
    evidence_steps,
    render_pdf,
    sign_report,
    verify_report_pdf,
)

router = APIRouter()
router.include_router(explorer.router)

STATIC = resources.files("api.portal") / "static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
}
PAGE_PATHS = (
    "/",
    "/verify/evidence",
    "/verify/receipt",
    "/verify/card",
    "/verify/report",
    "/tenders",
    "/tenders/{code}",
    "/explorer",
    "/explorer/search",
    "/explorer/block/{height}",
    "/explorer/tx/{tx_id}",
    "/status",
)
TX_ID = Path(pattern="^[0-9a-f]{64}$", description="hex SM3 of the canonical envelope")
HEX64 = "^[0-9a-f]{64}$"
MAX_RECEIPT_BYTES = 4 * 1024 * 1024
MAX_REPORT_BYTES = 16 * 1024 * 1024
_STATIC_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


def _node(request: Request) -> Node:
    node: Node = request.app.state.runtime.node
    return node


def _static(name: str) -> bytes:
    return (STATIC / name).read_bytes()


def _page() -> Response:
    return Response(
        _static("index.html"),
        media_type=MEDIA_TYPES[".html"],
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )


for _path in PAGE_PATHS:
    router.add_api_route(
        _path, _page, methods=["GET"], include_in_schema=False, response_class=Response
    )


@router.get("/portal/{name}", include_in_schema=False)
def static_file(name: str) -> Response:
    suffix = name[name.rfind(".") :] if "." in name else ""
    if not _STATIC_NAME.match(name) or suffix not in MEDIA_TYPES:
        raise NotFound(f"no portal file {name!r}")
    item = STATIC / name
    if not item.is_file():
        raise NotFound(f"no portal file {name!r}")
    return Response(
        item.read_bytes(),
        media_type=MEDIA_TYPES[suffix],
        headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
    )


# --- receipts ------------------------------------------------------------------------------------


@router.post("/v1/verify/receipt", tags=["verify"])
async def verify_receipt_steps(request: Request) -> dict[str, Any]:
    """Check a receipt step by step (spec section 6) against this node's genesis, or against
    the genesis given as ``{"receipt": ..., "genesis": ...}``. Always ``200`` with the steps
    when the body is JSON; ``valid`` is true when every step passed."""
    node = _node(request)
    body = await read_body(request, MAX_RECEIPT_BYTES)
    try:
        value = parse_json(body)
    except LedgerError as exc:
        value = None
        bad_json: LedgerError | None = exc
    else:
        bad_json = None
    genesis = node.genesis
    trusted = "node"
    if isinstance(value, Mapping) and set(value) <= {"receipt", "genesis"} and "receipt" in value:
        if "genesis" in value:
            try:
                genesis = Genesis.from_wire(dict(value["genesis"]))
            except (LedgerError, TypeError, ValueError) as exc:
                raise MalformedData(f"genesis: {exc}", code="bad_genesis") from None
            trusted = "given"
        value = value["receipt"]
    if bad_json is not None:
        value = {"not_json": bad_json.message}
    result = await run_in_threadpool(check_receipt, value, genesis)
    if bad_json is not None:
        shape = result["steps"][0]
        shape["detail"] = f"the text is not strict JSON: {bad_json.message}"
        result["error"] = bad_json.to_dict()
    result["trusted_genesis"] = trusted
    return result


# --- evidence ------------------------------------------------------------------------------------


def evidence_check(
    request: Request,
    sm3: str,
    deposit_id: str | None,
    file_name: str | None,
    computed_by: str = "browser",
) -> dict[str, Any]:
    """The five evidence steps for a file's SM3, with the deposit's details and receipt."""
    node = _node(request)
    candidates: list[dict[str, Any]] = []
    if deposit_id is None:
        candidates = explorer.single_file_deposits(node, sm3)
        if not candidates:
            steps = evidence_not_found(sm3, computed_by, None)
            return {"result": "not_found", "sm3": sm3, "deposit_id": None, "steps": steps}
        deposit_id = candidates[0]["deposit_id"]
    try:
        record = deposit_record(node, deposit_id)
    except NotFound:
        steps = evidence_not_found(sm3, computed_by, deposit_id)
        return {"result": "not_found", "sm3": sm3, "deposit_id": deposit_id, "steps": steps}
    outcome = verify_deposit_file(
        node, store_of(request), record, sm3, None, file_name, None, False
    )
    receipt_check = check_receipt(outcome["receipt"], node.genesis)
    steps = evidence_steps(outcome, receipt_check, computed_by)
    return {
        "result": evidence_result(steps),
        "sm3": sm3,
        "file_name": file_name,
        "deposit_id": deposit_id,
        "deposit": {
            **outcome["deposit"],
            "files_root": outcome["files_root"],
            "file_count": outcome["file_count"],
            "status": outcome["status"],
            "custody_events": len(record["custody"]),
        },
        "file": outcome["file"],
        "merkle_path": outcome["merkle_path"],
        "receipt": outcome["receipt"],
        "receipt_steps": receipt_check["steps"],
        "steps": steps,
        "other_deposits": [c["deposit_id"] for c in candidates[1:]],
        "outcome": outcome,
    }


def _evidence_input(value: Any) -> tuple[str, str | None, str | None]:
    if not isinstance(value, Mapping) or not set(value) <= {"sm3", "deposit_id", "file_name"}:
        raise InvalidInput(
            'the body is {"sm3": ..., "deposit_id": ... (optional), "file_name": ... (optional)}',
            code="bad_verify_request",
        )
    sm3, deposit_id, name = value.get("sm3"), value.get("deposit_id"), value.get("file_name")
    if not isinstance(sm3, str) or not re.fullmatch(HEX64, sm3):
        raise InvalidInput("sm3 must be 64 lowercase hex characters", code="bad_verify_request")
    if deposit_id in ("", None):
        deposit_id = None
    elif not isinstance(deposit_id, str) or not re.fullmatch(HEX64, deposit_id.strip().lower()):
        raise InvalidInput(
            "the deposit number is 64 hex characters (the deposit's transaction id)",
            code="bad_deposit_id",
        )
    else:
        deposit_id = deposit_id.strip().lower()
    if name is not None and (not isinstance(name, str) or len(name) > 255):
        raise InvalidInput("file_name must be a string of at most 255 characters")
    return sm3, deposit_id, name


@router.post("/v1/verify/evidence", tags=["verify"])
async def verify_evidence(request: Request) -> dict[str, Any]:
    """Verify a file by its SM3 (computed by the caller) against a deposit; without
    ``deposit_id``, the deposit whose single file it is."""
    value = parse_json(await read_body(request, 64 * 1024))
    sm3, deposit_id, name = _evidence_input(value)
    result = await run_in_threadpool(evidence_check, request, sm3, deposit_id, name)
    result.pop("outcome", None)
    return result


# --- reports -------------------------------------------------------------------------------------


def _signer(request: Request) -> tuple[Any, str, list[dict[str, Any]]]:
    """The node's signer, its validator id and the validator history that proves it one."""
    runtime = request.app.state.runtime
    signer = getattr(runtime, "signer", None)
    node = _node(request)
    if signer is None:
        raise Unavailable("this node holds no validator key to sign reports", code="no_signer")
    identity = signing_identity(node, signer.public_key.hex)
    if identity is None:
        raise Unavailable("the node's key is not a validator key of this chain", code="no_signer")
    return signer, *identity


def signed_report(
    request: Request, tx_id: str, sm3: str | None, file_name: str | None
) -> dict[str, Any]:
    node = _node(request)
    signer, validator_id, history = _signer(request)
    receipt = node.receipt(tx_id)
    evidence = None
    if sm3 is not None:
        envelope = receipt["transaction"]["envelope"]
        if envelope.get("type") != "evidence.deposit":
            raise InvalidInput(
                f"transaction {tx_id} is a {envelope.get('type')}, not an evidence deposit: "
                "a file's SM3 can only be verified against a deposit",
                code="not_a_deposit",
            )
        check = evidence_check(request, sm3, tx_id, file_name, computed_by="verifier")
        evidence = {
            "file_name": file_name,
            "sm3": sm3,
            "computed_by": "verifier",
            "outcome": check["outcome"],
            "steps": check["steps"],
        }
    base = public_url(request)  # configured, never the request's Host (issue 11)
    report = build_report(
        receipt=receipt,
        genesis=node.genesis,
        verified_at_ms=node.clock(),
        node_height=node.tip.height,
        node_validator=validator_id,
        node_public_key=signer.public_key.hex,
        node_validator_history=history,
        receipt_url=f"{base}/v1/transactions/{tx_id}/receipt",
        portal_url=f"{base}/verify/receipt?tx={tx_id}",
        evidence=evidence,
    )
    return sign_report(report, signer)


def _report_query(sm3: str | None, file_name: str | None) -> tuple[str | None, str | None]:
    if sm3 in ("", None):
        return None, None
    assert sm3 is not None
    if not re.fullmatch(HEX64, sm3):
        raise InvalidInput("sm3 must be 64 lowercase hex characters", code="bad_report_request")
    return sm3, file_name or None


@router.get("/v1/reports/{tx_id}.pdf", tags=["reports"], response_class=Response)
def report_pdf(
    request: Request,
    tx_id: str = TX_ID,
    sm3: str | None = Query(default=None, max_length=64),
    file_name: str | None = Query(default=None, max_length=255),
) -> Response:
    """The printable verification report of a transaction (of an evidence file against its
    deposit with ``sm3``), signed by the node's validator key."""
    sm3, file_name = _report_query(sm3, file_name)
    signed = signed_report(request, tx_id, sm3, file_name)
    pdf = render_pdf(signed)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="verification-report-{tx_id[:16]}.pdf"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/v1/reports/{tx_id}.json", tags=["reports"])
def report_json(
    request: Request,
    tx_id: str = TX_ID,
    sm3: str | None = Query(default=None, max_length=64),
    file_name: str | None = Query(default=None, max_length=255),
) -> dict[str, Any]:
    """The signed report document alone: ``{"report": ..., "signature": ...}``."""
    sm3, file_name = _report_query(sm3, file_name)
    return signed_report(request, tx_id, sm3, file_name)


@router.post("/v1/reports/verify", tags=["reports"])
async def report_verify(request: Request) -> JSONResponse:
    """Check a report PDF (the request body) against this node's genesis."""
    body = await read_body(request, MAX_REPORT_BYTES)
    result = await run_in_threadpool(verify_report_pdf, body, _node(request).genesis)
    return JSONResponse(result)
