"""The reopening domain's rules: what each transaction type checks and what it writes
(namespaces and records: ``state.py``), and which routing rule is in force.

The routing rule in force is the newest ``reopening.configure``, else genesis
``params["reopening"]`` (``TxContext.params``, the same shape as the configure payload),
else the default (``state.DEFAULT_ROUTING``).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ledger.domains.base import Domain, TxContext, TxType, parse_payload
from ledger.domains.reopening.schemas import (
    REQUIRED_MEASURES,
    AmendPayload,
    ConfigurePayload,
    FilePayload,
    FilingContent,
    InspectPayload,
    ReviewPayload,
    credit_code_problem,
)
from ledger.domains.reopening.state import (
    BY_CODE,
    BY_ENTERPRISE,
    CONFIG_KEY,
    CONFIG_NS,
    CONTENT_FIELDS,
    DECISIONS,
    DEFAULT_ROUTING,
    FILINGS,
    VERSIONS,
    RoutingConfig,
    body_name,
    stored_routing,
)
from ledger.domains.state import Overlay, StateView
from ledger.errors import RuleViolation

CST = dt.timezone(dt.timedelta(hours=8), "CST")


def block_date(time_ms: int) -> dt.date:
    """The calendar date in Guangzhou (UTC+8) of a block time."""
    return dt.datetime.fromtimestamp(time_ms // 1000, CST).date()


# --- the routing rule in force --------------------------------------------------------------


def routing_from_payload(
    p: ConfigurePayload, source: str, tx_id: str | None = None, height: int | None = None
) -> RoutingConfig:
    rules = sorted(((r.min_employees, r.to) for r in p.routing), reverse=True)
    bodies = None
    if p.bodies is not None:
        bodies = {k: tuple(v) for k, v in sorted(p.bodies.items())}
    return RoutingConfig(
        tuple(rules), p.inspection_min_employees, bodies, source, tx_id, height, p.note
    )


@functools.lru_cache(maxsize=8)
def _routing_from_params_json(text: str) -> RoutingConfig:
    parsed = parse_payload(ConfigurePayload, json.loads(text), "genesis params.reopening")
    return routing_from_payload(parsed, "genesis")


def routing_from_params(params: Mapping[str, Any] | None) -> RoutingConfig | None:
    """The configuration genesis ``params["reopening"]`` holds (None when absent); a
    malformed one raises ``RuleViolation`` (``invalid_payload``)."""
    if not params or "reopening" not in params:
        return None
    text = json.dumps(params["reopening"], sort_keys=True, ensure_ascii=False)
    return _routing_from_params_json(text)


def effective_routing(state: StateView, params: Mapping[str, Any] | None) -> RoutingConfig:
    """The rule in force: the newest ``reopening.configure``, else genesis, else the default."""
    return stored_routing(state) or routing_from_params(params) or DEFAULT_ROUTING


# --- filings --------------------------------------------------------------------------------


def check_content(c: FilingContent, time_ms: int) -> None:
    """Rules every version of a filing obeys, beyond the schema."""
    s = c.screening
    problems: list[str] = []
    if s.screened > c.employee_count:
        problems.append(
            f"screening.screened ({s.screened}) is more than employee_count ({c.employee_count})"
        )
    for field in ("travelled_from_risk_areas", "under_observation", "abnormal_temperature"):
        value = getattr(s, field)
        if value > s.screened:
            problems.append(
                f"screening.{field} ({value}) is more than screening.screened ({s.screened})"
            )
    if s.cleared + s.under_observation > s.screened:
        problems.append(
            f"screening.cleared ({s.cleared}) plus screening.under_observation "
            f"({s.under_observation}) is more than screening.screened ({s.screened})"
        )
    if c.returning_staff > s.cleared:
        problems.append(
            f"returning_staff ({c.returning_staff}) is more than screening.cleared "
            f"({s.cleared}): only staff cleared by screening may return"
        )
    if problems:
        raise RuleViolation(
            "the staff health screening does not add up: " + "; ".join(problems),
            code="inconsistent_screening",
            problems=problems,
        )
    missing = [m for m in REQUIRED_MEASURES if m not in c.measures]
    if missing:
        raise RuleViolation(
            f"measures must include {list(REQUIRED_MEASURES)}; missing {missing}",
            code="missing_required_measure",
            missing=missing,
        )
    short: list[str] = []
    if c.returning_staff > 0 and c.supplies.thermometers < 1:
        short.append("at least one thermometer is needed for temperature checks")
    if c.supplies.masks < c.returning_staff:
        short.append(
            f"supplies.masks ({c.supplies.masks}) is fewer than returning_staff "
            f"({c.returning_staff}): at least one mask per returning worker"
        )
    if short:
        raise RuleViolation(
            "supplies are insufficient: " + "; ".join(short),
            code="insufficient_supplies",
            problems=short,
        )
    today = block_date(time_ms)
    if dt.date.fromisoformat(c.planned_date) < today:
        raise RuleViolation(
            f"planned_date {c.planned_date} is before the filing date {today.isoformat()} "
            "(Guangzhou time): choose today or a later date",
            code="planned_date_in_past",
        )


def content_of(payload: FilingContent) -> dict[str, Any]:
    return payload.model_dump(include=set(CONTENT_FIELDS))


def get_filing(state: StateView, filing_id: str) -> dict[str, Any]:
    filing: dict[str, Any] | None = state.get(FILINGS, filing_id)
    if filing is None:
        raise RuleViolation(
            f"no reopening filing {filing_id}: a filing id is the tx id of its reopening.file",
            code="unknown_filing",
            filing_id=filing_id,
        )
    return filing


def _stamp(ctx: TxContext) -> dict[str, Any]:
    return {"tx_id": ctx.tx_id, "height": ctx.height, "time_ms": ctx.time_ms}


class ReopeningDomain(Domain):
    name: ClassVar[str] = "reopening"

    def tx_types(self) -> Sequence[TxType[Any]]:
        return (
            TxType(
                "reopening.file",
                frozenset({"enterprise"}),
                FilePayload,
                self.on_reopening_file,
                "an enterprise files its reopening",
            ),
            TxType(
                "reopening.amend",
                frozenset({"enterprise"}),
                AmendPayload,
                self.on_reopening_amend,
                "the filing enterprise adds a new complete version, linked to the previous one",
            ),
            TxType(
                "reopening.review",
                frozenset({"approver"}),
                ReviewPayload,
                self.on_reopening_review,
                "the routed reviewing body approves, rejects or returns the newest version",
            ),
            TxType(
                "reopening.inspect",
                frozenset({"approver"}),
                InspectPayload,
                self.on_reopening_inspect,
                "an approver of the filing's district records an on-site inspection",
            ),
            TxType(
                "reopening.configure",
                frozenset({"governance"}),
                ConfigurePayload,
                self.on_reopening_configure,
                "governance sets the routing rule and which approvers act for which body",
            ),
        )

    # --- reopening.file -------------------------------------------------------------------

    def on_reopening_file(self, state: Overlay, ctx: TxContext, p: FilePayload) -> None:
        problem = credit_code_problem(p.credit_code)
        if problem is not None:
            raise RuleViolation(
                f"credit_code {p.credit_code!r} {problem}",
                code="invalid_credit_code",
                field="credit_code",
            )
        check_content(p, ctx.time_ms)
        existing = state.get(BY_CODE, p.credit_code)
        if existing is not None:
            old = get_filing(state, existing)
            raise RuleViolation(
                f"credit code {p.credit_code} already has filing {existing} "
                f"({old['status']}, filed by {old['enterprise']}); change it with "
                f"reopening.amend (filing_id {existing}, previous {old['head']})",
                code="already_filed",
                filing_id=existing,
            )
        config = effective_routing(state, ctx.params)
        body = config.body_for(p.employee_count, p.district, p.street)
        version = {
            "filing_id": ctx.tx_id,
            "number": 1,
            "type": "reopening.file",
            "previous": None,
            "submitter": ctx.submitter,
            "reason": None,
            "body": body,
            "content": content_of(p),
            **_stamp(ctx),
        }
        filing = {
            "filing_id": ctx.tx_id,
            "credit_code": p.credit_code,
            "enterprise": ctx.submitter,
            "status": "pending",
            "body": body,
            "head": ctx.tx_id,
            "versions": [ctx.tx_id],
            "reviews": [],
            "inspections": [],
            "inspection_required": None,
            "filed": _stamp(ctx),
            "updated": _stamp(ctx),
            **_summary(p),
        }
        state.put(VERSIONS, ctx.tx_id, version)
        state.put(FILINGS, ctx.tx_id, filing)
        state.put(BY_CODE, p.credit_code, ctx.tx_id)
        mine = state.get(BY_ENTERPRISE, ctx.submitter) or []
        state.put(BY_ENTERPRISE, ctx.submitter, [*mine, ctx.tx_id])

    # --- reopening.amend ------------------------------------------------------------------

    def on_reopening_amend(self, state: Overlay, ctx: TxContext, p: AmendPayload) -> None:
        filing = get_filing(state, p.filing_id)
        if filing["enterprise"] != ctx.submitter:
            raise RuleViolation(
                f"filing {p.filing_id} belongs to {filing['enterprise']}; only the enterprise "
                "that filed it may amend it",
                code="not_your_filing",
            )
        if filing["status"] == "approved":
            raise RuleViolation(
                f"filing {p.filing_id} is approved and can no longer be amended",
                code="already_approved",
            )
        if p.previous != filing["head"]:
            raise RuleViolation(
                f"previous must name the newest version of filing {p.filing_id}, "
                f"which is {filing['head']}; {p.previous} is not",
                code="stale_version",
                head=filing["head"],
            )
        check_content(p, ctx.time_ms)
        content = content_of(p)
        if content == state.get(VERSIONS, filing["head"])["content"]:
            raise RuleViolation(
                "this version is identical to the newest one; amend only to change something",
                code="no_change",
            )
        config = effective_routing(state, ctx.params)
        body = config.body_for(p.employee_count, p.district, p.street)
        version = {
            "filing_id": p.filing_id,
            "number": len(filing["versions"]) + 1,
            "type": "reopening.amend",
            "previous": p.previous,
            "submitter": ctx.submitter,
            "reason": p.reason,
            "body": body,
            "content": content,
            **_stamp(ctx),
        }
        state.put(VERSIONS, ctx.tx_id, version)
        state.put(
            FILINGS,
            p.filing_id,
            {
                **filing,
                **_summary(p),
                "status": "pending",
                "body": body,
                "head": ctx.tx_id,
                "versions": [*filing["versions"], ctx.tx_id],
                "updated": _stamp(ctx),
            },
        )

    # --- reopening.review -----------------------------------------------------------------

    def on_reopening_review(self, state: Overlay, ctx: TxContext, p: ReviewPayload) -> None:
        filing = get_filing(state, p.filing_id)
        if filing["status"] != "pending":
            raise RuleViolation(
                f"filing {p.filing_id} is {filing['status']}; only a pending filing is "
                "reviewed (a returned or rejected one is pending again once amended)",
                code="not_pending",
                status=filing["status"],
            )
        if p.version != filing["head"]:
            raise RuleViolation(
                f"version must be the newest version of filing {p.filing_id}, "
                f"{filing['head']}; {p.version} has been superseded or is not a version",
                code="stale_version",
                head=filing["head"],
            )
        config = effective_routing(state, ctx.params)
        if not config.acts_for(ctx.submitter, filing["body"]):
            raise RuleViolation(
                f"filing {p.filing_id} ({filing['employee_count']} staff) is routed to "
                f"{body_name(filing['body'])} ({filing['body']}); {ctx.submitter} does not act "
                f"for it; who does: {config.reviewers(filing['body'])}",
                code="not_routed_to_you",
                body=filing["body"],
            )
        status = DECISIONS[p.decision]
        review = {
            "approver": ctx.submitter,
            "decision": p.decision,
            "comment": p.comment,
            "version": p.version,
            "body": filing["body"],
            **_stamp(ctx),
        }
        required = filing["inspection_required"]
        if status == "approved":
            required = config.inspection_required(filing["employee_count"])
        state.put(
            FILINGS,
            p.filing_id,
            {
                **filing,
                "status": status,
                "reviews": [*filing["reviews"], review],
                "inspection_required": required,
                "updated": _stamp(ctx),
            },
        )

    # --- reopening.inspect ----------------------------------------------------------------

    def on_reopening_inspect(self, state: Overlay, ctx: TxContext, p: InspectPayload) -> None:
        filing = get_filing(state, p.filing_id)
        if filing["status"] != "approved":
            raise RuleViolation(
                f"filing {p.filing_id} is {filing['status']}; on-site inspections are "
                "recorded for approved filings",
                code="not_approved",
                status=filing["status"],
            )
        config = effective_routing(state, ctx.params)
        if not config.acts_in_district(ctx.submitter, filing["district"]):
            raise RuleViolation(
                f"{ctx.submitter} acts for no body of {filing['district']}, where the "
                f"enterprise of filing {p.filing_id} is",
                code="not_your_district",
            )
        today = block_date(ctx.time_ms)
        if dt.date.fromisoformat(p.inspected_on) > today:
            raise RuleViolation(
                f"inspected_on {p.inspected_on} is after today ({today.isoformat()}, "
                "Guangzhou time): record an inspection once it has taken place",
                code="inspection_date_in_future",
            )
        inspection = {
            "inspector": ctx.submitter,
            "inspected_on": p.inspected_on,
            "result": p.result,
            "findings": p.findings,
            "checked": list(p.checked),
            "report_sm3": p.report_sm3,
            **_stamp(ctx),
        }
        state.put(
            FILINGS,
            p.filing_id,
            {
                **filing,
                "inspections": [*filing["inspections"], inspection],
                "updated": _stamp(ctx),
            },
        )

    # --- reopening.configure --------------------------------------------------------------

    def on_reopening_configure(self, state: Overlay, ctx: TxContext, p: ConfigurePayload) -> None:
        config = routing_from_payload(p, "chain", ctx.tx_id, ctx.height)
        state.put(CONFIG_NS, CONFIG_KEY, config.to_wire())


def _summary(p: FilingContent) -> dict[str, Any]:
    return {
        "name": p.name,
        "district": p.district,
        "street": p.street,
        "employee_count": p.employee_count,
        "planned_date": p.planned_date,
    }


domain = ReopeningDomain()
