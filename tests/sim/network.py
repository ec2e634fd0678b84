"""The simulated clock, the event queue and the faulty network.

Events run in (time, sequence) order, so equal times keep their scheduling order and a run
is a pure function of the seed. Before ``heal_at`` the network loses, delays (and so
reorders) and duplicates messages, and partitions cut it; from ``heal_at`` on every message
between live nodes arrives within ``delay_after_heal`` milliseconds (duplicates may still
occur: they are harmless, and the nodes must cope).
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any


class Clock:
    """Simulated milliseconds and the queue of what happens when."""

    def __init__(self) -> None:
        self.now = 0
        self._queue: list[tuple[int, int, Callable[[], None]]] = []
        self._seq = 0
        self.events = 0

    def at(self, time: int, action: Callable[[], None]) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (max(time, self.now), self._seq, action))

    def after(self, delay: int, action: Callable[[], None]) -> None:
        self.at(self.now + delay, action)

    def run(self, until: int, stop: Callable[[], bool]) -> None:
        while self._queue and not stop():
            time, _, action = self._queue[0]
            if time > until:
                break
            heapq.heappop(self._queue)
            self.now = time
            self.events += 1
            action()
        self.now = max(self.now, min(until, self._queue[0][0] if self._queue else until))


@dataclass(frozen=True)
class Partition:
    """From ``start`` to ``end`` only nodes of the same group hear each other."""

    start: int
    end: int
    groups: tuple[frozenset[int], ...]

    def cuts(self, a: int, b: int, now: int) -> bool:
        if not self.start <= now < self.end:
            return False
        return not any(a in g and b in g for g in self.groups)


@dataclass(frozen=True)
class NetworkFaults:
    heal_at: int
    loss: float
    duplicate: float
    delay: tuple[int, int]  # before heal_at
    delay_after_heal: tuple[int, int]
    partitions: tuple[Partition, ...] = ()


@dataclass
class Network:
    clock: Clock
    rng: random.Random
    faults: NetworkFaults
    deliver: Callable[[int, int, Any], None]  # (destination, source, payload)
    sent: int = 0
    dropped: int = 0
    duplicated: int = 0
    log: list[str] = field(default_factory=list)

    def send(self, src: int, dst: int, payload: Any) -> None:
        self.sent += 1
        now = self.clock.now
        healed = now >= self.faults.heal_at
        if not healed:
            if any(p.cuts(src, dst, now) for p in self.faults.partitions):
                self.dropped += 1
                return
            if self.rng.random() < self.faults.loss:
                self.dropped += 1
                return
        low, high = self.faults.delay_after_heal if healed else self.faults.delay
        copies = 2 if self.rng.random() < self.faults.duplicate else 1
        self.duplicated += copies - 1
        for _ in range(copies):
            delay = self.rng.randint(low, high)
            self.clock.after(delay, lambda: self.deliver(dst, src, payload))

    def broadcast(self, src: int, peers: Sequence[int], payload: Any) -> None:
        for dst in peers:
            if dst != src:
                self.send(src, dst, payload)
