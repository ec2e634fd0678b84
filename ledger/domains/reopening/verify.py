"""Verification of a filing: every step checked, with its outcome in words.

Works from the filing's state and the receipts of its transactions; the receipts are checked
with ``ledger.verify.verify_receipt`` against the trusted genesis, the version chain and the
current status are recomputed from the signed transactions inside the receipts, so a state
that disagrees with what was signed shows up as a failed step.

Plain code over the wire JSON; needs only the crypto dependencies. A payload is not checked
against its schema here: a receipt that verifies puts its transaction in a block the
validators certified, and a block holds only transactions that passed the domain's rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from ledger.domains.reopening.state import CONTENT_DEFAULTS, CONTENT_FIELDS, DECISIONS, body_name
from ledger.errors import LedgerError
from ledger.model import Genesis
from ledger.verify import verify_receipt


def _step(step: str, ok: bool, detail: str) -> dict[str, str]:
    return {"step": step, "outcome": "passed" if ok else "failed", "detail": detail}


def _time(ms: int) -> str:
    when = dt.datetime.fromtimestamp(ms // 1000, dt.timezone(dt.timedelta(hours=8)))
    return when.strftime("%Y-%m-%d %H:%M:%S") + " (Guangzhou time)"


def signed_content(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The content a signed ``reopening.file`` or ``reopening.amend`` payload gives a version:
    its content fields, the optional ones left out taking their defaults."""
    return {
        **CONTENT_DEFAULTS,
        **{k: v for k, v in payload.items() if k in CONTENT_FIELDS},
    }


def check_filing(
    filing: Mapping[str, Any],
    versions: list[Mapping[str, Any]],
    receipts: Mapping[str, Any],
    genesis: Genesis,
) -> list[dict[str, str]]:
    """``receipts`` maps each tx id of the filing to its receipt or the error fetching it."""
    steps = [
        _step(
            "filing_found",
            True,
            f"Filing {filing['filing_id']} of {filing['name']} (credit code "
            f"{filing['credit_code']}) is on the ledger with {len(versions)} version(s), "
            f"{len(filing['reviews'])} review(s) and {len(filing['inspections'])} "
            "inspection(s).",
        )
    ]
    envelopes: dict[str, tuple[Mapping[str, Any], int, int]] = {}

    def receipt_step(step: str, what: str, tx_id: str, tx_type: str) -> bool:
        receipt = receipts.get(tx_id)
        if not isinstance(receipt, Mapping):
            reason = receipt.message if isinstance(receipt, LedgerError) else "it is missing"
            steps.append(_step(step, False, f"{what} has no receipt: {reason}."))
            return False
        try:
            verified = verify_receipt(receipt, genesis)
        except LedgerError as exc:
            steps.append(_step(step, False, f"The receipt of {what} does not verify: {exc}."))
            return False
        env = verified.transaction.envelope
        if verified.tx_id != tx_id or env.type != tx_type:
            steps.append(
                _step(
                    step,
                    False,
                    f"The receipt offered for {what} is for another transaction "
                    f"({verified.tx_id}, {env.type}).",
                )
            )
            return False
        envelopes[tx_id] = (env.to_wire(), verified.header.height, verified.index)
        steps.append(
            _step(
                step,
                True,
                f"{what} ({tx_type}) was signed by {env.submitter} and is in block "
                f"{verified.header.height}, whose validators' certificate checks against the "
                "trusted genesis.",
            )
        )
        return True

    # each version: its receipt, and the recorded content equals what was signed
    for version in versions:
        n, tx_id = version["number"], version["tx_id"]
        what = f"Version {n}"
        if not receipt_step(f"version_{n}_receipt", what, tx_id, version["type"]):
            continue
        same = signed_content(envelopes[tx_id][0]["payload"]) == version["content"]
        steps.append(
            _step(
                f"version_{n}_content",
                same,
                f"The content recorded for version {n} is exactly what the enterprise signed."
                if same
                else f"The content recorded for version {n} differs from the signed "
                "transaction: the ledger's state is not what was filed.",
            )
        )

    # the chain of versions, from the signed transactions
    chain_ok, problem = True, ""
    for i, version in enumerate(versions):
        signed = envelopes.get(version["tx_id"])
        if signed is None:
            chain_ok, problem = False, f"version {i + 1} could not be checked"
            break
        env = signed[0]
        if env["submitter"] != filing["enterprise"]:
            chain_ok, problem = False, f"version {i + 1} was signed by {env['submitter']}"
            break
        if i == 0:
            if version["tx_id"] != filing["filing_id"] or env["type"] != "reopening.file":
                chain_ok, problem = False, "version 1 is not the filing's reopening.file"
                break
            continue
        previous = versions[i - 1]["tx_id"]
        if (
            env["type"] != "reopening.amend"
            or env["payload"].get("filing_id") != filing["filing_id"]
            or env["payload"].get("previous") != previous
        ):
            chain_ok, problem = False, f"version {i + 1} does not name version {i} as previous"
            break
        if signed[1:] <= envelopes[previous][1:]:
            chain_ok, problem = False, f"version {i + 1} is not later than version {i}"
            break
    steps.append(
        _step(
            "version_chain",
            chain_ok,
            f"The {len(versions)} version(s) form one unbroken chain: version 1 is the "
            f"filing, each amendment names the version before it, all signed by "
            f"{filing['enterprise']}; nothing was overwritten."
            if chain_ok
            else f"The version chain is broken: {problem}.",
        )
    )

    # decisions and inspections
    for j, review in enumerate(filing["reviews"], 1):
        what = f"Review {j} ({review['decision']} by {review['approver']})"
        if receipt_step(f"review_{j}_receipt", what, review["tx_id"], "reopening.review"):
            p = envelopes[review["tx_id"]][0]["payload"]
            if (p.get("filing_id"), p.get("decision"), p.get("version")) != (
                filing["filing_id"],
                review["decision"],
                review["version"],
            ):
                steps[-1] = _step(
                    f"review_{j}_receipt",
                    False,
                    f"{what}: the signed review says something else than the record.",
                )
    for k, inspection in enumerate(filing["inspections"], 1):
        what = f"Inspection {k} ({inspection['result']} on {inspection['inspected_on']})"
        if receipt_step(f"inspection_{k}_receipt", what, inspection["tx_id"], "reopening.inspect"):
            p = envelopes[inspection["tx_id"]][0]["payload"]
            if (p.get("filing_id"), p.get("result")) != (filing["filing_id"], inspection["result"]):
                steps[-1] = _step(
                    f"inspection_{k}_receipt",
                    False,
                    f"{what}: the signed inspection says something else than the record.",
                )

    # the status, recomputed from the signed versions and reviews in chain order
    events = sorted(
        (height, index, env["type"], env["payload"])
        for env, height, index in envelopes.values()
        if env["type"] in ("reopening.file", "reopening.amend", "reopening.review")
    )
    status = None
    for _, _, tx_type, payload in events:
        status = DECISIONS[payload["decision"]] if tx_type == "reopening.review" else "pending"
    ok = status == filing["status"]
    if not ok:
        detail = (
            f"The record says {filing['status']}, but the signed transactions give "
            f"{status or 'no status'}."
        )
    elif status == "pending":
        detail = (
            f"The filing is pending: version {len(versions)} waits for review by "
            f"{body_name(filing['body'])}."
        )
    else:
        last = filing["reviews"][-1]
        detail = (
            f"The filing is {status}: decided by {last['approver']} for "
            f"{body_name(last['body'])} on {_time(last['time_ms'])}, comment: "
            f"{last['comment']!r}."
        )
    steps.append(_step("current_status", ok, detail))
    return steps
