"""Encoding detection and the CSV record parser (physical lines, recovery after a stray quote)."""

from __future__ import annotations

import codecs

from load_fixtures import encode_cp1258

from vaxclean.load.text_files import DecodedText, decode_bytes, parse_csv


def test_encoding_detection():
    text = "Mã xã,Họ tên\r\n05434,Đặng Thị Hường\r\n"
    assert decode_bytes(codecs.BOM_UTF8 + text.encode()).encoding == "utf-8-sig"
    assert decode_bytes(codecs.BOM_UTF8 + text.encode()).text == text
    assert decode_bytes(text.encode()).encoding == "utf-8"
    cp = decode_bytes(encode_cp1258(text))
    assert cp.encoding == "cp1258" and not cp.undecodable_lines
    assert cp.text != text and cp.text.startswith("Ma\u0303 xa\u0303")  # combining tilde, kept as decoded


def test_stray_opening_quote_costs_one_line_only():
    text = 'a,b\n1,x\n2,"oops\n3,y\n4,z\n'
    parsed = parse_csv(DecodedText(text, "utf-8"))
    assert parsed.header == ["a", "b"]
    assert parsed.rows == [["1", "x"], ["3", "y"], ["4", "z"]]
    assert parsed.line_numbers == [2, 4, 5]
    assert [(r.line_number, r.raw_text) for r in parsed.rejects] == [(3, '2,"oops')]


def test_huge_field_error_is_a_reject_not_a_crash():
    text = "a,b\n1,x\n2,\"" + "z" * 200_000 + "\"\n3,y\n"
    parsed = parse_csv(DecodedText(text, "utf-8"))
    assert parsed.line_numbers == [2, 4]
    assert [r.line_number for r in parsed.rejects] == [3] and "unreadable CSV record" in parsed.rejects[0].reason


def test_semicolon_delimiter_and_trailing_header_delimiter():
    parsed = parse_csv(DecodedText("a;b;\r\n1;2;\r\n3;4\r\n", "utf-8"))
    assert parsed.delimiter == ";" and parsed.header == ["a", "b"]
    assert parsed.rows == [["1", "2"], ["3", "4"]] and not parsed.rejects
