"""Verification steps in plain words, and the signed, printable verification report (PDF).

Three things live here, shared by the portal, the API and the CLI:

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
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from ledger.canonical import canonical, parse_json
from ledger.crypto import PublicKey, Signer, sm3_hex
from ledger.domains.validator.verify import history_validator
from ledger.errors import InvalidInput, LedgerError, MalformedData, VerificationError
from ledger.model import Genesis
from ledger.verify import verify_receipt

REPORT_TYPE = "gzledger_verification_report"
REPORT_VERSION = 1
ATTACHMENT = "verification-report.json"
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

PASSED, FAILED, NOT_CHECKED, SKIPPED = "passed", "failed", "not_checked", "skipped"


def times(time_ms: int) -> dict[str, str]:
    """ISO 8601 renderings of a millisecond time: UTC and Beijing (UTC+8)."""
    t = _EPOCH + timedelta(milliseconds=time_ms)
    return {
        "utc": t.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "beijing": t.astimezone(BEIJING).isoformat(timespec="milliseconds"),
    }


def _beijing_text(time_ms: int) -> str:
    t = (_EPOCH + timedelta(milliseconds=time_ms)).astimezone(BEIJING)
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _short(value: Any, n: int = 12) -> str:
    text = str(value)
    return text if len(text) <= n + 1 else text[:n] + "…"


# --- the receipt steps of spec section 6, in plain words ------------------------------------

RECEIPT_STEPS: tuple[tuple[int, str, str, str], ...] = (
    (0, "shape", "Receipt format", "回执格式"),
    (1, "tx_id", "Transaction id", "交易编号"),
    (2, "signature", "Submitter's signature", "提交方签名"),
    (3, "inclusion", "Inclusion in the block", "区块包含证明"),
    (4, "commit", "Block certificate", "区块证书"),
    (5, "validator_history", "Validator hand-over", "验证节点交接"),
    (6, "validators", "Validator signatures", "验证节点签名"),
)

NOT_CHECKED_TEXT = {
    "en": "Not checked, because an earlier step failed.",
    "zh": "因前面的步骤未通过，此步未检查。",
}


def _receipt_text(number: int, outcome: str, f: Mapping[str, Any]) -> dict[str, str]:
    if outcome == NOT_CHECKED:
        return dict(NOT_CHECKED_TEXT)
    ok = outcome == PASSED
    if number == 0:
        if ok:
            return {
                "en": "The receipt is complete: it holds the transaction, the proof of its place "
                "in a block and the validators' certificate of that block.",
                "zh": "回执完整：包含交易本身、交易在区块中的位置证明，"
                "以及验证节点对该区块的签名证书。",
            }
        return {
            "en": "This is not a complete, well-formed receipt, so nothing in it can be checked.",
            "zh": "这不是一份完整、格式正确的回执，无法核验其中任何内容。",
        }
    if number == 1:
        if ok:
            return {
                "en": "The transaction's fingerprint (its SM3 transaction id) matches its content, "
                f"and it belongs to this ledger ({f.get('chain_id')}).",
                "zh": "交易内容与其指纹（SM3 交易编号）一致，"
                f"且属于本账本（{f.get('chain_id')}）。",
            }
        return {
            "en": "The content of the transaction does not match its transaction id: something "
            "in it was changed, or it belongs to another ledger.",
            "zh": "交易内容与交易编号不符：其中内容已被改动，或它属于另一个账本。",
        }
    if number == 2:
        if ok:
            return {
                "en": f"{f.get('submitter')} signed exactly this content with its registered SM2 "
                "key: the digital signature is valid.",
                "zh": f"{f.get('submitter')} 使用其登记的 SM2 密钥签署了这份内容：数字签名有效。",
            }
        return {
            "en": "The submitter's digital signature does not match the content: the content was "
            "altered after signing, or signed with another key.",
            "zh": "提交方的数字签名与内容不符：内容在签名后被改动，或使用了其他密钥签名。",
        }
    if number == 3:
        if ok:
            return {
                "en": f"The transaction is in block {f.get('height')}: its Merkle path (the "
                "inclusion proof) leads from the transaction to the block's root hash.",
                "zh": f"该交易位于第 {f.get('height')} 号区块：其默克尔路径（包含证明）"
                "可从交易推算出区块的根哈希。",
            }
        return {
            "en": "The proof that the transaction is in the block does not hold: the Merkle path "
            "does not lead to the block's root hash.",
            "zh": "交易位于该区块的证明不成立：默克尔路径推算不出区块的根哈希。",
        }
    if number == 4:
        if ok:
            return {
                "en": f"The validators' certificate is for exactly this block (block "
                f"{f.get('height')}).",
                "zh": f"验证节点的证书正是针对该区块（第 {f.get('height')} 号区块）。",
            }
        return {
            "en": "The validators' certificate is for another block: the block's header was "
            "changed.",
            "zh": "验证节点的证书针对的是另一个区块：区块头已被改动。",
        }
    if number == 5:
        n = f.get("handovers", 0)
        if ok and not n:
            return {
                "en": "The set of validators has not changed since the ledger was founded.",
                "zh": "自账本创立以来，验证节点集合没有变化。",
            }
        if ok:
            return {
                "en": f"Trust passes from the founding validators to the block's validators "
                f"through {n} signed hand-over(s).",
                "zh": f"信任经过 {n} 次签名交接，从创始验证节点传递到该区块的验证节点。",
            }
        return {
            "en": "The hand-over of trust between sets of validators does not hold.",
            "zh": "验证节点集合之间的信任交接不成立。",
        }
    if ok:
        return {
            "en": "Validators holding more than two thirds of the voting power signed the block: "
            f"{f.get('signers')}.",
            "zh": f"持有超过三分之二投票权的验证节点签署了该区块：{f.get('signers')}。",
        }
    return {
        "en": "The validators' signatures on the block do not hold: it lacks enough valid "
        "signatures of this ledger's validators.",
        "zh": "区块上的验证节点签名不成立：缺少本账本验证节点足够的有效签名。",
    }


def _facts(receipt: Any) -> dict[str, Any]:
    """What the sentences name, read defensively from a receipt that may be malformed."""

    def get(*path: str) -> Any:
        value = receipt
        for key in path:
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        return value

    signatures = get("commit", "signatures")
    signers = (
        ", ".join(str(s.get("validator")) for s in signatures if isinstance(s, Mapping))
        if isinstance(signatures, list)
        else ""
    )
    history = get("validator_history")
    return {
        "chain_id": get("chain_id"),
        "tx_id": get("tx_id"),
        "submitter": get("transaction", "envelope", "submitter"),
        "type": get("transaction", "envelope", "type"),
        "height": get("header", "height"),
        "index": get("index"),
        "block_time": get("header", "timestamp"),
        "signers": signers,
        "handovers": len(history) if isinstance(history, list) else 0,
    }


def check_receipt(receipt: Any, genesis: Genesis) -> dict[str, Any]:
    """Every step of spec section 6 with its outcome and a plain sentence (en, zh).

    ``valid`` is true when every step passed; ``failed_step`` names the failing check as
    :class:`ledger.errors.VerificationError` does (``"2 signature"``), with ``error``."""
    error: VerificationError | None = None
    try:
        verify_receipt(receipt, genesis)
    except VerificationError as exc:
        error = exc
    except (InvalidInput, ValueError) as exc:
        error = VerificationError("0 shape", str(exc), code="malformed_receipt")
    failing = int(error.step.split(" ", 1)[0]) if error is not None else None
    facts = _facts(receipt)
    steps: list[dict[str, Any]] = []
    for number, name, en, zh in RECEIPT_STEPS:
        if failing is None or number < failing:
            outcome = PASSED
        elif number == failing:
            outcome = FAILED
        else:
            outcome = NOT_CHECKED
        item: dict[str, Any] = {
            "step": f"{number} {name}",
            "number": number,
            "outcome": outcome,
            "title": {"en": en, "zh": zh},
            "text": _receipt_text(number, outcome, facts),
        }
        if outcome == FAILED and error is not None:
            item["check"] = error.step
            item["detail"] = error.message.removeprefix(f"{error.step}: ")
            if error.expected is not None:
                item["expected"] = error.expected
            if error.found is not None:
                item["found"] = error.found
        steps.append(item)
    result: dict[str, Any] = {
        "valid": error is None,
        "tx_id": facts["tx_id"] if isinstance(facts["tx_id"], str) else None,
        "chain_id": genesis.chain_id,
        "genesis_hash": genesis.hash,
        "steps": steps,
        "failed_step": error.step if error is not None else None,
        "error": error.to_dict() if error is not None else None,
    }
    if error is None:
        result["transaction"] = {
            k: facts[k] for k in ("type", "submitter", "height", "index", "block_time", "signers")
        }
    return result


# --- the evidence court verification as five steps -------------------------------------------

EVIDENCE_STEPS: tuple[tuple[str, str, str], ...] = (
    ("hash", "Hash computed", "计算文件指纹"),
    ("deposit", "Deposit found", "找到存证"),
    ("inclusion", "Inclusion proof", "包含证明"),
    ("signatures", "Validator signatures", "验证节点签名"),
    ("time", "Deposit time", "存证时间"),
)


def _ev_step(name: str, outcome: str, text: dict[str, str], **extra: Any) -> dict[str, Any]:
    title = next({"en": en, "zh": zh} for key, en, zh in EVIDENCE_STEPS if key == name)
    return {"step": name, "outcome": outcome, "title": title, "text": text, **extra}


def hash_step(sm3: str, computed_by: str) -> dict[str, Any]:
    """The first step: who computed the file's SM3 (``browser``, ``verifier`` or ``node``)."""
    if computed_by == "node":
        text = {
            "en": f"The node computed the file's SM3 fingerprint: {sm3}.",
            "zh": f"节点计算了文件的 SM3 指纹：{sm3}。",
        }
    elif computed_by == "browser":
        text = {
            "en": f"Your browser computed the file's SM3 fingerprint: {sm3}. The file itself was "
            "not sent anywhere.",
            "zh": f"您的浏览器计算了文件的 SM3 指纹：{sm3}。文件本身没有发送到任何地方。",
        }
    else:
        text = {
            "en": f"The verifier's computer computed the file's SM3 fingerprint: {sm3}. The file "
            "itself was not sent to the ledger.",
            "zh": f"核验人的计算机计算了文件的 SM3 指纹：{sm3}。文件本身没有发送给账本。",
        }
    return _ev_step("hash", PASSED, text, sm3=sm3)


