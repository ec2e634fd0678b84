"""Keys and transactions for the demo generators: the members' key files in ``home/keys``,
signers cached per member, and ``member.register`` transactions for the extra members a demo
needs (keys generated once, or reused when an interrupted run left them)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from keys import FileKeyStore
from ledger.crypto import Signer
from ledger.errors import KeystoreError
from ledger.model import SignedTransaction
from ledger.transactions import make_transaction

GOVERNANCE = "gz-gov-service-bureau"


class DemoKeys:
    def __init__(self, home: Path, chain_id: str) -> None:
        self.store = FileKeyStore(Path(home) / "keys")
        self.chain_id = chain_id
        self._signers: dict[str, Signer] = {}

    def signer(self, member: str) -> Signer:
        if member not in self._signers:
            self._signers[member] = self.store.signer(member)
        return self._signers[member]

    def tx(self, member: str, tx_type: str, payload: dict[str, Any]) -> SignedTransaction:
        return make_transaction(
            self.signer(member),
            chain_id=self.chain_id,
            type=tx_type,
            submitter=member,
            payload=payload,
        )

    def registrations(
        self, wanted: Iterable[tuple[str, list[str]]], registered: set[str]
    ) -> list[SignedTransaction]:
        """``member.register`` by governance for each wanted ``(id, roles)`` not yet
        registered; ``registered`` is updated. Members already on the chain must have their
        key here, since the demo signs for them."""
        txs = []
        for member, roles in wanted:
            if member in registered:
                self.signer(member)
                continue
            try:
                public = self.store.public_key(member)  # left by an interrupted run
            except KeystoreError:
                public = self.store.generate(member)
            payload = {"id": member, "roles": roles, "public_key": public.hex}
            txs.append(self.tx(GOVERNANCE, "member.register", payload))
            registered.add(member)
        return txs
