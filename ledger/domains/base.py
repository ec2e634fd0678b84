"""What a domain is: its transaction types (roles, payload schema) and how each one changes
the domain's state. Execution is deterministic: the same chain gives the same state.

A domain author writes one method per type, ``on_<domain>_<action>(state, ctx, payload)``
(``tender.publish`` -> ``on_tender_publish``), that
checks what it must (raising ``RuleViolation`` with a stable code) and then writes to
``state``. The framework has already checked the submitter's key and role and parsed the
payload with the type's pydantic model (field-level errors become ``invalid_payload``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, ValidationError

from ledger.domains.state import Overlay
from ledger.errors import RuleViolation
from ledger.model import SignedTransaction

if TYPE_CHECKING:
    from ledger.state import MemberRecord


class Payload(BaseModel):
    """Base of every payload schema: strict types, unknown fields refused, versioned."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


@dataclass(frozen=True)
class TxSpec:
    roles: frozenset[str]
    payload: type[BaseModel]
    summary: str = ""


@dataclass(frozen=True)
class TxContext:
    """What a transaction executes with. ``time_ms`` is the block's timestamp (at admission,
    the node's clock standing in for it), so deadlines follow block time."""

    tx: SignedTransaction
    height: int
    time_ms: int
    roles: tuple[str, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    """the genesis document's ``params`` (domain configuration fixed by the consortium)"""
    members: Mapping[str, MemberRecord] = field(default_factory=dict)
    """the membership as it stands when this transaction runs (read only)"""

    @property
    def tx_id(self) -> str:
        return self.tx.tx_id

    @property
    def submitter(self) -> str:
        return self.tx.envelope.submitter


def parse_payload(model: type[BaseModel], payload: Mapping[str, Any], tx_type: str) -> BaseModel:
    try:
        return model.model_validate(dict(payload))
    except ValidationError as exc:
        problems = [
            {"field": ".".join(str(p) for p in e["loc"]) or "payload", "problem": e["msg"]}
            for e in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
        first = problems[0]
        raise RuleViolation(
            f"{tx_type} payload: {first['field']}: {first['problem']}",
            code="invalid_payload",
            problems=problems,
        ) from None


_PARSED = "_parsed_payload"


def payload_of(tx: SignedTransaction, model: type[BaseModel]) -> BaseModel:
    """``tx``'s payload parsed with ``model``, once per transaction object: admission, block
    building and the mempool's re-check all run the same object. The parsed payload is kept
    in the object's ``__dict__`` beside its cached canonical bytes, never in its wire form,
    and is used only when the same ``model`` asks again. Payloads are never mutated."""
    cached = tx.__dict__.get(_PARSED)
    if cached is not None and cached[0] is model:
        parsed: BaseModel = cached[1]
        return parsed
    parsed = parse_payload(model, tx.envelope.payload, tx.envelope.type)
    tx.__dict__[_PARSED] = (model, parsed)
    return parsed


class Domain:
    name: ClassVar[str]
    specs: ClassVar[Mapping[str, TxSpec]]

    def execute(self, state: Overlay, ctx: TxContext, tx_type: str, payload: BaseModel) -> None:
        handler = getattr(self, "on_" + tx_type.replace(".", "_"))
        handler(state, ctx, payload)

    def replay_reset(self) -> None:
        """Forget caches before a replay from genesis (state itself lives in the store)."""

    def router(self, api: Any) -> APIRouter | None:
        """HTTP routes of the domain (``api`` gives access to the node); None for none."""
        return None


class OpenPayload(BaseModel):
    """Any JSON object: for types whose schema is not written yet."""

    model_config = ConfigDict(extra="allow", frozen=True)


class SchemaPendingDomain(Domain):
    """Types whose roles are fixed but whose schemas and rules are still to be written: any
    object payload is accepted and nothing is derived. Replaced domain by domain."""

    def __init__(self, name: str, roles: Mapping[str, frozenset[str]]) -> None:
        self.name = name  # type: ignore[misc]
        self.specs = {t: TxSpec(r, OpenPayload) for t, r in roles.items()}  # type: ignore[misc]

    def execute(self, state: Overlay, ctx: TxContext, tx_type: str, payload: BaseModel) -> None:
        return None
