"""The domains the ledger serves, each a package of the same shape (docs/adding-a-domain.md).

Record domains: ``reopening``, ``bidding``, ``edu_card``, ``evidence``. System domains:
``member`` (membership and keys) and ``validator`` (validator set changes). The list of
domains and the dispatch of every transaction type are in ``ledger.domains.registry``.
This package imports nothing, so that a domain's offline verifier (``verify.py``) loads
with only the crypto dependencies.
"""