def evidence_not_found(sm3: str, computed_by: str, deposit_id: str | None) -> list[dict[str, Any]]:
    if deposit_id is None:
        text = {
            "en": "No deposit on the ledger can be found from this file's fingerprint alone. If "
            "the file was deposited together with other files, enter the deposit number. A file "
            "that was changed after its deposit is not found either.",
            "zh": "仅凭该文件的指纹，在账本上找不到存证。如果该文件是与其他文件一同存证的，"
            "请输入存证编号。存证后被改动过的文件也会找不到。",
        }
    else:
        text = {
            "en": f"There is no deposit with the number {deposit_id} on the ledger.",
            "zh": f"账本上没有编号为 {deposit_id} 的存证。",
        }
    rest = [
        _ev_step(name, NOT_CHECKED, dict(NOT_CHECKED_TEXT))
        for name, _, _ in EVIDENCE_STEPS
        if name not in ("hash", "deposit")
    ]
    return [hash_step(sm3, computed_by), _ev_step("deposit", FAILED, text), *rest]


def evidence_steps(
    outcome: Mapping[str, Any], receipt_check: Mapping[str, Any], computed_by: str
) -> list[dict[str, Any]]:
    """The five steps from ``POST /v1/evidence/verify``'s answer and :func:`check_receipt`."""
    by_name = {s["step"]: s for s in outcome["steps"]}
    deposit = outcome["deposit"]
    count, height = outcome["file_count"], deposit["height"]
    steps = [
        hash_step(outcome["file"]["sm3"], computed_by),
        _ev_step(
            "deposit",
            PASSED,
            {
                "en": f"Deposit {_short(deposit['tx_id'])} is on the ledger: deposited by "
                f"{deposit['depositor']} in block {height}, holding {count} file(s).",
                "zh": f"存证 {_short(deposit['tx_id'])} 在账本上：由 {deposit['depositor']} 存证于"
                f"第 {height} 号区块，共 {count} 个文件。",
            },
        ),
    ]
    receipt_ok = bool(receipt_check["valid"])
    tx_in_block = next(s for s in receipt_check["steps"] if s["number"] == 3)["outcome"] == PASSED
    file_step = by_name.get("file_in_deposit", {})
    result = outcome["result"]
    if result == "match" and tx_in_block:
        index = outcome["file"]["index"]
        text = {
            "en": f"Match: this is file {index + 1} of the {count} deposited. Its Merkle path "
            "leads from the file's fingerprint to the files root signed in the deposit, and the "
            f"deposit's own Merkle path leads to the root of block {height}.",
            "zh": f"匹配：该文件是存证中 {count} 个文件里的第 {index + 1} 个。它的默克尔路径可从"
            "文件指纹推算出存证中签名的文件根哈希，存证交易的默克尔路径也可推算出第 "
            f"{height} 号区块的根哈希。",
        }
        steps.append(_ev_step("inclusion", PASSED, text, merkle_path=outcome["merkle_path"]))
    elif file_step.get("outcome") == "failed" or result == "mismatch":
        text = {
            "en": "Mismatch: this file is not the file that was deposited. It has been changed "
            "since, or it is another file.",
            "zh": "不匹配：该文件不是存证时的文件。它在存证后被改动过，或者是另一个文件。",
        }
        steps.append(_ev_step("inclusion", FAILED, text))
    elif file_step.get("outcome") == "skipped":
        text = {
            "en": "Undetermined: this deposit holds several files and its depositor did not "
            "register their list with this node, so the file's place among them cannot be "
            "computed here. Ask the depositor for the verification report of the deposit.",
            "zh": "无法确定：该存证包含多个文件，存证方未在本节点登记文件清单，"
            "因此无法在此计算该文件在存证中的位置。请向存证方索取该存证的核验报告。",
        }
        steps.append(_ev_step("inclusion", SKIPPED, text))
    else:
        text = {
            "en": "The proof that the deposit is in its block does not hold.",
            "zh": "存证位于其区块中的证明不成立。",
        }
        steps.append(_ev_step("inclusion", FAILED, text))
    signers = (receipt_check.get("transaction") or {}).get("signers", "")
    if receipt_ok:
        text = {
            "en": f"The deposit's receipt verifies: the depositor's SM2 signature, its place in "
            f"block {height}, and the signatures of the validators ({signers}) who certified "
            "the block.",
            "zh": f"存证回执核验通过：存证方的 SM2 签名、其在第 {height} 号区块中的位置，"
            f"以及认证该区块的验证节点（{signers}）的签名均有效。",
        }
        steps.append(_ev_step("signatures", PASSED, text))
    else:
        failed = next(s for s in receipt_check["steps"] if s["outcome"] == FAILED)
        text = {
            "en": f"The deposit's receipt does not verify at step “{failed['title']['en']}”: "
            f"{failed['text']['en']}",
            "zh": f"存证回执在“{failed['title']['zh']}”一步未通过：{failed['text']['zh']}",
        }
        steps.append(_ev_step("signatures", FAILED, text))
    t = times(deposit["time_ms"])
    if receipt_ok:
        text = {
            "en": f"The validators attest that the deposit was on the ledger at "
            f"{_beijing_text(deposit['time_ms'])} Beijing time ({t['utc']} UTC), the time of "
            f"block {height}.",
            "zh": f"验证节点证明该存证于北京时间 {_beijing_text(deposit['time_ms'])}"
            f"（UTC {t['utc']}，第 {height} 号区块的时间）已在账本上。",
        }
        steps.append(_ev_step("time", PASSED, text, time_ms=deposit["time_ms"]))
    else:
        text = {
            "en": "The deposit time cannot be attested, because the receipt does not verify.",
            "zh": "由于回执未通过核验，无法证明存证时间。",
        }
        steps.append(_ev_step("time", FAILED, text))
    return steps


