"""The inflated size of every compressed stream of a PDF, bounded before pdfium or pdfminer inflate it.

Neither library bounds what it inflates (a 1 GB content stream costs them more than 2 GB), and
parsing page content is one uninterruptible call, so :func:`check_streams` inflates every stream of
the file first, 1 MB at a time into nothing: memory stays flat and the work stops at the limit.
Three kinds of stream are reached:

* a plain Flate stream (``/Filter /FlateDecode``, or any stream whose bytes are zlib data);
* a Flate stream behind a filter chain (``/Filter [/ASCII85Decode /FlateDecode]``, ``/AHx``…): the
  ASCII layers are decoded in chunks and fed to the inflater.  A chain putting another filter
  before Flate (LZW, run-length…) cannot be sized without decoding it whole, and real reports never
  use one: such a stream is refused with its filters named (a ``/Crypt`` filter is the encryption's,
  handled as below);
* an LZW stream (``/Filter /LZWDecode``, also behind ASCII layers): sized without being decoded,
  from the lengths of its table's entries only (:func:`_lzw_sizes`);
* the Flate and LZW streams of an encrypted PDF that opens without a password (the usual
  owner-password PDF): the file key comes from pdfminer's standard security handler, and each
  stream is decrypted (RC4 or AES) and sized chunk by chunk.  A PDF that needs a password is left to
  pdfium, which refuses it as ``encrypted``.

Nothing here does I/O.
"""

from __future__ import annotations

import hashlib
import re
import struct
import zlib
from collections.abc import Iterator
from typing import Any

from sources.parsing.document import UnreadableDocument
from sources.parsing.limits import ReadLimits

#: ``>>`` ending a stream's dictionary, then the ``stream`` keyword and its end of line.
_STREAM_START = re.compile(rb">>\s*stream(?:\r\n|\n|\r)")
_INFLATE_STEP = 1 << 20

#: Streams that are data, not drawing operators: images, embedded fonts, object and xref streams, files.
_DATA_STREAM = re.compile(
    rb"/Subtype\s*/(?:Image|Type1C|CIDFontType0C|OpenType)\b|/Length[123]\b|/Type\s*/(?:ObjStm|XRef|EmbeddedFile|Metadata)\b"
)
_FILTER = re.compile(rb"/Filter\s*(\[[^\]]*\]|/[A-Za-z0-9]+)")
_NAME = re.compile(rb"/([A-Za-z0-9]+)")
_LENGTH = re.compile(rb"/Length\s+(\d+)(?!\s+\d+\s+R)")
_ENCRYPT = re.compile(rb"/Encrypt\s*(?:\d+\s+\d+\s+R|<<)")
_SPACE = b" \t\r\n\f\x00"

FLATE = {"FlateDecode", "Fl"}
LZW = {"LZWDecode", "LZW"}
_EARLY_CHANGE_0 = re.compile(rb"/EarlyChange\s+0\b")
_ASCII = {"ASCII85Decode": "a85", "A85": "a85", "ASCIIHexDecode": "hex", "AHx": "hex"}


def _head(data: bytes, start: int) -> tuple[bytes, tuple[int, int] | None]:
    """The dictionary of the stream whose ``>>`` is at ``start`` (from its ``obj`` keyword; at most
    4 KB) and its object number and generation when they are printed there."""
    head = data[max(0, start - 4096) : start + 2]
    at = len(head)
    while (at := head.rfind(b"obj", 0, at)) >= 0:  # the last "N G obj" (a regex scan of 4 KB cost 0.7 ms)
        found = _obj_before(head, at)
        if found is not None:
            return head[at + 3 :], found
    return head, None


#: Bytes that ``\s`` matches in a bytes pattern, and those ``\w`` matches (``obj\b``).
_BLANK = frozenset(b" \t\n\r\f\v")
_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _obj_before(head: bytes, at: int) -> tuple[int, int] | None:
    """The numbers of ``(\\d+)\\s+(\\d+)\\s+obj\\b`` when it ends with the ``obj`` at ``at`` (the
    match a left-to-right scan finds: each run taken whole, as the greedy pattern takes it)."""
    if at + 3 < len(head) and head[at + 3] in _WORD:
        return None
    runs = []
    end = at
    for kind in (_BLANK, None, _BLANK, None):  # backwards: blanks, digits, blanks, digits
        begin = end
        while begin > 0 and (head[begin - 1] in kind if kind is not None else 48 <= head[begin - 1] <= 57):
            begin -= 1
        if begin == end:
            return None
        runs.append(head[begin:end])
        end = begin
    return int(runs[3]), int(runs[1])


