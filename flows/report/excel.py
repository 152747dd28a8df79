"""The report's Excel workbook (openpyxl): the evidence a person filters, sorts and forwards.

Sheets, all with Chinese column headers:

* ``概况`` — the summary counts;
* ``未通过的校验`` — one row per failing check and warning, with its evidence (table / row /
  column, the printed values of both sides, the message, the page and a link to the source);
* ``缺失与逾期`` — the missing and the late reports, with the stable state codes in the last column;
* ``解析提示`` — the parser's warnings and errors on each report shown (Chinese, with the stable code);
* ``OCR核对`` (only when a report shown has them) — the OCR cells a person must compare with the
  page image, with the image of each cell beside the value read and the ``xxgk confirm`` command;
* ``地区汇总`` — per region × level, this year and the one before, the sums of the statutory figures over
  the published reports with their coverage; each figure links to its block of ``地区汇总明细``, the
  agencies behind it with their own figures;
* ``已发布表二表三表四`` — the published 表二/表三/表四 values of each agency, in the printed layout
  of its template (merged headers as in the statutory tables).

Strings are written as strings (a value starting with ``=`` never becomes a formula) and control
characters Excel refuses are removed, so the file opens cleanly in Excel and WPS.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from flows.cli.display import statutory_title
from flows.ingest import OUTCOME_LABELS, SEVERITY_LABELS
from flows.report.data import CHINA_TZ, STATE_LABELS, AgencyStatus, CheckItem, PublishedTables, Report
from flows.report.html import report_title, safe_link
from flows.report.regions import COLUMNS, FIGURE_LABELS, RATE_NOTE, RATES
from sources import chinese, rules
from sources.template import TABLE_NAMES, Table, load_template, raw_spec

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_CELL_TEXT = 32767  # Excel's limit; a longer text makes Excel "repair" the file

_THIN = Side(style="thin", color="9CA3AF")
_BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
_HEAD_FILL = PatternFill("solid", fgColor="E0E7FF")
_TITLE_FONT = Font(bold=True, size=12)
_BOLD = Font(bold=True)
_WRAP = Alignment(wrap_text=True, vertical="top")
_CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)

CHECK_HEADERS = [
    ("机关", 24),
    ("地区", 16),
    ("报告状态", 10),
    ("严重程度", 9),
    ("阻止发布", 9),
    ("结果", 9),
    ("规则编号", 20),
    ("规则", 34),
    ("表", 16),
    ("行", 24),
    ("列", 14),
    ("左边（原文印刷值）", 28),
    ("左边数值", 10),
    ("右边（原文印刷值）", 40),
    ("右边数值", 10),
    ("说明", 50),
    ("页码", 6),
    ("原文", 40),
    ("版本", 18),
]
MISSING_HEADERS = [
    ("机关", 28),
    ("登记编号", 18),
    ("地区", 18),
    ("层级", 10),
    ("状态", 10),
    ("法定期限", 12),
    ("发布日期", 12),
    ("逾期天数", 10),
    ("说明", 60),
    ("原文", 40),
    ("状态代码", 24),
]
ISSUE_HEADERS = [("机关", 28), ("严重程度", 9), ("说明", 70), ("页码", 6), ("代码", 22), ("版本", 18)]


def clean(value: Any) -> Any:
    """A cell value Excel accepts: control characters removed from strings (and cut at 32767), others unchanged."""
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)[:MAX_CELL_TEXT]
    return value


def put(ws: Worksheet, row: int, col: int, value: Any, **style: Any) -> Any:
    """Write one cell; strings stay strings (never formulas); ``style`` sets font/fill/alignment/border."""
    cell = ws.cell(row=row, column=col)
    cell.value = clean(value)
    if isinstance(cell.value, str):
        cell.data_type = "s"
    for key, val in style.items():
        setattr(cell, key, val)
    return cell


def _header(ws: Worksheet, headers: Sequence[tuple[str, int]], row: int = 1) -> None:
    for col, (label, width) in enumerate(headers, start=1):
        put(ws, row, col, label, font=_BOLD, fill=_HEAD_FILL, border=_BORDER, alignment=_CENTER)
        ws.column_dimensions[get_column_letter(col)].width = width
    ws.freeze_panes = ws.cell(row=row + 1, column=2)
    ws.auto_filter.ref = f"A{row}:{get_column_letter(len(headers))}{row}"


def _link(ws: Worksheet, row: int, col: int, url: str | None, text: str | None = None) -> None:
    url = safe_link(url)
    cell = put(ws, row, col, text or url or "", alignment=_WRAP)
    if url:
        cell.hyperlink = url
        cell.font = Font(color="1D4ED8", underline="single")


# ------------------------------------------------------------------------------------------ sheets


def summary_sheet(ws: Worksheet, report: Report) -> None:
    """``概况``: office, year, time and the summary counts."""
    s = report.summary
    rows = [
        ("监督机关", report.office.name),
        ("报告年度", report.year),
        ("生成时间（北京时间）", report.generated_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")),
        ("应报送机关", s.expected),
        ("已找到报告", s.found),
        ("已发布（通过校验）", s.promoted),
        ("已隔离（未通过校验）", s.quarantined),
        ("缺失", s.missing),
        ("逾期发布", s.late),
        ("自上次以来修订", s.revised),
    ]
    put(ws, 1, 1, report_title(report), font=_TITLE_FONT)
    for i, (label, value) in enumerate(rows, start=3):
        put(ws, i, 1, label, font=_BOLD, border=_BORDER, fill=_HEAD_FILL)
        put(ws, i, 2, value, border=_BORDER)
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 36


def _check_row(a: AgencyStatus, c: CheckItem) -> list[Any]:
    return [
        a.name,
        a.agency.region_label,
        STATE_LABELS[a.state],
        SEVERITY_LABELS.get(c.severity, c.severity),
        "是" if c.blocking and not c.waived else "否（已豁免）" if c.waived else "否",
        OUTCOME_LABELS.get(c.outcome, c.outcome),
        c.rule_id,
        c.title,
        c.table,
        c.row,
        c.column,
        c.side_text("lhs"),
        c.lhs,
        c.side_text("rhs"),
        c.rhs,
        c.message,
        c.page,
    ]


def checks_sheet(ws: Worksheet, report: Report) -> None:
    """``未通过的校验``: one row per failing check (errors first) and warning, with evidence."""
    _header(ws, CHECK_HEADERS)
    row = 2
    for a in report.agencies:
        for c in (*a.failures, *a.warnings):
            for col, value in enumerate(_check_row(a, c), start=1):
                put(ws, row, col, value, alignment=_WRAP, border=_BORDER)
            _link(ws, row, 18, a.page_link(c.page), a.source)
            put(ws, row, 19, a.version_id, border=_BORDER)
            if c.blocking:
                ws.cell(row=row, column=4).font = Font(color="C62828", bold=True)
            row += 1


def missing_sheet(ws: Worksheet, report: Report) -> None:
    """``缺失与逾期``: every missing report and every report published after its deadline."""
    _header(ws, MISSING_HEADERS)
    row = 2
    for a in report.agencies:
        if a.state != "missing" and not a.late:
            continue
        values = [
            a.name,
            a.agency.id,
            a.agency.region_label,
            a.agency.level,
            "逾期发布" if a.late else STATE_LABELS[a.state],
            a.deadline,
            a.published_on,
            a.days_late or None,
            "；".join(a.notes),
        ]
        for col, value in enumerate(values, start=1):
            cell = put(ws, row, col, value, alignment=_WRAP, border=_BORDER)
            if col in (6, 7) and value is not None:
                cell.number_format = "yyyy-mm-dd"
        _link(ws, row, 10, a.link, a.source)
        put(ws, row, 11, a.codes, border=_BORDER)
        row += 1


def issues_sheet(ws: Worksheet, report: Report) -> None:
    """``解析提示``: the parser's warnings and errors on each version shown (Chinese text, stable code)."""
    _header(ws, ISSUE_HEADERS)
    row = 2
    for a in report.agencies:
        for i in a.issues:
            values = [a.name, chinese.SEVERITY.get(i.severity, i.severity), i.text, i.page, i.code, a.version_id]
            for col, value in enumerate(values, start=1):
                put(ws, row, col, value, alignment=_WRAP, border=_BORDER)
            row += 1


