"""A deterministic simulator for the Tendermint state machine (consensus/tendermint).

One seed fixes everything: the fault plan (message loss, delay, duplication and reordering,
partitions that heal, crashes and restarts, Byzantine validators up to f) and every choice
made while running it. Time is a simulated clock; nothing waits. SM2 signatures are real.

- ``crypto``: deterministic validator keys and a verification cache shared by the nodes.
- ``chain``: the synthetic blocks (``ledger.model.Header`` with fake roots) being agreed on.
- ``network``: the event queue, the clock and the faulty network.
- ``node``: an honest node's runtime around the state machine, and the Byzantine variants.
- ``scenario``: seeded fault plans, the run, and the safety and liveness checks.
"""
