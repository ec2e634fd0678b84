"""Payload schemas of the reopening transaction types (version 1), and what makes a unified
social credit code valid.

Strict types, unknown fields refused, no floats. Personal data never appears: the staff
health screening is a summary in counts, and a contact person is at most a salted SM3
commitment whose plain value the enterprise keeps. A filing's credit code is checked by the
rules (``invalid_credit_code``), with :func:`credit_code_problem` below.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from ledger.domains.base import Payload
from ledger.domains.reopening.state import BODY_PATTERN, STREET_PATTERN
from ledger.model import ID_PATTERN

MEASURES: dict[str, str] = {
    "temperature_checks": "体温检测",
    "masks": "佩戴口罩",
    "disinfection": "场所消毒",
    "ventilation": "通风换气",
    "staggered_shifts": "错峰上下班",
    "separate_dining": "分餐错峰就餐",
    "isolation_room": "临时隔离观察室",
    "health_log": "员工健康台账（企业自存）",
    "visitor_registration": "来访登记",
    "emergency_plan": "应急处置预案",
    "remote_work": "远程办公",
}
REQUIRED_MEASURES = ("temperature_checks", "masks", "disinfection")
INSPECTION_RESULTS = ("passed", "rectification_required", "failed")


def _date(value: str) -> str:
    try:
        parsed = dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError("not a calendar date (YYYY-MM-DD)") from None
    if not 2000 <= parsed.year <= 2100:
        raise ValueError("year must lie between 2000 and 2100")
    return value


def _distinct(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("list each item once")
    return values


def _not_blank(value: str) -> str:
    if value and not value.strip():
        raise ValueError("must not be blank")
    if any(ord(c) < 32 and c not in "\n\t" for c in value):
        raise ValueError("must not hold control characters")
    return value


Hex64 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
IsoDate = Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$"), AfterValidator(_date)]
Count = Annotated[int, Field(ge=0, le=1_000_000)]
Stock = Annotated[int, Field(ge=0, le=100_000_000)]
MemberId = Annotated[str, StringConstraints(pattern=f"^{ID_PATTERN.pattern}$")]
BodyPattern = Annotated[str, StringConstraints(pattern=BODY_PATTERN)]
Name = Annotated[str, StringConstraints(min_length=2, max_length=100), AfterValidator(_not_blank)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=500), AfterValidator(_not_blank)]
Comment = Annotated[
    str, StringConstraints(min_length=1, max_length=1000), AfterValidator(_not_blank)
]
LongText = Annotated[
    str, StringConstraints(min_length=1, max_length=2000), AfterValidator(_not_blank)
]
OptionalText = Annotated[str, StringConstraints(max_length=2000), AfterValidator(_not_blank)]
Street = Annotated[str, StringConstraints(pattern=STREET_PATTERN)]
District = Literal[
    "荔湾区",
    "越秀区",
    "海珠区",
    "天河区",
    "白云区",
    "黄埔区",
    "番禺区",
    "花都区",
    "南沙区",
    "从化区",
    "增城区",
]
Measure = Literal[
    "temperature_checks",
    "masks",
    "disinfection",
    "ventilation",
    "staggered_shifts",
    "separate_dining",
    "isolation_room",
    "health_log",
    "visitor_registration",
    "emergency_plan",
    "remote_work",
]
Measures = Annotated[list[Measure], Field(max_length=len(MEASURES)), AfterValidator(_distinct)]


class Screening(Payload):
    """Staff health screening summary: counts only, never a roster."""

    screened: Count = Field(description="staff screened for travel and health")
    travelled_from_risk_areas: Count = Field(description="screened staff back from risk areas")
    under_observation: Count = Field(description="in home or central medical observation")
    abnormal_temperature: Count = Field(description="with abnormal temperature at screening")
    cleared: Count = Field(description="cleared to return to work")


class Supplies(Payload):
    masks: Stock
    thermometers: Stock
    disinfectant_litres: Stock
    hand_sanitizer_bottles: Stock
    days_covered: Annotated[int, Field(ge=0, le=366)] = Field(
        description="days of operation the stock covers"
    )


class FilingContent(Payload):
    """What every version of a filing holds (a version is complete, never a diff)."""

    name: Name
    district: District
    street: Street
    planned_date: IsoDate
    employee_count: Annotated[int, Field(ge=1, le=1_000_000)]
    returning_staff: Count = Field(description="staff returning on the planned date")
    screening: Screening
    measures: Annotated[Measures, Field(min_length=1)]
    plan_summary: OptionalText = ""
    plan_sm3: Hex64 | None = Field(None, description="SM3 of the prevention plan document")
    supplies: Supplies
    contact_commitment: Hex64 | None = Field(
        None, description="salted SM3 commitment to the contact person; plain value off chain"
    )


class FilePayload(FilingContent):
    v: Literal[1] = 1
    credit_code: Annotated[str, StringConstraints(min_length=1, max_length=36)] = Field(
        description="unified social credit code (GB 32100-2015), checked by the ledger"
    )


class AmendPayload(FilingContent):
    v: Literal[1] = 1
    filing_id: Hex64
    previous: Hex64 = Field(description="tx id of the version this one replaces (the newest)")
    reason: Reason


class ReviewPayload(Payload):
    v: Literal[1] = 1
    filing_id: Hex64
    version: Hex64 = Field(description="tx id of the version reviewed (must be the newest)")
    decision: Literal["approve", "reject", "return"]
    comment: Comment


class InspectPayload(Payload):
    v: Literal[1] = 1
    filing_id: Hex64
    inspected_on: IsoDate
    result: Literal["passed", "rectification_required", "failed"]
    findings: LongText
    checked: Measures = Field(default_factory=list, description="measures checked on site")
    report_sm3: Hex64 | None = Field(None, description="SM3 of the report and photos, off chain")


class RoutingRule(Payload):
    min_employees: Annotated[int, Field(ge=1, le=1_000_000)]
    to: Literal["street_office", "district_department"]


BodyMap = Annotated[
    dict[MemberId, Annotated[list[BodyPattern], Field(min_length=1, max_length=300)]],
    Field(max_length=1000),
]


class ConfigurePayload(Payload):
    """The routing rule in force; the same shape as genesis ``params["reopening"]``."""

    v: Literal[1] = 1
    routing: Annotated[list[RoutingRule], Field(min_length=1, max_length=10)]
    inspection_min_employees: Annotated[int, Field(ge=1, le=1_000_000)] = 21
    bodies: BodyMap | None = Field(
        None, description="approver member id -> body keys; absent: the naming rule"
    )
    note: Annotated[str, StringConstraints(max_length=500)] = ""

    @model_validator(mode="after")
    def _routing_covers_everyone(self) -> ConfigurePayload:
        thresholds = [r.min_employees for r in self.routing]
        if len(set(thresholds)) != len(thresholds):
            raise ValueError("routing: each min_employees threshold appears once")
        if min(thresholds) != 1:
            raise ValueError("routing: one rule must start at min_employees 1 (every firm)")
        return self


# --- unified social credit codes (统一社会信用代码, GB 32100-2015) ----------------------------
#
# A code has 18 characters from ``0-9A-HJ-NP-RTUWXY`` (no I, O, S, V, Z):
#
#     position 1      registration authority (9 = market regulation, 5 = civil affairs, ...)
#     position 2      organisation category (1 = enterprise, ...)
#     positions 3-8   administrative division of the registration (440106 = 天河区)
#     positions 9-17  organisation code (GB 11714)
#     position 18     check character over the first 17
#
# The check character: each of the first 17 characters has the value of its position in the
# character set (0-30); with the weights ``1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24,
# 10, 30, 28`` (3^i mod 31), ``check = 31 - (Σ value·weight mod 31)``, where 31 stands for 0.

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {c: i for i, c in enumerate(CHARSET)}


def check_character(first17: str) -> str:
    """The GB 32100-2015 check character of the first 17 characters of a credit code."""
    if len(first17) != 17 or any(c not in _VALUE for c in first17):
        raise ValueError("need the first 17 characters of a credit code")
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """None for a valid code; otherwise a sentence saying what is wrong with it."""
    if len(code) != 18:
        return f"has {len(code)} characters; a unified social credit code has 18"
    for position, c in enumerate(code, 1):
        if c not in _VALUE:
            if c.upper() in _VALUE:
                hint = "letters are upper case"
            elif c.upper() in "IOSVZ":
                hint = "the letters I, O, S, V and Z are never used"
            else:
                hint = "only 0-9 and A-H, J-N, P-R, T, U, W, X, Y are used"
            return f"character {position} ({c!r}) is not allowed: {hint}"
    expected = check_character(code[:17])
    if code[17] != expected:
        return (
            f"check character is {code[17]!r} but the first 17 characters give {expected!r} "
            "(GB 32100-2015): the code has a typo"
        )
    return None


def is_valid_credit_code(code: str) -> bool:
    return credit_code_problem(code) is None
