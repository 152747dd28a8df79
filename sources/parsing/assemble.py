"""From a :class:`~sources.parsing.document.Document` to the canonical cells of a statutory template.

This is the one place where printed rows become addresses (``t3.new_received.natural_person``).
The chain is small pure steps:

1. ``classify_row``   — split a row into label cells and value cells;
2. ``_walk``          — follow the tables in reading order (表二 captions and headers, 表三, 表四) and
                         map each row to a template row by its *own* most specific label;
3. ``align``          — take exactly as many value cells as the row has columns, or none at all;
4. ``detect_template``— gov2021 / gov2019 / not a statutory report, from the labels found
                         (:mod:`sources.parsing.detect`);
5. ``build_cells``    — one entry per template cell, ``MISSING`` with a reason where nothing was read.

Principle: a value that cannot be aligned unambiguously is ``null`` with a reason, never guessed.

(Over 500 lines: the walk, the alignment and the cell building share one :class:`Walk` state and
its reasons; template detection lives apart in :mod:`sources.parsing.detect`.)
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from sources.parsing.detect import detect_template
from sources.parsing.document import CellSource, Document, Issue, Row
from sources.parsing.labels import match_label, match_prefix, normalize_label, to_simplified
from sources.parsing.numbers import CellValue, looks_like_value, parse_cell, to_wan_yuan
from sources.rules import (
    HYBRID_ROW,
    RuleInstance,
    Term,
    cell_specs,
    check_report,
    narrative_facts,
    rule_instances,
    variant_of,
)
from sources.template import TABLE_NAMES, Table, Template, load_template, t4_flattened_order

PARSER_VERSION = "0.1.1"

_KIND_ORDER = {"t2": 0, "t3": 1, "t4": 2}


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


# ---------------------------------------------------------------- walking the tables


@dataclass
class Found:
    """A value read for one address, with provenance."""

    raw: str
    parsed: CellValue
    row: Row
    label: str
    source: CellSource | None = None  # the OCR reading, when the cell came from an image


@dataclass
class Walk:
    """What the walk over the rows produced for one template."""

    found: dict[str, Found] = field(default_factory=dict)
    bad_rows: dict[str, str] = field(default_factory=dict)  # "t3.unable_not_held" -> reason
    issues: list[Issue] = field(default_factory=list)
    tables_seen: set[str] = field(default_factory=set)
    hybrid_other: bool = False
    header_units: dict[str, str] = field(default_factory=dict)


def _row_index(template: Template) -> dict[str, dict[str, tuple[str, ...]]]:
    """Per table kind: ``"<table>.<row>" -> match keys`` for every row (data and group rows)."""
    index: dict[str, dict[str, tuple[str, ...]]] = {"t2": {}, "t3": {}, "t4": {}}
    for table in template.tables:
        for row in table.rows:
            index[table.kind][f"{table.id}.{row.key}"] = row.match_keys
    return index


def _caption_index(template: Template) -> dict[str, tuple[str, ...]]:
    return {t.id: t.caption_keys for t in template.tables_of("t2")}


def _section_kind(norm: str, template: Template) -> str | None:
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


def _match_row(
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


def _match_wrapped(
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


def _walk(doc: Document, template: Template) -> Walk:
    """Map every row of ``doc`` onto ``template`` addresses."""
    walk = Walk()
    index = _row_index(template)
    captions = _caption_index(template)
    kind: str | None = None
    sub: Table | None = None
    t2_cols: dict[str, list[str]] = {}
    pending: list[str] = []
    t3_markers, t4_markers = set(template.table("t3").marker_keys), set(template.table("t4").marker_keys)
    t4_block, t4_cells = len(template.table("t4").columns), len(t4_flattened_order())  # 5 and 15
    for row in doc.rows:
        cl = classify_row(row)
        for _, text in cl.labels:
            norm = normalize_label(text)
            if not norm:
                continue
            section_kind = _section_kind(norm, template)
            if section_kind:
                kind = None if section_kind == "end" else section_kind
                continue
            cap, _ = match_label(text, captions, cutoff=1.01)
            if cap:
                kind, sub = "t2", template.table(cap)
                t2_cols.pop(sub.id, None)
                continue
            if kind == "t2" and sub is not None:
                col, _ = match_label(text, {c.key: c.match_keys for c in sub.columns}, cutoff=1.01)
                if col:
                    t2_cols.setdefault(sub.id, []).append(col)
                    _header_unit(text, sub, col, walk)
                    continue
            if kind in (None, "t2") and norm in t3_markers:
                kind = "t3"
            elif kind in (None, "t2", "t3") and norm in t4_markers and len(cl.values) < t4_block:
                kind = "t4"
        allowed = [k for k in ("t2", "t3", "t4") if kind is None or _KIND_ORDER[k] >= _KIND_ORDER.get(kind, 0)]
        if kind == "t4" or (kind is None and len([v for v in cl.values if v.strip()]) >= t4_cells):
            if _t4_row(cl, row, template, walk):
                kind = "t4"
                continue
        if row.refused:
            _refuse(walk, template, _match_row(cl.labels, [k for k in allowed if k != "t4"], index), row)
            continue
        if not any(c.strip() and looks_like_value(c) for c in row.cells):
            # A label whose tail (and numbers) may continue on the next rows; single characters
            # are a vertically printed group label (三/、/本/年…) and never part of an item label.
            texts = [t for _, t in cl.labels if len(normalize_label(t)) > 1]
            if texts:
                pending = (pending + [texts[-1].split()[-1]])[-2:]
            continue
        allowed = [k for k in allowed if k != "t4"]
        match = _match_row(cl.labels, allowed, index)
        if match.how in ("unknown", "fuzzy", "none") and cl.labels:
            match = _match_wrapped(pending, cl.labels, allowed, index) or match
        key, printed, how = match.key, match.printed, match.how
        pending = []
        if key is None:
            if how == "unknown":
                walk.issues.append(
                    Issue("unknown_label", "warning", f"row label {printed!r} matches no template row", page=row.page)
                )
            continue
        table_id, row_key = key.split(".")
        table = template.table(table_id)
        kind = table.kind
        if table.kind == "t2":
            sub = table
        walk.tables_seen.add(table.kind)
        if how in ("fuzzy", "prefix"):
            walk.issues.append(
                Issue(
                    f"label_{how}_match", "info", f"label {printed!r} read as {table.row(row_key).label}", key, row.page
                )
            )
        # Values are every cell after the matched label, so a text value ("约10件") stays a TEXT cell.
        cl = Classified(cl.labels, tuple(row.cells[match.cell + 1 :]))
        _assign(walk, template, table, row_key, cl, row, printed, t2_cols.get(table.id))
    return walk


def _refuse(walk: Walk, template: Template, match: Match, row: Row) -> None:
    """A row whose reader could not tell its values apart: its template row gets the reader's reason."""
    if match.key is None:
        walk.issues.append(Issue("row_width", "warning", row.refused or "", None, row.page))
        return
    table_id, row_key = match.key.split(".")
    table = template.table(table_id)
    walk.tables_seen.add(table.kind)
    reason = f"{table.title} {table.row(row_key).label}：{row.refused}"
    if match.key not in walk.bad_rows and not any(a.startswith(match.key + ".") for a in walk.found):
        walk.bad_rows[match.key] = reason
        walk.issues.append(Issue("row_width", "warning", reason, match.key, row.page))


