"""Prometheus metrics of the BFT engine (served by the node's ``/metrics``)."""

from prometheus_client import Counter, Gauge, Histogram

HEIGHT = Gauge("ledger_consensus_height", "Height the consensus engine is deciding")
ROUND = Gauge("ledger_consensus_round", "Round of that height")
PEERS = Gauge("ledger_consensus_peers_connected", "Validators with an authenticated link")
PEER_SEEN = Gauge(
    "ledger_consensus_peer_last_seen_seconds",
    "Unix time of the last message from each peer",
    ["peer"],
)
LAST_COMMIT_SIGNED = Gauge(
    "ledger_consensus_last_commit_signed",
    "1 if the validator's signature is in the newest block's commit certificate",
    ["validator"],
)
LAST_COMMIT_SIGNATURES = Gauge(
    "ledger_consensus_last_commit_signatures", "Signatures in the newest commit certificate"
)
DECIDED_ROUND = Histogram(
    "ledger_consensus_decided_round",
    "Round in which each height was decided",
    buckets=(0, 1, 2, 3, 5, 10, 20),
)
REJECTED = Counter(
    "ledger_consensus_rejected_messages", "Consensus messages refused (signature, membership)"
)
EVIDENCE = Counter("ledger_consensus_equivocations", "Conflicting messages signed by a validator")
INVALID_BLOCKS = Counter(
    "ledger_consensus_invalid_proposals", "Proposed or fetched blocks that failed validation"
)
SYNCED = Counter("ledger_consensus_blocks_fetched", "Blocks fetched from peers (catch-up)")
DROPPED = Counter("ledger_consensus_dropped", "Frames dropped (full queues, over budget)", ["what"])
