"""Human-readable rendering of a parse result: the three statutory tables with their Chinese labels."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table as RichTable

from sources import chinese
from sources.template import TABLE_NAMES, Table, Template, load_template, raw_spec

_SEMANTIC_SHOWN = {"EMPTY": "[dim]（空）[/]", "MISSING": "[red]缺失[/]"}


def statutory_title(template: Template, kind: str) -> str:
    """The printed title of 表二, 表三 or 表四 (``kind`` t2/t3/t4): the table name and the heading of the
    report section that holds it (templates.yaml), e.g. ``表三 收到和处理政府信息公开申请情况``."""
    section_no = raw_spec()["templates"][template.id]["tables"][kind]["section"]
    heading = next(s.label for s in template.sections if s.no == section_no)  # 三、收到和处理…
    return f"{TABLE_NAMES[kind]} {heading.split('、', 1)[-1]}"


def _cell_text(cell: dict[str, Any] | None) -> str:
    if cell is None:
        return "[dim]·[/]"
    ocr = cell.get("ocr")
    if ocr is not None:
        return _ocr_text(cell, ocr)
    return _printed_text(cell)


def _ocr_text(cell: dict[str, Any], ocr: dict[str, Any]) -> str:
    """An OCR cell: cyan as read; magenta with “?” when unverified; red when it could not be read."""
    if cell["value"] is None and ocr.get("status") in ("low_confidence", "unreadable"):
        return f"[red]未识别“{ocr.get('text') or ''}”[/]"
    text = _printed_text(cell)
    if ocr.get("status") == "unverified":
        return f"[bold magenta]{text}?[/]"
    return f"[cyan]{text}[/]"


def _printed_text(cell: dict[str, Any]) -> str:
    sem = cell["semantic"]
    if sem in _SEMANTIC_SHOWN:
        return _SEMANTIC_SHOWN[sem]
    if sem in ("NA", "TEXT"):
        return f"[yellow]{cell['raw']}[/]"
    value = cell["value"]
    return f"{value:g}" if isinstance(value, float) else str(value)


def _table(template_table: Table, cells: dict[str, dict[str, Any]], title: str) -> RichTable | None:
    def printed(key: str) -> bool:
        return any(a.startswith(f"{template_table.id}.{key}.") for a in cells)

    # Data rows present in the result, plus group headings (三、本年度办理结果, （三）不予公开 …).
    rows = [r for r in template_table.rows if printed(r.key) or (not r.is_data_row and template_table.kind == "t3")]
    if not any(a.startswith(template_table.id + ".") for a in cells):
        return None
    out = RichTable(title=title, title_justify="left", show_lines=False, header_style="bold")
    out.add_column("项目", no_wrap=True, overflow="ellipsis", max_width=40)
    for col in template_table.columns:
        out.add_column(col.label, justify="right", no_wrap=True)
    for row in rows:
        addrs = [f"{template_table.id}.{row.key}.{c.key}" for c in template_table.columns]
        indent = "  " * row_depth(template_table, row.key)  # （一）…（六） under 三、, their rows one level deeper
        if not row.is_data_row and not any(a in cells for a in addrs):
            out.add_row(f"{indent}[bold]{row.label}[/]", *[""] * len(addrs))
            continue
        out.add_row(indent + row.label, *[_cell_text(cells.get(a)) for a in addrs])
    return out


SEVERITY_LABELS = {"error": "错误", "warning": "警告", "info": "提示"}
OUTCOME_LABELS = {"fail": "不通过", "not_assessable": "无法核对"}


def checks_text(checks: list[dict[str, Any]]) -> str:
    """The rules a document breaks, one line each: ``[错误·不通过] T3_BALANCE 自然人列：…``."""
    lines = [
        "  "
        + escape(
            f"[{SEVERITY_LABELS.get(c['severity'], c['severity'])}·{OUTCOME_LABELS.get(c['outcome'], c['outcome'])}] "
            f"{c['rule_id']}{' ' + c['instance'] if c['instance'] else ''}：{c['message']}"
        )
        for c in checks
    ]
    return f"未通过的规则检查（{len(checks)} 项，不含跨年度检查）：\n" + "\n".join(lines)


def row_depth(table: Table, row_key: str) -> int:
    """How deep a row sits in the printed groups: 0 for 一、本年新收…, 1 for （一）予以公开 … （六）其他处理
    (data rows and group headings alike), 2 for the rows of （三）不予公开 and the other nested groups."""
    depth, group = 0, table.row(row_key).group
    while group is not None:
        depth, group = depth + 1, table.row(group).group
    return depth


def render_result(result: dict[str, Any], console: Console) -> None:
    """Print one parsed document: header line, issues, 表二/表三/表四 and the rules it breaks."""
    src = result.get("source", {})
    head = f"[bold]{src.get('path')}[/]  格式 {src.get('format')}"
    if result.get("error"):
        console.print(Panel(f"[red]无法读取：{escape(chinese.chinese(result['error']))}[/]", title=head))
        return
    if not result.get("template"):
        reason = "；".join(chinese.issue_text(i) for i in result.get("issues", [])) or "不是法定格式的年度报告"
        console.print(Panel(f"[yellow]非法定格式年报，未读取数字：{escape(reason)}[/]", title=head))
        return
    template = load_template(result["template"])
    cells = {c["address"]: c for c in result["cells"]}
    read = sum(1 for c in result["cells"] if c["semantic"] != "MISSING")
    summary = (
        f"机关：{result.get('agency') or '（未识别）'}  年度：{result.get('year') or '（未识别）'}  "
        f"模板：{template.name}（{result['template']}）  发布日期：{result.get('published_on') or '（未识别）'}\n"
        f"读取单元格 {read}/{len(result['cells'])}"
    )
    ocr = [c for c in result["cells"] if c.get("ocr")]
    if ocr:
        unverified = [c["address"] for c in ocr if c["ocr"].get("status") == "unverified"]
        unread = [c["address"] for c in ocr if c["value"] is None]
        summary += (
            f"\nOCR 识别 {len(ocr)} 个单元格（[cyan]青色[/]）；未核实 {len(unverified)} 个（[bold magenta]紫色带?[/]："
            f"表内勾稽不符，可能是识别错误，请对照原图核实）；未识别 {len(unread)} 个（[red]红色[/]）"
        )
        if unverified:
            summary += "\n未核实：" + "、".join(unverified[:12]) + ("等" if len(unverified) > 12 else "")
    parts: list[Any] = [summary]
    for table in template.tables:
        title = table.title if table.kind == "t2" else statutory_title(template, table.kind)
        rendered = _table(table, cells, title)
        if rendered is not None:
            parts.append(rendered)
    if result.get("issues"):
        lines = [
            f"  {chinese.SEVERITY.get(i['severity'], i['severity'])}：{escape(chinese.issue_text(i))}"
            f"  [dim]{escape(i['code'])}[/]"
            for i in result["issues"]
        ]
        parts.append("解析提示：\n" + "\n".join(lines))
    checks = result.get("checks")
    if checks:
        parts.append(checks_text(checks))
    elif checks is not None:
        parts.append("规则检查：全部通过（不含跨年度检查）")
    console.print(Panel(Group(*parts), title=head))
