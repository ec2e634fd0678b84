"""Offline verification of evidence: the files tree of a deposit, the metadata commitment,
and the re-verification of a court's verification report. Needs only the crypto dependencies.

A file is proven in two hops. First through the deposit's files tree: RFC 9162 with SM3,
leaf ``SM3(0x00 ‖ d)`` where ``d`` is the file's 32-byte SM3 digest, files in the order of
the metadata document; the audit path leads to ``files_root`` of the ``evidence.deposit``
payload. Then through the block: the deposit's receipt (spec section 6) shows that this
payload was signed by the depositor and certified by the validators at a block time.

A court re-verifies a report with :func:`verify_report`, or from the command line::

    python -m ledger.domains.evidence.verify report.json genesis.json

(``python -m ledger.domains.evidence`` runs the same command). Everything but the command is
pure: no I/O, no clock.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from ledger.canonical import canonical, parse_json
from ledger.crypto import sm3_hex
from ledger.errors import InvalidInput, LedgerError
from ledger.merkle import SM3, MemoryTree, root_from_inclusion
from ledger.model import Genesis
from ledger.verify import verify_receipt

REPORT_TYPE = "evidence_verification_report"
REPORT_VERSION = 1
CAPTURE_TOLERANCE_MS = 5 * 60 * 1000  # capture tools' clocks may run ahead of the validators'
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# --- the files tree and the metadata commitment ---------------------------------------------


def file_leaf(file_sm3: str) -> bytes:
    """The tree leaf of one file: ``SM3(0x00 ‖ digest)``."""
    return SM3.hash_leaf(bytes.fromhex(file_sm3))


def files_root(file_hashes: Sequence[str]) -> str:
    tree = MemoryTree(SM3)
    for h in file_hashes:
        tree.append(file_leaf(h))
    return tree.root().hex()


def file_path(file_hashes: Sequence[str], index: int) -> list[str]:
    """The audit path of file ``index`` in the deposit's files tree (RFC 9162 2.1.3.1)."""
    tree = MemoryTree(SM3)
    for h in file_hashes:
        tree.append(file_leaf(h))
    return [p.hex() for p in tree.inclusion_proof(index)]


def root_from_path(file_sm3: str, index: int, count: int, path: Sequence[str]) -> str:
    """The files root that ``path`` leads to from file ``index`` (raises ProofError)."""
    return root_from_inclusion(
        SM3, index, count, file_leaf(file_sm3), [bytes.fromhex(p) for p in path]
    ).hex()


def metadata_commitment(salt: str, metadata: Mapping[str, Any]) -> str:
    """``hex(SM3(salt bytes ‖ C(metadata)))``."""
    return sm3_hex(bytes.fromhex(salt) + canonical(metadata))


def metadata_matches(kept: Mapping[str, Any], record: Mapping[str, Any]) -> bool:
    """Whether a kept metadata record (``{"salt", "metadata", ...}``) is the document the
    deposit ``record`` commits to, and its file list hashes to the deposit's files root."""
    try:
        return bool(
            metadata_commitment(kept["salt"], kept["metadata"]) == record["metadata_commitment"]
            and files_root([f["sm3"] for f in kept["metadata"]["files"]]) == record["files_root"]
        )
    except (LedgerError, ValueError, KeyError, TypeError):
        return False


def iso_times(time_ms: int) -> dict[str, str]:
    t = _EPOCH + timedelta(milliseconds=time_ms)
    return {
        "utc": t.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "beijing": t.astimezone(BEIJING).isoformat(timespec="milliseconds"),
    }


# --- steps ----------------------------------------------------------------------------------


def step(name: str, outcome: str, detail: str, **data: Any) -> dict[str, Any]:
    """One checked step: ``outcome`` is passed, failed, skipped or info."""
    out: dict[str, Any] = {"step": name, "outcome": outcome, "detail": detail}
    if data:
        out["data"] = data
    return out


# --- offline re-verification of a report ------------------------------------------------------


class _Stop(Exception):
    pass


def _genesis(value: Genesis | Mapping[str, Any]) -> Genesis:
    return value if isinstance(value, Genesis) else Genesis.from_wire(dict(value))


def _hex64(value: Any) -> bool:
    return isinstance(value, str) and re.fullmatch("[0-9a-f]{64}", value) is not None


