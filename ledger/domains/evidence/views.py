"""What the evidence endpoints show: a deposit's public view, counts, the deposits a member
may read, and the node's verification of a file against a deposit (with the report a court
re-verifies offline, see verify.py).

Public (what is on chain anyway): a deposit's record and custody history, counts, and the
court verification. Restricted (SM2-signed requests, docs/access.md): the metadata document
and the stored files, served to the depositor, the current custodian, courts and auditors; a
depositor or custodian no longer once processing has ceased or while a court holds the
evidence sealed. Everything here takes what it shows as arguments: no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ledger.domains.evidence.state import deposits, totals
from ledger.domains.evidence.verify import (
    CAPTURE_TOLERANCE_MS,
    REPORT_TYPE,
    REPORT_VERSION,
    file_leaf,
    file_path,
    iso_times,
    metadata_matches,
    root_from_path,
    step,
)
from ledger.domains.member.state import MemberRecord
from ledger.domains.state import StateView
from ledger.errors import InvalidInput
from ledger.model import Genesis
from ledger.request_auth import Forbidden
from ledger.verify import verify_receipt

READER_ROLES = frozenset({"depositor", "court", "auditor"})

# the stored metadata record of a deposit (``{"deposit_id", "salt", "metadata", ...}``), or None
MetadataOf = Callable[[str], Mapping[str, Any] | None]


# --- public ---------------------------------------------------------------------------------


def public_view(record: Mapping[str, Any], metadata_registered: bool) -> dict[str, Any]:
    """What the chain says of a deposit: who, when, files root, custody."""
    times = iso_times(record["time_ms"])
    return {
        "deposit_id": record["deposit_id"],
        "depositor": record["depositor"],
        "custodian": record["custodian"],
        "height": record["height"],
        "tx_id": record["deposit_id"],
        "deposit_time_ms": record["time_ms"],
        "deposit_time_utc": times["utc"],
        "deposit_time_beijing": times["beijing"],
        "files_root": record["files_root"],
        "file_count": record["file_count"],
        "metadata_commitment": record["metadata_commitment"],
        "metadata_registered": metadata_registered,
        "status": record["status"],
        "sealed_by": record["sealed_by"],
        "custody": list(record["custody"]),
        "receipt": f"/v1/transactions/{record['deposit_id']}/receipt",
    }


def stats(view: StateView) -> dict[str, Any]:
    """Counts of deposits and files, and of deposits by status."""
    counted = totals(view)
    ceased = sealed = 0
    for rec in deposits(view):
        ceased += rec["status"] == "processing_ceased"
        sealed += rec["sealed_by"] is not None
    return {
        "deposits": counted["deposits"],
        "files": counted["files"],
        "processing_ceased": ceased,
        "sealed": sealed,
    }


def single_file_deposits(view: StateView, file_sm3: str) -> list[dict[str, Any]]:
    """Deposits whose only file has this SM3: found from public payloads alone."""
    leaf = file_leaf(file_sm3).hex()
    found = []
    for rec in deposits(view):
        if rec["file_count"] == 1 and rec["files_root"] == leaf:
            found.append(
                {
                    "deposit_id": rec["deposit_id"],
                    "depositor": rec["depositor"],
                    "height": rec["height"],
                    "time_ms": rec["time_ms"],
                }
            )
    found.sort(key=lambda d: (d["height"], d["deposit_id"]))
    return found


# --- restricted -----------------------------------------------------------------------------


def relation(member: MemberRecord, record: Mapping[str, Any]) -> str | None:
    """How ``member`` may read the deposit's restricted data, or None."""
    roles = set(member.roles)
    if "court" in roles:
        return "court"
    if "auditor" in roles:
        return "auditor"
    if member.id == record["depositor"]:
        return "depositor"
    if member.id == record["custodian"]:
        return "custodian"
    return None


def require_reader(member: MemberRecord, record: Mapping[str, Any], what: str) -> str:
    """Courts and auditors always (judicial use, storage and security); the depositor and the
    custodian unless processing ceased or the evidence is sealed."""
    rel = relation(member, record)
    if rel is None:
        raise Forbidden(
            f"{what} of evidence {record['deposit_id']} is restricted to its depositor, its "
            f"custodian, courts and auditors; {member.id!r} (roles {sorted(member.roles)}) is "
            "none of them"
        )
    if rel in ("depositor", "custodian"):
        if record["status"] == "processing_ceased":
            raise Forbidden(
                f"processing of evidence {record['deposit_id']} has ceased (PIPL Art. 47): it "
                "is kept and secured, and served only to courts and auditors",
                code="processing_ceased",
            )
        if record["sealed_by"] is not None:
            raise Forbidden(
                f"evidence {record['deposit_id']} is sealed by {record['sealed_by']!r}: it is "
                "served only to courts and auditors until that court unseals it",
                code="evidence_sealed",
            )
    return rel


