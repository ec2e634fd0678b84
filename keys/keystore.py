from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Protocol

from ledger.crypto import PrivateKey, PublicKey, Signer
from ledger.errors import KeystoreError

PASSPHRASE_ENV = "LEDGER_KEY_PASSPHRASE"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,127}")


class KeyStore(Protocol):
    def generate(self, name: str) -> PublicKey: ...

    def signer(self, name: str) -> Signer: ...

    def public_key(self, name: str) -> PublicKey: ...

    def rotate(self, name: str) -> tuple[PublicKey, PublicKey]: ...

    def names(self) -> list[str]: ...


def passphrase_from_env() -> bytes | None:
    value = os.environ.get(PASSPHRASE_ENV)
    return value.encode() if value else None


class FileKeyStore:
    """``<directory>/<name>.pem`` files, PKCS#8, mode 0600; rotated keys kept as archives."""

    def __init__(self, directory: Path, passphrase: bytes | None = None) -> None:
        self.directory = Path(directory)
        self.passphrase = passphrase

    def path(self, name: str) -> Path:
        if not _NAME.fullmatch(name):
            raise KeystoreError(f"{name!r} is not a key name")
        return self.directory / f"{name}.pem"

    def _write(self, path: Path, key: PrivateKey) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".pem.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(key.to_pem(self.passphrase))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def generate(self, name: str) -> PublicKey:
        path = self.path(name)
        if path.exists():
            raise KeystoreError(f"{path} exists; refusing to overwrite a key")
        key = PrivateKey.generate()
        self._write(path, key)
        return key.public_key

    def signer(self, name: str) -> PrivateKey:
        path = self.path(name)
        try:
            pem = path.read_bytes()
        except FileNotFoundError:
            raise KeystoreError(f"no key file {path}") from None
        return PrivateKey.from_pem(pem, self.passphrase)

    def public_key(self, name: str) -> PublicKey:
        return self.signer(name).public_key

    def rotate(self, name: str) -> tuple[PublicKey, PublicKey]:
        """Archive the current key as ``<name>.<ms>.retired.pem`` and make a new one."""
        path = self.path(name)
        old = self.signer(name)
        archive = self.directory / f"{name}.{time.time_ns() // 1_000_000}.retired.pem"
        os.replace(path, archive)
        new = PrivateKey.generate()
        self._write(path, new)
        return old.public_key, new.public_key

    def names(self) -> list[str]:
        return sorted(
            p.name.removesuffix(".pem")
            for p in self.directory.glob("*.pem")
            if not p.name.endswith(".retired.pem")
        )
