"""HTTP routes of the reopening domain."""

from __future__ import annotations

from fastapi import APIRouter

from api.runtime import NodeRuntime
from ledger.domains.reopening.http import build_router


def router(runtime: NodeRuntime) -> APIRouter:
    return build_router(runtime)
