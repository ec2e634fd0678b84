"""Many seeded simulations of the Tendermint state machine: safety and liveness under faults.

Each seed (tests/sim/scenario.py) draws a fault plan: message loss, delay, reordering and
duplication; a partition that heals; crashes and restarts of honest validators (some in the
middle of a batch of outputs, after the ``Persist``, before the sends); Byzantine validators
(less than a third of the power) that equivocate as proposers, double-vote, vote for
everything, propose invalid blocks, send forged and out-of-range messages, or forget what
they signed. Every seed asserts:

- safety: no two honest nodes decide different blocks at one height; every decided block
  extends the decided chain; every certificate is valid under ``ledger.verify.verify_commit``;
  no honest validator signs two different messages for one height, round and kind, even
  across crashes;
- liveness: once the network heals, every honest node decides two more heights within
  ``liveness_bound_ms`` of simulated time.

``LEDGER_SIM_SEEDS`` sets the number of seeds of the four-validator runs (default 1000),
``LEDGER_SIM_WEIGHTED_SEEDS`` those of seven validators with unequal power (default
``LEDGER_SIM_SEEDS // 10``), ``LEDGER_SIM_CHANGES_SEEDS`` those of six nodes through three
validator set changes (default ``LEDGER_SIM_SEEDS // 5``). A failing seed prints the
command that replays it alone: ``LEDGER_SIM_SEED=<seed> LEDGER_SIM_CONFIG=<config>
LEDGER_SIM_TRACE=1 pytest tests/test_bft_sim.py -k replay -s``.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor
from functools import cache

from consensus.tendermint import Decide, Prevote
from ledger.model import CommitCertificate, CommitSignature
from tests.sim.chain import make_block
from tests.sim.crypto import validator_key
from tests.sim.node import BEHAVIOURS
from tests.sim.scenario import (
    CONFIGS,
    SimResult,
    World,
    make_plan,
    run_seed,
    run_seeds,
    tracing_requested,
)

SEEDS = int(os.environ.get("LEDGER_SIM_SEEDS", "1000"))
WEIGHTED_SEEDS = int(os.environ.get("LEDGER_SIM_WEIGHTED_SEEDS", str(max(SEEDS // 10, 1))))
CHANGES_SEEDS = int(os.environ.get("LEDGER_SIM_CHANGES_SEEDS", str(max(SEEDS // 5, 1))))
FIRST_SEED = int(os.environ.get("LEDGER_SIM_FIRST_SEED", "0"))


def _workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


@cache
def results(config: str, count: int) -> tuple[tuple[SimResult, ...], float]:
    """Run ``count`` seeds of ``config`` over all cores (once per session)."""
    seeds = list(range(FIRST_SEED, FIRST_SEED + count))
    workers = _workers()
    chunks = [seeds[i :: workers * 4] for i in range(workers * 4)]
    chunks = [c for c in chunks if c]
    start = time.monotonic()
    if workers == 1 or count < 20:
        out = run_seeds(config, seeds)
    else:
        with ProcessPoolExecutor(workers) as pool:
            out = [r for rs in pool.map(run_seeds, [config] * len(chunks), chunks) for r in rs]
    return tuple(sorted(out, key=lambda r: r.seed)), time.monotonic() - start


def _summary(config: str, found: tuple[SimResult, ...], seconds: float) -> str:
    live = sorted(r.live_after_ms for r in found if r.live_after_ms is not None)
    pick = (lambda q: live[min(len(live) - 1, int(q * len(live)))]) if live else (lambda q: None)
    return (
        f"{config}: {len(found)} seeds in {seconds:.1f} s on {_workers()} processes; "
        f"heights decided: mean {sum(r.heights for r in found) / len(found):.1f}; "
        f"liveness after heal p50 {pick(0.5)} ms, p99 {pick(0.99)} ms, max {pick(1.0)} ms "
        f"(bound {CONFIGS[config].liveness_bound_ms} ms); "
        f"highest round {max(r.max_round for r in found)}; "
        f"SM2 verifications {sum(r.verified for r in found)} "
        f"(state machines asked {sum(r.verify_calls for r in found)}); "
        f"evidence {sum(r.evidence for r in found)}, rejected {sum(r.rejected for r in found)}, "
        f"crashes {sum(r.crashes for r in found)}"
    )


def _assert_all_pass(config: str, count: int) -> None:
    found, seconds = results(config, count)
    print("\n" + _summary(config, found, seconds))
    failed = [r for r in found if not r.ok]
    assert not failed, f"{len(failed)} of {len(found)} seeds failed:\n" + "\n".join(
        r.describe() for r in failed[:20]
    )


def test_four_validators_many_seeds_are_safe_and_live() -> None:
    _assert_all_pass("four", SEEDS)


def test_seven_weighted_validators_two_byzantine_are_safe_and_live() -> None:
    _assert_all_pass("weighted7", WEIGHTED_SEEDS)


def test_validator_set_changes_many_seeds_are_safe_and_live() -> None:
    """v04 leaves at height 2, v05 joins at 3, v00's power doubles at 5; every seed decides
    up to height 6 at least, so every run crosses the three handovers. Each block names its
    set and the next, and each certificate is valid for its height's set (so v04 signs
    none after it left); v05, a follower until height 3, signs once it is in."""
    _assert_all_pass("changes", CHANGES_SEEDS)
    found, _ = results("changes", CHANGES_SEEDS)
    assert all(r.heights >= 6 for r in found)
    assert sum(r.signers.get("v05", 0) for r in found) >= len(found)


def test_the_seeds_exercise_every_fault() -> None:
    """The plans and the runs show the faults happened (the checks are not vacuous)."""
    count = min(SEEDS, 1000)
    plans = [make_plan(CONFIGS["four"], s) for s in range(FIRST_SEED, FIRST_SEED + count)]
    found, _ = results("four", SEEDS)
    behaviours = {b for p in plans for bs in p.byzantine.values() for b in bs}
    assert behaviours == set(BEHAVIOURS) or count < 50
    if count >= 200:
        assert any(p.faults.partitions for p in plans)
        assert any(c.mid_batch_after is not None for p in plans for c in p.crashes)
        assert any(p.silent_at for p in plans)
        assert any(p.faults.loss >= 0.3 for p in plans)
        assert any(r.max_round >= 2 for r in found)
        assert sum(r.evidence for r in found) > 0 and sum(r.rejected for r in found) > 0
        assert sum(r.heights for r in found) >= 3 * len(found)


def test_replay() -> None:
    """``LEDGER_SIM_SEED=n [LEDGER_SIM_CONFIG=four|weighted7] [LEDGER_SIM_TRACE=1]``.

    Without LEDGER_SIM_SEED it replays the first seed, so the replay path itself is tested."""
    seed = os.environ.get("LEDGER_SIM_SEED", str(FIRST_SEED))
    config = os.environ.get("LEDGER_SIM_CONFIG", "four")
    print(f"\n{make_plan(CONFIGS[config], int(seed))}")
    result = run_seed(config, int(seed), tracing=tracing_requested())
    print("\n".join(result.trace))
    print(_summary(config, (result,), 0.0))
    assert result.ok, result.describe()


def test_a_seed_runs_identically_twice() -> None:
    for seed in (FIRST_SEED, FIRST_SEED + 7, FIRST_SEED + 13):
        first, second = run_seed("four", seed), run_seed("four", seed)
        assert first.decisions == second.decisions
        assert (first.messages, first.dropped, first.live_after_ms, first.max_round) == (
            second.messages,
            second.dropped,
            second.live_after_ms,
            second.max_round,
        )


def test_the_checker_sees_forks_bad_certificates_and_double_signing() -> None:
    config = CONFIGS["four"]
    world = World(config, make_plan(config, FIRST_SEED))
    assert world.run().ok
    honest = world.honest[0]
    real = honest.blocks[1]
    fork = make_block(world.genesis, world.validators, "v03", 999, salt="fork")
    forged = CommitCertificate(
        1,
        0,
        fork.block_hash,
        tuple(CommitSignature(s.validator, s.signature) for s in real.certificate.signatures),
    )
    world.on_decide(honest, Decide(1, 0, fork, forged, real.proposal, real.precommits))
    twin = Prevote.sign(validator_key(0), "v00", real.proposal.chain_id, 9, 0, fork.block_hash)
    world.on_honest_signed(honest, twin)
    world.on_honest_signed(honest, Prevote.sign(validator_key(0), "v00", twin.chain_id, 9, 0, None))
    text = "\n".join(world.violations)
    assert "SAFETY" in text and "invalid certificate" in text and "signed two prevotes" in text


def test_without_persistence_restarted_validators_sign_twice() -> None:
    """What the persistence rule protects against: with honest nodes restarting from nothing
    (their record thrown away), the simulator catches a validator signing two messages."""
    config = CONFIGS["four"]
    caught = []
    for seed in range(FIRST_SEED, FIRST_SEED + 200):
        plan = make_plan(config, seed)
        if not plan.crashes:
            continue
        world = World(config, plan)
        for node in world.honest:
            original = node.restart

            def forgetful(node=node, original=original) -> None:
                node.record = None
                original()

            node.restart = forgetful  # type: ignore[method-assign]
        result = world.run()
        if any("signed two" in v for v in result.violations):
            caught.append(seed)
            if len(caught) >= 3:
                break
    assert caught, "no seed showed an amnesiac validator double-signing"
