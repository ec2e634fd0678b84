"""Prometheus metrics of a node."""

from prometheus_client import Counter, Gauge, Histogram

ADMITTED = Counter("ledger_transactions_admitted", "Transactions admitted to the mempool")
REJECTED = Counter("ledger_transactions_rejected", "Transactions refused", ["code"])
COMMITTED = Counter("ledger_transactions_committed", "Transactions committed in blocks")
BLOCKS = Counter("ledger_blocks_committed", "Blocks committed")
HEIGHT = Gauge("ledger_height", "Height of the newest block")
LOG_SIZE = Gauge("ledger_log_size", "Transactions in the log")
MEMPOOL = Gauge("ledger_mempool_transactions", "Transactions waiting for a block")
COMMIT_SECONDS = Histogram("ledger_block_store_seconds", "Time to store a block")
BLOCK_TXS = Histogram(
    "ledger_block_transactions",
    "Transactions per block",
    buckets=(0, 1, 10, 100, 500, 1000, 2000, 5000, 10000),
)
