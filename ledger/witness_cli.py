"""The auditor witness's commands (``ledger witness``, ``ledger witness-check-evidence``):
the work is in ``ledger/witness.py``; see docs/witness.md."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.witness import HistoryConflict, NodeApi, check_evidence, run

EXIT_CONFLICT = 1
EXIT_ERROR = 2


def witness_command(
    url: Annotated[str, typer.Option(help="the node to hold to its history")],
    state: Annotated[Path, typer.Option(help="state file: the last checkpoint verified")],
    key: Annotated[Path, typer.Option(help="the witness's SM2 key (PKCS#8 PEM)")],
    witness_id: Annotated[str, typer.Option("--id", help="the witness's member id (auditor)")],
    genesis: Annotated[
        Path | None, typer.Option(help="trusted genesis.json (default: the node's, first run)")
    ] = None,
    evidence: Annotated[
        Path | None, typer.Option(help="where to write evidence [STATE.conflict.json]")
    ] = None,
) -> None:
    """Check the node's newest checkpoint against the last one verified, keep it and cosign it.

    Exit 0 when the log only grew; 1 when the node rewrote its history (the two checkpoints
    and the failing proof are written to the evidence file); 2 when it could not be checked.
    """
    import time

    from keys import passphrase_from_env
    from ledger.console import err, out
    from ledger.console import fail as _fail
    from ledger.consortium import load_genesis
    from ledger.crypto import PrivateKey
    from ledger.errors import LedgerError

    node = NodeApi(url)
    try:
        trusted = load_genesis(genesis) if genesis else None
        signer = PrivateKey.from_pem(key.read_bytes(), passphrase_from_env())
        result = run(
            node,
            state,
            signer,
            witness_id,
            trusted_genesis=trusted,
            evidence=evidence,
            clock=lambda: time.time_ns() // 1_000_000,
        )
    except FileNotFoundError as exc:
        err.print(f"[bold red]error[/]: no file {exc.filename}")
        raise typer.Exit(EXIT_ERROR) from None
    except HistoryConflict as conflict:
        title = "HISTORY REWRITTEN" if conflict.conclusive else "CONSISTENCY NOT PROVEN"
        err.print(f"[bold red]{title}[/]: {conflict.message}")
        err.print(f"  stored:    {conflict.stored.describe()}")
        err.print(f"  presented: {conflict.presented.describe()}")
        err.print(f"  evidence:  {conflict.evidence_file}")
        raise typer.Exit(EXIT_CONFLICT) from None
    except LedgerError as exc:
        _fail(exc, EXIT_ERROR)
        return
    finally:
        node.close()
    before, now = result.previous.header, result.current.header
    grew = f"log grew from {before.log_size} to {now.log_size}"
    if now.log_size == before.log_size:
        grew = f"log unchanged at {now.log_size}"
    out.print(
        f"[bold green]consistent[/]: {grew}; height {now.height}, root {now.log_root}; "
        f"cosigned as {witness_id}"
    )


def check_evidence_command(
    evidence: Annotated[Path, typer.Argument(metavar="EVIDENCE.json")],
    genesis: Annotated[Path, typer.Option(help="the trusted genesis.json")],
) -> None:
    """Check a witness's evidence offline: both checkpoints are certified for the chain of
    GENESIS and cannot belong to one append-only log. Exit 0 when it proves that."""
    from ledger.console import err, out
    from ledger.console import fail as _fail
    from ledger.console import read_json as _read_json
    from ledger.consortium import load_genesis
    from ledger.errors import LedgerError

    value = _read_json(evidence)
    try:
        conflict = check_evidence(value, load_genesis(genesis))
    except LedgerError as exc:
        _fail(exc)
        return
    if not conflict.conclusive:
        err.print(f"[bold red]not proven[/]: {conflict.message}")
        err.print("  a failing proof shows only that the node did not prove consistency")
        raise typer.Exit(1)
    out.print(f"[bold green]proven[/]: {conflict.message}")
    out.print(f"  stored:    {conflict.stored.describe()}")
    out.print(f"  presented: {conflict.presented.describe()}")
    out.print(
        "  both checkpoints carry valid certificates of the genesis validator set or of a set "
        "their validator history hands trust to"
    )
