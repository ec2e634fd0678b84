"""SM3 and SM2 (spec section 1): known answers, cross-implementation checks, strict parsing.

Vectors live in ``tests/vectors/sm3.json`` and ``tests/vectors/sm2.json``. Every signature
check is done three ways where possible: ``ledger.crypto`` (Tongsuo), gmssl and gmalg (both
pure Python), plus a small integer-arithmetic reference below that takes the user ID.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path

import pytest
from Cryptodome.Util.asn1 import DerInteger, DerSequence
from gmalg import SM3 as GmalgSM3
from gmalg import ellipticcurve as gmalg_ec
from gmalg.sm2 import SM2Core
from gmssl import func as gmssl_func
from gmssl import sm2 as gmssl_sm2
from gmssl import sm3 as gmssl_sm3
from hypothesis import given, settings
from hypothesis import strategies as st
from tongsuopy.crypto.asymciphers import ec

from ledger import crypto
from ledger.errors import (
    InvalidInput,
    InvalidKey,
    InvalidSignature,
    KeystoreError,
    MalformedData,
    OperationFailed,
    VerificationError,
)

VECTORS = Path(__file__).parent / "vectors"
SM3_VECTORS = json.loads((VECTORS / "sm3.json").read_text())["vectors"]
SM2_DOC = json.loads((VECTORS / "sm2.json").read_text())
CURVES = {name: {k: int(v, 16) for k, v in c.items()} for name, c in SM2_DOC["curves"].items()}
REC = CURVES["sm2p256v1"]
N = REC["n"]
DEFAULT_ID = b"1234567812345678"
# vectors on the recommended curve with the default ID: what ledger.crypto must accept
DEFAULT_VECTORS = SM2_DOC["standard"] + SM2_DOC["generated"]


# --- independent reference: SM2 verification with integer arithmetic ------------------------


def _ref_add(c, p1, p2):
    if p1 is None:
        return p2
    if p2 is None:
        return p1
    p = c["p"]
    (x1, y1), (x2, y2) = p1, p2
    if x1 == x2 and (y1 + y2) % p == 0:
        return None
    if p1 == p2:
        lam = (3 * x1 * x1 + c["a"]) * pow(2 * y1, -1, p) % p
    else:
        lam = (y2 - y1) * pow(x2 - x1, -1, p) % p
    x3 = (lam * lam - x1 - x2) % p
    return x3, (lam * (x1 - x3) - y1) % p


def _ref_mul(c, k, point):
    acc = None
    while k:
        if k & 1:
            acc = _ref_add(c, acc, point)
        point = _ref_add(c, point, point)
        k >>= 1
    return acc


def _ref_on_curve(c, point):
    x, y = point
    return (y * y - (x * x * x + c["a"] * x + c["b"])) % c["p"] == 0


def ref_za(c, uid: bytes, point) -> bytes:
    def b32(v: int) -> bytes:
        return v.to_bytes(32, "big")

    data = (len(uid) * 8).to_bytes(2, "big") + uid
    data += b32(c["a"]) + b32(c["b"]) + b32(c["gx"]) + b32(c["gy"]) + b32(point[0]) + b32(point[1])
    return hashlib.new("sm3", data).digest()


def ref_verify(c, uid: bytes, pk_hex: str, msg: bytes, r: int, s: int) -> bool:
    """GB/T 32918.2-2016 section 7, verification steps B1-B7."""
    point = (int(pk_hex[2:66], 16), int(pk_hex[66:], 16))
    n = c["n"]
    if not (pk_hex.startswith("04") and _ref_on_curve(c, point)):
        return False
    if not (1 <= r < n and 1 <= s < n):
        return False
    e = int.from_bytes(hashlib.new("sm3", ref_za(c, uid, point) + msg).digest(), "big")
    t = (r + s) % n
    if t == 0:
        return False
    sum_point = _ref_add(c, _ref_mul(c, s, (c["gx"], c["gy"])), _ref_mul(c, t, point))
    return sum_point is not None and (e + sum_point[0]) % n == r


# --- helpers for the other implementations --------------------------------------------------


def _gmalg_core(c, k: int | None = None) -> SM2Core:
    ecdlp = gmalg_ec.ECDLP(c["p"], c["a"], c["b"], (c["gx"], c["gy"]), c["n"])
    return SM2Core(ecdlp, GmalgSM3(), (lambda bits: k) if k is not None else None)


def _point(pk_hex: str) -> tuple[int, int]:
    return int(pk_hex[2:66], 16), int(pk_hex[66:], 16)


def _gmssl(pk_hex: str, d: int | None = None) -> gmssl_sm2.CryptSM2:
    # CryptSM2 strips a leading "04" with str.lstrip("04"), which also eats leading 0/4 digits
    # of X: hand it the bare X||Y and set the attribute explicitly.
    c = gmssl_sm2.CryptSM2(private_key=format(d or 1, "064x"), public_key=pk_hex[2:])
    c.public_key = pk_hex[2:]
    return c


def gmssl_verify(pk_hex: str, msg: bytes, r: int, s: int) -> bool:
    return bool(_gmssl(pk_hex).verify_with_sm3(format(r, "064x") + format(s, "064x"), msg))


def gmalg_verify(pk_hex: str, msg: bytes, r: int, s: int, uid: bytes = DEFAULT_ID) -> bool:
    return _gmalg_core(REC).verify(msg, r, s, uid, _point(pk_hex))


def _derive(d: int) -> crypto.PrivateKey:
    return crypto.PrivateKey(ec.derive_private_key(d, ec.SM2()))


def _msg(v) -> bytes:
    return bytes.fromhex(v["message_hex"])


@pytest.fixture(scope="module")
def key() -> crypto.PrivateKey:
    return crypto.PrivateKey.generate()


@pytest.fixture(scope="module")
def std():
    v = SM2_DOC["standard"][0]
    return v, crypto.PublicKey(v["public_key"]), _msg(v)


# --- SM3 ------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", SM3_VECTORS, ids=[v["name"] for v in SM3_VECTORS])
def test_sm3_known_answers(vector):
    message = bytes.fromhex(vector["message_hex"]) * vector["repeat"]
    assert crypto.sm3(message).hex() == vector["digest"]
    assert crypto.sm3_hex(message) == vector["digest"]
    assert len(crypto.sm3(message)) == 32


def test_sm3_standard_answers_present():
    digests = {v["digest"] for v in SM3_VECTORS}
    assert "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0" in digests
    assert "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732" in digests


@pytest.mark.parametrize(
    "vector",
    [v for v in SM3_VECTORS if len(v["message_hex"]) // 2 * v["repeat"] <= 4096],
    ids=lambda v: v["name"],
)
def test_sm3_vectors_agree_with_gmssl_and_gmalg(vector):
    message = bytes.fromhex(vector["message_hex"]) * vector["repeat"]
    assert gmssl_sm3.sm3_hash(gmssl_func.bytes_to_list(message)) == vector["digest"]
    h = GmalgSM3()
    h.update(message)
    assert h.value().hex() == vector["digest"]


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=300))
def test_sm3_matches_gmalg_on_random_input(data):
    h = GmalgSM3()
    h.update(data)
    assert crypto.sm3(data) == h.value()


# --- SM2 vectors ----------------------------------------------------------------------------


def test_standard_vector_is_gbt32918_annex_a(std):
    v, _, msg = std
    assert v["id_hex"] == DEFAULT_ID.hex()
    assert msg == b"message digest"
    assert v["r"] == "f5a03b0648d2c4630eeac513e1bb81a15944da3827d5b74143ac7eaceee720b3"
    assert v["s"] == "b1b6aa29df212fd8763182bc0d421ca1bb9038fd1f7f42d4840b69c485bbc1aa"


@pytest.mark.parametrize("v", DEFAULT_VECTORS, ids=lambda v: v["name"])
def test_vector_verifies_with_ledger(v):
    r, s = int(v["r"], 16), int(v["s"], 16)
    assert crypto.encode_signature(r, s) == v["signature_der"]
    assert crypto.decode_signature(v["signature_der"]) == (r, s)
    assert crypto.PublicKey(v["public_key"]).verify(v["signature_der"], _msg(v)) is None


@pytest.mark.parametrize("v", DEFAULT_VECTORS, ids=lambda v: v["name"])
def test_vector_public_key_derivation(v):
    assert _derive(int(v["private_key"], 16)).public_key.hex == v["public_key"]


@pytest.mark.parametrize(
    "v",
    DEFAULT_VECTORS + SM2_DOC["other_curve"],
    ids=lambda v: v["name"],
)
def test_vector_with_reference_implementation(v):
    """Z_A, e and (r, s) recomputed independently, with the vector's own user ID and curve."""
    c = CURVES[v.get("curve", "sm2p256v1")]
    uid = bytes.fromhex(v["id_hex"])
    d, k = int(v["private_key"], 16), int(v["k"], 16)
    point = _ref_mul(c, d, (c["gx"], c["gy"]))
    assert "04" + format(point[0], "064x") + format(point[1], "064x") == v["public_key"]
    za = ref_za(c, uid, point)
    assert za.hex() == v["za"]
    assert hashlib.new("sm3", za + _msg(v)).hexdigest() == v["e"]
    # signing steps A4-A6 with the vector's k
    e = int(v["e"], 16)
    x1 = _ref_mul(c, k, (c["gx"], c["gy"]))[0]
    r = (e + x1) % c["n"]
    s = pow(1 + d, -1, c["n"]) * (k - r * d) % c["n"]
    assert (format(r, "064x"), format(s, "064x")) == (v["r"], v["s"])
    assert ref_verify(c, uid, v["public_key"], _msg(v), r, s)
    # gmalg, with the same curve, ID and k
    assert _gmalg_core(c, k).sign(_msg(v), d, uid, point) == (r, s)
    assert _gmalg_core(c).verify(_msg(v), r, s, uid, point)


