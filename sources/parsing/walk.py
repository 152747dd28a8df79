"""The walk over a document's rows in reading order: 表二 captions and headers, 表三, 表四, each row
mapped to a template row by its *own* most specific label (:mod:`sources.parsing.rows`) and its
aligned values stored by template address, with provenance.

Grain: one :class:`Walk` per document and template — the values found by address, the rows whose
values could not be used (with the reason), the tables seen and the issues met on the way.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from sources.parsing.document import CellSource, Document, Issue, Row
from sources.parsing.labels import match_label, normalize_label, to_simplified
from sources.parsing.numbers import CellValue, looks_like_value, parse_cell, to_wan_yuan
from sources.parsing.rows import (
    Classified,
    Match,
    align_offset,
    caption_index,
    classify_row,
    match_row,
    match_wrapped,
    row_index,
    section_kind,
)
from sources.rules import HYBRID_ROW
from sources.template import Table, Template, t4_flattened_order

_KIND_ORDER = {"t2": 0, "t3": 1, "t4": 2}


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


def walk_rows(doc: Document, template: Template) -> Walk:
    """Map every row of ``doc`` onto ``template`` addresses."""
    walk = Walk()
    index = row_index(template)
    captions = caption_index(template)
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
            announced = section_kind(norm, template)
            if announced:
                kind = None if announced == "end" else announced
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
            _refuse(walk, template, match_row(cl.labels, [k for k in allowed if k != "t4"], index), row)
            continue
        if not any(c.strip() and looks_like_value(c) for c in row.cells):
            # A label whose tail (and numbers) may continue on the next rows; single characters
            # are a vertically printed group label (三/、/本/年…) and never part of an item label.
            texts = [t for _, t in cl.labels if len(normalize_label(t)) > 1]
            if texts:
                pending = (pending + [texts[-1].split()[-1]])[-2:]
            continue
        allowed = [k for k in allowed if k != "t4"]
        match = match_row(cl.labels, allowed, index)
        if match.how in ("unknown", "fuzzy", "none") and cl.labels:
            match = match_wrapped(pending, cl.labels, allowed, index) or match
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
        key, printed, _, _ = match_row(cl.labels[-1:], ["t4"], {"t4": blocks, "t2": {}, "t3": {}})
        if key:
            walk.tables_seen.add("t4")
            _assign(walk, template, t4, key.split(".")[1], cl, row, printed, None)
            return True
    return False
