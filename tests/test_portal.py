"""The web portal and the printable report, in headless Chromium against a real node process.

One node (SQLite) and one browser serve the whole module. The node holds a single-file and a
three-file evidence deposit, education cards, an awarded tender and a tender whose bids are
still sealed. The tests drive the pages as a person would — drop files, paste receipts and QR
payloads, click the report button — and check what the page says; the in-browser SM3 is
compared with the node's on many inputs; every page is checked for requests outside the node.
Screenshots of each page go to the pytest tmp dir (and to $PORTAL_SCREENSHOTS when set).

Needs Debian's ``chromium`` and ``chromium-driver`` (``/usr/bin/chromium``,
``/usr/bin/chromedriver``) and the ``selenium`` package; skipped without them, failed in CI.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.canonical import canonical
from ledger.client import LedgerClient, make_transaction
from ledger.consortium import create, load_genesis
from ledger.crypto import PublicKey, sm3_hex
from ledger.domains.bidding import demo as bidding_demo
from ledger.domains.bidding.verify import bid_commitment
from ledger.domains.edu_card import demo as edu_card_demo
from ledger.domains.evidence.demo import Capture, register_metadata, sample_capture
from ledger.domains.evidence.schemas import new_salt
from ledger.model import Genesis
from ledger.report import ATTACHMENT, verify_report_pdf
from tests.conftest import Consortium
from tests.inprocess import InProcessNode
from tests.support import NodeProcess, wait_until
from tests.test_validator_changes import history_receipt

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PLATFORM = "evidence-platform"
WAIT = 20  # seconds a page may take to show a result


def _browser_missing() -> str | None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if not missing:
        return None
    return f"no headless Chromium: {', '.join(missing)} (apt-get install chromium chromium-driver)"


@pytest.fixture(scope="module")
def _need_browser() -> None:
    problem = _browser_missing()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(problem)
        pytest.skip(problem)


# --- the ledger the pages show -------------------------------------------------------------------


@dataclass
class Portal:
    url: str
    home: Path
    genesis: Genesis
    shots: Path
    single: tuple[str, bytes, str]  # file name, bytes, deposit id
    multi: tuple[list[tuple[str, str, bytes]], str]  # files, deposit id
    card: dict[str, Any]
    awarded: str  # project codes
    sealed: str
    batch_tx: str  # a transaction in a block of several (non-empty inclusion proof)
    visited: list[str] = field(default_factory=list)


def _deposit(
    client: LedgerClient, home: Path, files: list[tuple[str, str, bytes]], register: bool
) -> str:
    from keys import FileKeyStore

    signer = FileKeyStore(home / "keys").signer(PLATFORM)
    base = sample_capture(random.Random(len(files)), 1)
    metadata = {
        **base.metadata,
        "files": [
            {"sm3": sm3_hex(data), "size": len(data), "media_type": media, "name": name}
            for name, media, data in files
        ],
    }
    capture = Capture(files, metadata, new_salt())
    tx = make_transaction(
        signer,
        chain_id=client.genesis().chain_id,
        type="evidence.deposit",
        submitter=PLATFORM,
        payload=capture.payload,
    )
    client.submit_and_wait(tx)
    if register:
        register_metadata(client, signer, PLATFORM, tx.tx_id, capture)
    return tx.tx_id


def _sealed_tender(client: LedgerClient, home: Path) -> str:
    """A tender whose deadline is a day ahead, with two sealed bids."""
    run = bidding_demo._Run(client, home, lambda n: None)
    run.ensure_members()
    code = run.fresh_code(random.Random(5))
    deadline = run.node_time() + 86_400_000
    run.submit(
        [
            run.tx(
                bidding_demo.TENDERER,
                "tender.publish",
                {
                    "project_code": code,
                    "title": "白云区新市街道社区卫生服务中心设备采购",
                    "category": "goods",
                    "bid_deadline": deadline,
                    "opening_time": deadline,
                    "evaluation_method": "lowest_evaluated_price",
                    "estimated_value": "2400000.00",
                    "bid_bond": "40000.00",
                    "committee": list(bidding_demo.EVALUATORS[:5]),
                    "document_hash": sm3_hex(b"tender document"),
                },
            )
        ]
    )
    bids = [
        run.tx(
            bidder,
            "bid.commit",
            {
                "project_code": code,
                "commitment": bid_commitment(os.urandom(32).hex(), sm3_hex(bidder.encode()), price),
            },
        )
        for bidder, price in (
            ("bidder-alpha", "2310000.00"),
            ("gz-tianhe-smart-tech", "2298000.00"),
        )
    ]
    run.submit(bids)
    return code


@pytest.fixture(scope="module")
def portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    root = tmp_path_factory.mktemp("portal")
    consortium = create(root / "consortium", demo=True)
    home = consortium.home
    node = NodeProcess(home, f"sqlite:///{home / 'ledger.db'}").start()
    shots = root / "screenshots"
    shots.mkdir()
    try:
        with LedgerClient(node.url, timeout=60) as client:
            single_bytes = "电子合同（已签署）\nSigned contract, version 3\n".encode() * 40
            single_id = _deposit(
                client, home, [("contract-signed.txt", "text/plain", single_bytes)], False
            )
            multi_files = [
                ("page-screenshot.png", "image/png", b"\x89PNG\r\n\x1a\n" + os.urandom(3000)),
                (
                    "page.html",
                    "text/html",
                    "<html><body>商品页面 价格 199.00 元</body></html>".encode(),
                ),
                (
                    "network-log.har",
                    "application/json",
                    json.dumps({"log": {"entries": []}}).encode(),
                ),
            ]
            multi_id = _deposit(client, home, multi_files, True)
            edu_card_demo.generate(client, home, 6, lambda n: None)
            bidding_demo.generate(client, home, 1, lambda n: None)
            sealed = _sealed_tender(client, home)
            tenders = client.http.get("/v1/bidding/tenders").json()["tenders"]
            awarded = next(t["project_code"] for t in tenders if t["status"] == "awarded")
            blocks = client.http.get("/v1/explorer/blocks", params={"limit": 100}).json()["blocks"]
            busy = max(blocks, key=lambda b: b["tx_count"])
            batch_tx = client.http.get(f"/v1/explorer/blocks/{busy['height']}").json()[
                "transactions"
            ][1]["tx_id"]
        wallet = json.loads((home / "edu_card_wallet.json").read_text())
        card = next(c for c in wallet["cards"] if c["status_when_generated"] == "active")
        yield Portal(
            url=node.url,
            home=home,
            genesis=consortium.genesis,
            shots=shots,
            single=("contract-signed.txt", single_bytes, single_id),
            multi=(multi_files, multi_id),
            card=card,
            awarded=awarded,
            sealed=sealed,
            batch_tx=batch_tx,
        )
    finally:
        node.stop()


# --- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(
    _need_browser: None, portal: Portal, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path_factory.mktemp("downloads")
    profile = tmp_path_factory.mktemp("chromium-profile")
    options = Options()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--lang=en-US",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(arg)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)}
    )
    driver.downloads = downloads
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver: Any, css: str, timeout: float = WAIT) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, css))
    )


def _until(driver: Any, predicate: Any, timeout: float = WAIT) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout).until(lambda d: predicate(d))


def _css(driver: Any, css: str) -> list[Any]:
    from selenium.webdriver.common.by import By

    return list(driver.find_elements(By.CSS_SELECTOR, css))


def _check_requests(driver: Any, portal: Portal) -> None:
    """Everything the page loaded or fetched came from the node; no script or CSP error."""
    urls = driver.execute_script(
        "return performance.getEntries().map(e => e.name).filter(n => /^[a-z]+:/.test(n))"
    )
    outside = [u for u in urls if not u.startswith(portal.url + "/")]
    assert not outside, f"requests outside the node: {outside}"
    problems = [
        e["message"]
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE" and "404" not in e["message"]
    ]
    assert not problems, problems


def _visit(driver: Any, portal: Portal, path: str, ready: str, lang: str = "en") -> None:
    driver.get(f"{portal.url}{path}{'&' if '?' in path else '?'}lang={lang}")
    _wait(driver, ready)
    portal.visited.append(path)


def _shot(driver: Any, portal: Portal, name: str) -> Path:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(700, min(int(height), 3600)))
    # two animation frames: the page has been laid out and painted at the new size
    driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "requestAnimationFrame(() => requestAnimationFrame(() => done()));"
    )
    path = portal.shots / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 900)
    extra = os.environ.get("PORTAL_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / path.name)
    return path


def _drop(driver: Any, css: str, files: list[tuple[str, bytes]]) -> None:
    """A real drop event on the drop zone, with the files in its DataTransfer."""
    driver.execute_script(
        """
        const [css, files] = arguments;
        const dt = new DataTransfer();
        for (const f of files) {
          const bin = atob(f.b64), bytes = new Uint8Array(bin.length);
          for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
          dt.items.add(new File([bytes], f.name));
        }
        const zone = document.querySelector(css);
        for (const type of ["dragenter", "dragover", "drop"]) {
          const init = {dataTransfer: dt, bubbles: true, cancelable: true};
          zone.dispatchEvent(new DragEvent(type, init));
        }
        """,
        css,
        [{"name": n, "b64": base64.b64encode(d).decode()} for n, d in files],
    )


def _set_value(driver: Any, element: Any, text: str) -> None:
    """Paste: the whole text at once, as a paste would put it."""
    driver.execute_script(
        "arguments[0].value = arguments[1];"
        "arguments[0].dispatchEvent(new Event('input', {bubbles: true}));",
        element,
        text,
    )


def _steps(driver: Any, container: str) -> dict[str, str]:
    return dict(
        driver.execute_script(
            "return [...document.querySelectorAll(arguments[0] + ' li.step')]"
            ".map(li => [li.dataset.step, li.dataset.outcome])",
            container,
        )
    )


# --- SM3 in the browser --------------------------------------------------------------------------


def test_browser_sm3_equals_the_nodes_sm3(browser: Any, portal: Portal) -> None:
    _visit(browser, portal, "/", "#search-q")
    rng = random.Random(32905)
    blobs = [b"", b"abc", b"abcd" * 16]
    blobs += [bytes(rng.randrange(256) for _ in range(n)) for n in range(0, 200)]
    blobs += [bytes([0x61]) * n for n in (55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129)]
    blobs += [os.urandom(n) for n in (1000, 4095, 4096, 4097, 65_537, 1_000_003)]
    got = browser.execute_script(
        """
        return arguments[0].map(b64 => {
          const bin = atob(b64), bytes = new Uint8Array(bin.length);
          for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
          return SM3.hex(bytes);
        });
        """,
        [base64.b64encode(b).decode() for b in blobs],
    )
    assert got == [sm3_hex(b) for b in blobs]
    assert got[1] == "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"

    texts = [
        "",
        "abc",
        "广州互联网法院 电子证据",
        "😀 emoji and 𠮷 (surrogate pairs)",
        "e\u0301 combining, \u0000 NUL, \u2028 line separator",
        "混合 mixed Ελληνικά русский عربي " * 37,
    ]
    got = browser.execute_script("return arguments[0].map(s => SM3.hex(s))", texts)
    assert got == [sm3_hex(s.encode()) for s in texts]

    # large data through the File path the drop zone uses (4 MiB slices), and odd-sized updates
    size = 9 * 1024 * 1024 + 77
    data = bytes((i * 31 + 7) & 0xFF for i in range(256)) * (size // 256 + 1)
    data = data[:size]
    large = browser.execute_async_script(
        """
        const [size, done] = arguments;
        const bytes = new Uint8Array(size);
        for (let i = 0; i < size; i++) bytes[i] = ((i % 256) * 31 + 7) & 255;
        const split = new SM3();
        let off = 0, step = 1;
        while (off < 300000) {
          split.update(bytes.subarray(off, off + step));
          off += step;
          step = step * 2 + 1;
        }
        split.update(bytes.subarray(off));
        const t0 = performance.now();
        SM3.hashBlob(new Blob([bytes])).then(hex =>
          done({blob: hex, split: SM3.toHex(split.digest()), ms: performance.now() - t0}));
        """,
        size,
    )
    assert large["blob"] == sm3_hex(data) == large["split"]

    # the canonical JSON and Merkle code the browser uses for its own checks
    values = [
        {"b": 1, "a": [True, None, "x"], "中文": "值", "é": '\u001f"\\/', "A": -9007199254740991},
        {"\u20ac": 1, "\U0001f600": 2, "\ufb33": 3, "z": {"y": [], "x": {}}},
    ]
    got = browser.execute_script("return arguments[0].map(v => Ledger.jcs(v))", values)
    assert [g.encode() for g in got] == [canonical(v) for v in values]


# --- verify evidence -----------------------------------------------------------------------------


def _evidence_result(driver: Any, item: str) -> str:
    """The verdict of one dropped file, once it has one (the card is redrawn as it goes)."""
    script = (
        "const e = document.getElementById(arguments[0] + '-verdict');"
        "return e && e.getAttribute('data-result');"
    )
    return str(_until(driver, lambda d: d.execute_script(script, item)))


def test_drop_deposited_files_every_step_passes(
    browser: Any, portal: Portal, tmp_path: Path
) -> None:
    _visit(browser, portal, "/verify/evidence", "#ev-drop")
    name, data, deposit_id = portal.single
    # a single-file deposit is found by the file's fingerprint alone (the file input of the zone)
    path = tmp_path / name
    path.write_bytes(data)
    _css(browser, "#ev-drop-input")[0].send_keys(str(path))
    assert _evidence_result(browser, "ev-item-1") == "match"
    assert _steps(browser, "#ev-item-1") == dict.fromkeys(
        ["hash", "deposit", "inclusion", "signatures", "time"], "passed"
    )
    card = _css(browser, "#ev-item-1")[0].text
    assert sm3_hex(data) in card and deposit_id in card
    assert _css(browser, "#ev-item-1 .browser-check.ok")

    # a file of a three-file deposit, dropped with the deposit number
    files, multi_id = portal.multi
    _set_value(browser, _css(browser, "#ev-deposit")[0], multi_id)
    _drop(browser, "#ev-drop", [(files[1][0], files[1][2])])
    assert _evidence_result(browser, "ev-item-2") == "match"
    assert set(_steps(browser, "#ev-item-2").values()) == {"passed"}
    text = _css(browser, "#ev-item-2")[0].text
    assert "Match: this is the file that was deposited" in text
    assert "2 / 3" in text  # its place among the deposit's files
    _check_requests(browser, portal)
    _shot(browser, portal, "evidence-match-en")


def test_drop_modified_file_shows_a_clear_mismatch(browser: Any, portal: Portal) -> None:
    files, multi_id = portal.multi
    _visit(browser, portal, "/verify/evidence", "#ev-drop", lang="zh")
    _set_value(browser, _css(browser, "#ev-deposit")[0], multi_id)
    name, _, original = files[1]
    modified = original.replace(b"199.00", b"99.00")
    assert modified != original
    _drop(browser, "#ev-drop", [(name, modified)])
    item = f"ev-item-{len(_css(browser, 'article.evidence'))}"
    assert _evidence_result(browser, item) == "mismatch"
    steps = _steps(browser, f"#{item}")
    assert steps == {
        "hash": "passed",
        "deposit": "passed",
        "inclusion": "failed",
        "signatures": "passed",
        "time": "passed",
    }
    text = _css(browser, f"#{item}")[0].text
    assert "不一致" in text and "不匹配" in text
    _shot(browser, portal, "evidence-mismatch-zh")

    # a modified single file, without a deposit number: nothing on the ledger holds it
    _visit(browser, portal, "/verify/evidence", "#ev-drop")
    _set_value(browser, _css(browser, "#ev-deposit")[0], "")
    sname, sdata, _ = portal.single
    _drop(browser, "#ev-drop", [(sname, sdata + b" ")])
    item = f"ev-item-{len(_css(browser, 'article.evidence'))}"
    assert _evidence_result(browser, item) == "not_found"
    assert _steps(browser, f"#{item}")["deposit"] == "failed"
    assert "No deposit on the ledger" in _css(browser, f"#{item}")[0].text
    _check_requests(browser, portal)
    _shot(browser, portal, "evidence-mismatch-en")


def _download(driver: Any, before: set[str], timeout: float = WAIT) -> Path:
    """The new PDF in the download folder, once it is whole (it ends with its %%EOF)."""
    folder: Path = driver.downloads

    def whole() -> Path | None:
        for p in folder.iterdir():
            if p.name not in before and p.suffix == ".pdf":
                with contextlib.suppress(FileNotFoundError):
                    if p.read_bytes().rstrip().endswith(b"%%EOF"):
                        return p
        return None

    return wait_until(whole, f"a whole PDF downloaded into {folder}", timeout, interval=0.05)


def test_report_downloads_as_a_valid_signed_pdf(
    browser: Any, portal: Portal, tmp_path: Path
) -> None:
    from pypdf import PdfReader, PdfWriter

    files, multi_id = portal.multi
    name, _, data = files[0]
    _visit(browser, portal, "/verify/evidence", "#ev-drop")
    _set_value(browser, _css(browser, "#ev-deposit")[0], multi_id)
    _drop(browser, "#ev-drop", [(name, data)])
    item = f"ev-item-{len(_css(browser, 'article.evidence'))}"
    assert _evidence_result(browser, item) == "match"
    before = {p.name for p in browser.downloads.iterdir()}
    _css(browser, f"#report-{sm3_hex(data)[:16]}")[0].click()
    pdf_path = _download(browser, before)
    pdf = pdf_path.read_bytes()
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    flat = "".join(text.split())
    assert multi_id in flat and sm3_hex(data) in flat
    assert "Verification report" in text and "核验报告" in text
    assert name in text

    result = verify_report_pdf(pdf, portal.genesis)
    assert result["valid"], result["steps"]
    assert {s["step"]: s["outcome"] for s in result["steps"]} == dict.fromkeys(
        ["attachment", "chain", "node_key", "signature", "receipt", "file", "printed"], "passed"
    )
    report = result["report"]
    assert report["result"] == "match" and report["file"]["sm3"] == sm3_hex(data)
    assert report["transaction"]["tx_id"] == multi_id
    assert [s["outcome"] for s in report["steps"]] == ["passed"] * 5
    assert report["validators"][0]["signed"] is True

    # a copy whose signed content was edited no longer verifies
    signed = json.loads(reader.attachments[ATTACHMENT][0])
    forged = copy.deepcopy(signed)
    forged["report"]["deposit"]["depositor"] = "someone-else"
    writer = PdfWriter(clone_from=reader)
    writer._root_object.pop("/Names", None)
    writer.add_attachment(ATTACHMENT, canonical(forged))
    out = io.BytesIO()
    writer.write(out)
    outcome = verify_report_pdf(out.getvalue(), portal.genesis)
    assert not outcome["valid"]
    assert {s["step"]: s["outcome"] for s in outcome["steps"]}["signature"] == "failed"
    # and against another consortium's genesis it fails too
    other = create(tmp_path / "other", demo=True).genesis
    outcome = verify_report_pdf(pdf, other)
    assert not outcome["valid"]

    # the portal's own report check, with the PDF dropped on it
    _visit(browser, portal, "/verify/report", "#rp-drop")
    _css(browser, "#rp-drop-input")[0].send_keys(str(pdf_path))
    _until(browser, lambda d: _css(d, "#rp-verdict"))
    assert _css(browser, "#rp-verdict")[0].get_attribute("data-valid") == "true"
    _check_requests(browser, portal)
    _shot(browser, portal, "report-check-en")
    shutil.copy(pdf_path, portal.shots / "evidence-report.pdf")


def test_cli_report_and_report_verify(portal: Portal, tmp_path: Path) -> None:
    files, multi_id = portal.multi
    evidence = tmp_path / files[2][0]
    evidence.write_bytes(files[2][2])
    out = tmp_path / "report.pdf"
    cli = [sys.executable, "-m", "ledger"]
    made = subprocess.run(
        [*cli, "report", multi_id, "--out", str(out), "--url", portal.url, "--file", str(evidence)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    assert "result: match" in made.stdout
    genesis = portal.home / "genesis.json"
    checked = subprocess.run(
        [*cli, "report-verify", str(out), "--genesis", str(genesis)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "valid" in checked.stdout and multi_id in checked.stdout
    damaged = tmp_path / "damaged.pdf"
    damaged.write_bytes(out.read_bytes()[:-3000])
    refused = subprocess.run(
        [*cli, "report-verify", str(damaged), "--genesis", str(genesis)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1
    assert load_genesis(genesis).hash == portal.genesis.hash


# --- verify a receipt ----------------------------------------------------------------------------


def _alter(text: str, anchor: str, needle: str, skip: int = 0) -> str:
    """Change one character (one byte) of the receipt text: the ``skip``-th after the first
    ``needle`` that follows ``anchor``."""
    at = text.index(needle, text.index(anchor) + len(anchor)) + len(needle) + skip
    old = text[at]
    assert old in "0123456789abcdef", old
    new = "0" if old != "0" else "1"
    return text[:at] + new + text[at + 1 :]


def test_receipt_with_one_altered_byte_names_the_failing_step(browser: Any, portal: Portal) -> None:
    receipt = httpx.get(f"{portal.url}/v1/transactions/{portal.batch_tx}/receipt").json()
    assert receipt["inclusion_proof"], "the test needs a block of several transactions"
    text = json.dumps(receipt, indent=2, ensure_ascii=False)
    _visit(browser, portal, "/verify/receipt", "#rc-text")

    def verify(pasted: str) -> Any:
        area = _css(browser, "#rc-text")[0]
        _set_value(browser, area, pasted)
        old = _css(browser, "#rc-verdict")
        _css(browser, "#rc-verify")[0].click()
        if old:
            _until(browser, lambda d: not _is_attached(old[0]))
        return _wait(browser, "#rc-verdict")

    # dropped as a file: checked at once
    _drop(browser, "#rc-text", [("receipt.json", text.encode())])
    verdict = _wait(browser, "#rc-verdict")
    assert verdict.get_attribute("data-valid") == "true"
    assert _css(browser, "#rc-text")[0].get_attribute("value").startswith("{")
    assert set(_steps(browser, "#rc-result").values()) == {"passed"}
    assert len(_css(browser, "#rc-browser li.ok")) == 4  # steps 1, 3, 4 and 5's hash chain
    _shot(browser, portal, "receipt-valid-en")

    cases = [
        ('\n  "transaction": {', '"nonce": "', 3, "1 tx_id", "Transaction id"),
        (
            '\n  "transaction": {',
            '\n    "signature": "',
            20,
            "2 signature",
            "Submitter's signature",
        ),
        ('\n  "inclusion_proof": [', '"', 10, "3 inclusion", "Inclusion in the block"),
        ('\n  "header": {', '\n    "timestamp": ', 5, "4 commit", "Block certificate"),
        ('\n  "commit": {', '"signature": "', 20, "6 commit", "Validator signatures"),
    ]
    for anchor, needle, skip, step, title in cases:
        verify_text = _alter(text, anchor, needle, skip)
        assert verify_text != text
        verdict = verify(verify_text)
        assert verdict.get_attribute("data-valid") == "false", step
        assert verdict.get_attribute("data-failed-check") == step
        assert title in verdict.text, verdict.text
        number = step.split()[0]
        assert f"step {number}" in verdict.text
        failed = [
            li
            for li in _css(browser, "#rc-result li.step")
            if li.get_attribute("data-outcome") == "failed"
        ]
        assert len(failed) == 1 and failed[0].get_attribute("data-step").startswith(number)
        if step == "2 signature":
            _shot(browser, portal, "receipt-altered-en")
    # the same failure in Chinese
    _css(browser, "#lang")[0].click()
    _until(browser, lambda d: "第 6 步" in _css(d, "#rc-verdict")[0].text)
    _check_requests(browser, portal)
    _shot(browser, portal, "receipt-altered-zh")
    _css(browser, "#lang")[0].click()

    # fetched from the node by transaction id, from the tx link
    _visit(browser, portal, f"/verify/receipt?tx={portal.single[2]}", "#rc-verdict")
    assert _css(browser, "#rc-verdict")[0].get_attribute("data-valid") == "true"
    assert _css(browser, "#rc-report")


def test_receipt_with_a_validator_history_is_checked_in_the_browser(
    browser: Any, portal: Portal, tmp_path: Path
) -> None:
    """Step 5 in the browser: a receipt two set changes away from its genesis (given as a
    file) verifies; one handover altered fails at step 5, in the node and in the browser."""
    receipt, genesis = history_receipt()
    genesis_file = tmp_path / "history-genesis.json"
    genesis_file.write_text(json.dumps(genesis.to_wire()))
    _visit(browser, portal, "/verify/receipt", "#rc-text")
    _css(browser, "#rc-genesis")[0].send_keys(str(genesis_file))
    _wait(browser, "#rc-genesis[data-loaded]")

    def verify(value: Any) -> Any:
        _set_value(browser, _css(browser, "#rc-text")[0], json.dumps(value, indent=2))
        old = _css(browser, "#rc-verdict")
        _css(browser, "#rc-verify")[0].click()
        if old:
            _until(browser, lambda d: not _is_attached(old[0]))
        return _wait(browser, "#rc-verdict")

    verdict = verify(receipt)
    assert verdict.get_attribute("data-valid") == "true", verdict.text
    assert len(_css(browser, "#rc-browser li.ok")) == 4
    altered = copy.deepcopy(receipt)
    altered["validator_history"][1]["next_validators"]["validators"][0]["power"] = 3
    verdict = verify(altered)
    assert verdict.get_attribute("data-valid") == "false"
    assert verdict.get_attribute("data-failed-check") == "5 validator_history[1]"
    assert "step 5" in verdict.text
    step5 = _css(browser, "#rc-browser li[data-step='5']")[0]
    assert "bad" in step5.get_attribute("class") and step5.get_attribute("data-entry") == "1"
    assert "validator_history[1]" in step5.text
    assert not _css(browser, "#rc-browser li[data-differs]")


def _is_attached(element: Any) -> bool:
    from selenium.common.exceptions import StaleElementReferenceException

    try:
        element.is_enabled()
        return True
    except StaleElementReferenceException:
        return False


# --- education card, tenders, explorer, status ---------------------------------------------------


def test_verify_an_education_card(browser: Any, portal: Portal) -> None:
    card = portal.card
    disclosures = [card["disclosures"]["school"], card["disclosures"]["grade"]]
    _visit(browser, portal, "/verify/card", "#cd-qr", lang="zh")
    _set_value(browser, _css(browser, "#cd-qr")[0], card["qr"])
    _set_value(
        browser, _css(browser, "#cd-disclosures")[0], json.dumps(disclosures, ensure_ascii=False)
    )
    _css(browser, "#cd-verify")[0].click()
    verdict = _wait(browser, "#cd-verdict")
    assert verdict.get_attribute("data-valid") == "true"
    text = _css(browser, "#cd-result")[0].text
    assert card["disclosures"]["school"][2] in text
    assert "有效" in text
    assert set(_steps(browser, "#cd-result").values()) == {"passed"}
    _shot(browser, portal, "card-valid-zh")

    # an altered disclosure (another grade) fails its step
    altered = [card["disclosures"]["school"], [*card["disclosures"]["grade"][:2], 1]]
    if card["disclosures"]["grade"][2] == 1:
        altered[1][2] = 2
    _set_value(
        browser, _css(browser, "#cd-disclosures")[0], json.dumps(altered, ensure_ascii=False)
    )
    _css(browser, "#cd-verify")[0].click()
    _until(
        browser,
        lambda d: (
            _css(d, "#cd-verdict")
            and _css(d, "#cd-verdict")[0].get_attribute("data-valid") == "false"
        ),
    )
    assert _steps(browser, "#cd-result")["disclosure[1]"] == "failed"
    _check_requests(browser, portal)
    _shot(browser, portal, "card-altered-zh")


def test_a_card_qr_code_opens_its_check(browser: Any, portal: Portal) -> None:
    """A card's QR code is a link to the portal's card page (issue 11: under the node's
    configured public URL, here its listen address); opened as a phone camera would, the
    page checks that card at once."""
    card = portal.card
    qr = httpx.get(f"{portal.url}/v1/edu_card/cards/{card['card_id']}/qr").json()["qr"]
    assert qr == f"{portal.url}/verify/card?card={card['card_id']}&tx={card['current_tx']}"
    _visit(browser, portal, qr.removeprefix(portal.url), "#cd-verdict")
    assert _css(browser, "#cd-qr")[0].get_attribute("value") == qr
    assert _css(browser, "#cd-verdict")[0].get_attribute("data-valid") == "true"
    assert _steps(browser, "#cd-result")["qr_lookup"] == "passed"
    _check_requests(browser, portal)


def test_tender_timeline(browser: Any, portal: Portal) -> None:
    _visit(browser, portal, "/tenders", "#td-list table")
    assert portal.awarded in _css(browser, "#td-list")[0].text
    _shot(browser, portal, "tenders-en")
    _visit(browser, portal, f"/tenders/{portal.awarded}", "#td-timeline li.event")
    events = httpx.get(f"{portal.url}/v1/bidding/tenders/{portal.awarded}/timeline").json()[
        "events"
    ]
    _until(browser, lambda d: len(_css(d, "#td-timeline li.event")) == len(events))
    assert not _css(browser, "#td-timeline li.sealed")  # opened: nothing sealed any more
    assert len(_css(browser, "#td-timeline a[href^='/verify/receipt?tx=']")) == len(events)
    _css(browser, "#td-verify-btn")[0].click()
    _until(browser, lambda d: _css(d, "#td-verify .verdict.good"))
    _shot(browser, portal, "tender-awarded-en")

    _visit(browser, portal, f"/tenders/{portal.sealed}", "#td-timeline li.event", lang="zh")
    sealed = _css(browser, "#td-timeline li.sealed")
    assert len(sealed) == 2
    assert all("密封" in li.text for li in sealed)
    page = _css(browser, "main")[0].text
    assert "2310000.00" not in page and "2298000.00" not in page  # no price before opening
    _check_requests(browser, portal)
    _shot(browser, portal, "tender-sealed-zh")


def test_explorer_search_and_status(browser: Any, portal: Portal) -> None:
    _visit(browser, portal, "/explorer", "#ex-blocks tbody tr")
    _wait(browser, "#ex-txs tbody tr")
    _shot(browser, portal, "explorer-en")
    height = httpx.get(f"{portal.url}/v1/explorer/status").json()["height"]
    assert len(_css(browser, "#ex-blocks tbody tr")) == min(15, height + 1)
    if height >= 15:  # the next page, down to the genesis block
        _css(browser, "#ex-blocks + .more")[0].click()
        _until(browser, lambda d: len(_css(d, "#ex-blocks tbody tr")) == min(30, height + 1))

    def search(q: str) -> None:
        box = _css(browser, "#search-q")[0]
        box.clear()
        box.send_keys(q)
        _css(browser, "#search-form button")[0].click()

    search(portal.single[2])  # a transaction id
    _wait(browser, "#ex-tx dl")
    assert browser.current_url.endswith(f"/explorer/tx/{portal.single[2]}")
    assert "evidence.deposit" in _css(browser, "#ex-tx")[0].text
    _shot(browser, portal, "transaction-en")
    _css(browser, "#ex-tx a[href^='/explorer/block/']")[0].click()
    _wait(browser, "#ex-block-txs tbody tr")
    assert portal.single[2][:16] in _css(browser, "#ex-block-txs")[0].text
    _shot(browser, portal, "block-en")

    _visit(browser, portal, "/explorer", "#search-q")
    search("1")  # a block height
    _wait(browser, "#ex-block dl")
    assert browser.current_url.endswith("/explorer/block/1")

    _visit(browser, portal, "/explorer", "#search-q")
    search(sm3_hex(portal.single[1]))  # a file's hash
    _until(browser, lambda d: portal.single[2] in _css(d, "#ex-search")[0].text)
    _visit(browser, portal, "/explorer", "#search-q")
    search(portal.awarded)  # a tender's project code
    _wait(browser, "#td-timeline li.event")

    _visit(browser, portal, "/status", "#st-validators tbody tr")
    status = httpx.get(f"{portal.url}/v1/explorer/status").json()
    text = _css(browser, "#st")[0].text
    assert str(status["height"]) in text
    assert "v1" in _css(browser, "#st-validators")[0].text
    assert status["validators"][0]["last_signed"]["height"] == status["height"]
    for domain in ("evidence", "edu_card", "bidding", "membership"):
        assert status["domains"][domain]["transactions"] > 0
    assert "Electronic evidence" in _css(browser, "#st-domains")[0].text
    _shot(browser, portal, "status-en")
    _visit(browser, portal, "/status", "#st-validators tbody tr", lang="zh")
    _shot(browser, portal, "status-zh")
    _visit(browser, portal, "/", "#home-status", lang="zh")
    _until(browser, lambda d: "高度" in _css(d, "#home-status")[0].text)
    _shot(browser, portal, "home-zh")
    _visit(browser, portal, "/", "#home-status")
    _check_requests(browser, portal)
    _shot(browser, portal, "home-en")


def test_portal_stays_on_the_node(_need_browser: None, portal: Portal) -> None:
    """Every page is served with a CSP that allows only the node itself; the pages and their
    scripts name no other host."""
    paths = [
        "/",
        "/verify/evidence",
        "/verify/receipt",
        "/verify/card",
        "/verify/report",
        "/tenders",
        f"/tenders/{portal.awarded}",
        "/explorer",
        "/explorer/block/1",
        f"/explorer/tx/{portal.single[2]}",
        "/status",
    ]
    static = ["index.html", "app.js", "sm3.js", "i18n.js", "ledger.js", "style.css"]
    with httpx.Client(base_url=portal.url) as http:
        for path in paths:
            r = http.get(path)
            assert r.status_code == 200, path
            assert "default-src 'self'" in r.headers["content-security-policy"]
            assert "text/html" in r.headers["content-type"]
        for name in static:
            r = http.get(f"/portal/{name}")
            assert r.status_code == 200
            assert not re.search("https?://", r.text), name
        assert http.get("/portal/../genesis.json").status_code == 404
        assert http.get("/portal/nothing.js").status_code == 404
    assert hashlib.new("sm3", b"abc").hexdigest() == sm3_hex(b"abc")


# --- the endpoints on each database, without a browser ------------------------------------------


def test_portal_endpoints_on_each_database(node: InProcessNode, consortium: Consortium) -> None:
    """The explorer's queries, the verify endpoints and a signed report, on SQLite and on
    PostgreSQL."""
    data = b"one file, deposited alone"
    with node.client() as client:
        deposit_id = _deposit(client, consortium.home, [("note.txt", "text/plain", data)], False)
        http = client.http
        status = http.get("/v1/explorer/status").json()
        assert status["domains"]["evidence"]["types"] == {"evidence.deposit": 1}
        assert status["validators"][0]["last_signed"]["height"] == status["height"]
        blocks = http.get("/v1/explorer/blocks", params={"limit": 2}).json()["blocks"]
        assert [b["height"] for b in blocks] == [status["height"], status["height"] - 1]
        older = http.get("/v1/explorer/blocks", params={"before": blocks[0]["height"]}).json()
        assert older["blocks"][0]["height"] == blocks[0]["height"] - 1
        txs = http.get("/v1/explorer/transactions", params={"limit": 1}).json()["transactions"]
        assert txs[0]["tx_id"] == deposit_id and txs[0]["domain"] == "evidence"
        block = http.get(f"/v1/explorer/blocks/{txs[0]['height']}").json()
        assert deposit_id in [t["tx_id"] for t in block["transactions"]]
        tx = http.get(f"/v1/explorer/transactions/{deposit_id}").json()
        assert tx["status"] == "committed" and tx["envelope"]["type"] == "evidence.deposit"
        assert http.get("/v1/explorer/blocks/99999").status_code == 404
        for q, kind in [
            (deposit_id, "transaction"),
            (str(txs[0]["height"]), "block"),
            (block["block_hash"], "block"),
            (sm3_hex(data), "file"),
            (sm3_hex(b"nothing"), "none"),
            ("JG2099-00001", "none"),
        ]:
            assert http.get("/v1/explorer/search", params={"q": q}).json()["kind"] == kind, q

        found = http.post("/v1/verify/evidence", json={"sm3": sm3_hex(data)}).json()
        assert found["result"] == "match" and found["deposit_id"] == deposit_id
        assert [s["outcome"] for s in found["steps"]] == ["passed"] * 5
        other = http.post("/v1/verify/evidence", json={"sm3": sm3_hex(data + b"!")}).json()
        assert other["result"] == "not_found"
        against = http.post(
            "/v1/verify/evidence", json={"sm3": sm3_hex(data + b"!"), "deposit_id": deposit_id}
        ).json()
        assert against["result"] == "mismatch"
        bad = http.post("/v1/verify/evidence", json={"sm3": "XYZ"})
        assert bad.status_code == 400

        receipt = client.receipt(deposit_id)
        checked = http.post("/v1/verify/receipt", json=receipt).json()
        assert checked["valid"] and checked["failed_step"] is None
        receipt["index"] = receipt["index"] + 1
        checked = http.post("/v1/verify/receipt", json=receipt).json()
        assert checked["failed_step"] == "3 inclusion"
        assert [s["outcome"] for s in checked["steps"]] == [
            "passed",
            "passed",
            "passed",
            "failed",
            "not_checked",
            "not_checked",
            "not_checked",
        ]
        garbage = http.post("/v1/verify/receipt", content=b"{not json").json()
        assert garbage["failed_step"] == "0 shape"
        other_genesis = create(consortium.home.parent / "other", demo=True).genesis.to_wire()
        foreign = http.post(
            "/v1/verify/receipt",
            json={"receipt": client.receipt(deposit_id), "genesis": other_genesis},
        ).json()
        assert not foreign["valid"] and foreign["trusted_genesis"] == "given"

        signed = http.get(f"/v1/reports/{deposit_id}.json", params={"sm3": sm3_hex(data)}).json()
        report = signed["report"]
        assert report["result"] == "match" and report["node"]["validator"] == "v1"
        PublicKey(report["node"]["public_key"]).verify(signed["signature"], canonical(report))
        pdf = http.get(f"/v1/reports/{deposit_id}.pdf")
        assert pdf.headers["content-type"] == "application/pdf"
        assert verify_report_pdf(pdf.content, consortium.genesis)["valid"]
        checked = http.post("/v1/reports/verify", content=pdf.content).json()
        assert checked["valid"]
        assert http.get(f"/v1/reports/{'0' * 64}.pdf").status_code == 404
