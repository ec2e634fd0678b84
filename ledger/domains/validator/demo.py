"""Validators of a demo consortium: their ids and the loopback addresses of their nodes."""

from __future__ import annotations

from collections.abc import Sequence

DEMO_API_BASE_PORT = 8000


def validator_ids(count: int) -> list[str]:
    """``v1`` .. ``v<count>``."""
    return [f"v{i}" for i in range(1, count + 1)]


def demo_addresses(ids: Sequence[str], p2p_base_port: int) -> dict[str, dict[str, str]]:
    """Each validator's p2p and API address on loopback, as ``node.json`` lists them."""
    return {
        vid: {
            "p2p": f"127.0.0.1:{p2p_base_port + i}",
            "api": f"127.0.0.1:{DEMO_API_BASE_PORT + i}",
        }
        for i, vid in enumerate(ids)
    }
