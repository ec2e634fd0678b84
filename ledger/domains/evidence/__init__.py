"""Electronic evidence (电子证据存证): deposits, custody, court verification.

``evidence.deposit`` (depositor, court) puts a deposit's public part on chain: the files'
Merkle root, their number and a salted commitment to the restricted metadata document.
``evidence.custody`` (depositor, court, auditor) records access, transfer, seal, unseal and
cease_processing events. The node keeps the metadata and, optionally, the files off chain,
checked against the chain and served only to the depositor, custodian, courts and auditors
(api/evidence_store.py). A court verifies a file against a deposit at
``POST /v1/evidence/verify`` and re-verifies the report offline with
``verify.verify_report`` (``python -m ledger.domains.evidence report.json genesis.json``).

Modules: ``schemas`` (payloads, the metadata document, building a deposit), ``state``
(deposit records), ``rules`` (the domain and its custody rules), ``verify`` (files tree,
metadata commitment, offline report verification; crypto dependencies only), ``views``
(what the endpoints show), ``demo`` (demo data). See docs/domains/evidence.md.
"""
