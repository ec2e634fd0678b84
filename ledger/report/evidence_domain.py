"""What the report takes from the evidence domain's modules, in one place: the files' Merkle
root from a file's path, for :func:`ledger.report.verify_report_pdf`'s ``file`` step."""

from __future__ import annotations

from ledger.domains.evidence.proofs import root_from_path

__all__ = ["root_from_path"]
