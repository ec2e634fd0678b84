"""Building a block from admitted transactions: pure, deterministic given its inputs.

Shared by every consensus engine: the proposer calls :func:`build_block`; the result holds
the header, the transactions that still pass the rules (re-checked in block order against
the evolving state), those that no longer do, and the tree nodes the store must keep.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger.domains.member.state import MemberRegistry
from ledger.domains.state import Overlay, StateStore
from ledger.domains.validator.state import ValidatorSchedule
from ledger.errors import LedgerError
from ledger.execution import ExecutionHost, execute
from ledger.merkle import SM3, CompactRange, MemoryTree, Node
from ledger.model import CommitCertificate, Header, SignedTransaction, ValidatorSet
from ledger.rules import check_not_seen, check_timestamp


@dataclass(frozen=True)
class Block:
    header: Header
    commit: CommitCertificate
    transactions: tuple[SignedTransaction, ...]


@dataclass
class BuiltBlock:
    header: Header
    transactions: list[SignedTransaction]
    rejected: list[tuple[SignedTransaction, LedgerError]]
    block_nodes: list[tuple[Node, bytes]]
    log_nodes: list[tuple[Node, bytes]]
    registry: MemberRegistry
    log: CompactRange
    domain_view: Overlay
    member_changes: set[str] = field(default_factory=set)
    # the schedule after this block's validator set changes (None: built without one)
    schedule: ValidatorSchedule | None = None


def upper_nodes(nodes: Iterable[tuple[Node, bytes]]) -> list[tuple[Node, bytes]]:
    """Leaves are stored with their transactions; the node tables keep levels >= 1."""
    return [(node, h) for node, h in nodes if node[0] > 0]


def next_timestamp(prev: Header, now_ms: int) -> int:
    return max(now_ms, prev.timestamp + 1)


def build_block(
    *,
    prev: Header,
    log: CompactRange,
    registry: MemberRegistry,
    domain_state: StateStore | None = None,
    params: Mapping[str, Any] | None = None,
    candidates: Iterable[SignedTransaction],
    now_ms: int,
    tolerance_ms: int,
    proposer: str,
    validators: ValidatorSet,
    next_validators: ValidatorSet,
    schedule: ValidatorSchedule | None = None,
) -> BuiltBlock:
    """With ``schedule``, validator set changes are checked and recorded in a copy of it
    (``BuiltBlock.schedule``); without one they are refused."""
    height = prev.height + 1
    changes = None if schedule is None else schedule.begin_block()
    timestamp = next_timestamp(prev, now_ms)
    state = registry.copy()
    host = ExecutionHost(state, changes, params)
    view = (domain_state or StateStore()).overlay()
    log_after = CompactRange(log.hasher, log.size, log.frontier)
    tree = MemoryTree(SM3)
    accepted: list[SignedTransaction] = []
    rejected: list[tuple[SignedTransaction, LedgerError]] = []
    new_log_nodes: list[tuple[Node, bytes]] = []
    seen: set[str] = set()
    for tx in candidates:
        try:
            check_not_seen(tx, seen)
            check_timestamp(tx, now_ms, tolerance_ms)
            execute(tx, host, view, height=height, time_ms=timestamp)
        except LedgerError as exc:
            rejected.append((tx, exc))
            continue
        seen.add(tx.tx_id)
        accepted.append(tx)
        tree.append(tx.leaf_hash)
        new_log_nodes.extend(log_after.append(tx.leaf_hash))
    header = Header(
        chain_id=prev.chain_id,
        height=height,
        prev_hash=prev.block_hash,
        timestamp=timestamp,
        tx_count=len(accepted),
        tx_root=tree.root().hex(),
        log_size=log_after.size,
        log_root=log_after.root().hex(),
        validators_hash=validators.hash,
        next_validators_hash=next_validators.hash,
        proposer=proposer,
    )
    after: ValidatorSchedule | None = None
    if schedule is not None and changes is not None:
        after = schedule.copy()
        after.record(height, changes)
    return BuiltBlock(
        header=header,
        transactions=accepted,
        rejected=rejected,
        block_nodes=upper_nodes(tree.nodes.items()),
        log_nodes=upper_nodes(new_log_nodes),
        registry=state,
        log=log_after,
        domain_view=view,
        member_changes=state.changed,
        schedule=after,
    )
