"""What a domain is: its transaction types (roles, payload schema, handler) and how each one
changes the domain's state. Execution is deterministic: the same chain gives the same state.

A domain declares each type once, as a :class:`TxType` naming its payload model and its
handler ``handler(state, ctx, payload)``; mypy checks that the handler takes that payload. A
handler checks what it must (raising ``RuleViolation`` with a stable code) and then writes to
``state``. The framework has already checked the submitter's key and role and parsed the
payload with the type's pydantic model (field-level errors become ``invalid_payload``).

A domain reaches the node only through :class:`DomainHost` (in ``ctx.host``): the membership
as it stands, and, for the system domains, the membership and validator changes of the block
being built. No module of a domain imports a web framework, an HTTP client or the node.
See docs/adding-a-domain.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from ledger.domains.state import Overlay
from ledger.errors import RuleViolation
from ledger.model import SignedTransaction

if TYPE_CHECKING:
    from ledger.domains.member.state import MemberRecord, MemberRegistry
    from ledger.domains.validator.state import ChangeBatch


class Payload(BaseModel):
    """Base of every payload schema: strict types, unknown fields refused, versioned."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class DomainHost(Protocol):
    """What a transaction may see of the node, and what the system domains may change."""

    @property
    def members(self) -> Mapping[str, MemberRecord]:
        """The membership as it stands when the transaction runs (read only)."""
        ...

    def membership(self) -> MemberRegistry:
        """The membership the member domain changes (the block's working copy)."""
        ...

    def validator_changes(self) -> ChangeBatch:
        """The validator set changes of the block so far (the validator domain)."""
        ...


@dataclass(frozen=True)
class TxContext:
    """What a transaction executes with. ``time_ms`` is the block's timestamp (at admission,
    the node's clock standing in for it), so deadlines follow block time."""

    tx: SignedTransaction
    height: int
    time_ms: int
    roles: tuple[str, ...]
    params: Mapping[str, Any]
    """the genesis document's ``params`` (domain configuration fixed by the consortium)"""
    host: DomainHost

    @property
    def members(self) -> Mapping[str, MemberRecord]:
        """the membership as it stands when this transaction runs (read only)"""
        return self.host.members

    @property
    def tx_id(self) -> str:
        return self.tx.tx_id

    @property
    def submitter(self) -> str:
        return self.tx.envelope.submitter


P = TypeVar("P", bound=BaseModel)


@dataclass(frozen=True)
class TxType(Generic[P]):
    """One transaction type: who may submit it, its payload schema and its handler."""

    name: str
    roles: frozenset[str]
    payload: type[P]
    handler: Callable[[Overlay, TxContext, P], None]
    summary: str = ""

    def run(self, state: Overlay, ctx: TxContext, payload: BaseModel) -> None:
        if not isinstance(payload, self.payload):
            raise TypeError(f"{self.name}: payload is {type(payload).__name__}")
        self.handler(state, ctx, payload)


def parse_payload(model: type[P], payload: Mapping[str, Any], tx_type: str) -> P:
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


def payload_of(tx: SignedTransaction, model: type[P]) -> P:
    """``tx``'s payload parsed with ``model``, once per transaction object: admission, block
    building and the mempool's re-check all run the same object. The parsed payload is kept
    in the object's ``__dict__`` beside its cached canonical bytes, never in its wire form,
    and is used only when the same ``model`` asks again. Payloads are never mutated."""
    cached = tx.__dict__.get(_PARSED)
    if cached is not None and cached[0] is model:
        parsed: P = cached[1]
        return parsed
    parsed = parse_payload(model, tx.envelope.payload, tx.envelope.type)
    tx.__dict__[_PARSED] = (model, parsed)
    return parsed


class Domain:
    """A domain: a name and its transaction types. Subclasses declare :meth:`tx_types`."""

    name: ClassVar[str]

    def tx_types(self) -> Sequence[TxType[Any]]:
        raise NotImplementedError

    @cached_property
    def specs(self) -> Mapping[str, TxType[Any]]:
        """The domain's types by name."""
        return {t.name: t for t in self.tx_types()}

    def replay_reset(self) -> None:
        """Forget caches before a replay from genesis (state itself lives in the store)."""
