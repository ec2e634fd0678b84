#!/usr/bin/env python
"""Four BFT validators as four processes on loopback: committed transactions per second and
commit latency, against the SM2 verification ceiling measured in the same run.

    python bench/cluster.py              # default run (about 4 minutes on 2 cores)
    python bench/cluster.py --quick      # smoke run (about 1 minute)
    python bench/cluster.py --seconds 60 --rate 900 --profile DIR

Each transaction is verified once by each of the four validators, so the ceiling of the
cluster is a quarter of the machine's SM2 verifications per second (``measure_ceiling`` on
every core, before the cluster starts and again after it stops; the higher counts).

1. Every transaction of the run is signed first, in a process pool (signing must not take
   CPU from the validators while they are measured).
2. saturation: batches posted to ``/v1/transactions/batch`` round-robin over the four nodes
   at ``--rate`` (default: 1.5 x the quarter ceiling, more than the cluster commits), a
   tick skipped while more than ``--backlog`` seconds of the quarter ceiling are admitted
   and not committed yet; committed transactions per second from the ``log_size`` of v1's
   checkpoint over the window after a warm-up. Target: at least 50 % of the quarter ceiling.
3. half load: the ceiling is measured again (the cluster idle), then an open loop at half
   the load the cluster committed at saturation (the issue's "half of that load": the
   cluster at half utilisation; ``--half-rate`` sets another), a batch every 100 ms; each
   transaction's submit time is the moment its batch was sent, its commit time the first
   poll (every 100 ms) of v1 that shows its block (``/v1/explorer/blocks/{height}``).
   Targets: p50 < 1 s, p99 < 3 s.

The table is printed and the figures written as JSON to bench/results/ (gitignored).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import (
    Ceiling,
    PySpy,
    Results,
    Row,
    _machine_busy_seconds,
    console,
    deposit_wire,
    log,
    machine,
    percentile,
    print_table,
    summarise_profile,
)
from ledger.consortium import create
from tests.support import NodeProcess, assign_p2p_ports, signed_chunks

VALIDATORS = ("v1", "v2", "v3", "v4")
THROUGHPUT_TARGET = 0.50
P50_TARGET_S = 1.0
P99_TARGET_S = 3.0
TICK_S = 0.1
POLL_S = 0.1  # latency phase: v1 polled this often (a few ms of its CPU per poll)
SATURATION_POLL_S = 0.5
RESULTS_DIR = Path(__file__).resolve().parent / "results"


# --- the cluster ---------------------------------------------------------------------------------


class Cluster:
    """A fresh four-validator demo consortium in ``work`` (one SQLite database each, p2p
    ports picked free and written to node.json, as ``make cluster`` and the tests do)."""

    def __init__(self, work: Path, env: dict[str, str]) -> None:
        self.home = work / "consortium"
        self.chain_id = create(self.home, demo=True, validators=len(VALIDATORS)).genesis.chain_id
        assign_p2p_ports(self.home, VALIDATORS)
        self.env = env
        self.nodes: dict[str, NodeProcess] = {}

    def start(self) -> None:
        for vid in VALIDATORS:
            self.nodes[vid] = NodeProcess(
                self.home,
                f"sqlite:///{self.home / (vid + '.db')}",
                {**self.env, "LEDGER_VALIDATOR": vid},
                log=self.home / f"{vid}.log",
            ).launch()
        for node in self.nodes.values():
            node.wait_ready(120)

    def stop(self) -> None:
        for node in self.nodes.values():
            node.stop()

    def urls(self) -> list[str]:
        return [self.nodes[v].url for v in VALIDATORS]

    def pgids(self) -> set[int]:
        return {n.pid for n in self.nodes.values()}


def _cpu_of_groups(pgids: set[int]) -> tuple[float, float]:
    """CPU seconds of the live processes in these process groups: the group leaders (the
    node processes) and the others (their verification workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    leaders = others = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) in pgids:
            cpu = (int(fields[11]) + int(fields[12])) / tick
            if int(entry.name) in pgids:
                leaders += cpu
            else:
                others += cpu
    return leaders, others


