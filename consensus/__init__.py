"""Block production. ``ConsensusEngine`` is the interface every engine implements; the
single-validator engine is the one-validator case of the consortium."""

from consensus.engine import Application, ConsensusEngine
from consensus.single import BlockSchedule, SingleValidatorEngine

__all__ = ["Application", "BlockSchedule", "ConsensusEngine", "SingleValidatorEngine"]
