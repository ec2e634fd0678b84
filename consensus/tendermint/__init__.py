"""Tendermint BFT consensus (Buchman, Kwon, Milosevic 2018, Algorithm 1) as a pure state machine.

- ``messages``: proposals, prevotes and precommits with their canonical signing bytes; a
  block's precommits are the signatures of its commit certificate (spec section 4).
- ``proposer``: proposer rotation weighted by voting power (Tendermint's proposer priority).
- ``vote_set``: tallies by voting power, one vote per validator, equivocation detected.
- ``state``: ``TendermintMachine``, events in, outputs out; no I/O, clock or randomness.

docs/consensus.md maps the code to the paper and states the safety and liveness argument.
"""

from consensus.tendermint.messages import (
    Message,
    Precommit,
    Prevote,
    Proposal,
    decode_message,
    encode_message,
    message_from_wire,
)
from consensus.tendermint.proposer import ProposerPriorities
from consensus.tendermint.state import (
    Broadcast,
    Decide,
    Event,
    Evidence,
    LastSigned,
    Limits,
    Output,
    Persist,
    Receive,
    Rejected,
    RequestValue,
    ScheduleTimeout,
    Step,
    TendermintMachine,
    Timeout,
    TimeoutFired,
    Timeouts,
    ValueAvailable,
    sm2_verify,
)
from consensus.tendermint.vote_set import Equivocation, HeightVotes, VoteSet, one_third, quorum

__all__ = [
    "Broadcast",
    "Decide",
    "Equivocation",
    "Event",
    "Evidence",
    "HeightVotes",
    "LastSigned",
    "Limits",
    "Message",
    "Output",
    "Persist",
    "Precommit",
    "Prevote",
    "Proposal",
    "ProposerPriorities",
    "Receive",
    "Rejected",
    "RequestValue",
    "ScheduleTimeout",
    "Step",
    "TendermintMachine",
    "Timeout",
    "TimeoutFired",
    "Timeouts",
    "ValueAvailable",
    "VoteSet",
    "decode_message",
    "encode_message",
    "message_from_wire",
    "one_third",
    "quorum",
    "sm2_verify",
]
