"""The report document: what was verified, gathered into JSON, and signed by the node.

The signed content is ``C(report)`` (RFC 8785), signed as ``Sig(sk, C(report))`` (spec
section 1) by the validator named in ``report.node``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ledger.canonical import canonical
from ledger.crypto import Signer, sm3_hex
from ledger.errors import MalformedData
from ledger.model import Genesis
from ledger.report.common import times
from ledger.report.steps import check_receipt, evidence_result

REPORT_TYPE = "gzledger_verification_report"
REPORT_VERSION = 1
ATTACHMENT = "verification-report.json"


def build_report(
    *,
    receipt: Mapping[str, Any],
    genesis: Genesis,
    verified_at_ms: int,
    node_height: int,
    node_validator: str,
    node_public_key: str,
    node_validator_history: Sequence[Mapping[str, Any]] = (),
    receipt_url: str,
    portal_url: str,
    evidence: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The report's data, before signing.

    ``evidence`` (for an evidence file): ``{"file_name", "sm3", "computed_by", "outcome"
    (the answer of the evidence verification), "steps" (from evidence_steps)}``."""
    check = check_receipt(receipt, genesis)
    header = receipt.get("header") if isinstance(receipt.get("header"), Mapping) else {}
    assert isinstance(header, Mapping)
    envelope = receipt["transaction"]["envelope"]
    block_time = header.get("timestamp")
    validators_wire = receipt.get("validators", {}).get("validators", [])
    signed_by = {
        s.get("validator"): s.get("signature")
        for s in receipt.get("commit", {}).get("signatures", [])
        if isinstance(s, Mapping)
    }
    validators = [
        {
            "id": v["id"],
            "public_key": v["public_key"],
            "power": v["power"],
            "signed": v["id"] in signed_by,
            "signature": signed_by.get(v["id"]),
        }
        for v in validators_wire
    ]
    verified = times(verified_at_ms)
    report: dict[str, Any] = {
        "type": REPORT_TYPE,
        "report_version": REPORT_VERSION,
        "chain_id": genesis.chain_id,
        "genesis_hash": genesis.hash,
        "subject": "evidence_file" if evidence is not None else "transaction",
        "verified_at_ms": verified_at_ms,
        "verified_at_utc": verified["utc"],
        "verified_at_beijing": verified["beijing"],
        "node_height": node_height,
        "transaction": {
            "tx_id": receipt["tx_id"],
            "type": envelope.get("type"),
            "submitter": envelope.get("submitter"),
            "submitted_at_ms": envelope.get("timestamp"),
            "height": header.get("height"),
            "index": receipt.get("index"),
            "block_hash": receipt.get("commit", {}).get("block_hash"),
            "block_time_ms": block_time,
            "block_time_utc": times(block_time)["utc"] if isinstance(block_time, int) else None,
            "block_time_beijing": (
                times(block_time)["beijing"] if isinstance(block_time, int) else None
            ),
            "tx_root": header.get("tx_root"),
            "tx_count": header.get("tx_count"),
            "inclusion_proof": list(receipt.get("inclusion_proof", [])),
        },
        "validators": validators,
        "receipt_steps": check["steps"],
        "receipt_valid": check["valid"],
        "receipt_url": receipt_url,
        "portal_url": portal_url,
        "receipt": dict(receipt),
        # the handovers from the genesis set to a set holding the signer (docs/verifying.md)
        "node": {
            "validator": node_validator,
            "public_key": node_public_key,
            "validator_history": list(node_validator_history),
        },
    }
    if evidence is not None:
        outcome = evidence["outcome"]
        steps = list(evidence["steps"])
        report["file"] = {
            "name": evidence.get("file_name"),
            "sm3": evidence["sm3"],
            "computed_by": evidence["computed_by"],
            "index": outcome["file"]["index"],
            "merkle_path": outcome["merkle_path"],
            "files_root": outcome["files_root"],
            "file_count": outcome["file_count"],
        }
        report["deposit"] = dict(outcome["deposit"])
        report["steps"] = steps
        report["result"] = evidence_result(steps)
    else:
        report["result"] = "valid" if check["valid"] else "invalid"
    return report


def sign_report(report: Mapping[str, Any], signer: Signer) -> dict[str, Any]:
    """``{"report": report, "signature": Sig(sk, C(report))}``."""
    if report["node"]["public_key"] != signer.public_key.hex:
        raise MalformedData("report.node.public_key is not the signer's key")
    return {"report": dict(report), "signature": signer.sign(canonical(report))}


def fingerprint(report: Mapping[str, Any]) -> str:
    """``hex(H(C(report)))``: printed on the report so that a paper copy names its content."""
    return sm3_hex(canonical(report))
