"""Demo data for education identity cards: Baiyun district schools issue cards to pupils.

Registers three more schools through governance (``gz-gov-service-bureau``), issues
``count`` cards across four schools (guardian consent recorded for every holder under 14),
then suspends, reinstates, revokes and renews some of them. The holders' disclosures (the
plain claim values with their salts) never go to the ledger: they are written to
``HOME/edu_card_wallet.json``, the holders' wallets, off chain. Names, numbers and schools
are generated and fictional.
"""

from __future__ import annotations

import calendar
import json
import os
import random
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.crypto import sm3_hex
from ledger.domains.edu_card._format import CardDraft, ms_to_iso, new_card, qr_payload, renewed
from ledger.domains.member.demo import DemoKeys
from ledger.errors import InvalidInput
from ledger.model import SignedTransaction
from ledger.transactions import make_transaction

if TYPE_CHECKING:
    from ledger.client import LedgerClient

WALLET = "edu_card_wallet.json"

# (member id, school name, code, grades taught)
SCHOOLS: tuple[tuple[str, str, str, range], ...] = (
    ("baiyun-school-1", "广州市白云区云山实验学校", "YS", range(1, 10)),
    ("baiyun-school-2", "广州市白云区鹤岭小学", "HL", range(1, 7)),
    ("baiyun-school-3", "广州市白云区石井第三中学", "SJ", range(7, 10)),
    ("baiyun-school-4", "广州市白云区嘉禾外国语学校", "JH", range(1, 10)),
)
SURNAMES = "陈李黄张梁刘林何王吴罗郑谢冯邓曾彭蔡许钟杨周叶苏卢"
GIVEN = "子梓浩宇欣怡俊杰嘉诗雨涵晓明思琪文轩家豪颖彤泽楠佳乐若曦志伟静雯铭"
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
BAIYUN = "440111"


def id_card_number(rng: random.Random, birth: time.struct_time, male: bool) -> str:
    """A fictional resident ID number (GB 11643-1999 layout and check character)."""
    seq = rng.randrange(0, 500) * 2 + (1 if male else 0)
    body = f"{BAIYUN}{birth.tm_year:04d}{birth.tm_mon:02d}{birth.tm_mday:02d}{seq:03d}"
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, ID_WEIGHTS, strict=True)) % 11]
    return body + check