class CpuShare:
    """Who used the machine's cores over a window: the validators, this process, others."""

    def __init__(self, pgids: set[int]) -> None:
        self.pgids = pgids
        self.start = self._sample()

    def _sample(self) -> tuple[float, float, float, float, float]:
        t = os.times()
        return (
            time.perf_counter(),
            _machine_busy_seconds(),
            *_cpu_of_groups(self.pgids),
            t.user + t.system,
        )

    def shares(self) -> dict[str, float]:
        end = self._sample()
        wall, busy, mains, workers, own = (b - a for a, b in zip(self.start, end, strict=True))
        nodes = mains + workers
        cores = os.cpu_count() or 1
        return {
            "validators": nodes / (wall * cores),
            "validator_main_processes": mains / (wall * cores),
            "validator_verify_workers": workers / (wall * cores),
            "benchmark_driver": own / (wall * cores),
            "other_processes": max(0.0, busy - nodes - own) / (wall * cores),
        }


# --- load ----------------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    rate: float
    seconds: float
    offered: int = 0
    accepted: int = 0
    rejected: int = 0
    errors: int = 0
    submitted: dict[str, float] = field(default_factory=dict)  # tx_id -> monotonic time
    rejections: dict[str, int] = field(default_factory=dict)


class Tracker:
    """Polls v1: its log size (committed transactions) and, when asked, each new block's
    transaction ids with the time the block was first seen."""

    def __init__(self, client: httpx.AsyncClient, track_blocks: bool) -> None:
        self.client = client
        self.track_blocks = track_blocks
        self.interval = POLL_S if track_blocks else SATURATION_POLL_S
        self.height = 0
        self.log_size = 0
        self.base_log_size = 0
        self.samples: list[tuple[float, int, int]] = []  # (time, height, log_size)
        self.committed: dict[str, float] = {}
        self.blocks: list[tuple[int, int, float]] = []  # (height, txs, seen at)

    async def poll_once(self) -> None:
        r = await self.client.get("/v1/checkpoint")
        header = r.json()["header"]
        now = time.monotonic()
        height, log_size = int(header["height"]), int(header["log_size"])
        if self.track_blocks:
            for h in range(self.height + 1, height + 1):
                block = (await self.client.get(f"/v1/explorer/blocks/{h}")).json()
                for tx in block["transactions"]:
                    self.committed.setdefault(tx["tx_id"], now)
                self.blocks.append((h, len(block["transactions"]), now))
        self.height, self.log_size = height, log_size
        self.samples.append((now, height, log_size))

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.poll_once()
            except (httpx.HTTPError, KeyError, ValueError) as exc:
                log(f"poll failed: {exc!r}")
            await asyncio.sleep(self.interval)

    def rate_between(self, t0: float, t1: float) -> tuple[float, int, float]:
        """Committed transactions per second between the samples nearest ``t0`` and ``t1``."""
        a = min(self.samples, key=lambda s: abs(s[0] - t0))
        b = min(self.samples, key=lambda s: abs(s[0] - t1))
        txs, wall = b[2] - a[2], b[0] - a[0]
        return (txs / wall if wall > 0 else 0.0), txs, wall


async def _post(
    client: httpx.AsyncClient, url: str, chunk: list[bytes], phase: Phase, sent_at: float
) -> None:
    body = b'{"transactions":[' + b",".join(chunk) + b"]}"
    try:
        r = await client.post(
            url + "/v1/transactions/batch",
            content=body,
            headers={"content-type": "application/json"},
        )
    except httpx.HTTPError as exc:
        phase.errors += len(chunk)
        log(f"{phase.name}: batch to {url} failed: {exc!r}")
        return
    if r.status_code != 202:
        phase.errors += len(chunk)
        log(f"{phase.name}: batch to {url}: HTTP {r.status_code} {r.text[:200]}")
        return
    result = r.json()
    phase.accepted += len(result["accepted"])
    for tx_id in result["accepted"]:
        phase.submitted[tx_id] = sent_at
    for item in result["rejected"]:
        code = item["error"].get("code", "?")
        phase.rejections[code] = phase.rejections.get(code, 0) + 1
    phase.rejected += len(result["rejected"])


