"""Checking a printed report later, without the node: the signed JSON attached to the PDF,
the node's signature and key, the embedded receipt, an evidence file's Merkle path, and the
transaction id and fingerprint printed on the page."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import Any

from ledger.canonical import canonical, parse_json
from ledger.crypto import PublicKey
from ledger.domains.evidence.verify import root_from_path
from ledger.domains.validator.verify import history_validator
from ledger.errors import LedgerError, MalformedData, VerificationError
from ledger.model import Genesis
from ledger.report.common import FAILED, PASSED, SKIPPED, short
from ledger.report.model import ATTACHMENT, REPORT_TYPE, fingerprint
from ledger.report.steps import check_receipt


def read_report_pdf(pdf: bytes) -> dict[str, Any]:
    """The signed document attached to a report PDF (``{"report", "signature"}``)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(pdf))
        attachments = reader.attachments
        blobs = attachments.get(ATTACHMENT)
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise MalformedData(f"not a readable PDF: {exc}", code="bad_report") from None
    if not blobs:
        raise MalformedData(
            f"the PDF has no attached {ATTACHMENT}: it is not a ledger verification report",
            code="bad_report",
        )
    value = parse_json(blobs[0])
    if not isinstance(value, dict) or set(value) != {"report", "signature"}:
        raise MalformedData(f"{ATTACHMENT} is not a signed report", code="bad_report")
    return value


def pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def _vstep(name: str, ok: bool | None, detail: str) -> dict[str, Any]:
    outcome = PASSED if ok else (SKIPPED if ok is None else FAILED)
    return {"step": name, "outcome": outcome, "detail": detail}


def verify_report_pdf(pdf: bytes, genesis: Genesis) -> dict[str, Any]:
    """Check a report PDF against a trusted genesis, without the node.

    Steps: ``attachment`` (the signed JSON is there), ``chain`` (same chain and genesis),
    ``node_key`` (the signing key is that of a validator of the genesis set or of a set
    ``report.node.validator_history`` hands trust to), ``signature`` (the node's SM2
    signature over C(report)), ``receipt`` (the embedded receipt verifies, and is the
    report's transaction), ``file`` (for an evidence file: the Merkle path leads from the
    file's SM3 to the files root in the signed deposit), ``printed`` (the page shows the signed
    transaction id and fingerprint). ``valid`` when none failed."""
    steps: list[dict[str, Any]] = []
    out: dict[str, Any] = {"valid": False, "steps": steps}
    try:
        signed = read_report_pdf(pdf)
    except LedgerError as exc:
        steps.append(_vstep("attachment", False, exc.message))
        return out
    report, signature = signed["report"], signed["signature"]
    if not isinstance(report, dict) or report.get("type") != REPORT_TYPE:
        steps.append(_vstep("attachment", False, "the attachment is not a verification report"))
        return out
    steps.append(_vstep("attachment", True, f"{ATTACHMENT} holds a signed report"))
    out["report"] = report
    out["fingerprint"] = fingerprint(report)
    steps.append(_chain_step(report, genesis))
    node = report.get("node") if isinstance(report.get("node"), Mapping) else {}
    assert isinstance(node, Mapping)
    steps.append(_node_key_step(node, genesis))
    steps.append(_signature_step(node, signature, report))
    receipt = report.get("receipt")
    tx = report.get("transaction") if isinstance(report.get("transaction"), Mapping) else {}
    assert isinstance(tx, Mapping)
    steps.append(_receipt_step(receipt, tx, genesis))
    file = report.get("file")
    if isinstance(file, Mapping) and isinstance(receipt, Mapping):
        steps.append(_file_step(file, receipt, report.get("result")))
    steps.append(_printed_step(pdf, tx, report))
    out["valid"] = all(s["outcome"] != FAILED for s in steps)
    return out


def _chain_step(report: Mapping[str, Any], genesis: Genesis) -> dict[str, Any]:
    same_chain = (
        report.get("chain_id") == genesis.chain_id and report.get("genesis_hash") == genesis.hash
    )
    return _vstep(
        "chain",
        same_chain,
        f"the report is about chain {report.get('chain_id')} with genesis "
        f"{short(report.get('genesis_hash'), 16)}; the trusted genesis is {genesis.chain_id} "
        f"{short(genesis.hash, 16)}",
    )


