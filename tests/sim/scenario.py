"""Seeded scenarios: a fault plan from a seed, a run of the validators under it, the checks.

Safety, checked on every event: no two honest nodes decide different blocks at a height (nor
one node twice, across restarts); every decided block extends the decided chain; every
certificate an honest node produces is valid under ``ledger.verify.verify_commit``; no honest
validator ever signs two different messages for one height, round and kind (across crashes:
the persistence rule).

Validator set changes (config ``changes``): the set of each height is fixed in advance
(``SimConfig.changes``), every node runs from the start, and one that is not in a height's
set follows it without voting. Each decided block must name its height's set and the next
height's (the handover of spec section 4), and each certificate must be valid for its
height's set: a removed validator's signature makes it invalid.

Liveness: ``heal_at`` ends the faults (partitions heal, loss stops, crashed honest validators
are back, delays are at most ``delay_after_heal``); Byzantine validators (less than a third
of the power) keep misbehaving. Every honest node must then decide ``heights_after_heal``
heights beyond the highest height any honest node had decided at ``heal_at`` within
``liveness_bound_ms`` of simulated time.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass, field
from functools import partial

from consensus.tendermint.messages import Message
from consensus.tendermint.proposer import ProposerPriorities
from consensus.tendermint.state import Decide, Timeouts
from ledger.domains.validator.verify import verify_commit
from ledger.errors import LedgerError
from ledger.model import Header, ValidatorSet
from tests.sim.chain import genesis_header
from tests.sim.crypto import CachingVerifier, validator_set
from tests.sim.network import Clock, Network, NetworkFaults, Partition
from tests.sim.node import BEHAVIOURS, ByzantineNode, SimNode

TIMEOUTS = Timeouts(
    propose_ms=300,
    propose_delta_ms=100,
    prevote_ms=100,
    prevote_delta_ms=50,
    precommit_ms=100,
    precommit_delta_ms=50,
)


@dataclass(frozen=True)
class SimConfig:
    name: str
    powers: tuple[int, ...]  # of every node; 0: not in the genesis set
    max_byzantine: int  # at most this many, and with less than a third of every set's power
    heights_after_heal: int = 2
    liveness_bound_ms: int = 10_000
    # (first height, powers): the set from that height on, in increasing height order
    changes: tuple[tuple[int, tuple[int, ...]], ...] = ()
    min_target: int = 0  # the liveness target is at least this height

    @property
    def total_power(self) -> int:
        return sum(self.powers)

    def powers_at(self, height: int) -> tuple[int, ...]:
        powers = self.powers
        for first, changed in self.changes:
            if first <= height:
                powers = changed
        return powers

    def tolerates(self, byzantine: list[int]) -> bool:
        """The Byzantine nodes hold less than a third of the power of every set."""
        return all(
            3 * sum(powers[i] for i in byzantine) < sum(powers)
            for powers in (self.powers, *(p for _, p in self.changes))
        )


CONFIGS = {
    "four": SimConfig("four", (1, 1, 1, 1), max_byzantine=1),
    "weighted7": SimConfig("weighted7", (1, 1, 2, 2, 3, 3, 4), max_byzantine=2),
    # v04 leaves at height 2, v05 (a node from the start, following) joins at 3, v00's
    # power doubles at 5: each change moves at most a third of the power, as the rules say
    "changes": SimConfig(
        "changes",
        (1, 1, 1, 1, 1, 0),
        max_byzantine=1,
        changes=((2, (1, 1, 1, 1, 0, 0)), (3, (1, 1, 1, 1, 0, 1)), (5, (2, 1, 1, 1, 0, 1))),
        min_target=6,
    ),
}


@dataclass(frozen=True)
class Crash:
    node: int
    at: int
    restart_at: int
    mid_batch_after: int | None  # crash after this many outputs of the next batch


@dataclass(frozen=True)
class Plan:
    config: str
    seed: int
    faults: NetworkFaults
    crashes: tuple[Crash, ...]
    byzantine: dict[int, frozenset[str]]
    silent_at: dict[int, int]  # Byzantine validators that stop for good at this time
    commit_wait_ms: int
    build_ms: int
    gossip_ms: int = 100


def make_plan(config: SimConfig, seed: int) -> Plan:
    rng = random.Random(f"plan/{config.name}/{seed}")
    n = len(config.powers)
    heal_at = rng.randint(500, 3000)
    quiet = rng.random() < 0.1  # a tenth of the seeds: no network faults at all
    faults = NetworkFaults(
        heal_at=heal_at,
        loss=0.0 if quiet else rng.choice([0.0, 0.05, 0.15, 0.3, 0.5]),
        duplicate=0.0 if quiet else rng.choice([0.0, 0.05, 0.2]),
        delay=(1, 5 if quiet else rng.choice([5, 20, 100, 300, 800])),
        delay_after_heal=(1, 30),
        partitions=() if quiet or rng.random() < 0.5 else (_partition(rng, n, heal_at),),
    )
    byzantine: dict[int, frozenset[str]] = {}
    silent_at: dict[int, int] = {}
    count = rng.randint(0, config.max_byzantine)
    candidates = list(range(n))
    rng.shuffle(candidates)
    for index in candidates:
        if len(byzantine) == count:
            break
        if config.tolerates([*byzantine, index]):
            picked = [b for b in BEHAVIOURS if rng.random() < 0.5] or [rng.choice(BEHAVIOURS)]
            byzantine[index] = frozenset(picked)
            if rng.random() < 0.15:
                silent_at[index] = rng.randint(0, heal_at)
    crashes: list[Crash] = []
    honest = [i for i in range(n) if i not in byzantine]
    if rng.random() < 0.5:
        for index in rng.sample(honest, rng.randint(1, len(honest) // 2 + 1)):
            at = rng.randint(0, heal_at - 2)
            crashes.append(
                Crash(
                    node=index,
                    at=at,
                    restart_at=rng.randint(at + 1, heal_at - 1),
                    mid_batch_after=rng.choice([None, 0, 1, 2, 3]),
                )
            )
    return Plan(
        config=config.name,
        seed=seed,
        faults=faults,
        crashes=tuple(crashes),
        byzantine=byzantine,
        silent_at=silent_at,
        commit_wait_ms=rng.randint(50, 300),
        build_ms=rng.randint(0, 50),
    )


def _partition(rng: random.Random, n: int, heal_at: int) -> Partition:
    start = rng.randint(0, heal_at // 2)
    end = rng.randint(start + 1, heal_at)
    order = list(range(n))
    rng.shuffle(order)
    cuts = sorted(rng.sample(range(1, n), rng.randint(1, 2)))
    groups = [order[a:b] for a, b in zip([0, *cuts], [*cuts, n], strict=True)]
    return Partition(start, end, tuple(frozenset(g) for g in groups))


@dataclass
class SimResult:
    config: str
    seed: int
    violations: list[str]
    heights: int  # the highest height an honest node decided
    heal_height: int
    live_after_ms: int | None  # from heal_at to the liveness target, simulated
    max_round: int
    messages: int
    dropped: int
    verified: int  # real SM2 verifications (cache misses)
    verify_calls: int  # verifications the state machines asked for
    evidence: int
    rejected: int
    crashes: int
    decisions: dict[int, str] = field(default_factory=dict)
    signers: dict[str, int] = field(default_factory=dict)  # certificates each validator signed
    trace: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def replay_command(self) -> str:
        return (
            f"LEDGER_SIM_SEED={self.seed} LEDGER_SIM_CONFIG={self.config} LEDGER_SIM_TRACE=1 "
            "pytest tests/test_bft_sim.py -k replay -s"
        )

    def describe(self) -> str:
        lines = [
            f"seed {self.seed} ({self.config}) FAILED:",
            *(f"  - {v}" for v in self.violations[:10]),
            f"  replay: {self.replay_command()}",
        ]
        return "\n".join(lines)


class World:
    """One simulation: the nodes, the clock, the network, and the safety checks."""

    def __init__(self, config: SimConfig, plan: Plan, *, tracing: bool = False) -> None:
        self.config = config
        self.plan = plan
        self.tracing = tracing
        self.trace_lines: list[str] = []
        self.clock = Clock()
        self.rng = random.Random(f"run/{config.name}/{plan.seed}")
        self.validators: ValidatorSet = validator_set(config.powers)
        self.genesis = genesis_header(self.validators)
        self.timeouts = TIMEOUTS
        self.verifier = CachingVerifier()
        self._priorities = [ProposerPriorities.initial(self.validators)]
        self.signers: dict[str, int] = {}
        self.network = Network(
            self.clock, random.Random(f"net/{config.name}/{plan.seed}"), plan.faults, self._deliver
        )
        self.nodes: list[SimNode] = [
            ByzantineNode(self, i, plan.byzantine[i]) if i in plan.byzantine else SimNode(self, i)
            for i in range(len(config.powers))
        ]
        self.violations: list[str] = []
        self.decided: dict[int, str] = {0: self.genesis.block_hash}
        self._signed: dict[tuple[str, int, int, str], tuple[str | None, int]] = {}
        self._certificates: set[tuple[object, ...]] = set()
        self.heal_height: int | None = None
        self.target: int | None = None
        self.live_at: int | None = None
        self.evidence = 0
        self.rejected = 0
        self.crashes = 0
        self.max_round = 0

    # -- plumbing -------------------------------------------------------------------------

    def validators_at(self, height: int) -> ValidatorSet:
        return validator_set(self.config.powers_at(height))

    def priorities(self, height: int) -> ProposerPriorities:
        while len(self._priorities) < height:
            last = self._priorities[-1]
            validators = self.validators_at(len(self._priorities) + 1)
            self._priorities.append(
                last.next_height()
                if validators == last.validators
                else last.with_validators(validators)
            )
        return self._priorities[height - 1]

    def trace(self, node: SimNode, text: str) -> None:
        if self.tracing:
            kind = "byz" if node.byzantine else "   "
            self.trace_lines.append(f"{self.clock.now:>7} {kind} {node.id}: {text}")

    def _deliver(self, dst: int, src: int, payload: object) -> None:
        self.nodes[dst].deliver(src, payload)

    @property
    def honest(self) -> list[SimNode]:
        return [n for n in self.nodes if not n.byzantine]

    # -- checks ---------------------------------------------------------------------------

    def on_honest_signed(self, node: SimNode, message: Message[Header]) -> None:
        self.max_round = max(self.max_round, message.round)
        key = (message.sender, message.height, message.round, message.TYPE)
        what = (message.block_hash, message.key[5])
        first = self._signed.setdefault(key, what)
        if first != what:
            self.violations.append(
                f"honest {node.id} signed two {message.TYPE}s at h{message.height} "
                f"r{message.round}: {first} and {what}"
            )

    def on_decide(self, node: SimNode, decision: Decide[Header]) -> None:
        if node.byzantine:
            return
        height, block = decision.height, decision.value
        first = self.decided.setdefault(height, block.block_hash)
        if first != block.block_hash:
            self.violations.append(
                f"SAFETY: {node.id} decided {block.block_hash[:16]} at h{height}, "
                f"another honest node decided {first[:16]}"
            )
        if block.prev_hash != self.decided.get(height - 1, block.prev_hash):
            self.violations.append(f"{node.id}: block h{height} does not extend h{height - 1}")
        validators, following = self.validators_at(height), self.validators_at(height + 1)
        if (block.validators_hash, block.next_validators_hash) != (
            validators.hash,
            following.hash,
        ):
            self.violations.append(f"{node.id}: block h{height} names the wrong validator sets")
        cert = decision.certificate
        ident = (height, cert.round, cert.block_hash, cert.signatures)
        if ident not in self._certificates:
            self._certificates.add(ident)
            try:
                verify_commit(cert, block, validators, step=f"h{height}")
            except LedgerError as exc:
                self.violations.append(f"{node.id}: invalid certificate at h{height}: {exc}")
            for s in cert.signatures:
                self.signers[s.validator] = self.signers.get(s.validator, 0) + 1
        self._check_live()

    def _on_heal(self) -> None:
        self.heal_height = max(n.tip_height for n in self.honest)
        self.target = max(self.heal_height + self.config.heights_after_heal, self.config.min_target)
        for node in self.nodes:
            self.trace(node, f"network healed; target h{self.target}")
        self._check_live()

    def _check_live(self) -> None:
        if (
            self.target is not None
            and self.live_at is None
            and all(n.tip_height >= self.target for n in self.honest)
        ):
            self.live_at = self.clock.now

    # -- the run --------------------------------------------------------------------------

    def run(self) -> SimResult:
        plan, clock = self.plan, self.clock
        for node in self.nodes:
            clock.at(self.rng.randint(0, 50), node.boot)
        for crash in plan.crashes:
            node = self.nodes[crash.node]
            clock.at(crash.at, partial(node.crash, crash.mid_batch_after))
            clock.at(crash.restart_at, node.restart)
        for index, at in plan.silent_at.items():
            clock.at(at, partial(self.nodes[index].crash, None))
        clock.at(plan.faults.heal_at, self._on_heal)
        deadline = plan.faults.heal_at + self.config.liveness_bound_ms
        clock.run(until=deadline, stop=lambda: self.live_at is not None or bool(self.violations))
        if self.live_at is None and not self.violations:
            heights = {n.id: n.tip_height for n in self.honest}
            self.violations.append(
                f"LIVENESS: honest nodes at heights {heights}, target h{self.target}, not reached "
                f"within {self.config.liveness_bound_ms} ms after the network healed"
            )
        return SimResult(
            config=self.config.name,
            seed=plan.seed,
            violations=self.violations,
            heights=max(n.tip_height for n in self.honest),
            heal_height=self.heal_height or 0,
            live_after_ms=None if self.live_at is None else self.live_at - plan.faults.heal_at,
            max_round=self.max_round,
            messages=self.network.sent,
            dropped=self.network.dropped,
            verified=self.verifier.verified,
            verify_calls=self.verifier.calls,
            evidence=self.evidence,
            rejected=self.rejected,
            crashes=self.crashes,
            decisions=dict(sorted(self.decided.items())),
            signers=dict(sorted(self.signers.items())),
            trace=self.trace_lines,
        )


def run_seed(config_name: str, seed: int, *, tracing: bool = False) -> SimResult:
    config = CONFIGS[config_name]
    return World(config, make_plan(config, seed), tracing=tracing).run()


def run_seeds(config_name: str, seeds: list[int]) -> list[SimResult]:
    """Run seeds (in a worker process); traces are dropped to keep results small."""
    results = []
    for seed in seeds:
        result = run_seed(config_name, seed)
        result.trace = []
        results.append(result)
    return results


def tracing_requested() -> bool:
    return os.environ.get("LEDGER_SIM_TRACE") == "1"