COUNTERS = (
    "ledger_consensus_dropped_total",
    "ledger_consensus_invalid_proposals_total",
    "ledger_consensus_decided_round_sum",
    "ledger_consensus_decided_round_count",
)


async def _node_counters(client: httpx.AsyncClient, urls: list[str]) -> dict[str, float]:
    """Consensus counters of /metrics summed over the nodes (dropped frames, invalid
    proposals, rounds needed): a healthy run drops nothing and decides in round 0."""
    totals: dict[str, float] = {}
    for url in urls:
        try:
            text = (await client.get(url + "/metrics")).text
        except httpx.HTTPError:
            continue
        for line in text.splitlines():
            name, _, value = line.rpartition(" ")
            if name.split("{")[0] in COUNTERS:
                totals[name] = totals.get(name, 0.0) + float(value)
    return totals


async def offer(
    client: httpx.AsyncClient,
    urls: list[str],
    txs: list[bytes],
    phase: Phase,
    tracker: Tracker,
    backlog: int | None,
) -> None:
    """Open loop: every ``TICK_S`` a batch of ``rate * TICK_S`` to the next node, never
    waiting for earlier batches; with ``backlog``, a tick is skipped while more than that
    many admitted transactions are not committed yet (the offered load then follows the
    cluster's capacity instead of growing its mempools without bound)."""
    per_tick = max(1, round(phase.rate * TICK_S))
    start = time.monotonic()
    tasks: set[asyncio.Task[None]] = set()
    i = tick = 0
    while True:
        due = start + tick * TICK_S
        now = time.monotonic()
        if now - start >= phase.seconds or i >= len(txs):
            break
        if due > now:
            await asyncio.sleep(due - now)
        tick += 1
        outstanding = phase.offered - (tracker.log_size - tracker.base_log_size)
        if backlog is not None and outstanding > backlog:
            continue
        chunk = txs[i : i + per_tick]
        i += len(chunk)
        phase.offered += len(chunk)
        task = asyncio.create_task(
            _post(client, urls[tick % len(urls)], chunk, phase, time.monotonic())
        )
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks)


async def run_phase(
    urls: list[str],
    txs: list[bytes],
    phase: Phase,
    *,
    backlog: int | None,
    track_blocks: bool,
    warmup: float,
    drain: float,
    pgids: set[int],
) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with (
        httpx.AsyncClient(timeout=60, limits=limits) as client,
        httpx.AsyncClient(base_url=urls[0], timeout=30) as poll_client,
    ):
        tracker = Tracker(poll_client, track_blocks)
        await tracker.poll_once()
        tracker.base_log_size = tracker.log_size
        stop = asyncio.Event()
        poller = asyncio.create_task(tracker.run(stop))
        started = time.monotonic()
        cpu: CpuShare | None = None

        async def start_cpu() -> None:
            nonlocal cpu
            await asyncio.sleep(warmup)
            cpu = CpuShare(pgids)

        cpu_task = asyncio.create_task(start_cpu())
        await offer(client, urls, txs, phase, tracker, backlog)
        ended = time.monotonic()
        await cpu_task
        assert cpu is not None
        shares = cpu.shares()
        # let what was admitted commit (latency needs every transaction's commit time)
        deadline = ended + drain
        while time.monotonic() < deadline:
            if tracker.log_size - tracker.base_log_size >= phase.accepted:
                break
            await asyncio.sleep(0.1)
        stop.set()
        await poller
        counters = await _node_counters(client, urls)
    rate, txs_in_window, wall = tracker.rate_between(started + warmup, ended)
    per_tx = 1000 * (os.cpu_count() or 1) * wall / max(1, txs_in_window)
    out: dict[str, Any] = {
        "offered": phase.offered,
        "offered_per_s": phase.offered / max(1e-9, ended - started),
        "accepted": phase.accepted,
        "rejected": phase.rejected,
        "rejections": phase.rejections,
        "errors": phase.errors,
        "committed_total": tracker.log_size - tracker.base_log_size,
        "window_seconds": wall,
        "window_committed": txs_in_window,
        "committed_per_s": rate,
        "blocks": tracker.height,
        "cpu_share": shares,
        "node_counters": counters,
        # validators' CPU per committed transaction (all four nodes): a figure other load
        # on the machine disturbs less than the rate
        "validator_cpu_ms_per_tx": per_tx * shares["validators"],
        "validator_main_cpu_ms_per_tx": per_tx * shares["validator_main_processes"],
        "validator_worker_cpu_ms_per_tx": per_tx * shares["validator_verify_workers"],
    }
    if track_blocks:
        latencies = [
            tracker.committed[tx_id] - sent
            for tx_id, sent in phase.submitted.items()
            if tx_id in tracker.committed
        ]
        out["latency_samples"] = len(latencies)
        out["not_committed"] = len(phase.submitted) - len(latencies)
        if latencies:
            out["p50_s"] = percentile(latencies, 50)
            out["p99_s"] = percentile(latencies, 99)
            out["max_s"] = max(latencies)
        in_phase = [b for b in tracker.blocks if b[2] >= started]
        if in_phase:
            out["txs_per_block"] = sum(b[1] for b in in_phase) / len(in_phase)
            out["blocks_per_s"] = len(in_phase) / max(1e-9, in_phase[-1][2] - started)
    return out