def _node_key_step(node: Mapping[str, Any], genesis: Genesis) -> dict[str, Any]:
    try:
        history_validator(
            genesis,
            str(node.get("validator")),
            node.get("validator_history", []),
            step="node_key",
            public_key=str(node.get("public_key")),
        )
        key_ok = True
        detail = (
            f"signed by {node.get('validator')!r}, a validator of the trusted genesis or of a "
            "set its validators handed trust to, with its key"
        )
    except VerificationError as exc:
        key_ok = False
        detail = f"signed by {node.get('validator')!r}: {exc.message}"
    return _vstep("node_key", key_ok, detail)


def _signature_step(
    node: Mapping[str, Any], signature: Any, report: Mapping[str, Any]
) -> dict[str, Any]:
    sig_ok = False
    try:
        PublicKey(str(node.get("public_key"))).verify(str(signature), canonical(report))
        sig_ok = True
        detail = "the node's SM2 signature over the canonical JSON of the report verifies"
    except LedgerError as exc:
        detail = f"the node's signature does not verify: {exc.message}"
    return _vstep("signature", sig_ok, detail)


def _receipt_step(receipt: Any, tx: Mapping[str, Any], genesis: Genesis) -> dict[str, Any]:
    """The embedded receipt verifies, and is that of the report's transaction."""
    check = check_receipt(receipt, genesis)
    same_tx = (
        isinstance(receipt, Mapping)
        and receipt.get("tx_id") == tx.get("tx_id")
        and receipt.get("inclusion_proof") == tx.get("inclusion_proof")
        and receipt.get("header", {}).get("height") == tx.get("height")
        and receipt.get("commit", {}).get("block_hash") == tx.get("block_hash")
    )
    if check["valid"] and same_tx:
        detail = f"the embedded receipt of {tx.get('tx_id')} verifies against the genesis"
    elif not check["valid"]:
        detail = f"the embedded receipt does not verify: {check['failed_step']}"
    else:
        detail = "the embedded receipt is not that of the report's transaction"
    return _vstep("receipt", bool(check["valid"] and same_tx), detail)


def _printed_step(pdf: bytes, tx: Mapping[str, Any], report: Mapping[str, Any]) -> dict[str, Any]:
    try:
        text = re.sub(r"\s+", "", pdf_text(pdf))
        printed = str(tx.get("tx_id")) in text and fingerprint(report) in text
    except Exception:  # a damaged page stream: report it as a failed step
        printed = False
    return _vstep(
        "printed",
        printed,
        "the printed page shows the signed transaction id and report fingerprint"
        if printed
        else "the printed page does not show the signed transaction id and fingerprint",
    )


def _file_step(file: Mapping[str, Any], receipt: Mapping[str, Any], result: Any) -> dict[str, Any]:
    envelope = receipt.get("transaction", {}).get("envelope", {})
    payload = envelope.get("payload", {}) if isinstance(envelope, Mapping) else {}
    if envelope.get("type") != "evidence.deposit":
        return _vstep("file", False, "the receipt is not that of an evidence deposit")
    if payload.get("files_root") != file.get("files_root") or payload.get("file_count") != file.get(
        "file_count"
    ):
        return _vstep("file", False, "the files root is not the one signed in the deposit")
    if result != "match":
        return _vstep(
            "file", None, f"result {result}: there is no Merkle path to check for this file"
        )
    try:
        root = root_from_path(
            str(file["sm3"]), int(file["index"]), int(file["file_count"]), file["merkle_path"]
        )
    except (LedgerError, ValueError, KeyError, TypeError):
        root = None
    ok = root == payload.get("files_root")
    return _vstep(
        "file",
        ok,
        f"the Merkle path leads from SM3 {short(file.get('sm3'), 16)} to the files root of the "
        "signed deposit"
        if ok
        else "the Merkle path does not lead from the file's SM3 to the deposit's files root",
    )