def filters(stream_dict: bytes) -> list[str]:
    """The names of a stream's ``/Filter`` (in order; empty when it has none)."""
    m = _FILTER.search(stream_dict)
    return [n.decode("ascii") for n in _NAME.findall(m[1])] if m else []


def check_streams(data: bytes, limits: ReadLimits) -> None:
    """Refuse (``too_large``) a PDF whose compressed streams inflate past their limits, before pdfium
    or pdfminer inflate anything: ``part_bytes`` for one data stream (image, font), ``content_bytes``
    for one stream of drawing operators, ``content_total`` for those together, ``inflated_bytes``
    for all (see the module docstring for the streams reached).  A stream that is not zlib data
    (a JPEG, a damaged stream) is left to the libraries."""
    view = memoryview(data)
    totals = {"all": 0, "content": 0}
    sealed: list[tuple[int, int, bytes, tuple[int, int], int | None]] = []  # to size after decryption
    encrypted = bool(_ENCRYPT.search(data))
    for match in _STREAM_START.finditer(data):
        stream_dict, ref = _head(data, match.start())
        names = filters(stream_dict)
        flate_at = next((i for i, n in enumerate(names) if n in FLATE), None)
        lzw_at = next((i for i, n in enumerate(names) if n in LZW), None) if flate_at is None else None
        packed_at = flate_at if flate_at is not None else lzw_at
        before = [n for n in names[:packed_at] if n != "Crypt"] if packed_at is not None else []  # Crypt: see below
        if any(n not in _ASCII for n in before):
            raise UnreadableDocument(
                "too_large",
                f"PDF 中一个压缩流使用了过滤器组合 {' '.join(names)}，无法预先检查解压后的大小，未读取："
                "请人工检查或索取正常的 PDF",
            )
        lzw = None if lzw_at is None else (0 if _EARLY_CHANGE_0.search(stream_dict) else 1)
        if lzw is not None and encrypted and ref is not None and not before:  # its bytes are ciphertext
            sealed.append((match.end(), _end(data, match.end(), stream_dict), stream_dict, ref, lzw))
            continue
        chunks = _decoded(view, match.end(), before)
        inflated = _inflate(chunks, _is_data(stream_dict), limits, totals, lzw)
        if inflated is None and ref is not None and flate_at is not None and not before:  # encrypted Flate?
            sealed.append((match.end(), _end(data, match.end(), stream_dict), stream_dict, ref, None))
    if sealed and encrypted:
        handler = _security_handler(data)
        for start, end, stream_dict, (objid, gen), lzw in sealed if handler is not None else []:
            chunks = _decrypted(view, start, end, handler, objid, gen)
            _inflate(chunks, _is_data(stream_dict), limits, totals, lzw)
    limits.check_time("检查 PDF 压缩流")


def _is_data(stream_dict: bytes) -> bool:
    return bool(_DATA_STREAM.search(stream_dict))


def _inflate(
    chunks: Iterator[bytes | memoryview],
    is_data: bool,
    limits: ReadLimits,
    totals: dict[str, int],
    lzw: int | None = None,
) -> int | None:
    """Inflate ``chunks`` into nothing, 1 MB at a time, within the limits (``lzw``: an LZW stream with
    this ``/EarlyChange``, sized by :func:`_lzw_sizes`); the inflated size, or ``None`` when the first
    bytes are not zlib data (nothing counted)."""
    limit, what = (limits.part_bytes, "一个数据流") if is_data else (limits.content_bytes, "一个页面内容流")
    size = 0
    try:
        for step in _flate_sizes(chunks) if lzw is None else _lzw_sizes(chunks, lzw):
            size += step
            limits.check_size(size, limit, f"PDF 中{what}解压后")
            if not is_data:
                limits.check_size(totals["content"] + size, limits.content_total, "PDF 全部页面内容流解压后")
            limits.check_size(totals["all"] + size, limits.inflated_bytes, "PDF 全部压缩流解压后")
    except zlib.error:
        if size == 0:
            return None  # not a Flate stream (or encrypted): nothing inflated
    except ValueError:
        pass  # an ASCII layer that does not decode: pdfium reports what it cannot read
    totals["all"] += size
    totals["content"] += 0 if is_data else size
    return size


