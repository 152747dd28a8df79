"""``xxgk confirm`` and ``xxgk confirmations``: a reviewer records the value printed on the page image
for an OCR cell (:mod:`warehouse.confirmations`); registered with the warehouse commands."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from flows.cli.console import dump_json, one_line_errors, out
from flows.cli.crops import CropsOpt, InlineOpt
from flows.cli.warehouse import (
    JsonOpt,
    WarehouseOpt,
    _config,
    _reader,
    _state,
    _when,
    _writer,
    print_redecision,
    print_warehouse_pending,
)


def confirm(
    version: Annotated[str, typer.Argument(help="Report version id (or a unique prefix of it; see xxgk status).")],
    address: Annotated[str, typer.Argument(help="Cell address, e.g. t3.new_received.total (xxgk checks lists them).")],
    value: Annotated[str, typer.Option("--value", help="The figure printed on the page image (12, 0, / …).")],
    by: Annotated[str | None, typer.Option("--by", help="Who read the page image (default: the OS user).")] = None,
    warehouse: WarehouseOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Confirm an OCR cell with the value printed on the page image; the version is validated and decided again."""
    from flows.ingest import revalidator
    from warehouse.confirmations import confirm_cell

    with one_line_errors(), _writer(warehouse) as con:
        result = confirm_cell(con, version, address, value, by=by, validate=revalidator(_config(warehouse)))
    r, d = result, result.redecision
    if as_json:
        dump_json(
            {
                "action": r.action,
                "version_id": r.version.version_id,
                "agency": r.version.agency,
                "year": r.version.year,
                "address": r.address,
                "value": r.value,
                "ocr_text": r.ocr_text,
                "previous": r.previous,
                "confirmed_by": r.confirmed_by,
                "confirmed_at": r.confirmed_at,
                "cells_changed": r.changed,
                "still_unverified": r.still_unverified,
                "state_before": d.before if d else r.version.state,
                "state": d.after if d else r.version.state,
                "failing_rules": d.decision.failing_rules if d else None,
            }
        )
        return
    verb = {"added": "已确认", "updated": "已更正确认", "unchanged": "确认未变（与已记录的相同）"}[r.action]
    out.print(
        f"{verb} {r.address} = {r.value}：{r.version.agency or '?'} {r.version.year or '?'}"
        f"（版本 {r.version.version_id}）",
        highlight=False,
    )
    ocr = "（未识别出内容）" if not r.ocr_text else r.ocr_text
    out.print(f"  OCR 识别为：{ocr}；确认人：{r.confirmed_by}，{_when(r.confirmed_at)} UTC", highlight=False)
    if r.previous is not None and r.action == "updated":
        out.print(f"  此前确认的值：{r.previous}", highlight=False)
    if d is None:
        out.print(f"  状态：{_state(r.version.state or '')}（未重新校验）", highlight=False)
        return
    out.print(f"  状态：{_state(d.before)} → {_state(d.after)}", highlight=False)
    if r.still_unverified:
        out.print(f"  仍待核对的 OCR 单元格：{'、'.join(r.still_unverified)}", highlight=False)
    print_redecision(d)


def confirmations(
    warehouse: WarehouseOpt = None,
    as_json: JsonOpt = False,
    crops: CropsOpt = None,
    inline_crops: InlineOpt = None,
) -> None:
    """List the OCR confirmations (version, cell, value read on the image, OCR reading, who and when),
    then the OCR cells still to check, each with its image and the confirm command."""
    from warehouse.confirmations import list_confirmations

    with one_line_errors(), _reader(warehouse) as (con, cfg):
        rows = list_confirmations(con)
    if as_json:
        dump_json(rows)
        return
    _table(rows)
    print_warehouse_pending(warehouse, None, crops, inline_crops)


def _table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        out.print("没有 OCR 人工确认。")
        return
    table = Table(title=f"OCR 人工确认（{len(rows)} 项）", title_justify="left", header_style="bold")
    for name in ("版本", "发布机关", "年度", "状态", "单元格", "确认值", "OCR 识别", "确认人", "时间（UTC）"):
        table.add_column(name, overflow="fold")
    for r in rows:
        table.add_row(
            r["version_id"],
            r["agency"] or "—",
            str(r["year"] or "—"),
            _state(r["state"]) if r["state"] else "—",
            r["address"] + (f"\n[dim]{escape(r['label'])}[/]" if r["label"] else ""),
            r["value"],
            r["ocr_text"] or "—",
            r["confirmed_by"] or "—",
            _when(r["confirmed_at"]),
        )
    out.print(table)
