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


def _check(value: Any, path: str, depth: int) -> bool:
    """Refuse what C() cannot encode; True when an object key lies outside the BMP (where
    sorting by code point and by UTF-16 code unit, as RFC 8785 sorts, can differ)."""
    if depth > _MAX_DEPTH:
        raise CanonicalizationError(f"{path}: nesting deeper than {_MAX_DEPTH} levels")
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return False
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise CanonicalizationError(
                f"{path}: integer {value} is outside ±(2^53-1); send it as a string"
            )
        return False
    if isinstance(value, float):
        raise CanonicalizationError(
            f"{path}: floating-point number {value!r} is not allowed; "
            'send decimals as strings such as "1250000.00"'
        )
    if isinstance(value, dict):
        astral = False
        for key, item in value.items():
            if not isinstance(key, str):
                raise CanonicalizationError(f"{path}: object key {key!r} is not a string")
            astral = astral or (not key.isascii() and max(key) > "\uffff")
            astral = _check(item, f"{path}.{key}", depth + 1) or astral
        return astral
    if isinstance(value, list | tuple):
        astral = False
        for i, item in enumerate(value):
            astral = _check(item, f"{path}[{i}]", depth + 1) or astral
        return astral
    raise CanonicalizationError(f"{path}: {type(value).__name__} is not a JSON value")


def canonical(value: Any) -> bytes:
    """``C(value)``: the RFC 8785 bytes of a JSON value without floats."""
    astral_keys = _check(value, "$", 0)
    try:
        if not astral_keys:
            # Once floats, unsafe integers and non-string keys are refused, and every key
            # sorts the same by code point as by UTF-16 code unit, the standard encoder
            # writes the RFC 8785 bytes (same escapes, same integers), at a quarter of the
            # cost; tests/test_canonical.py checks it against rfc8785 on generated values.
            text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            return text.encode("utf-8")
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
