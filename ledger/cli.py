"""The ``ledger`` command line."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from keys import FileKeyStore, passphrase_from_env
from ledger.canonical import parse_json
from ledger.errors import LedgerError, VerificationError

app = typer.Typer(
    help="Permissioned ledger for government records (SM2/SM3).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

Home = Annotated[Path, typer.Option("--home", help="consortium directory (genesis.json, keys/)")]


def _fail(exc: LedgerError, code: int = 1) -> None:
    err.print(f"[bold red]error[/] ({exc.code}): {exc.message}")
    if isinstance(exc, VerificationError):
        err.print(f"  step:     {exc.step}")
        if exc.expected is not None:
            err.print(f"  expected: {exc.expected}")
        if exc.found is not None:
            err.print(f"  found:    {exc.found}")
    raise typer.Exit(code)


def _read_json(path: Path) -> Any:
    try:
        return parse_json(path.read_bytes())
    except FileNotFoundError:
        err.print(f"[bold red]error[/]: no file {path}")
        raise typer.Exit(2) from None
    except LedgerError as exc:
        err.print(f"[bold red]error[/] ({exc.code}): {path} is not strict JSON: {exc.message}")
        raise typer.Exit(2) from None


@app.command()
def init(
    home: Annotated[Path, typer.Argument(help="directory for the new consortium")],
    demo: Annotated[bool, typer.Option(help="one member per role, unencrypted keys")] = False,
    validators: Annotated[int, typer.Option(min=1, max=64)] = 1,
    chain_id: Annotated[str, typer.Option()] = "gz-gov-ledger",
) -> None:
    """Create a consortium: genesis.json, node.json and HOME/keys/<id>.pem for each member."""
    from ledger.consortium import create

    try:
        consortium = create(
            home,
            demo=demo,
            validators=validators,
            chain_id=chain_id,
            passphrase=passphrase_from_env(),
        )
    except LedgerError as exc:
        _fail(exc)
        return
    g = consortium.genesis
    out.print(f"created chain [bold]{g.chain_id}[/] in {home}")
    out.print(f"  genesis: {home / 'genesis.json'} (hash {g.hash})")
    out.print(f"  validators: {', '.join(v.id for v in g.validators.validators)}")
    for m in g.members:
        out.print(f"  member {m.id:<24} {','.join(m.roles):<12} keys/{m.id}.pem")


@app.command()
def node(
    home: Annotated[
        Path | None, typer.Option(help="consortium directory [LEDGER_HOME; demo]")
    ] = None,
    validator: Annotated[str | None, typer.Option(help="validator id to sign as")] = None,
    host: Annotated[str | None, typer.Option(help="[LEDGER_HOST; 127.0.0.1]")] = None,
    port: Annotated[int | None, typer.Option(help="[LEDGER_PORT; 8000]")] = None,
    db: Annotated[
        str | None, typer.Option(help="database URL [LEDGER_DB_URL; SQLite in HOME]")
    ] = None,
) -> None:
    """Run a node: its API on HOST:PORT, producing blocks as transactions arrive.

    Options left out come from LEDGER_* environment variables, then the defaults.
    """
    import uvicorn

    from api import create_app
    from ledger.settings import Settings

    given: dict[str, Any] = {
        "home": home,
        "host": host,
        "port": port,
        "validator": validator,
        "db_url": db,
    }
    settings = Settings(**{k: v for k, v in given.items() if v is not None})
    home, host, port = settings.home, settings.host, settings.port
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if not (home / "genesis.json").exists():
        err.print(
            f"[bold red]error[/]: no genesis.json in {home}; run `ledger init {home} --demo` first"
        )
        raise typer.Exit(2)
    out.print(
        f"ledger node for {home} on http://{host}:{port}  (API docs: http://{host}:{port}/docs)"
    )
    uvicorn.run(
        create_app(settings), host=host, port=port, log_level="warning", timeout_graceful_shutdown=5
    )


@app.command()
def keygen(
    name: Annotated[str, typer.Argument(help="key name: the file is DIR/NAME.pem")],
    directory: Annotated[Path, typer.Option("--dir", help="key directory")] = Path("keys"),
    plain: Annotated[bool, typer.Option(help="store unencrypted (demo only)")] = False,
    rotate: Annotated[bool, typer.Option(help="archive the existing key, make a new one")] = False,
) -> None:
    """Generate (or rotate) an SM2 key as PKCS#8 PEM, encrypted with LEDGER_KEY_PASSPHRASE."""
    passphrase = None if plain else passphrase_from_env()
    if not plain and passphrase is None:
        err.print("[bold red]error[/]: set LEDGER_KEY_PASSPHRASE, or pass --plain for a demo key")
        raise typer.Exit(2)
    store = FileKeyStore(directory, passphrase)
    try:
        if rotate:
            old, new = store.rotate(name)
            out.print(f"retired key_id {old.key_id}")
        else:
            new = store.generate(name)
    except LedgerError as exc:
        _fail(exc)
        return
    out.print(
        json.dumps(
            {
                "name": name,
                "file": str(store.path(name)),
                "public_key": new.hex,
                "key_id": new.key_id,
            },
            indent=2,
        )
    )


