"""Demo data for the evidence domain: web captures, chat records, e-mails and contracts
deposited by the Internet Court's evidence platform, a notary office and the court itself,
with their metadata and (for some) their files registered with the node, and a few custody
events: court access, a transfer to the court, a seal, an auditor's access, and one deposit
whose processing ceased at the party's request (PIPL Art. 47).

    generate(client, home, count, progress) -> number of transactions submitted

``client`` is a ``ledger.client.LedgerClient`` (described here by :class:`NodeClient`, so
that the domain does not import the HTTP client).
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ledger.crypto import Signer, sm3_hex
from ledger.domains.evidence.schemas import deposit_payload, new_salt
from ledger.domains.evidence.verify import files_root
from ledger.domains.member.demo import DemoKeys
from ledger.errors import InvalidInput
from ledger.model import Genesis, SignedTransaction
from ledger.request_auth import sign_request

PLATFORM = "evidence-platform"
COURT = "gz-internet-court"
AUDITOR = "gz-audit-bureau"
# registered by the demo when missing: a second depositor and a second court
NOTARY = "gz-nansha-notary-office"
APPEAL_COURT = "gz-intermediate-court"
EXTRA_MEMBERS = ((NOTARY, ("depositor",)), (APPEAL_COURT, ("court",)))
BATCH = 25


class Reply(Protocol):
    @property
    def status_code(self) -> int: ...

    @property
    def text(self) -> str: ...

    def json(self) -> Any: ...


class Http(Protocol):
    def request(
        self, method: str, url: str, *, content: bytes, headers: dict[str, str]
    ) -> Reply: ...


class NodeClient(Protocol):
    """What the demo uses of ``ledger.client.LedgerClient``."""

    @property
    def http(self) -> Http: ...

    def genesis(self) -> Genesis: ...

    def members(self) -> Any: ...

    def submit_batch(self, txs: Sequence[SignedTransaction]) -> Any: ...

    def wait_for_receipt(self, tx_id: str, timeout: float = ...) -> Any: ...


@dataclass(frozen=True)
class Capture:
    """One piece of evidence as a depositor prepares it: files, metadata, salt, payload."""

    files: list[tuple[str, str, bytes]]  # (name, media type, bytes)
    metadata: dict[str, Any]
    salt: str

    @property
    def payload(self) -> dict[str, Any]:
        return deposit_payload(self.metadata, self.salt)


_SHOPS = ["mall.example.cn", "shop.example.com", "live.example.cn", "video.example.net"]
_DISPUTES = [
    ("网店商品页面侵犯商标权", "trademark"),
    ("短视频平台侵犯著作权", "copyright"),
    ("网络直播间虚假宣传", "advertising"),
    ("网络购物合同纠纷：商品描述与实物不符", "sale"),
    ("网络服务合同纠纷：会员自动续费", "service"),
    ("网络名誉权纠纷：论坛帖子", "reputation"),
]
_CHATS = ["货款催收聊天记录", "租赁合同押金退还沟通记录", "装修工程款结算聊天记录"]
_CONTRACTS = ["软件开发服务合同", "跨境电商代运营合同", "网络直播带货合作协议"]
_DISTRICTS = ["天河区", "越秀区", "海珠区", "荔湾区", "白云区", "黄埔区", "番禺区", "南沙区"]
_OPERATORS = ["取证员 陈某", "取证员 李某", "公证员 黄某", "书记员 梁某"]


def example_deposit_payload() -> dict[str, Any]:
    """A valid deposit payload of one random file (for tests that need any deposit)."""
    return {
        "v": 1,
        "files_root": files_root([sm3_hex(os.urandom(32))]),
        "file_count": 1,
        "metadata_commitment": sm3_hex(os.urandom(32)),
    }


def _png(rng: random.Random, size: int) -> bytes:
    return b"\x89PNG\r\n\x1a\n" + rng.randbytes(size)


def _environment(rng: random.Random) -> dict[str, Any]:
    return {
        "os": rng.choice(["Ubuntu 22.04 LTS (clean VM)", "Windows 10 22H2 (clean VM)"]),
        "software": rng.choice(["Chromium 126.0 headless", "Firefox ESR 128"]),
        "network": f"China Telecom Guangzhou, egress 203.0.113.{rng.randint(2, 250)}, no proxy",
        "time_source": "NTP ntp.ntsc.ac.cn (National Time Service Center)",
        "clean_check": "hosts, DNS and proxy settings checked before capture; cache cleared",
    }


def sample_capture(rng: random.Random, i: int, now_ms: int | None = None) -> Capture:
    """A realistic deposit: a web capture (screenshot, HTML, network log; sometimes a screen
    recording), a chat export, an e-mail, or a signed contract."""
    now = now_ms if now_ms is not None else time.time_ns() // 1_000_000
    captured = now - rng.randint(5 * 60_000, 3 * 86_400_000)
    kind = rng.choice(["web", "web", "web", "chat", "email", "contract"])
    district = rng.choice(_DISTRICTS)
    files: list[tuple[str, str, bytes]]
    if kind == "web":
        title, _ = rng.choice(_DISPUTES)
        host = rng.choice(_SHOPS)
        item = rng.randint(100000, 999999)
        url = f"https://{host}/item/{item}"
        html = (
            f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>商品 {item}'
            f"</title></head><body><h1>{title}</h1><p>店铺所在地：广州市{district}</p>"
            f"<p>价格：{rng.randint(19, 2999)}.00 元</p></body></html>"
        ).encode()
        har = json.dumps(
            {
                "log": {
                    "version": "1.2",
                    "entries": [
                        {"request": {"method": "GET", "url": url}, "response": {"status": 200}}
                    ],
                }
            }
        ).encode()
        files = [
            ("page-screenshot.png", "image/png", _png(rng, rng.randint(2000, 6000))),
            ("page.html", "text/html", html),
            ("network-log.har", "application/json", har),
        ]
        if rng.random() < 0.25:
            files.append(("screen-recording.mp4", "video/mp4", rng.randbytes(8000)))
        provenance: dict[str, Any] = {
            "method": "web_capture",
            "source": url,
            "tool": {"name": "网通法链取证工具 (GZIC web capture)", "version": "3.2.1"},
        }
    elif kind == "chat":
        title = rng.choice(_CHATS)
        lines = "\n".join(
            f"2026-0{rng.randint(1, 9)}-1{rng.randint(0, 9)} 甲方：请于本周内支付尾款"
            for _ in range(rng.randint(3, 12))
        )
        files = [
            ("chat-export.txt", "text/plain", lines.encode()),
            ("chat-screenshot-1.png", "image/png", _png(rng, 3000)),
        ]
        provenance = {
            "method": "chat_capture",
            "source": "WeChat desktop client, conversation export",
            "tool": {"name": "可信录屏取证", "version": "2.4.0"},
        }
    elif kind == "email":
        title = "电子邮件往来：合同变更确认"
        eml = (
            "From: sales@example.cn\r\nTo: buyer@example.com\r\nSubject: 合同变更确认\r\n\r\n"
            f"确认交货地点变更为广州市{district}。\r\n"
        ).encode()
        files = [("message.eml", "message/rfc822", eml)]
        provenance = {
            "method": "email_capture",
            "source": "imaps://imap.example.cn/INBOX",
            "tool": {"name": "邮件取证工具", "version": "1.8.3"},
        }
    else:
        title = f"电子合同存证：{rng.choice(_CONTRACTS)}"
        files = [("contract-signed.pdf", "application/pdf", b"%PDF-1.7\n" + rng.randbytes(5000))]
        provenance = {
            "method": "file_upload",
            "source": "uploaded by the party through the GZIC evidence platform",
            "tool": {"name": "网通法链存证平台", "version": "5.0.2"},
        }
    provenance.update(
        captured_at=captured,
        environment=_environment(rng),
        operator=rng.choice(_OPERATORS),
    )
    metadata: dict[str, Any] = {
        "v": 1,
        "title": f"{title}（{district}）",
        "files": [
            {"sm3": sm3_hex(data), "size": len(data), "media_type": media, "name": name}
            for name, media, data in files
        ],
        "provenance": provenance,
    }
    if rng.random() < 0.6:
        metadata["case_ref"] = f"(2026)粤0192民初{1000 + i}号"
    return Capture(files, metadata, new_salt())


def _request(
    client: NodeClient, signer: Signer, member: str, method: str, path: str, body: bytes
) -> Any:
    headers = sign_request(signer, member, method, path, body)
    response = client.http.request(method, path, content=body, headers=headers)
    if response.status_code >= 400:
        try:
            error = response.json()["error"]
        except (ValueError, KeyError):
            error = {"code": "http_error", "message": response.text[:300]}
        raise InvalidInput(f"{method} {path}: {error['message']}", code=error["code"])
    return response.json()


def register_metadata(
    client: NodeClient, signer: Signer, member: str, deposit_id: str, capture: Capture
) -> Any:
    body = json.dumps({"salt": capture.salt, "metadata": capture.metadata}).encode()
    path = f"/v1/evidence/deposits/{deposit_id}/metadata"
    return _request(client, signer, member, "PUT", path, body)


def upload_file(
    client: NodeClient, signer: Signer, member: str, deposit_id: str, data: bytes
) -> Any:
    path = f"/v1/evidence/deposits/{deposit_id}/files/{sm3_hex(data)}"
    return _request(client, signer, member, "PUT", path, data)


def _commit_all(client: NodeClient, txs: list[SignedTransaction]) -> None:
    for i in range(0, len(txs), BATCH):
        chunk = txs[i : i + BATCH]
        result = client.submit_batch(chunk)
        if result["rejected"]:
            error = result["rejected"][0]["error"]
            raise InvalidInput(f"demo transaction refused: {error['message']}", code=error["code"])
    for tx in txs:
        client.wait_for_receipt(tx.tx_id, timeout=60)


def generate(client: NodeClient, home: Path, count: int, progress: Callable[[int], None]) -> int:
    keys = DemoKeys(home, client.genesis().chain_id)
    rng = random.Random(int.from_bytes(os.urandom(8), "big"))
    done = 0
    tx = keys.tx

    # 1. a notary office (depositor) and the intermediate court, if not members yet
    registered = {m["id"] for m in client.members()}
    registrations = keys.registrations(((m, list(r)) for m, r in EXTRA_MEMBERS), registered)
    if registrations:
        _commit_all(client, registrations)
        done += len(registrations)
        progress(done)

    # 2. the deposits, in batches; a tenth by the notary, a tenth by the court itself
    deposits: list[tuple[str, str, Capture]] = []
    for start in range(0, count, BATCH):
        batch: list[SignedTransaction] = []
        for i in range(start, min(count, start + BATCH)):
            depositor = PLATFORM if i % 10 not in (3, 7) else (NOTARY if i % 10 == 3 else COURT)
            capture = sample_capture(rng, i)
            deposit = tx(depositor, "evidence.deposit", capture.payload)
            batch.append(deposit)
            deposits.append((deposit.tx_id, depositor, capture))
        _commit_all(client, batch)
        done += len(batch)
        progress(done)

    # 3. the restricted metadata of every deposit, and the files of every fourth
    for n, (deposit_id, depositor, capture) in enumerate(deposits):
        signer = keys.signer(depositor)
        register_metadata(client, signer, depositor, deposit_id, capture)
        if n % 4 == 0:
            for _, _, data in capture.files:
                upload_file(client, signer, depositor, deposit_id, data)

    # 4. custody: the court examines, takes over, seals; an auditor checks; one party has
    #    its evidence's processing stopped
    platform_ids = [d for d, who, _ in deposits if who == PLATFORM]
    events: list[SignedTransaction] = []

    def custody(member: str, deposit_id: str, kind: str, **extra: Any) -> None:
        events.append(
            tx(member, "evidence.custody", {"deposit_id": deposit_id, "kind": kind, **extra})
        )

    for deposit_id in platform_ids[: max(1, len(platform_ids) // 10)]:
        custody(COURT, deposit_id, "access")
    if len(platform_ids) >= 2:
        custody(PLATFORM, platform_ids[1], "transfer", to=COURT)
        custody(COURT, platform_ids[1], "seal", details_commitment=sm3_hex(os.urandom(32)))
        custody(AUDITOR, platform_ids[1], "access")
    if len(platform_ids) >= 3:
        custody(PLATFORM, platform_ids[2], "cease_processing")
    if len(platform_ids) >= 4:
        custody(PLATFORM, platform_ids[3], "access")
    _commit_all(client, events)
    done += len(events)
    progress(done)
    return done