def evidence_result(steps: Sequence[Mapping[str, Any]]) -> str:
    """``match`` when every step passed; ``mismatch``, ``undetermined`` or ``not_found``."""
    by = {s["step"]: s["outcome"] for s in steps}
    if by.get("deposit") == FAILED:
        return "not_found"
    if by.get("inclusion") == FAILED and by.get("signatures") == PASSED:
        return "mismatch"
    if all(o == PASSED for o in by.values()):
        return "match"
    return "undetermined"


# --- the report document ------------------------------------------------------------------------


def build_report(
    *,
    receipt: Mapping[str, Any],
    genesis: Genesis,
    verified_at_ms: int,
    node_height: int,
    node_validator: str,
    node_public_key: str,
    node_validator_history: Sequence[Mapping[str, Any]] = (),
    receipt_url: str,
    portal_url: str,
    evidence: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The report's data, before signing.

    ``evidence`` (for an evidence file): ``{"file_name", "sm3", "computed_by", "outcome"
    (the answer of the evidence verification), "steps" (from evidence_steps)}``."""
    check = check_receipt(receipt, genesis)
    header = receipt.get("header") if isinstance(receipt.get("header"), Mapping) else {}
    assert isinstance(header, Mapping)
    envelope = receipt["transaction"]["envelope"]
    block_time = header.get("timestamp")
    validators_wire = receipt.get("validators", {}).get("validators", [])
    signed_by = {
        s.get("validator"): s.get("signature")
        for s in receipt.get("commit", {}).get("signatures", [])
        if isinstance(s, Mapping)
    }
    validators = [
        {
            "id": v["id"],
            "public_key": v["public_key"],
            "power": v["power"],
            "signed": v["id"] in signed_by,
            "signature": signed_by.get(v["id"]),
        }
        for v in validators_wire
    ]
    verified = times(verified_at_ms)
    report: dict[str, Any] = {
        "type": REPORT_TYPE,
        "report_version": REPORT_VERSION,
        "chain_id": genesis.chain_id,
        "genesis_hash": genesis.hash,
        "subject": "evidence_file" if evidence is not None else "transaction",
        "verified_at_ms": verified_at_ms,
        "verified_at_utc": verified["utc"],
        "verified_at_beijing": verified["beijing"],
        "node_height": node_height,
        "transaction": {
            "tx_id": receipt["tx_id"],
            "type": envelope.get("type"),
            "submitter": envelope.get("submitter"),
            "submitted_at_ms": envelope.get("timestamp"),
            "height": header.get("height"),
            "index": receipt.get("index"),
            "block_hash": receipt.get("commit", {}).get("block_hash"),
            "block_time_ms": block_time,
            "block_time_utc": times(block_time)["utc"] if isinstance(block_time, int) else None,
            "block_time_beijing": (
                times(block_time)["beijing"] if isinstance(block_time, int) else None
            ),
            "tx_root": header.get("tx_root"),
            "tx_count": header.get("tx_count"),
            "inclusion_proof": list(receipt.get("inclusion_proof", [])),
        },
        "validators": validators,
        "receipt_steps": check["steps"],
        "receipt_valid": check["valid"],
        "receipt_url": receipt_url,
        "portal_url": portal_url,
        "receipt": dict(receipt),
        # the handovers from the genesis set to a set holding the signer (docs/verifying.md)
        "node": {
            "validator": node_validator,
            "public_key": node_public_key,
            "validator_history": list(node_validator_history),
        },
    }
    if evidence is not None:
        outcome = evidence["outcome"]
        steps = list(evidence["steps"])
        report["file"] = {
            "name": evidence.get("file_name"),
            "sm3": evidence["sm3"],
            "computed_by": evidence["computed_by"],
            "index": outcome["file"]["index"],
            "merkle_path": outcome["merkle_path"],
            "files_root": outcome["files_root"],
            "file_count": outcome["file_count"],
        }
        report["deposit"] = dict(outcome["deposit"])
        report["steps"] = steps
        report["result"] = evidence_result(steps)
    else:
        report["result"] = "valid" if check["valid"] else "invalid"
    return report


def sign_report(report: Mapping[str, Any], signer: Signer) -> dict[str, Any]:
    """``{"report": report, "signature": Sig(sk, C(report))}``."""
    if report["node"]["public_key"] != signer.public_key.hex:
        raise MalformedData("report.node.public_key is not the signer's key")
    return {"report": dict(report), "signature": signer.sign(canonical(report))}


def fingerprint(report: Mapping[str, Any]) -> str:
    """``hex(H(C(report)))``: printed on the report so that a paper copy names its content."""
    return sm3_hex(canonical(report))


# --- the PDF ------------------------------------------------------------------------------------

_CJK = re.compile(r"([\u2e80-\u9fff\u3000-\u303f\uff00-\uffef]+)")
_RESULT_TEXT = {
    "match": ("MATCH — the file is the one deposited", "匹配 —— 该文件即存证时的文件"),
    "mismatch": (
        "MISMATCH — the file is not the one deposited",
        "不匹配 —— 该文件不是存证时的文件",
    ),
    "undetermined": ("UNDETERMINED — see the steps below", "无法确定 —— 见下列步骤"),
    "not_found": ("NOT FOUND — no such deposit", "未找到存证"),
    "valid": ("VALID — the transaction is on the ledger", "有效 —— 该交易已记录在账本上"),
    "invalid": ("INVALID — the receipt does not verify", "无效 —— 回执未通过核验"),
}
_OUTCOME_TEXT = {
    PASSED: ("PASSED", "通过"),
    FAILED: ("FAILED", "未通过"),
    NOT_CHECKED: ("not checked", "未检查"),
    SKIPPED: ("undetermined", "无法确定"),
    "info": ("info", "信息"),
}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _rich(text: str) -> str:
    """Paragraph markup: Latin text in Helvetica, CJK runs in the STSong-Light CID font."""
    return _CJK.sub(r'<font face="STSong-Light">\1</font>', _escape(text))


def _mono(text: str) -> str:
    return f'<font face="Courier">{_escape(text)}</font>'


def _lines(*parts: str) -> str:
    """Plain text lines (escaped, CJK-aware) joined by line breaks."""
    return "<br/>".join(_rich(part) for part in parts)


def render_pdf(signed: Mapping[str, Any]) -> bytes:
    """The printable report, with the signed JSON attached as ``verification-report.json``."""
    from pypdf import PdfReader, PdfWriter
    from reportlab.graphics.shapes import Drawing, Rect
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import (
        Paragraph,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    report, signature = signed["report"], signed["signature"]
    tx = report["transaction"]

    base = ParagraphStyle("base", fontName="Helvetica", fontSize=8.5, leading=11.5)
    small = ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5)
    mono = ParagraphStyle("mono", parent=base, fontName="Courier", fontSize=7.2, leading=9)
    h1 = ParagraphStyle("h1", parent=base, fontName="Helvetica-Bold", fontSize=15, leading=20)
    h2 = ParagraphStyle(
        "h2", parent=base, fontName="Helvetica-Bold", fontSize=10.5, leading=14, spaceBefore=7
    )
    label = ParagraphStyle("label", parent=base, textColor=colors.HexColor("#444444"))

    def p(text: str, style: ParagraphStyle = base) -> Any:
        return Paragraph(_rich(text), style)

    def lab(en: str, zh: str) -> Any:
        return Paragraph(_rich(f"{zh} {en}"), label)

    def hexcell(value: Any) -> Any:
        return Paragraph(_mono(str(value)), mono)

    def kv_table(rows: list[tuple[Any, Any]]) -> Any:
        table = Table(rows, colWidths=[42 * mm, 128 * mm])
        table.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#cccccc")),
                    ("TOPPADDING", (0, 0), (-1, -1), 2),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ]
            )
        )
        return table

    result = report["result"]
    good = result in ("match", "valid")
    en_res, zh_res = _RESULT_TEXT.get(result, (result, result))
    banner = Table(
        [[Paragraph(_lines(zh_res, en_res), ParagraphStyle("b", parent=h2))]],
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

    qr = _qr_drawing(report["receipt_url"], 30 * mm, Drawing, Rect, colors)
    qr_caption = Paragraph(_lines("扫码查看回执", "Scan for the receipt"), small)
    title_block = [
        p("区块链核验报告 Verification report", h1),
        p(
            f"广州政务记录账本 Guangzhou government records ledger · chain {report['chain_id']}",
            small,
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
    story: list[Any] = [head]

    what = (
        "电子证据文件与其存证 An electronic evidence file against its deposit"
        if report["subject"] == "evidence_file"
        else "账本上的一笔交易及其回执 A transaction on the ledger and its receipt"
    )
    rows: list[tuple[Any, Any]] = [(lab("What was verified", "核验对象"), p(what))]
    file = report.get("file")
    if file is not None:
        name = file.get("name") or "—"
        rows.append(
            (lab("File name", "文件名"), p(f"{name} (as named by the verifier 核验人提供)"))
        )
        rows.append((lab("File SM3", "文件 SM3"), hexcell(file["sm3"])))
    deposit = report.get("deposit")
    if deposit is not None:
        rows.append((lab("Deposit id", "存证编号"), hexcell(deposit["tx_id"])))
        rows.append(
            (
                lab("Deposit time", "存证时间"),
                p(
                    f"{_beijing_text(deposit['time_ms'])} 北京时间 Beijing time "
                    f"({deposit['time_utc']} UTC) — block time 区块时间"
                ),
            )
        )
        rows.append((lab("Depositor", "存证方"), p(str(deposit["depositor"]))))
    rows += [
        (lab("Transaction id", "交易编号"), hexcell(tx["tx_id"])),
        (lab("Type, submitter", "类型、提交方"), p(f"{tx['type']} · {tx['submitter']}")),
        (
            lab("Block height", "区块高度"),
            p(f"{tx['height']} (transaction 交易 {tx['index'] + 1} of 共 {tx['tx_count']})"),
        ),
        (lab("Block hash", "区块哈希"), hexcell(tx["block_hash"])),
    ]
    if isinstance(tx.get("block_time_ms"), int):
        rows.append(
            (
                lab("Block time", "区块时间"),
                p(f"{_beijing_text(tx['block_time_ms'])} 北京时间 ({tx['block_time_utc']} UTC)"),
            )
        )
    rows.append(
        (
            lab("Time of verification", "核验时间"),
            p(
                f"{_beijing_text(report['verified_at_ms'])} 北京时间 Beijing time "
                f"({report['verified_at_utc']} UTC), at block height 区块高度 "
                f"{report['node_height']}"
            ),
        )
    )
    story += [Spacer(1, 3 * mm), kv_table(rows)]

    # steps
    story.append(p("核验步骤 Verification steps", h2))
    step_rows: list[list[Any]] = []
    style_cmds: list[Any] = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.HexColor("#cccccc")),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
    ]
    groups: list[tuple[str, list[Mapping[str, Any]]]] = []
    if report.get("steps"):
        groups.append(("存证核验 Evidence", list(report["steps"])))
    groups.append(("回执核验 Receipt (SPEC §6)", list(report["receipt_steps"])))
    for group, steps in groups:
        step_rows.append([p(group, label), "", ""])
        style_cmds.append(("SPAN", (0, len(step_rows) - 1), (-1, len(step_rows) - 1)))
        style_cmds.append(
            ("BACKGROUND", (0, len(step_rows) - 1), (-1, len(step_rows) - 1), colors.whitesmoke)
        )
        for s in steps:
            en_o, zh_o = _OUTCOME_TEXT.get(s["outcome"], (s["outcome"], s["outcome"]))
            color = {PASSED: "#2e7d32", FAILED: "#c62828"}.get(s["outcome"], "#666666")
            outcome_cell = Paragraph(
                f'<font color="{color}"><b>{_escape(en_o)}</b><br/>{_rich(zh_o)}</font>', base
            )
            text = s["text"]
            detail = _rich(text["zh"]) + "<br/>" + _rich(text["en"])
            if s.get("detail"):
                detail += "<br/>" + _mono(str(s["detail"]))
            step_rows.append(
                [
                    Paragraph(_lines(s["title"]["zh"], s["title"]["en"]), base),
                    outcome_cell,
                    Paragraph(detail, small),
                ]
            )
    steps_table = Table(step_rows, colWidths=[36 * mm, 22 * mm, 112 * mm], repeatRows=0)
    steps_table.setStyle(TableStyle(style_cmds))
    story.append(steps_table)

    # Merkle paths
    story.append(p("默克尔路径 Merkle paths", h2))
    merkle_rows: list[tuple[Any, Any]] = []
    if file is not None and file.get("merkle_path") is not None:
        merkle_rows.append(
            (
                lab("File in deposit", "文件在存证中"),
                Paragraph(
                    _rich(
                        f"file 文件 {file['index'] + 1} of 共 {file['file_count']} (index 索引 "
                        f"{file['index']}); files root 文件根 "
                    )
                    + _mono(file["files_root"])
                    + "<br/>"
                    + (
                        "<br/>".join(_mono(h) for h in file["merkle_path"])
                        if file["merkle_path"]
                        else _rich("(empty: the only file of the deposit 空：存证中唯一的文件)")
                    ),
                    mono,
                ),
            )
        )
    proof = tx["inclusion_proof"]
    merkle_rows.append(
        (
            lab("Transaction in block", "交易在区块中"),
            Paragraph(
                _rich(
                    f"transaction 交易 {tx['index'] + 1} of 共 {tx['tx_count']} (index 索引 "
                    f"{tx['index']}); tx root 交易根 "
                )
                + _mono(str(tx["tx_root"]))
                + "<br/>"
                + (
                    "<br/>".join(_mono(h) for h in proof)
                    if proof
                    else _rich("(empty: the only transaction of its block 空：区块中唯一的交易)")
                ),
                mono,
            ),
        )
    )
    story.append(kv_table(merkle_rows))

    # validators
    story.append(p("签署区块的验证节点 Validators who signed the block", h2))
    vrows: list[tuple[Any, Any]] = []
    for v in report["validators"]:
        status = "signed 已签署" if v["signed"] else "did not sign 未签署"
        cell = Paragraph(
            _lines(f"{status} · power 投票权 {v['power']}", "public key 公钥 ")
            + _mono(v["public_key"])
            + (
                "<br/>" + _rich("signature 签名 ") + _mono(str(v["signature"]))
                if v.get("signature")
                else ""
            ),
            mono,
        )
        vrows.append((p(str(v["id"])), cell))
    story.append(kv_table(vrows))

    # the receipt's address and the node's signature
    node = report["node"]
    sig_par = Paragraph(
        _rich("本报告由账本节点签名 This report is signed by the ledger node ")
        + f"<b>{_escape(str(node['validator']))}</b>"
        + _rich(" (SM2, GB/T 32918.2). 签名内容为附件 verification-report.json 中 report 的 ")
        + _rich("RFC 8785 规范化 JSON; the signed content is the canonical JSON of the report in ")
        + _rich("the attached file verification-report.json. 核验 Check: ")
        + _mono("ledger report-verify REPORT.pdf --genesis genesis.json")
        + "<br/>"
        + _rich("报告指纹 Report fingerprint SM3(C(report)): ")
        + _mono(fingerprint(report))
        + "<br/>"
        + _rich("节点公钥 Node public key: ")
        + _mono(node["public_key"])
        + "<br/>"
        + _rich("签名 Signature: ")
        + _mono(signature),
        small,
    )
    qr_text = Paragraph(
        _rich("回执 Receipt: ")
        + _mono(report["receipt_url"])
        + "<br/>"
        + _rich("在门户核验 Verify in the portal: ")
        + _mono(report["portal_url"]),
        small,
    )
    story += [p("回执与签名 Receipt and signature", h2), qr_text, Spacer(1, 2 * mm), sig_par]

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
        subject=f"{report['subject']} {result}",
        creator="gz-gov-ledger",
    )
    doc.build(story, onFirstPage=footer, onLaterPages=footer)
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(buffer.getvalue())))
    writer.add_attachment(ATTACHMENT, canonical(signed))
    writer.add_metadata({"/GzLedgerReport": fingerprint(report), "/GzLedgerTx": tx["tx_id"]})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _qr_drawing(text: str, size: float, drawing_cls: Any, rect_cls: Any, colors: Any) -> Any:
    """The QR code as vector squares (crisp when printed)."""
    import segno

    code = segno.make(text, error="m", micro=False)
    matrix = [list(row) for row in code.matrix]
    border = 4
    n = len(matrix) + 2 * border
    cell = size / n
    drawing = drawing_cls(size, size)
    drawing.add(rect_cls(0, 0, size, size, fillColor=colors.white, strokeColor=None))
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                drawing.add(
                    rect_cls(
                        (x + border) * cell,
                        size - (y + border + 1) * cell,
                        cell,
                        cell,
                        fillColor=colors.black,
                        strokeColor=None,
                        strokeWidth=0,
                    )
                )
    return drawing


# --- checking a report later --------------------------------------------------------------------


def read_report_pdf(pdf: bytes) -> dict[str, Any]:
    """The signed document attached to a report PDF (``{"report", "signature"}``)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(pdf))
        attachments = reader.attachments
        blobs = attachments.get(ATTACHMENT)
    except (PdfReadError, ValueError, KeyError, TypeError, OSError) as exc:
        raise MalformedData(f"not a readable PDF: {exc}", code="bad_report") from None
    if not blobs:
        raise MalformedData(
            f"the PDF has no attached {ATTACHMENT}: it is not a ledger verification report",
            code="bad_report",
        )
    value = parse_json(blobs[0])
    if not isinstance(value, dict) or set(value) != {"report", "signature"}:
        raise MalformedData(f"{ATTACHMENT} is not a signed report", code="bad_report")
    return value


