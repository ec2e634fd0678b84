"""What the API shows of the membership."""

from __future__ import annotations

from typing import Any

from ledger.domains.member.state import MemberRegistry


def member_list(registry: MemberRegistry) -> list[dict[str, Any]]:
    """Every member, active or revoked, by id (``GET /v1/members``)."""
    return [m.to_wire() for m in sorted(registry.members.values(), key=lambda m: m.id)]