@app.command()
def submit(
    tx_type: Annotated[str, typer.Option("--type", help="<domain>.<action>")],
    payload: Annotated[str, typer.Option(help="JSON object, or @FILE")],
    member: Annotated[str, typer.Option("--as", help="submitting member id")],
    home: Home = Path("demo"),
    key: Annotated[Path | None, typer.Option(help="key file (default HOME/keys/<as>.pem)")] = None,
    url: Annotated[str, typer.Option()] = "http://127.0.0.1:8000",
    wait: Annotated[bool, typer.Option(help="wait for the receipt")] = True,
    receipt_out: Annotated[Path | None, typer.Option("--out", help="write the receipt")] = None,
) -> None:
    """Sign and submit a transaction; print its tx_id (and its receipt with --wait)."""
    from ledger.client import LedgerClient, make_transaction
    from ledger.crypto import PrivateKey

    text = Path(payload[1:]).read_text() if payload.startswith("@") else payload
    key_path = key or home / "keys" / f"{member}.pem"
    try:
        signer = PrivateKey.from_pem(key_path.read_bytes(), passphrase_from_env())
        with LedgerClient(url) as client:
            genesis = client.genesis()
            tx = make_transaction(
                signer,
                chain_id=genesis.chain_id,
                type=tx_type,
                submitter=member,
                payload=parse_json(text),
            )
            if not wait:
                out.print(client.submit(tx))
                return
            receipt = client.submit_and_wait(tx)
    except FileNotFoundError:
        err.print(f"[bold red]error[/]: no key file {key_path}")
        raise typer.Exit(2) from None
    except LedgerError as exc:
        _fail(exc)
        return
    _emit(receipt, receipt_out)


def _emit(value: Any, path: Path | None) -> None:
    text = json.dumps(value, indent=2, ensure_ascii=False)
    if path is None:
        out.print_json(text)
    else:
        path.write_text(text + "\n")
        out.print(f"written to {path}")


@app.command()
def receipt(
    tx_id: Annotated[str, typer.Argument()],
    url: Annotated[str, typer.Option()] = "http://127.0.0.1:8000",
    receipt_out: Annotated[Path | None, typer.Option("--out")] = None,
) -> None:
    """Fetch the receipt of a committed transaction."""
    from ledger.client import LedgerClient

    try:
        with LedgerClient(url) as client:
            value = client.receipt(tx_id)
    except LedgerError as exc:
        _fail(exc)
        return
    _emit(value, receipt_out)


@app.command()
def verify(
    receipt_file: Annotated[Path, typer.Argument(metavar="RECEIPT.json")],
    genesis: Annotated[Path, typer.Option(help="the trusted genesis.json")],
) -> None:
    """Verify a receipt offline against a genesis (spec section 6). Exit 0 when valid."""
    from ledger.consortium import load_genesis
    from ledger.verify import verify_receipt

    value = _read_json(receipt_file)
    try:
        trusted = load_genesis(genesis)
        result = verify_receipt(value, trusted)
    except LedgerError as exc:
        _fail(exc)
        return
    h = result.header
    out.print(f"[bold green]valid[/]: transaction {result.tx_id}")
    env = result.transaction.envelope
    out.print(f"  type {env.type} by {env.submitter}")
    out.print(f"  block {h.height} (hash {h.block_hash}), position {result.index}")
    signers = ", ".join(s["validator"] for s in value["commit"]["signatures"])
    out.print(f"  certified by {signers} on chain {trusted.chain_id}")


