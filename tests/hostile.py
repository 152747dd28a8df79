"""Hostile documents made on the spot, cheaply: zip and Flate bombs, bare PDFs, deep nesting.

A bomb of any inflated size costs about a millisecond per inflated megabyte to make and a few
hundred kilobytes to hold: the repeated chunk is deflated once after a full flush (the compressor
starts afresh, so each copy compresses to the same bytes) and its compressed form repeated.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

MB = 1024 * 1024
ROOT = Path(__file__).resolve().parents[1]


def deflate_repeated(head: bytes, chunk: bytes, times: int, foot: bytes, *, raw: bool) -> tuple[bytes, int, int]:
    """``head + chunk * times + foot`` deflated (raw for zip, zlib-wrapped for PDF): (data, size, crc32)."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15 if raw else 15)
    first = c.compress(head) + c.flush(zlib.Z_FULL_FLUSH)
    segment = c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH)
    assert c.compress(chunk) + c.flush(zlib.Z_FULL_FLUSH) == segment  # the trick holds
    data = first + segment * times + c.compress(foot) + c.flush()
    crc, adler = zlib.crc32(head), zlib.adler32(head)
    for _ in range(times):
        crc, adler = zlib.crc32(chunk, crc), zlib.adler32(chunk, adler)
    crc, adler = zlib.crc32(foot, crc), zlib.adler32(foot, adler)
    if not raw:  # the trailer checksum covers every copy, not the two the compressor saw
        data = data[:-4] + struct.pack(">I", adler)
    return data, len(head) + len(chunk) * times + len(foot), crc


def zip_file(members: list[tuple[str, bytes, int, int]]) -> bytes:
    """A zip of ``(name, raw deflate data, inflated size, crc32)`` members, sizes as declared."""
    out, central = bytearray(), bytearray()
    for name, data, size, crc in members:
        encoded = name.encode()
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data), size, len(encoded), 0)
        out += encoded + data
        central += struct.pack(
            "<IHHHHHHIIIHHHHHII",
            0x02014B50,
            20,
            20,
            0,
            8,
            0,
            0x21,
            crc,
            len(data),
            size,
            len(encoded),
            0,
            0,
            0,
            0,
            0,
            offset,
        )
        central += encoded
    start = len(out)
    out += central
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(members), len(members), len(central), start, 0)
    return bytes(out)


def member(name: str, content: bytes) -> tuple[str, bytes, int, int]:
    """A zip member holding ``content`` (deflated for real)."""
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return name, c.compress(content) + c.flush(), len(content), zlib.crc32(content)


W = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
DOC_HEAD = f'<?xml version="1.0" encoding="UTF-8"?><w:document {W}><w:body>'.encode()
DOC_FOOT = b"</w:body></w:document>"


def paragraph(text: str) -> bytes:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>".encode()


