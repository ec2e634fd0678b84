"""SM3 hashing and SM2 signatures (spec section 1).

SM3 comes from OpenSSL through ``hashlib``; SM2 from Tongsuo through ``tongsuopy``.
Signatures are over ``M`` with ``e = SM3(Z_A || M)`` and the GM/T 0009 default ID, DER
encoded. Public keys are parsed strictly (an uncompressed point on the curve) and
signatures strictly (minimal DER, ``r`` and ``s`` in ``[1, n-1]``) before any curve
arithmetic happens.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from typing import Protocol

from tongsuopy.crypto import hashes, serialization
from tongsuopy.crypto.asymciphers import ec
from tongsuopy.crypto.exceptions import InvalidSignature as _TongsuoInvalidSignature
from tongsuopy.crypto.exceptions import UnsupportedAlgorithm

from ledger.errors import InvalidKey, InvalidSignature, KeystoreError, MalformedData

SM2_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
_SM3 = hashes.SM3()
_ALGORITHM = ec.ECDSA(_SM3)
_LOWER_HEX = re.compile("[0-9a-f]*")
# Copying a fresh SM3 context skips OpenSSL's digest lookup by name on every hash.
_SM3_EMPTY = hashlib.new("sm3")


def sm3(data: bytes) -> bytes:
    h = _SM3_EMPTY.copy()
    h.update(data)
    return h.digest()


def sm3_hex(data: bytes) -> str:
    h = _SM3_EMPTY.copy()
    h.update(data)
    return h.hexdigest()


def is_hex(text: object, length: int | None = None) -> bool:
    return (
        isinstance(text, str)
        and (length is None or len(text) == length)
        and len(text) % 2 == 0
        and _LOWER_HEX.fullmatch(text) is not None
    )


def random_nonce() -> str:
    """32 lowercase hex characters from the operating system's CSPRNG."""
    return secrets.token_hex(16)


def _der_integer(data: bytes, pos: int) -> tuple[int, int]:
    if pos + 2 > len(data) or data[pos] != 0x02:
        raise MalformedData("signature: expected a DER INTEGER")
    length = data[pos + 1]
    start, end = pos + 2, pos + 2 + length
    if length == 0 or length > 33 or end > len(data):
        raise MalformedData("signature: DER INTEGER has a bad length")
    body = data[start:end]
    if body[0] & 0x80:
        raise MalformedData("signature: DER INTEGER is negative")
    if length > 1 and body[0] == 0 and not body[1] & 0x80:
        raise MalformedData("signature: DER INTEGER is not minimally encoded")
    return int.from_bytes(body, "big"), end


def decode_signature(signature_hex: str) -> tuple[int, int]:
    """Strictly parse a hex DER ``SEQUENCE { INTEGER r, INTEGER s }``."""
    if not is_hex(signature_hex) or not signature_hex:
        raise MalformedData("signature: not lowercase hex")
    der = bytes.fromhex(signature_hex)
    if len(der) < 8 or der[0] != 0x30 or der[1] != len(der) - 2 or der[1] > 0x7F:
        raise MalformedData("signature: not a DER SEQUENCE of the right length")
    r, pos = _der_integer(der, 2)
    s, pos = _der_integer(der, pos)
    if pos != len(der):
        raise MalformedData("signature: trailing bytes after the DER SEQUENCE")
    return r, s


