#!/usr/bin/env python
"""Benchmark of the state map's tree (spec section 6a), beside one SM2 verification.

    python bench/state_tree.py                 # maps of 10,000 and 100,000 keys (~1-2 min)
    python bench/state_tree.py --quick         # smoke run (< 30 s)
    python bench/state_tree.py --json out.json # also write the figures as JSON

For each map size: the map is written in blocks of 1,000 keys through
``ledger.state_tree.StateTree.update`` and its root checked against ``root_of`` (computed
from scratch); then blocks of ``--block`` changed keys (half of them new keys, half new
values of existing keys) and blocks of one changed key are applied, each timed. Figures:
microseconds per changed key (median over the blocks), against one SM2 verification of a
transaction (the cost a node pays per transaction anyway) timed after each of those blocks,
and the time of one block, against computing the root from scratch. Values are records
of about 200 bytes, as the domains write them.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench import Results, Row, console, log, machine, print_table, sample_message, section
from ledger.crypto import PrivateKey
from ledger.state_tree import StateTree, root_of

WRITE_BLOCK = 1000


def record(n: int, version: int = 0) -> dict[str, Any]:
    return {
        "deposit_id": f"dep-{n:08d}",
        "custody": "gz-internet-court",
        "depositor": "evidence-platform",
        "files": 1 + n % 5,
        "root_sm3": f"{n:064x}",
        "status": "deposited" if version == 0 else "transferred",
        "version": version,
    }


def key(n: int) -> str:
    return f"evidence/dep-{n:08d}"


class SM2Verify:
    """One SM2 verification of a typical transaction, timed between the tree's blocks so that
    both figures of a ratio come from the same minutes of a shared machine."""

    def __init__(self) -> None:
        self.message = sample_message()
        private = PrivateKey.generate()
        self.public = private.public_key
        self.signatures = [private.sign(self.message) for _ in range(16)]
        self.samples: list[float] = []

    def sample(self, count: int = 40) -> float:
        """Microseconds per verification over ``count`` verifications; kept as a sample."""
        began = time.perf_counter()
        for i in range(count):
            self.public.verify(self.signatures[i & 15], self.message)
        us = (time.perf_counter() - began) / count * 1e6
        self.samples.append(us)
        return us

    def median(self, since: int = 0) -> float:
        return statistics.median(self.samples[since:])


def build(size: int, sm2: SM2Verify) -> tuple[StateTree, dict[str, Any], float]:
    """A tree of ``size`` keys written in blocks (an SM2 sample after each); returns it, its
    map and the median µs per key written."""
    tree, mapping = StateTree(), dict[str, Any]()
    per_key: list[float] = []
    for start in range(0, size, WRITE_BLOCK):
        block = {key(n): record(n) for n in range(start, min(size, start + WRITE_BLOCK))}
        mapping.update(block)
        began = time.perf_counter()
        tree.update(block)
        per_key.append((time.perf_counter() - began) / len(block) * 1e6)
        sm2.sample()
    return tree, mapping, statistics.median(per_key)


def timed_blocks(
    tree: StateTree,
    size: int,
    block: int,
    rounds: int,
    next_key: int,
    sm2: SM2Verify,
    interleave: bool = True,
) -> tuple[list[float], int]:
    """Seconds per block of ``block`` changed keys: half new keys, half changed values; an
    SM2 sample after each block (``interleave``) or before and after them all."""
    times = []
    if not interleave:
        sm2.sample(400)
    for r in range(rounds):
        changed = {key(next_key + i): record(next_key + i) for i in range(block - block // 2)}
        next_key += len(changed)
        step = max(1, size // (block // 2 or 1))
        changed.update(
            {key((r + i * step) % size): record(i, version=r + 1) for i in range(block // 2)}
        )
        began = time.perf_counter()
        tree.update(changed)
        times.append(time.perf_counter() - began)
        if interleave:
            sm2.sample()
    if not interleave:
        sm2.sample(400)
    return times, next_key


def bench_size(results: Results, size: int, block: int, rounds: int, sm2: SM2Verify) -> None:
    log(f"map of {size:,} keys: writing it in blocks of {WRITE_BLOCK:,}")
    first_sample = len(sm2.samples)
    tree, mapping, write_us = build(size, sm2)
    sm2_us = sm2.median(first_sample)
    began = time.perf_counter()
    scratch = root_of(mapping)
    scratch_s = time.perf_counter() - began
    same = tree.root() == scratch
    console.print(
        f"  root after {size:,} inserts equals root_of from scratch: {'yes' if same else 'NO'}"
    )
    if not same:
        raise SystemExit(f"state root mismatch after {size:,} inserts")
    results.add(
        Row(
            "state",
            f"write {size:,} keys in blocks of {WRITE_BLOCK:,}",
            write_us,
            "µs/key",
            "SM2 verify",
            sm2_us,
            write_us / sm2_us,
            " of one SM2 verify",
        )
    )

    log(f"map of {size:,} keys: {rounds} blocks of {block:,} changed keys")
    first_sample = len(sm2.samples)
    times, next_key = timed_blocks(tree, size, block, rounds, size, sm2)
    sm2_us = sm2.median(first_sample)
    per_block = statistics.median(times)
    per_key_us = per_block / block * 1e6
    results.add(
        Row(
            "state",
            f"{size:,} keys: block of {block:,} changed keys",
            per_key_us,
            "µs/key",
            "SM2 verify",
            sm2_us,
            per_key_us / sm2_us,
            " of one SM2 verify",
        )
    )
    results.add(
        Row(
            "state",
            f"{size:,} keys: one block of {block:,} changed keys",
            per_block * 1e3,
            "ms",
            "root_of from scratch",
            scratch_s * 1e3,
            scratch_s / per_block,
            "x faster",
        )
    )

    # One key's update is short enough that cold CPU caches show: timed between SM2 samples
    # (as a node runs it, amid other work) it costs more than back to back.
    single: dict[str, float] = {}
    for interleave, label in ((True, "between SM2 samples"), (False, "back to back")):
        log(f"map of {size:,} keys: {rounds * 10} blocks of one changed key, {label}")
        first_sample = len(sm2.samples)
        times, next_key = timed_blocks(tree, next_key, 1, rounds * 10, next_key, sm2, interleave)
        single[label] = statistics.median(times) * 1e6
        sm2_single_us = sm2.median(first_sample)
        results.add(
            Row(
                "state",
                f"{size:,} keys: block of 1 changed key, {label}",
                single[label],
                "µs/key",
                "SM2 verify",
                sm2_single_us,
                single[label] / sm2_single_us,
                " of one SM2 verify",
            )
        )
    depth = len(tree.prove(key(0)).siblings)
    results.details.setdefault("state", {})[str(size)] = {
        "write_us_per_key": write_us,
        "block": block,
        "block_ms_median": per_block * 1e3,
        "block_ms_all": [t * 1e3 for t in times],
        "us_per_changed_key": per_key_us,
        "single_key_block_us": single,
        "root_of_from_scratch_ms": scratch_s * 1e3,
        "root_matches_from_scratch": same,
        "sample_proof_depth": depth,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="small smoke run (< 30 s)")
    p.add_argument("--sizes", type=int, nargs="+", default=None, help="map sizes (keys)")
    p.add_argument("--block", type=int, default=1000, help="changed keys per block")
    p.add_argument("--rounds", type=int, default=None, help="timed blocks per size")
    p.add_argument("--json", type=Path, default=None, metavar="OUT")
    args = p.parse_args(argv)
    sizes = args.sizes or ([2_000, 10_000] if args.quick else [10_000, 100_000])
    rounds = args.rounds or (5 if args.quick else 20)
    results = Results()
    info = machine()
    results.details["machine"] = info
    results.details["command"] = " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
    console.print(
        f"[bold]machine[/]: {info['nproc']} cores, {info['cpu_model']}, Python "
        f"{info['python']}, {info['openssl']}"
    )
    sm2 = SM2Verify()
    with section("state tree", results):
        for size in sizes:
            bench_size(results, size, args.block, rounds, sm2)
    results.details["sm2_verify_us_samples"] = sm2.samples
    print_table(results)
    if args.json:
        rows = [row.__dict__ for row in results.rows]
        args.json.write_text(json.dumps({"rows": rows, "details": results.details}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
