#!/usr/bin/env python
"""Repeated ingest runs (verify pool only), each between two ceiling measurements.

For comparing two versions of the node in the same minutes: the bench's own ingest
(``bench.run_ingest``) and ceiling (``bench.measure_ceiling``), without the rest of the
bench. Run it once per tree, alternating; the node runs the code that ``ledger`` imports::

    python bench/ingest_runs.py --runs 3
    PYTHONPATH=/path/to/other/tree python bench/ingest_runs.py --runs 3

One line per run: committed tx/s, the two ceilings, the ratio to the higher one, and the
CPU per committed transaction of the node's main process and its verification workers.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import bench
import ledger
from tests.support import signed_chunks


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--txs", type=int, default=60_000)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--senders", type=int, default=3)
    p.add_argument("--cores", type=int, default=2)
    p.add_argument("--ceiling-seconds", type=float, default=3.0)
    p.add_argument("--json", type=Path, default=None, metavar="OUT")
    args = p.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="ledger-ingest-runs-"))
    try:
        home = work / "home"
        consortium = bench.create(home, demo=True)
        wire: list[bytes] = []
        signing = (str(home), consortium.genesis.chain_id)
        for part in signed_chunks(bench.deposit_wire, signing, 0, args.txs, args.batch, args.cores):
            wire.extend(part)
        bodies = [
            (b'{"transactions":[' + b",".join(wire[i : i + args.batch]) + b"]}", len(chunk))
            for i in range(0, len(wire), args.batch)
            if (chunk := wire[i : i + args.batch])
        ]
        env = {"LEDGER_TIMESTAMP_TOLERANCE_MS": str(3_600_000)}
        rows = []
        for run in range(args.runs):
            before = bench.measure_ceiling(args.cores, args.ceiling_seconds)
            figures = bench.run_ingest(work, home, bodies, f"run{run}", env, args.senders, None)
            after = bench.measure_ceiling(args.cores, args.ceiling_seconds)
            cpu = figures["cpu_us_per_tx"]
            row = {
                "committed_per_s": figures["committed_per_s"],
                "ceiling_before": before,
                "ceiling_after": after,
                "ratio": figures["committed_per_s"] / max(before, after),
                "cpu_us_per_tx": cpu,
            }
            rows.append(row)
            print(
                f"run {run + 1}: committed {row['committed_per_s']:,.0f} tx/s, ceiling "
                f"{before:,.0f} / {after:,.0f} verify/s, ratio {row['ratio']:.3f}; CPU per tx: "
                f"main {cpu['node_main']:.0f} µs, workers {cpu['node_workers']:.0f} µs",
                flush=True,
            )
        if args.json:
            tree = str(Path(ledger.__file__).parent)
            args.json.write_text(json.dumps({"ledger": tree, "runs": rows}, indent=2))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
