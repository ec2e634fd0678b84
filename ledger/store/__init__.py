from ledger.store.store import Store, StoredTx, signed_transaction

__all__ = ["Store", "StoredTx", "signed_transaction"]