def pdf_text(pdf: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def _vstep(name: str, ok: bool | None, detail: str) -> dict[str, Any]:
    outcome = PASSED if ok else (SKIPPED if ok is None else FAILED)
    return {"step": name, "outcome": outcome, "detail": detail}


def verify_report_pdf(pdf: bytes, genesis: Genesis) -> dict[str, Any]:
    """Check a report PDF against a trusted genesis, without the node.

    Steps: ``attachment`` (the signed JSON is there), ``chain`` (same chain and genesis),
    ``node_key`` (the signing key is that of a validator of the genesis set or of a set
    ``report.node.validator_history`` hands trust to), ``signature`` (the node's SM2
    signature over C(report)), ``receipt`` (the embedded receipt verifies, and is the
    report's transaction), ``file`` (for an evidence file: the Merkle path leads from the
    file's SM3 to the files root in the signed deposit), ``printed`` (the page shows the signed
    transaction id and fingerprint). ``valid`` when none failed."""
    steps: list[dict[str, Any]] = []
    out: dict[str, Any] = {"valid": False, "steps": steps}
    try:
        signed = read_report_pdf(pdf)
    except LedgerError as exc:
        steps.append(_vstep("attachment", False, exc.message))
        return out
    report, signature = signed["report"], signed["signature"]
    if not isinstance(report, dict) or report.get("type") != REPORT_TYPE:
        steps.append(_vstep("attachment", False, "the attachment is not a verification report"))
        return out
    steps.append(_vstep("attachment", True, f"{ATTACHMENT} holds a signed report"))
    out["report"] = report
    out["fingerprint"] = fingerprint(report)
    same_chain = (
        report.get("chain_id") == genesis.chain_id and report.get("genesis_hash") == genesis.hash
    )
    steps.append(
        _vstep(
            "chain",
            same_chain,
            f"the report is about chain {report.get('chain_id')} with genesis "
            f"{_short(report.get('genesis_hash'), 16)}; the trusted genesis is {genesis.chain_id} "
            f"{_short(genesis.hash, 16)}",
        )
    )
    node = report.get("node") if isinstance(report.get("node"), Mapping) else {}
    assert isinstance(node, Mapping)
    try:
        history_validator(
            genesis,
            str(node.get("validator")),
            node.get("validator_history", []),
            step="node_key",
            public_key=str(node.get("public_key")),
        )
        key_ok = True
        detail = (
            f"signed by {node.get('validator')!r}, a validator of the trusted genesis or of a "
            "set its validators handed trust to, with its key"
        )
    except VerificationError as exc:
        key_ok = False
        detail = f"signed by {node.get('validator')!r}: {exc.message}"
    steps.append(_vstep("node_key", key_ok, detail))
    sig_ok = False
    try:
        PublicKey(str(node.get("public_key"))).verify(str(signature), canonical(report))
        sig_ok = True
        detail = "the node's SM2 signature over the canonical JSON of the report verifies"
    except LedgerError as exc:
        detail = f"the node's signature does not verify: {exc.message}"
    steps.append(_vstep("signature", sig_ok, detail))
    receipt = report.get("receipt")
    tx = report.get("transaction") if isinstance(report.get("transaction"), Mapping) else {}
    assert isinstance(tx, Mapping)
    check = check_receipt(receipt, genesis)
    same_tx = (
        isinstance(receipt, Mapping)
        and receipt.get("tx_id") == tx.get("tx_id")
        and receipt.get("inclusion_proof") == tx.get("inclusion_proof")
        and receipt.get("header", {}).get("height") == tx.get("height")
        and receipt.get("commit", {}).get("block_hash") == tx.get("block_hash")
    )
    if check["valid"] and same_tx:
        detail = f"the embedded receipt of {tx.get('tx_id')} verifies against the genesis"
    elif not check["valid"]:
        detail = f"the embedded receipt does not verify: {check['failed_step']}"
    else:
        detail = "the embedded receipt is not that of the report's transaction"
    steps.append(_vstep("receipt", bool(check["valid"] and same_tx), detail))
    file = report.get("file")
    if isinstance(file, Mapping) and isinstance(receipt, Mapping):
        steps.append(_file_step(file, receipt, report.get("result")))
    try:
        text = re.sub(r"\s+", "", pdf_text(pdf))
        printed = str(tx.get("tx_id")) in text and fingerprint(report) in text
    except Exception:  # a damaged page stream: report it as a failed step
        printed = False
    steps.append(
        _vstep(
            "printed",
            printed,
            "the printed page shows the signed transaction id and report fingerprint"
            if printed
            else "the printed page does not show the signed transaction id and fingerprint",
        )
    )
    out["valid"] = all(s["outcome"] != FAILED for s in steps)
    return out


def _file_step(file: Mapping[str, Any], receipt: Mapping[str, Any], result: Any) -> dict[str, Any]:
    from ledger.domains.evidence.verify import root_from_path

    envelope = receipt.get("transaction", {}).get("envelope", {})
    payload = envelope.get("payload", {}) if isinstance(envelope, Mapping) else {}
    if envelope.get("type") != "evidence.deposit":
        return _vstep("file", False, "the receipt is not that of an evidence deposit")
    if payload.get("files_root") != file.get("files_root") or payload.get("file_count") != file.get(
        "file_count"
    ):
        return _vstep("file", False, "the files root is not the one signed in the deposit")
    if result != "match":
        return _vstep(
            "file", None, f"result {result}: there is no Merkle path to check for this file"
        )
    try:
        root = root_from_path(
            str(file["sm3"]), int(file["index"]), int(file["file_count"]), file["merkle_path"]
        )
    except (LedgerError, ValueError, KeyError, TypeError):
        root = None
    ok = root == payload.get("files_root")
    return _vstep(
        "file",
        ok,
        f"the Merkle path leads from SM3 {_short(file.get('sm3'), 16)} to the files root of the "
        "signed deposit"
        if ok
        else "the Merkle path does not lead from the file's SM3 to the deposit's files root",
    )