# --- main ----------------------------------------------------------------------------------------


def presign(home: Path, chain_id: str, total: int, cores: int) -> list[bytes]:
    started = time.perf_counter()
    txs: list[bytes] = []
    for chunk in signed_chunks(deposit_wire, (str(home), chain_id), 0, total, 500, cores):
        txs.extend(chunk)
    took = time.perf_counter() - started
    log(f"signed {total:,} transactions in {took:.1f} s ({total / took:,.0f}/s)")
    return txs


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="smoke run (about a minute)")
    p.add_argument("--seconds", type=float, default=60.0, help="length of each load phase")
    p.add_argument(
        "--rate",
        type=float,
        default=None,
        help="offered tx/s in the saturation phase (default: 1.5 x the quarter ceiling)",
    )
    p.add_argument(
        "--half-rate",
        type=float,
        default=None,
        help="offered tx/s in the latency phase (default: half the committed tx/s of saturation)",
    )
    p.add_argument(
        "--backlog",
        type=float,
        default=3.0,
        help="saturation: at most this many seconds of the quarter ceiling admitted and "
        "not committed",
    )
    p.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    p.add_argument(
        "--profile", type=Path, default=None, metavar="DIR", help="py-spy v1 during saturation"
    )
    p.add_argument("--json", type=Path, default=None, metavar="OUT")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = p.parse_args(argv)
    if args.quick:
        args.seconds = min(args.seconds, 15.0)
    return args


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for signum in (signal.SIGTERM, signal.SIGINT):  # SIGINT too: a background job ignores it
        signal.signal(signum, _interrupt)
    results = Results()
    info = machine()
    details = results.details
    details["machine"] = info
    details["command"] = " ".join(["bench/cluster.py", *sys.argv[1:]])
    console.print(
        f"[bold]machine[/]: {info['nproc']} cores, {info['cpu_model']}, load average "
        f"{os.getloadavg()[0]:.2f}"
    )
    work = Path(tempfile.mkdtemp(prefix="ledger-cluster-bench-"))
    started = time.perf_counter()
    ceiling = Ceiling(args.cores)
    ceiling_seconds = 2.0 if args.quick else 5.0
    cluster: Cluster | None = None
    try:
        ceiling.measure("before the cluster", ceiling_seconds)
        quarter = ceiling.value / len(VALIDATORS)
        rate = args.rate or 1.5 * quarter
        warmup = min(10.0, args.seconds / 4)
        # the cluster commits at most the quarter ceiling: sign no more than it can take
        n_sat = int(min(rate, quarter) * args.seconds + args.backlog * quarter) + 1000
        # enough for half of a ceiling up to 1.5 times the one measured first
        n_half = int((args.half_rate or 0.75 * quarter) * args.seconds) + 1000
        cluster = Cluster(work, {})
        txs = presign(cluster.home, cluster.chain_id, n_sat + n_half, args.cores)
        log("starting four validators ...")
        cluster.start()
        urls, pgids = cluster.urls(), cluster.pgids()

        spy = None
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
            spy = PySpy(cluster.nodes["v1"].pid, args.profile / "v1-saturation.txt")
        log(f"saturation: offering {rate:,.0f} tx/s for {args.seconds:.0f} s")
        sat = asyncio.run(
            run_phase(
                urls,
                txs[:n_sat],
                Phase("saturation", rate, args.seconds),
                backlog=int(args.backlog * quarter),
                track_blocks=False,
                warmup=warmup,
                drain=30.0,
                pgids=pgids,
            )
        )
        if spy is not None:
            spy.stop()
            assert args.profile is not None
            sat["profile"] = summarise_profile(args.profile / "v1-saturation.txt")
            (args.profile / "v1-saturation-summary.json").write_text(
                json.dumps(sat["profile"], indent=1) + "\n"
            )
        details["saturation"] = sat
        log(
            f"saturation: {sat['committed_per_s']:,.0f} tx/s committed "
            f"({sat['offered_per_s']:,.0f}/s offered); validators' CPU per tx "
            f"{sat['validator_main_cpu_ms_per_tx']:.2f} ms main + "
            f"{sat['validator_worker_cpu_ms_per_tx']:.2f} ms verify workers; other processes "
            f"{sat['cpu_share']['other_processes']:.0%} of the cores"
        )
        ceiling.measure("between the phases, the cluster idle", ceiling_seconds)
        half = args.half_rate or sat["committed_per_s"] / 2
        log(f"half load: offering {half:,.0f} tx/s for {args.seconds:.0f} s")
        hl = asyncio.run(
            run_phase(
                urls,
                txs[n_sat:],
                Phase("half load", half, args.seconds),
                backlog=None,
                track_blocks=True,
                warmup=warmup,
                drain=30.0,
                pgids=pgids,
            )
        )
        details["half_load"] = hl
        cluster.stop()
        cluster = None
        ceiling.measure("after the cluster", ceiling_seconds)
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        return 130
    finally:
        if cluster is not None:
            cluster.stop()
        if args.keep:
            console.print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    details["ceiling_samples"] = ceiling.samples
    quarter = ceiling.value / len(VALIDATORS)
    ratio = sat["committed_per_s"] / quarter
    results.add(Row("ceiling", "SM2 verify/s (all cores)", ceiling.value, "verify/s"))
    results.add(Row("ceiling", "quarter ceiling (4 verifies per tx)", quarter, "tx/s"))
    others = max(sat["cpu_share"]["other_processes"], hl["cpu_share"]["other_processes"])
    noisy = others > 0.10
    results.add(
        Row(
            "saturation",
            "committed tx/s",
            sat["committed_per_s"],
            "tx/s",
            "quarter ceiling",
            quarter,
            ratio,
            "",
            f">= {THROUGHPUT_TARGET:.0%}",
            ratio >= THROUGHPUT_TARGET,
            f"other processes {sat['cpu_share']['other_processes']:.0%} of the cores",
        )
    )
    for part in ("main", "worker"):
        results.add(
            Row(
                "saturation",
                f"validators' {part} process CPU per committed tx (4 nodes)",
                sat[f"validator_{part}_cpu_ms_per_tx"],
                "ms",
            )
        )
    for key, target in (("p50_s", P50_TARGET_S), ("p99_s", P99_TARGET_S)):
        value = hl.get(key, float("nan"))
        results.add(
            Row(
                "half load",
                f"commit latency {key[:3]} at {half:,.0f} tx/s",
                value,
                "s",
                target=f"< {target:g} s",
                met=value < target,
                note=f"{hl.get('not_committed', 0)} not committed",
            )
        )
    details["seconds"] = time.perf_counter() - started
    details["machine"]["loadavg_at_end"] = os.getloadavg()
    print_table(results)
    if noisy:
        console.print(
            f"[yellow]note[/]: other processes took up to {others:.0%} of the cores; "
            "the figures are low"
        )
    out = args.json or RESULTS_DIR / time.strftime("cluster-%Y%m%d-%H%M%S.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {"rows": [asdict(r) for r in results.rows], "details": details},
            indent=2,
            default=str,
        )
        + "\n"
    )
    console.print(f"written {out}; total {details['seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