OCR_HEADERS = [
    ("机关", 26),
    ("单元格", 30),
    ("页", 5),
    ("OCR 识别", 10),
    ("问题", 14),
    ("原件图像", 34),
    ("确认命令", 60),
]


def ocr_sheet(ws: Worksheet, report: Report) -> None:
    """``OCR核对``: each OCR cell to compare with the page image, its image anchored in the row."""
    from openpyxl.drawing.image import Image

    _header(ws, OCR_HEADERS)
    row = 2
    for a in report.agencies:
        for c in a.ocr_cells:
            command = chinese.confirm_command(a.version_id, c.address)
            label = f"{c.label}\n{c.address}" if c.label else c.address
            for col, value in enumerate([a.name, label, c.page, c.text, c.status_label, None, command], start=1):
                put(ws, row, col, value, alignment=_WRAP, border=_BORDER)
            if c.crop is not None:
                image = Image(io.BytesIO(c.crop))
                ws.add_image(image, f"F{row}")
                ws.row_dimensions[row].height = max(30.0, min(float(image.height) * 0.75 + 4, 120.0))
            row += 1


# ------------------------------------------------------------------------------------------ regional totals

REGION_HEADERS = [("地区", 22), ("层级", 8), ("年度", 7), ("覆盖情况", 36)]
DETAIL_SHEET = "地区汇总明细"


