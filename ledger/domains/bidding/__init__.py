"""E-bidding (电子招投标): sealed bids by commitment, bid guarantees, evaluation, award.

``schemas`` the payloads, ``rules`` the checks and state transitions, ``state`` the records
and their state-map keys, ``verify`` the offline checks (opening a commitment, the report
hash, a tender or a bid re-checked from its receipts), ``views`` what the API shows,
``demo`` the demo data. The routes are in ``api/domains/bidding.py``.
See docs/domains/bidding.md.
"""
