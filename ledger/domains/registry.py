"""The list of domains and the one place that runs their transactions, whatever the type."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ledger.domains.base import Domain, DomainHost, TxContext, TxType, payload_of
from ledger.domains.bidding.rules import domain as bidding
from ledger.domains.edu_card.rules import domain as edu_card
from ledger.domains.evidence.rules import domain as evidence
from ledger.domains.member.rules import domain as member
from ledger.domains.reopening.rules import domain as reopening
from ledger.domains.state import Overlay
from ledger.domains.validator.rules import domain as validator
from ledger.model import SignedTransaction
from ledger.policy import ROLES

SYSTEM_DOMAINS: tuple[Domain, ...] = (member, validator)
RECORD_DOMAINS: tuple[Domain, ...] = (reopening, bidding, edu_card, evidence)
DOMAINS: tuple[Domain, ...] = SYSTEM_DOMAINS + RECORD_DOMAINS


class DomainRegistry:
    def __init__(self, domains: Iterable[Domain] = DOMAINS) -> None:
        self.domains = tuple(domains)
        self.by_type: dict[str, tuple[Domain, TxType[Any]]] = {}
        for d in self.domains:
            for tx_type in d.tx_types():
                if tx_type.name in self.by_type:
                    raise ValueError(f"{tx_type.name} is claimed by two domains")
                unknown = tx_type.roles - ROLES
                if unknown:
                    raise ValueError(f"{tx_type.name}: unknown roles {sorted(unknown)}")
                self.by_type[tx_type.name] = (d, tx_type)

    def type_roles(self) -> Mapping[str, frozenset[str]]:
        return {name: t.roles for name, (_, t) in self.by_type.items()}

    def roles_allowed(self, tx_type: str) -> frozenset[str] | None:
        entry = self.by_type.get(tx_type)
        return None if entry is None else entry[1].roles

    def domain_of(self, tx_type: str) -> Domain | None:
        entry = self.by_type.get(tx_type)
        return None if entry is None else entry[0]

    def types_of(self, domains: Iterable[Domain]) -> list[str]:
        return [t.name for d in domains for t in d.tx_types()]

    def execute(
        self,
        view: Overlay,
        tx: SignedTransaction,
        *,
        host: DomainHost,
        height: int,
        time_ms: int,
        roles: tuple[str, ...],
        params: Mapping[str, Any],
    ) -> None:
        """Run one transaction in a child of ``view``; its writes land only if it passes."""
        _, tx_type = self.by_type[tx.envelope.type]
        payload = payload_of(tx, tx_type.payload)
        child = view.child()
        ctx = TxContext(tx, height, time_ms, roles, params, host)
        tx_type.run(child, ctx, payload)
        child.merge()


REGISTRY = DomainRegistry()
