"""The report's words in Chinese and English: step titles, the sentence for each outcome of a
step, and the result and outcome labels the PDF prints.

A sentence is a ``{"en": ..., "zh": ...}`` dict; each call returns a new one, so a caller may
change what it got.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledger.report.common import FAILED, NOT_CHECKED, PASSED, SKIPPED, beijing_text, times

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


def receipt_text(number: int, outcome: str, f: Mapping[str, Any]) -> dict[str, str]:
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


# --- the evidence court verification as five steps -------------------------------------------

EVIDENCE_STEPS: tuple[tuple[str, str, str], ...] = (
    ("hash", "Hash computed", "计算文件指纹"),
    ("deposit", "Deposit found", "找到存证"),
    ("inclusion", "Inclusion proof", "包含证明"),
    ("signatures", "Validator signatures", "验证节点签名"),
    ("time", "Deposit time", "存证时间"),
)


def hash_text(sm3: str, computed_by: str) -> dict[str, str]:
    if computed_by == "node":
        return {
            "en": f"The node computed the file's SM3 fingerprint: {sm3}.",
            "zh": f"节点计算了文件的 SM3 指纹：{sm3}。",
        }
    if computed_by == "browser":
        return {
            "en": f"Your browser computed the file's SM3 fingerprint: {sm3}. The file itself was "
            "not sent anywhere.",
            "zh": f"您的浏览器计算了文件的 SM3 指纹：{sm3}。文件本身没有发送到任何地方。",
        }
    return {
        "en": f"The verifier's computer computed the file's SM3 fingerprint: {sm3}. The file "
        "itself was not sent to the ledger.",
        "zh": f"核验人的计算机计算了文件的 SM3 指纹：{sm3}。文件本身没有发送给账本。",
    }


def deposit_not_found_text(deposit_id: str | None) -> dict[str, str]:
    if deposit_id is None:
        return {
            "en": "No deposit on the ledger can be found from this file's fingerprint alone. If "
            "the file was deposited together with other files, enter the deposit number. A file "
            "that was changed after its deposit is not found either.",
            "zh": "仅凭该文件的指纹，在账本上找不到存证。如果该文件是与其他文件一同存证的，"
            "请输入存证编号。存证后被改动过的文件也会找不到。",
        }
    return {
        "en": f"There is no deposit with the number {deposit_id} on the ledger.",
        "zh": f"账本上没有编号为 {deposit_id} 的存证。",
    }


def deposit_found_text(deposit_id: str, depositor: Any, height: Any, count: Any) -> dict[str, str]:
    return {
        "en": f"Deposit {deposit_id} is on the ledger: deposited by "
        f"{depositor} in block {height}, holding {count} file(s).",
        "zh": f"存证 {deposit_id} 在账本上：由 {depositor} 存证于"
        f"第 {height} 号区块，共 {count} 个文件。",
    }


def file_match_text(index: int, count: Any, height: Any) -> dict[str, str]:
    return {
        "en": f"Match: this is file {index + 1} of the {count} deposited. Its Merkle path "
        "leads from the file's fingerprint to the files root signed in the deposit, and the "
        f"deposit's own Merkle path leads to the root of block {height}.",
        "zh": f"匹配：该文件是存证中 {count} 个文件里的第 {index + 1} 个。它的默克尔路径可从"
        "文件指纹推算出存证中签名的文件根哈希，存证交易的默克尔路径也可推算出第 "
        f"{height} 号区块的根哈希。",
    }


def file_mismatch_text() -> dict[str, str]:
    return {
        "en": "Mismatch: this file is not the file that was deposited. It has been changed "
        "since, or it is another file.",
        "zh": "不匹配：该文件不是存证时的文件。它在存证后被改动过，或者是另一个文件。",
    }


def file_undetermined_text() -> dict[str, str]:
    return {
        "en": "Undetermined: this deposit holds several files and its depositor did not "
        "register their list with this node, so the file's place among them cannot be "
        "computed here. Ask the depositor for the verification report of the deposit.",
        "zh": "无法确定：该存证包含多个文件，存证方未在本节点登记文件清单，"
        "因此无法在此计算该文件在存证中的位置。请向存证方索取该存证的核验报告。",
    }


def deposit_not_in_block_text() -> dict[str, str]:
    return {
        "en": "The proof that the deposit is in its block does not hold.",
        "zh": "存证位于其区块中的证明不成立。",
    }


def receipt_verified_text(height: Any, signers: Any) -> dict[str, str]:
    return {
        "en": f"The deposit's receipt verifies: the depositor's SM2 signature, its place in "
        f"block {height}, and the signatures of the validators ({signers}) who certified "
        "the block.",
        "zh": f"存证回执核验通过：存证方的 SM2 签名、其在第 {height} 号区块中的位置，"
        f"以及认证该区块的验证节点（{signers}）的签名均有效。",
    }


def receipt_failed_text(failed: Mapping[str, Any]) -> dict[str, str]:
    """``failed``: the receipt step (of ``check_receipt``) that did not pass."""
    return {
        "en": f"The deposit's receipt does not verify at step “{failed['title']['en']}”: "
        f"{failed['text']['en']}",
        "zh": f"存证回执在“{failed['title']['zh']}”一步未通过：{failed['text']['zh']}",
    }


def deposit_time_text(time_ms: int, height: Any) -> dict[str, str]:
    t = times(time_ms)
    return {
        "en": f"The validators attest that the deposit was on the ledger at "
        f"{beijing_text(time_ms)} Beijing time ({t['utc']} UTC), the time of "
        f"block {height}.",
        "zh": f"验证节点证明该存证于北京时间 {beijing_text(time_ms)}"
        f"（UTC {t['utc']}，第 {height} 号区块的时间）已在账本上。",
    }


def time_unattested_text() -> dict[str, str]:
    return {
        "en": "The deposit time cannot be attested, because the receipt does not verify.",
        "zh": "由于回执未通过核验，无法证明存证时间。",
    }


# --- the labels the PDF prints (English, Chinese) ------------------------------------------------

RESULT_TEXT = {
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
OUTCOME_TEXT = {
    PASSED: ("PASSED", "通过"),
    FAILED: ("FAILED", "未通过"),
    NOT_CHECKED: ("not checked", "未检查"),
    SKIPPED: ("undetermined", "无法确定"),
    "info": ("info", "信息"),
}