def _values_offset(values: tuple[str, ...], width: int, short: int) -> int | None:
    """Where the ``width`` values of a row start among ``values`` (:func:`align_offset`), or None.

    For a row that lost ``short`` cells in export (which ones is unknown), only the run from its first
    to its last printed value, and only when that run is exactly ``width`` cells long: blanks a
    converter keeps or drops lie outside the values (a spanned label's position before them, a
    spanned cell after), so a run of ``width`` cells is every value cell of the row and none is lost.
    """
    if not short:
        return align_offset(values, width)
    printed = [i for i, v in enumerate(values) if v.strip()]
    if not printed or printed[-1] - printed[0] + 1 != width:
        return None
    return printed[0]


def _short_reason(title: str, label: str, values: tuple[str, ...], width: int, short: int) -> str:
    n = len([v for v in values if v.strip()])
    return f"{title} {label}：导出的表格行比表格少{short}格，剩下{n}个数值对{width}列，无法确定缺的是哪一格，均未采用"


def _header_unit(text: str, table: Table, col: str, walk: Walk) -> None:
    """Remember a unit printed in a header (采购总金额（元）) for amount columns."""
    if not table.column(col).value_type.startswith("amount"):
        return
    norm = to_simplified(unicodedata.normalize("NFKC", text))
    m = re.search(r"(?:单位[:：]?)?(万元|亿元|元)\)?\s*$", norm.replace(" ", ""))
    if m:
        walk.header_units[f"{table.id}.{col}"] = m.group(1)


