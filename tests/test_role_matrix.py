"""The role matrix: every role against every transaction type. A type a role may not submit is
refused with role_not_allowed and nothing is stored; a type it may submit passes the role
rule (each domain's own tests show those being accepted with valid payloads)."""

from __future__ import annotations

from ledger.client import make_transaction
from ledger.consortium import DEMO_MEMBERS
from ledger.domains.registry import REGISTRY
from ledger.policy import ROLES
from ledger.store import Store
from tests.conftest import Consortium
from tests.inprocess import InProcessNode

TYPE_ROLES = REGISTRY.type_roles()
MEMBER_OF_ROLE = {roles[0]: member for member, roles in DEMO_MEMBERS}
MEMBER_OF_ROLE["validator"] = "v1"


def test_every_role_has_a_demo_member() -> None:
    assert set(MEMBER_OF_ROLE) == ROLES


def test_role_matrix_over_http(consortium: Consortium, node: InProcessNode) -> None:
    chain = consortium.genesis.chain_id
    with node.client() as client:
        before = client.checkpoint()["header"]["log_size"]
        for role, member in sorted(MEMBER_OF_ROLE.items()):
            key = consortium.key(member)
            txs = [
                make_transaction(key, chain_id=chain, type=t, submitter=member, payload={})
                for t in sorted(TYPE_ROLES)
            ]
            result = client.submit_batch(txs)
            codes = {sorted(TYPE_ROLES)[r["index"]]: r["error"]["code"] for r in result["rejected"]}
            for tx_type, allowed in sorted(TYPE_ROLES.items()):
                if role in allowed:
                    assert codes.get(tx_type) != "role_not_allowed", (role, tx_type)
                else:
                    assert codes.get(tx_type) == "role_not_allowed", (role, tx_type, codes)
            refused = [
                t
                for t in txs
                if sorted(TYPE_ROLES)[txs.index(t)]
                not in {tx_type for tx_type, a in TYPE_ROLES.items() if role in a}
            ]
            for tx in refused[:3]:
                status = client.status(tx.tx_id)
                assert status["status"] == "rejected"
                assert status["error"]["code"] == "role_not_allowed"
        node.settle()  # whatever was admitted is committed
        after = client.checkpoint()["header"]["log_size"]
    store = Store(node.db)
    try:
        assert store.count("transactions") == after
    finally:
        store.close()
    # only transactions that passed every rule (none with empty payloads) may have landed
    assert after == before
