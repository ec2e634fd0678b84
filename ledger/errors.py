"""The one exception hierarchy of the ledger.

``LedgerError`` is the root. ``InvalidInput`` is the family for bad data (a client's
mistake: the API answers 4xx and nothing changes); ``OperationFailed`` is the family for
operations that could not be carried out (storage, keystore, network: 5xx).
Every error carries a stable ``code`` that clients may switch on.
"""

from __future__ import annotations

from typing import Any


class LedgerError(Exception):
    code = "ledger_error"
    http_status = 500

    def __init__(self, message: str, *, code: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details

    def with_status(self, status: int) -> LedgerError:
        self.http_status = status
        return self

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


# --- bad data -------------------------------------------------------------------------


class InvalidInput(LedgerError):
    """Data that is malformed or breaks a rule; the caller must change it."""

    code = "invalid_input"
    http_status = 400


class MalformedData(InvalidInput):
    """Not the shape the wire format requires (a missing field, a wrong type, bad hex)."""

    code = "malformed"


class CanonicalizationError(MalformedData):
    """A value that has no canonical bytes (a float, an integer beyond ±(2^53-1))."""

    code = "not_canonical"


class RuleViolation(InvalidInput):
    """A well-formed transaction that the ledger's admission rules refuse."""

    code = "rule_violation"
    http_status = 422


class DuplicateTransaction(RuleViolation):
    code = "duplicate_transaction"
    http_status = 409


class TooLarge(InvalidInput):
    code = "too_large"
    http_status = 413


class NotFound(LedgerError):
    code = "not_found"
    http_status = 404


class VerificationError(InvalidInput):
    """A check computed a value that differs from the one presented.

    ``step`` names the failing check (for receipts, the step of spec section 6),
    ``expected`` is what the check computed or required, ``found`` what it was given.
    """

    code = "verification_failed"

    def __init__(
        self,
        step: str,
        message: str,
        *,
        expected: Any = None,
        found: Any = None,
        code: str | None = None,
    ) -> None:
        super().__init__(f"{step}: {message}", code=code, step=step, expected=expected, found=found)
        self.step = step
        self.expected = expected
        self.found = found


class InvalidSignature(VerificationError):
    code = "bad_signature"


class InvalidKey(MalformedData):
    code = "bad_public_key"


class ProofError(VerificationError):
    code = "bad_proof"


class CertificateError(VerificationError):
    code = "bad_certificate"


# --- failed operations ----------------------------------------------------------------


class OperationFailed(LedgerError):
    code = "operation_failed"
    http_status = 500


class StorageError(OperationFailed):
    code = "storage_error"


class KeystoreError(OperationFailed):
    code = "keystore_error"


class Unavailable(OperationFailed):
    """The node cannot take the request now (not ready, mempool full); retry later."""

    code = "unavailable"
    http_status = 503
