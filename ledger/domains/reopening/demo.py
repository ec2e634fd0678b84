"""Demo data for the reopening domain: Guangzhou enterprises filing their reopening.

``generate`` registers ``count`` new enterprise members (``gz-ent-001``, ... continuing after
those already on the chain) and the approvers the routing rule needs (by the default naming
rule: ``<district>-street-office`` and ``<district>-industry-dept``), through
``member.register`` by ``gz-gov-service-bureau``; then each enterprise files, some amend, the
routed bodies approve, return or reject, returned filings come back amended, and approved
firms above the inspection threshold are inspected on site. A few filings are left pending so
that approvers' queues are not empty.

Also the valid example payloads tests and docs use: ``file_payload()`` gives a complete,
valid ``reopening.file`` payload with a fresh unified social credit code (one filing per
code), planned for tomorrow (Guangzhou time).
"""

from __future__ import annotations

import datetime as dt
import random
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from ledger.crypto import sm3_hex
from ledger.domains.member.demo import DemoKeys
from ledger.domains.reopening.schemas import CHARSET, check_character
from ledger.domains.reopening.state import DISTRICTS, RoutingConfig, conventional_reviewer
from ledger.errors import InvalidInput, Unavailable
from ledger.model import Genesis, SignedTransaction

ENTERPRISE_PREFIX = "gz-ent-"

# district -> (weight, streets) — real streets (街道) and towns (镇) of each district
STREETS: dict[str, tuple[int, tuple[str, ...]]] = {
    "天河区": (
        8,
        (
            "石牌街道",
            "五山街道",
            "天河南街道",
            "林和街道",
            "沙河街道",
            "员村街道",
            "车陂街道",
            "冼村街道",
            "猎德街道",
            "棠下街道",
            "珠吉街道",
            "黄村街道",
        ),
    ),
    "越秀区": (4, ("北京街道", "人民街道", "东山街道", "农林街道", "登峰街道", "六榕街道")),
    "海珠区": (4, ("赤岗街道", "新港街道", "琶洲街道", "南洲街道", "江海街道", "素社街道")),
    "荔湾区": (3, ("沙面街道", "多宝街道", "华林街道", "逢源街道", "冲口街道", "东漖街道")),
    "白云区": (5, ("三元里街道", "同和街道", "京溪街道", "嘉禾街道", "太和镇", "人和镇")),
    "黄埔区": (4, ("黄埔街道", "大沙街道", "萝岗街道", "联和街道", "永和街道", "九龙镇")),
    "番禺区": (4, ("市桥街道", "大石街道", "洛浦街道", "钟村街道", "石碁镇", "南村镇")),
    "花都区": (2, ("新华街道", "秀全街道", "花城街道", "狮岭镇", "炭步镇")),
    "南沙区": (2, ("南沙街道", "珠江街道", "黄阁镇", "东涌镇")),
    "从化区": (1, ("街口街道", "江埔街道", "城郊街道", "温泉镇")),
    "增城区": (2, ("荔城街道", "增江街道", "永宁街道", "新塘镇", "石滩镇")),
}
BRANDS = [
    "穗华",
    "粤海",
    "珠江",
    "羊城",
    "南方",
    "花城",
    "岭南",
    "穗丰",
    "金穗",
    "宏远",
    "恒通",
    "华联",
    "新港",
    "广源",
    "穗佳",
    "粤秀",
    "沙河",
    "东圃",
    "鹏程",
    "嘉和",
    "联创",
    "启航",
    "瑞丰",
    "德信",
    "永盛",
    "晨光",
    "明珠",
    "海鸥",
    "银河",
    "合众",
    "远洋",
    "骏达",
]
INDUSTRIES = [
    "精密制造",
    "电子科技",
    "食品",
    "服装",
    "物流",
    "生物医药",
    "汽车零部件",
    "印刷包装",
    "软件技术",
    "建材",
    "家具",
    "化妆品",
    "餐饮管理",
    "医疗器械",
    "智能装备",
    "纺织",
    "模具",
    "新材料",
    "供应链管理",
    "通信设备",
]
EXTRA_MEASURES = (
    "ventilation",
    "staggered_shifts",
    "separate_dining",
    "isolation_room",
    "health_log",
    "visitor_registration",
    "emergency_plan",
    "remote_work",
)
APPROVE = (
    "防控措施落实到位，物资储备充足，同意复工。",
    "经审核，员工健康排查完整，同意按计划复工。",
    "材料齐全，同意复工；请做好每日体温检测登记。",
)
RETURN = (
    "请补充设置临时隔离观察室，并完善应急处置预案后重新提交。",
    "返岗人员健康排查信息不完整，请补充后重新提交。",
    "请明确错峰上下班及分餐安排后重新提交。",
)
REJECT = (
    "防疫物资储备不足，且未落实场所消毒制度，暂不同意复工。",
    "生产场所不具备复工防疫条件，暂不同意复工。",
)
FINDINGS = {
    "passed": (
        "现场检查体温检测点、口罩佩戴和消毒记录，防控措施落实到位。",
        "隔离观察室设置规范，员工健康台账完整，符合复工防疫要求。",
    ),
    "rectification_required": (
        "食堂未落实分餐错峰，限期三日内整改。",
        "消毒记录不完整，要求补齐并每日公示。",
    ),
    "failed": ("现场未设置体温检测点，口罩储备不足，责令暂停生产并整改。",),
}
ORG_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CST = dt.timezone(dt.timedelta(hours=8))


