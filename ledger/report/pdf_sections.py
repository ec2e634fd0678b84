"""The report's printed pages, section by section (reportlab): the head with the result and
the QR code of the receipt, what was verified, the steps, the Merkle paths, the validators,
and the node's signature. Loaded by :func:`ledger.report.render_pdf` when it prints."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ledger.report.common import FAILED, PASSED, beijing_text
from ledger.report.model import fingerprint
from ledger.report.pdf_layout import (
    RULE,
    Styles,
    escape,
    kv_table,
    lines,
    make_styles,
    mono,
    qr_drawing,
    register_fonts,
    rich,
)
from ledger.report.texts import OUTCOME_TEXT, RESULT_TEXT


def printed_pages(report: Mapping[str, Any], signature: str) -> bytes:
    """The report's pages as a PDF, before the signed JSON is attached."""
    register_fonts()
    s = make_styles()
    story: list[Any] = [_head(report, s)]
    story += [Spacer(1, 3 * mm), kv_table(_subject_rows(report, s))]
    story += _steps(report, s)
    story += _merkle_paths(report, s)
    story += _validators(report, s)
    story += _receipt_and_signature(report, signature, s)
    return _document(story, report)


# --- head: title, result and QR code -------------------------------------------------------------


def _banner(result: str, s: Styles) -> Any:
    good = result in ("match", "valid")
    en_res, zh_res = RESULT_TEXT.get(result, (result, result))
    banner = Table(
        [[Paragraph(lines(zh_res, en_res), ParagraphStyle("b", parent=s.h2))]],
        colWidths=[132 * mm],
    )
    banner.setStyle(
        TableStyle(
            [
                (
                    "BACKGROUND",
                    (0, 0),
                    (-1, -1),
                    colors.HexColor("#e3f4e6" if good else "#fbe4e4"),
                ),
                ("BOX", (0, 0), (-1, -1), 1, colors.HexColor("#2e7d32" if good else "#c62828")),
                ("TOPPADDING", (0, 0), (-1, -1), 5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 6),
            ]
        )
    )
    return banner


def _head(report: Mapping[str, Any], s: Styles) -> Any:
    banner = _banner(report["result"], s)
    qr = qr_drawing(report["portal_url"], 30 * mm)  # the portal page, not raw JSON
    qr_caption = Paragraph(lines("扫码在门户核验", "Scan to verify in the portal"), s.small)
    title_block = [
        s.p("区块链核验报告 Verification report", s.h1),
        s.p(
            f"广州政务记录账本 Guangzhou government records ledger · chain {report['chain_id']}",
            s.small,
        ),
        Spacer(1, 3 * mm),
        banner,
    ]
    head = Table([[title_block, [qr, qr_caption]]], colWidths=[136 * mm, 34 * mm])
    head.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (0, 0), 4 * mm),
                ("ALIGN", (1, 0), (1, 0), "CENTER"),
            ]
        )
    )
    return head


# --- what was verified --------------------------------------------------------------------------


def _evidence_rows(report: Mapping[str, Any], s: Styles) -> list[tuple[Any, Any]]:
    """The file and its deposit, for a report on an evidence file."""
    rows: list[tuple[Any, Any]] = []
    file = report.get("file")
    if file is not None:
        name = file.get("name") or "—"
        rows.append(
            (s.lab("File name", "文件名"), s.p(f"{name} (as named by the verifier 核验人提供)"))
        )
        rows.append((s.lab("File SM3", "文件 SM3"), s.hexcell(file["sm3"])))
    deposit = report.get("deposit")
    if deposit is not None:
        rows.append((s.lab("Deposit id", "存证编号"), s.hexcell(deposit["tx_id"])))
        rows.append(
            (
                s.lab("Deposit time", "存证时间"),
                s.p(
                    f"{beijing_text(deposit['time_ms'])} 北京时间 Beijing time "
                    f"({deposit['time_utc']} UTC) — block time 区块时间"
                ),
            )
        )
        rows.append((s.lab("Depositor", "存证方"), s.p(str(deposit["depositor"]))))
    return rows


