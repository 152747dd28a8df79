"""What a report says about itself outside its tables: agency and year from its title, the publication
date it prints, and which of the six section headings appear.  Pure functions of a
:class:`~sources.parsing.document.Document`."""

from __future__ import annotations

import re
import unicodedata

from sources.parsing.document import Document
from sources.parsing.labels import normalize_label, to_simplified
from sources.template import Template

_TITLE = re.compile(
    r"^(?P<agency>.{0,60}?)\s*(?P<year>(?:19|20)\d{2})\s*年\s*度?\s*的?\s*(?:政府)?信息公开(?:工作)?年度?报告\s*$"
)
_DATE_LABELLED = re.compile(
    r"(?:发布日期|发布时间|发文日期|成文日期|日期|时间)\s*[:：]?\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})"
)
_DATE_LINE = re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*$")


def find_title(doc: Document) -> tuple[str | None, int | None]:
    """Agency and report year from the title (``某某局2023年政府信息公开工作年度报告``).

    The title may be split over two lines (agency, then ``2022年度…报告``); when several lines
    qualify (site breadcrumbs repeat the title) the shortest agency name wins.
    """
    lines = ([doc.title] if doc.title else []) + doc.text.split("\n")[:80]
    best: tuple[str, int] | None = None
    previous = ""
    for line in lines:
        text = to_simplified(unicodedata.normalize("NFKC", line)).strip()
        m = _TITLE.search(text)
        if m:
            agency = re.sub(r"\s+", "", m.group("agency")).strip(":—-|")
            if not agency and previous and len(previous) <= 40:
                agency = previous
            if agency and (best is None or len(agency) < len(best[0])):
                best = (agency, int(m.group("year")))
        if text:
            previous = re.sub(r"\s+", "", text)
    return best if best else (None, None)


def find_published_on(doc: Document) -> str | None:
    """The publication date (ISO) if the document prints one, else None."""
    text = unicodedata.normalize("NFKC", doc.text)
    m = _DATE_LABELLED.search(text)
    if not m:
        for line in reversed(text.split("\n")):
            m = _DATE_LINE.match(line)
            if m:
                break
    if not m:
        return None
    y, mo, d = (int(g) for g in m.groups())
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        return None
    return f"{y:04d}-{mo:02d}-{d:02d}"


def find_sections(doc: Document, template: Template) -> list[str]:
    """Keys of the six report sections whose headings appear, in document order."""
    found: list[str] = []
    for line in doc.text.split("\n"):
        norm = normalize_label(line)
        if not norm or len(norm) > 40:
            continue
        for section in template.sections:
            if section.key in found:
                continue
            if norm in section.match_keys or any(
                len(k) >= 4 and norm.startswith(k) and len(norm) <= len(k) + 4 for k in section.match_keys
            ):
                found.append(section.key)
                break
    return found
