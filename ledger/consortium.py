"""Creating a consortium: ``genesis.json``, one key per member and validator, node config."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from keys import FileKeyStore
from ledger.canonical import canonical
from ledger.domains.validator.demo import demo_addresses, validator_ids
from ledger.errors import KeystoreError, MalformedData
from ledger.model import Genesis, Member, Validator, ValidatorSet
from ledger.policy import ROLES

DEFAULT_CHAIN_ID = "gz-gov-ledger"

# One member for every role, named after the organisations that hold it in Guangzhou.
DEMO_MEMBERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("gz-gov-service-bureau", ("governance",)),
    ("gz-audit-bureau", ("auditor",)),
    ("acme-manufacturing", ("enterprise",)),
    ("tianhe-street-office", ("approver",)),
    ("gz-trading-center", ("tenderer",)),
    ("bidder-alpha", ("bidder",)),
    ("gz-guarantee-co", ("guarantor",)),
    ("expert-wang", ("evaluator",)),
    ("baiyun-school-1", ("school",)),
    ("evidence-platform", ("depositor",)),
    ("gz-internet-court", ("court",)),
)


@dataclass(frozen=True)
class Consortium:
    home: Path
    genesis: Genesis

    @property
    def keys(self) -> Path:
        return self.home / "keys"


def create(
    home: Path,
    *,
    demo: bool,
    validators: int = 1,
    chain_id: str = DEFAULT_CHAIN_ID,
    passphrase: bytes | None = None,
    members: list[tuple[str, tuple[str, ...]]] | None = None,
    timestamp_ms: int | None = None,
    base_port: int = 26600,
) -> Consortium:
    home = Path(home)
    if (home / "genesis.json").exists():
        raise MalformedData(f"{home / 'genesis.json'} exists; choose an empty directory")
    if validators < 1:
        raise MalformedData("a consortium needs at least one validator")
    if not demo and not passphrase:
        raise KeystoreError(
            "keys of a real consortium are encrypted: set LEDGER_KEY_PASSPHRASE "
            "(or pass --demo for an unencrypted demo consortium)"
        )
    chosen = (
        list(members)
        if members is not None
        else (list(DEMO_MEMBERS) if demo else [("governance", ("governance",))])
    )
    for member_id, roles in chosen:
        unknown = set(roles) - ROLES
        if unknown:
            raise MalformedData(f"member {member_id}: unknown role(s) {sorted(unknown)}")
    store = FileKeyStore(home / "keys", None if demo else passphrase)
    vset = []
    for vid in validator_ids(validators):
        vset.append(Validator(vid, store.generate(vid).hex, 1))
    founding = [Member(vid.id, ("validator",), vid.public_key) for vid in vset]
    for member_id, roles in chosen:
        founding.append(Member(member_id, tuple(roles), store.generate(member_id).hex))
    genesis = Genesis(
        chain_id=chain_id,
        timestamp=timestamp_ms if timestamp_ms is not None else time.time_ns() // 1_000_000,
        validators=ValidatorSet.of(vset),
        members=tuple(founding),
        params={},
    )
    home.mkdir(parents=True, exist_ok=True)
    (home / "genesis.json").write_text(json.dumps(genesis.to_wire(), indent=2) + "\n")
    config: dict[str, Any] = {
        "chain_id": chain_id,
        "demo": demo,
        "validators": demo_addresses([v.id for v in vset], base_port),
    }
    (home / "node.json").write_text(json.dumps(config, indent=2) + "\n")
    return Consortium(home, genesis)


def load_genesis(path: Path) -> Genesis:
    from ledger.canonical import parse_json

    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise MalformedData(f"no genesis file at {path}") from None
    genesis = Genesis.from_wire(parse_json(data))
    canonical(genesis.to_wire())
    return genesis


def load_config(home: Path) -> dict[str, Any]:
    path = Path(home) / "node.json"
    if not path.exists():
        return {}
    value = json.loads(path.read_text())
    return value if isinstance(value, dict) else {}
