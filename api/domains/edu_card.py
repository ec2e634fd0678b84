"""HTTP routes of the edu_card domain."""

from __future__ import annotations

from fastapi import APIRouter

from api.runtime import NodeRuntime
from ledger.domains.edu_card.rules import _router


def router(runtime: NodeRuntime) -> APIRouter:
    return _router()
