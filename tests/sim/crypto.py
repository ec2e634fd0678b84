"""Deterministic validator keys, and a cache of SM2 verification results.

Keys are derived from their index, so a seed replays the same validator set, block hashes
and decisions in any process. SM2 signatures are randomised, but no choice of the
simulator depends on signature bytes, only on whether they verify.

Every node's state machine still verifies every message it accepts; the cache only
remembers the verdict of the real SM2 verification for an identical (key, message,
signature) triple, which in a real network each node would compute for itself.
"""

from __future__ import annotations

from functools import cache

from tongsuopy.crypto.asymciphers import ec

from consensus.tendermint.state import sm2_verify
from ledger.crypto import SM2_N, PrivateKey, sm3
from ledger.model import Validator, ValidatorSet


@cache
def validator_key(index: int) -> PrivateKey:
    scalar = int.from_bytes(sm3(b"ledger-sim-validator-%d" % index), "big") % (SM2_N - 2) + 1
    return PrivateKey(ec.derive_private_key(scalar, ec.SM2()))


def validator_id(index: int) -> str:
    return f"v{index:02d}"


@cache
def validator_set(powers: tuple[int, ...]) -> ValidatorSet:
    """Validator ``i`` with ``powers[i]``; power 0: not in the set."""
    return ValidatorSet.of(
        [
            Validator(validator_id(i), validator_key(i).public_key.hex, power)
            for i, power in enumerate(powers)
            if power > 0
        ]
    )


class CachingVerifier:
    """``sm2_verify`` with the verdicts of identical triples remembered."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, bytes, str], bool] = {}
        self.calls = 0
        self.verified = 0

    def __call__(self, public_key_hex: str, message: bytes, signature_hex: str) -> bool:
        self.calls += 1
        key = (public_key_hex, message, signature_hex)
        verdict = self._cache.get(key)
        if verdict is None:
            self.verified += 1
            verdict = self._cache[key] = sm2_verify(public_key_hex, message, signature_hex)
        return verdict
