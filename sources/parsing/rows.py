"""Rows of a statutory table: label cells vs value cells, alignment of values to columns, and the
template row a printed label names.

Small pure functions over one :class:`~sources.parsing.document.Row` at a time; the walk over a whole
document (:mod:`sources.parsing.walk`) calls them.  Principle: a row whose values cannot be aligned
unambiguously, or whose label names no template row, is reported, never guessed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import NamedTuple

from sources.parsing.document import Row
from sources.parsing.labels import match_label, match_prefix, normalize_label
from sources.parsing.numbers import looks_like_value
from sources.template import Template, load_template

# ---------------------------------------------------------------- row classification


@dataclass(frozen=True)
class Classified:
    """A row split in two: label cells (index, text) and the value cells after the last label."""

    labels: tuple[tuple[int, str], ...]
    values: tuple[str, ...]


def _is_label(text: str) -> bool:
    return bool(text.strip()) and not looks_like_value(text)


def _ocr_failed(row: Row, index: int) -> bool:
    """An OCR cell whose reading was not usable: a value cell, whatever characters were recognised."""
    source = row.source(index)
    return source is not None and source.status != "ok"


def classify_row(row: Row) -> Classified:
    """Label cells are non-value texts; values are every cell after the last label cell."""
    labels = tuple((i, c) for i, c in enumerate(row.cells) if _is_label(c) and not _ocr_failed(row, i))
    last = labels[-1][0] if labels else -1
    return Classified(labels, tuple(row.cells[last + 1 :]))


def align(values: tuple[str, ...], width: int) -> tuple[str, ...] | None:
    """:func:`align_offset`'s choice of ``width`` value cells, or None."""
    offset = align_offset(values, width)
    return None if offset is None else values[offset : offset + width]


def align_offset(values: tuple[str, ...], width: int) -> int | None:
    """Exactly ``width`` value cells, dropping only blank cells at the edges; None if impossible or ambiguous.

    Blank cells at the start come from a label spanning two columns, at the end from a value cell
    spanning several; anything else (6 numbers for 7 columns) cannot be aligned and gives None.  When
    blanks at both edges could be dropped and the choice changes where the values land (a blank first
    column as well as a blank trailing cell), the row is not aligned either: a guess would shift it.
    """
    extra = len(values) - width
    lead = next((i for i, v in enumerate(values) if v.strip()), len(values))
    trail = next((i for i, v in enumerate(reversed(values)) if v.strip()), len(values))
    # Every way to drop ``extra`` edge blanks: i leading ones and the rest trailing.
    starts = range(max(0, extra - trail), min(lead, extra) + 1)
    options = {tuple(values[i : i + width]) for i in starts}
    return starts[0] if len(options) == 1 else None


# ---------------------------------------------------------------- label matching


def row_index(template: Template) -> dict[str, dict[str, tuple[str, ...]]]:
    """Per table kind: ``"<table>.<row>" -> match keys`` for every row (data and group rows)."""
    index: dict[str, dict[str, tuple[str, ...]]] = {"t2": {}, "t3": {}, "t4": {}}
    for table in template.tables:
        for row in table.rows:
            index[table.kind][f"{table.id}.{row.key}"] = row.match_keys
    return index


def caption_index(template: Template) -> dict[str, tuple[str, ...]]:
    return {t.id: t.caption_keys for t in template.tables_of("t2")}


def section_kind(norm: str, template: Template) -> str | None:
    """Table kind announced by a section heading printed inside the row stream (text exports)."""
    for section in template.sections:
        if norm in section.match_keys and section.no in (2, 3, 4):
            return ("t2", "t3", "t4")[section.no - 2]
        if norm in section.match_keys:
            return "end"
    return None


class Match(NamedTuple):
    """A row label matched to a template row: ``key`` is ``table.row`` (None when unmatched),
    ``cell`` the index in the row of the last label cell used (values start after it)."""

    key: str | None
    printed: str
    how: str  # exact | fuzzy | prefix | unknown | none
    cell: int = -1


def _candidates(kinds: Iterable[str], index: dict[str, dict[str, tuple[str, ...]]]) -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for kind in kinds:
        out.update(index[kind])
    return out


def match_row(
    labels: tuple[tuple[int, str], ...], kinds: Iterable[str], index: dict[str, dict[str, tuple[str, ...]]]
) -> Match:
    """The template row named by the row's rightmost matching label (or joined adjacent labels).

    A substantive label cell (no digits: a text value such as "约10件" is a value, not a label) to the
    right of the match that matches nothing makes the row ambiguous: ``how == "unknown"``.
    """
    candidates = _candidates(kinds, index)
    texts = [t for _, t in labels]
    for end in range(len(texts) - 1, -1, -1):
        cell = labels[end][0]
        for start in range(end, max(-1, end - 4), -1):
            joined = "".join(texts[start : end + 1])
            key, how = match_label(joined, candidates, cutoff=1.01)
            if key:
                return Match(key, joined, how, cell)
        key, how = match_label(texts[end], candidates)
        if key:
            return Match(key, texts[end], how, cell)
        if end >= 1:
            joined = "".join(texts[end - 1 : end + 1])
            key, how = match_label(joined, candidates)
            if key:
                return Match(key, joined, how, cell)
        norm = normalize_label(texts[end])
        if len(norm) >= 4 and not re.search(r"\d", norm) and not _is_context_label(texts[end]):
            return Match(None, texts[end], "unknown", cell)
    return Match(None, "", "none")


def match_wrapped(
    pending: list[str],
    labels: tuple[tuple[int, str], ...],
    kinds: Iterable[str],
    index: dict[str, dict[str, tuple[str, ...]]],
) -> Match | None:
    """Match a label wrapped over rows: label-only rows before, numbers on this one.

    Tries the tails of the preceding label-only rows joined to each label of this row, exactly,
    then as the unique prefix of one template label (the rest printed on a following line).
    """
    candidates = _candidates(kinds, index)
    texts = [(i, t.split()[-1] if t.split() else t) for i, t in labels if len(normalize_label(t)) > 1]
    heads = ["".join(pending[i:]) for i in range(len(pending))] + [""]
    for cell, text in reversed(texts):
        for head in heads:
            joined = head + text
            key, how = match_label(joined, candidates, cutoff=1.01)
            if key:
                return Match(key, joined, "exact" if head else how, cell)
            prefix = match_prefix(joined, candidates)
            if prefix:
                return Match(prefix, joined, "prefix", cell)
    return None


_CONTEXT_WORDS = ("信息内容", "本列数据", "申请人情况", "总计", "合计", "单位")


@functools.cache
def _markers() -> frozenset[str]:
    """表三/表四 header texts of the template model (the same in both templates)."""
    template = load_template("gov2021")
    return frozenset(k for t in (template.table("t3"), template.table("t4")) for k in t.marker_keys)


def _is_context_label(text: str) -> bool:
    norm = normalize_label(text)
    return any(w in norm for w in _CONTEXT_WORDS) or norm in _markers()