def _subject_rows(report: Mapping[str, Any], s: Styles) -> list[tuple[Any, Any]]:
    tx = report["transaction"]
    what = (
        "电子证据文件与其存证 An electronic evidence file against its deposit"
        if report["subject"] == "evidence_file"
        else "账本上的一笔交易及其回执 A transaction on the ledger and its receipt"
    )
    rows: list[tuple[Any, Any]] = [(s.lab("What was verified", "核验对象"), s.p(what))]
    rows += _evidence_rows(report, s)
    rows += [
        (s.lab("Transaction id", "交易编号"), s.hexcell(tx["tx_id"])),
        (s.lab("Type, submitter", "类型、提交方"), s.p(f"{tx['type']} · {tx['submitter']}")),
        (
            s.lab("Block height", "区块高度"),
            s.p(f"{tx['height']} (transaction 交易 {tx['index'] + 1} of 共 {tx['tx_count']})"),
        ),
        (s.lab("Block hash", "区块哈希"), s.hexcell(tx["block_hash"])),
    ]
    if isinstance(tx.get("block_time_ms"), int):
        rows.append(
            (
                s.lab("Block time", "区块时间"),
                s.p(f"{beijing_text(tx['block_time_ms'])} 北京时间 ({tx['block_time_utc']} UTC)"),
            )
        )
    rows.append(
        (
            s.lab("Time of verification", "核验时间"),
            s.p(
                f"{beijing_text(report['verified_at_ms'])} 北京时间 Beijing time "
                f"({report['verified_at_utc']} UTC), at block height 区块高度 "
                f"{report['node_height']}"
            ),
        )
    )
    return rows


# --- the steps ----------------------------------------------------------------------------------


def _step_row(step: Mapping[str, Any], s: Styles) -> list[Any]:
    en_o, zh_o = OUTCOME_TEXT.get(step["outcome"], (step["outcome"], step["outcome"]))
    color = {PASSED: "#2e7d32", FAILED: "#c62828"}.get(step["outcome"], "#666666")
    outcome_cell = Paragraph(
        f'<font color="{color}"><b>{escape(en_o)}</b><br/>{rich(zh_o)}</font>', s.base
    )
    text = step["text"]
    detail = rich(text["zh"]) + "<br/>" + rich(text["en"])
    if step.get("detail"):
        detail += "<br/>" + mono(str(step["detail"]))
    return [
        Paragraph(lines(step["title"]["zh"], step["title"]["en"]), s.base),
        outcome_cell,
        Paragraph(detail, s.small),
    ]


def _steps(report: Mapping[str, Any], s: Styles) -> list[Any]:
    step_rows: list[list[Any]] = []
    style_cmds: list[Any] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, RULE),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    groups: list[tuple[str, list[Mapping[str, Any]]]] = []
    if report.get("steps"):
        groups.append(("存证核验 Evidence", list(report["steps"])))
    groups.append(("回执核验 Receipt (SPEC §6)", list(report["receipt_steps"])))
    for group, steps in groups:
        step_rows.append([s.p(group, s.label), "", ""])
        style_cmds.append(("SPAN", (0, len(step_rows) - 1), (-1, len(step_rows) - 1)))
        style_cmds.append(
            ("BACKGROUND", (0, len(step_rows) - 1), (-1, len(step_rows) - 1), colors.whitesmoke)
        )
        step_rows += [_step_row(step, s) for step in steps]
    steps_table = Table(step_rows, colWidths=[36 * mm, 22 * mm, 112 * mm], repeatRows=0)
    steps_table.setStyle(TableStyle(style_cmds))
    return [s.p("核验步骤 Verification steps", s.h2), steps_table]


# --- Merkle paths and validators ----------------------------------------------------------------


def _path_cell(head: str, root: str, path: list[str], empty: str, s: Styles) -> Any:
    """A position and root, then the path's hashes one a line (``empty`` when there are none)."""
    return Paragraph(
        rich(head)
        + mono(root)
        + "<br/>"
        + ("<br/>".join(mono(h) for h in path) if path else rich(empty)),
        s.mono,
    )


