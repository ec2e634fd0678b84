"""The record domains' HTTP routes, one module per domain, registered from one list."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter

from api.domains import bidding, edu_card, evidence, reopening
from api.runtime import NodeRuntime

ROUTERS: tuple[Callable[[NodeRuntime], APIRouter], ...] = (
    reopening.router,
    bidding.router,
    edu_card.router,
    evidence.router,
)
