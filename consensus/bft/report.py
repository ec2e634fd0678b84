"""What the engine reports: the ``consensus`` object of ``/v1/checkpoint``, the
``ledger_consensus_*`` series of ``/metrics``, and the refused messages and equivocations the
machine reports."""

from __future__ import annotations

import logging

from consensus import metrics
from consensus.bft.config import BftApplication, wall_clock_ms
from consensus.bft.proposal import ProposalValidator
from consensus.bft.sync import BlockSync
from consensus.p2p import P2PNetwork
from consensus.tendermint import Evidence, Rejected, TendermintMachine
from consensus.value import ProposedBlock
from ledger.model import CommitCertificate

log = logging.getLogger("ledger.consensus")


class EngineReport:
    def __init__(
        self,
        validator_id: str,
        app: BftApplication,
        *,
        machine: TendermintMachine[ProposedBlock],
        p2p: P2PNetwork,
        proposals: ProposalValidator,
        sync: BlockSync,
    ) -> None:
        self.validator_id = validator_id
        self.app = app
        self.machine = machine
        self.p2p = p2p
        self.proposals = proposals
        self.sync = sync
        self.last_commit: CommitCertificate | None = None
        self.rejected = 0
        self.evidence = 0

    def on_evidence(self, out: Evidence[ProposedBlock]) -> None:
        self.evidence += 1
        metrics.EVIDENCE.inc()
        a, b = out.equivocation.first, out.equivocation.second
        log.warning(
            "equivocation by %s at %d/%d: %s %s and %s",
            a.sender,
            a.height,
            a.round,
            a.TYPE,
            a.block_hash,
            b.block_hash,
        )

    def on_rejected(self, out: Rejected[ProposedBlock]) -> None:
        self.rejected += 1
        metrics.REJECTED.inc()
        log.info("rejected %s from %s: %s", out.message.TYPE, out.message.sender, out.reason)

    def update_metrics(self, active: bool) -> None:
        m = self.machine
        metrics.HEIGHT.set(max(m.height, self.app.tip.height + 1))
        metrics.ROUND.set(m.round if active else 0)
        metrics.PEERS.set(len(self.p2p.links))
        for peer, ms in self.p2p.seen.items():
            metrics.PEER_SEEN.labels(peer).set(ms / 1000)
        commit = self.last_commit
        if commit is not None:
            signed = {s.validator for s in commit.signatures}
            for v in self.app.validators_for(self.app.tip.height + 1).validators:
                metrics.LAST_COMMIT_SIGNED.labels(v.id).set(1 if v.id in signed else 0)
            metrics.LAST_COMMIT_SIGNATURES.set(len(commit.signatures))

    def status(
        self, *, active: bool, halted: str | None, last_error: str | None
    ) -> dict[str, object]:
        m = self.machine
        tip = self.app.tip.height
        commit = self.last_commit
        now_ms = wall_clock_ms()
        return {
            "engine": "bft",
            "validator": self.validator_id,
            "height": m.height if active else tip + 1,
            "round": m.round if active else 0,
            "step": m.step.name.lower() if active else "waiting",
            "proposer": m.proposer(m.round) if active else None,
            "locked_round": m.locked_round if active else -1,
            "peers": self.p2p.connected,
            "peers_seen": {
                p: {"last_seen_ms_ago": now_ms - ms, "connected": p in self.p2p.links}
                for p, ms in sorted(self.p2p.seen.items())
            },
            "last_commit": None
            if commit is None
            else {
                "height": commit.height,
                "round": commit.round,
                "signers": [s.validator for s in commit.signatures],
            },
            "rejected_messages": self.rejected,
            "equivocations": self.evidence,
            "invalid_blocks": self.proposals.invalid,
            "blocks_fetched": self.sync.fetched,
            "halted": halted,
            "last_error": last_error,
        }
