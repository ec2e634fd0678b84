"""HTTP endpoints of the evidence domain, under ``/v1/evidence``.

Public (what is on chain anyway): a deposit's record and custody history, counts, and the
court verification endpoint. Restricted (SM2-signed requests, docs/access.md): the metadata
document and the stored files, served to the depositor, the current custodian, courts and
auditors; a depositor or custodian no longer once processing has ceased or while a court
holds the evidence sealed. What the endpoints show is built by ledger.domains.evidence.views;
the metadata and files are kept by api.evidence_store.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from api.domain_support import (
    ACCESS_READ,
    authenticate_request,
    authenticated,
    node_of,
    read_body,
)
from api.evidence_store import EvidenceStore, store_of
from api.runtime import NodeRuntime
from ledger.canonical import parse_json
from ledger.crypto import sm3_hex
from ledger.domains.evidence import views
from ledger.domains.evidence.schemas import MetadataSubmission
from ledger.domains.evidence.state import deposit as find_deposit
from ledger.domains.evidence.verify import (
    CAPTURE_TOLERANCE_MS,
    files_root,
    metadata_commitment,
    metadata_matches,
)
from ledger.domains.member.state import MemberRecord
from ledger.errors import InvalidInput, LedgerError, NotFound, RuleViolation, StorageError
from ledger.node import Node
from ledger.request_auth import HEADER_MEMBER, Forbidden

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

HEX64 = "^[0-9a-f]{64}$"
DEPOSIT_ID = Path(pattern=HEX64, description="the deposit's id: its transaction id")
FILE_SM3 = Path(pattern=HEX64, description="hex SM3 of the file")
FILE_STORE_SWITCH = "LEDGER_EVIDENCE_FILE_STORE"  # "off" disables file uploads


def _conflict(message: str, code: str) -> LedgerError:
    return InvalidInput(message, code=code).with_status(409)


def _unprocessable(message: str, code: str, **details: Any) -> LedgerError:
    return RuleViolation(message, code=code, **details)


def deposit_record(node: Node, deposit_id: str) -> dict[str, Any]:
    """The deposit's record on the node's chain (409 while pending, 404 when unknown)."""
    record = find_deposit(node.domain_state, deposit_id)
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


def checked_metadata(
    store: EvidenceStore, record: Mapping[str, Any]
) -> tuple[dict[str, Any] | None, bool]:
    """The stored metadata record and whether it still matches the on-chain commitment."""
    kept = store.metadata(record["deposit_id"])
    return kept, kept is not None and metadata_matches(kept, record)


def note_capacity(request: Request, rel: str) -> None:
    """Add the capacity a member read in (depositor, custodian, court, auditor) to the entry
    the read-access log writes for this request (api/domain_support.py, docs/access.md)."""
    read = request.scope.get(ACCESS_READ)
    if read is not None:
        read["action"] = f"{read['action']} as {rel}"


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
    """The node's verification of a file against a deposit (views.file_verification with
    what this node keeps: the deposit's receipt and metadata, its genesis, clock and tip)."""
    return views.file_verification(
        record,
        store.metadata(record["deposit_id"]),
        node.receipt(record["deposit_id"]),
        node.genesis,
        file_sm3=file_sm3,
        data=data,
        filename=filename,
        index_claim=index_claim,
        restricted=restricted,
        checked_at_ms=node.clock(),
        checked_at_height=node.tip.height,
    )


# --- multipart/form-data (the verify endpoint accepts a file upload) -----------------------


def _bad_form(message: str) -> InvalidInput:
    return InvalidInput(message, code="bad_verify_request")


class _FormParts:
    """The parts of a multipart body as python-multipart reports them: each part's headers
    (names lowercased) and its bytes."""

    def __init__(self) -> None:
        self.parts: list[tuple[dict[bytes, bytes], list[bytes]]] = []
        self.ended = False
        self._name: list[bytes] = []
        self._value: list[bytes] = []

    def callbacks(self) -> MultipartCallbacks:
        def collect(into: list[bytes]) -> Callable[[bytes, int, int], None]:
            return lambda data, start, end: into.append(data[start:end])

        return {
            "on_part_begin": lambda: self.parts.append(({}, [])),
            "on_header_field": collect(self._name),
            "on_header_value": collect(self._value),
            "on_header_end": self._header_end,
            "on_part_data": lambda data, start, end: self.parts[-1][1].append(data[start:end]),
            "on_end": self._end,
        }

    def _header_end(self) -> None:
        name, value = b"".join(self._name).lower(), b"".join(self._value)
        self.parts[-1][0][name] = value
        self._name.clear()
        self._value.clear()

    def _end(self) -> None:
        self.ended = True