def _merkle_paths(report: Mapping[str, Any], s: Styles) -> list[Any]:
    tx, file = report["transaction"], report.get("file")
    merkle_rows: list[tuple[Any, Any]] = []
    if file is not None and file.get("merkle_path") is not None:
        head = (
            f"file 文件 {file['index'] + 1} of 共 {file['file_count']} (index 索引 "
            f"{file['index']}); files root 文件根 "
        )
        empty = "(empty: the only file of the deposit 空：存证中唯一的文件)"
        cell = _path_cell(head, file["files_root"], file["merkle_path"], empty, s)
        merkle_rows.append((s.lab("File in deposit", "文件在存证中"), cell))
    head = (
        f"transaction 交易 {tx['index'] + 1} of 共 {tx['tx_count']} (index 索引 "
        f"{tx['index']}); tx root 交易根 "
    )
    empty = "(empty: the only transaction of its block 空：区块中唯一的交易)"
    cell = _path_cell(head, str(tx["tx_root"]), tx["inclusion_proof"], empty, s)
    merkle_rows.append((s.lab("Transaction in block", "交易在区块中"), cell))
    return [s.p("默克尔路径 Merkle paths", s.h2), kv_table(merkle_rows)]


def _validators(report: Mapping[str, Any], s: Styles) -> list[Any]:
    vrows: list[tuple[Any, Any]] = []
    for v in report["validators"]:
        status = "signed 已签署" if v["signed"] else "did not sign 未签署"
        cell = Paragraph(
            lines(f"{status} · power 投票权 {v['power']}", "public key 公钥 ")
            + mono(v["public_key"])
            + (
                "<br/>" + rich("signature 签名 ") + mono(str(v["signature"]))
                if v.get("signature")
                else ""
            ),
            s.mono,
        )
        vrows.append((s.p(str(v["id"])), cell))
    return [s.p("签署区块的验证节点 Validators who signed the block", s.h2), kv_table(vrows)]


# --- the receipt's address and the node's signature ---------------------------------------------


def _receipt_and_signature(report: Mapping[str, Any], signature: str, s: Styles) -> list[Any]:
    node = report["node"]
    sig_par = Paragraph(
        rich("本报告由账本节点签名 This report is signed by the ledger node ")
        + f"<b>{escape(str(node['validator']))}</b>"
        + rich(" (SM2, GB/T 32918.2). 签名内容为附件 verification-report.json 中 report 的 ")
        + rich("RFC 8785 规范化 JSON; the signed content is the canonical JSON of the report in ")
        + rich("the attached file verification-report.json. 核验 Check: ")
        + mono("ledger report-verify REPORT.pdf --genesis genesis.json")
        + "<br/>"
        + rich("报告指纹 Report fingerprint SM3(C(report)): ")
        + mono(fingerprint(report))
        + "<br/>"
        + rich("节点公钥 Node public key: ")
        + mono(node["public_key"])
        + "<br/>"
        + rich("签名 Signature: ")
        + mono(signature),
        s.small,
    )
    qr_text = Paragraph(
        rich("回执 Receipt: ")
        + mono(report["receipt_url"])
        + "<br/>"
        + rich("在门户核验 Verify in the portal: ")
        + mono(report["portal_url"]),
        s.small,
    )
    return [s.p("回执与签名 Receipt and signature", s.h2), qr_text, Spacer(1, 2 * mm), sig_par]


# --- the document -------------------------------------------------------------------------------


def _document(story: list[Any], report: Mapping[str, Any]) -> bytes:
    tx, node = report["transaction"], report["node"]

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7)
        canvas.setFillColor(colors.HexColor("#777777"))
        canvas.drawString(
            20 * mm,
            10 * mm,
            f"tx {tx['tx_id']} · verified {report['verified_at_utc']} · page {doc.page}",
        )
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
        title=f"Verification report {tx['tx_id']}",
        author=f"ledger node {node['validator']}",
        subject=f"{report['subject']} {report['result']}",
        creator="gz-gov-ledger",
    )
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()
