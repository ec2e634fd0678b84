"""Domain state: namespaced key-value data derived from the chain, with overlays.

The committed state is a ``StateStore``. A block executes its transactions in an
``Overlay`` over it (each transaction in a child overlay, merged only if the transaction
passes), and the node merges the block's overlay into the store once the block is stored.
Values are JSON-like and treated as immutable: replace them, never mutate them in place.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol

_DELETED = object()


class StateView(Protocol):
    def get(self, namespace: str, key: str) -> Any: ...

    def items(self, namespace: str) -> Iterator[tuple[str, Any]]: ...


class StateStore:
    def __init__(self) -> None:
        self.data: dict[str, dict[str, Any]] = {}

    def get(self, namespace: str, key: str) -> Any:
        return self.data.get(namespace, {}).get(key)

    def items(self, namespace: str) -> Iterator[tuple[str, Any]]:
        yield from list(self.data.get(namespace, {}).items())

    def count(self, namespace: str) -> int:
        return len(self.data.get(namespace, {}))

    def overlay(self) -> Overlay:
        return Overlay(self)


class Overlay:
    """Writes kept apart from ``parent`` until ``merge`` (into an overlay) or ``commit``."""

    def __init__(self, parent: StateStore | Overlay) -> None:
        self.parent = parent
        self.writes: dict[str, dict[str, Any]] = {}

    def get(self, namespace: str, key: str) -> Any:
        mine = self.writes.get(namespace)
        if mine is not None and key in mine:
            value = mine[key]
            return None if value is _DELETED else value
        return self.parent.get(namespace, key)

    def put(self, namespace: str, key: str, value: Any) -> None:
        self.writes.setdefault(namespace, {})[key] = value

    def delete(self, namespace: str, key: str) -> None:
        self.writes.setdefault(namespace, {})[key] = _DELETED

    def items(self, namespace: str) -> Iterator[tuple[str, Any]]:
        mine = self.writes.get(namespace, {})
        for key, value in self.parent.items(namespace):
            if key not in mine:
                yield key, value
        for key, value in mine.items():
            if value is not _DELETED:
                yield key, value

    def child(self) -> Overlay:
        return Overlay(self)

    def merge(self) -> None:
        """Fold these writes into the parent overlay."""
        if not isinstance(self.parent, Overlay):
            raise TypeError("merge() folds into an overlay; use commit() for the store")
        into = self.parent.writes
        for namespace, writes in self.writes.items():
            mine = into.get(namespace)
            if mine is None:
                into[namespace] = writes  # handed over: self.writes is replaced below
            else:
                mine.update(writes)
        self.writes = {}

    def commit(self) -> None:
        """Apply these writes to the committed store."""
        if not isinstance(self.parent, StateStore):
            raise TypeError("commit() applies to the store; use merge() for an overlay")
        for namespace, writes in self.writes.items():
            table = self.parent.data.setdefault(namespace, {})
            for key, value in writes.items():
                if value is _DELETED:
                    table.pop(key, None)
                else:
                    table[key] = value
        self.writes = {}


class PendingState:
    """The committed state with the mempool's domain transactions applied, in mempool order:
    what admission checks a new transaction against.

    It remembers which transaction last wrote each key. After a block that took a prefix of
    the mempool, :meth:`drop` takes the block's transactions out (a key they were the last
    to write shows the committed value again) instead of re-running every pending
    transaction over the new state. The keys the remaining transactions wrote keep the
    values computed at their admission."""

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self.view = store.overlay()
        self._keys: dict[str, list[tuple[str, str]]] = {}
        self._writer: dict[tuple[str, str], str] = {}

    def apply(self, tx_id: str, run: Callable[[Overlay], None]) -> None:
        """``run`` the transaction in a child of the view; its writes land if it returns."""
        child = self.view.child()
        run(child)
        keys = [(namespace, key) for namespace, writes in child.writes.items() for key in writes]
        child.merge()
        if keys:
            self._keys[tx_id] = keys
            writer = self._writer
            for k in keys:
                writer[k] = tx_id

    def drop(self, tx_ids: Iterable[str]) -> None:
        """Take out transactions that the store now holds, oldest first."""
        writes = self.view.writes
        for tx_id in tx_ids:
            for k in self._keys.pop(tx_id, ()):
                if self._writer.get(k) == tx_id:
                    del self._writer[k]
                    namespace, key = k
                    table = writes.get(namespace)
                    if table is not None:
                        table.pop(key, None)