def _flate_sizes(chunks: Iterator[bytes | memoryview]) -> Iterator[int]:
    """The sizes a Flate stream inflates to, at most 1 MB a step (inflated into nothing)."""
    inflater = zlib.decompressobj()
    for chunk in chunks:
        pending: bytes | memoryview = chunk
        while pending and not inflater.eof:
            yield len(inflater.decompress(pending, _INFLATE_STEP))
            pending = inflater.unconsumed_tail
        if inflater.eof:
            return


def _lzw_sizes(chunks: Iterator[bytes | memoryview], early_change: int) -> Iterator[int]:
    """The sizes an LZW stream (``/LZWDecode``, 9-12 bit codes, ``/EarlyChange`` as given) decodes to,
    summed every few thousand codes, without decoding it: only the length of each table entry is kept
    (an entry is the previous code's string plus one byte), so a 1 KB stream that decodes to 1 GB costs
    a few thousand integer steps and no memory.  Stops at the end-of-data code or a code no decoder
    could take (the libraries then decide)."""
    lengths = [1] * 256 + [0, 0]  # 256: clear, 257: end of data
    prev = 0  # length of the previous code's string; 0 right after a clear
    nbits, acc, held, size, codes = 9, 0, 0, 0, 0
    for chunk in chunks:
        for byte in bytes(chunk):
            acc, held = (acc << 8) | byte, held + 8
            if held < nbits:
                continue
            held -= nbits
            code, acc = acc >> held, acc & ((1 << held) - 1)
            if code == 256:
                del lengths[258:]
                prev, nbits = 0, 9
                continue
            if code == 257:
                yield size
                return
            if code < len(lengths):
                out = lengths[code]
            elif code == len(lengths) and prev:  # the string being defined: previous string + its first byte
                out = prev + 1
            else:
                yield size
                return
            if prev and len(lengths) < 4096:
                lengths.append(prev + 1)
                nbits = min(12, (len(lengths) + early_change).bit_length())
            prev = out
            size += out
            codes += 1
            if codes % 4096 == 0:
                yield size
                size = 0
    yield size


def _pieces(view: memoryview, start: int, end: int) -> Iterator[memoryview]:
    for pos in range(start, end, _INFLATE_STEP):
        yield view[pos : min(end, pos + _INFLATE_STEP)]


def _decoded(view: memoryview, start: int, layers: list[str]) -> Iterator[bytes | memoryview]:
    """The stream's bytes from ``start`` with the ASCII ``layers`` (outermost first) decoded, in chunks."""
    chunks: Iterator[bytes | memoryview] = _pieces(view, start, len(view))
    for name in layers:
        chunks = _ascii85(chunks) if _ASCII[name] == "a85" else _ascii_hex(chunks)
    return chunks


def _ascii85(chunks: Iterator[bytes | memoryview]) -> Iterator[bytes]:
    """ASCII85 decoded chunk by chunk (ends at ``~>``); ``z`` stands for four zero bytes."""
    carry = b""
    for chunk in chunks:
        text = bytes(chunk)
        end = text.find(b"~")
        text = carry + (text if end < 0 else text[:end]).translate(None, _SPACE).replace(b"z", b"!!!!!")
        if end >= 0:
            if len(text) % 5 == 1:
                raise ValueError("ASCII85 data ends with a single character")
            yield a85decode(text) if text else b""
            return
        cut = len(text) - len(text) % 5
        carry = text[cut:]
        yield a85decode(text[:cut])
    if carry:
        yield a85decode(carry)


