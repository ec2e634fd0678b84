"""A Byzantine validator for the real-process tests (tests/test_cluster.py).

``python -m tests.byzantine_node --home HOME --port PORT --db URL`` runs a node as
``ledger node`` does (the other settings from ``LEDGER_*``), with ``EquivocatingEngine`` as
its BFT engine.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from consensus.bft import BftEngine, json_bytes
from consensus.p2p import Channel
from consensus.tendermint import Message, Proposal
from consensus.value import ProposedBlock

log = logging.getLogger("ledger.consensus")


class EquivocatingEngine(BftEngine):
    """As proposer it sends one block to half of its peers and another to the rest, and
    every vote goes out with a conflicting twin. Its machine and record stay honest (the
    tests check that honest validators still never fork)."""

    def _send_consensus(self, message: Message[ProposedBlock]) -> None:
        twin: Message[ProposedBlock]
        if isinstance(message, Proposal):
            block = message.value
            other = self.app.build(
                list(block.transactions), block.header.timestamp + 1, self.validator_id
            )
            value = ProposedBlock(other.header, tuple(other.transactions))
            twin = Proposal.sign(
                self.signer,
                self.validator_id,
                self.chain_id,
                message.height,
                message.round,
                value.block_hash,
                message.valid_round,
                value,
            )
        else:
            proposals = [
                m.block_hash
                for m in self.machine.messages()
                if isinstance(m, Proposal) and m.round == message.round
            ]
            choices = [h for h in [None, *proposals] if h != message.block_hash]
            target = choices[-1] if choices else None
            twin = type(message).sign(
                self.signer,
                self.validator_id,
                self.chain_id,
                message.height,
                message.round,
                target,
            )
        log.warning(
            "equivocating (testing): %s at %d/%d", message.TYPE, message.height, message.round
        )
        for i, peer in enumerate(sorted(self.p2p.links)):
            chosen = message if i % 2 == 0 else twin
            self.p2p.send(
                peer, Channel.CONSENSUS, json_bytes(chosen.to_wire(ProposedBlock.to_wire))
            )


def main() -> None:
    import uvicorn

    from api import create_app
    from api.runtime import NodeRuntime
    from ledger.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args()
    settings = Settings(home=args.home, port=args.port, db_url=args.db)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = create_app(settings, NodeRuntime(settings, bft_engine=EquivocatingEngine))
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