def verify_report(
    report: Mapping[str, Any], genesis: Genesis | Mapping[str, Any]
) -> dict[str, Any]:
    """Re-verify a verification report offline, against the genesis the court trusts.

    Returns ``{"valid": bool, "result": "match" | "mismatch" | ..., "steps": [...]}``:
    ``valid`` says that every check passed, so the report's result is proven by the
    ledger's receipt (and, for a match, by the file's Merkle path); ``steps`` lists what
    was checked, each with its outcome and a sentence. Raises nothing for a bad report.
    """
    steps: list[dict[str, Any]] = []
    claimed = report.get("result") if isinstance(report, Mapping) else None
    try:
        trusted = _genesis(genesis)
    except (LedgerError, KeyError, TypeError, ValueError) as exc:
        steps.append(step("genesis", "failed", f"the genesis given is not usable: {exc}"))
        return {"valid": False, "result": claimed, "steps": steps}
    try:
        _verify_report(report, trusted, steps)
    except _Stop:
        return {"valid": False, "result": claimed, "steps": steps}
    except (LedgerError, KeyError, TypeError, IndexError, AttributeError, ValueError) as exc:
        steps.append(step("report", "failed", f"the report is malformed: {exc!r}"))
        return {"valid": False, "result": claimed, "steps": steps}
    valid = all(s["outcome"] != "failed" for s in steps)
    return {"valid": valid, "result": claimed, "steps": steps}


def _fail(steps: list[dict[str, Any]], name: str, detail: str, **data: Any) -> _Stop:
    steps.append(step(name, "failed", detail, **data))
    return _Stop()


