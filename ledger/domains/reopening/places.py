"""Guangzhou's districts and the bodies that review reopening filings.

A filing is reviewed either by the office of its street (街道办事处, or the town government
of a 镇) or by its district's industry department (区工业和信息化局). Bodies are named by keys:

    street_office:<district>:<street>      e.g. street_office:天河区:石牌街道
    district_department:<district>          e.g. district_department:天河区

and an approver acts for a list of key patterns, where ``street_office:<district>:*`` stands
for every street office of the district.
"""

from __future__ import annotations

import re

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
BODY_KINDS = (STREET_OFFICE, DISTRICT_DEPARTMENT)

STREET_RE = r"[\u4e00-\u9fff]{1,15}(?:街道|镇)"
_DISTRICT_ALT = "|".join(DISTRICTS)
STREET_PATTERN = f"^{STREET_RE}$"
BODY_PATTERN = (
    f"^(?:{STREET_OFFICE}:(?:{_DISTRICT_ALT}):(?:{STREET_RE}|\\*)"
    f"|{DISTRICT_DEPARTMENT}:(?:{_DISTRICT_ALT}))$"
)
_BODY = re.compile(BODY_PATTERN)


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


def is_body_pattern(value: str) -> bool:
    return _BODY.fullmatch(value) is not None


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
