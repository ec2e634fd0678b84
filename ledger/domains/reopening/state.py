"""The reopening domain's state: its namespaces and records, the reviewing bodies the records
name, and the routing rule as it is stored. Plain data and pure readers, no pydantic.

State (namespaced, derived from the chain only):

    reopening.filings         filing id (tx id of its reopening.file) -> the filing
    reopening.versions        version tx id -> one complete version of the filing
    reopening.by_code         credit code -> filing id (one filing per enterprise code)
    reopening.by_enterprise   member id -> [filing ids] (the member that filed them)
    reopening.config          "current" -> the routing rule set by reopening.configure

A filing is reviewed either by the office of its street (街道办事处, or the town government
of a 镇) or by its district's industry department (区工业和信息化局). Bodies are named by keys:

    street_office:<district>:<street>      e.g. street_office:天河区:石牌街道
    district_department:<district>          e.g. district_department:天河区

and an approver acts for a list of key patterns, where ``street_office:<district>:*`` stands
for every street office of the district.

The routing rule in force is, in this order of precedence: the newest ``reopening.configure``
(stored here), genesis ``params["reopening"]``, the default :data:`DEFAULT_ROUTING` (500 staff
or more -> the district industry department, fewer -> the street office; firms above 20 staff
are inspected on site; approvers act for bodies by the naming rule of
:func:`conventional_bodies`). ``rules.effective_routing`` applies that precedence. A filing is
routed when it is filed or amended (the body is recorded with the version); who acts for a
body is looked up when the review or inspection is made, so a reassignment of an approver
applies to filings already waiting.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ledger.domains.state import StateView

FILINGS = "reopening.filings"
VERSIONS = "reopening.versions"
BY_CODE = "reopening.by_code"
BY_ENTERPRISE = "reopening.by_enterprise"
CONFIG_NS = "reopening.config"
CONFIG_KEY = "current"

STATUSES = ("pending", "returned", "approved", "rejected")
DECISIONS = {"approve": "approved", "reject": "rejected", "return": "returned"}

# A version's ``content``: the fields of ``schemas.FilingContent``, with the values the
# optional ones take when a payload leaves them out.
CONTENT_FIELDS = frozenset(
    {
        "name",
        "district",
        "street",
        "planned_date",
        "employee_count",
        "returning_staff",
        "screening",
        "measures",
        "plan_summary",
        "plan_sm3",
        "supplies",
        "contact_commitment",
    }
)
CONTENT_DEFAULTS: Mapping[str, Any] = {
    "plan_summary": "",
    "plan_sm3": None,
    "contact_commitment": None,
}


# --- districts and reviewing bodies ---------------------------------------------------------

# name -> (pinyin used in member ids, administrative division code)
DISTRICTS: dict[str, tuple[str, str]] = {
    "荔湾区": ("liwan", "440103"),
    "越秀区": ("yuexiu", "440104"),
    "海珠区": ("haizhu", "440105"),
    "天河区": ("tianhe", "440106"),
    "白云区": ("baiyun", "440111"),
    "黄埔区": ("huangpu", "440112"),
    "番禺区": ("panyu", "440113"),
    "花都区": ("huadu", "440114"),
    "南沙区": ("nansha", "440115"),
    "从化区": ("conghua", "440117"),
    "增城区": ("zengcheng", "440118"),
}
DISTRICT_BY_PINYIN = {pinyin: name for name, (pinyin, _) in DISTRICTS.items()}

STREET_OFFICE = "street_office"
DISTRICT_DEPARTMENT = "district_department"

STREET_RE = r"[\u4e00-\u9fff]{1,15}(?:街道|镇)"
_DISTRICT_ALT = "|".join(DISTRICTS)
STREET_PATTERN = f"^{STREET_RE}$"
BODY_PATTERN = (
    f"^(?:{STREET_OFFICE}:(?:{_DISTRICT_ALT}):(?:{STREET_RE}|\\*)"
    f"|{DISTRICT_DEPARTMENT}:(?:{_DISTRICT_ALT}))$"
)


def body_key(kind: str, district: str, street: str) -> str:
    if kind == STREET_OFFICE:
        return f"{STREET_OFFICE}:{district}:{street}"
    return f"{DISTRICT_DEPARTMENT}:{district}"


def body_district(key: str) -> str:
    return key.split(":")[1]


def body_name(key: str) -> str:
    """The body's name as people know it (天河区石牌街道办事处, 天河区工业和信息化局)."""
    parts = key.split(":")
    if parts[0] == DISTRICT_DEPARTMENT:
        return f"{parts[1]}工业和信息化局"
    street = parts[2]
    if street == "*":
        return f"{parts[1]}各街道办事处（镇政府）"
    return f"{parts[1]}{street}{'人民政府' if street.endswith('镇') else '办事处'}"


def body_matches(pattern: str, key: str) -> bool:
    if pattern == key:
        return True
    return pattern.endswith(":*") and key.startswith(pattern[:-1]) and key.count(":") == 2


def conventional_bodies(member_id: str) -> tuple[str, ...]:
    """The default approver→body mapping: ``<district>-street-office`` acts for every street
    office of the district, ``<district>-industry-dept`` for its industry department
    (``tianhe-street-office``, ``haizhu-industry-dept``)."""
    for suffix, kind in (
        ("-street-office", STREET_OFFICE),
        ("-industry-dept", DISTRICT_DEPARTMENT),
    ):
        if member_id.endswith(suffix):
            district = DISTRICT_BY_PINYIN.get(member_id.removesuffix(suffix))
            if district is not None:
                return (body_key(kind, district, "*"),)
    return ()


def conventional_reviewer(key: str) -> str:
    kind, district = key.split(":")[:2]
    pinyin = DISTRICTS[district][0]
    return f"{pinyin}-street-office" if kind == STREET_OFFICE else f"{pinyin}-industry-dept"


# --- the routing rule -----------------------------------------------------------------------


@dataclass(frozen=True)
class RoutingConfig:
    """Which body reviews a filing, and which approvers act for which body."""

    routing: tuple[tuple[int, str], ...]  # (min_employees, body kind), highest first
    inspection_min_employees: int
    bodies: Mapping[str, tuple[str, ...]] | None  # None: the naming rule
    source: str  # "default" | "genesis" | "chain"
    tx_id: str | None = None
    height: int | None = None
    note: str = ""

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


DEFAULT_ROUTING = RoutingConfig(
    routing=((500, DISTRICT_DEPARTMENT), (1, STREET_OFFICE)),
    inspection_min_employees=21,
    bodies=None,
    source="default",
    note="≥500 staff: district industry department; fewer: street office; >20 staff inspected",
)


def stored_routing(state: StateView) -> RoutingConfig | None:
    """The routing rule the newest ``reopening.configure`` set (None: none on chain)."""
    stored = state.get(CONFIG_NS, CONFIG_KEY)
    return None if stored is None else RoutingConfig.from_state(stored)
