"""The stateless half of admission: what a verification worker sends back is enough to
rebuild, from the node's own copy of the JSON, exactly the transaction it checked."""

from __future__ import annotations

import json
import pickle
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.admission import Refusal, check_chunk, prepare_chunk
from ledger.client import make_transaction
from ledger.crypto import PrivateKey
from ledger.model import SignedTransaction

CHAIN = "gz-test"
KEY = PrivateKey.generate()
OTHER = PrivateKey.generate()

json_scalars = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text()
payloads = st.dictionaries(
    st.text(),
    st.recursive(
        json_scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=12,
    ),
    max_size=6,
)


def _wire(payload: dict[str, Any], key: PrivateKey = KEY) -> Any:
    """The transaction as the node's batch endpoint parses it: fresh JSON objects."""
    tx = make_transaction(
        key, chain_id=CHAIN, type="evidence.deposit", submitter="s", payload=payload
    )
    return json.loads(tx.leaf)


@settings(max_examples=200, deadline=None)
@given(payloads)
def test_rebuilt_transaction_equals_the_checked_one(payload):
    value = _wire(payload)
    items = [(value, KEY.public_key.hex)]
    [expected] = prepare_chunk(items, CHAIN, 1 << 20)
    # what crosses the process boundary, as the pool sends it
    [checked] = pickle.loads(
        pickle.dumps(check_chunk(pickle.loads(pickle.dumps(items)), CHAIN, 1 << 20))
    )
    assert isinstance(expected, SignedTransaction) and not isinstance(checked, Refusal)
    rebuilt = SignedTransaction.from_checked(value, *checked)
    assert rebuilt == expected
    assert rebuilt.envelope.canonical == expected.envelope.canonical
    assert rebuilt.tx_id == expected.tx_id
    assert rebuilt.leaf == expected.leaf
    assert rebuilt.leaf_hash == expected.leaf_hash
    assert rebuilt == SignedTransaction.from_wire(value)


def test_refusals_come_back_as_they_are():
    good = _wire({"n": 1})
    wrong_key = _wire({"n": 2}, OTHER)
    wrong_chain = json.loads(json.dumps(good))
    wrong_chain["envelope"]["chain_id"] = "elsewhere"
    malformed = {"envelope": {}, "signature": "00"}
    items = [
        (good, KEY.public_key.hex),
        (wrong_key, KEY.public_key.hex),
        (wrong_chain, KEY.public_key.hex),
        (malformed, KEY.public_key.hex),
        (good, None),
    ]
    checked = check_chunk(items, CHAIN, 1 << 20)
    prepared = prepare_chunk(items, CHAIN, 1 << 20)
    assert not isinstance(checked[0], Refusal)
    assert [r.code for r in checked[1:] if isinstance(r, Refusal)] == [
        r.code for r in prepared[1:] if isinstance(r, Refusal)
    ]
    assert [r.code for r in checked[1:] if isinstance(r, Refusal)] == [
        "bad_signature",
        "wrong_chain",
        "malformed",
        "unknown_key",
    ]
