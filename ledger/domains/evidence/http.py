"""HTTP endpoints of the evidence domain, under ``/v1/evidence``.

Public (what is on chain anyway): a deposit's record and custody history, counts, and the
court verification endpoint. Restricted (SM2-signed requests, docs/access.md): the metadata
document and the stored files, served to the depositor, the current custodian, courts and
auditors; a depositor or custodian no longer once processing has ceased or while a court
holds the evidence sealed.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Mapping
from pathlib import Path as FsPath
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from api.domain_support import (
    ACCESS_READ,
    authenticate_request,
    authenticated,
    node_of,
    read_body,
)
from ledger.canonical import parse_json
from ledger.crypto import sm3_hex
from ledger.domains.evidence.offchain import EvidenceStore
from ledger.domains.evidence.proofs import (
    CAPTURE_TOLERANCE_MS,
    REPORT_TYPE,
    REPORT_VERSION,
    file_leaf,
    file_path,
    files_root,
    iso_times,
    metadata_commitment,
    root_from_path,
    step,
)
from ledger.domains.evidence.rules import DEPOSITS, STATS
from ledger.domains.evidence.schemas import MetadataSubmission
from ledger.domains.member.state import MemberRecord
from ledger.errors import InvalidInput, LedgerError, NotFound, RuleViolation, StorageError
from ledger.node import Node
from ledger.request_auth import HEADER_MEMBER, Forbidden
from ledger.verify import verify_receipt

HEX64 = "^[0-9a-f]{64}$"
DEPOSIT_ID = Path(pattern=HEX64, description="the deposit's id: its transaction id")
FILE_SM3 = Path(pattern=HEX64, description="hex SM3 of the file")
FILE_STORE_SWITCH = "LEDGER_EVIDENCE_FILE_STORE"  # "off" disables file uploads

_stores: dict[FsPath, EvidenceStore] = {}


def store_of(request: Request) -> EvidenceStore:
    home = FsPath(request.app.state.runtime.settings.home).resolve()
    store = _stores.get(home)
    if store is None:
        store = _stores[home] = EvidenceStore(home)
    return store


def _conflict(message: str, code: str) -> LedgerError:
    return InvalidInput(message, code=code).with_status(409)


def _unprocessable(message: str, code: str, **details: Any) -> LedgerError:
    return RuleViolation(message, code=code, **details)


def deposit_record(node: Node, deposit_id: str) -> dict[str, Any]:
    record: dict[str, Any] | None = node.domain_state.get(DEPOSITS, deposit_id)
    if record is None:
        if deposit_id in node.mempool:
            raise _conflict(
                f"deposit {deposit_id} is pending: it is not in a block yet; retry in a moment",
                "deposit_pending",
            )
        raise NotFound(
            f"no evidence deposit {deposit_id} on this ledger; the deposit id is the "
            "transaction id returned when the evidence was deposited",
            code="unknown_deposit",
        )
    return record


def public_view(record: Mapping[str, Any], store: EvidenceStore) -> dict[str, Any]:
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
        "metadata_registered": store.metadata(record["deposit_id"]) is not None,
        "status": record["status"],
        "sealed_by": record["sealed_by"],
        "custody": list(record["custody"]),
        "receipt": f"/v1/transactions/{record['deposit_id']}/receipt",
    }


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


def checked_metadata(
    store: EvidenceStore, record: Mapping[str, Any]
) -> tuple[dict[str, Any] | None, bool]:
    """The stored metadata record and whether it still matches the on-chain commitment."""
    kept = store.metadata(record["deposit_id"])
    if kept is None:
        return None, False
    try:
        ok = (
            metadata_commitment(kept["salt"], kept["metadata"]) == record["metadata_commitment"]
            and files_root([f["sm3"] for f in kept["metadata"]["files"]]) == record["files_root"]
        )
    except (LedgerError, ValueError, KeyError, TypeError):
        ok = False
    return kept, ok


def note_capacity(request: Request, rel: str) -> None:
    """Add the capacity a member read in (depositor, custodian, court, auditor) to the entry
    the read-access log writes for this request (api/domain_support.py, docs/access.md)."""
    read = request.scope.get(ACCESS_READ)
    if read is not None:
        read["action"] = f"{read['action']} as {rel}"


# --- multipart/form-data (the verify endpoint accepts a file upload) -----------------------

_DISPOSITION_PARAM = re.compile(r';\s*([A-Za-z*]+)="((?:[^"\\]|\\.)*)"')


def parse_multipart(body: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """``{field name: (file name or None, bytes)}`` of a multipart/form-data body."""
    match = re.search(r'boundary=(?:"([^"]+)"|([^;\s]+))', content_type)
    if match is None:
        raise InvalidInput("multipart body without a boundary", code="bad_verify_request")
    boundary = (match.group(1) or match.group(2)).encode()
    delimiter = b"\r\n--" + boundary
    fields: dict[str, tuple[str | None, bytes]] = {}
    parts = (b"\r\n" + body).split(delimiter)
    if len(parts) < 2 or not parts[-1].startswith(b"--"):
        raise InvalidInput("multipart body is not terminated", code="bad_verify_request")
    for part in parts[1:-1]:
        if not part.startswith(b"\r\n"):
            raise InvalidInput("malformed multipart part", code="bad_verify_request")
        head, sep, content = part[2:].partition(b"\r\n\r\n")
        if not sep:
            raise InvalidInput("multipart part without headers", code="bad_verify_request")
        name = filename = None
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, _, value = line.partition(":")
            if key.strip().lower() == "content-disposition":
                params = dict(_DISPOSITION_PARAM.findall(value))
                name, filename = params.get("name"), params.get("filename")
        if name is None:
            raise InvalidInput("multipart part without a name", code="bad_verify_request")
        if name in fields:
            raise InvalidInput(f"multipart field {name!r} given twice", code="bad_verify_request")
        fields[name] = (filename, content)
    return fields


def verify_input(body: bytes, content_type: str) -> tuple[str, str, bytes | None, str | None, Any]:
    """(deposit id, file SM3, file bytes or None, uploaded file name, file index or None)."""
    ctype = content_type.split(";")[0].strip().lower()
    data: bytes | None = None
    filename: str | None = None
    if ctype == "application/json":
        value = parse_json(body)
        if not isinstance(value, dict) or not set(value) <= {"deposit_id", "sm3", "file_index"}:
            raise InvalidInput(
                'the body is {"deposit_id": ..., "sm3": ...[, "file_index": n]}',
                code="bad_verify_request",
            )
        deposit_id, file_sm3, index = (
            value.get("deposit_id"),
            value.get("sm3"),
            value.get("file_index"),
        )
    elif ctype == "multipart/form-data":
        fields = parse_multipart(body, content_type)
        unknown = set(fields) - {"deposit_id", "sm3", "file", "file_index"}
        if unknown:
            raise InvalidInput(f"unknown form fields {sorted(unknown)}", code="bad_verify_request")
        text = {k: v[1].decode("utf-8", "replace") for k, v in fields.items() if k != "file"}
        deposit_id, file_sm3 = text.get("deposit_id"), text.get("sm3")
        index = None
        if "file_index" in text:
            raw = text["file_index"]
            index = int(raw) if raw.isdigit() and len(raw) < 10 else raw
        if "file" in fields:
            if file_sm3 is not None:
                raise InvalidInput(
                    "give the file or its SM3 hash, not both", code="bad_verify_request"
                )
            filename, data = fields["file"]
            file_sm3 = sm3_hex(data)
    else:
        raise InvalidInput(
            "send multipart/form-data (fields deposit_id and file, or deposit_id and sm3) "
            "or application/json",
            code="bad_verify_request",
        )
    if not isinstance(deposit_id, str) or not re.fullmatch(HEX64, deposit_id):
        raise InvalidInput(
            "deposit_id must be 64 lowercase hex characters (the deposit's transaction id)",
            code="bad_verify_request",
        )
    if not isinstance(file_sm3, str) or not re.fullmatch(HEX64, file_sm3):
        raise InvalidInput(
            "give the file (multipart field 'file') or its SM3 as 64 lowercase hex characters",
            code="bad_verify_request",
        )
    if index is not None and (isinstance(index, bool) or not isinstance(index, int) or index < 0):
        raise InvalidInput("file_index must be a non-negative integer", code="bad_verify_request")
    return deposit_id, file_sm3, data, filename, index


# --- the court verification ------------------------------------------------------------------


def verify_deposit_file(
    node: Node,
    store: EvidenceStore,
    record: Mapping[str, Any],
    file_sm3: str,
    data: bytes | None,
    filename: str | None,
    index_claim: int | None,
    restricted: bool,
) -> dict[str, Any]:
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
    receipt = node.receipt(deposit_id)
    receipt_ok = True
    try:
        verify_receipt(receipt, node.genesis)
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

    kept, kept_ok = checked_metadata(store, record)
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
        "chain_id": node.genesis.chain_id,
        "genesis_hash": node.genesis.hash,
        "checked_at_ms": node.clock(),
        "checked_at_height": node.tip.height,
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


# --- the router ------------------------------------------------------------------------------


def build_router() -> APIRouter:
    router = APIRouter(prefix="/v1/evidence", tags=["evidence"])

    @router.get("/stats")
    async def stats(request: Request) -> dict[str, Any]:
        """Counts of deposits and files, and of deposits by status (public)."""
        node = node_of(request)
        totals = node.domain_state.get(STATS, "totals") or {"deposits": 0, "files": 0}
        ceased = sealed = 0
        for _, rec in node.domain_state.items(DEPOSITS):
            ceased += rec["status"] == "processing_ceased"
            sealed += rec["sealed_by"] is not None
        return {
            "deposits": totals["deposits"],
            "files": totals["files"],
            "processing_ceased": ceased,
            "sealed": sealed,
        }

    @router.get("/deposits/{deposit_id}")
    async def deposit(request: Request, deposit_id: str = DEPOSIT_ID) -> dict[str, Any]:
        """What the chain says of a deposit (public): who, when, files root, custody."""
        return public_view(deposit_record(node_of(request), deposit_id), store_of(request))

    @router.get("/deposits")
    async def deposits(
        request: Request,
        member: MemberRecord = Depends(authenticated),
        case_ref: str | None = Query(default=None, max_length=64),
        limit: int = Query(default=100, ge=1, le=1000),
        offset: int = Query(default=0, ge=0, le=2**31),
    ) -> dict[str, Any]:
        """Deposits the signing member may read (restricted): its own as depositor or
        custodian; all for courts and auditors. ``case_ref`` filters by case reference."""
        node, store = node_of(request), store_of(request)
        roles = set(member.roles)
        if not roles & {"depositor", "court", "auditor"}:
            raise Forbidden(
                "the evidence list is restricted to roles ['auditor', 'court', 'depositor']; "
                f"{member.id!r} has {sorted(member.roles)}"
            )
        rows: list[dict[str, Any]] = []
        skipped = 0
        for _, rec in node.domain_state.items(DEPOSITS):
            rel = relation(member, rec)
            if rel is None:
                continue
            kept = store.metadata(rec["deposit_id"])
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
            row = public_view(rec, store)
            del row["custody"]
            if meta is not None:
                row["title"] = meta["title"]
                row["case_ref"] = meta.get("case_ref")
            rows.append(row)
        return {"deposits": rows, "offset": offset, "limit": limit}

    @router.put("/deposits/{deposit_id}/metadata")
    async def put_metadata(request: Request, deposit_id: str = DEPOSIT_ID) -> JSONResponse:
        """The depositor registers the metadata document; checked against the commitment."""
        node, store = node_of(request), store_of(request)
        body = await read_body(request, node.settings.max_tx_bytes * 4)
        member = authenticate_request(request, body)
        record = deposit_record(node, deposit_id)
        if member.id != record["depositor"]:
            raise Forbidden(
                f"only the depositor {record['depositor']!r} registers the metadata of this "
                f"evidence; the request is signed by {member.id!r}"
            )
        value = parse_json(body)
        try:
            submission = MetadataSubmission.model_validate(value)
        except ValidationError as exc:
            problems = [
                {"field": ".".join(str(p) for p in e["loc"]) or "body", "problem": e["msg"]}
                for e in exc.errors(include_url=False, include_context=False, include_input=False)
            ]
            raise InvalidInput(
                f"metadata: {problems[0]['field']}: {problems[0]['problem']}",
                code="invalid_metadata",
                problems=problems,
            ) from None
        metadata = value["metadata"]
        commitment = metadata_commitment(submission.salt, metadata)
        if commitment != record["metadata_commitment"]:
            raise _unprocessable(
                "SM3(salt ‖ C(metadata)) is not the metadata commitment of the deposit: this "
                "is not the document that was deposited",
                "metadata_commitment_mismatch",
                expected=record["metadata_commitment"],
                found=commitment,
            )
        hashes = [f.sm3 for f in submission.metadata.files]
        if len(hashes) != record["file_count"] or files_root(hashes) != record["files_root"]:
            raise _unprocessable(
                "the metadata's file list does not hash to the deposit's files root",
                "files_root_mismatch",
            )
        captured = submission.metadata.provenance.captured_at
        if captured > record["time_ms"] + CAPTURE_TOLERANCE_MS:
            raise _unprocessable(
                "provenance.captured_at is after the deposit's block time: data cannot have "
                "been captured after it was deposited",
                "captured_after_deposit",
            )
        existing = store.metadata(deposit_id)
        if existing is None:
            store.put_metadata(
                deposit_id,
                {
                    "deposit_id": deposit_id,
                    "salt": submission.salt,
                    "metadata": metadata,
                    "registered_by": member.id,
                    "registered_at_ms": node.clock(),
                },
            )
        return JSONResponse(
            {
                "deposit_id": deposit_id,
                "registered": existing is None,
                "metadata_commitment": commitment,
                "file_count": len(hashes),
            },
            status_code=201 if existing is None else 200,
        )

    @router.get("/deposits/{deposit_id}/metadata")
    async def get_metadata(
        request: Request,
        deposit_id: str = DEPOSIT_ID,
        member: MemberRecord = Depends(authenticated),
    ) -> dict[str, Any]:
        """The metadata document (restricted), re-checked against the on-chain commitment."""
        node, store = node_of(request), store_of(request)
        record = deposit_record(node, deposit_id)
        rel = require_reader(member, record, "the metadata")
        kept, ok = checked_metadata(store, record)
        if kept is None:
            raise NotFound(
                f"the depositor has not registered the metadata of {deposit_id} with this node",
                code="metadata_missing",
            )
        note_capacity(request, rel)
        return {
            "deposit_id": deposit_id,
            "metadata": kept["metadata"],
            "salt": kept["salt"],
            "metadata_commitment": record["metadata_commitment"],
            "commitment_verified": ok,
            "files_stored": [store.has_file(f["sm3"]) for f in kept["metadata"]["files"]],
            "read_as": rel,
        }

    @router.put("/deposits/{deposit_id}/files/{file_sm3}")
    async def put_file(
        request: Request, deposit_id: str = DEPOSIT_ID, file_sm3: str = FILE_SM3
    ) -> JSONResponse:
        """Upload one file of the deposit into the node's content-addressed store."""
        node, store = node_of(request), store_of(request)
        if os.environ.get(FILE_STORE_SWITCH, "on").lower() in ("off", "0", "false", "no"):
            raise NotFound(
                "this node keeps no evidence files (LEDGER_EVIDENCE_FILE_STORE=off)",
                code="file_store_disabled",
            )
        body = await read_body(request, node.settings.max_request_bytes)
        member = authenticate_request(request, body)
        record = deposit_record(node, deposit_id)
        if member.id not in (record["depositor"], record["custodian"]):
            raise Forbidden(
                f"only the depositor or the custodian uploads files of evidence {deposit_id}; "
                f"the request is signed by {member.id!r}"
            )
        kept, ok = checked_metadata(store, record)
        if kept is None or not ok:
            raise _conflict(
                "register the deposit's metadata first: uploads are checked against its list",
                "metadata_missing",
            )
        computed = await asyncio.to_thread(sm3_hex, body)
        if computed != file_sm3:
            raise _unprocessable(
                f"the uploaded bytes hash to {computed}, not to {file_sm3}",
                "file_hash_mismatch",
                expected=file_sm3,
                found=computed,
            )
        entry = next((f for f in kept["metadata"]["files"] if f["sm3"] == file_sm3), None)
        if entry is None:
            raise _unprocessable(
                f"{file_sm3} is not one of the deposit's files", "file_not_in_deposit"
            )
        if entry["size"] != len(body):
            raise _unprocessable(
                f"the deposit lists this file with {entry['size']} bytes; {len(body)} were sent",
                "file_size_mismatch",
            )
        stored = await asyncio.to_thread(store.put_file, file_sm3, body)
        return JSONResponse(
            {"deposit_id": deposit_id, "sm3": file_sm3, "size": len(body), "stored": stored},
            status_code=201 if stored else 200,
        )

    @router.get("/deposits/{deposit_id}/files/{file_sm3}")
    def get_file(
        request: Request,
        deposit_id: str = DEPOSIT_ID,
        file_sm3: str = FILE_SM3,
        member: MemberRecord = Depends(authenticated),
    ) -> Response:
        """One stored file of the deposit (restricted), re-hashed before it is served."""
        node, store = node_of(request), store_of(request)
        record = deposit_record(node, deposit_id)
        rel = require_reader(member, record, "the files")
        kept, ok = checked_metadata(store, record)
        if kept is None or not ok:
            raise NotFound(
                f"the depositor has not registered the metadata of {deposit_id} with this node",
                code="metadata_missing",
            )
        entry = next((f for f in kept["metadata"]["files"] if f["sm3"] == file_sm3), None)
        if entry is None:
            raise NotFound(
                f"{file_sm3} is not a registered file of deposit {deposit_id}",
                code="file_not_in_deposit",
            )
        data = store.read_file(file_sm3)
        if data is None:
            raise NotFound(
                "this file was not uploaded to this node; ask the depositor for it",
                code="file_not_stored",
            )
        if sm3_hex(data) != file_sm3:
            raise StorageError(f"the stored copy of {file_sm3} is damaged; restore it")
        note_capacity(request, rel)
        return Response(
            content=data,
            media_type=entry["media_type"],
            headers={
                "X-Evidence-SM3": file_sm3,
                "Content-Disposition": f"attachment; filename*=UTF-8''{quote(entry['name'])}",
            },
        )

    @router.post("/verify")
    async def verify(request: Request) -> dict[str, Any]:
        """Court verification (public): a file (multipart ``file``) or its ``sm3``, and a
        ``deposit_id``. Signed by the depositor, a court or an auditor, the report also
        carries the file list, metadata and salt, so that it re-verifies them offline."""
        node, store = node_of(request), store_of(request)
        body = await read_body(request, node.settings.max_request_bytes)
        member = None
        if HEADER_MEMBER.lower() in {k.lower() for k in request.headers}:
            member = authenticate_request(request, body)
        deposit_id, file_sm3, data, filename, index = verify_input(
            body, request.headers.get("content-type", "")
        )
        record = deposit_record(node, deposit_id)
        restricted = False
        if member is not None:
            rel = require_reader(member, record, "a full verification report")
            note_capacity(request, rel)
            restricted = True
        return verify_deposit_file(node, store, record, file_sm3, data, filename, index, restricted)

    return router