# --- credit codes and example payloads ------------------------------------------------------

# GB 11714-1997 organisation code (positions 9-17 of a credit code); used here to make
# realistic codes, not checked by the ledger (the standard asks only for position 18).
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_CHARS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def org_code_check(first8: str) -> str:
    """The GB 11714-1997 check character of an 8-character organisation code body."""
    if len(first8) != 8 or any(c not in _ORG_CHARS for c in first8):
        raise ValueError("need 8 characters from 0-9 and A-Z")
    total = sum(_ORG_CHARS.index(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def make_credit_code(
    division: str, org_body: str, authority: str = "9", category: str = "1"
) -> str:
    """A valid credit code from its parts (``org_body``: 8 characters; its check is added)."""
    first17 = authority + category + division + org_body + org_code_check(org_body)
    return first17 + check_character(first17)


def fresh_credit_code(district: str = "天河区") -> str:
    """A valid credit code, random in its organisation code part."""
    body = "MA5" + "".join(secrets.choice(CHARSET) for _ in range(5))
    return make_credit_code(DISTRICTS[district][1], body)


def tomorrow() -> str:
    now = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
    return (now.date() + dt.timedelta(days=1)).isoformat()


def content(
    *,
    name: str = "广州穗华精密制造有限公司",
    district: str = "天河区",
    street: str = "石牌街道",
    employees: int = 120,
    planned_date: str | None = None,
) -> dict[str, Any]:
    observation = employees // 60
    cleared = employees - observation
    return {
        "name": name,
        "district": district,
        "street": street,
        "planned_date": planned_date or tomorrow(),
        "employee_count": employees,
        "returning_staff": cleared,
        "screening": {
            "screened": employees,
            "travelled_from_risk_areas": employees // 40,
            "under_observation": observation,
            "abnormal_temperature": 0,
            "cleared": cleared,
        },
        "measures": ["temperature_checks", "masks", "disinfection", "staggered_shifts"],
        "plan_summary": "每日两次体温检测，厂区每日消毒，食堂错峰就餐，设临时隔离观察室。",
        "plan_sm3": "5d1f0a3c" * 8,
        "supplies": {
            "masks": cleared * 20,
            "thermometers": max(1, employees // 50),
            "disinfectant_litres": max(5, employees // 5),
            "hand_sanitizer_bottles": max(4, employees // 10),
            "days_covered": 14,
        },
    }


def file_payload(*, credit_code: str | None = None, **kwargs: Any) -> dict[str, Any]:
    """A valid ``reopening.file`` payload (keyword arguments as for :func:`content`)."""
    district = kwargs.get("district", "天河区")
    return {**content(**kwargs), "credit_code": credit_code or fresh_credit_code(district)}


# --- the generator --------------------------------------------------------------------------


class _Response(Protocol):
    def json(self) -> Any: ...


class _Http(Protocol):
    def get(self, url: str) -> _Response: ...


class DemoClient(Protocol):
    """What the generator asks of a node; ``ledger.client.LedgerClient`` is one."""

    @property
    def http(self) -> _Http: ...

    def genesis(self) -> Genesis: ...

    def members(self) -> Any: ...

    def submit_batch(self, txs: Sequence[SignedTransaction]) -> Any: ...

    def status(self, tx_id: str) -> Any: ...


def _today() -> dt.date:
    return dt.datetime.now(CST).date()


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class _Run(DemoKeys):
    def __init__(self, client: DemoClient, home: Path, progress: Callable[[int], None]) -> None:
        super().__init__(home, client.genesis().chain_id)
        self.client = client
        self.progress = progress
        self.done = 0

    def run(self, txs: list[SignedTransaction], timeout: float = 120.0) -> None:
        """Submit in order and wait until every one is committed."""
        for chunk in _chunks(txs, 500):
            result = self.client.submit_batch(list(chunk))
            for rejection in result["rejected"]:
                error = rejection["error"]
                if error["code"] != "duplicate_transaction":
                    raise InvalidInput(
                        f"demo transaction {rejection['index']} refused: {error['message']}",
                        code=error["code"],
                    )
        deadline = time.monotonic() + timeout
        pending = [tx.tx_id for tx in txs]
        while pending:
            still = []
            for tx_id in pending:
                status = self.client.status(tx_id)
                if status["status"] == "rejected":
                    raise InvalidInput(status["error"]["message"], code=status["error"]["code"])
                if status["status"] != "committed":
                    still.append(tx_id)
            self.done += len(pending) - len(still)
            self.progress(self.done)
            pending = still
            if pending:
                if time.monotonic() > deadline:
                    raise Unavailable(f"{len(pending)} demo transactions not committed in time")
                time.sleep(0.1)

    def register(self, wanted: list[tuple[str, str]], existing: set[str]) -> None:
        self.run(self.registrations(((m, [role]) for m, role in wanted), existing))


def _pick_district(rng: random.Random) -> str:
    names = list(STREETS)
    return rng.choices(names, weights=[STREETS[n][0] for n in names])[0]


def _staff(rng: random.Random) -> int:
    band = rng.random()
    if band < 0.2:
        return rng.randint(5, 20)
    if band < 0.88:
        return rng.randint(21, 480)
    return rng.randint(500, 3200)


def _content(rng: random.Random, name: str, district: str, street: str) -> dict[str, Any]:
    staff = _staff(rng)
    observation = rng.randint(0, max(0, staff // 40))
    abnormal = rng.choice((0, 0, 0, 1)) if staff > 30 else 0
    cleared = staff - observation - abnormal
    returning = max(1, cleared * rng.randint(60, 100) // 100)
    measures = ["temperature_checks", "masks", "disinfection"]
    measures += rng.sample(EXTRA_MEASURES, rng.randint(1, 4))
    planned = _today() + dt.timedelta(days=rng.randint(1, 14))
    salt = secrets.token_hex(16)  # the contact's commitment; the firm keeps salt and values
    return {
        "name": name,
        "district": district,
        "street": street,
        "planned_date": planned.isoformat(),
        "employee_count": staff,
        "returning_staff": returning,
        "screening": {
            "screened": staff,
            "travelled_from_risk_areas": rng.randint(0, max(0, staff // 25)),
            "under_observation": observation,
            "abnormal_temperature": abnormal,
            "cleared": cleared,
        },
        "measures": measures,
        "plan_summary": (
            f"{name}复工防控方案：设体温检测点{max(1, staff // 200)}处，每日消毒两次，"
            "员工佩戴口罩上岗，发现异常立即隔离并报告属地街道。"
        ),
        "plan_sm3": sm3_hex(f"{name} 复工疫情防控方案 v1".encode()),
        "supplies": {
            "masks": returning * rng.randint(10, 30),
            "thermometers": max(1, staff // 50),
            "disinfectant_litres": max(5, staff // 5),
            "hand_sanitizer_bottles": max(4, staff // 10),
            "days_covered": rng.randint(7, 30),
        },
        "contact_commitment": sm3_hex(bytes.fromhex(salt) + "联系人|电话".encode()),
    }


def generate(client: DemoClient, home: Path, count: int, progress: Callable[[int], None]) -> int:
    """Fill the node with ``count`` enterprises' filings, reviews and inspections; returns
    the number of transactions submitted."""
    run = _Run(client, Path(home), progress)
    members = {m["id"] for m in client.members()}
    taken = [
        int(m.removeprefix(ENTERPRISE_PREFIX))
        for m in members
        if m.startswith(ENTERPRISE_PREFIX) and m.removeprefix(ENTERPRISE_PREFIX).isdigit()
    ]
    start = max(taken, default=0) + 1
    rng = random.Random(f"reopening-demo-{start}-{count}")
    config = RoutingConfig.from_state(client.http.get("/v1/reopening/config").json())

    # who files, where, and who reviews
    plans = []
    names: set[str] = set()
    for n in range(start, start + count):
        district = _pick_district(rng)
        street = rng.choice(STREETS[district][1])
        name = ""
        while not name or name in names:
            name = f"广州{rng.choice(BRANDS)}{rng.choice(INDUSTRIES)}有限公司"
        names.add(name)
        content = _content(rng, name, district, street)
        org = "MA5" + "".join(rng.choice(ORG_CHARS) for _ in range(5))
        code = make_credit_code(DISTRICTS[district][1], org)
        plans.append((f"{ENTERPRISE_PREFIX}{n:03d}", code, content))

    def reviewer_of(content: dict[str, Any]) -> str | None:
        body = config.body_for(content["employee_count"], content["district"], content["street"])
        if config.bodies is None:
            return conventional_reviewer(body)
        usable = [a for a in config.reviewers(body) if a in members]
        return usable[0] if usable else None

    approvers = sorted({a for _, _, c in plans if (a := reviewer_of(c)) is not None})
    run.register(
        [(a, "approver") for a in approvers] + [(e, "enterprise") for e, _, _ in plans], members
    )

    # filings
    files = {e: run.tx(e, "reopening.file", {**c, "credit_code": code}) for e, code, c in plans}
    run.run(list(files.values()))
    heads = {e: tx.tx_id for e, tx in files.items()}
    contents = {e: c for e, _, c in plans}

    def amend(e: str, reason: str, change: dict[str, Any]) -> SignedTransaction:
        contents[e] = {**contents[e], **change}
        tx = run.tx(
            e,
            "reopening.amend",
            {**contents[e], "filing_id": files[e].tx_id, "previous": heads[e], "reason": reason},
        )
        heads[e] = tx.tx_id
        return tx

    # some enterprises correct their filing before it is reviewed
    early = []
    for e, _, _ in plans:
        if rng.random() < 0.12:
            c = contents[e]
            later = dt.date.fromisoformat(c["planned_date"]) + dt.timedelta(days=rng.randint(1, 5))
            early.append(amend(e, "调整计划复工日期", {"planned_date": later.isoformat()}))
    run.run(early)

    # first review: approve, return, reject, or still waiting
    decisions: dict[str, str] = {}
    reviews = []
    for e, _, c in plans:
        approver = reviewer_of(c)
        roll = rng.random()
        if approver is None or roll >= 0.92:
            continue
        decision = "approve" if roll < 0.72 else "return" if roll < 0.86 else "reject"
        comment = rng.choice({"approve": APPROVE, "return": RETURN, "reject": REJECT}[decision])
        payload = {
            "filing_id": files[e].tx_id,
            "version": heads[e],
            "decision": decision,
            "comment": comment,
        }
        reviews.append(run.tx(approver, "reopening.review", payload))
        decisions[e] = decision
    run.run(reviews)

    # returned filings come back amended, and most are approved the second time
    second, again = [], []
    returned = 0
    for e, decision in decisions.items():
        if decision != "return":
            continue
        returned += 1
        if returned % 4 == 2:  # some stay returned, waiting for the enterprise
            continue
        c = contents[e]
        extra = [m for m in ("isolation_room", "emergency_plan") if m not in c["measures"]]
        if extra:
            second.append(amend(e, "按审核意见补充防控措施", {"measures": c["measures"] + extra}))
        else:
            summary = c["plan_summary"] + "已补充返岗人员健康排查说明。"
            second.append(amend(e, "按审核意见补充健康排查信息", {"plan_summary": summary}))
        if returned % 4 != 3:  # and some resubmissions still wait for review
            approver = reviewer_of(contents[e])
            assert approver is not None
            payload = {
                "filing_id": files[e].tx_id,
                "version": heads[e],
                "decision": "approve",
                "comment": "已按要求补充，同意复工。",
            }
            again.append(run.tx(approver, "reopening.review", payload))
            decisions[e] = "approve"
    run.run(second)
    run.run(again)

    # on-site inspections of approved firms above the threshold
    inspections = []
    today = _today().isoformat()
    for e, decision in decisions.items():
        c = contents[e]
        if decision != "approve" or not config.inspection_required(c["employee_count"]):
            continue
        if rng.random() >= 0.7:
            continue
        inspector = reviewer_of(c)  # the reviewing body acts in the firm's district
        assert inspector is not None
        roll = rng.random()
        result = "passed" if roll < 0.85 else "rectification_required" if roll < 0.97 else "failed"
        inspections.append(
            run.tx(
                inspector,
                "reopening.inspect",
                {
                    "filing_id": files[e].tx_id,
                    "inspected_on": today,
                    "result": result,
                    "findings": rng.choice(FINDINGS[result]),
                    "checked": ["temperature_checks", "masks", "disinfection"],
                    "report_sm3": sm3_hex(f"{e} 现场检查记录 {today}".encode()),
                },
            )
        )
    run.run(inspections)
    return run.done