def deposit_list(
    view: StateView,
    member: MemberRecord,
    metadata_of: MetadataOf,
    case_ref: str | None,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """Deposits ``member`` may read: its own as depositor or custodian; all for courts and
    auditors. ``case_ref`` filters by case reference (of the metadata ``member`` may read)."""
    roles = set(member.roles)
    if not roles & READER_ROLES:
        raise Forbidden(
            "the evidence list is restricted to roles ['auditor', 'court', 'depositor']; "
            f"{member.id!r} has {sorted(member.roles)}"
        )
    rows: list[dict[str, Any]] = []
    skipped = 0
    for rec in deposits(view):
        rel = relation(member, rec)
        if rel is None:
            continue
        kept = metadata_of(rec["deposit_id"])
        readable = rel in ("court", "auditor") or (
            rec["status"] == "active" and rec["sealed_by"] is None
        )
        meta = kept["metadata"] if kept is not None and readable else None
        if case_ref is not None and (meta is None or meta.get("case_ref") != case_ref):
            continue
        if skipped < offset:
            skipped += 1
            continue
        if len(rows) >= limit:
            break
        row = public_view(rec, kept is not None)
        del row["custody"]
        if meta is not None:
            row["title"] = meta["title"]
            row["case_ref"] = meta.get("case_ref")
        rows.append(row)
    return {"deposits": rows, "offset": offset, "limit": limit}


def metadata_view(
    record: Mapping[str, Any],
    kept: Mapping[str, Any],
    files_stored: Iterable[bool],
    read_as: str,
) -> dict[str, Any]:
    """The metadata document as a reader gets it, re-checked against the on-chain
    commitment; ``files_stored`` says, file by file, whether the node keeps the file."""
    return {
        "deposit_id": record["deposit_id"],
        "metadata": kept["metadata"],
        "salt": kept["salt"],
        "metadata_commitment": record["metadata_commitment"],
        "commitment_verified": metadata_matches(kept, record),
        "files_stored": list(files_stored),
        "read_as": read_as,
    }


# --- the court verification -----------------------------------------------------------------


def file_verification(
    record: Mapping[str, Any],
    kept: Mapping[str, Any] | None,
    receipt: dict[str, Any],
    genesis: Genesis,
    *,
    file_sm3: str,
    data: bytes | None,
    filename: str | None,
    index_claim: int | None,
    restricted: bool,
    checked_at_ms: int,
    checked_at_height: int,
) -> dict[str, Any]:
    """The node's verification of a file (its bytes ``data``, or only its SM3) against a
    deposit: the answer of ``POST /v1/evidence/verify`` with its ``report``. ``kept`` is the
    metadata record the node keeps for the deposit (None: not registered); ``restricted``
    says that the caller may read it (the report then carries the file list, metadata and
    salt)."""
    deposit_id, count, root = record["deposit_id"], record["file_count"], record["files_root"]
    if index_claim is not None and index_claim >= count:
        raise InvalidInput(
            f"file_index {index_claim} is beyond the deposit's {count} file(s)",
            code="bad_file_index",
        )
    times = iso_times(record["time_ms"])
    steps: list[dict[str, Any]] = [
        step(
            "deposit",
            "passed",
            f"deposit {deposit_id} is on the ledger: an evidence.deposit by "
            f"{record['depositor']} in block {record['height']}, holding {count} file(s)",
        )
    ]
    receipt_ok = True
    try:
        verify_receipt(receipt, genesis)
        steps.append(
            step(
                "receipt",
                "passed",
                "the deposit's receipt verifies against the genesis: the depositor's SM2 "
                "signature, the transaction's place in its block, and the validators' "
                "signatures on the block",
            )
        )
    except InvalidInput as exc:
        receipt_ok = False
        steps.append(
            step("receipt", "failed", f"the deposit's receipt does not verify: {exc.message}")
        )
    if data is not None:
        steps.append(
            step(
                "file_hash",
                "passed",
                f"the node computed the SM3 hash of the file presented ({len(data)} bytes): "
                f"{file_sm3}",
            )
        )
    else:
        steps.append(
            step(
                "file_hash",
                "info",
                f"the SM3 hash {file_sm3} was given by the caller; the node did not see the file",
            )
        )

    kept_ok = kept is not None and metadata_matches(kept, record)
    hashes: list[str] | None = None
    if kept is not None and kept_ok:
        hashes = [f["sm3"] for f in kept["metadata"]["files"]]
        steps.append(
            step(
                "file_list",
                "passed",
                "the deposit's file list kept by the node matches the files root and the "
                "metadata commitment signed in the deposit",
            )
        )
    elif kept is not None:
        steps.append(
            step(
                "file_list",
                "failed",
                "the file list kept by this node does not match the deposit on the ledger; "
                "it was not used (report this to the node's operator)",
            )
        )
    elif count > 1:
        steps.append(
            step(
                "file_list",
                "failed",
                "the depositor has not registered the deposit's file list with this node, so "
                "the file's place among the deposit's files cannot be computed here",
            )
        )

    result, index, path = "mismatch", None, None
    if hashes is not None:
        candidates = [index_claim] if index_claim is not None else range(count)
        for i in candidates:
            if hashes[i] == file_sm3:
                index = i
                break
    elif count == 1 and file_leaf(file_sm3).hex() == root:
        index = 0
    elif count > 1:
        result = "undetermined"

    named = None
    if restricted and kept is not None and kept_ok and filename:
        for i, f in enumerate(kept["metadata"]["files"]):
            if f["name"] == filename:
                named = (i, f)
                break

    if index is not None:
        path = file_path(hashes, index) if hashes is not None else []
        if root_from_path(file_sm3, index, count, path) == root:
            result = "match"
            steps.append(
                step(
                    "file_in_deposit",
                    "passed",
                    f"match: the file is file {index} of the {count} deposited; its Merkle path "
                    "leads from the file's hash to the files root in the signed deposit",
                    index=index,
                )
            )
    if result == "mismatch":
        which = (
            f"file {index_claim} of the deposit"
            if index_claim is not None
            else f"any of the deposit's {count} file(s)"
        )
        detail = f"mismatch: the file presented (SM3 {file_sm3}) is not {which}"
        extra: dict[str, Any] = {}
        if restricted and hashes is not None:
            target = index_claim if index_claim is not None else (named[0] if named else None)
            if target is not None:
                entry = kept["metadata"]["files"][target] if kept else {}
                detail += (
                    f"; file {target} ({entry.get('name')!r}, {entry.get('size')} bytes) was "
                    f"deposited with SM3 {hashes[target]}"
                )
                if data is not None and entry.get("size") is not None:
                    detail += f" and the file presented has {len(data)} bytes"
                detail += ": it has been altered or is another file"
                extra = {"expected_index": target, "expected_sm3": hashes[target]}
        steps.append(step("file_in_deposit", "failed", detail, **extra))
    elif result == "undetermined":
        steps.append(
            step(
                "file_in_deposit",
                "skipped",
                "undetermined: without the deposit's file list the node cannot place the file "
                "in the deposit's tree",
            )
        )
    if not receipt_ok:
        result = "undetermined"

    steps.append(
        step(
            "deposit_time",
            "passed" if receipt_ok else "failed",
            f"the validators attest that the deposit was on the ledger at {times['beijing']} "
            f"(Beijing time; {times['utc']} UTC), the timestamp of block {record['height']}",
            time_ms=record["time_ms"],
        )
    )
    status = (
        "processing has ceased (PIPL Art. 47): the evidence is kept and secured"
        if record["status"] == "processing_ceased"
        else "active"
    )
    if record["sealed_by"]:
        status += f"; sealed by {record['sealed_by']}"
    steps.append(
        step(
            "status",
            "info",
            f"status now: {status}; {len(record['custody'])} custody event(s) recorded",
        )
    )

    provenance = None
    if restricted and kept is not None and kept_ok:
        provenance = kept["metadata"]["provenance"]
        captured = provenance["captured_at"]
        ok = captured <= record["time_ms"] + CAPTURE_TOLERANCE_MS
        steps.append(
            step(
                "provenance",
                "passed" if ok else "failed",
                f"collected by {provenance['method']} from {provenance['source']} at "
                f"{iso_times(captured)['beijing']} with {provenance['tool']['name']} "
                f"{provenance['tool']['version']} on {provenance['environment']['os']}"
                + (", before the deposit" if ok else ", after the deposit time, which cannot be"),
            )
        )

    file_out: dict[str, Any] = {"sm3": file_sm3, "index": index if result == "match" else None}
    if data is not None:
        file_out["size"] = len(data)
    if restricted and kept is not None and result == "match" and index is not None:
        entry = kept["metadata"]["files"][index]
        file_out.update(
            name=entry["name"], media_type=entry["media_type"], deposited_size=entry["size"]
        )
    deposit = {
        "tx_id": deposit_id,
        "height": record["height"],
        "time_ms": record["time_ms"],
        "time_utc": times["utc"],
        "time_beijing": times["beijing"],
        "depositor": record["depositor"],
    }
    report: dict[str, Any] = {
        "type": REPORT_TYPE,
        "report_version": REPORT_VERSION,
        "chain_id": genesis.chain_id,
        "genesis_hash": genesis.hash,
        "checked_at_ms": checked_at_ms,
        "checked_at_height": checked_at_height,
        "result": result,
        "deposit_id": deposit_id,
        "file": file_out,
        "files_root": root,
        "file_count": count,
        "merkle_path": path if result == "match" else None,
        "deposit": deposit,
        "receipt": receipt,
        "steps": steps,
    }
    if restricted and kept is not None and kept_ok:
        report.update(file_hashes=hashes, metadata=kept["metadata"], salt=kept["salt"])
    return {
        "result": result,
        "deposit_id": deposit_id,
        "file": file_out,
        "deposit": deposit,
        "height": record["height"],
        "tx_id": deposit_id,
        "deposit_time_ms": record["time_ms"],
        "files_root": root,
        "file_count": count,
        "merkle_path": report["merkle_path"],
        "status": {"processing": record["status"], "sealed_by": record["sealed_by"]},
        "receipt": receipt,
        "steps": steps,
        "report": report,
    }
