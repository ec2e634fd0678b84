"""The auditor's side of the export and of the read-access log (``ledger export``,
``ledger access-log``): signed requests, streaming to a file, offline checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from ledger.access_log import (
    GENESIS_HASH,
    AccessEntry,
    Head,
    check_entry,
    check_head,
    check_reaches,
    verify_head,
)
from ledger.canonical import parse_json
from ledger.client import LedgerClient, _raise_for
from ledger.crypto import Signer
from ledger.errors import MalformedData, Unavailable
from ledger.export import ExportQuery, RecordVerifier, read_records
from ledger.model import Genesis
from ledger.request_auth import sign_request


@dataclass(frozen=True)
class Downloaded:
    records: int
    size: int
    log_size: int


def download_export(
    client: LedgerClient,
    signer: Signer,
    requester: str,
    query: ExportQuery,
    out: Path,
    progress: Callable[[int, int], None] = lambda records, size: None,
) -> Downloaded:
    """Stream ``GET /v1/export`` into ``out`` (through ``out.part``, renamed when complete);
    ``progress(records, bytes)`` after each chunk."""
    params: dict[str, str | int] = {
        "member" if query.member is not None else "domain": query.member or query.domain or "",
        "from_ms": query.from_ms,
        "to_ms": query.to_ms,
        "format": query.format,
    }
    path = f"/v1/export?{urlencode(params)}"
    headers = sign_request(signer, requester, "GET", path)
    part = out.with_name(out.name + ".part")
    lines = size = 0
    try:
        with client.http.stream("GET", path, headers=headers) as response:
            if response.status_code >= 400:
                response.read()
                _raise_for(response)
            log_size = int(response.headers.get("x-ledger-log-size", "0"))
            with part.open("wb") as f:
                for chunk in response.iter_bytes():
                    f.write(chunk)
                    size += len(chunk)
                    lines += chunk.count(b"\n")
                    progress(lines - (query.format == "csv"), size)
    except httpx.HTTPError as exc:
        raise Unavailable(f"the export stream broke off: {exc}; {part} is incomplete") from exc
    part.replace(out)
    return Downloaded(max(lines - (query.format == "csv"), 0), size, log_size)


def verify_export_file(
    path: Path, format: str, genesis: Genesis, progress: Callable[[int], None] = lambda n: None
) -> int:
    """Check every record of an export file offline; the number of records."""
    verifier = RecordVerifier(genesis)
    count = 0
    with path.open(encoding="utf-8", newline="") as f:
        for record in read_records(f, format):
            verifier.check(record)
            count += 1
            progress(count)
    return count


# --- the read-access log -------------------------------------------------------------------


@dataclass(frozen=True)
class Review:
    entries: int
    head: Head
    signed_head: dict[str, Any]
    readers: dict[str, int]


def load_kept_head(path: Path, genesis: Genesis) -> tuple[Head, dict[str, Any]] | None:
    if not path.exists():
        return None
    value = parse_json(path.read_bytes())
    if not isinstance(value, dict) or "head" not in value:
        raise MalformedData(f"{path} is not an access log state file ({{'head': ...}})")
    return verify_head(value["head"], genesis), value["head"]


def save_kept_head(path: Path, signed_head: dict[str, Any]) -> None:
    part = path.with_name(path.name + ".part")
    part.write_text(json.dumps({"head": signed_head}, indent=2) + "\n")
    part.replace(path)


def review_access_log(
    client: LedgerClient,
    signer: Signer,
    requester: str,
    genesis: Genesis,
    kept: Head | None = None,
    page: int = 1000,
) -> Review:
    """Fetch the whole log, verify its chain from entry 1, that it ends at the head the node
    signs, and that it still holds the head kept from an earlier review (``kept``)."""
    last: tuple[int, str] = (0, GENESIS_HASH)
    hash_at_kept = GENESIS_HASH if kept is not None and kept.seq == 0 else None
    readers: dict[str, int] = {}
    while True:
        response = client.signed_request(
            signer, requester, "GET", f"/v1/access-log?from_seq={last[0] + 1}&limit={page}"
        )
        head = verify_head(response["head"], genesis)
        entries = [AccessEntry.from_wire(e) for e in response["entries"]]
        for entry in entries:
            last = (last[0] + 1, check_entry(entry, last[0] + 1, last[1]))
            readers[entry.reader] = readers.get(entry.reader, 0) + 1
            if kept is not None and entry.seq == kept.seq:
                hash_at_kept = entry.entry_hash
        if not entries or last[0] >= head.seq:
            break
    if kept is not None:
        check_reaches(kept, head, hash_at_kept)
    check_head(head, last)
    return Review(last[0], head, response["head"], readers)
