"""What the node keeps of evidence off chain, on disk under its home directory.

* ``HOME/evidence/metadata/<deposit id>.json`` — the restricted metadata document of a
  deposit with its salt, accepted only when it matches the deposit's on-chain commitment;
* ``HOME/files/ab/cd/<sm3>`` — the optional content-addressed store of uploaded files, by
  their SM3 (``ab``, ``cd``: its first two bytes), accepted only when the hash is one of the
  deposit's files and the size is the deposited size;

Nothing is deleted: ceasing processing (PIPL Art. 47) stops the serving, not the storage.
Writes are atomic (temporary file, fsync, rename), so a crash leaves either the old or the new
file.

Node-side storage, not part of the evidence domain (whose modules do no I/O): the evidence
routes (api/domains/evidence.py) and the portal (api/portal) are its only users, and reach
the store of the node serving a request with :func:`store_of`.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi import Request

from ledger.canonical import parse_json

_LOCK = threading.Lock()


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


class EvidenceStore:
    def __init__(self, home: Path) -> None:
        self.home = Path(home)
        self.metadata_dir = self.home / "evidence" / "metadata"
        self.files_dir = self.home / "files"
        self._metadata: dict[str, dict[str, Any]] | None = None

    # --- metadata ------------------------------------------------------------------------

    def _load_all(self) -> dict[str, dict[str, Any]]:
        if self._metadata is None:
            loaded: dict[str, dict[str, Any]] = {}
            if self.metadata_dir.is_dir():
                for path in self.metadata_dir.glob("*.json"):
                    try:
                        loaded[path.stem] = parse_json(path.read_bytes())
                    except (OSError, ValueError):
                        continue
            self._metadata = loaded
        return self._metadata

    def metadata(self, deposit_id: str) -> dict[str, Any] | None:
        """``{"deposit_id", "salt", "metadata", "registered_by", "registered_at_ms"}``."""
        return self._load_all().get(deposit_id)

    def all_metadata(self) -> Iterator[tuple[str, dict[str, Any]]]:
        yield from list(self._load_all().items())

    def put_metadata(self, deposit_id: str, record: dict[str, Any]) -> None:
        data = json.dumps(record, ensure_ascii=False, sort_keys=True).encode()
        with _LOCK:
            _atomic_write(self.metadata_dir / f"{deposit_id}.json", data)
            self._load_all()[deposit_id] = record

    # --- files ---------------------------------------------------------------------------

    def file_path(self, file_sm3: str) -> Path:
        return self.files_dir / file_sm3[:2] / file_sm3[2:4] / file_sm3

    def has_file(self, file_sm3: str) -> bool:
        return self.file_path(file_sm3).is_file()

    def put_file(self, file_sm3: str, data: bytes) -> bool:
        """Store the bytes (already checked to hash to ``file_sm3``); False if already kept."""
        path = self.file_path(file_sm3)
        with _LOCK:
            if path.is_file():
                return False
            _atomic_write(path, data)
        return True

    def read_file(self, file_sm3: str) -> bytes | None:
        try:
            return self.file_path(file_sm3).read_bytes()
        except FileNotFoundError:
            return None


_stores: dict[Path, EvidenceStore] = {}


def store_of(request: Request) -> EvidenceStore:
    """The evidence store of the node serving ``request`` (one per node home)."""
    home = Path(request.app.state.runtime.settings.home).resolve()
    store = _stores.get(home)
    if store is None:
        store = _stores[home] = EvidenceStore(home)
    return store
