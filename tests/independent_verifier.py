"""A receipt verifier written from the wire-format spec alone (docs/spec.md restates it),
sharing no code with the ledger.

SM2 and SM3 come from the pure-Python ``gmalg`` package, canonical JSON from ``rfc8785``,
Merkle checks from RFC 9162 written out here. It answers with the number of the first
failing step of spec section 6, or 0 when the receipt is valid.
"""

from __future__ import annotations

from typing import Any

import gmalg
import rfc8785

N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
UID = b"1234567812345678"


def sm3(data: bytes) -> bytes:
    h = gmalg.SM3()
    h.update(data)
    return bytes(h.value())


def c(value: Any) -> bytes:
    return rfc8785.dumps(value)


def h_hex(value: Any) -> str:
    return sm3(c(value)).hex()


def der_rs(sig_hex: str) -> tuple[int, int]:
    d = bytes.fromhex(sig_hex)
    assert d[0] == 0x30 and d[1] == len(d) - 2
    i = 2
    out = []
    for _ in range(2):
        assert d[i] == 0x02
        n = d[i + 1]
        out.append(int.from_bytes(d[i + 2 : i + 2 + n], "big"))
        i += 2 + n
    assert i == len(d)
    return out[0], out[1]


def sm2_ok(pk_hex: str, sig_hex: str, msg: bytes) -> bool:
    try:
        r, s = der_rs(sig_hex)
    except (AssertionError, ValueError, IndexError):
        return False
    if not (1 <= r < N and 1 <= s < N):
        return False
    pk = bytes.fromhex(pk_hex)
    verifier = gmalg.SM2(pk=pk, uid=UID)
    if not verifier.verify_pk(pk):
        return False
    return bool(verifier.verify(msg, r.to_bytes(32, "big"), s.to_bytes(32, "big")))


def leaf(data: bytes) -> bytes:
    return sm3(b"\x00" + data)


def node(a: bytes, b: bytes) -> bytes:
    return sm3(b"\x01" + a + b)


def inclusion_root(index: int, size: int, leaf_hash: bytes, path: list[bytes]) -> bytes | None:
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            r = node(p, r)
            while fn % 2 == 0 and fn != 0:
                fn //= 2
                sn //= 2
        else:
            r = node(r, p)
        fn //= 2
        sn //= 2
    return r if sn == 0 else None


def cert_ok(commit: dict[str, Any], header: dict[str, Any], vset: dict[str, Any]) -> bool:
    keys = {v["id"]: v for v in vset["validators"]}
    total = sum(v["power"] for v in vset["validators"])
    seen, power = set(), 0
    vote = c(
        {
            "type": "commit",
            "chain_id": header["chain_id"],
            "height": commit["height"],
            "round": commit["round"],
            "block_hash": commit["block_hash"],
        }
    )
    if commit["height"] != header["height"] or commit["block_hash"] != h_hex(header):
        return False
    for s in commit["signatures"]:
        v = keys.get(s["validator"])
        if v is None or s["validator"] in seen or not sm2_ok(v["public_key"], s["signature"], vote):
            return False
        seen.add(s["validator"])
        power += v["power"]
    return 3 * power > 2 * total


def verify(receipt: dict[str, Any], genesis: dict[str, Any]) -> int:
    env = receipt["transaction"]["envelope"]
    if h_hex(env) != receipt["tx_id"] or env["chain_id"] != genesis["chain_id"]:
        return 1
    pk = receipt["submitter_public_key"]
    if env["key_id"] != sm3(bytes.fromhex(pk)).hex():
        return 2
    if not sm2_ok(pk, receipt["transaction"]["signature"], c(env)):
        return 2
    header = receipt["header"]
    root = inclusion_root(
        receipt["index"],
        header["tx_count"],
        leaf(c(receipt["transaction"])),
        [bytes.fromhex(p) for p in receipt["inclusion_proof"]],
    )
    if root is None or root.hex() != header["tx_root"]:
        return 3
    commit = receipt["commit"]
    if commit["height"] != header["height"] or commit["block_hash"] != h_hex(header):
        return 4
    trusted = genesis["validators"]
    for entry in receipt["validator_history"]:
        if entry["header"]["validators_hash"] != h_hex(trusted):
            return 5
        if not cert_ok(entry["commit"], entry["header"], trusted):
            return 5
        if entry["header"]["next_validators_hash"] != h_hex(entry["next_validators"]):
            return 5
        trusted = entry["next_validators"]
    vs = receipt["validators"]
    if vs != trusted or h_hex(vs) != header["validators_hash"]:
        return 6
    if not cert_ok(commit, header, vs):
        return 6
    return 0
