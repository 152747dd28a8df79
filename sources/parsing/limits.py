"""The limits of every read the parser makes, in one frozen dataclass passed down to the readers.

A hostile or broken file must never hang a run or exhaust memory: each read is bounded, and
reaching a bound refuses the document with a stable code and one Chinese line saying what to do
(:class:`~sources.parsing.document.UnreadableDocument`):

* ``not_regular_file`` — only regular files are read from disk (not ``/dev/zero``, a FIFO, a directory);
* ``too_large`` — a file, a decompressed part (a DOCX zip member, a PDF stream), an HTML or text
  document or a PDF page beyond its limit;
* ``too_many_pages`` — a PDF with more pages than ``pdf_pages``;
* ``too_deep`` — XML or HTML nested deeper than the parser accepts even after flattening;
* ``parse_timeout`` — the parse would take longer than ``parse_seconds`` (OCR included: the clock is
  never extended): checked between pages and steps here, :data:`STOP_MARGIN` before the limit so the
  parse can still end in time, and enforced from outside by whoever runs the parse in a process it
  can kill at the limit (one pdfium call cannot be interrupted; the flows' parse guard kills its
  parse process).  OCR pages are started only while one fits on the clock (:class:`PageBudget`); the
  pages that do not are left unread with their reason, and the document keeps what was read.

The defaults are far above real reports (the largest are a few MB, 50 pages, 5 000 characters on a
page) and far below what would hurt (peak memory for one document stays well under 1 GB).  The
flows read overrides from the ``[xxgk.limits]`` settings; tests lower them to make big cases cheap.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields, replace
from typing import Any

from sources.parsing.document import UnreadableDocument

MB = 1024 * 1024
STOP_MARGIN = 1.0  # seconds before the limit the parse clock runs out (at most a tenth of the limit)


def timeout_message(seconds: float, where: str) -> str:
    """The one Chinese line of a parse stopped after ``seconds`` (``where``: what it was doing)."""
    return f"解析超过 {seconds:g} 秒（{where}）已停止：文件可能异常，请人工检查或索取正常文件"


@dataclass(frozen=True)
class ReadLimits:
    """Bounds of one parse (sizes in bytes).  ``deadline`` is set by :meth:`started`, never by hand."""

    file_bytes: int = 64 * MB  # one file read from disk
    part_bytes: int = 64 * MB  # one decompressed part: a DOCX zip member, a PDF stream (fonts, images)
    xml_bytes: int = 16 * MB  # one XML part parsed (a DOCX document.xml)
    inflated_bytes: int = 256 * MB  # all the PDF streams of one document together, decompressed
    # PDF page content (drawing operators), decompressed: the libraries parse it in one uninterruptible
    # call, about 20 MB of memory and 1-3 s per MB of dense operators; real pages hold 10-500 KB
    content_bytes: int = 4 * MB  # one content stream
    content_total: int = 32 * MB  # all the content streams of one document
    text_bytes: int = 16 * MB  # one HTML or plain-text document, as bytes
    html_depth: int = 128  # HTML elements nested deeper are flattened (their text kept), not refused
    pdf_pages: int = 1000  # pages of one PDF
    page_chars: int = 50_000  # characters on one PDF page read for tables (a dense real page has ~5 000)
    page_objects: int = 100_000  # drawing objects on one PDF page read for tables
    parse_seconds: float = 60.0  # wall time of one parse, OCR included
    # the time one page or image read by OCR may take: one is started only with this much (or as much
    # as the slowest page of the document so far) left on the parse clock
    ocr_page_seconds: float = 15.0
    deadline: float | None = None  # time.monotonic() after which the parse stops (set by started())

    def started(self) -> ReadLimits:
        """These limits with the parse clock started now: it runs out :data:`STOP_MARGIN` (at most a
        tenth of the limit) before ``parse_seconds``, so the parse ends within the limit."""
        margin = min(STOP_MARGIN, self.parse_seconds / 10)
        return replace(self, deadline=time.monotonic() + self.parse_seconds - margin)

    def left(self) -> float:
        """Seconds left on the parse clock (infinite when it was not started)."""
        return float("inf") if self.deadline is None else self.deadline - time.monotonic()

    def check_time(self, where: str) -> None:
        """Raise ``parse_timeout`` when the parse has run past its deadline (``where``: what it was doing)."""
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise UnreadableDocument("parse_timeout", timeout_message(self.parse_seconds, where))

    def check_size(self, size: int, limit: int, what: str) -> None:
        """Raise ``too_large`` when ``size`` bytes of ``what`` exceed ``limit``."""
        if size > limit:
            raise UnreadableDocument("too_large", f"{what}超过 {_human(limit)} 的上限：文件异常，请人工检查")

    @classmethod
    def from_settings(cls, settings: dict[str, Any] | None) -> ReadLimits:
        """Limits from a settings mapping (unknown keys refused, values coerced to the field's type)."""
        settings = dict(settings or {})
        known = {f.name: f for f in fields(cls) if f.name != "deadline"}
        unknown = sorted(set(settings) - set(known))
        if unknown:
            raise ValueError(f"unknown read limits {unknown}; known: {sorted(known)}")
        values: dict[str, Any] = {}
        for name, value in settings.items():
            kind = float if name.endswith("_seconds") else int  # the time limits are float fields
            values[name] = kind(value)
            if values[name] <= 0:
                raise ValueError(f"read limit {name} must be positive, got {value!r}")
        return cls(**values)


DEFAULT_LIMITS = ReadLimits()


@dataclass
class PageBudget:
    """Whether one more page (or image) read by OCR fits on a running parse clock.

    One OCR page is a few uninterruptible seconds (render, detection, recognition): it is started only
    with ``ocr_page_seconds`` left, or as long as the slowest page of this document took, so the parse
    ends within its limit with what was read.  The pages that do not fit are the caller's to record
    (``ocr_needed`` with the reason)."""

    limits: ReadLimits
    slowest: float = 0.0

    def fits(self) -> bool:
        """Whether one more OCR page may be started now."""
        return self.limits.left() >= max(self.limits.ocr_page_seconds, self.slowest)

    def spent(self, seconds: float) -> None:
        """Record that one page took ``seconds``."""
        self.slowest = max(self.slowest, seconds)


def _human(size: int) -> str:
    if size >= MB and size % MB == 0:
        return f"{size // MB} MB"
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024} KB"
    return f"{size} 字节"
