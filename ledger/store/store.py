"""The ledger's storage: SQLite (default, WAL) or PostgreSQL, through SQLAlchemy Core.

A block, its transactions, its tree nodes and the membership it changes are written in one
database transaction, so after a crash a block is wholly there or wholly absent.

:class:`Store` is one object over one engine; its methods live by concern in
``blocks`` (genesis, tip, writing blocks), ``transactions`` (reading transactions and
export pages), ``tree_nodes`` (stored Merkle nodes for proofs), ``members`` (the
membership tables), ``consensus`` (the BFT validators' signed state), ``cosignatures``
(checkpoint history and witness cosignatures) and ``access_log`` (the read-access log).
"""

from __future__ import annotations

import threading

from alembic import command
from alembic.config import Config
from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError

from ledger.errors import StorageError
from ledger.store import schema as t
from ledger.store.access_log import AccessLog
from ledger.store.blocks import Blocks
from ledger.store.consensus import ConsensusRecords
from ledger.store.cosignatures import Cosignatures
from ledger.store.engine import MIGRATIONS, create_db_engine
from ledger.store.members import Members
from ledger.store.transactions import Transactions
from ledger.store.tree_nodes import TreeNodes


class Store(Blocks, Transactions, TreeNodes, Members, ConsensusRecords, Cosignatures, AccessLog):
    def __init__(self, url: str) -> None:
        self.url = url
        self._access_lock = threading.Lock()
        try:
            self.engine = create_db_engine(url)
            self.migrate()
        except SQLAlchemyError as exc:
            raise StorageError(f"cannot open the database: {exc}") from exc

    def migrate(self) -> None:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def close(self) -> None:
        self.engine.dispose()

    def count(self, table: str) -> int:
        tab = t.metadata.tables[table]
        with self.engine.connect() as conn:
            return int(conn.scalar(select(func.count()).select_from(tab)) or 0)
