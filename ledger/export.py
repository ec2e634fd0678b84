"""Streamed export of a member's or a domain's transactions with their receipts (audits).

The node reads the store one page at a time (``Settings.export_page_size`` rows, by the
indexes on (submitter, timestamp) and (type, timestamp)) and encodes each row as it goes, so
an export of any size holds one page in memory. The export is a snapshot: only the first
``log_size`` transactions of the log (the tip when the export started) are read, so blocks
committed meanwhile do not shift the pages.

A record is ``{"tx_id", "height", "index", "type", "submitter", "timestamp", "receipt"}``
with the receipt of spec section 6 exactly as ``GET /v1/transactions/{id}/receipt`` returns
it (built by ``Node.receipt_of``). Transactions of block 0 have ``"receipt": null``: they are
proven by genesis.json itself. JSON lines: one ``C(record)`` per line. CSV: a header row,
then one row per transaction, the receipt column holding ``C(receipt)`` (empty for block 0).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from ledger.canonical import MAX_SAFE_INTEGER, canonical, parse_json
from ledger.domains.member.rules import domain as member_domain
from ledger.domains.registry import RECORD_DOMAINS
from ledger.errors import InvalidInput, MalformedData, VerificationError
from ledger.genesis import genesis_block
from ledger.model import Genesis
from ledger.store import Store, StoredTx
from ledger.verify import verify_receipt

FORMATS = ("jsonl", "csv")
COLUMNS = ("tx_id", "height", "index", "type", "submitter", "timestamp", "receipt")
MEDIA_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}
MEMBERSHIP = "membership"
AUDIT_ROLES = frozenset({"auditor", "governance"})


def domain_types() -> dict[str, list[str]]:
    """Each domain name and its transaction types (``membership``: the member.* types)."""
    out = {d.name: sorted(d.specs) for d in RECORD_DOMAINS}
    out[MEMBERSHIP] = sorted(member_domain.specs)
    return out


@dataclass(frozen=True)
class ExportQuery:
    member: str | None
    domain: str | None
    from_ms: int
    to_ms: int
    format: str

    @classmethod
    def parse(
        cls,
        *,
        member: str | None,
        domain: str | None,
        from_ms: int | None,
        to_ms: int | None,
        format: str,
    ) -> ExportQuery:
        """Check every parameter; a bad one is a 400 naming it."""
        if (member is None) == (domain is None):
            raise InvalidInput(
                "give exactly one of member=ID and domain=NAME", code="bad_export_query"
            )
        if domain is not None and domain not in domain_types():
            raise InvalidInput(
                f"no domain {domain!r}; the domains are {sorted(domain_types())}",
                code="unknown_domain",
            )
        if format not in FORMATS:
            raise InvalidInput(
                f"format must be one of {list(FORMATS)}, not {format!r}", code="bad_format"
            )
        start = 0 if from_ms is None else from_ms
        end = MAX_SAFE_INTEGER if to_ms is None else to_ms
        if not 0 <= start <= end <= MAX_SAFE_INTEGER:
            raise InvalidInput(
                f"the time range needs 0 <= from_ms <= to_ms <= 2^53-1; got {start}..{end}",
                code="bad_range",
            )
        return cls(member, domain, start, end, format)

    def types(self) -> list[str] | None:
        return None if self.domain is None else domain_types()[self.domain]

    def filename(self) -> str:
        who = f"member-{self.member}" if self.member is not None else f"domain-{self.domain}"
        return f"export-{who}-{self.from_ms}-{self.to_ms}.{self.format}"


class ReceiptBuilder(Protocol):
    """What an export needs of the node (``ledger.node.Node``)."""

    store: Store

    def receipt_of(
        self,
        stored: StoredTx,
        block_row: tuple[bytes, bytes] | None = None,
        public_key: str | None = None,
    ) -> dict[str, Any]: ...


def record_of(stored: StoredTx, receipt: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "tx_id": stored.tx_id,
        "height": stored.height,
        "index": stored.idx,
        "type": stored.type,
        "submitter": stored.submitter,
        "timestamp": stored.timestamp,
        "receipt": receipt,
    }


def export_records(
    node: ReceiptBuilder, query: ExportQuery, *, log_size: int, page_size: int
) -> Iterator[dict[str, Any]]:
    """The export's records, in (timestamp, log position) order, read a page at a time."""
    store = node.store
    keys: dict[str, str | None] = {}
    after: tuple[int, int] | None = None
    while True:
        page = store.export_page(
            submitter=query.member,
            types=query.types(),
            from_ms=query.from_ms,
            to_ms=query.to_ms,
            log_size=log_size,
            after=after,
            limit=page_size,
        )
        blocks = store.block_rows({s.height for s in page if s.height > 0})
        for stored in page:
            receipt = None
            if stored.height > 0:
                if stored.key_id not in keys:
                    keys[stored.key_id] = store.public_key(stored.key_id)
                receipt = node.receipt_of(stored, blocks[stored.height], keys[stored.key_id])
            yield record_of(stored, receipt)
        if len(page) < page_size:
            return
        after = (page[-1].timestamp, page[-1].log_index)