def _figure_cell(ws: Worksheet, row: int, col: int, column: str, value: float | None) -> Any:
    cell = put(ws, row, col, value, border=_BORDER)
    if value is not None:
        cell.number_format = "0.0%" if column in RATES else "#,##0.##"
    return cell


def regions_sheets(summary: Worksheet, detail: Worksheet, report: Report) -> None:
    """``地区汇总``: per region × level × year the totals and their coverage; every figure links to its
    block in ``地区汇总明细``, which lists the agencies behind it (state, version, each figure)."""
    headers = REGION_HEADERS + [(FIGURE_LABELS[c], 11) for c in COLUMNS] + [("代码", 18)]
    _header(summary, headers)
    detail_headers = [("机关", 28), ("状态", 10), ("版本", 18)] + [(FIGURE_LABELS[c], 11) for c in COLUMNS]
    for col, (_, width) in enumerate(detail_headers, start=1):
        detail.column_dimensions[get_column_letter(col)].width = width
    at = 1
    for i, r in enumerate(report.regions, start=2):
        anchor = f"#'{DETAIL_SHEET}'!A{at}"
        for col, value in enumerate([r.region_label, r.level_label, r.year, r.coverage], start=1):
            put(summary, i, col, value, border=_BORDER, alignment=_WRAP)
        for col, column in enumerate(COLUMNS, start=len(REGION_HEADERS) + 1):
            cell = _figure_cell(summary, i, col, column, r.total(column))
            cell.hyperlink = anchor  # the agencies behind the figure
            cell.font = Font(color="1D4ED8", underline="single")
        put(summary, i, len(headers), f"{r.region}|{r.level}|{r.year}", border=_BORDER)
        title = f"{r.region_label} {r.level_label} {r.year} 年度：{r.coverage}"
        put(detail, at, 1, title, font=_TITLE_FONT)
        for col, (label, _) in enumerate(detail_headers, start=1):
            put(detail, at + 1, col, label, font=_BOLD, fill=_HEAD_FILL, border=_BORDER, alignment=_CENTER)
        at += 2
        for a in r.agencies:
            state = STATE_LABELS.get(a.state, a.state) + ("" if a.included else "（未计入）")
            for col, value in enumerate([a.name, state, a.version_id], start=1):
                put(detail, at, col, value, border=_BORDER)
            for col, column in enumerate(COLUMNS, start=4):
                _figure_cell(detail, at, col, column, a.value(column) if a.included else None)
            at += 1
        put(detail, at, 1, "合计（已纳入的机关）", font=_BOLD, border=_BORDER)
        for col, column in enumerate(COLUMNS, start=4):
            _figure_cell(detail, at, col, column, r.total(column)).font = _BOLD
        at += 2
    if not report.regions:
        put(summary, 2, 1, "暂无可汇总的机关。")
    put(summary, len(report.regions) + 3, 1, RATE_NOTE + "只合计已发布（通过校验）的报告；点击数值查看对应的机关。")


