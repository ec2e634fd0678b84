"""Membership governance: register, rotate a key, revoke; what the chain then accepts.

A node over HTTP (SQLite and PostgreSQL), real SM2 keys. The registry a node
reports must be what replaying its chain from genesis through ``MemberRegistry.apply``
rebuilds, and what it persisted in its database survives a restart.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest

from keys import FileKeyStore
from ledger.crypto import PrivateKey, random_nonce
from ledger.domains.evidence.demo import example_deposit_payload
from ledger.domains.member.state import MemberRegistry
from ledger.domains.reopening import demo as reopening_examples
from ledger.execution import check_state
from ledger.model import Envelope, SignedTransaction
from ledger.store import Store
from ledger.verify import verify_receipt
from tests.conftest import Consortium
from tests.inprocess import InProcessNode

GOV = "gz-gov-service-bureau"
REGISTER, ROTATE, REVOKE = "member.register", "member.rotate_key", "member.revoke"
DEMO_IDS = {
    "v1",
    "gz-gov-service-bureau",
    "gz-audit-bureau",
    "acme-manufacturing",
    "tianhe-street-office",
    "gz-trading-center",
    "bidder-alpha",
    "gz-guarantee-co",
    "expert-wang",
    "baiyun-school-1",
    "evidence-platform",
    "gz-internet-court",
}


# --- helpers ------------------------------------------------------------------------------


@cache
def _signer(home: Path, member_id: str) -> PrivateKey:
    return FileKeyStore(home / "keys").signer(member_id)


def make_tx(
    consortium: Consortium,
    member: str,
    tx_type: str,
    payload: dict[str, Any] | None = None,
    *,
    signer: PrivateKey | None = None,
) -> SignedTransaction:
    key = signer or _signer(consortium.home, member)
    env = Envelope(
        chain_id=consortium.genesis.chain_id,
        type=tx_type,
        submitter=member,
        key_id=key.public_key.key_id,
        nonce=random_nonce(),
        timestamp=time.time_ns() // 1_000_000,
        payload=payload if payload is not None else example_deposit_payload(),
    )
    return SignedTransaction(env, key.sign(env.canonical))


def filing(
    consortium: Consortium, member: str, signer: PrivateKey | None = None
) -> SignedTransaction:
    """A reopening filing (a transaction of the enterprise role), with a fresh credit code:
    the domain takes one filing per code."""
    return make_tx(
        consortium, member, "reopening.file", reopening_examples.file_payload(), signer=signer
    )


class Api:
    def __init__(self, http: httpx.Client, consortium: Consortium) -> None:
        self.http = http
        self.consortium = consortium

    def close(self) -> None:
        self.http.close()

    def post(self, tx: SignedTransaction) -> httpx.Response:
        return self.http.post("/v1/transactions", json=tx.to_wire())

    def commit(self, tx: SignedTransaction, timeout: float = 15) -> dict[str, Any]:
        response = self.post(tx)
        assert response.status_code == 202, response.text
        return self.receipt_when_committed(tx.tx_id, timeout)

    def receipt_when_committed(self, tx_id: str, timeout: float = 15) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            status = self.http.get(f"/v1/transactions/{tx_id}").json()
            if status["status"] == "committed":
                break
            assert status["status"] == "pending", status
            assert time.monotonic() < deadline, f"{tx_id} not committed"
            time.sleep(0.05)
        return self.receipt(tx_id)

    def receipt(self, tx_id: str) -> dict[str, Any]:
        response = self.http.get(f"/v1/transactions/{tx_id}/receipt")
        assert response.status_code == 200, response.text
        receipt: dict[str, Any] = response.json()
        assert verify_receipt(receipt, self.consortium.genesis).tx_id == tx_id
        return receipt

    def refuse(self, tx: SignedTransaction, code: str, status: int = 422) -> str:
        response = self.post(tx)
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert error["code"] == code, error
        reported = self.http.get(f"/v1/transactions/{tx.tx_id}").json()
        assert reported["status"] == "rejected" and reported["error"]["code"] == code, reported
        assert self.http.get(f"/v1/transactions/{tx.tx_id}/receipt").status_code == 404
        return str(error["message"])

    def members(self) -> list[dict[str, Any]]:
        response = self.http.get("/v1/members")
        assert response.status_code == 200, response.text
        body = response.json()
        assert list(body) == ["members"]
        return list(body["members"])

    def member(self, member_id: str) -> dict[str, Any]:
        found = [m for m in self.members() if m["id"] == member_id]
        assert len(found) == 1, member_id
        return found[0]

    def height(self) -> int:
        return int(self.http.get("/v1/checkpoint").json()["header"]["height"])


@pytest.fixture
def api(node: InProcessNode, consortium: Consortium) -> Iterator[Api]:
    client = Api(node.http(), consortium)
    try:
        yield client
    finally:
        client.close()


def replay(api: Api) -> MemberRegistry:
    """Rebuild the registry from the blocks the node serves, re-checking every later block's
    transactions against the state before them."""
    registry = MemberRegistry()
    for height in range(api.height() + 1):
        response = api.http.get(f"/v1/blocks/{height}")
        assert response.status_code == 200, response.text
        for wire in response.json()["transactions"]:
            tx = SignedTransaction.from_wire(wire)
            if height > 0:
                check_state(tx, registry)  # key, role and payload rules held at that height
            if tx.envelope.type.startswith("member."):
                registry.apply(tx.envelope, height)
    return registry


def as_wire(registry: MemberRegistry) -> list[dict[str, Any]]:
    return [m.to_wire() for m in sorted(registry.members.values(), key=lambda m: m.id)]


# --- the lifecycle --------------------------------------------------------------------


def test_register_rotate_revoke_and_restart(
    node: InProcessNode, api: Api, consortium: Consortium, db_url: str
) -> None:
    c = consortium
    store = Store(db_url)
    try:
        # the founding members, as genesis.json registers them
        founding = api.members()
        assert {m["id"] for m in founding} == DEMO_IDS
        genesis_keys = {m.id: m.public_key for m in c.genesis.members}
        for m in founding:
            assert m["active"] is True and m["since_height"] == 0
            assert m["public_key"] == genesis_keys[m["id"]]
        stored_before = store.count("transactions")

        # --- register
        key1, key2 = PrivateKey.generate(), PrivateKey.generate()
        # a key that is not registered yet signs nothing
        api.refuse(filing(c, "newco", key1), "unknown_key")
        register = make_tx(
            c,
            GOV,
            REGISTER,
            {"id": "newco", "roles": ["enterprise"], "public_key": key1.public_key.hex},
        )
        registered_at = api.commit(register)["header"]["height"]
        assert api.member("newco") == {
            "id": "newco",
            "roles": ["enterprise"],
            "public_key": key1.public_key.hex,
            "key_id": key1.public_key.key_id,
            "active": True,
            "since_height": registered_at,
        }
        # the new member submits a transaction of its role ...
        old_key_filing = filing(c, "newco", key1)
        old_receipt = api.commit(old_key_filing)
        assert old_receipt["submitter_public_key"] == key1.public_key.hex
        # ... and only of its role
        api.refuse(make_tx(c, "newco", "evidence.deposit", signer=key1), "role_not_allowed")

        # a member with several roles may submit for each
        key3 = PrivateKey.generate()
        api.commit(
            make_tx(
                c,
                GOV,
                REGISTER,
                {
                    "id": "court-notary",
                    "roles": ["depositor", "court", "auditor"],
                    "public_key": key3.public_key.hex,
                },
            )
        )
        api.commit(make_tx(c, "court-notary", "evidence.deposit", signer=key3))
        assert api.member("court-notary")["roles"] == ["depositor", "court", "auditor"]

        # --- refused registrations
        fresh = PrivateKey.generate().public_key.hex
        valid = {"id": "another", "roles": ["bidder"], "public_key": fresh}
        for member in ("acme-manufacturing", "gz-audit-bureau", "newco", "v1"):
            signer = key1 if member == "newco" else None
            api.refuse(make_tx(c, member, REGISTER, valid, signer=signer), "role_not_allowed")
        for existing in ("acme-manufacturing", "newco", GOV, "v1"):
            message = api.refuse(
                make_tx(c, GOV, REGISTER, {**valid, "id": existing}), "member_exists"
            )
            assert existing in message
        api.refuse(
            make_tx(c, GOV, REGISTER, {**valid, "public_key": key1.public_key.hex}), "key_exists"
        )
        api.refuse(
            make_tx(c, GOV, REGISTER, {**valid, "public_key": genesis_keys["v1"]}), "key_exists"
        )
        off_curve = "04" + "11" * 64
        bad_payloads: list[dict[str, Any]] = [
            {**valid, "roles": []},
            {**valid, "roles": ["wizard"]},
            {**valid, "roles": ["bidder", "bidder"]},
            {**valid, "roles": "bidder"},
            {**valid, "roles": [1]},
            {**valid, "roles": ["Bidder"]},
            {**valid, "public_key": off_curve},
            {**valid, "public_key": fresh.upper()},
            {**valid, "public_key": fresh[:-2]},
            {**valid, "public_key": "02" + fresh[2:66]},  # compressed form
            {**valid, "public_key": 4},
            {**valid, "id": "has space"},
            {**valid, "id": ""},
            {**valid, "id": 7},
            {**valid, "note": "extra"},
            {"id": "another", "roles": ["bidder"]},
            {"id": "another", "public_key": fresh},
            {"roles": ["bidder"], "public_key": fresh},
            {},
        ]
        for payload in bad_payloads:
            api.refuse(make_tx(c, GOV, REGISTER, payload), "invalid_payload")

        # --- rotate newco's key
        api.commit(make_tx(c, GOV, ROTATE, {"id": "newco", "public_key": key2.public_key.hex}))
        api.refuse(filing(c, "newco", key1), "unknown_key")
        new_key_filing = filing(c, "newco", key2)
        new_receipt = api.commit(new_key_filing)
        assert new_receipt["submitter_public_key"] == key2.public_key.hex
        assert api.member("newco") == {
            "id": "newco",
            "roles": ["enterprise"],
            "public_key": key2.public_key.hex,
            "key_id": key2.public_key.key_id,
            "active": True,
            "since_height": registered_at,
        }
        # the receipt of the transaction signed with the old key still verifies: the node
        # serves the key it was signed with
        again = api.receipt(old_key_filing.tx_id)
        assert again == old_receipt
        assert again["submitter_public_key"] == key1.public_key.hex

        # refused rotations
        for payload, code in [
            ({"id": "nobody", "public_key": fresh}, "unknown_member"),
            ({"id": "newco", "public_key": key1.public_key.hex}, "key_exists"),  # retired key
            ({"id": "newco", "public_key": key2.public_key.hex}, "key_exists"),  # current key
            ({"id": "newco", "public_key": genesis_keys["bidder-alpha"]}, "key_exists"),
            ({"id": "newco", "public_key": off_curve}, "invalid_payload"),
            ({"id": "newco"}, "invalid_payload"),
            ({"id": "newco", "public_key": fresh, "roles": ["governance"]}, "invalid_payload"),
        ]:
            api.refuse(make_tx(c, GOV, ROTATE, payload), code)
        api.refuse(
            make_tx(c, "newco", ROTATE, {"id": "newco", "public_key": fresh}, signer=key2),
            "role_not_allowed",
        )

        # --- revoke newco
        api.refuse(make_tx(c, GOV, REVOKE, {"id": GOV}), "invalid_payload")  # not itself
        api.refuse(make_tx(c, GOV, REVOKE, {"id": "newco", "reason": 5}), "invalid_payload")
        api.refuse(make_tx(c, GOV, REVOKE, {"id": "newco", "why": "x"}), "invalid_payload")
        api.refuse(make_tx(c, GOV, REVOKE, {"id": "nobody"}), "unknown_member")
        api.refuse(make_tx(c, "acme-manufacturing", REVOKE, {"id": "newco"}), "role_not_allowed")
        api.commit(make_tx(c, GOV, REVOKE, {"id": "newco", "reason": "business closed"}))
        api.refuse(filing(c, "newco", key2), "unknown_key")
        api.refuse(filing(c, "newco", key1), "unknown_key")
        assert api.member("newco")["active"] is False
        assert api.member("newco")["public_key"] == key2.public_key.hex
        for payload, tx_type, code in [
            ({"id": "newco"}, REVOKE, "unknown_member"),
            ({"id": "newco", "public_key": fresh}, ROTATE, "unknown_member"),
            ({**valid, "id": "newco"}, REGISTER, "member_exists"),
            ({**valid, "public_key": key2.public_key.hex}, REGISTER, "key_exists"),
        ]:
            api.refuse(make_tx(c, GOV, tx_type, payload), code)
        # receipts of what newco committed before it was revoked still verify
        assert api.receipt(old_key_filing.tx_id) == old_receipt
        assert api.receipt(new_key_filing.tx_id) == new_receipt

        # only the committed transactions were stored: 2 registrations, 3 filings and
        # deposits, 1 rotation, 1 revocation
        assert store.count("transactions") == stored_before + 7
        members = api.members()
        assert {m["id"] for m in members} == DEMO_IDS | {"newco", "court-notary"}
        assert as_wire(replay(api)) == members
        assert as_wire(store.load_registry()) == members

        # --- restart on the same home and database: membership persisted
        node.stop()
        restarted = node.start()
        second = Api(restarted.http(), c)
        try:
            assert second.members() == members
            second.refuse(filing(c, "newco", key2), "unknown_key")
            second.refuse(filing(c, "newco", key1), "unknown_key")
            second.refuse(make_tx(c, GOV, REGISTER, {**valid, "id": "newco"}), "member_exists")
            second.refuse(
                make_tx(c, GOV, REGISTER, {**valid, "public_key": key1.public_key.hex}),
                "key_exists",
            )
            assert second.receipt(old_key_filing.tx_id) == old_receipt
            second.commit(make_tx(c, "court-notary", "evidence.deposit", signer=key3))
            second.commit(filing(c, "acme-manufacturing"))
            second.commit(make_tx(c, GOV, REGISTER, valid))
            assert as_wire(replay(second)) == second.members()
        finally:
            second.close()
            restarted.stop()
    finally:
        store.close()


def test_key_rotation_takes_effect_inside_the_block_that_commits_it(
    api: Api, consortium: Consortium, db_url: str
) -> None:
    """A rotation and transactions signed with the old key, admitted together: those before
    the rotation in block order commit, those after it are refused when the block is built."""
    c = consortium
    member = "acme-manufacturing"
    new_key = PrivateKey.generate()
    before = filing(c, member)
    rotate = make_tx(c, GOV, ROTATE, {"id": member, "public_key": new_key.public_key.hex})
    after = filing(c, member)
    response = api.http.post(
        "/v1/transactions/batch",
        json={"transactions": [t.to_wire() for t in (before, rotate, after)]},
    )
    assert response.status_code == 202, response.text
    # all three pass admission against the committed registry
    assert response.json() == {
        "accepted": [before.tx_id, rotate.tx_id, after.tx_id],
        "rejected": [],
    }
    receipt = api.receipt_when_committed(rotate.tx_id)
    assert api.receipt_when_committed(before.tx_id)["header"] == receipt["header"]
    status = api.http.get(f"/v1/transactions/{after.tx_id}").json()
    assert status["status"] == "rejected", status
    assert status["error"]["code"] == "unknown_key"
    assert api.http.get(f"/v1/transactions/{after.tx_id}/receipt").status_code == 404
    store = Store(db_url)
    try:
        assert store.transaction(after.tx_id) is None
        assert store.transaction(before.tx_id) is not None
    finally:
        store.close()
    assert receipt["header"]["tx_count"] == 2
    # the new key works from the next block on
    api.commit(filing(c, member, new_key))

    # two registrations of one id, or of one key, admitted together: the block keeps the first
    ka, kb = PrivateKey.generate(), PrivateKey.generate()
    first = make_tx(
        c, GOV, REGISTER, {"id": "twin", "roles": ["bidder"], "public_key": ka.public_key.hex}
    )
    same_id = make_tx(
        c, GOV, REGISTER, {"id": "twin", "roles": ["school"], "public_key": kb.public_key.hex}
    )
    same_key = make_tx(
        c, GOV, REGISTER, {"id": "twin-b", "roles": ["bidder"], "public_key": ka.public_key.hex}
    )
    response = api.http.post(
        "/v1/transactions/batch",
        json={"transactions": [t.to_wire() for t in (first, same_id, same_key)]},
    )
    assert response.status_code == 202 and not response.json()["rejected"], response.text
    api.receipt_when_committed(first.tx_id)
    for tx, code in [(same_id, "member_exists"), (same_key, "key_exists")]:
        status = api.http.get(f"/v1/transactions/{tx.tx_id}").json()
        assert status["status"] == "rejected" and status["error"]["code"] == code, status
    assert api.member("twin")["roles"] == ["bidder"]
    assert "twin-b" not in {m["id"] for m in api.members()}
    store = Store(db_url)
    try:
        assert store.transaction(same_id.tx_id) is None
        assert store.transaction(same_key.tx_id) is None
    finally:
        store.close()


# --- replaying the chain --------------------------------------------------------------


def test_replaying_the_chain_rebuilds_the_registry_the_node_reports(
    api: Api, consortium: Consortium, db_url: str
) -> None:
    c = consortium
    keys = {name: PrivateKey.generate() for name in ("alpha-2", "beta-2", "gamma-2")}
    registrations = [
        make_tx(
            c, GOV, REGISTER, {"id": name, "roles": roles, "public_key": keys[name].public_key.hex}
        )
        for name, roles in [
            ("alpha-2", ["depositor"]),
            ("beta-2", ["school", "auditor"]),
            ("gamma-2", ["governance"]),
        ]
    ]
    # several membership changes in one block, mixed with other transactions
    response = api.http.post(
        "/v1/transactions/batch",
        json={
            "transactions": [t.to_wire() for t in [*registrations, filing(c, "acme-manufacturing")]]
        },
    )
    assert response.status_code == 202 and not response.json()["rejected"], response.text
    for tx in registrations:
        api.receipt_when_committed(tx.tx_id)
    rotated = PrivateKey.generate()
    second_round = [
        make_tx(c, GOV, ROTATE, {"id": "alpha-2", "public_key": rotated.public_key.hex}),
        make_tx(c, GOV, REVOKE, {"id": "beta-2"}),
        # the second governance member may govern, and revoke the first
        make_tx(
            c,
            "gamma-2",
            ROTATE,
            {"id": "bidder-alpha", "public_key": PrivateKey.generate().public_key.hex},
            signer=keys["gamma-2"],
        ),
        # the rotated key signs a transaction of alpha-2's role
        make_tx(c, "alpha-2", "evidence.deposit", signer=rotated),
    ]
    for tx in second_round:
        api.commit(tx)
    api.commit(
        make_tx(c, "gamma-2", REVOKE, {"id": GOV, "reason": "handover"}, signer=keys["gamma-2"])
    )
    # the revoked governance member can no longer govern
    api.refuse(
        make_tx(
            c,
            GOV,
            REGISTER,
            {"id": "late", "roles": ["bidder"], "public_key": PrivateKey.generate().public_key.hex},
        ),
        "unknown_key",
    )

    reported = api.members()
    rebuilt = replay(api)
    assert as_wire(rebuilt) == reported
    by_id = {m["id"]: m for m in reported}
    assert by_id["alpha-2"]["public_key"] == rotated.public_key.hex
    assert by_id["beta-2"]["active"] is False and by_id[GOV]["active"] is False
    assert by_id["gamma-2"]["active"] is True

    # the database holds the same registry, keys included (retired keys stay, inactive)
    store = Store(db_url)
    try:
        persisted = store.load_registry()
    finally:
        store.close()
    assert as_wire(persisted) == reported
    assert persisted.keys == rebuilt.keys
    retired = rebuilt.keys[keys["alpha-2"].public_key.key_id]
    assert (retired.member_id, retired.active) == ("alpha-2", False)
    # replaying genesis alone gives the founding registry
    founding = MemberRegistry.from_genesis(c.genesis)
    genesis_only = MemberRegistry()
    block0 = api.http.get("/v1/blocks/0").json()
    for wire in block0["transactions"]:
        genesis_only.apply(SignedTransaction.from_wire(wire).envelope, 0)
    assert as_wire(genesis_only) == as_wire(founding)
    assert genesis_only.keys == founding.keys