def encode_signature(r: int, s: int) -> str:
    def integer(value: int) -> bytes:
        body = value.to_bytes((value.bit_length() + 8) // 8, "big")
        return b"\x02" + bytes([len(body)]) + body

    content = integer(r) + integer(s)
    return (b"\x30" + bytes([len(content)]) + content).hex()


class Signer(Protocol):
    """What the ledger needs of a private key: its public half and SM2 signatures.

    ``PrivateKey`` is one; a hardware security module's handle would be another.
    """

    @property
    def public_key(self) -> PublicKey: ...

    def sign(self, message: bytes) -> str: ...


class PublicKey:
    """An SM2 public key, known to be a valid point on the curve."""

    __slots__ = ("_key", "hex", "key_id")

    def __init__(self, public_key_hex: str) -> None:
        if not is_hex(public_key_hex, 130) or not public_key_hex.startswith("04"):
            raise InvalidKey(
                "public key must be 130 lowercase hex characters of an uncompressed point 04||X||Y"
            )
        try:
            key = ec.EllipticCurvePublicKey.from_encoded_point(
                ec.SM2(), bytes.fromhex(public_key_hex)
            )
        except ValueError as exc:
            raise InvalidKey("public key is not a point on the SM2 curve") from exc
        self._key = key
        self.hex = public_key_hex
        self.key_id = sm3_hex(bytes.fromhex(public_key_hex))

    def verify(self, signature_hex: str, message: bytes, *, step: str = "signature") -> None:
        """Raise ``InvalidSignature`` unless ``signature_hex`` is a valid SM2 signature."""
        try:
            r, s = decode_signature(signature_hex)
        except MalformedData as exc:
            raise InvalidSignature(step, exc.message, found=signature_hex) from exc
        if not (1 <= r < SM2_N and 1 <= s < SM2_N):
            raise InvalidSignature(
                step, "r or s outside [1, n-1]", expected="1 <= r, s <= n-1", found=signature_hex
            )
        try:
            self._key.verify(bytes.fromhex(signature_hex), message, _ALGORITHM)
        except _TongsuoInvalidSignature:
            raise InvalidSignature(
                step,
                f"SM2 signature does not verify under key {self.key_id}",
                expected=f"a signature by key_id {self.key_id}",
                found=signature_hex,
            ) from None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and other.hex == self.hex

    def __hash__(self) -> int:
        return hash(self.hex)

    def __repr__(self) -> str:
        return f"PublicKey(key_id={self.key_id[:16]}...)"


def key_id(public_key_hex: str) -> str:
    return sm3_hex(bytes.fromhex(public_key_hex))


class PrivateKey:
    """An SM2 private key. Serialises only as PKCS#8 PEM."""

    __slots__ = ("_key", "public_key")

    def __init__(self, key: ec.EllipticCurvePrivateKey) -> None:
        if not isinstance(key.curve, ec.SM2):
            raise KeystoreError(f"key is on curve {key.curve.name}, not SM2")
        self._key = key
        point = key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.public_key = PublicKey(point.hex())

    @classmethod
    def generate(cls) -> PrivateKey:
        return cls(ec.generate_private_key(ec.SM2()))

    @classmethod
    def from_pem(cls, pem: bytes, passphrase: bytes | None = None) -> PrivateKey:
        try:
            key = serialization.load_pem_private_key(pem, passphrase)
        except TypeError as exc:
            raise KeystoreError(
                "the key file is encrypted: set LEDGER_KEY_PASSPHRASE"
                if passphrase is None
                else f"key file: {exc}"
            ) from exc
        except ValueError as exc:
            raise KeystoreError(
                "cannot load the key: wrong passphrase or not a PKCS#8 PEM"
            ) from exc
        except UnsupportedAlgorithm as exc:
            raise KeystoreError(f"key file does not hold an SM2 key: {exc}") from exc
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise KeystoreError("key file does not hold an elliptic-curve private key")
        return cls(key)

    def to_pem(self, passphrase: bytes | None = None) -> bytes:
        if passphrase is not None and not passphrase:
            raise KeystoreError("an empty passphrase would leave the key unencrypted")
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(passphrase)
            if passphrase
            else serialization.NoEncryption()
        )
        pem: bytes = self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
        )
        return pem

    @property
    def key_id(self) -> str:
        return self.public_key.key_id

    def sign(self, message: bytes) -> str:
        return bytes(self._key.sign(message, _ALGORITHM)).hex()

    def __repr__(self) -> str:
        return f"PrivateKey(key_id={self.key_id[:16]}...)"
