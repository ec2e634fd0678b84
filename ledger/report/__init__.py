"""Verification steps in plain words, and the signed, printable verification report (PDF).

Shared by the portal, the API and the CLI:

* :func:`check_receipt` runs the receipt checks of spec section 6 and returns every step with
  its outcome (``passed``, ``failed``, ``not_checked``) and a sentence in English and Chinese
  that a non-engineer understands. It calls :func:`ledger.verify.verify_receipt`, which checks
  the steps in order and names the first that fails; the steps before it passed, the ones after
  it were not checked.
* :func:`evidence_steps` turns the evidence domain's court verification into the five steps a
  person sees (hash computed, deposit found, inclusion proof, validator signatures, deposit
  time).
* The report: :func:`build_report` gathers what was verified into a JSON document,
  :func:`sign_report` has the node sign its canonical bytes with its validator's SM2 key,
  :func:`render_pdf` prints it (A4, Chinese and English, with a QR code of the receipt URL) and
  attaches the signed JSON to the PDF as ``verification-report.json``;
  :func:`verify_report_pdf` checks a copy later against a trusted genesis: the node's
  signature, that the signing key is a validator of the chain, the embedded receipt, the file's
  Merkle path, and that the printed page shows the signed transaction id.

The signed content is ``C(report)`` (RFC 8785), signed as ``Sig(sk, C(report))`` (spec
section 1) by the validator named in ``report.node``. See docs/portal.md.

Modules: ``common`` (outcomes, times), ``texts`` (the Chinese and English words), ``steps``
(receipt and evidence steps), ``model`` (the report document and its signature), ``pdf``,
``pdf_sections`` and ``pdf_layout`` (printing), and ``check`` (checking a printed report, with
the evidence domain's public ``verify.root_from_path``).
"""

from ledger.report.check import pdf_text, read_report_pdf, verify_report_pdf
from ledger.report.common import BEIJING, FAILED, NOT_CHECKED, PASSED, SKIPPED, times
from ledger.report.model import (
    ATTACHMENT,
    REPORT_TYPE,
    REPORT_VERSION,
    build_report,
    fingerprint,
    sign_report,
)
from ledger.report.pdf import render_pdf
from ledger.report.steps import (
    check_receipt,
    evidence_not_found,
    evidence_result,
    evidence_steps,
    hash_step,
)
from ledger.report.texts import EVIDENCE_STEPS, NOT_CHECKED_TEXT, RECEIPT_STEPS

__all__ = [
    "ATTACHMENT",
    "BEIJING",
    "EVIDENCE_STEPS",
    "FAILED",
    "NOT_CHECKED",
    "NOT_CHECKED_TEXT",
    "PASSED",
    "RECEIPT_STEPS",
    "REPORT_TYPE",
    "REPORT_VERSION",
    "SKIPPED",
    "build_report",
    "check_receipt",
    "evidence_not_found",
    "evidence_result",
    "evidence_steps",
    "fingerprint",
    "hash_step",
    "pdf_text",
    "read_report_pdf",
    "render_pdf",
    "sign_report",
    "times",
    "verify_report_pdf",
]
