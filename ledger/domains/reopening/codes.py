"""Unified social credit codes (统一社会信用代码, GB 32100-2015).

A code has 18 characters from ``0-9A-HJ-NP-RTUWXY`` (no I, O, S, V, Z):

    position 1      registration authority (9 = market regulation, 5 = civil affairs, ...)
    position 2      organisation category (1 = enterprise, ...)
    positions 3-8   administrative division of the registration (440106 = 天河区)
    positions 9-17  organisation code (GB 11714)
    position 18     check character over the first 17

The check character: each of the first 17 characters has the value of its position in the
character set (0-30); with the weights ``1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24,
10, 30, 28`` (3^i mod 31), ``check = 31 - (Σ value·weight mod 31)``, where 31 stands for 0.
"""

from __future__ import annotations

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {c: i for i, c in enumerate(CHARSET)}

# GB 11714-1997 organisation code (positions 9-17 of a credit code); used by the demo to
# make realistic codes, not checked by the ledger (the standard asks only for position 18).
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


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


def org_code_check(first8: str) -> str:
    """The GB 11714-1997 check character of an 8-character organisation code body."""
    if len(first8) != 8 or any(c not in _ORG_CHARS for c in first8):
        raise ValueError("need 8 characters from 0-9 and A-Z")
    total = sum(_ORG_CHARS.index(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def make_credit_code(
    division: str, org_body: str, authority: str = "9", category: str = "1"
) -> str:
    """A valid credit code from its parts (``org_body``: 8 characters; its check is added)."""
    first17 = authority + category + division + org_body + org_code_check(org_body)
    return first17 + check_character(first17)
