"""The read-access log: restricted reads are logged in a hash chain that an auditor reviews.

Over HTTP to a node (SQLite, and PostgreSQL when LEDGER_TEST_PG_URL is set): who
read what is logged, refused reads are not; the chain and the node's signed head verify;
an edited or deleted entry is named by ``ledger audit`` and ``ledger access-log``; a deleted
tail is caught against a signed head kept from an earlier review. And a property test: any
single change to a chain is detected by the verifier.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select, update

from keys import FileKeyStore
from ledger.access_log import (
    GENESIS_HASH,
    AccessEntry,
    AccessLogError,
    Head,
    check_head,
    check_reaches,
    head_body,
    next_entry,
    sign_head,
    verify_chain,
    verify_head,
)
from ledger.audit import AuditError, StoreAuditor
from ledger.canonical import canonical
from ledger.client import make_transaction
from ledger.consortium import create
from ledger.crypto import sm3_hex
from ledger.domains.evidence.demo import example_deposit_payload
from ledger.errors import InvalidSignature
from ledger.request_auth import sign_request
from ledger.store import Store
from ledger.store import schema as t
from tests.conftest import Consortium, database_url
from tests.inprocess import InProcessNode
from tests.test_validator_changes import POOL, history_receipt

AUDITOR = "gz-audit-bureau"
COURT = "gz-internet-court"
DEPOSITOR = "evidence-platform"

# --- the chain verifier, without I/O -------------------------------------------------------

TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
ROW = st.tuples(st.integers(0, 2**53 - 1), TEXT, TEXT, TEXT, TEXT)


def build(rows: list[tuple[int, str, str, str, str]]) -> list[AccessEntry]:
    out: list[AccessEntry] = []
    prev = (0, GENESIS_HASH)
    for at_ms, reader, key_id, action, resource in rows:
        entry = next_entry(
            *prev, at_ms=at_ms, reader=reader, key_id=key_id, action=action, resource=resource
        )
        out.append(entry)
        prev = (entry.seq, entry.entry_hash)
    return out


def _other(value: Any) -> Any:
    if isinstance(value, int):
        return value - 1 if value > 0 else 1
    return value + "x" if value != "" else "y"


@settings(max_examples=300, deadline=None)
@given(
    rows=st.lists(ROW, min_size=2, max_size=10),
    kind=st.sampled_from(["edit", "edit_and_rehash", "delete", "swap", "duplicate"]),
    field=st.sampled_from(
        ["seq", "at_ms", "reader", "key_id", "action", "resource", "prev_hash", "entry_hash"]
    ),
    data=st.data(),
)
def test_any_single_change_is_detected(
    rows: list[tuple[int, str, str, str, str]], kind: str, field: str, data: st.DataObject
) -> None:
    chain = build(rows)
    n = len(chain)
    head = (n, chain[-1].entry_hash)
    assert verify_chain(chain) == head
    i = data.draw(st.integers(0, n - 1), label="entry")
    changed = list(chain)
    if kind == "edit":
        changed[i] = replace(chain[i], **{field: _other(getattr(chain[i], field))})
    elif kind == "edit_and_rehash":  # the forger recomputes the edited entry's own hash
        i = min(i, n - 2)
        field = "reader" if field == "entry_hash" else field
        edited = replace(chain[i], **{field: _other(getattr(chain[i], field))})
        changed[i] = replace(edited, entry_hash=edited.computed_hash())
    elif kind == "delete":
        i = min(i, n - 2)  # deleting the tail is the signed head's job (test below)
        del changed[i]
    elif kind == "swap":
        j = data.draw(st.integers(0, n - 1).filter(lambda j: j != i), label="other")
        changed[i], changed[j] = changed[j], changed[i]
    else:
        changed.insert(i, chain[i])
    with pytest.raises(AccessLogError) as info:
        verify_chain(changed)
    assert info.value.step.startswith(f"access log entry {info.value.seq} ")
    assert 1 <= info.value.seq <= n + 1
    if kind in ("edit", "delete") and field != "seq":
        assert info.value.seq == i + 1
    if kind == "edit_and_rehash" and field not in ("seq", "prev_hash"):
        assert info.value.seq == i + 2


@given(rows=st.lists(ROW, min_size=2, max_size=8), cut=st.integers(1, 7))
def test_a_deleted_tail_is_caught_by_the_kept_head(
    rows: list[tuple[int, str, str, str, str]], cut: int
) -> None:
    chain = build(rows)
    cut = min(cut, len(chain) - 1)
    kept = Head(len(chain), chain[-1].entry_hash, 0, "v1")
    shorter = chain[:-cut]
    last = verify_chain(shorter)  # a shorter chain is still a valid chain
    now = Head(*last, 1, "v1")
    check_head(now, last)
    with pytest.raises(AccessLogError, match="truncated"):
        check_reaches(kept, now, None)
    # rewritten: the tail replaced by as many other entries
    forged = build([*rows[:-cut], *[(r[0], "someone-else", *r[2:]) for r in rows[-cut:]]])
    last = verify_chain(forged)
    with pytest.raises(AccessLogError, match="rewritten"):
        check_reaches(kept, Head(*last, 2, "v1"), forged[kept.seq - 1].entry_hash)


def test_a_head_signed_by_a_validator_added_after_genesis_verifies_through_its_history() -> None:
    """The signer p2 is in the set two handovers from genesis (not in the genesis set)."""
    receipt, genesis = history_receipt()
    history = receipt["validator_history"]
    body = head_body(genesis.chain_id, "p2", 7, "ab" * 32, 1_795_291_300_000)
    signed = sign_head(body, POOL["p2"], history)
    assert verify_head(signed, genesis) == Head(7, "ab" * 32, 1_795_291_300_000, "p2")
    for without in (
        {**signed, "validator_history": []},
        {k: signed[k] for k in ("head", "signature")},
    ):
        with pytest.raises(InvalidSignature) as info:
            verify_head(without, genesis)
        assert info.value.step == "access log head validator"
    altered = copy.deepcopy(signed)
    altered["validator_history"][0]["next_validators"]["validators"][0]["power"] = 5
    with pytest.raises(InvalidSignature) as info:
        verify_head(altered, genesis)
    assert info.value.step == "access log head validator[0]"
    forged = sign_head(body, POOL["p3"], history)  # p3's key, p2's name
    with pytest.raises(InvalidSignature):
        verify_head(forged, genesis)


def test_entry_bytes_are_fixed() -> None:
    """entry_hash = hex(SM3(C(entry without entry_hash))): a fixed vector."""
    entry = next_entry(
        0,
        GENESIS_HASH,
        at_ms=1795291223834,
        reader=COURT,
        key_id="ab" * 32,
        action="GET /v1/evidence/deposits/{deposit_id}/metadata",
        resource="/v1/evidence/deposits/" + "cd" * 32 + "/metadata",
    )
    body = {k: v for k, v in entry.to_wire().items() if k != "entry_hash"}
    assert entry.entry_hash == sm3_hex(canonical(body))
    assert AccessEntry.from_wire(json.loads(json.dumps(entry.to_wire()))) == entry


# --- over HTTP -------------------------------------------------------------------------------


@dataclass
class Node:
    consortium: Consortium
    process: InProcessNode
    store: Store
    http: httpx.Client
    keys: FileKeyStore

    def get(self, member: str | None, path: str) -> httpx.Response:
        headers = (
            {} if member is None else sign_request(self.keys.signer(member), member, "GET", path)
        )
        return self.http.get(path, headers=headers)

    def log(self) -> dict[str, Any]:
        response = self.get(AUDITOR, "/v1/access-log")
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [
            sys.executable,
            "-m",
            "ledger",
            "access-log",
            "--url",
            self.process.listen(),  # the command line runs as a process of its own
            "--key",
            str(self.consortium.home / "keys" / f"{AUDITOR}.pem"),
            "--id",
            AUDITOR,
            "--genesis",
            str(self.consortium.home / "genesis.json"),
            *args,
        ]
        return subprocess.run(cmd, capture_output=True, text=True)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def node(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Node]:
    home = tmp_path_factory.mktemp("access") / "consortium"
    created = create(home, demo=True)
    consortium = Consortium(created.home, created.genesis)
    with database_url(request.param, home) as url:
        process = InProcessNode(home, url, {"verify_workers": 0}).start()
        store = Store(url)
        keys = FileKeyStore(home / "keys")
        try:
            with process.client() as client:
                tx = make_transaction(
                    keys.signer(DEPOSITOR),
                    chain_id=consortium.genesis.chain_id,
                    type="evidence.deposit",
                    submitter=DEPOSITOR,
                    payload=example_deposit_payload(),
                )
                client.submit_and_wait(tx)
            with process.http(timeout=60) as http:
                yield Node(consortium, process, store, http, keys)
        finally:
            process.stop()
            store.close()


READS = [
    (COURT, "/v1/evidence/deposits"),
    (DEPOSITOR, "/v1/evidence/deposits?limit=5"),
    ("baiyun-school-1", "/v1/edu_card/schools/baiyun-school-1/cards"),
    (AUDITOR, f"/v1/export?member={DEPOSITOR}"),
]


def test_restricted_reads_are_logged_and_the_chain_verifies(node: Node) -> None:
    before = node.log()["head"]["head"]["seq"]
    for member, path in READS:
        assert node.get(member, path).status_code == 200, path
    assert node.get("bidder-alpha", "/v1/evidence/deposits").status_code == 403
    assert node.get(None, "/v1/evidence/deposits").status_code == 401
    assert node.get(COURT, "/v1/access-log").status_code == 403
    body = node.log()
    head = verify_head(body["head"], node.consortium.genesis)
    entries = [AccessEntry.from_wire(e) for e in body["entries"]]
    assert verify_chain(entries) == (head.seq, head.entry_hash)
    # the review before the reads is logged too (after its head was taken), then the reads;
    # the refused and unsigned ones are not
    new = entries[before:]
    assert [(e.reader, e.resource) for e in new] == [(AUDITOR, "/v1/access-log"), *READS]
    assert new[1].action == "GET /v1/evidence/deposits"
    assert new[3].action == "GET /v1/edu_card/schools/{school}/cards"
    court_key = node.keys.signer(COURT).public_key.key_id
    assert new[1].key_id == court_key
    assert all(e.at_ms >= head.at_ms - 60_000 for e in new)
    # paging: from_seq and limit
    page = node.get(AUDITOR, f"/v1/access-log?from_seq={before + 2}&limit=2").json()
    assert [e["seq"] for e in page["entries"]] == [before + 2, before + 3]


def test_bad_access_log_parameters(node: Node) -> None:
    for query in ("from_seq=0", "limit=0", "from_seq=x"):
        response = node.get(AUDITOR, f"/v1/access-log?{query}")
        assert response.status_code == 400, query
        assert response.json()["error"]["code"] == "malformed"


def _edit(node: Node, seq: int, **values: Any) -> Callable[[], None]:
    table = t.access_log
    with node.store.engine.begin() as conn:
        old = conn.execute(select(table).where(table.c.seq == seq)).one()._asdict()
        conn.execute(update(table).where(table.c.seq == seq).values(**values))

    def restore() -> None:
        with node.store.engine.begin() as conn:
            conn.execute(update(table).where(table.c.seq == seq).values(**old))

    return restore


def _delete(node: Node, *seqs: int) -> Callable[[], None]:
    table = t.access_log
    with node.store.engine.begin() as conn:
        rows = [r._asdict() for r in conn.execute(select(table).where(table.c.seq.in_(seqs))).all()]
        conn.execute(delete(table).where(table.c.seq.in_(seqs)))

    def restore() -> None:
        with node.store.engine.begin() as conn:
            conn.execute(table.insert(), rows)

    return restore


def _audit_step(node: Node) -> str:
    with pytest.raises(AuditError) as info:
        StoreAuditor(node.store, node.consortium.genesis).run()
    return info.value.step


def test_edited_and_deleted_entries_are_named(node: Node) -> None:
    for member, path in READS:
        assert node.get(member, path).status_code == 200
    ok = node.cli()
    assert ok.returncode == 0, ok.stderr
    assert "intact" in ok.stdout
    StoreAuditor(node.store, node.consortium.genesis).run()

    restore = _edit(node, 2, reader="someone-else")
    assert _audit_step(node) == "access log entry 2 entry_hash"
    bad = node.cli()
    assert bad.returncode == 1
    assert "access log entry 2 entry_hash" in bad.stderr
    audit = subprocess.run(
        [
            sys.executable,
            "-m",
            "ledger",
            "audit",
            "--home",
            str(node.consortium.home),
            "--db",
            node.process.db,
            "--workers",
            "1",
        ],
        capture_output=True,
        text=True,
    )
    assert audit.returncode == 1
    assert "access log entry 2 entry_hash" in audit.stderr
    restore()

    # a forger who also recomputes the edited entry's hash breaks the next link
    entry = node.store.access_log_entries(2, 1)[0]
    forged = replace(entry, reader="someone-else")
    restore = _edit(node, 2, reader=forged.reader, entry_hash=forged.computed_hash())
    assert _audit_step(node) == "access log entry 3 prev_hash"
    assert "access log entry 3 prev_hash" in node.cli().stderr
    restore()

    restore = _delete(node, 3)
    assert _audit_step(node) == "access log entry 3 missing"
    bad = node.cli()
    assert bad.returncode == 1
    assert "access log entry 3 missing" in bad.stderr
    restore()
    StoreAuditor(node.store, node.consortium.genesis).run()
    assert node.cli().returncode == 0


def test_a_deleted_tail_is_caught_against_the_kept_head(node: Node, tmp_path: Path) -> None:
    state = tmp_path / "access-log-head.json"
    first = node.cli("--state", str(state))
    assert first.returncode == 0, first.stderr
    kept = verify_head(json.loads(state.read_text())["head"], node.consortium.genesis)
    assert node.get(COURT, "/v1/evidence/deposits").status_code == 200
    again = node.cli("--state", str(state))
    assert again.returncode == 0, again.stderr
    assert f"still holds the head kept in {state} (seq {kept.seq})" in again.stdout

    kept = verify_head(json.loads(state.read_text())["head"], node.consortium.genesis)
    last = node.store.access_log_head()[0]
    restore = _delete(node, *range(kept.seq - 1, last + 1))
    # the chain alone cannot tell: a shorter chain is a valid chain
    StoreAuditor(node.store, node.consortium.genesis).run()
    assert node.cli().returncode == 0
    bad = node.cli("--state", str(state))
    assert bad.returncode == 1
    assert f"access log entry {kept.seq} truncated" in bad.stderr

    # rewritten: new reads fill the deleted seqs with other entries
    for member, path in READS:
        node.get(member, path)
    bad = node.cli("--state", str(state))
    assert bad.returncode == 1
    assert f"access log entry {kept.seq} rewritten" in bad.stderr
    _delete(node, *range(kept.seq - 1, node.store.access_log_head()[0] + 1))
    restore()


def test_concurrent_writers_keep_one_chain(db_url: str) -> None:
    """Two stores on one database (as two processes would be), four threads each: every
    append lands once, seq has no gap and the chain verifies (SQLite and PostgreSQL)."""
    stores = [Store(db_url), Store(db_url)]

    def append(k: int) -> None:
        store = stores[k % 2]
        for n in range(15):
            store.access_log_append(
                at_ms=n, reader=f"reader-{k}", key_id="00" * 32, action="GET /x", resource=f"/{n}"
            )

    try:
        threads = [threading.Thread(target=append, args=(k,)) for k in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        entries = list(stores[0].access_log_all(batch=7))
        assert verify_chain(entries) == stores[1].access_log_head()
        assert len(entries) == 60
        assert sorted((e.reader, e.resource) for e in entries) == sorted(
            (f"reader-{k}", f"/{n}") for k in range(4) for n in range(15)
        )
    finally:
        for store in stores:
            store.close()
