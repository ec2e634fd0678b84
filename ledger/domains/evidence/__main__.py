"""Re-verify an evidence verification report offline.

    python -m ledger.domains.evidence report.json genesis.json

Prints each step checked and its outcome; exits 0 when the report is valid, 1 when a check
fails, 2 when the files cannot be read.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ledger.canonical import parse_json
from ledger.domains.evidence.proofs import verify_report
from ledger.errors import LedgerError


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
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