@pytest.mark.parametrize("v", DEFAULT_VECTORS, ids=lambda v: v["name"])
def test_vector_with_gmssl(v):
    r, s = int(v["r"], 16), int(v["s"], 16)
    c = _gmssl(v["public_key"], int(v["private_key"], 16))
    assert c._sm3_z(_msg(v)) == v["e"]
    assert c.sign_with_sm3(_msg(v), v["k"]) == v["r"] + v["s"]
    assert gmssl_verify(v["public_key"], _msg(v), r, s)


@pytest.mark.parametrize("v", DEFAULT_VECTORS, ids=lambda v: v["name"])
def test_vector_rejected_for_other_message(v):
    pk = crypto.PublicKey(v["public_key"])
    with pytest.raises(InvalidSignature) as info:
        pk.verify(v["signature_der"], _msg(v) + b"\x00", step="2")
    err = info.value
    assert err.step == "2"
    assert err.found == v["signature_der"]
    assert pk.key_id in err.expected


def test_signature_with_non_default_id_is_rejected(std):
    """The ledger fixes the ID to 1234567812345678: a signature made with another ID is invalid."""
    v, pk, msg = std
    d = int(v["private_key"], 16)
    point = _point(v["public_key"])
    uid = b"ALICE123@YAHOO.COM"
    r, s = _gmalg_core(REC, int(v["k"], 16)).sign(msg, d, uid, point)
    assert ref_verify(REC, uid, v["public_key"], msg, r, s)
    assert _gmalg_core(REC).verify(msg, r, s, uid, point)
    with pytest.raises(InvalidSignature):
        pk.verify(crypto.encode_signature(r, s), msg)