@app.command()
def audit(
    home: Annotated[Path | None, typer.Option("--home", help="audit the local database")] = None,
    url: Annotated[str | None, typer.Option(help="audit a node through its API")] = None,
    db: Annotated[str | None, typer.Option(help="database URL (default SQLite in HOME)")] = None,
    genesis: Annotated[Path | None, typer.Option(help="trusted genesis.json")] = None,
    workers: Annotated[int, typer.Option(help="processes verifying signatures")] = (
        os.cpu_count() or 1
    ),
) -> None:
    """Re-verify the whole chain and name the first block and field that does not hold."""
    from ledger.audit import Auditor, HttpSource, StoreAuditor
    from ledger.client import LedgerClient
    from ledger.consortium import load_genesis
    from ledger.settings import Settings
    from ledger.store import Store

    if (home is None) == (url is None):
        err.print("[bold red]error[/]: give exactly one of --home and --url")
        raise typer.Exit(2)
    progress = Progress(
        TextColumn("auditing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )
    task = progress.add_task("blocks", total=None)

    def advance(done: int, total: int) -> None:
        progress.update(task, completed=done, total=total)

    try:
        with progress:
            if home is not None:
                trusted = load_genesis(genesis or home / "genesis.json")
                store = Store(db or Settings(home=home).database_url())
                report = StoreAuditor(store, trusted, workers=workers, progress=advance).run()
            else:
                assert url is not None
                client = LedgerClient(url)
                trusted = load_genesis(genesis) if genesis else client.genesis()
                report = Auditor(
                    HttpSource(client), trusted, workers=workers, progress=advance
                ).run()
    except LedgerError as exc:
        _fail(exc)
        return
    out.print(
        f"[bold green]clean[/]: {report.blocks} blocks, {report.transactions} "
        f"transactions; log size {report.log_size}, root {report.log_root}"
    )


DEMO_DOMAINS = ("reopening", "bidding", "edu_card", "evidence")


@app.command()
def demo(
    url: Annotated[str, typer.Option()] = "http://127.0.0.1:8000",
    home: Home = Path("demo"),
    domains: Annotated[
        list[str] | None, typer.Option("--domain", help="only these domains (repeatable)")
    ] = None,
    scale: Annotated[float, typer.Option(help="multiply the default amounts")] = 1.0,
) -> None:
    """Fill a running node with realistic sample data for the four domains.

    Defaults: 50 enterprises' filings, 3 tenders with bids and evaluations, 200 education
    cards, 100 evidence deposits. Keys come from HOME/keys (a demo consortium).
    """
    import importlib

    from ledger.client import LedgerClient

    amounts = {"reopening": 50, "bidding": 3, "edu_card": 200, "evidence": 100}
    chosen = domains or list(DEMO_DOMAINS)
    unknown = set(chosen) - set(DEMO_DOMAINS)
    if unknown:
        err.print(f"[bold red]error[/]: unknown domain(s) {sorted(unknown)}")
        raise typer.Exit(2)
    total = 0
    try:
        with (
            LedgerClient(url, timeout=60) as client,
            Progress(
                TextColumn("{task.description:<10}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=err,
            ) as progress,
        ):
            for name in chosen:
                generator = importlib.import_module(f"ledger.domains.{name}_demo")
                count = max(1, round(amounts[name] * scale))
                task = progress.add_task(name, total=None)

                def advance(done: int, task: Any = task) -> None:
                    progress.update(task, completed=done)

                made = generator.generate(client, home, count, advance)
                progress.update(task, total=made, completed=made)
                total += made
    except LedgerError as exc:
        _fail(exc)
        return
    out.print(f"[bold green]done[/]: {total} transactions submitted to {url}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