def parse_multipart(body: bytes, content_type: str) -> dict[str, tuple[str | None, bytes]]:
    """``{field name: (file name or None, bytes)}`` of a multipart/form-data body."""
    boundary = parse_options_header(content_type)[1].get(b"boundary")
    if not boundary:
        raise _bad_form("multipart body without a boundary")
    form = _FormParts()
    try:
        MultipartParser(boundary, form.callbacks()).write(body)
    except FormParserError:
        raise _bad_form("malformed multipart part") from None
    if not form.ended:
        raise _bad_form("multipart body is not terminated")
    fields: dict[str, tuple[str | None, bytes]] = {}
    for headers, chunks in form.parts:
        params = parse_options_header(headers.get(b"content-disposition"))[1]
        name, filename = params.get(b"name"), params.get(b"filename")
        if name is None:
            raise _bad_form("multipart part without a name")
        field = name.decode("utf-8", "replace")
        if field in fields:
            raise _bad_form(f"multipart field {field!r} given twice")
        fields[field] = (
            None if filename is None else filename.decode("utf-8", "replace"),
            b"".join(chunks),
        )
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


# --- the routes ------------------------------------------------------------------------------


async def stats(request: Request) -> dict[str, Any]:
    """Counts of deposits and files, and of deposits by status (public)."""
    return views.stats(node_of(request).domain_state)


async def deposit(request: Request, deposit_id: str = DEPOSIT_ID) -> dict[str, Any]:
    """What the chain says of a deposit (public): who, when, files root, custody."""
    record = deposit_record(node_of(request), deposit_id)
    return views.public_view(record, store_of(request).metadata(deposit_id) is not None)


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
    return views.deposit_list(node.domain_state, member, store.metadata, case_ref, limit, offset)


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


async def get_metadata(
    request: Request,
    deposit_id: str = DEPOSIT_ID,
    member: MemberRecord = Depends(authenticated),
) -> dict[str, Any]:
    """The metadata document (restricted), re-checked against the on-chain commitment."""
    node, store = node_of(request), store_of(request)
    record = deposit_record(node, deposit_id)
    rel = views.require_reader(member, record, "the metadata")
    kept = store.metadata(deposit_id)
    if kept is None:
        raise NotFound(
            f"the depositor has not registered the metadata of {deposit_id} with this node",
            code="metadata_missing",
        )
    note_capacity(request, rel)
    stored = (store.has_file(f["sm3"]) for f in kept["metadata"]["files"])
    return views.metadata_view(record, kept, stored, rel)


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
        raise _unprocessable(f"{file_sm3} is not one of the deposit's files", "file_not_in_deposit")
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


def get_file(
    request: Request,
    deposit_id: str = DEPOSIT_ID,
    file_sm3: str = FILE_SM3,
    member: MemberRecord = Depends(authenticated),
) -> Response:
    """One stored file of the deposit (restricted), re-hashed before it is served."""
    node, store = node_of(request), store_of(request)
    record = deposit_record(node, deposit_id)
    rel = views.require_reader(member, record, "the files")
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
        rel = views.require_reader(member, record, "a full verification report")
        note_capacity(request, rel)
        restricted = True
    return verify_deposit_file(node, store, record, file_sm3, data, filename, index, restricted)


# --- the router ------------------------------------------------------------------------------


def router(runtime: NodeRuntime) -> APIRouter:
    routes = APIRouter(prefix="/v1/evidence", tags=["evidence"])
    routes.add_api_route("/stats", stats, methods=["GET"])
    routes.add_api_route("/deposits/{deposit_id}", deposit, methods=["GET"])
    routes.add_api_route("/deposits", deposits, methods=["GET"])
    routes.add_api_route("/deposits/{deposit_id}/metadata", put_metadata, methods=["PUT"])
    routes.add_api_route("/deposits/{deposit_id}/metadata", get_metadata, methods=["GET"])
    routes.add_api_route("/deposits/{deposit_id}/files/{file_sm3}", put_file, methods=["PUT"])
    routes.add_api_route("/deposits/{deposit_id}/files/{file_sm3}", get_file, methods=["GET"])
    routes.add_api_route("/verify", verify, methods=["POST"])
    return routes