def a85decode(text: bytes) -> bytes:
    """``base64.a85decode(text)`` for text without ``z`` (the same bytes, a ``ValueError`` where it
    raises one), all groups at once with numpy: the standard library's runs in Python, at 4 ms for
    a reportlab page's content stream, as long as pdfium takes to read the page."""
    import numpy as np

    text = text.translate(None, b" \t\n\r\v")  # the blanks base64.a85decode skips
    if not text:
        return b""
    digits = np.frombuffer(text, dtype=np.uint8)
    if digits.min() < 33 or digits.max() > 117:  # "!" to "u"
        raise ValueError("Non-Ascii85 digit found")
    pad = -len(text) % 5  # the last group is filled with "u" and as many bytes cut off
    if pad:
        digits = np.concatenate([digits, np.full(pad, 117, dtype=np.uint8)])
    groups = digits.reshape(-1, 5).astype(np.uint64) - 33
    value = groups[:, 0]
    for k in range(1, 5):
        value = value * 85 + groups[:, k]
    if int(value.max()) > 0xFFFFFFFF:
        raise ValueError("Ascii85 overflow")
    decoded = value.astype(">u4").tobytes()
    return decoded[: len(decoded) - pad]


def _ascii_hex(chunks: Iterator[bytes | memoryview]) -> Iterator[bytes]:
    """ASCIIHex decoded chunk by chunk (ends at ``>``; an odd last digit is followed by 0)."""
    carry = b""
    for chunk in chunks:
        text = bytes(chunk)
        end = text.find(b">")
        text = carry + (text if end < 0 else text[:end]).translate(None, _SPACE)
        if end >= 0:
            yield bytes.fromhex((text + b"0" if len(text) % 2 else text).decode("ascii"))
            return
        cut = len(text) - len(text) % 2
        carry = text[cut:]
        yield bytes.fromhex(text[:cut].decode("ascii"))


def _end(data: bytes, start: int, stream_dict: bytes) -> int:
    """Where the stream's bytes starting at ``start`` end: ``/Length`` when printed as a number and
    plausible, else before the ``endstream`` keyword (and the end of line before it)."""
    m = _LENGTH.search(stream_dict)
    if m and data[start + int(m[1]) : start + int(m[1]) + 32].lstrip(_SPACE).startswith(b"endstream"):
        return start + int(m[1])
    end = data.find(b"endstream", start)
    end = len(data) if end < 0 else end
    while end > start and data[end - 1 : end] in (b"\r", b"\n"):
        end -= 1
    return end


def _security_handler(data: bytes) -> Any:
    """pdfminer's security handler of an encrypted PDF that opens with the empty password (it holds the
    file key and the method); ``None`` when the PDF needs a password or pdfminer cannot read its
    encryption (pdfium then decides)."""
    import io

    from pdfminer.pdfdocument import PDFDocument
    from pdfminer.pdfparser import PDFParser

    try:
        doc = PDFDocument(PDFParser(io.BytesIO(data)), password="")
    except Exception:  # noqa: BLE001 - a password, or an encryption pdfminer does not know
        return None
    decipher = getattr(doc, "decipher", None)
    handler = getattr(decipher, "__self__", None)
    return handler if getattr(handler, "key", None) else None


def _method(handler: Any) -> str:
    """The name of the handler's stream decryption: ``decrypt_rc4``, ``decrypt_aes128``, ``decrypt_aes256``
    or ``decrypt_identity``."""
    chosen = getattr(handler, "cfm", {}).get(getattr(handler, "stmf", None))
    return str(getattr(chosen, "__name__", "decrypt_rc4"))


def _decrypted(
    view: memoryview, start: int, end: int, handler: Any, objid: int, gen: int
) -> Iterator[bytes | memoryview]:
    """The stream's bytes ``view[start:end]`` decrypted chunk by chunk (the standard security handler's
    RC4 or AES-CBC with the object's key; pdfminer's own RC4 runs in Python at about 170 s per MB)."""
    from cryptography.hazmat.decrepit.ciphers.algorithms import ARC4
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    method = _method(handler)
    if method == "decrypt_identity":
        yield from _pieces(view, start, end)
        return
    salt = b"sAlT" if method == "decrypt_aes128" else b""
    key = bytes(handler.key)
    if method != "decrypt_aes256":
        seed = key + struct.pack("<L", objid)[:3] + struct.pack("<L", gen)[:2] + salt
        key = hashlib.md5(seed).digest()[: min(len(key) + 5, 16)]  # noqa: S324 - the PDF standard's key
    if method == "decrypt_rc4":
        decryptor = Cipher(ARC4(key), mode=None).decryptor()
    else:
        decryptor = Cipher(algorithms.AES(key), modes.CBC(bytes(view[start : start + 16]))).decryptor()
        start += 16
    for piece in _pieces(view, start, end):
        yield decryptor.update(piece)