# ------------------------------------------------------------------------------------------ printed tables


def _value(t: PublishedTables, address: str) -> Any:
    """A cell as printed: the number (int when whole), or the printed text of a non-numeric cell."""
    value = t.values.get(address)
    if value is None:
        return t.raw.get(address) or None
    return int(value) if float(value).is_integer() else value


def _fit_row(ws: Worksheet, row: int, col: int, text: str) -> None:
    """Make ``row`` tall enough for ``text`` wrapped in column ``col`` (not every viewer auto-fits)."""
    width = ws.column_dimensions[get_column_letter(col)].width or 10
    lines = math.ceil(len(text) * 2.1 / max(width - 1, 1))  # a Chinese character is ~2 width units
    if lines > 1:
        current = ws.row_dimensions[row].height or 15
        ws.row_dimensions[row].height = max(current, 15 * lines)


def _boxed(ws: Worksheet, row: int, col: int, value: Any, *, head: bool = False, indent: int = 0) -> None:
    style: dict[str, Any] = {"border": _BORDER}
    if head:
        style |= {"font": _BOLD, "fill": _HEAD_FILL, "alignment": _CENTER}
    elif isinstance(value, str):
        style["alignment"] = Alignment(wrap_text=True, vertical="center", indent=indent)
    put(ws, row, col, value, **style)
    if isinstance(value, str):
        _fit_row(ws, row, col, value)


def _merge(ws: Worksheet, r1: int, c1: int, r2: int, c2: int, value: Any) -> None:
    _boxed(ws, r1, c1, value, head=True)
    for r in range(r1, r2 + 1):
        for c in range(c1, c2 + 1):
            ws.cell(row=r, column=c).border = _BORDER
    if (r1, c1) != (r2, c2):
        ws.merge_cells(start_row=r1, start_column=c1, end_row=r2, end_column=c2)


def _t2_block(ws: Worksheet, row: int, t: PublishedTables, present: set[str]) -> int:
    template = load_template(rules.template_of_variant(t.variant))
    _merge(ws, row, 1, row, 8, statutory_title(template, "t2"))
    row += 1
    for table in template.tables_of("t2"):
        width = len(table.columns)
        caption = table.title.removeprefix(TABLE_NAMES["t2"]).strip() or table.id
        _merge(ws, row, 1, row, 1 + width, caption)
        _boxed(ws, row + 1, 1, "信息内容", head=True)
        for j, col in enumerate(table.columns, start=2):
            _boxed(ws, row + 1, j, col.label, head=True)
        row += 2
        for r in table.data_rows:
            _boxed(ws, row, 1, r.label)
            for j, col in enumerate(table.columns, start=2):
                address = f"{table.id}.{r.key}.{col.key}"
                _boxed(ws, row, j, _value(t, address) if address in present else None)
            row += 1
    return row + 1


def _t3_rows(table: Table, present: set[str]) -> list[tuple[str, str, bool, int]]:
    """(row key, label, has values, indent) of 表三 as printed for the cells the variant has."""
    out = []
    for r in table.rows:
        has_values = f"t3.{r.key}.total" in present
        depth = 0 if r.group is None else (1 if r.group == "results" else 2)
        if has_values or any(f"t3.{c.key}.total" in present for c in table.rows if c.group == r.key):
            out.append((r.key, r.label, has_values, depth))
    return out