def docx_bomb(inflated: int) -> bytes:
    """A .docx whose valid ``word/document.xml`` inflates to about ``inflated`` bytes."""
    chunk = paragraph("本年新收政府信息公开申请数量") * (MB // 80)
    data, size, crc = deflate_repeated(DOC_HEAD, chunk, max(1, inflated // len(chunk)), DOC_FOOT, raw=True)
    return zip_file([("word/document.xml", data, size, crc)])


def pdf_file(
    contents: list[bytes], *, filters: list[str | None] | None = None, extra: list[bytes] | None = None
) -> bytes:
    """A PDF with one page per content stream (``filters[i]`` names the stream's /Filter, if any;
    ``extra[i]`` is added to its dictionary)."""
    filters = filters or [None] * len(contents)
    extras = extra or [b""] * len(contents)
    n = len(contents)
    objects: list[bytes] = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(n)) + b"] /Count %d >>" % n,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, (content, flt, more) in enumerate(zip(contents, filters, extras, strict=True)):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> "
            b"/Contents %d 0 R >>" % (5 + 2 * i)
        )
        entries = (f" /Filter /{flt}".encode() if flt else b"") + (b" " + more if more else b"")
        objects.append(b"<< /Length %d%s >>\nstream\n" % (len(content), entries) + content + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def text_page(text: str) -> bytes:
    return f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()


def flate_page_bomb(inflated: int, operators: bytes = b" ", extra: bytes = b"") -> bytes:
    """A one-page PDF whose content stream inflates to about ``inflated`` bytes: some text, then
    ``operators`` repeated (blanks by default; ``b"0 0 m 1 1 l S\\n"`` draws a path each time)."""
    chunk = operators * (MB // len(operators))
    data, _size, _crc = deflate_repeated(text_page("x") + b"\n", chunk, max(1, inflated // MB), b"", raw=False)
    return pdf_file([data], filters=["FlateDecode"], extra=[extra])


def slow_render_pdf(lines: int = 24_000) -> bytes:
    """A one-page PDF of ``lines`` strokes across the whole page and no text (an OCR page): rendering it
    is one pdfium call of about 0.44 ms CPU per line (10.5 s for 24 000, measured on this 2-core
    machine), which no cooperative check can interrupt."""
    import zlib

    content = text_page("x") + b"\n" + b"0 0 m 595 842 l S\n" * lines
    return pdf_file([zlib.compress(content)], filters=["FlateDecode"])


def _page_bomb_data(inflated: int, operators: bytes = b" ") -> bytes:
    chunk = operators * (MB // len(operators))
    data, _size, _crc = deflate_repeated(text_page("x") + b"\n", chunk, max(1, inflated // MB), b"", raw=False)
    return data


def chained_page_bomb(inflated: int, layer: str = "ASCII85Decode", operators: bytes = b" ") -> bytes:
    """:func:`flate_page_bomb` with its Flate data behind an ASCII layer: ``/Filter [/<layer> /FlateDecode]``."""
    import base64

    data = _page_bomb_data(inflated, operators)
    text = (
        base64.a85encode(data, wrapcol=76) + b"~>" if layer in ("ASCII85Decode", "A85") else data.hex().encode() + b">"
    )
    return pdf_file([text], extra=[b"/Filter [/%s /FlateDecode]" % layer.encode()])


def _lzw_pack(segments: list[list[int]], early_change: int = 1) -> bytes:
    """LZW codes as ``/LZWDecode`` reads them: each segment after a clear code, the end-of-data code
    last; a code is as wide (9-12 bits) as a decoder's table is big when it reads it."""
    bits: list[str] = []

    def put(code: int, entries: int) -> None:
        bits.append(format(code, f"0{min(12, (entries + early_change).bit_length())}b"))

    entries = 258
    for codes in segments:
        put(256, entries)
        entries = 258
        for i, code in enumerate(codes):
            put(code, entries)
            entries += 1 if i else 0  # a decoder adds an entry from the second code after a clear on
    put(257, entries)
    stream = "".join(bits)
    stream += "0" * (-len(stream) % 8)
    return int(stream, 2).to_bytes(len(stream) // 8, "big")


def lzw_encode(data: bytes) -> bytes:
    """``data`` LZW-encoded for ``/Filter /LZWDecode`` (a small stream: the encoder is plain Python)."""
    return _lzw_pack(_lzw_segments(data))


def _lzw_segments(data: bytes) -> list[list[int]]:
    segments: list[list[int]] = [[]]
    table = {bytes([i]): i for i in range(256)}
    word = b""
    for value in data:
        grown = word + bytes([value])
        if grown in table:
            word = grown
            continue
        segments[-1].append(table[word])
        table[grown] = len(table) + 2
        word = bytes([value])
        if len(table) + 2 >= 4000:  # well before 12 bits run out: start again after a clear code
            segments[-1].append(table[word])
            segments.append([])
            table, word = {bytes([i]): i for i in range(256)}, b""
    if word:
        segments[-1].append(table[word])
    return segments


def lzw_bomb(head: bytes, byte: int, total: int) -> bytes:
    """An LZW stream decoding to ``head`` then at least ``total`` bytes of ``byte``: about 1 KB per
    6 MB decoded (a run's codes name strings one byte longer each: ``byte``, 258 = two, 259 = three …)."""
    segments = _lzw_segments(head) if head else []
    made = 0
    while made < total:
        run = [byte]
        made += 1
        while len(run) < 3800 and made < total:
            made += len(run) + 1
            run.append(257 + len(run))
        segments.append(run)
    return _lzw_pack(segments)


def lzw_page_bomb(inflated: int, layer: str | None = None) -> bytes:
    """A one-page PDF whose LZW content stream decodes to some text then about ``inflated`` blanks
    (``layer="ASCII85Decode"``: behind an ASCII85 layer, ``/Filter [/ASCII85Decode /LZWDecode]``)."""
    import base64

    data = lzw_bomb(text_page("x") + b"\n", ord(" "), inflated)
    if layer is None:
        return pdf_file([data], filters=["LZWDecode"])
    return pdf_file([base64.a85encode(data, wrapcol=76) + b"~>"], extra=[b"/Filter [/%s /LZWDecode]" % layer.encode()])


def encrypted_page_bomb(inflated: int, operators: bytes = b" ", *, lzw: bool = False) -> bytes:
    """:func:`flate_page_bomb` (or with ``lzw`` :func:`lzw_page_bomb`) encrypted with the standard
    security handler (40-bit RC4, revision 2), opening without a password as most owner-password PDFs do."""
    from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
    from cryptography.hazmat.primitives.ciphers import Cipher
    from reportlab.lib.pdfencrypt import computeO, computeU, encryptionkey

    file_id, permissions = b"xxgk-hostile-pdf", -44
    owner = computeO("", "owner", 2)
    key = encryptionkey("", owner, permissions, file_id, revision=2)
    user = computeU(key, revision=2)
    if lzw:
        plain = lzw_page_bomb(inflated)
    else:
        plain = pdf_file([_page_bomb_data(inflated, operators)], filters=["FlateDecode"])
    # the page's content stream is object 5: encrypt its bytes with the object's key
    start = plain.index(b"5 0 obj")
    body_at = plain.index(b"stream\n", start) + len(b"stream\n")
    body_end = plain.index(b"\nendstream", body_at)
    seed = key + struct.pack("<L", 5)[:3] + struct.pack("<L", 0)[:2]
    object_key = hashlib.md5(seed).digest()[:10]
    sealed = Cipher(ARC4(object_key), mode=None).encryptor().update(plain[body_at:body_end])
    out = bytearray(plain[:body_at] + sealed + plain[body_end:])
    # an Encrypt dictionary after the objects, and the trailer pointing at it (xref kept valid)
    xref_at = out.index(b"\nxref\n") + 1
    objects = out[:xref_at]
    encrypt_at = len(objects)
    number = int(out[out.index(b"/Size ") + 6 :].split()[0])
    objects += b"%d 0 obj\n<< /Filter /Standard /V 1 /R 2 /Length 40 /O <%s> /U <%s> /P %d >>\nendobj\n" % (
        number,
        owner.hex().encode(),
        user.hex().encode(),
        permissions,
    )
    offsets = [int(line[:10]) for line in out[xref_at:].split(b"\n")[3 : 3 + number - 1]]
    xref = len(objects)
    objects += b"xref\n0 %d\n0000000000 65535 f \n" % (number + 1)
    objects += b"".join(b"%010d 00000 n \n" % o for o in [*offsets, encrypt_at])
    objects += b"trailer\n<< /Size %d /Root 1 0 R /Encrypt %d 0 R /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n" % (
        number + 1,
        number,
        file_id.hex().encode(),
        file_id.hex().encode(),
        xref,
    )
    return bytes(objects)


def peak_parse(path: Path, limits: dict | None = None) -> dict:
    """Parse ``path`` in a fresh interpreter: ``{"code", "error", "template", "maxrss_mb"}`` (peak memory).

    The peak is the child's own ``VmHWM``: Linux carries ``ru_maxrss`` over fork and exec, so after an
    in-process OCR test (about 1.3 GB) every child would report the test process's peak instead of its own."""
    script = (
        "import json, resource, sys\n"
        "from sources.parsing.limits import ReadLimits\n"
        "from sources.parsing.parse import parse_path\n"
        "r = parse_path(sys.argv[1], ReadLimits(**json.loads(sys.argv[2])))\n"
        "issues = r['issues']\n"
        "hwm = [line for line in open('/proc/self/status') if line.startswith('VmHWM:')]\n"
        "peak = int(hwm[0].split()[1]) if hwm else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(json.dumps({'code': issues[0]['code'] if r.get('error') else None, 'error': r.get('error'),\n"
        "    'template': r.get('template'), 'maxrss_mb': peak / 1024}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script, str(path), json.dumps(limits or {})],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
