from ledger.store.store import Store
from ledger.store.transactions import StoredTx, signed_transaction

__all__ = ["Store", "StoredTx", "signed_transaction"]