def _verify_report(
    report: Mapping[str, Any], genesis: Genesis, steps: list[dict[str, Any]]
) -> None:
    # 1. shape
    if not isinstance(report, Mapping) or report.get("type") != REPORT_TYPE:
        raise _fail(steps, "report", f"this is not an evidence verification report ({REPORT_TYPE})")
    if report.get("report_version") != REPORT_VERSION:
        raise _fail(steps, "report", f"unknown report version {report.get('report_version')!r}")
    result = report.get("result")
    if result not in ("match", "mismatch"):
        raise _fail(
            steps,
            "report",
            f"the report's result is {result!r}; only a match or a mismatch can be re-verified",
        )
    deposit_id, file = report.get("deposit_id"), report.get("file")
    if not _hex64(deposit_id) or not isinstance(file, Mapping) or not _hex64(file.get("sm3")):
        raise _fail(steps, "report", "the report lacks a deposit id or the file's SM3 hash")
    steps.append(step("report", "passed", "the report is an evidence verification report"))

    # 2. the deposit's receipt
    receipt = report.get("receipt")
    if not isinstance(receipt, Mapping):
        raise _fail(steps, "receipt", "the report holds no receipt")
    try:
        verified = verify_receipt(receipt, genesis)
    except InvalidInput as exc:
        raise _fail(
            steps,
            "receipt",
            "the deposit's receipt does not verify against the genesis: " + exc.message,
        ) from None
    header = verified.header
    steps.append(
        step(
            "receipt",
            "passed",
            f"the deposit transaction was signed by {verified.transaction.envelope.submitter} "
            f"and is in block {header.height}, certified by the validators of chain "
            f"{genesis.chain_id}",
            height=header.height,
        )
    )

    # 3. the receipt is this deposit's
    env = verified.transaction.envelope
    if verified.tx_id != deposit_id or env.type != "evidence.deposit":
        raise _fail(
            steps,
            "deposit",
            "the receipt is not that of the deposit named in the report",
            expected=deposit_id,
            found=f"{env.type} {verified.tx_id}",
        )
    payload = env.payload
    root, count = payload.get("files_root"), payload.get("file_count")
    if root != report.get("files_root") or count != report.get("file_count"):
        raise _fail(
            steps,
            "deposit",
            "the files root or file count in the report differ from the deposit transaction",
            expected={"files_root": root, "file_count": count},
            found={"files_root": report.get("files_root"), "file_count": report.get("file_count")},
        )
    if not _hex64(root) or isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise _fail(steps, "deposit", "the deposit transaction holds no valid files root")
    steps.append(
        step(
            "deposit",
            "passed",
            f"the receipt is that of deposit {deposit_id}, holding {count} file(s) under "
            f"files root {root}",
        )
    )

    # 4. the deposit time the validators attest
    deposit = report.get("deposit")
    claimed_time = deposit.get("time_ms") if isinstance(deposit, Mapping) else None
    times = iso_times(header.timestamp)
    if claimed_time != header.timestamp:
        raise _fail(
            steps,
            "deposit_time",
            "the deposit time in the report is not the timestamp of the certified block",
            expected=header.timestamp,
            found=claimed_time,
        )
    steps.append(
        step(
            "deposit_time",
            "passed",
            f"the validators attest that the deposit was on the ledger at {times['beijing']} "
            f"(Beijing time), block {header.height}",
            time_ms=header.timestamp,
        )
    )

    # 5. the file against the files tree
    file_sm3 = str(file["sm3"])
    hashes = report.get("file_hashes")
    if hashes is not None:
        if (
            not isinstance(hashes, list)
            or not all(_hex64(h) for h in hashes)
            or files_root(hashes) != root
            or len(hashes) != count
        ):
            raise _fail(
                steps,
                "file_list",
                "the file list in the report does not hash to the deposit's files root",
            )
        steps.append(
            step(
                "file_list",
                "passed",
                f"the report's list of the {count} file hashes hashes to the files root",
            )
        )
    if result == "match":
        index, path = file.get("index"), report.get("merkle_path")
        if (
            isinstance(index, bool)
            or not isinstance(index, int)
            or not isinstance(path, list)
            or not all(_hex64(p) for p in path)
        ):
            raise _fail(steps, "file_in_deposit", "a match needs the file's index and Merkle path")
        try:
            computed = root_from_path(file_sm3, index, count, path)
        except LedgerError as exc:
            raise _fail(steps, "file_in_deposit", f"the Merkle path is malformed: {exc}") from None
        if computed != root:
            raise _fail(
                steps,
                "file_in_deposit",
                f"the Merkle path from the file's hash does not lead to the files root: the file "
                f"{file_sm3} is not file {index} of the deposit",
                expected=root,
                found=computed,
            )
        steps.append(
            step(
                "file_in_deposit",
                "passed",
                f"the file with SM3 {file_sm3} is file {index} of the {count} deposited: its "
                "Merkle path leads to the files root in the signed deposit",
            )
        )
    elif hashes is not None:
        if file_sm3 in hashes:
            raise _fail(
                steps,
                "file_in_deposit",
                "the report says mismatch, yet the file's hash is in the deposit's file list",
            )
        steps.append(
            step(
                "file_in_deposit",
                "passed",
                f"the file with SM3 {file_sm3} is none of the {count} deposited files: a "
                "mismatch, proven by the complete file list",
            )
        )
    else:
        steps.append(
            step(
                "file_in_deposit",
                "skipped",
                "the report says mismatch; it carries no complete file list (only courts, "
                "auditors and the depositor get one), so the absence of the file cannot be "
                "proven offline: ask the ledger again or re-verify with the original file",
            )
        )

    # 6. the metadata against its commitment (reports made for an authorised reader)
    metadata, salt = report.get("metadata"), report.get("salt")
    if metadata is None:
        steps.append(
            step(
                "metadata",
                "skipped",
                "the report carries no metadata (public verification); the provenance is "
                "served to the depositor, courts and auditors",
            )
        )
        return
    if not isinstance(metadata, Mapping) or not isinstance(salt, str):
        raise _fail(steps, "metadata", "the metadata or its salt is malformed")
    try:
        commitment = metadata_commitment(salt, metadata)
        listed = [f["sm3"] for f in metadata["files"]]
    except (LedgerError, ValueError, KeyError, TypeError):
        raise _fail(steps, "metadata", "the metadata or its salt is malformed") from None
    if commitment != payload.get("metadata_commitment"):
        raise _fail(
            steps,
            "metadata",
            "the metadata in the report is not the document the depositor committed to",
            expected=payload.get("metadata_commitment"),
            found=commitment,
        )
    if files_root(listed) != root:
        raise _fail(steps, "metadata", "the metadata's file list does not hash to the files root")
    entry = None
    if result == "match":
        index = file.get("index")
        entry = metadata["files"][index] if isinstance(index, int) else None
        if entry is None or entry.get("sm3") != file_sm3:
            raise _fail(steps, "metadata", "the metadata names another file at this index")
    provenance = metadata.get("provenance") or {}
    captured = provenance.get("captured_at")
    described = (
        f"; file {entry['name']!r}, {entry['size']} bytes, {entry['media_type']}" if entry else ""
    )
    steps.append(
        step(
            "metadata",
            "passed",
            "the metadata (title, case reference, provenance, file list) is the document the "
            f"depositor committed to in the signed deposit{described}",
        )
    )
    if isinstance(captured, int) and not isinstance(captured, bool):
        when = iso_times(captured)["beijing"]
        outcome = "passed" if captured <= header.timestamp + CAPTURE_TOLERANCE_MS else "failed"
        steps.append(
            step(
                "provenance_time",
                outcome,
                f"the data was captured at {when} (Beijing time) "
                + (
                    "before it was deposited"
                    if outcome == "passed"
                    else "— after the attested deposit time, which cannot be"
                ),
            )
        )


# --- the command a court runs ----------------------------------------------------------------

USAGE = """Re-verify an evidence verification report offline.

    python -m ledger.domains.evidence.verify report.json genesis.json

Prints each step checked and its outcome; exits 0 when the report is valid, 1 when a check
fails, 2 when the files cannot be read."""


def main(argv: Sequence[str]) -> int:
    if len(argv) != 2:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        report = parse_json(Path(argv[0]).read_bytes())
        genesis = parse_json(Path(argv[1]).read_bytes())
    except (OSError, LedgerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    outcome = verify_report(report, genesis)
    for s in outcome["steps"]:
        print(f"[{s['outcome']:>7}] {s['step']}: {s['detail']}")
    verdict = "VALID" if outcome["valid"] else "NOT VALID"
    print(f"{verdict}: the report says {outcome['result']!r}")
    print(json.dumps({"valid": outcome["valid"], "result": outcome["result"]}))
    return 0 if outcome["valid"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
