"""Electronic evidence (电子证据存证): deposits, custody, court verification.

``evidence.deposit`` (depositor, court) puts a deposit's public part on chain: the files'
Merkle root, their number and a salted commitment to the restricted metadata document.
``evidence.custody`` (depositor, court, auditor) records access, transfer, seal, unseal and
cease_processing events. The node keeps the metadata and, optionally, the files off chain,
checked against the chain and served only to the depositor, custodian, courts and auditors.
A court verifies a file against a deposit at ``POST /v1/evidence/verify`` and re-verifies
the report offline with :func:`verify_report`. See docs/domains/evidence.md.
"""

from ledger.domains.evidence.proofs import (
    deposit_payload,
    example_deposit_payload,
    file_leaf,
    file_path,
    files_root,
    metadata_commitment,
    new_salt,
    root_from_path,
    verify_report,
)
from ledger.domains.evidence.rules import (
    CUSTODY_ROLES,
    DEPOSIT_ROLES,
    DEPOSITS,
    KIND_ROLES,
    EvidenceDomain,
    domain,
)
from ledger.domains.evidence.schemas import CustodyPayload, DepositPayload, Metadata

__all__ = [
    "CUSTODY_ROLES",
    "DEPOSITS",
    "DEPOSIT_ROLES",
    "KIND_ROLES",
    "CustodyPayload",
    "DepositPayload",
    "EvidenceDomain",
    "Metadata",
    "deposit_payload",
    "domain",
    "example_deposit_payload",
    "file_leaf",
    "file_path",
    "files_root",
    "metadata_commitment",
    "new_salt",
    "root_from_path",
    "verify_report",
]
