"""Queries over the reopening state: pure functions of a state view and the routing rule."""

from __future__ import annotations

from typing import Any

from ledger.domains.reopening.state import (
    BY_ENTERPRISE,
    DISTRICTS,
    FILINGS,
    STATUSES,
    VERSIONS,
    RoutingConfig,
    body_name,
)
from ledger.domains.state import StateView


def inspection_status(filing: dict[str, Any]) -> str:
    """not_applicable (not approved), not_required, due, or the newest inspection's result."""
    if filing["inspections"]:
        result: str = filing["inspections"][-1]["result"]
        return result
    if filing["status"] != "approved":
        return "not_applicable"
    return "due" if filing["inspection_required"] else "not_required"


def summary(filing: dict[str, Any]) -> dict[str, Any]:
    return {
        "filing_id": filing["filing_id"],
        "credit_code": filing["credit_code"],
        "name": filing["name"],
        "enterprise": filing["enterprise"],
        "district": filing["district"],
        "street": filing["street"],
        "employee_count": filing["employee_count"],
        "planned_date": filing["planned_date"],
        "status": filing["status"],
        "body": filing["body"],
        "body_name": body_name(filing["body"]),
        "version_count": len(filing["versions"]),
        "head": filing["head"],
        "filed": filing["filed"],
        "updated": filing["updated"],
        "inspection": inspection_status(filing),
    }


def filing_view(state: StateView, filing_id: str, config: RoutingConfig) -> dict[str, Any] | None:
    filing: dict[str, Any] | None = state.get(FILINGS, filing_id)
    if filing is None:
        return None
    return {
        **summary(filing),
        "reviewers": config.reviewers(filing["body"]),
        "inspection_required": filing["inspection_required"],
        "versions": [state.get(VERSIONS, tx_id) for tx_id in filing["versions"]],
        "reviews": filing["reviews"],
        "inspections": filing["inspections"],
    }


def enterprise_filings(
    state: StateView, member_id: str, config: RoutingConfig
) -> list[dict[str, Any]]:
    out = []
    for filing_id in state.get(BY_ENTERPRISE, member_id) or []:
        view = filing_view(state, filing_id, config)
        if view is not None:
            out.append(view)
    return out


def _order(filing: dict[str, Any]) -> tuple[int, str]:
    return (filing["updated"]["height"], filing["filing_id"])


def queue(state: StateView, approver: str, config: RoutingConfig) -> dict[str, Any]:
    """What waits for ``approver``: reviews routed to a body it acts for, and inspections due
    (or re-inspections after a rectification) in its districts; oldest first."""
    reviews, inspections = [], []
    for _, filing in state.items(FILINGS):
        if filing["status"] == "pending" and config.acts_for(approver, filing["body"]):
            reviews.append(filing)
        elif (
            filing["status"] == "approved"
            and inspection_status(filing) in ("due", "rectification_required")
            and config.acts_in_district(approver, filing["district"])
        ):
            inspections.append(filing)
    return {
        "approver": approver,
        "bodies": list(config.patterns_of(approver)),
        "reviews": [summary(f) for f in sorted(reviews, key=_order)],
        "inspections_due": [summary(f) for f in sorted(inspections, key=_order)],
    }


def stats(state: StateView) -> dict[str, Any]:
    by_status = dict.fromkeys(STATUSES, 0)
    by_district = {d: {"total": 0, **dict.fromkeys(STATUSES, 0)} for d in DISTRICTS}
    inspections: dict[str, int] = {}
    total = 0
    for _, filing in state.items(FILINGS):
        total += 1
        by_status[filing["status"]] += 1
        row = by_district[filing["district"]]
        row["total"] += 1
        row[filing["status"]] += 1
        status = inspection_status(filing)
        inspections[status] = inspections.get(status, 0) + 1
    return {
        "total": total,
        "by_status": by_status,
        "by_district": by_district,
        "inspection": dict(sorted(inspections.items())),
    }


def list_filings(
    state: StateView, *, district: str | None, status: str | None, limit: int, offset: int
) -> dict[str, Any]:
    chosen = [
        f
        for _, f in state.items(FILINGS)
        if (district is None or f["district"] == district)
        and (status is None or f["status"] == status)
    ]
    chosen.sort(key=lambda f: (f["filed"]["height"], f["filing_id"]))
    return {
        "total": len(chosen),
        "offset": offset,
        "limit": limit,
        "filings": [summary(f) for f in chosen[offset : offset + limit]],
    }
