"""Pydantic models that document request and response bodies in the OpenAPI schema.

They describe; they do not parse: bodies are parsed by ``ledger.model`` so that the bytes
hashed and signed are defined in one place.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class EnvelopeDoc(BaseModel):
    chain_id: str = Field(examples=["gz-gov-ledger"])
    type: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$", examples=["evidence.deposit"])
    submitter: str = Field(examples=["evidence-platform"])
    key_id: str = Field(description="hex SM3 of the submitter's public key")
    nonce: str = Field(description="32 random hex characters")
    timestamp: int = Field(description="milliseconds since the Unix epoch")
    payload: dict[str, Any]


class SignedTransactionDoc(BaseModel):
    envelope: EnvelopeDoc
    signature: str = Field(description="hex DER SM2 signature over C(envelope)")


class BatchDoc(BaseModel):
    transactions: list[SignedTransactionDoc]


class Accepted(BaseModel):
    tx_id: str


class ErrorDoc(BaseModel):
    code: str
    message: str
    details: dict[str, Any] | None = None


class Rejection(BaseModel):
    index: int
    error: ErrorDoc


class BatchResult(BaseModel):
    accepted: list[str]
    rejected: list[Rejection]


def _inline(value: Any, defs: dict[str, Any]) -> Any:
    if isinstance(value, dict):
        if "$ref" in value:
            return _inline(defs[value["$ref"].rsplit("/", 1)[-1]], defs)
        return {k: _inline(v, defs) for k, v in value.items() if k != "$defs"}
    if isinstance(value, list):
        return [_inline(v, defs) for v in value]
    return value


def body(model: type[BaseModel]) -> dict[str, Any]:
    schema = model.model_json_schema()
    inlined = _inline(schema, schema.get("$defs", {}))
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": inlined}}}}
