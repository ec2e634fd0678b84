"""Canonical bytes ``C(v)``: RFC 8785 (JCS), with floats refused (spec section 1).

This module and ``ledger.crypto`` are the one place that defines which bytes are hashed
and signed.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from ledger.errors import CanonicalizationError, MalformedData

MAX_SAFE_INTEGER = 2**53 - 1
_MAX_DEPTH = 64


class _Refused(Exception):
    """Raised inside ``_check``; the path to the value is filled in as it unwinds, so a
    value that passes costs no path formatting."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        self.parts: list[str] = []

    def error(self) -> CanonicalizationError:
        return CanonicalizationError("$" + "".join(reversed(self.parts)) + ": " + self.problem)


def _check(value: Any, depth: int) -> bool:
    """Refuse what C() cannot encode; True when an object key lies outside the BMP (where
    sorting by code point and by UTF-16 code unit, as RFC 8785 sorts, can differ)."""
    if depth > _MAX_DEPTH:
        raise _Refused(f"nesting deeper than {_MAX_DEPTH} levels")
    if isinstance(value, str | bool) or value is None:
        return False
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise _Refused(f"integer {value} is outside ±(2^53-1); send it as a string")
        return False
    if isinstance(value, float):
        raise _Refused(
            f"floating-point number {value!r} is not allowed; "
            'send decimals as strings such as "1250000.00"'
        )
    children: Any
    is_object = isinstance(value, dict)
    if is_object:
        children, step = value.items(), ".{}"
    elif isinstance(value, list | tuple):
        children, step = enumerate(value), "[{}]"
    else:
        raise _Refused(f"{type(value).__name__} is not a JSON value")
    astral = False
    for key, item in children:
        if is_object:
            if not isinstance(key, str):
                raise _Refused(f"object key {key!r} is not a string")
            if not key.isascii() and max(key) > "\uffff":
                astral = True
        try:
            if _check(item, depth + 1):
                astral = True
        except _Refused as refused:
            refused.parts.append(step.format(key))
            raise
    return astral


# sort_keys and no spaces: with the checks above, exactly the RFC 8785 bytes (see canonical)
_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical(value: Any) -> bytes:
    """``C(value)``: the RFC 8785 bytes of a JSON value without floats."""
    try:
        astral_keys = _check(value, 0)
    except _Refused as refused:
        raise refused.error() from None
    try:
        if not astral_keys:
            # Once floats, unsafe integers and non-string keys are refused, and every key
            # sorts the same by code point as by UTF-16 code unit, the standard encoder
            # writes the RFC 8785 bytes (same escapes, same integers), at a quarter of the
            # cost; tests/test_canonical.py checks it against rfc8785 on generated values.
            return _ENCODER.encode(value).encode("utf-8")
        return rfc8785.dumps(value)
    except rfc8785.CanonicalizationError as exc:
        raise CanonicalizationError(str(exc)) from exc
    except UnicodeError as exc:
        raise CanonicalizationError(f"a string is not valid Unicode: {exc}") from exc


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise MalformedData(f"duplicate object key {key!r}")
        obj[key] = value
    return obj


def _refuse_constant(name: str) -> Any:
    raise CanonicalizationError(f"{name} is not a JSON number")


def _refuse_float(text: str) -> Any:
    raise CanonicalizationError(
        f"floating-point number {text} is not allowed; send decimals as strings"
    )


def parse_json(data: bytes | str) -> Any:
    """Parse JSON strictly: no duplicate keys, no floats, no NaN/Infinity."""
    try:
        return json.loads(
            data,
            object_pairs_hook=_no_duplicates,
            parse_constant=_refuse_constant,
            parse_float=_refuse_float,
        )
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedData(f"not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise MalformedData("JSON nested too deeply") from exc
    except ValueError as exc:  # e.g. an integer literal of thousands of digits
        raise MalformedData(f"not valid JSON: {exc}") from exc