def encode_jsonl(records: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    for record in records:
        yield canonical(record) + b"\n"


def encode_csv(records: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for record in records:
        receipt = record["receipt"]
        writer.writerow(
            [
                *(record[c] for c in COLUMNS[:-1]),
                "" if receipt is None else canonical(receipt).decode(),
            ]
        )
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


def encode(records: Iterable[dict[str, Any]], format: str) -> Iterator[bytes]:
    return encode_jsonl(records) if format == "jsonl" else encode_csv(records)


# --- reading an export back (the auditor's side) -------------------------------------------


def read_jsonl(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        value = parse_json(line.encode())
        if not isinstance(value, dict) or set(value) != set(COLUMNS):
            raise MalformedData(f"line {n}: an export record has exactly the keys {COLUMNS}")
        yield value


def read_csv(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    rows = csv.reader(lines)
    header = next(rows, None)
    if header is None:
        return
    if tuple(header) != COLUMNS:
        raise MalformedData(f"the CSV header is not {','.join(COLUMNS)}")
    for n, row in enumerate(rows, 2):
        if len(row) != len(COLUMNS):
            raise MalformedData(f"CSV row {n} has {len(row)} columns, not {len(COLUMNS)}")
        value: dict[str, Any] = dict(zip(COLUMNS, row, strict=True))
        try:
            for column in ("height", "index", "timestamp"):
                value[column] = int(value[column])
        except ValueError:
            raise MalformedData(f"CSV row {n}: height, index, timestamp are integers") from None
        value["receipt"] = parse_json(row[-1].encode()) if row[-1] else None
        yield value


def read_records(lines: Iterable[str], format: str) -> Iterator[dict[str, Any]]:
    return read_jsonl(lines) if format == "jsonl" else read_csv(lines)


class RecordVerifier:
    """Checks exported records offline against a trusted genesis."""

    def __init__(self, genesis: Genesis) -> None:
        self.genesis = genesis
        self.genesis_ids = {tx.tx_id for tx in genesis_block(genesis).transactions}

    def check(self, record: dict[str, Any]) -> None:
        """Raise a ``VerificationError`` naming the transaction when a record does not hold:
        its receipt (spec section 6) and that its columns are what the receipt proves."""
        tx_id = record["tx_id"]
        step = f"export record {tx_id}"
        if record["height"] == 0:
            if record["receipt"] is not None or tx_id not in self.genesis_ids:
                raise VerificationError(
                    step, "is not a transaction of the genesis block that genesis.json defines"
                )
            return
        if record["receipt"] is None:
            raise VerificationError(step, "has no receipt")
        try:
            verified = verify_receipt(record["receipt"], self.genesis)
        except VerificationError as exc:
            raise VerificationError(
                f"{step} receipt {exc.step}", exc.message, expected=exc.expected, found=exc.found
            ) from None
        env = verified.transaction.envelope
        proven = {
            "tx_id": verified.tx_id,
            "height": verified.header.height,
            "index": verified.index,
            "type": env.type,
            "submitter": env.submitter,
            "timestamp": env.timestamp,
        }
        for column, value in proven.items():
            if record[column] != value:
                raise VerificationError(
                    f"{step} column {column}",
                    "differs from what the receipt proves",
                    expected=value,
                    found=record[column],
                )
