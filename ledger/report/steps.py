"""Verification steps in plain words: the receipt checks of spec section 6, and the evidence
domain's court verification as the five steps a person sees."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ledger.errors import InvalidInput, VerificationError
from ledger.model import Genesis
from ledger.report import texts
from ledger.report.common import FAILED, NOT_CHECKED, PASSED, SKIPPED, short
from ledger.report.texts import EVIDENCE_STEPS, NOT_CHECKED_TEXT, RECEIPT_STEPS
from ledger.verify import verify_receipt


def _facts(receipt: Any) -> dict[str, Any]:
    """What the sentences name, read defensively from a receipt that may be malformed."""

    def get(*path: str) -> Any:
        value = receipt
        for key in path:
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        return value

    signatures = get("commit", "signatures")
    signers = (
        ", ".join(str(s.get("validator")) for s in signatures if isinstance(s, Mapping))
        if isinstance(signatures, list)
        else ""
    )
    history = get("validator_history")
    return {
        "chain_id": get("chain_id"),
        "tx_id": get("tx_id"),
        "submitter": get("transaction", "envelope", "submitter"),
        "type": get("transaction", "envelope", "type"),
        "height": get("header", "height"),
        "index": get("index"),
        "block_time": get("header", "timestamp"),
        "signers": signers,
        "handovers": len(history) if isinstance(history, list) else 0,
    }


def check_receipt(receipt: Any, genesis: Genesis) -> dict[str, Any]:
    """Every step of spec section 6 with its outcome and a plain sentence (en, zh).

    ``valid`` is true when every step passed; ``failed_step`` names the failing check as
    :class:`ledger.errors.VerificationError` does (``"2 signature"``), with ``error``."""
    error: VerificationError | None = None
    try:
        verify_receipt(receipt, genesis)
    except VerificationError as exc:
        error = exc
    except (InvalidInput, ValueError) as exc:
        error = VerificationError("0 shape", str(exc), code="malformed_receipt")
    failing = int(error.step.split(" ", 1)[0]) if error is not None else None
    facts = _facts(receipt)
    steps: list[dict[str, Any]] = []
    for number, name, en, zh in RECEIPT_STEPS:
        if failing is None or number < failing:
            outcome = PASSED
        elif number == failing:
            outcome = FAILED
        else:
            outcome = NOT_CHECKED
        item: dict[str, Any] = {
            "step": f"{number} {name}",
            "number": number,
            "outcome": outcome,
            "title": {"en": en, "zh": zh},
            "text": texts.receipt_text(number, outcome, facts),
        }
        if outcome == FAILED and error is not None:
            item["check"] = error.step
            item["detail"] = error.message.removeprefix(f"{error.step}: ")
            if error.expected is not None:
                item["expected"] = error.expected
            if error.found is not None:
                item["found"] = error.found
        steps.append(item)
    result: dict[str, Any] = {
        "valid": error is None,
        "tx_id": facts["tx_id"] if isinstance(facts["tx_id"], str) else None,
        "chain_id": genesis.chain_id,
        "genesis_hash": genesis.hash,
        "steps": steps,
        "failed_step": error.step if error is not None else None,
        "error": error.to_dict() if error is not None else None,
    }
    if error is None:
        result["transaction"] = {
            k: facts[k] for k in ("type", "submitter", "height", "index", "block_time", "signers")
        }
    return result


# --- the evidence court verification as five steps ---------------------------------------------


def _ev_step(name: str, outcome: str, text: dict[str, str], **extra: Any) -> dict[str, Any]:
    title = next({"en": en, "zh": zh} for key, en, zh in EVIDENCE_STEPS if key == name)
    return {"step": name, "outcome": outcome, "title": title, "text": text, **extra}


def hash_step(sm3: str, computed_by: str) -> dict[str, Any]:
    """The first step: who computed the file's SM3 (``browser``, ``verifier`` or ``node``)."""
    return _ev_step("hash", PASSED, texts.hash_text(sm3, computed_by), sm3=sm3)


def evidence_not_found(sm3: str, computed_by: str, deposit_id: str | None) -> list[dict[str, Any]]:
    text = texts.deposit_not_found_text(deposit_id)
    rest = [
        _ev_step(name, NOT_CHECKED, dict(NOT_CHECKED_TEXT))
        for name, _, _ in EVIDENCE_STEPS
        if name not in ("hash", "deposit")
    ]
    return [hash_step(sm3, computed_by), _ev_step("deposit", FAILED, text), *rest]


def evidence_steps(
    outcome: Mapping[str, Any], receipt_check: Mapping[str, Any], computed_by: str
) -> list[dict[str, Any]]:
    """The five steps from ``POST /v1/evidence/verify``'s answer and :func:`check_receipt`."""
    by_name = {s["step"]: s for s in outcome["steps"]}
    deposit = outcome["deposit"]
    count, height = outcome["file_count"], deposit["height"]
    steps = [
        hash_step(outcome["file"]["sm3"], computed_by),
        _ev_step(
            "deposit",
            PASSED,
            texts.deposit_found_text(short(deposit["tx_id"]), deposit["depositor"], height, count),
        ),
    ]
    receipt_ok = bool(receipt_check["valid"])
    tx_in_block = next(s for s in receipt_check["steps"] if s["number"] == 3)["outcome"] == PASSED
    file_step = by_name.get("file_in_deposit", {})
    result = outcome["result"]
    if result == "match" and tx_in_block:
        text = texts.file_match_text(outcome["file"]["index"], count, height)
        steps.append(_ev_step("inclusion", PASSED, text, merkle_path=outcome["merkle_path"]))
    elif file_step.get("outcome") == "failed" or result == "mismatch":
        steps.append(_ev_step("inclusion", FAILED, texts.file_mismatch_text()))
    elif file_step.get("outcome") == "skipped":
        steps.append(_ev_step("inclusion", SKIPPED, texts.file_undetermined_text()))
    else:
        steps.append(_ev_step("inclusion", FAILED, texts.deposit_not_in_block_text()))
    signers = (receipt_check.get("transaction") or {}).get("signers", "")
    if receipt_ok:
        steps.append(_ev_step("signatures", PASSED, texts.receipt_verified_text(height, signers)))
    else:
        failed = next(s for s in receipt_check["steps"] if s["outcome"] == FAILED)
        steps.append(_ev_step("signatures", FAILED, texts.receipt_failed_text(failed)))
    time_ms = deposit["time_ms"]
    if receipt_ok:
        text = texts.deposit_time_text(time_ms, height)
        steps.append(_ev_step("time", PASSED, text, time_ms=time_ms))
    else:
        steps.append(_ev_step("time", FAILED, texts.time_unattested_text()))
    return steps


def evidence_result(steps: Sequence[Mapping[str, Any]]) -> str:
    """``match`` when every step passed; ``mismatch``, ``undetermined`` or ``not_found``."""
    by = {s["step"]: s["outcome"] for s in steps}
    if by.get("deposit") == FAILED:
        return "not_found"
    if by.get("inclusion") == FAILED and by.get("signatures") == PASSED:
        return "mismatch"
    if all(o == PASSED for o in by.values()):
        return "match"
    return "undetermined"
