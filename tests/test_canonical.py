"""Canonical bytes C(v) (spec section 1): RFC 8785 without floats, and the strict parser."""

from __future__ import annotations

import json
import math

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import MAX_SAFE_INTEGER, canonical, parse_json
from ledger.errors import CanonicalizationError, MalformedData

# --- RFC 8785 examples (those without floating-point numbers) --------------------------------


def test_rfc8785_section_3_2_2_strings_and_literals():
    # RFC 8785 section 3.2.2 example, minus its "numbers" member (floats are refused here)
    text = r"""{
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"""
    expected = '{"literals":[null,true,false],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    assert canonical(parse_json(text)) == expected.encode("utf-8")
    assert canonical(json.loads(text)) == expected.encode("utf-8")


def test_rfc8785_section_3_2_3_sorting():
    text = r"""{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }"""
    expected = (
        '{"\\r":"Carriage Return","1":"One","\u0080":"Control",'
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign",'
        '"\U0001f600":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}'
    )
    assert canonical(parse_json(text)) == expected.encode("utf-8")


def test_rfc8785_integer_numbers():
    # RFC 8785 appendix B values that are integers inside ±(2^53-1)
    assert canonical(0) == b"0"
    assert canonical(-0) == b"0"
    assert canonical(1) == b"1"
    assert canonical(-1) == b"-1"
    assert canonical(MAX_SAFE_INTEGER) == b"9007199254740991"
    assert canonical(-MAX_SAFE_INTEGER) == b"-9007199254740991"
    assert canonical(parse_json(b"-0")) == b"0"


def test_no_whitespace_and_nested_sorting():
    value = {"b": [3, {"z": None, "a": True}], "a": {"y": "1250000.00", "x": []}, "": {}}
    assert canonical(value) == (
        b'{"":{},"a":{"x":[],"y":"1250000.00"},"b":[3,{"a":true,"z":null}]}'
    )


def test_key_order_is_by_utf16_code_units_not_code_points():
    # U+1F600 is D83D DE00 in UTF-16, so it sorts before U+FB01 and U+E000 although its code
    # point is larger; code-point order would put it last.
    value = {"\ufb01": 1, "\U0001f600": 2, "\ue000": 3, "\u20ac": 4, "z": 5}
    assert canonical(value) == '{"z":5,"€":4,"😀":2,"\ue000":3,"ﬁ":1}'.encode()
    assert sorted(value) != ["z", "€", "😀", "\ue000", "ﬁ"]


def test_unicode_is_written_as_utf8_without_escapes():
    value = {"name": "广州互联网法院", "emoji": "😀", "sep": "\u2028\u2029", "del": "\x7f"}
    out = canonical(value)
    assert (
        out == '{"del":"\x7f","emoji":"😀","name":"广州互联网法院","sep":"\u2028\u2029"}'.encode()
    )
    assert b"\\u" not in out


def test_control_characters_escaped_lowercase():
    value = '\x00\x01\x08\t\n\x0b\x0c\r\x1f "\\/'
    assert canonical(value) == b'"\\u0000\\u0001\\b\\t\\n\\u000b\\f\\r\\u001f \\"\\\\/"'


def test_no_unicode_normalisation():
    # NFC and NFD forms are different strings and stay different keys
    value = {"\u00e9": 1, "e\u0301": 2}
    assert canonical(value) == '{"e\u0301":2,"\u00e9":1}'.encode()


def test_lone_surrogate_in_string_value_refused():
    with pytest.raises(CanonicalizationError):
        canonical("\ud800")
    with pytest.raises(CanonicalizationError):
        canonical({"a": ["\udc00"]})
    with pytest.raises(CanonicalizationError):
        canonical(parse_json(r'"\ud800"'))


@pytest.mark.parametrize(
    "make",
    [lambda: {"\udc00": 1}, lambda: parse_json(r'{"ok": {"\ud800": 1}}')],
    ids=["dict", "wire"],
)
def test_lone_surrogate_in_object_key_refused(make):
    with pytest.raises(CanonicalizationError):
        canonical(make())


# --- floats, NaN, Infinity ---------------------------------------------------------------------

FLOAT_VALUES = {
    "1.0": 1.0,
    "0.5": 0.5,
    "-0.0": -0.0,
    "1e300": 1e300,
    "integral float in list": [1, 2.0],
    "nested in object": {"a": {"b": [{"c": 0.1}]}},
    "deep": [[[[[{"amount": 1250000.0}]]]]],
    "nan": math.nan,
    "inf": math.inf,
    "-inf": -math.inf,
    "nan nested": {"x": [math.nan]},
}


@pytest.mark.parametrize("value", list(FLOAT_VALUES.values()), ids=list(FLOAT_VALUES))
def test_canonical_refuses_floats(value):
    with pytest.raises(CanonicalizationError) as info:
        canonical(value)
    assert info.value.code == "not_canonical"
    assert isinstance(info.value, MalformedData)


def test_canonical_float_error_names_the_path():
    with pytest.raises(CanonicalizationError, match=r"\$\.a\.b\[0\]\.c"):
        canonical({"a": {"b": [{"c": 0.1}]}})


FLOAT_TEXTS = [
    "1.0",
    "0.5",
    "-0.0",
    "1e5",
    "1E5",
    "1e-7",
    "-1.5E+10",
    "1E400",
    "[1, 2.0]",
    '{"a": {"b": [{"c": 0.1}]}}',
    '[[[[[{"amount": 1250000.00}]]]]]',
    '{"ok": 1, "bad": 3.14}',
]