def test_signature_over_digest_instead_of_message_is_rejected(std):
    """Sig(sk, M) hashes Z_A || M itself; signing e directly (no Z_A) must not verify."""
    v, pk, msg = std
    d = int(v["private_key"], 16)
    c = _gmssl(v["public_key"], d)
    raw = c.sign(hashlib.new("sm3", msg).digest(), v["k"])
    r, s = int(raw[:64], 16), int(raw[64:], 16)
    with pytest.raises(InvalidSignature):
        pk.verify(crypto.encode_signature(r, s), msg)


# --- cross-implementation, both directions --------------------------------------------------

MESSAGES = [b"", b"abc", b"message digest", bytes(range(256)) * 3, "国密".encode()]


@pytest.mark.parametrize("msg", MESSAGES, ids=lambda m: f"{len(m)}B")
def test_ledger_signature_verified_by_gmssl_gmalg_and_reference(key, msg):
    signature = key.sign(msg)
    assert re.fullmatch(r"[0-9a-f]+", signature)
    r, s = crypto.decode_signature(signature)
    assert 1 <= r < N and 1 <= s < N
    pk = key.public_key.hex
    assert gmssl_verify(pk, msg, r, s)
    assert gmalg_verify(pk, msg, r, s)
    assert ref_verify(REC, DEFAULT_ID, pk, msg, r, s)
    # and not for a different message
    assert not gmalg_verify(pk, msg + b"!", r, s)
    assert not gmssl_verify(pk, msg + b"!", r, s)


