"""What every part of the report shares: the outcomes of a step, and times and ids as printed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

PASSED, FAILED, NOT_CHECKED, SKIPPED = "passed", "failed", "not_checked", "skipped"


def times(time_ms: int) -> dict[str, str]:
    """ISO 8601 renderings of a millisecond time: UTC and Beijing (UTC+8)."""
    t = _EPOCH + timedelta(milliseconds=time_ms)
    return {
        "utc": t.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "beijing": t.astimezone(BEIJING).isoformat(timespec="milliseconds"),
    }


def beijing_text(time_ms: int) -> str:
    t = (_EPOCH + timedelta(milliseconds=time_ms)).astimezone(BEIJING)
    return t.strftime("%Y-%m-%d %H:%M:%S")


def short(value: Any, n: int = 12) -> str:
    text = str(value)
    return text if len(text) <= n + 1 else text[:n] + "…"
