"""``python -m ledger.domains.evidence report.json genesis.json``: the offline re-verification
of a report, the same command as ``python -m ledger.domains.evidence.verify``."""

import sys

from ledger.domains.evidence.verify import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