@pytest.mark.parametrize("msg", MESSAGES, ids=lambda m: f"{len(m)}B")
def test_gmssl_signature_verified_by_ledger(msg):
    d = int.from_bytes(hashlib.new("sm3", b"gmssl signer").digest(), "big") % (N - 2) + 1
    priv = _derive(d)
    raw = _gmssl(priv.public_key.hex, d).sign_with_sm3(msg)  # random k
    r, s = int(raw[:64], 16), int(raw[64:], 16)
    priv.public_key.verify(crypto.encode_signature(r, s), msg)


@pytest.mark.parametrize("msg", MESSAGES, ids=lambda m: f"{len(m)}B")
def test_gmalg_signature_verified_by_ledger(msg):
    d = int.from_bytes(hashlib.new("sm3", b"gmalg signer").digest(), "big") % (N - 2) + 1
    priv = _derive(d)
    point = _point(priv.public_key.hex)
    r, s = _gmalg_core(REC).sign(msg, d, DEFAULT_ID, point)  # random k
    priv.public_key.verify(crypto.encode_signature(r, s), msg)


@settings(max_examples=15, deadline=None)
@given(st.integers(min_value=1, max_value=N - 2))
def test_key_derivation_matches_gmalg(d):
    point = _gmalg_core(REC).generate_pk(d)
    expected = "04" + format(point[0], "064x") + format(point[1], "064x")
    assert _derive(d).public_key.hex == expected


def test_key_derivation_edge_scalars():
    # d = 1 gives the base point G
    g = "04" + format(REC["gx"], "064x") + format(REC["gy"], "064x")
    assert _derive(1).public_key.hex == g
    point = _ref_mul(REC, N - 2, (REC["gx"], REC["gy"]))
    assert _derive(N - 2).public_key.hex == "04" + format(point[0], "064x") + format(
        point[1], "064x"
    )


def test_signatures_are_randomised_and_all_verify(key):
    a, b = key.sign(b"same"), key.sign(b"same")
    assert a != b
    key.public_key.verify(a, b"same")
    key.public_key.verify(b, b"same")


# --- public keys: strict parsing ------------------------------------------------------------

P = REC["p"]
GX, GY = REC["gx"], REC["gy"]


def _pk(x: int, y: int, prefix: str = "04") -> str:
    return prefix + format(x, "064x") + format(y, "064x")


