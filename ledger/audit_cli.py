"""``ledger export`` and ``ledger access-log``: the auditor's commands (registered in
ledger/cli.py; the work is in ledger/audit_client.py)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import (
    DownloadColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TransferSpeedColumn,
)

from keys import passphrase_from_env
from ledger.errors import InvalidInput, LedgerError

Url = Annotated[str, typer.Option(help="the node's URL")]
KeyFile = Annotated[Path, typer.Option("--key", help="your member key file (PEM)")]
MemberId = Annotated[str, typer.Option("--id", help="your member id (who signs the requests)")]
GenesisFile = Annotated[
    Path | None,
    typer.Option(help="the trusted genesis.json (default: the node's own; pass it for audits)"),
]


def parse_time(value: str | None, what: str) -> int | None:
    """Milliseconds since the epoch, or an ISO 8601 time (UTC unless it has an offset)."""
    if value is None:
        return None
    if value.isdigit():
        return int(value)
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what}: {value!r} is neither milliseconds nor ISO 8601") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return int(t.timestamp() * 1000)


def export(
    key: KeyFile,
    requester: MemberId,
    member_filter: Annotated[
        str | None, typer.Option("--member", help="export this member's transactions")
    ] = None,
    domain: Annotated[
        str | None, typer.Option("--domain", help="export a domain's transactions")
    ] = None,
    time_from: Annotated[
        str | None, typer.Option("--from", help="from this time (ISO 8601 or ms), inclusive")
    ] = None,
    time_to: Annotated[
        str | None, typer.Option("--to", help="up to this time (ISO 8601 or ms), exclusive")
    ] = None,
    format: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    out_file: Annotated[Path | None, typer.Option("--out", help="output file")] = None,
    verify: Annotated[
        bool, typer.Option("--verify", help="check every receipt offline against the genesis")
    ] = False,
    url: Url = "http://127.0.0.1:8000",
    genesis: GenesisFile = None,
) -> None:
    """Stream every transaction of a member or a domain in a time range, with receipts."""
    from ledger.audit_client import download_export, verify_export_file
    from ledger.client import LedgerClient
    from ledger.console import err, out
    from ledger.console import fail as _fail
    from ledger.consortium import load_genesis
    from ledger.crypto import PrivateKey
    from ledger.export import ExportQuery

    try:
        query = ExportQuery.parse(
            member=member_filter,
            domain=domain,
            from_ms=parse_time(time_from, "--from"),
            to_ms=parse_time(time_to, "--to"),
            format=format,
        )
        signer = PrivateKey.from_pem(key.read_bytes(), passphrase_from_env())
    except FileNotFoundError:
        err.print(f"[bold red]error[/]: no key file {key}")
        raise typer.Exit(2) from None
    except LedgerError as exc:
        _fail(exc, 2)
        return
    target = out_file or Path(query.filename())
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.fields[records]} records"),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err,
        transient=True,
    )
    try:
        with LedgerClient(url, timeout=120) as client:
            trusted = load_genesis(genesis) if genesis else client.genesis()
            with progress:
                task = progress.add_task("exporting", total=None, records=0)
                done = download_export(
                    client,
                    signer,
                    requester,
                    query,
                    target,
                    lambda n, size: progress.update(task, completed=size, records=n),
                )
        out.print(
            f"exported {done.records} transactions ({done.size} bytes) to {target}; "
            f"snapshot of the log at size {done.log_size}"
        )
        if verify:
            with progress:
                task = progress.add_task("verifying", total=done.records, records=0)
                n = verify_export_file(
                    target,
                    query.format,
                    trusted,
                    lambda n: progress.update(task, completed=n, records=n),
                )
            out.print(f"[bold green]verified[/]: {n} receipts against genesis {trusted.hash}")
    except LedgerError as exc:
        _fail(exc)


def access_log(
    key: KeyFile,
    requester: MemberId,
    url: Url = "http://127.0.0.1:8000",
    state: Annotated[
        Path | None,
        typer.Option(
            help="keeps the last signed head; the next review checks the log still reaches it"
        ),
    ] = None,
    genesis: GenesisFile = None,
) -> None:
    """Fetch the read-access log, verify its hash chain and the node's signed head."""
    from ledger.audit_client import load_kept_head, review_access_log, save_kept_head
    from ledger.client import LedgerClient
    from ledger.console import err, out
    from ledger.console import fail as _fail
    from ledger.consortium import load_genesis
    from ledger.crypto import PrivateKey

    try:
        signer = PrivateKey.from_pem(key.read_bytes(), passphrase_from_env())
    except FileNotFoundError:
        err.print(f"[bold red]error[/]: no key file {key}")
        raise typer.Exit(2) from None
    try:
        with LedgerClient(url) as client:
            trusted = load_genesis(genesis) if genesis else client.genesis()
            kept = load_kept_head(state, trusted) if state else None
            review = review_access_log(
                client, signer, requester, trusted, kept[0] if kept else None
            )
    except LedgerError as exc:
        _fail(exc)
        return
    if state is not None:
        save_kept_head(state, review.signed_head)
    head = review.head
    signed_at = datetime.fromtimestamp(head.at_ms / 1000, UTC).isoformat(timespec="seconds")
    out.print(
        f"[bold green]intact[/]: {review.entries} entries, chain verified from entry 1 to the "
        f"head signed by {head.validator} at {signed_at} (seq {head.seq}, {head.entry_hash})"
    )
    if kept is not None:
        out.print(f"  still holds the head kept in {state} (seq {kept[0].seq})")
    for reader, n in Counter(review.readers).most_common():
        out.print(f"  {reader:<28} {n} reads")
