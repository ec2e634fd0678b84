"""The printable report: A4, Chinese and English, with a QR code of the receipt URL, and the
signed JSON attached to the PDF as ``verification-report.json``."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from ledger.canonical import canonical
from ledger.report.model import ATTACHMENT, fingerprint


def render_pdf(signed: Mapping[str, Any]) -> bytes:
    """The printable report, with the signed JSON attached as ``verification-report.json``."""
    # reportlab and pypdf load with the first report printed, not with ledger.report
    from pypdf import PdfReader, PdfWriter

    from ledger.report.pdf_sections import printed_pages

    report, signature = signed["report"], signed["signature"]
    tx = report["transaction"]
    pages = printed_pages(report, signature)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pages)))
    writer.add_attachment(ATTACHMENT, canonical(signed))
    writer.add_metadata({"/GzLedgerReport": fingerprint(report), "/GzLedgerTx": tx["tx_id"]})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
