"""Admission rules: every rule refuses with a stable code, and a refused transaction leaves
no trace.

Each HTTP test runs a node (SQLite and PostgreSQL), submits real SM2-signed transactions
over HTTP, and checks, for every refusal:

* the HTTP status and the stable error ``code`` in a JSON body ``{"error": {code, message}}``;
* ``GET /v1/transactions/{tx_id}`` says ``rejected`` with that reason (when the node could
  compute a ``tx_id``) or ``tx_not_found`` (when it could not);
* no receipt exists (404);
* nothing was stored: once the node's mempool is empty (whatever it admitted is committed)
  the checkpoint's ``log_size`` has not moved, and the database itself
  (``ledger.store.Store``) holds no row for the transaction and no more transaction rows
  than before;
* the node keeps serving: a valid transaction then commits and its receipt verifies offline.

The pure tests at the end call the rule functions and ``build_block`` directly.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from keys import FileKeyStore
from ledger.block import build_block
from ledger.canonical import parse_json
from ledger.crypto import PrivateKey, encode_signature, random_nonce
from ledger.domains.evidence.demo import example_deposit_payload
from ledger.domains.member.state import MemberRegistry
from ledger.domains.reopening import demo as reopening_examples
from ledger.errors import DuplicateTransaction, RuleViolation, TooLarge
from ledger.execution import check_state
from ledger.genesis import genesis_block
from ledger.merkle import SM3, CompactRange
from ledger.model import Envelope, Genesis, SignedTransaction
from ledger.rules import (
    check_chain,
    check_not_seen,
    check_role,
    check_size,
    check_timestamp,
    submitter_key,
)
from ledger.store import Store
from ledger.verify import verify_receipt
from tests.conftest import Consortium
from tests.inprocess import InProcessNode, TestClock

MIB = 1024 * 1024
TOLERANCE_MS = 5 * 60 * 1000  # the default timestamp window of a node: ±5 minutes

DEPOSITOR = "evidence-platform"
DEPOSIT = "evidence.deposit"


# --- helpers ------------------------------------------------------------------------------


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@cache
def _signer(home: Path, member_id: str) -> PrivateKey:
    return FileKeyStore(home / "keys").signer(member_id)


def make_tx(
    consortium: Consortium,
    member: str = DEPOSITOR,
    tx_type: str = DEPOSIT,
    payload: dict[str, Any] | None = None,
    *,
    signer: PrivateKey | None = None,
    sign_with: PrivateKey | None = None,
    **envelope: Any,
) -> SignedTransaction:
    """A transaction of ``member``; ``envelope`` overrides fields, ``sign_with`` forges."""
    key = signer or _signer(consortium.home, member)
    fields: dict[str, Any] = {
        "chain_id": consortium.genesis.chain_id,
        "type": tx_type,
        "submitter": member,
        "key_id": key.public_key.key_id,
        "nonce": random_nonce(),
        "timestamp": now_ms(),
        "payload": payload if payload is not None else example_deposit_payload(),
    }
    fields.update(envelope)
    env = Envelope(**fields)
    return SignedTransaction(env, (sign_with or key).sign(env.canonical))


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is the JSON error ``{"error": {"code", "message"[, "details"]}}``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert list(body) == ["error"], body
    error = body["error"]
    assert {"code", "message"} <= error.keys() <= {"code", "message", "details"}, error
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    return dict(error)


@dataclass
class Ledger:
    """A running node seen over HTTP and, independently, through its database."""

    node: InProcessNode
    consortium: Consortium
    http: httpx.Client
    store: Store

    # -- requests

    def post(self, body: Any, path: str = "/v1/transactions") -> httpx.Response:
        if isinstance(body, SignedTransaction):
            body = body.to_wire()
        if not isinstance(body, bytes | str):
            body = json.dumps(body, separators=(",", ":"))
        return self.http.post(path, content=body, headers={"content-type": "application/json"})

    def batch(self, items: list[Any]) -> httpx.Response:
        wire = [t.to_wire() if isinstance(t, SignedTransaction) else t for t in items]
        return self.post({"transactions": wire}, "/v1/transactions/batch")

    def status(self, tx_id: str) -> httpx.Response:
        return self.http.get(f"/v1/transactions/{tx_id}")

    def log_size(self) -> int:
        response = self.http.get("/v1/checkpoint")
        assert response.status_code == 200, response.text
        return int(response.json()["header"]["log_size"])

    def snapshot(self) -> tuple[int, int]:
        return self.log_size(), self.store.count("transactions")

    # -- assertions

    def refused(
        self, response: httpx.Response, status: int, code: str, tx: SignedTransaction | None
    ) -> dict[str, Any]:
        """Refused with ``code``; the node reports it as rejected (or unknown) and gives
        no receipt."""
        error = assert_error(response, status, code)
        if tx is not None:
            reported = self.status(tx.tx_id)
            assert reported.status_code == 200, reported.text
            body = reported.json()
            assert body["tx_id"] == tx.tx_id
            assert body["status"] == "rejected", body
            assert body["error"]["code"] == code, body
            assert body["error"]["message"] == error["message"]
            self.no_receipt(tx.tx_id)
        return error

    def unknown(self, tx_id: str) -> None:
        assert_error(self.status(tx_id), 404, "tx_not_found")
        self.no_receipt(tx_id)

    def no_receipt(self, tx_id: str) -> None:
        assert_error(self.http.get(f"/v1/transactions/{tx_id}/receipt"), 404, "receipt_not_found")

    def nothing_stored(self, before: tuple[int, int], tx_ids: list[str]) -> None:
        """Once nothing is pending: the log did not grow, the DB holds none of them."""
        self.node.settle()
        log_size, count = before
        assert self.log_size() == log_size
        assert self.store.count("transactions") == count
        for tx_id in tx_ids:
            assert self.store.transaction(tx_id) is None, tx_id
            self.no_receipt(tx_id)

    def commits(self, tx: SignedTransaction, timeout: float = 15) -> dict[str, Any]:
        """``tx`` is (or becomes) committed; its receipt verifies against genesis.json."""
        self.node.make_block()  # now, not at the block interval (or never: a frozen clock)
        deadline = time.monotonic() + timeout
        while True:
            body = self.status(tx.tx_id).json()
            if body["status"] == "committed":
                break
            assert body["status"] == "pending", body
            assert time.monotonic() < deadline, f"{tx.tx_id} not committed in {timeout} s"
            time.sleep(0.05)
        response = self.http.get(f"/v1/transactions/{tx.tx_id}/receipt")
        assert response.status_code == 200, response.text
        receipt = response.json()
        verified = verify_receipt(receipt, self.consortium.genesis)
        assert verified.tx_id == tx.tx_id
        assert receipt["transaction"] == tx.to_wire()
        stored = self.store.transaction(tx.tx_id)
        assert stored is not None and stored.leaf == tx.leaf
        return dict(receipt)

    def still_serving(self) -> None:
        """A valid transaction is accepted, committed in a block, and its receipt verifies."""
        log_size, count = self.snapshot()
        tx = make_tx(self.consortium)
        response = self.post(tx)
        assert response.status_code == 202, response.text
        assert response.json() == {"tx_id": tx.tx_id}
        self.commits(tx)
        assert self.log_size() == log_size + 1
        assert self.store.count("transactions") == count + 1


def _ledger(node: InProcessNode, consortium: Consortium, db_url: str) -> Iterator[Ledger]:
    store = Store(db_url)
    http = node.http()
    try:
        yield Ledger(node, consortium, http, store)
    finally:
        http.close()
        store.close()


@pytest.fixture
def ledger(node: InProcessNode, consortium: Consortium, db_url: str) -> Iterator[Ledger]:
    yield from _ledger(node, consortium, db_url)


def _tuned(
    consortium: Consortium,
    db_url: str,
    settings: dict[str, Any],
    clock: TestClock | None = None,
) -> Iterator[Ledger]:
    node = InProcessNode(consortium.home, db_url, settings, clock).start()
    try:
        yield from _ledger(node, consortium, db_url)
    finally:
        node.stop()


TX_LIMIT, BATCH_LIMIT, REQUEST_LIMIT = 2048, 5, 16384
SMALL_LIMITS = {
    "max_tx_bytes": TX_LIMIT,
    "max_batch_txs": BATCH_LIMIT,
    "max_request_bytes": REQUEST_LIMIT,
}


@pytest.fixture
def small_ledger(consortium: Consortium, db_url: str) -> Iterator[Ledger]:
    """A node with 2 KiB transactions, 5-transaction batches and 16 KiB request bodies."""
    yield from _tuned(consortium, db_url, SMALL_LIMITS)


@pytest.fixture
def slow_ledger(consortium: Consortium, db_url: str) -> Iterator[Ledger]:
    """A node whose clock stands still: it makes a block only when the test says
    (``make_block``), so that a transaction stays pending."""
    clock = TestClock()
    clock.freeze()
    yield from _tuned(consortium, db_url, {}, clock)


# --- chain id, signature, key ---------------------------------------------------------


def test_wrong_chain_id_is_refused_and_not_stored(ledger: Ledger, consortium: Consortium) -> None:
    before = ledger.snapshot()
    refused = []
    for chain_id in ["other-chain", "GZ-GOV-LEDGER", ""]:
        tx = make_tx(consortium, chain_id=chain_id)
        error = ledger.refused(ledger.post(tx), 422, "wrong_chain", tx)
        assert repr(chain_id) in error["message"]
        refused.append(tx.tx_id)
    ledger.nothing_stored(before, refused)
    ledger.still_serving()


def test_bad_signatures_are_refused_and_not_stored(ledger: Ledger, consortium: Consortium) -> None:
    before = ledger.snapshot()
    other = _signer(consortium.home, "bidder-alpha")
    stranger = PrivateKey.generate()
    honest = make_tx(consortium)
    der = bytes.fromhex(honest.signature)
    flipped = (der[:-1] + bytes([der[-1] ^ 0x01])).hex()  # last byte of s: still valid DER
    n = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
    forged = [
        # signed by another registered member's key, but naming the depositor's key_id
        make_tx(consortium, sign_with=other),
        # signed by a key that is nobody's
        make_tx(consortium, sign_with=stranger),
        # a valid signature of another envelope
        SignedTransaction(make_tx(consortium).envelope, honest.signature),
        # one bit of the signature changed
        SignedTransaction(honest.envelope, flipped),
        # hex, but not a DER signature
        SignedTransaction(make_tx(consortium).envelope, "00" * 70),
        SignedTransaction(make_tx(consortium).envelope, ""),
        # r = 0 and s = n: outside [1, n-1]
        SignedTransaction(make_tx(consortium).envelope, encode_signature(0, 1)),
        SignedTransaction(make_tx(consortium).envelope, encode_signature(1, n)),
    ]
    for tx in forged:
        ledger.refused(ledger.post(tx), 400, "bad_signature", tx)
    ledger.nothing_stored(before, [tx.tx_id for tx in forged])
    # the honest transaction whose signature was tampered with above is still welcome
    assert ledger.post(honest).status_code == 202
    ledger.commits(honest)
    ledger.still_serving()


def test_keys_that_are_not_the_submitters_are_refused_and_not_stored(
    ledger: Ledger, consortium: Consortium
) -> None:
    before = ledger.snapshot()
    stranger = PrivateKey.generate()
    bidder = _signer(consortium.home, "bidder-alpha")
    cases = [
        # a key that no member registered, correctly self-signed
        make_tx(consortium, signer=stranger),
        # a key_id that is not any key at all
        make_tx(consortium, key_id="ab" * 32),
        # a registered key of another member, signed by that member: the key must belong
        # to the named submitter
        make_tx(consortium, DEPOSITOR, signer=bidder),
        # a submitter that is not a member, with a registered member's key
        make_tx(consortium, "no-such-member", signer=bidder),
        # the validator's key is a member key too, but not the depositor's
        make_tx(consortium, DEPOSITOR, signer=_signer(consortium.home, "v1")),
    ]
    for tx in cases:
        error = ledger.refused(ledger.post(tx), 422, "unknown_key", tx)
        assert tx.envelope.key_id in error["message"]
    ledger.nothing_stored(before, [tx.tx_id for tx in cases])
    ledger.still_serving()


# --- role and type ------------------------------------------------------------------------


def test_roles_and_unknown_types_are_refused_and_not_stored(
    ledger: Ledger, consortium: Consortium
) -> None:
    before = ledger.snapshot()
    not_allowed = [
        make_tx(consortium, "acme-manufacturing", DEPOSIT),  # enterprise cannot deposit
        make_tx(consortium, "bidder-alpha", "tender.publish"),  # bidder cannot publish
        make_tx(consortium, "gz-trading-center", "bid.commit"),  # tenderer cannot bid
        make_tx(consortium, "baiyun-school-1", "reopening.review"),
        make_tx(consortium, "gz-audit-bureau", "edu_card.issue"),
        # a non-governance member cannot change membership
        make_tx(consortium, "gz-audit-bureau", "member.revoke", {"id": "bidder-alpha"}),
        # validator v1 is a member with role "validator", which submits nothing
        make_tx(consortium, "v1", DEPOSIT),
    ]
    for tx in not_allowed:
        error = ledger.refused(ledger.post(tx), 422, "role_not_allowed", tx)
        assert tx.envelope.type in error["message"]
    unknown = [
        make_tx(consortium, DEPOSITOR, "evidence.delete"),
        make_tx(consortium, "gz-gov-service-bureau", "member.promote", {"id": "bidder-alpha"}),
        make_tx(consortium, DEPOSITOR, "no_such.type"),
    ]
    for tx in unknown:
        error = ledger.refused(ledger.post(tx), 422, "unknown_type", tx)
        assert repr(tx.envelope.type) in error["message"]
    ledger.nothing_stored(before, [tx.tx_id for tx in not_allowed + unknown])
    # the court, the second role allowed to deposit, is accepted
    court = make_tx(consortium, "gz-internet-court", DEPOSIT)
    assert ledger.post(court).status_code == 202
    ledger.commits(court)
    ledger.still_serving()


# --- tx_id not seen before ----------------------------------------------------------------


def test_duplicates_are_refused_pending_committed_and_within_a_batch(
    slow_ledger: Ledger, consortium: Consortium
) -> None:
    ledger = slow_ledger
    # commit a first transaction; the next block is made when the test says
    primer = make_tx(consortium)
    assert ledger.post(primer).status_code == 202
    ledger.commits(primer)
    log_size, count = ledger.snapshot()

    # duplicate while pending: the same bytes, and the same envelope signed again
    # (SM2 signatures are randomised; the tx_id covers the envelope only)
    tx = make_tx(consortium)
    resigned = SignedTransaction(
        tx.envelope, _signer(consortium.home, DEPOSITOR).sign(tx.envelope.canonical)
    )
    assert resigned.signature != tx.signature and resigned.tx_id == tx.tx_id
    assert ledger.post(tx).status_code == 202
    assert ledger.status(tx.tx_id).json() == {"tx_id": tx.tx_id, "status": "pending"}
    for copy in (tx, resigned):
        error = assert_error(ledger.post(copy), 409, "duplicate_transaction")
        assert error["details"] == {"tx_id": tx.tx_id}
    # the refusal of a copy does not mark the original as rejected
    assert ledger.status(tx.tx_id).json()["status"] == "pending"

    # duplicates inside one batch, and a batch repeating the pending transaction
    other = make_tx(consortium)
    response = ledger.batch([other, other, resigned, tx])
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["accepted"] == [other.tx_id]
    assert [r["index"] for r in body["rejected"]] == [1, 2, 3]
    assert {r["error"]["code"] for r in body["rejected"]} == {"duplicate_transaction"}

    ledger.commits(tx)
    ledger.commits(other)
    # duplicate after commit, single and in a batch
    for copy in (tx, resigned, other):
        assert_error(ledger.post(copy), 409, "duplicate_transaction")
    response = ledger.batch([resigned, other])
    assert response.status_code == 202
    assert response.json()["accepted"] == []
    assert [r["error"]["code"] for r in response.json()["rejected"]] == [
        "duplicate_transaction"
    ] * 2
    assert ledger.status(tx.tx_id).json()["status"] == "committed"

    # exactly one copy of each is stored: the first one submitted
    ledger.node.make_block()  # a block for anything a copy had left pending
    ledger.node.settle()
    assert ledger.log_size() == log_size + 2
    assert ledger.store.count("transactions") == count + 2
    stored = ledger.store.transaction(tx.tx_id)
    assert stored is not None and stored.leaf == tx.leaf
    ledger.still_serving()


# --- timestamp window ---------------------------------------------------------------------


def test_timestamps_outside_five_minutes_are_refused_just_inside_pass(
    ledger: Ledger, consortium: Consortium
) -> None:
    before = ledger.snapshot()
    outside = [
        make_tx(consortium, timestamp=now_ms() - TOLERANCE_MS - 2_000),  # past
        make_tx(consortium, timestamp=now_ms() + TOLERANCE_MS + 2_000),  # future
        make_tx(consortium, timestamp=0),
        make_tx(consortium, timestamp=now_ms() + 24 * 3600 * 1000),
    ]
    for tx in outside:
        error = ledger.refused(ledger.post(tx), 422, "timestamp_out_of_range", tx)
        assert error["details"]["timestamp"] == tx.envelope.timestamp
        assert abs(error["details"]["node_time"] - now_ms()) < 10_000
    ledger.nothing_stored(before, [tx.tx_id for tx in outside])

    inside = [
        make_tx(consortium, timestamp=now_ms() - TOLERANCE_MS + 5_000),
        make_tx(consortium, timestamp=now_ms() + TOLERANCE_MS - 5_000),
    ]
    for tx in inside:
        response = ledger.post(tx)
        assert response.status_code == 202, response.text
    for tx in inside:
        ledger.commits(tx)
    assert ledger.log_size() == before[0] + 2
    ledger.still_serving()


# --- sizes --------------------------------------------------------------------------------

BATCH = "/v1/transactions/batch"
# api/routes.py reads a single transaction's request body up to max_tx_bytes plus this much
# room for the JSON around the transaction (the limit on the transaction is its leaf size)
TX_BODY_SLACK = 4096


@contextlib.contextmanager
def _node_with(consortium: Consortium, db_url: str, settings: dict[str, Any]) -> Iterator[Ledger]:
    yield from _tuned(consortium, db_url, settings)


def _tx_with_leaf_size(consortium: Consortium, size: int) -> SignedTransaction:
    """A transaction whose leaf ``C(signed transaction)`` is exactly ``size`` bytes. Its
    payload is one long string: no transaction type accepts it, so it is only for checking
    that the size rule comes first."""
    nonce, timestamp, pad = random_nonce(), now_ms(), 0
    for _ in range(50):
        tx = make_tx(consortium, payload={"document": "x" * pad}, nonce=nonce, timestamp=timestamp)
        if len(tx.leaf) == size:
            return tx
        pad = max(0, pad + size - len(tx.leaf))
    raise AssertionError(f"could not build a {size}-byte transaction")


def _padded(value: Any, size: int) -> bytes:
    """``value`` as compact JSON followed by spaces: the same JSON, exactly ``size`` bytes."""
    raw = json.dumps(value, separators=(",", ":")).encode()
    assert len(raw) <= size, (len(raw), size)
    return raw + b" " * (size - len(raw))


def _streamed(ledger: Ledger, body: bytes, path: str = "/v1/transactions") -> httpx.Response:
    """``body`` sent in chunks, without a Content-Length."""
    response = ledger.http.post(
        path,
        content=iter([body[i : i + 1000] for i in range(0, len(body), 1000)]),
        headers={"content-type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    return response


def test_transaction_size_limit_is_exact(consortium: Consortium, db_url: str) -> None:
    """The limit is on the leaf ``C(signed transaction)``: a valid transaction of L bytes is
    refused whole by a node whose limit is L - 1, and committed by one whose limit is L."""
    tx = make_tx(
        consortium, "acme-manufacturing", "reopening.file", reopening_examples.file_payload()
    )
    size = len(tx.leaf)
    small = make_tx(consortium)  # an evidence deposit, well within both limits
    assert len(small.leaf) < size - 1

    with _node_with(consortium, db_url, {"max_tx_bytes": size - 1}) as ledger:
        before = ledger.snapshot()
        # one byte over the limit: the node parsed it, so it knows its tx_id
        error = ledger.refused(ledger.post(tx), 413, "too_large", tx)
        assert error["details"] == {"size": size, "limit": size - 1}
        # in a batch it is refused alone; the rest of the batch is admitted
        mixed = ledger.batch([small, tx])
        assert mixed.status_code == 202, mixed.text
        assert mixed.json()["accepted"] == [small.tx_id]
        [rejection] = mixed.json()["rejected"]
        assert rejection["index"] == 1 and rejection["error"]["code"] == "too_large"
        assert rejection["error"]["details"] == {"size": size, "limit": size - 1}
        ledger.commits(small)
        ledger.nothing_stored((before[0] + 1, before[1] + 1), [tx.tx_id])

    with _node_with(consortium, db_url, {"max_tx_bytes": size}) as ledger:
        before = ledger.snapshot()
        # exactly at the limit: accepted, committed, its receipt verifies, its L bytes stored
        response = ledger.post(tx)
        assert response.status_code == 202, response.text
        ledger.commits(tx)
        assert ledger.snapshot() == (before[0] + 1, before[1] + 1)
        ledger.still_serving()


def test_request_and_batch_limits_are_exact(small_ledger: Ledger, consortium: Consortium) -> None:
    ledger = small_ledger
    log_size, count = ledger.snapshot()
    body_limit = TX_LIMIT + TX_BODY_SLACK

    # a request body one byte over its limit is refused before it is parsed, with or without
    # a Content-Length: no tx_id is known. The transaction in it is well within its own limit.
    over = make_tx(consortium)
    assert len(over.leaf) < TX_LIMIT
    assert_error(ledger.post(_padded(over.to_wire(), body_limit + 1)), 413, "too_large")
    assert_error(_streamed(ledger, _padded(over.to_wire(), body_limit + 1)), 413, "too_large")
    ledger.unknown(over.tx_id)
    # a body of exactly the limit is read, and its transaction admitted
    at_limit = [make_tx(consortium), make_tx(consortium)]
    assert ledger.post(_padded(at_limit[0].to_wire(), body_limit)).status_code == 202
    assert _streamed(ledger, _padded(at_limit[1].to_wire(), body_limit)).status_code == 202
    for tx in at_limit:
        ledger.commits(tx)

    # a batch over max_batch_txs is refused whole: none of its transactions is admitted
    six = [make_tx(consortium) for _ in range(BATCH_LIMIT + 1)]
    error = assert_error(ledger.batch(six), 413, "too_large")
    assert f"{BATCH_LIMIT + 1} transactions" in error["message"]
    assert f"limit is {BATCH_LIMIT}" in error["message"]
    for tx in six:
        ledger.unknown(tx.tx_id)

    # a batch body one byte over max_request_bytes is refused whole, before it is parsed
    five = six[:BATCH_LIMIT]
    batch = {"transactions": [t.to_wire() for t in five]}
    assert_error(ledger.post(_padded(batch, REQUEST_LIMIT + 1), BATCH), 413, "too_large")
    assert_error(_streamed(ledger, _padded(batch, REQUEST_LIMIT + 1), BATCH), 413, "too_large")
    for tx in five:
        ledger.unknown(tx.tx_id)
    ledger.nothing_stored((log_size + 2, count + 2), [t.tx_id for t in [over, *six]])

    # exactly at the limits: a body of max_request_bytes holding max_batch_txs transactions
    response = ledger.post(_padded(batch, REQUEST_LIMIT), BATCH)
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": [t.tx_id for t in five], "rejected": []}
    for tx in five:
        ledger.commits(tx)
    assert ledger.snapshot() == (log_size + 2 + BATCH_LIMIT, count + 2 + BATCH_LIMIT)
    ledger.still_serving()


def test_transaction_over_one_mebibyte_is_refused_at_the_default_limit(
    ledger: Ledger, consortium: Consortium
) -> None:
    """The default limit is 1 MiB, and size is checked before the payload: one byte over is
    ``too_large`` although no type accepts its payload; at 1 MiB the same payload passes the
    size rule and is refused by the payload rule instead."""
    before = ledger.snapshot()
    over = _tx_with_leaf_size(consortium, MIB + 1)
    error = ledger.refused(ledger.post(over), 413, "too_large", over)
    assert error["details"] == {"size": MIB + 1, "limit": MIB}
    at_limit = _tx_with_leaf_size(consortium, MIB)
    error = ledger.refused(ledger.post(at_limit), 422, "invalid_payload", at_limit)
    assert DEPOSIT in error["message"]
    ledger.nothing_stored(before, [over.tx_id, at_limit.tx_id])
    ledger.still_serving()


# --- malformed input ----------------------------------------------------------------------


def _raw(pairs: list[tuple[str, str]]) -> str:
    """A JSON object from (key, raw JSON value) pairs; keys may repeat."""
    return "{" + ",".join(f"{json.dumps(k)}:{v}" for k, v in pairs) + "}"


def _body(
    tx: SignedTransaction,
    envelope: list[tuple[str, str]] | None = None,
    top: list[tuple[str, str]] | None = None,
) -> str:
    env = envelope if envelope is not None else _pairs(tx.envelope.to_wire())
    outer = top if top is not None else [("signature", json.dumps(tx.signature))]
    return _raw([("envelope", _raw(env)), *outer])


def _pairs(obj: dict[str, Any]) -> list[tuple[str, str]]:
    return [(k, json.dumps(v)) for k, v in obj.items()]


def _with(tx: SignedTransaction, **fields: str | None) -> str:
    """The body with envelope fields replaced by raw JSON (a value of None removes one)."""
    pairs = [(k, fields.get(k, v)) for k, v in _pairs(tx.envelope.to_wire())]
    pairs = [(k, v) for k, v in pairs if v is not None]
    return _body(tx, pairs)


def _malformed_cases(tx: SignedTransaction) -> list[tuple[str, str, str]]:
    """(case, body, code) for a valid transaction ``tx``."""
    env = tx.envelope.to_wire()
    sig = json.dumps(tx.signature)
    pairs = _pairs(env)
    ts = env["timestamp"]
    cases: list[tuple[str, str, str]] = [
        # floats, anywhere
        ("float in payload", _with(tx, payload='{"amount":1250000.5}'), "not_canonical"),
        ("integral float", _with(tx, payload='{"amount":1.0}'), "not_canonical"),
        ("exponent", _with(tx, payload='{"amount":1e3}'), "not_canonical"),
        ("nested float", _with(tx, payload='{"a":[1,{"b":[2.5]}]}'), "not_canonical"),
        ("float timestamp", _with(tx, timestamp=f"{ts}.0"), "not_canonical"),
        ("negative zero float", _with(tx, payload='{"a":-0.0}'), "not_canonical"),
        ("NaN", _with(tx, payload='{"a":NaN}'), "not_canonical"),
        ("Infinity", _with(tx, payload='{"a":Infinity}'), "not_canonical"),
        ("-Infinity", _with(tx, timestamp="-Infinity"), "not_canonical"),
        ("integer beyond 2^53", _with(tx, payload=f'{{"a":{2**53}}}'), "not_canonical"),
        ("integer below -(2^53)", _with(tx, payload=f'{{"a":-{2**53}}}'), "not_canonical"),
        # strings without UTF-8 bytes, values nested beyond what is canonicalised
        ("lone surrogate", _with(tx, payload='{"a":"\\ud800"}'), "not_canonical"),
        ("nested 100 deep", _with(tx, payload='{"a":' * 100 + "1" + "}" * 100), "not_canonical"),
        ("nested 100000 deep", "[" * 100_000 + "]" * 100_000, "malformed"),
        # duplicate keys
        ("duplicate top-level key", _body(tx, top=[("signature", sig)] * 2), "malformed"),
        (
            "duplicate envelope key",
            _body(tx, [*pairs, ("type", json.dumps(env["type"]))]),
            "malformed",
        ),
        ("duplicate payload key", _with(tx, payload='{"a":"1","a":"1"}'), "malformed"),
        (
            "duplicate key, other value",
            _body(tx, [("nonce", json.dumps("0" * 32)), *pairs]),
            "malformed",
        ),
        # envelope fields
        *[(f"missing {k}", _with(tx, **{k: None}), "malformed") for k in env],
        ("extra envelope field", _body(tx, [*pairs, ("memo", '"hi"')]), "malformed"),
        ("missing signature", _body(tx, top=[]), "malformed"),
        ("missing envelope", _raw([("signature", sig)]), "malformed"),
        (
            "extra top-level field",
            _body(tx, top=[("signature", sig), ("tx_id", '"x"')]),
            "malformed",
        ),
        # hex
        ("uppercase key_id", _with(tx, key_id=json.dumps(env["key_id"].upper())), "malformed"),
        ("short key_id", _with(tx, key_id=json.dumps(env["key_id"][:62])), "malformed"),
        ("non-hex key_id", _with(tx, key_id=json.dumps("g" * 64)), "malformed"),
        ("short nonce", _with(tx, nonce=json.dumps(env["nonce"][:30])), "malformed"),
        ("uppercase nonce", _with(tx, nonce=json.dumps("ABCDEF" * 5 + "AB")), "malformed"),
        ("non-hex signature", _body(tx, top=[("signature", '"xyz0"')]), "malformed"),
        ("uppercase signature", _body(tx, top=[("signature", sig.upper())]), "malformed"),
        ("odd-length signature", _body(tx, top=[("signature", sig[:-2] + '"')]), "malformed"),
        ("overlong signature", _body(tx, top=[("signature", json.dumps("ab" * 81))]), "malformed"),
        ("signature not a string", _body(tx, top=[("signature", "12")]), "malformed"),
        # wrong types and ranges
        ("chain_id not a string", _with(tx, chain_id="5"), "malformed"),
        ("timestamp a string", _with(tx, timestamp=json.dumps(str(ts))), "malformed"),
        ("timestamp negative", _with(tx, timestamp="-1"), "malformed"),
        ("timestamp boolean", _with(tx, timestamp="true"), "malformed"),
        ("timestamp beyond 2^53-1", _with(tx, timestamp=str(2**53)), "malformed"),
        ("payload a list", _with(tx, payload="[]"), "malformed"),
        ("payload null", _with(tx, payload="null"), "malformed"),
        ("envelope a list", _raw([("envelope", "[]"), ("signature", sig)]), "malformed"),
        ("submitter not an id", _with(tx, submitter='"evidence platform"'), "malformed"),
        ("submitter empty", _with(tx, submitter='""'), "malformed"),
        ("submitter too long", _with(tx, submitter=json.dumps("a" * 129)), "malformed"),
        # type pattern <domain>.<action>
        *[
            (f"type {t!r}", _with(tx, type=json.dumps(t)), "malformed")
            for t in [
                "Evidence.deposit",
                "evidence",
                "evidence.deposit.x",
                "evidence-x.deposit",
                "evidence.",
                ".deposit",
                "evidence.dep0sit",
                " evidence.deposit",
                "",
            ]
        ],
        ("type not a string", _with(tx, type="7"), "malformed"),
        # not an object, not JSON
        ("array body", "[]", "malformed"),
        ("array of the transaction", "[" + _body(tx) + "]", "malformed"),
        ("string body", '"transaction"', "malformed"),
        ("number body", "42", "malformed"),
        ("null body", "null", "malformed"),
        ("true body", "true", "malformed"),
        ("empty body", "", "malformed"),
        ("truncated JSON", _body(tx)[:-1], "malformed"),
        ("trailing garbage", _body(tx) + " x", "malformed"),
        ("single quotes", _body(tx).replace('"', "'"), "malformed"),
    ]
    return cases


def test_malformed_input_is_refused_and_nothing_is_stored(
    ledger: Ledger, consortium: Consortium
) -> None:
    tx = make_tx(consortium)
    assert parse_json(_body(tx)) == tx.to_wire()  # the helpers build the real transaction
    before = ledger.snapshot()
    cases = _malformed_cases(tx)
    failures = []
    for name, body, code in cases:
        response = ledger.post(body)
        try:
            assert_error(response, 400, code)
        except AssertionError:
            failures.append(f"{name}: {response.status_code} {response.text[:200]}")
    not_utf8 = ledger.post(_body(tx).encode().replace(b"evidence", b"evid\xffnce"))
    if not_utf8.status_code != 400 or not_utf8.json()["error"]["code"] != "malformed":
        failures.append(f"invalid UTF-8: {not_utf8.status_code} {not_utf8.text[:200]}")
    assert not failures, "\n".join(failures)
    # nothing about the transaction was remembered: no envelope could be read
    ledger.unknown(tx.tx_id)
    ledger.nothing_stored(before, [tx.tx_id])
    # the same transaction, well-formed, is not a duplicate of anything and commits
    assert ledger.post(_body(tx)).status_code == 202
    ledger.commits(tx)
    ledger.still_serving()


# --- pure rule functions ------------------------------------------------------------------


@pytest.fixture
def registry(consortium: Consortium) -> MemberRegistry:
    return MemberRegistry.from_genesis(consortium.genesis)


def test_check_timestamp_boundaries(consortium: Consortium) -> None:
    now = 1_763_700_000_000
    for skew in (0, TOLERANCE_MS, -TOLERANCE_MS, 1, -1):
        check_timestamp(make_tx(consortium, timestamp=now + skew), now, TOLERANCE_MS)
    for skew in (TOLERANCE_MS + 1, -TOLERANCE_MS - 1):
        with pytest.raises(RuleViolation) as info:
            check_timestamp(make_tx(consortium, timestamp=now + skew), now, TOLERANCE_MS)
        assert info.value.code == "timestamp_out_of_range"
        assert info.value.http_status == 422


def test_check_size_and_chain_and_not_seen(consortium: Consortium) -> None:
    check_size(MIB, MIB)
    with pytest.raises(TooLarge) as info:
        check_size(MIB + 1, MIB)
    assert (info.value.code, info.value.http_status) == ("too_large", 413)
    tx = make_tx(consortium)
    check_chain(tx, consortium.genesis.chain_id)
    with pytest.raises(RuleViolation) as wrong:
        check_chain(tx, "another-chain")
    assert wrong.value.code == "wrong_chain"
    check_not_seen(tx, set())
    with pytest.raises(DuplicateTransaction) as dup:
        check_not_seen(tx, {tx.tx_id})
    assert (dup.value.code, dup.value.http_status) == ("duplicate_transaction", 409)


def test_key_and_role_rules(consortium: Consortium, registry: MemberRegistry) -> None:
    ok = make_tx(consortium)
    assert submitter_key(ok, registry).member_id == DEPOSITOR
    check_state(ok, registry)
    cases = {
        "unknown_key": [
            make_tx(consortium, signer=PrivateKey.generate()),
            make_tx(consortium, DEPOSITOR, signer=_signer(consortium.home, "gz-internet-court")),
        ],
        "role_not_allowed": [make_tx(consortium, "acme-manufacturing")],
        "unknown_type": [make_tx(consortium, tx_type="evidence.erase")],
    }
    for code, txs in cases.items():
        for tx in txs:
            with pytest.raises(RuleViolation) as info:
                check_state(tx, registry)
            assert info.value.code == code
    with pytest.raises(RuleViolation) as role:
        check_role(make_tx(consortium, "gz-audit-bureau", "member.register"), registry)
    assert role.value.code == "role_not_allowed"


def _build(
    genesis: Genesis, registry: MemberRegistry, txs: list[SignedTransaction], now: int
) -> Any:
    block0 = genesis_block(genesis)
    log = CompactRange(SM3)
    for t in block0.transactions:
        log.append(t.leaf_hash)
    return build_block(
        prev=block0.header,
        log=log,
        registry=registry,
        candidates=txs,
        now_ms=now,
        tolerance_ms=TOLERANCE_MS,
        proposer="v1",
        validators=genesis.validators,
        next_validators=genesis.validators,
    )


def test_build_block_rechecks_rules_and_leaves_refused_out(
    consortium: Consortium, registry: MemberRegistry
) -> None:
    genesis = consortium.genesis
    now = now_ms()
    good = make_tx(consortium, timestamp=now)
    stale = make_tx(consortium, timestamp=now - TOLERANCE_MS - 1)
    foreign = make_tx(consortium, "acme-manufacturing")
    built = _build(genesis, registry, [stale, good, foreign], now)
    assert built.transactions == [good]
    assert [(t, e.code) for t, e in built.rejected] == [
        (stale, "timestamp_out_of_range"),
        (foreign, "role_not_allowed"),
    ]
    assert built.header.tx_count == 1
    assert built.header.log_size == len(genesis.members) + 1
    # the refused transactions change neither the block nor the log
    alone = _build(genesis, registry, [good], now)
    assert alone.header.tx_root == built.header.tx_root
    assert alone.header.log_root == built.header.log_root

    # a key rotated earlier in the same block no longer signs later in that block
    new_key = PrivateKey.generate()
    rotate = make_tx(
        consortium,
        "gz-gov-service-bureau",
        "member.rotate_key",
        {"id": DEPOSITOR, "public_key": new_key.public_key.hex},
    )
    with_old = make_tx(consortium)
    with_new = make_tx(consortium, signer=new_key)
    built = _build(genesis, registry, [rotate, with_old, with_new], now)
    assert built.transactions == [rotate, with_new]
    assert [(t, e.code) for t, e in built.rejected] == [(with_old, "unknown_key")]
    # the input registry is untouched: building is pure
    assert (
        registry.members[DEPOSITOR].public_key == _signer(consortium.home, DEPOSITOR).public_key.hex
    )
