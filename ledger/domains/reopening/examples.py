"""Valid example payloads, for tests, docs and other domains' tests that need a filing.

``file_payload()`` gives a complete, valid ``reopening.file`` payload with a fresh unified
social credit code (one filing per code), planned for tomorrow (Guangzhou time).
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from ledger.domains.reopening.codes import CHARSET, make_credit_code
from ledger.domains.reopening.places import DISTRICTS


def fresh_credit_code(district: str = "天河区") -> str:
    """A valid credit code, random in its organisation code part."""
    body = "MA5" + "".join(secrets.choice(CHARSET) for _ in range(5))
    return make_credit_code(DISTRICTS[district][1], body)


def tomorrow() -> str:
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
    return (now.date() + dt.timedelta(days=1)).isoformat()


def content(
    *,
    name: str = "广州穗华精密制造有限公司",
    district: str = "天河区",
    street: str = "石牌街道",
    employees: int = 120,
    planned_date: str | None = None,
) -> dict[str, Any]:
    observation = employees // 60
    cleared = employees - observation
    return {
        "name": name,
        "district": district,
        "street": street,
        "planned_date": planned_date or tomorrow(),
        "employee_count": employees,
        "returning_staff": cleared,
        "screening": {
            "screened": employees,
            "travelled_from_risk_areas": employees // 40,
            "under_observation": observation,
            "abnormal_temperature": 0,
            "cleared": cleared,
        },
        "measures": ["temperature_checks", "masks", "disinfection", "staggered_shifts"],
        "plan_summary": "每日两次体温检测，厂区每日消毒，食堂错峰就餐，设临时隔离观察室。",
        "plan_sm3": "5d1f0a3c" * 8,
        "supplies": {
            "masks": cleared * 20,
            "thermometers": max(1, employees // 50),
            "disinfectant_litres": max(5, employees // 5),
            "hand_sanitizer_bottles": max(4, employees // 10),
            "days_covered": 14,
        },
    }


def file_payload(*, credit_code: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """A valid ``reopening.file`` payload (keyword arguments as for :func:`content`)."""
    district = kwargs.get("district", "天河区")
    return {**content(**kwargs), "credit_code": credit_code or fresh_credit_code(district)}