def _assign(
    walk: Walk,
    template: Template,
    table: Table,
    row_key: str,
    cl: Classified,
    row: Row,
    printed: str,
    header_cols: list[str] | None,
) -> None:
    """Store the aligned values of one matched row, or record why they could not be used."""
    rowdef = table.row(row_key)
    if not rowdef.is_data_row:
        if table.id == "t3" and row_key == HYBRID_ROW and template.id == "gov2021":
            walk.hybrid_other = True  # 2021 report printing the old single （六）其他处理 row
        else:
            return
    addr_row = f"{table.id}.{row_key}"
    cols = header_cols if header_cols and len(set(header_cols)) == len(header_cols) else None
    col_keys = cols or [c.key for c in table.columns]
    offset = _values_offset(cl.values, len(col_keys), row.short)
    values = None if offset is None else cl.values[offset : offset + len(col_keys)]
    if values is None or offset is None:
        n = len([v for v in cl.values if v.strip()])
        reason = f"{table.title} row {rowdef.label} has {n} values for {len(col_keys)} columns; none were used"
        if row.short:
            reason = _short_reason(table.title, rowdef.label, cl.values, len(col_keys), row.short)
        if addr_row not in walk.bad_rows and not any(a.startswith(addr_row + ".") for a in walk.found):
            walk.bad_rows[addr_row] = reason
            walk.issues.append(Issue("row_width", "warning", reason, addr_row, row.page))
        return
    first = len(row.cells) - len(cl.values) + offset  # the row's index of the first value used
    for k, (col_key, raw) in enumerate(zip(col_keys, values, strict=True)):
        address = f"{addr_row}.{col_key}"
        if address in walk.found:
            walk.issues.append(
                Issue("duplicate_row", "info", f"{table.title} row {rowdef.label} printed twice; first kept", address)
            )
            return
        parsed = parse_cell(raw, table.column(col_key).value_type)
        unit = walk.header_units.get(f"{table.id}.{col_key}")
        is_amount = table.column(col_key).value_type.startswith("amount")
        if parsed.value is not None and unit and not parsed.unit and is_amount:
            parsed = CellValue(parsed.semantic, to_wan_yuan(parsed.value, unit), unit, f"{unit}→万元")
        walk.found[address] = Found(raw, parsed, row, printed, row.source(first + k))


def _t4_row(cl: Classified, row: Row, template: Template, walk: Walk) -> bool:
    """Read 表四 from a row of 15 values (flattened) or a block label with 5 values."""
    t4 = template.table("t4")
    order = t4_flattened_order()
    nonblank = [v for v in cl.values if v.strip()]
    if len(nonblank) >= len(order) or len(cl.values) >= len(order):
        offset = _values_offset(cl.values, len(order), row.short)
        values = None if offset is None else cl.values[offset : offset + len(order)]
        if values is None or offset is None:
            reason = f"{t4.title} data row has {len(nonblank)} values for {len(order)} cells; none were used"
            if row.short:
                reason = _short_reason(t4.title, "数据行", cl.values, len(order), row.short)
            walk.issues.append(Issue("row_width", "warning", reason, "t4", row.page))
            walk.bad_rows.setdefault("t4", reason)
            walk.tables_seen.add("t4")
            return True
        kept = [f"t4.{addr}" for addr in order if f"t4.{addr}" in walk.found]
        if kept:  # as in _assign: the first printed value stays, and the repeat is reported
            message = f"{t4.title} data row printed again; the {len(kept)} cells read before were kept"
            walk.issues.append(Issue("duplicate_row", "info", message, kept[0], row.page))
        first = len(row.cells) - len(cl.values) + offset
        for k, (addr, raw) in enumerate(zip(order, values, strict=True)):
            address = f"t4.{addr}"
            if address not in walk.found:
                parsed = parse_cell(raw, template.value_type(address))
                walk.found[address] = Found(raw, parsed, row, t4.title, row.source(first + k))
        walk.tables_seen.add("t4")
        return True
    if cl.labels and len(cl.values) >= len(t4.columns):
        blocks = {f"t4.{r.key}": r.match_keys for r in t4.rows}
        key, printed, _, _ = _match_row(cl.labels[-1:], ["t4"], {"t4": blocks, "t2": {}, "t3": {}})
        if key:
            walk.tables_seen.add("t4")
            _assign(walk, template, t4, key.split(".")[1], cl, row, printed, None)
            return True
    return False


# ---------------------------------------------------------------- document-level facts

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


# ---------------------------------------------------------------- output


def _json_value(value: int | Decimal | None) -> int | float | None:
    if isinstance(value, Decimal):
        return float(value)
    return value


