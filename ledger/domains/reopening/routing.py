"""Which body reviews a filing, and which approvers act for which body.

The rule is data. In force, in this order of precedence:

1. the newest ``reopening.configure`` transaction on the chain (by a ``governance`` member);
2. genesis ``params["reopening"]`` (same shape as the configure payload), which domain rules
   receive as ``TxContext.params`` and the HTTP views read from the node's genesis;
3. the default: 500 staff or more -> the district industry department, fewer -> the street
   office; firms above 20 staff are inspected on site; approvers act for bodies by the naming
   rule of :func:`ledger.domains.reopening.places.conventional_bodies`.

A filing is routed when it is filed or amended (the body is recorded with the version); who
acts for a body is looked up when the review or inspection is made, so a reassignment of an
approver applies to filings already waiting.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger.domains.base import parse_payload
from ledger.domains.reopening.places import (
    DISTRICT_DEPARTMENT,
    STREET_OFFICE,
    body_district,
    body_key,
    body_matches,
    conventional_bodies,
    conventional_reviewer,
)
from ledger.domains.reopening.schemas import ConfigurePayload
from ledger.domains.state import StateView

CONFIG_NS = "reopening.config"
CONFIG_KEY = "current"


@dataclass(frozen=True)
class RoutingConfig:
    routing: tuple[tuple[int, str], ...]  # (min_employees, body kind), highest first
    inspection_min_employees: int
    bodies: Mapping[str, tuple[str, ...]] | None  # None: the naming rule
    source: str  # "default" | "genesis" | "chain"
    tx_id: str | None = None
    height: int | None = None
    note: str = ""

    @classmethod
    def from_payload(
        cls,
        p: ConfigurePayload,
        source: str,
        tx_id: str | None = None,
        height: int | None = None,
    ) -> RoutingConfig:
        rules = sorted(((r.min_employees, r.to) for r in p.routing), reverse=True)
        bodies = None
        if p.bodies is not None:
            bodies = {k: tuple(v) for k, v in sorted(p.bodies.items())}
        return cls(tuple(rules), p.inspection_min_employees, bodies, source, tx_id, height, p.note)

    def to_wire(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "tx_id": self.tx_id,
            "height": self.height,
            "routing": [{"min_employees": m, "to": k} for m, k in self.routing],
            "inspection_min_employees": self.inspection_min_employees,
            "bodies": None if self.bodies is None else {k: list(v) for k, v in self.bodies.items()},
            "naming_rule": self.bodies is None,
            "note": self.note,
        }

    @classmethod
    def from_state(cls, value: Mapping[str, Any]) -> RoutingConfig:
        bodies = value["bodies"]
        return cls(
            tuple((int(r["min_employees"]), str(r["to"])) for r in value["routing"]),
            int(value["inspection_min_employees"]),
            None if bodies is None else {k: tuple(v) for k, v in bodies.items()},
            str(value["source"]),
            value["tx_id"],
            value["height"],
            str(value["note"]),
        )

    # --- routing --------------------------------------------------------------------------

    def kind_for(self, employees: int) -> str:
        for threshold, kind in self.routing:
            if employees >= threshold:
                return kind
        return STREET_OFFICE  # unreachable: a rule starts at 1

    def body_for(self, employees: int, district: str, street: str) -> str:
        return body_key(self.kind_for(employees), district, street)

    def patterns_of(self, approver: str) -> tuple[str, ...]:
        if self.bodies is None:
            return conventional_bodies(approver)
        return self.bodies.get(approver, ())

    def acts_for(self, approver: str, body: str) -> bool:
        return any(body_matches(p, body) for p in self.patterns_of(approver))

    def acts_in_district(self, approver: str, district: str) -> bool:
        return any(body_district(p) == district for p in self.patterns_of(approver))

    def reviewers(self, body: str) -> list[str]:
        """The approvers who act for ``body`` (by the naming rule: the one named for it)."""
        if self.bodies is None:
            return [conventional_reviewer(body)]
        return [
            a for a, patterns in self.bodies.items() if any(body_matches(p, body) for p in patterns)
        ]

    def inspection_required(self, employees: int) -> bool:
        return employees >= self.inspection_min_employees


DEFAULT = RoutingConfig(
    routing=((500, DISTRICT_DEPARTMENT), (1, STREET_OFFICE)),
    inspection_min_employees=21,
    bodies=None,
    source="default",
    note="≥500 staff: district industry department; fewer: street office; >20 staff inspected",
)


@functools.lru_cache(maxsize=8)
def _from_params_json(text: str) -> RoutingConfig:
    parsed = parse_payload(ConfigurePayload, json.loads(text), "genesis params.reopening")
    assert isinstance(parsed, ConfigurePayload)
    return RoutingConfig.from_payload(parsed, "genesis")


def from_params(params: Mapping[str, Any] | None) -> RoutingConfig | None:
    """The configuration genesis ``params["reopening"]`` holds (None when absent)."""
    if not params or "reopening" not in params:
        return None
    return _from_params_json(json.dumps(params["reopening"], sort_keys=True, ensure_ascii=False))


def effective(state: StateView, params: Mapping[str, Any] | None) -> RoutingConfig:
    """The rule in force: the newest ``reopening.configure``, else genesis, else the default."""
    stored = state.get(CONFIG_NS, CONFIG_KEY)
    if stored is not None:
        return RoutingConfig.from_state(stored)
    return from_params(params) or DEFAULT