@pytest.mark.parametrize("text", FLOAT_TEXTS)
def test_parse_json_refuses_floats(text):
    with pytest.raises(CanonicalizationError):
        parse_json(text)
    with pytest.raises(CanonicalizationError):
        parse_json(text.encode())


@pytest.mark.parametrize(
    "text", ["NaN", "Infinity", "-Infinity", '{"a": [NaN]}', '{"a": {"b": -Infinity}}']
)
def test_parse_json_refuses_nan_and_infinity(text):
    with pytest.raises(CanonicalizationError):
        parse_json(text)


# --- integers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        2**53,
        -(2**53),
        2**53 + 1,
        2**64,
        -(2**63),
        10**30,
        [1, 2**53],
        {"a": {"b": -(2**53)}},
    ],
    ids=str,
)
def test_integers_beyond_safe_range_refused(value):
    with pytest.raises(CanonicalizationError):
        canonical(value)


@pytest.mark.parametrize(
    "text", ["9007199254740992", "-9007199254740992", '{"n": 18446744073709551616}']
)
def test_large_integers_from_json_refused_by_canonical(text):
    with pytest.raises(CanonicalizationError):
        canonical(parse_json(text))


def test_safe_integer_boundaries_accepted():
    assert canonical([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]) == (
        b"[9007199254740991,-9007199254740991]"
    )
    assert parse_json(b"9007199254740991") == MAX_SAFE_INTEGER


def test_booleans_are_not_integers():
    assert canonical([True, False, None]) == b"[true,false,null]"
    assert parse_json(b"[true,false,null]") == [True, False, None]
    assert type(parse_json(b"true")) is bool


def test_parse_json_huge_integer_literal_is_malformed():
    with pytest.raises(MalformedData):
        parse_json(b"1" * 5000)


# --- duplicate keys and malformed JSON ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "a": 1}',
        '{"a": 1, "a": 2}',
        '{"x": {"a": 1, "b": 2, "a": 3}}',
        '[{"k": null, "k": null}]',
        '{"a": 1, "\\u0061": 2}',
    ],
)
def test_duplicate_keys_refused(text):
    with pytest.raises(MalformedData) as info:
        parse_json(text)
    assert not isinstance(info.value, CanonicalizationError)
    assert "duplicate" in info.value.message


@pytest.mark.parametrize(
    "data",
    ["", "{", "[1,]", "{'a': 1}", '{"a" 1}', "tru", '"unterminated', b"\xff\xfe\xfd", "[1] [2]"],
)
def test_malformed_json_refused(data):
    with pytest.raises(MalformedData):
        parse_json(data)


def test_deep_nesting_refused():
    with pytest.raises(MalformedData):
        parse_json(b"[" * 100_000 + b"]" * 100_000)
    deep: list = []
    for _ in range(200):
        deep = [deep]
    with pytest.raises(CanonicalizationError):
        canonical(deep)
    shallow: list = []
    for _ in range(20):
        shallow = [shallow]
    assert canonical(shallow) == b"[" * 21 + b"]" * 21


@pytest.mark.parametrize(
    "value",
    [b"bytes", {1: "int key"}, {("t",): 1}, {1, 2}, object(), 1 + 2j, [b"x"]],
    ids=["bytes", "int key", "tuple key", "set", "object", "complex", "nested bytes"],
)
def test_non_json_values_refused(value):
    with pytest.raises(CanonicalizationError):
        canonical(value)


# --- properties ----------------------------------------------------------------------------

_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER)
    | _text
)
json_values = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(_text, children, max_size=5),
    max_leaves=25,
)


def reference_jcs(value) -> str:
    """A reference RFC 8785 serialiser for float-free values."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ",".join(reference_jcs(v) for v in value) + "]"
    keys = sorted(value, key=lambda k: k.encode("utf-16-be"))
    return "{" + ",".join(reference_jcs(k) + ":" + reference_jcs(value[k]) for k in keys) + "}"


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_round_trip_and_idempotence(value):
    c = canonical(value)
    assert isinstance(c, bytes)
    parsed = parse_json(c)
    assert parsed == value
    assert canonical(parsed) == c
    assert canonical(parse_json(c.decode("utf-8"))) == c


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_matches_reference_serialiser(value):
    assert canonical(value) == reference_jcs(value).encode("utf-8")


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(st.characters(blacklist_categories=("Cs",)), max_size=3), st.none()))
def test_key_order_independent_of_insertion_order(d):
    reversed_d = dict(reversed(list(d.items())))
    assert canonical(d) == canonical(reversed_d)


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_pretty_printed_json_canonicalises_identically(value):
    pretty = json.dumps(value, indent=3, ensure_ascii=True)
    assert canonical(parse_json(pretty)) == canonical(value)


# --- the fast encoder against the rfc8785 package -----------------------------------------------

# every code point but lone surrogates: control characters, quotes, backslashes, U+2028,
# the private-use area just below U+FFFF and astral characters, in values and in keys
_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | _text
    | st.sampled_from(["\ue000", "\U0001f600", "\u2028", "\x7f", "\x00", "\\", '"']),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(_text | st.sampled_from(["\ue000", "\U0001f600", "a"]), inner, max_size=5)
    ),
    max_leaves=30,
)


@settings(max_examples=2000, deadline=None)
@given(_json_values)
def test_canonical_equals_rfc8785_package(value):
    assert canonical(value) == rfc8785.dumps(value)


def test_astral_keys_sort_by_utf16_code_units():
    value = {"\U0001f600": 1, "\ue000": 2, "a": 3}
    assert canonical(value) == rfc8785.dumps(value)
    assert canonical(value).index("\U0001f600".encode()) < canonical(value).index("\ue000".encode())