def _addresses(template: Template, hybrid: bool) -> list[str]:
    """Template addresses; a hybrid report keeps its single （六）其他处理 row instead of the three."""
    if not hybrid:
        return list(template.addresses)
    return [c.address for c in cell_specs("gov2021_hybrid")]


def build_cells(template: Template, walk: Walk, unreadable: str | None = None) -> list[dict[str, Any]]:
    """One dict per template cell: the value read, or MISSING with the reason (``unreadable``: why the
    tables of this report could not be read, the reason of every cell of a table not found)."""
    cells: list[dict[str, Any]] = []
    for address in _addresses(template, walk.hybrid_other):
        table_id, row_key, _col = address.split(".")
        found = walk.found.get(address)
        if found is not None:
            cell: dict[str, Any] = {
                "address": address,
                "value": _json_value(found.parsed.value),
                "raw": found.raw,
                "semantic": found.parsed.semantic,
                "label": found.label,
            }
            if found.row.page is not None:
                cell["page"] = found.row.page
            if found.row.line is not None:
                cell["line"] = found.row.line
            if found.row.table is not None:
                cell["table"] = found.row.table
            if found.parsed.unit:
                cell["unit"] = found.parsed.unit
            if found.parsed.note:
                cell["note"] = found.parsed.note
            if found.source is not None:
                _ocr_cell(cell, found.source)
            cells.append(cell)
            continue
        kind = template.table(table_id).kind
        reason = walk.bad_rows.get(f"{table_id}.{row_key}") or walk.bad_rows.get(table_id)
        if reason is None:
            title = TABLE_NAMES[kind][1:]  # "四" in "table 四 not found"
            if kind not in walk.tables_seen:
                reason = unreadable or f"table {title} not found in the document"
            else:
                reason = f"row {template.table(table_id).row(row_key).label} not found in table {title}"
        cells.append({"address": address, "value": None, "raw": None, "semantic": "MISSING", "reason": reason})
    return cells


# Why an OCR reading was not used, by CellSource.status: the cell's reason code and its message.
OCR_REASONS = {
    "low_confidence": ("ocr_low_confidence", "OCR read {text!r} with confidence {confidence} below {threshold}"),
    "unreadable": ("ocr_unreadable", "OCR could not read a number here (read {text!r})"),
}


def _ocr_cell(cell: dict[str, Any], source: CellSource) -> None:
    """Attach an OCR reading to a cell; a reading that is not usable leaves the value null with its reason."""
    from sources.parsing.ocr import MIN_CONFIDENCE

    cell["method"] = "ocr"
    cell["ocr"] = source.to_json()
    if source.status in OCR_REASONS:
        code, text = OCR_REASONS[source.status]
        # MISSING, not EMPTY or TEXT: the printed value is unknown (an EMPTY cell would count as 0).
        cell.update(value=None, semantic="MISSING", reason_code=code)
        conf = "?" if source.confidence is None else f"{source.confidence:.2f}"
        cell["reason"] = text.format(text=source.text, confidence=conf, threshold=MIN_CONFIDENCE)


def _ocr_issues(cells: list[dict[str, Any]]) -> list[Issue]:
    """One issue per OCR cell whose value was not used (``ocr_low_confidence`` / ``ocr_unreadable``)."""
    return [
        Issue(
            c["reason_code"],
            "error",
            f"{c['address']}: {c['reason']}; check the page image",
            c["address"],
            c.get("page"),
        )
        for c in cells
        if c.get("reason_code") in ("ocr_low_confidence", "ocr_unreadable")
    ]


def _terms(inst: RuleInstance) -> tuple[Term, ...]:
    return inst.lhs + inst.rhs


def _identity_instances(variant: str) -> dict[tuple[str, str], RuleInstance]:
    """The report's own statutory identities: error-level equalities between its table cells."""
    return {
        inst.key: inst
        for inst in rule_instances(variant)
        if inst.severity == "error"
        and inst.op == "eq"
        and all(
            t.scope == "this" and (t.address is None or t.address[:3] in ("t2.", "t3.", "t4.")) for t in _terms(inst)
        )
        and any(t.address for t in _terms(inst))
    }