def _y_for_x0() -> int:
    # x = 0 is on the curve (b is a square mod p; p = 3 mod 4)
    y = pow(REC["b"], (P + 1) // 4, P)
    assert y * y % P == REC["b"]
    return y


def test_valid_public_key(std):
    v, pk, _ = std
    assert pk.hex == v["public_key"]
    assert pk == crypto.PublicKey(v["public_key"])
    assert hash(pk) == hash(crypto.PublicKey(v["public_key"]))
    assert crypto.PublicKey(_pk(0, _y_for_x0())).hex == _pk(0, _y_for_x0())
    assert crypto.PublicKey(_pk(GX, GY)).hex == _pk(GX, GY)


_STD_PK = SM2_DOC["standard"][0]["public_key"]
_STD_X, _STD_Y = int(_STD_PK[2:66], 16), int(_STD_PK[66:], 16)

BAD_KEYS = {
    "off curve (y + 1)": _pk(_STD_X, (_STD_Y + 1) % P),
    "off curve (x + 1)": _pk(_STD_X + 1, _STD_Y),
    "x replaced by x + p (non-reduced coordinate)": _pk(0 + P, _y_for_x0()),
    "y = p (non-reduced coordinate)": _pk(_STD_X, P),
    "point at infinity, single 00 byte": "00",
    "point at infinity, 04 with zero coordinates": "04" + "00" * 64,
    "all zero bytes, full length": "00" * 65,
    "compressed 02": "02" + _STD_PK[2:66],
    "compressed 03": "03" + _STD_PK[2:66],
    "02 prefix with full length": "02" + _STD_PK[2:],
    "hybrid 06/07 prefix": ("06" if _STD_Y % 2 == 0 else "07") + _STD_PK[2:],
    "uppercase hex": _STD_PK.upper(),
    "uppercase in the middle": _STD_PK[:10] + _STD_PK[10:20].upper() + _STD_PK[20:],
    "0x prefix": "0x" + _STD_PK[2:],
    "missing 04 prefix": _STD_PK[2:],
    "one byte short": _STD_PK[:-2],
    "one byte long": _STD_PK + "00",
    "odd length": _STD_PK[:-1],
    "trailing newline": _STD_PK + "\n",
    "leading space": " " + _STD_PK[1:],
    "non-hex digit": _STD_PK[:-1] + "g",
    "empty": "",
}


@pytest.mark.parametrize("bad", list(BAD_KEYS.values()), ids=list(BAD_KEYS))
def test_invalid_public_key_rejected(bad):
    with pytest.raises(InvalidKey) as info:
        crypto.PublicKey(bad)
    assert isinstance(info.value, MalformedData)
    assert info.value.code == "bad_public_key"


@pytest.mark.parametrize("bad", [None, 4, b"04" + b"00" * 64, bytes.fromhex(_STD_PK)])
def test_non_string_public_key_rejected(bad):
    with pytest.raises(InvalidKey):
        crypto.PublicKey(bad)


# --- signatures: strict parsing and range checks --------------------------------------------


def _int(body: str) -> str:
    return "02" + format(len(body) // 2, "02x") + body


def _seq(content: str) -> str:
    return "30" + format(len(content) // 2, "02x") + content


def _der_int(v: int) -> str:
    body = v.to_bytes((v.bit_length() + 8) // 8, "big").hex()
    return _int(body)


STD_R, STD_S = int(SM2_DOC["standard"][0]["r"], 16), int(SM2_DOC["standard"][0]["s"], 16)
STD_SIG = SM2_DOC["standard"][0]["signature_der"]
R_HEX, S_HEX = format(STD_R, "064x"), format(STD_S, "064x")

OUT_OF_RANGE = {
    "r = 0": crypto.encode_signature(0, STD_S),
    "s = 0": crypto.encode_signature(STD_R, 0),
    "r = s = 0": crypto.encode_signature(0, 0),
    "r = n": crypto.encode_signature(N, STD_S),
    "s = n": crypto.encode_signature(STD_R, N),
    "r = n + 1": crypto.encode_signature(N + 1, STD_S),
    "s = n + s (congruent mod n, 33-byte INTEGER)": crypto.encode_signature(STD_R, N + STD_S),
    "r = 2^256 - 1": crypto.encode_signature((1 << 256) - 1, STD_S),
    "s = 2^256 - 1": crypto.encode_signature(STD_R, (1 << 256) - 1),
    "r = 2^263 - 1 (33-byte INTEGER)": crypto.encode_signature((1 << 263) - 1, STD_S),
}

MALFORMED = {
    "r negative (high bit set, no 00 pad)": _seq(_int(R_HEX) + _der_int(STD_S)),
    "r = -1": _seq(_int("ff") + _der_int(STD_S)),
    "s negative": _seq(_der_int(STD_R) + _int("80")),
    "r non-minimal (extra 00 pad)": _seq(_int("0000" + R_HEX) + _der_int(STD_S)),
    "s non-minimal (00 before a byte < 0x80)": _seq(_der_int(STD_R) + _int("0001")),
    "r zero-length INTEGER": _seq(_int("") + _der_int(STD_S)),
    "r 34-byte INTEGER": _seq(_int("0000" + R_HEX) + _der_int(STD_S)),
    "trailing byte after the SEQUENCE": STD_SIG + "00",
    "trailing INTEGER inside the SEQUENCE": _seq(_der_int(STD_R) + _der_int(STD_S) + _int("01")),
    "SEQUENCE length too long": "30" + format(int(STD_SIG[2:4], 16) + 1, "02x") + STD_SIG[4:],
    "SEQUENCE length too short": "30" + format(int(STD_SIG[2:4], 16) - 1, "02x") + STD_SIG[4:],
    "long-form SEQUENCE length": "3081" + STD_SIG[2:],
    "indefinite SEQUENCE length": "3080" + STD_SIG[4:] + "0000",
    "SET instead of SEQUENCE": "31" + STD_SIG[2:],
    "BIT STRING tag instead of INTEGER": _seq("03" + _der_int(STD_R)[2:] + _der_int(STD_S)),
    "only r": _seq(_der_int(STD_R)),
    "INTEGER length past the end": _seq(_der_int(STD_R) + "0221" + S_HEX),
    "raw r||s (not DER)": R_HEX + S_HEX,
    "uppercase hex": STD_SIG.upper(),
    "odd-length hex": STD_SIG[:-1],
    "non-hex": STD_SIG[:-1] + "z",
    "0x prefix": "0x" + STD_SIG,
    "empty": "",
    "too short": "3006020101020101"[:-2],
}


@pytest.mark.parametrize("sig", list(OUT_OF_RANGE.values()), ids=list(OUT_OF_RANGE))
def test_signature_scalar_out_of_range_rejected(std, sig):
    _, pk, msg = std
    with pytest.raises(InvalidSignature) as info:
        pk.verify(sig, msg, step="receipt-2")
    err = info.value
    assert err.step == "receipt-2"
    assert err.expected == "1 <= r, s <= n-1"
    assert err.found == sig
    assert err.code == "bad_signature"
    assert err.to_dict()["details"] == {
        "step": "receipt-2",
        "expected": "1 <= r, s <= n-1",
        "found": sig,
    }


@pytest.mark.parametrize("sig", list(MALFORMED.values()), ids=list(MALFORMED))
def test_malformed_signature_rejected(std, sig):
    _, pk, msg = std
    with pytest.raises(InvalidSignature) as info:
        pk.verify(sig, msg, step="envelope")
    err = info.value
    assert isinstance(err, VerificationError)
    assert isinstance(err, InvalidInput)
    assert err.step == "envelope"
    assert err.found == sig
    assert err.message.startswith("envelope: ")


@pytest.mark.parametrize("sig", list(MALFORMED.values()), ids=list(MALFORMED))
def test_decode_signature_rejects_malformed(sig):
    with pytest.raises(MalformedData):
        crypto.decode_signature(sig)


@pytest.mark.parametrize("sig", [None, 5, b"\x30\x06", ["30"]])
def test_non_string_signature_rejected(std, sig):
    _, pk, msg = std
    with pytest.raises(InvalidSignature):
        pk.verify(sig, msg)


def test_r_plus_s_equal_to_n_rejected(std):
    """t = (r + s) mod n = 0 must fail (GB/T 32918.2 step B5)."""
    _, pk, msg = std
    with pytest.raises(InvalidSignature):
        pk.verify(crypto.encode_signature(STD_R, N - STD_R), msg)


def test_wrong_signatures_rejected(std, key):
    v, pk, msg = std
    variants = {
        "s + 1": crypto.encode_signature(STD_R, STD_S + 1),
        "r + 1": crypto.encode_signature(STD_R + 1, STD_S),
        "swapped r and s": crypto.encode_signature(STD_S, STD_R),
        "signature by another key": key.sign(msg),
    }
    for name, sig in variants.items():
        with pytest.raises(InvalidSignature) as info:
            pk.verify(sig, msg)
        err = info.value
        assert err.step == "signature", name
        assert err.found == sig, name
        assert err.expected == f"a signature by key_id {pk.key_id}", name
    # and the genuine signature under another key
    with pytest.raises(InvalidSignature):
        key.public_key.verify(v["signature_der"], msg)


def test_default_step_name(std):
    _, pk, msg = std
    with pytest.raises(InvalidSignature) as info:
        pk.verify("", msg)
    assert info.value.step == "signature"


@settings(max_examples=200, deadline=None)
@given(st.integers(1, (1 << 256) - 1), st.integers(1, (1 << 256) - 1))
def test_der_encoding_round_trip_and_matches_pycryptodome(r, s):
    der = crypto.encode_signature(r, s)
    assert der == DerSequence([DerInteger(r), DerInteger(s)]).encode().hex()
    assert crypto.decode_signature(der) == (r, s)


def test_der_encoding_of_short_and_padded_integers():
    assert crypto.encode_signature(1, 127) == "300602010102017f"
    assert crypto.encode_signature(128, 255) == "3008020200800202" + "00ff"
    by_name = {v["name"]: v for v in SM2_DOC["generated"]}
    # (vector, DER length of r, DER length of s)
    for name, r_len, s_len in [
        ("generated: short r", 31, 33),
        ("generated: short s", None, 31),
        ("generated: r and s high bit clear", 32, 32),
        ("generated: r and s high bit set", 33, 33),
    ]:
        der = bytes.fromhex(by_name[name]["signature_der"])
        assert der[2] == 0x02
        if r_len is not None:
            assert der[3] == r_len, name
        assert der[4 + der[3]] == 0x02
        assert der[5 + der[3]] == s_len, name


# --- PEM keystore ---------------------------------------------------------------------------


def test_pem_round_trip_unencrypted(key):
    pem = key.to_pem()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = crypto.PrivateKey.from_pem(pem)
    assert loaded.public_key == key.public_key
    assert loaded.key_id == key.key_id
    key.public_key.verify(loaded.sign(b"m"), b"m")


def test_pem_round_trip_encrypted(key):
    pem = key.to_pem(b"correct horse")
    assert pem.startswith(b"-----BEGIN ENCRYPTED PRIVATE KEY-----")
    assert key.to_pem(b"correct horse") != key.to_pem()
    loaded = crypto.PrivateKey.from_pem(pem, b"correct horse")
    assert loaded.public_key == key.public_key
    key.public_key.verify(loaded.sign(b"m"), b"m")


def test_pem_of_known_key():
    v = SM2_DOC["standard"][0]
    priv = _derive(int(v["private_key"], 16))
    loaded = crypto.PrivateKey.from_pem(priv.to_pem(b"pw"), b"pw")
    assert loaded.public_key.hex == v["public_key"]


@pytest.mark.parametrize(
    ("make_pem", "passphrase"),
    [
        (lambda k: k.to_pem(b"right"), b"wrong"),
        (lambda k: k.to_pem(b"right"), b"Right"),
        (lambda k: k.to_pem(b"right"), None),
        (lambda k: k.to_pem(), b"unneeded"),
        (lambda k: b"not a pem at all", None),
        (lambda k: b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", None),
        (lambda k: k.to_pem()[:-40], None),
        (lambda k: k.public_key.hex.encode(), None),
    ],
    ids=[
        "wrong passphrase",
        "passphrase with wrong case",
        "encrypted key without passphrase",
        "passphrase for unencrypted key",
        "garbage",
        "bad base64 body",
        "truncated PEM",
        "public key hex",
    ],
)
def test_pem_load_failures_raise_keystore_error(key, make_pem, passphrase):
    with pytest.raises(KeystoreError) as info:
        crypto.PrivateKey.from_pem(make_pem(key), passphrase)
    assert isinstance(info.value, OperationFailed)
    assert info.value.code == "keystore_error"


def _pem(der: bytes) -> bytes:
    body = base64.encodebytes(der).decode().replace("\n", "")
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN PRIVATE KEY-----\n{lines}\n-----END PRIVATE KEY-----\n".encode()


# PKCS#8 PrivateKeyInfo for a NIST P-256 key (d = 1, no public key) and for an Ed25519 key
# (RFC 8032 test 1 seed), built from their fixed DER prefixes.
P256_PKCS8 = bytes.fromhex(
    "3041020100301306072a8648ce3d020106082a8648ce3d030107042730250201010420"
) + (1).to_bytes(32, "big")
ED25519_PKCS8 = bytes.fromhex("302e020100300506032b657004220420") + bytes.fromhex(
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
)


@pytest.mark.parametrize("der", [P256_PKCS8, ED25519_PKCS8], ids=["p256", "ed25519"])
def test_pem_of_non_sm2_key_raises_keystore_error(der):
    with pytest.raises(KeystoreError):
        crypto.PrivateKey.from_pem(_pem(der))


# --- key_id ---------------------------------------------------------------------------------


def test_key_id_is_sm3_of_public_key_bytes(key, std):
    for pk_hex in (key.public_key.hex, std[0]["public_key"]):
        raw = bytes.fromhex(pk_hex)
        h = GmalgSM3()
        h.update(raw)
        expected = h.value().hex()
        assert crypto.key_id(pk_hex) == expected
        assert crypto.PublicKey(pk_hex).key_id == expected
        assert len(expected) == 64
    assert key.key_id == crypto.key_id(key.public_key.hex)


def test_random_nonce():
    nonces = {crypto.random_nonce() for _ in range(50)}
    assert len(nonces) == 50
    assert all(crypto.is_hex(n, 32) for n in nonces)
