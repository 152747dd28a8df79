"""The stream size checks' own decoders give what the slower ones they replace gave."""

from __future__ import annotations

import base64
import random
import re

import pytest

from sources.parsing.readers.pdf_streams import _head, a85decode


def _standard(text: bytes) -> tuple[str, bytes]:
    try:
        return "ok", base64.a85decode(text)
    except ValueError:
        return "error", b""


def _ours(text: bytes) -> tuple[str, bytes]:
    try:
        return "ok", a85decode(text)
    except ValueError:
        return "error", b""


def test_a85decode_gives_the_standard_librarys_bytes_and_errors():
    rng = random.Random(7)
    digits = bytes(range(33, 118))
    cases = [b"", b"!", b"s8W-!", b's8W-"', b"uuuuu", b"9jqo^BlbD-BleB1DJ+*+F(f,q", b'87cURD]i,"Ebo80~']
    for _ in range(3000):
        n = rng.randrange(0, 60)
        if rng.random() < 0.5:
            cases.append(base64.a85encode(rng.randbytes(n)).replace(b"z", b"!!!!!"))
        else:  # random digits, blanks and bytes outside the alphabet (no "z": the caller expands it)
            cases.append(bytes(rng.choice(digits + b" \t\n\r\v\x00{|}~\x7f") for _ in range(n)))
    for text in cases:
        assert _ours(text) == _standard(text), text
    assert _ours(b's8W-"')[0] == "error"  # overflow
    assert _ours(b"ab{cd")[0] == "error"


@pytest.mark.parametrize(
    "before",
    [
        b"1 0 obj\n<< /Length 5 >>",
        b"xx 12 3 0 obj\n<</Filter/FlateDecode>>",
        b"4 0 obj\n<<>>\nendobj\n 7 obj 9 0 objx 5 2 obj <</F 1>>",
        b"\x00\xff 1 2 3 obj <</A 1>> 8\t9\n\nobj<</B 2>>",
        b"no object keyword here <</A 1>>",
        b"3 0 obj",
    ],
)
def test_head_finds_the_last_object_header_as_the_pattern_did(before):
    data = before + b">>stream\n"
    start = len(before)
    found = list(re.finditer(rb"(\d+)\s+(\d+)\s+obj\b", data[: start + 2]))
    expected = (
        (data[found[-1].end() : start + 2], (int(found[-1][1]), int(found[-1][2])))
        if found
        else (data[: start + 2], None)
    )
    assert _head(data, start) == expected