def verify_ocr(result: dict[str, Any]) -> list[Issue]:
    """Mark OCR-read cells of failing statutory identities ``unverified``; one ``ocr_unverified`` issue each.

    A report's own identities (表三 row totals and balance, 表四 block totals …) hold in a correct
    report; where one fails on cells that OCR read, a misread is as likely as a publisher's error,
    so those cells are not trusted until a person has looked at the page (their value stays, as
    read, and the report is not promoted on them: rule S_OCR_VERIFIED).
    """
    cells = {c["address"]: c for c in result["cells"]}
    if not any(c.get("method") == "ocr" for c in cells.values()):
        return []
    variant = variant_of(result.get("template"), cells)
    if variant is None:
        return []
    identities = _identity_instances(variant)
    failing: dict[str, list[str]] = {}
    for check in check_report(result):
        inst = identities.get((check.rule_id, check.instance))
        if inst is None or check.outcome != "fail":
            continue
        for term in _terms(inst):
            cell = cells.get(term.address or "")
            if cell is not None and cell.get("method") == "ocr" and cell["value"] is not None:
                failing.setdefault(cell["address"], []).append(check.rule_id)
    issues = []
    for address, rule_ids in failing.items():
        cell = cells[address]
        cell["ocr"]["status"] = "unverified"
        rules_text = ", ".join(dict.fromkeys(rule_ids))
        issues.append(
            Issue(
                "ocr_unverified",
                "error",
                f"{address}: OCR read {cell['raw']!r}, but {rules_text} fails on it; compare the page image "
                "and confirm the value (xxgk confirm) before it is used",
                address,
                cell.get("page"),
            )
        )
    return issues


def _completeness_issues(template: Template, walk: Walk, sections: list[str]) -> list[Issue]:
    issues: list[Issue] = []
    for kind, name in TABLE_NAMES.items():
        title = name[1:]
        if kind not in walk.tables_seen:
            issues.append(Issue("missing_table", "error", f"table {title} not found in the document", kind))
    missing = [s.label for s in template.sections if s.key not in sections]
    if missing:
        issues.append(Issue("missing_section", "warning", "section heading(s) not found: " + "、".join(missing)))
    if walk.hybrid_other:
        issues.append(
            Issue(
                "hybrid_other_handling",
                "warning",
                "2021 template with the old single row （六）其他处理 (2019 layout); its row was kept as printed",
                f"t3.{HYBRID_ROW}",
            )
        )
    return issues


def empty_result(**fields: Any) -> dict[str, Any]:
    """A parse result with nothing read (every key of a parse result but ``source``), ``fields`` set."""
    result: dict[str, Any] = {
        "agency": None,
        "year": None,
        "template": None,
        "published_on": None,
        "sections": [],
        "cells": [],
        "issues": [],
        "error": None,
    }
    result.update(fields)
    return result


def parse_document(doc: Document) -> dict[str, Any]:
    """The parse result of one Document (everything of the parse result except ``source``)."""
    agency, year = find_title(doc)
    template_id, issues = detect_template(doc)
    issues = list(doc.issues) + issues
    result = empty_result(agency=agency, year=year, published_on=find_published_on(doc))
    if template_id is None:
        result["issues"] = [i.to_json() for i in issues]
        return result
    template = load_template(template_id)
    walk = _walk(doc, template)
    unreadable = next((i.message for i in issues if i.code == "table_unreadable"), None)
    cells = build_cells(template, walk, unreadable)
    t3 = [c for c in cells if c["address"].startswith("t3.")]
    if unreadable is None and not any(c["semantic"] in ("NUMBER", "ZERO") for c in t3):
        refused = sorted(reason for key, reason in walk.bad_rows.items() if key.startswith("t3"))
        if not refused and not any(c["semantic"] == "TEXT" for c in t3):
            # 表三's rows are there and print nothing: a blank template, not a report.
            issues.append(Issue("blank_template", "info", "the statutory tables carry no figures (blank template)"))
            result["issues"] = [i.to_json() for i in issues]
            return result
        # 表三's rows are there but their figures could not be placed: a report whose tables are
        # unreadable (kept, its cells missing with the reasons), not a blank template.
        message = (
            f"表三印有{len(refused)}行但其数字均无法读取（例如：{refused[0]}）。单元格均为空并注明原因，请人工核对原件"
        )
        issues.append(Issue("table_unreadable", "error", message, "t3"))
    sections = find_sections(doc, template)
    issues += walk.issues + _ocr_issues(cells) + _completeness_issues(template, walk, sections)
    result.update(template=template_id, sections=sections, cells=cells)
    # Figures the narrative states (收到申请N件 …), checked against the tables at validation time.
    result["narrative"] = narrative_facts(doc.text)
    issues += verify_ocr(result)
    result["issues"] = [i.to_json() for i in issues]
    return result
