"""The ``ledger`` command line."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from keys import FileKeyStore, passphrase_from_env
from ledger import audit_cli
from ledger.canonical import parse_json
from ledger.console import err, out
from ledger.console import fail as _fail
from ledger.console import read_json as _read_json
from ledger.errors import LedgerError
from ledger.witness_cli import check_evidence_command, witness_command

app = typer.Typer(
    help="Permissioned ledger for government records (SM2/SM3).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
Home = Annotated[Path, typer.Option("--home", help="consortium directory (genesis.json, keys/)")]


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
    public_url: Annotated[
        str | None,
        typer.Option(
            help="base URL of the links and QR codes in signed reports and card QR codes "
            "[LEDGER_PUBLIC_URL; http://HOST:PORT]"
        ),
    ] = None,
) -> None:
    """Run a node: its API on HOST:PORT, producing blocks as transactions arrive.

    With several validators (or peers in HOME/node.json) the node runs validator VALIDATOR
    of the BFT consensus: it talks to its peers on its p2p address from node.json and, unless
    --port (or LEDGER_PORT) says otherwise, serves its API on its address from node.json.
    Options left out come from LEDGER_* environment variables, then the defaults. The node
    answers only to the names of LEDGER_ALLOWED_HOSTS (default: its listen address, localhost
    and the public URL's host); other Host headers get 400 bad_host.
    """
    import uvicorn
    from pydantic import ValidationError

    from api import create_app
    from api.runtime import parse_address
    from ledger.consortium import load_config
    from ledger.settings import Settings

    given: dict[str, Any] = {
        "home": home,
        "host": host,
        "port": port,
        "validator": validator,
        "db_url": db,
        "public_url": public_url,
    }
    try:
        settings = Settings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        for problem in exc.errors():
            err.print(f"[bold red]error[/]: {problem['msg']}")
        raise typer.Exit(2) from None
    entries = load_config(settings.home).get("validators")
    entry = entries.get(settings.validator) if isinstance(entries, dict) else None
    if isinstance(entry, dict) and "api" in entry:
        try:
            api_host, api_port = parse_address(entry["api"], "node.json api")
        except LedgerError as exc:
            _fail(exc)
            return
        if "port" not in settings.model_fields_set:
            settings.port = api_port
        if "host" not in settings.model_fields_set:
            settings.host = api_host
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
    out.print(f"  public URL (links and QR codes): {settings.public_base_url()}")
    if urlsplit(settings.public_base_url()).hostname in ("0.0.0.0", "::"):
        err.print(
            "[bold yellow]warning[/]: the public URL names a wildcard address; set "
            "--public-url (LEDGER_PUBLIC_URL) to the name clients use"
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


@app.command()
def deposit(
    files: Annotated[list[Path], typer.Argument(help="the files to deposit (one deposit)")],
    title: Annotated[str, typer.Option(help="what the evidence is")],
    source: Annotated[str, typer.Option(help="where the data was collected (URL, address)")],
    member: Annotated[str, typer.Option("--as", help="depositing member id")] = (
        "evidence-platform"
    ),
    case_ref: Annotated[
        str | None, typer.Option(help="case number, e.g. (2026)粤0192民初1号")
    ] = None,
    home: Home = Path("demo"),
    url: Annotated[str, typer.Option()] = "http://127.0.0.1:8000",
    receipt_out: Annotated[Path | None, typer.Option("--out", help="write the receipt")] = None,
) -> None:
    """Deposit files as electronic evidence: SM3 of each file and a salted commitment to the
    metadata go on chain; the metadata is registered with the node (restricted) and kept,
    with its salt, in RECEIPT.private.json beside the receipt."""
    import mimetypes
    import platform
    import time as _time

    from ledger.client import LedgerClient, make_transaction
    from ledger.crypto import PrivateKey, sm3_hex
    from ledger.domains.evidence.schemas import deposit_payload, new_salt

    entries = []
    for f in files:
        data = f.read_bytes()
        entries.append(
            {
                "sm3": sm3_hex(data),
                "size": len(data),
                "name": f.name,
                "media_type": mimetypes.guess_type(f.name)[0] or "application/octet-stream",
            }
        )
    metadata: dict[str, Any] = {
        "v": 1,
        "title": title,
        "files": entries,
        "provenance": {
            "method": "file_upload",
            "source": source,
            "captured_at": _time.time_ns() // 1_000_000,
            "tool": {"name": "ledger-cli", "version": "0.1.0"},
            "environment": {"os": platform.platform()[:100]},
        },
    }
    if case_ref:
        metadata["case_ref"] = case_ref
    salt = new_salt()
    try:
        signer = PrivateKey.from_pem(
            (home / "keys" / f"{member}.pem").read_bytes(), passphrase_from_env()
        )
        with LedgerClient(url) as client:
            genesis = client.genesis()
            tx = make_transaction(
                signer,
                chain_id=genesis.chain_id,
                type="evidence.deposit",
                submitter=member,
                payload=deposit_payload(metadata, salt),
            )
            receipt = client.submit_and_wait(tx)
            client.signed_request(
                signer,
                member,
                "PUT",
                f"/v1/evidence/deposits/{tx.tx_id}/metadata",
                {"salt": salt, "metadata": metadata},
            )
    except FileNotFoundError as exc:
        err.print(f"[bold red]error[/]: {exc}")
        raise typer.Exit(2) from None
    except LedgerError as exc:
        _fail(exc)
        return
    out_path = receipt_out or Path(f"deposit-{tx.tx_id[:16]}.json")
    out_path.write_text(json.dumps(receipt, indent=2, ensure_ascii=False) + "\n")
    private = out_path.with_suffix(".private.json")
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(
            {"deposit_id": tx.tx_id, "salt": salt, "metadata": metadata},
            fh,
            ensure_ascii=False,
            indent=2,
        )
    out.print(
        f"deposited {len(files)} file(s) as {tx.tx_id} in block {receipt['header']['height']}"
    )
    out.print(f"  receipt: {out_path}   metadata and salt (keep private): {private}")


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
                generator = importlib.import_module(f"ledger.domains.{name}.demo")
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


@app.command()
def report(
    tx_id: Annotated[
        str, typer.Argument(help="transaction id (of an evidence file: the deposit id)")
    ],
    report_out: Annotated[Path, typer.Option("--out", help="where to write the PDF")],
    url: Annotated[str, typer.Option()] = "http://127.0.0.1:8000",
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="an evidence file to verify against the deposit: its SM3 is computed here and "
            "only the hash is sent",
        ),
    ] = None,
) -> None:
    """Fetch a transaction's verification report (PDF), signed by the node's validator key.

    Check a copy later, without the node: ledger report-verify REPORT.pdf --genesis genesis.json
    """
    import httpx

    from ledger.client import LedgerClient, _raise_for
    from ledger.crypto import sm3_hex
    from ledger.report import fingerprint, read_report_pdf

    params: dict[str, str] = {}
    if file is not None:
        try:
            params = {"sm3": sm3_hex(file.read_bytes()), "file_name": file.name}
        except FileNotFoundError:
            err.print(f"[bold red]error[/]: no file {file}")
            raise typer.Exit(2) from None
    try:
        with LedgerClient(url, timeout=60) as client:
            try:
                response = client.http.get(f"/v1/reports/{tx_id}.pdf", params=params or None)
            except httpx.HTTPError as exc:
                err.print(f"[bold red]error[/]: cannot reach the node: {exc}")
                raise typer.Exit(1) from None
            _raise_for(response)
        signed = read_report_pdf(response.content)
    except LedgerError as exc:
        _fail(exc)
        return
    report_out.write_bytes(response.content)
    data = signed["report"]
    out.print(f"written to {report_out}: report of transaction {tx_id}")
    out.print(f"  result: {data['result']}; verified at {data['verified_at_utc']}")
    out.print(f"  signed by validator {data['node']['validator']}; fingerprint {fingerprint(data)}")


@app.command("report-verify")
def report_verify(
    report_file: Annotated[Path, typer.Argument(metavar="REPORT.pdf")],
    genesis: Annotated[Path, typer.Option(help="the trusted genesis.json")],
) -> None:
    """Check a verification report offline: the node's SM2 signature over its content, that the
    signer is a validator of the chain (reached from the genesis through the report's validator
    history), the embedded receipt, the file's Merkle path and the printed transaction id.
    Exit 0 when it holds."""
    from ledger.consortium import load_genesis
    from ledger.report import verify_report_pdf

    try:
        data = report_file.read_bytes()
    except FileNotFoundError:
        err.print(f"[bold red]error[/]: no file {report_file}")
        raise typer.Exit(2) from None
    try:
        trusted = load_genesis(genesis)
    except LedgerError as exc:
        _fail(exc, 2)
        return
    result = verify_report_pdf(data, trusted)
    marks = {"passed": "[green]passed[/]", "failed": "[bold red]FAILED[/]"}
    for step in result["steps"]:
        mark = marks.get(step["outcome"], step["outcome"])
        out.print(f"  {step['step']:<11} {mark}  {step['detail']}")
    report = result.get("report") or {}
    tx = (report.get("transaction") or {}).get("tx_id")
    if result["valid"]:
        out.print(
            f"[bold green]valid[/]: report of transaction {tx}, result {report.get('result')}, "
            f"verified at {report.get('verified_at_utc')}"
        )
        return
    err.print("[bold red]invalid[/]: the report does not verify")
    raise typer.Exit(1)


# the auditor witness (ledger/witness.py, docs/witness.md)
app.command("witness")(witness_command)
app.command("witness-check-evidence")(check_evidence_command)


# --- auditor tools (issue 5): the commands live in ledger/audit_cli.py ---
app.command("export")(audit_cli.export)
app.command("access-log")(audit_cli.access_log)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