def _t3_block(ws: Worksheet, row: int, t: PublishedTables, present: set[str]) -> int:
    template = load_template(rules.template_of_variant(t.variant))
    table = template.table("t3")
    cols = list(table.columns)
    spec = raw_spec()["templates"][template.id]["tables"]["t3"]  # the printed header of templates.yaml
    groups = [c["header_group"] for c in spec["columns"]]  # 申请人情况 over all, 法人或其他组织 over five
    _merge(ws, row, 1, row, 8, statutory_title(template, "t3"))
    row += 1
    _merge(ws, row, 1, row + 2, 1, spec["header"]["top_left_note"])
    _merge(ws, row, 2, row, 8, groups[0])
    _merge(ws, row + 1, 2, row + 2, 2, cols[0].label)
    _merge(ws, row + 1, 3, row + 1, 7, groups[1])
    for j, col in enumerate(cols[1:-1], start=3):
        _boxed(ws, row + 2, j, col.label, head=True)
    _merge(ws, row + 1, 8, row + 2, 8, cols[-1].label)
    row += 3
    for key, label, has_values, depth in _t3_rows(table, present):
        _boxed(ws, row, 1, label, indent=depth)
        for j, col in enumerate(cols, start=2):
            _boxed(ws, row, j, _value(t, f"t3.{key}.{col.key}") if has_values else None)
        row += 1
    return row + 1


def _t4_block(ws: Worksheet, row: int, t: PublishedTables) -> int:
    template = load_template(rules.template_of_variant(t.variant))
    table = template.table("t4")
    measures = list(table.columns)
    blocks = list(table.rows)
    n = len(measures)
    _merge(ws, row, 1, row, 1 + 3 * n, statutory_title(template, "t4"))
    _merge(ws, row + 1, 2, row + 1, 1 + n, blocks[0].label)
    _merge(ws, row + 1, 2 + n, row + 1, 1 + 3 * n, blocks[1].header_group or "")
    for j, m in enumerate(measures):
        _merge(ws, row + 2, 2 + j, row + 3, 2 + j, m.label)
    for b, block in enumerate(blocks[1:], start=1):
        _merge(ws, row + 2, 2 + b * n, row + 2, 1 + (b + 1) * n, block.label)
        for j, m in enumerate(measures):
            _boxed(ws, row + 3, 2 + b * n + j, m.label, head=True)
    _merge(ws, row + 1, 1, row + 3, 1, "")
    row += 4
    _boxed(ws, row, 1, "件数")
    for b, block in enumerate(blocks):
        for j, m in enumerate(measures):
            _boxed(ws, row, 2 + b * n + j, _value(t, f"t4.{block.key}.{m.key}"))
    return row + 2


def tables_sheet(ws: Worksheet, report: Report) -> None:
    """``已发布表二表三表四``: each promoted agency's tables, one block under the other."""
    ws.column_dimensions["A"].width = 46
    for col in range(2, 17):
        ws.column_dimensions[get_column_letter(col)].width = 12
    if not report.tables:
        put(ws, 1, 1, "本年度尚无已发布的报告。")
        return
    row = 1
    for t in report.tables:
        present = {c.address for c in rules.cell_specs(t.variant)}
        put(ws, row, 1, f"{t.agency}（{report.year} 年度，版本 {t.version_id}，{t.variant}）", font=_TITLE_FONT)
        row = _t2_block(ws, row + 1, t, present)
        row = _t3_block(ws, row, t, present)
        row = _t4_block(ws, row, t) + 1


def print_setup(ws: Worksheet) -> None:
    """Landscape A4, all columns on one page width (a person prints these sheets)."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0


def build_workbook(report: Report) -> Workbook:
    """The workbook of ``report`` (the sheets of the module docstring)."""
    wb = Workbook()
    summary = wb.active
    summary.title = "概况"
    summary_sheet(summary, report)
    checks_sheet(wb.create_sheet("未通过的校验"), report)
    missing_sheet(wb.create_sheet("缺失与逾期"), report)
    issues_sheet(wb.create_sheet("解析提示"), report)
    if any(a.ocr_cells for a in report.agencies):
        ocr_sheet(wb.create_sheet("OCR核对"), report)
    regions_sheets(wb.create_sheet("地区汇总"), wb.create_sheet(DETAIL_SHEET), report)
    tables_sheet(wb.create_sheet("已发布表二表三表四"), report)
    for ws in wb.worksheets:
        print_setup(ws)
    wb.properties.title = f"{report.office.name} {report.year} 年度数据质量报告"
    wb.properties.creator = "xxgk"
    return wb


def workbook_bytes(report: Report) -> bytes:
    """The workbook of ``report`` as XLSX bytes."""
    buf = io.BytesIO()
    build_workbook(report).save(buf)
    return buf.getvalue()
