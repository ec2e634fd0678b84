"""A Python client of a ledger node: build and sign transactions, submit, fetch receipts.

signer = FileKeyStore(Path("demo/keys")).signer("evidence-platform")
client = LedgerClient("http://127.0.0.1:8000")
genesis = client.genesis()
tx = make_transaction(signer, chain_id=genesis.chain_id, type="evidence.deposit",
                      submitter="evidence-platform", payload={"sha3": "..."})
receipt = client.submit_and_wait(tx)
verify_receipt(receipt, genesis)          # offline, from ledger.verify
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from ledger.crypto import Signer
from ledger.errors import InvalidInput, LedgerError, NotFound, OperationFailed, Unavailable
from ledger.model import Genesis, SignedTransaction
from ledger.request_auth import sign_request
from ledger.transactions import make_transaction

__all__ = ["LedgerClient", "make_transaction"]


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        error = response.json()["error"]
        code, message = str(error["code"]), str(error["message"])
        details = error.get("details") or {}
    except (ValueError, KeyError, TypeError):
        code, message, details = "http_error", response.text[:500], {}
    family: type[LedgerError]
    if response.status_code == 404:
        family = NotFound
    elif response.status_code == 503:
        family = Unavailable
    elif response.status_code < 500:
        family = InvalidInput
    else:
        family = OperationFailed
    exc = family(message, code=code, **details)
    exc.http_status = response.status_code
    raise exc


class LedgerClient:
    def __init__(
        self, base_url: str, *, timeout: float = 30.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> LedgerClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _get(self, path: str, **params: Any) -> Any:
        try:
            response = self.http.get(path, params=params or None)
        except httpx.HTTPError as exc:
            raise Unavailable(f"cannot reach the node: {exc}") from exc
        _raise_for(response)
        return response.json()

    def _post(self, path: str, body: Any) -> Any:
        try:
            response = self.http.post(path, json=body)
        except httpx.HTTPError as exc:
            raise Unavailable(f"cannot reach the node: {exc}") from exc
        _raise_for(response)
        return response.json()

    def signed_request(
        self, signer: Signer, member: str, method: str, path: str, body: Any = None
    ) -> Any:
        """A request to a restricted path, signed as ``member`` (see ledger.request_auth).

        ``path`` includes its query string exactly as it is to be sent."""
        content = b"" if body is None else json.dumps(body).encode()
        headers = sign_request(signer, member, method, path, content)
        if content:
            headers["Content-Type"] = "application/json"
        try:
            response = self.http.request(method, path, content=content, headers=headers)
        except httpx.HTTPError as exc:
            raise Unavailable(f"cannot reach the node: {exc}") from exc
        _raise_for(response)
        return response.json()

    def genesis(self) -> Genesis:
        return Genesis.from_wire(self._get("/v1/genesis"))

    def submit(self, tx: SignedTransaction | Mapping[str, Any]) -> str:
        body = tx.to_wire() if isinstance(tx, SignedTransaction) else tx
        return str(self._post("/v1/transactions", body)["tx_id"])

    def submit_batch(self, txs: Sequence[SignedTransaction | Mapping[str, Any]]) -> Any:
        body = [t.to_wire() if isinstance(t, SignedTransaction) else t for t in txs]
        return self._post("/v1/transactions/batch", {"transactions": body})

    def status(self, tx_id: str) -> Any:
        return self._get(f"/v1/transactions/{tx_id}")

    def receipt(self, tx_id: str) -> Any:
        return self._get(f"/v1/transactions/{tx_id}/receipt")

    def wait_for_receipt(self, tx_id: str, timeout: float = 30.0, poll: float = 0.05) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            status = self.status(tx_id)
            if status["status"] == "committed":
                return self.receipt(tx_id)
            if status["status"] == "rejected":
                error = status["error"]
                raise InvalidInput(error["message"], code=error["code"])
            if time.monotonic() > deadline:
                raise Unavailable(f"no receipt for {tx_id} within {timeout} s", code="timeout")
            time.sleep(poll)

    def submit_and_wait(self, tx: SignedTransaction, timeout: float = 30.0) -> Any:
        """Submit and wait for the receipt; a resubmission of a committed one just waits."""
        try:
            self.submit(tx)
        except InvalidInput as exc:
            if exc.code != "duplicate_transaction":
                raise
        return self.wait_for_receipt(tx.tx_id, timeout)

    def checkpoint(self) -> Any:
        return self._get("/v1/checkpoint")

    def block(self, height: int) -> Any:
        return self._get(f"/v1/blocks/{height}")

    def consistency(self, first: int, second: int) -> Any:
        return self._get("/v1/proofs/consistency", first=first, second=second)

    def members(self) -> Any:
        return self._get("/v1/members")["members"]