def _school_year(now_ms: int) -> int:
    t = time.gmtime(now_ms // 1000)
    return t.tm_year if t.tm_mon >= 9 else t.tm_year - 1


def _utc(year: int, month: int, day: int) -> str:
    return f"{year:04d}-{month:02d}-{day:02d}T00:00:00Z"


def _pupil(rng: random.Random, school: tuple[str, str, str, range], year: int, seq: int) -> Any:
    member, school_name, code, grades = school
    grade = rng.choice(list(grades))
    # grade g in the school year starting in September of `year`: born from
    # September (year - 6 - g) to August (year - 5 - g)
    born_from = calendar.timegm((year - 6 - grade, 9, 1, 12, 0, 0, 0, 0, 0))
    birth = time.gmtime(born_from + rng.randrange(0, 365) * 86400)
    male = rng.random() < 0.5
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
    id_number = id_card_number(rng, birth, male)
    now = time.gmtime()
    age = now.tm_year - birth.tm_year - ((now.tm_mon, now.tm_mday) < (birth.tm_mon, birth.tm_mday))
    last_grade = max(grades)
    claims = {
        "name": name,
        "student_number": f"{code}{year}{seq:04d}",
        "id_card_number": id_number,
        "grade": grade,
        "photo_hash": sm3_hex(secrets.token_bytes(64)),  # stands in for the photo file
        "school": school_name,
        "birth_year_month": f"{birth.tm_year:04d}-{birth.tm_mon:02d}",
    }
    return {
        "claims": claims,
        "holder": "G" + id_number,  # national student-status number (全国学籍号) style
        "under_14": age < 14,
        "valid_from": _utc(year, 9, 1),
        "valid_until": _utc(year + last_grade - grade + 1, 8, 31),
        "member": member,
    }


def _submit(
    client: LedgerClient,
    txs: Sequence[SignedTransaction],
    done: int,
    progress: Callable[[int], None],
) -> int:
    """Submit in batches and wait for every receipt; returns the new running total."""
    for i in range(0, len(txs), 100):
        chunk = txs[i : i + 100]
        answer = client.submit_batch(chunk)
        if answer["rejected"]:
            first = answer["rejected"][0]["error"]
            raise InvalidInput(
                f"the ledger refused a demo transaction: {first['message']}", code=first["code"]
            )
        for tx in chunk:
            client.wait_for_receipt(tx.tx_id, timeout=120)
            done += 1
            if done % 10 == 0:
                progress(done)
    progress(done)
    return done


def _write_wallet(path: Path, wallet: dict[str, Any]) -> None:
    tmp = path.with_suffix(".json.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(wallet, f, ensure_ascii=False, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def generate(client: LedgerClient, home: Path, count: int, progress: Callable[[int], None]) -> int:
    home = Path(home)
    chain_id = client.genesis().chain_id
    base_url = str(client.http.base_url).rstrip("/")
    keys = DemoKeys(home, chain_id)
    rng = random.Random(secrets.randbits(64))
    done = 0

    # 1. more schools, registered by governance
    known = {m["id"] for m in client.members()}
    registrations = keys.registrations(((m, ["school"]) for m, *_ in SCHOOLS), known)
    done = _submit(client, registrations, done, progress)
    signers = {member: keys.signer(member) for member, *_ in SCHOOLS}

    # 2. the cards
    year = _school_year(time.time_ns() // 1_000_000)
    drafts: list[tuple[CardDraft, dict[str, Any]]] = []
    issues = []
    for i in range(count):
        pupil = _pupil(rng, SCHOOLS[i % len(SCHOOLS)], year, i + 1)
        member = pupil["member"]
        draft = new_card(
            signer=signers[member],
            school=member,
            chain_id=chain_id,
            claims=pupil["claims"],
            holder=pupil["holder"],
            valid_from=pupil["valid_from"],
            valid_until=pupil["valid_until"],
        )
        payload: dict[str, Any] = {
            "credential": draft.credential,
            "holder_under_14": pupil["under_14"],
        }
        if pupil["under_14"]:
            # the school keeps the guardian's signed consent form; on chain only a salted
            # commitment to it
            payload["guardian_consent"] = True
            payload["guardian_consent_record"] = sm3_hex(
                secrets.token_bytes(16) + f"consent form {draft.card_id}".encode()
            )
        tx = make_transaction(
            signers[member],
            chain_id=chain_id,
            type="edu_card.issue",
            submitter=member,
            payload=payload,
        )
        drafts.append((draft, {"member": member, "issue_tx": tx.tx_id, "current_tx": tx.tx_id}))
        issues.append(tx)
    done = _submit(client, issues, done, progress)

    # 3. the life of some cards: suspended (some reinstated), revoked, renewed
    order = list(range(count))
    rng.shuffle(order)
    share = max(1, count // 16)
    suspended = order[:share]
    reinstated = suspended[: max(1, share // 2)] if count > 1 else []
    revoked = order[share : share + max(0, count // 25)]
    renew = order[share + len(revoked) : share + len(revoked) + max(0, count // 20)]
    status = {i: "active" for i in order}

    def card_tx(i: int, tx_type: str, payload: dict[str, Any]) -> SignedTransaction:
        member = drafts[i][1]["member"]
        return make_transaction(
            signers[member],
            chain_id=chain_id,
            type=tx_type,
            submitter=member,
            payload={"card_id": drafts[i][0].card_id, **payload},
        )

    changes = []
    for i in suspended:
        reason = rng.choice(["reported_lost", "under_review"])
        changes.append(card_tx(i, "edu_card.suspend", {"reason": reason}))
        status[i] = "suspended"
    for i in revoked:
        reason = rng.choice(["transferred_out", "withdrawn", "issued_in_error"])
        changes.append(card_tx(i, "edu_card.revoke", {"reason": reason}))
        status[i] = "revoked"
    for i in renew:
        draft, info = drafts[i]
        old = draft.credential
        until = old["validUntil"]
        longer = f"{int(until[:4]) + 1}{until[4:]}"  # kept back a year: one more year
        credential = renewed(old, signers[info["member"]], info["member"], old["validFrom"], longer)
        tx = card_tx(i, "edu_card.renew", {"credential": credential})
        drafts[i] = (
            CardDraft(draft.card_id, credential, draft.disclosures, draft.holder_disclosure),
            {**info, "current_tx": tx.tx_id},
        )
        changes.append(tx)
    done = _submit(client, changes, done, progress)
    back = []
    for i in reinstated:
        reason = "card_recovered" if rng.random() < 0.7 else "review_cleared"
        back.append(card_tx(i, "edu_card.reinstate", {"reason": reason}))
        status[i] = "active"
    done = _submit(client, back, done, progress)

    # 4. the holders' wallets, off chain
    path = home / WALLET
    wallet: dict[str, Any] = {
        "about": (
            "Holders' wallets of the edu_card demo: each card's credential (as on the ledger) "
            "and its disclosures [salt, claim, value] with the plain values. Off chain; show "
            "a verifier only the disclosures it needs (POST /v1/edu_card/verify)."
        ),
        "chain_id": chain_id,
        "ledger_url": base_url,
        "cards": [],
    }
    if path.exists():
        try:
            old_wallet = json.loads(path.read_text(encoding="utf-8"))
            if old_wallet.get("chain_id") == chain_id:
                wallet["cards"] = list(old_wallet.get("cards", []))
        except (ValueError, AttributeError):
            pass
    for i, (draft, info) in enumerate(drafts):
        wallet["cards"].append(
            {
                "card_id": draft.card_id,
                "school": info["member"],
                "status_when_generated": status[i],
                "generated_at": ms_to_iso(time.time_ns() // 1_000_000),
                "credential": draft.credential,
                "disclosures": draft.disclosures,
                "holder_disclosure": draft.holder_disclosure,
                "issue_tx": info["issue_tx"],
                "current_tx": info["current_tx"],
                "qr": qr_payload(draft.card_id, info["current_tx"], base_url),
            }
        )
    _write_wallet(path, wallet)
    return done
