"""The record domains the ledger serves, and the one place that runs their transactions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from ledger.domains import bidding, edu_card, evidence, reopening
from ledger.domains.base import Domain, Payload, TxContext, TxSpec, payload_of
from ledger.domains.state import Overlay, StateStore
from ledger.model import SignedTransaction

if TYPE_CHECKING:
    from ledger.state import MemberRecord

DOMAINS: tuple[Domain, ...] = (
    reopening.domain,
    bidding.domain,
    edu_card.domain,
    evidence.domain,
)


class DomainRegistry:
    def __init__(self, domains: Iterable[Domain] = DOMAINS) -> None:
        self.domains = tuple(domains)
        self.by_type: dict[str, tuple[Domain, TxSpec]] = {}
        for d in self.domains:
            for tx_type, spec in d.specs.items():
                if tx_type in self.by_type:
                    raise ValueError(f"{tx_type} is claimed by two domains")
                self.by_type[tx_type] = (d, spec)

    def type_roles(self) -> Mapping[str, frozenset[str]]:
        return {t: spec.roles for t, (_, spec) in self.by_type.items()}

    def handles(self, tx_type: str) -> bool:
        return tx_type in self.by_type

    def execute(
        self,
        view: Overlay,
        tx: SignedTransaction,
        *,
        height: int,
        time_ms: int,
        roles: tuple[str, ...],
        params: Mapping[str, Any] | None = None,
        members: Mapping[str, MemberRecord] | None = None,
    ) -> None:
        """Run one transaction in a child of ``view``; its writes land only if it passes."""
        domain, spec = self.by_type[tx.envelope.type]
        payload = payload_of(tx, spec.payload)
        child = view.child()
        ctx = TxContext(
            tx,
            height,
            time_ms,
            roles,
            MappingProxyType(dict(params or {})),
            MappingProxyType(members) if members is not None else MappingProxyType({}),
        )
        domain.execute(child, ctx, tx.envelope.type, payload)
        child.merge()


REGISTRY = DomainRegistry()

__all__ = [
    "DOMAINS",
    "REGISTRY",
    "Domain",
    "DomainRegistry",
    "Overlay",
    "Payload",
    "StateStore",
    "TxContext",
    "TxSpec",
]
