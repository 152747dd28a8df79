"""Warehouse commands of the ``xxgk`` CLI: ``ingest``, ``checks``, ``status``, ``waive``, ``unwaive``,
``waivers`` (and ``bench load``); ``confirm`` and ``confirmations`` are in :mod:`flows.cli.confirm`.

:func:`register` attaches them to the lead's typer app (``flows/cli/app.py``).  Human output uses the
Chinese labels of the templates in rich tables; ``--json`` prints machine-readable JSON on stdout.
Every warehouse problem (file locked by another process, no warehouse file at the path given — only
``ingest`` creates one —, damaged file, full disk, load failure) ends in one line on stderr and exit
status 2.

(Over 500 lines: the nine commands share the warehouse-opening helpers above them and the Chinese
rendering of a run summary and of a re-decision; splitting them per command would repeat those.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from flows.cli.console import dump_json, err, error, fail, one_line_errors, out
from flows.cli.crops import CropsOpt, InlineOpt
from flows.ingest import OUTCOME_LABELS, SEVERITY_LABELS, STATE_LABELS
from sources import chinese

if TYPE_CHECKING:  # the CLI imports the warehouse lazily (start-up time)
    from warehouse.promote import Redecision

WarehouseOpt = Annotated[
    Path | None,
    typer.Option(
        "--warehouse",
        "-w",
        help="DuckDB file (default: XXGK__WAREHOUSE_PATH, .dlt/config.toml, warehouse/xxgk.duckdb).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
WAIVED_LABEL = "已豁免"
STATE_STYLE = {"promoted": "green", "quarantined": "red", "rejected": "yellow", "superseded": "dim"}


def _state(state: str) -> str:
    return f"[{STATE_STYLE.get(state, 'white')}]{STATE_LABELS.get(state, state)}[/]"


def _config(warehouse: Path | None):
    from warehouse.config import WarehouseConfig

    return WarehouseConfig.resolve(warehouse)


@contextmanager
def _reader(warehouse: Path | None) -> Iterator[Any]:
    """A read-only connection and the warehouse's paths; a warehouse file that does not exist is an error
    (:class:`warehouse.db.WarehouseMissing`: a mistyped path must not look like an empty warehouse)."""
    from warehouse.db import connect

    cfg = _config(warehouse)
    con = connect(cfg.db_path, read_only=True)
    try:
        yield con, cfg
    finally:
        con.close()


@contextmanager
def _writer(warehouse: Path | None) -> Iterator[Any]:
    """A read-write connection to an existing warehouse (``waive``, ``unwaive``)."""
    from warehouse.db import connect, require_existing

    path = _config(warehouse).db_path
    require_existing(path)
    con = connect(path)
    try:
        yield con
    finally:
        con.close()


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Report files or folders (HTML, PDF, DOCX, text).")],
    agency: Annotated[str | None, typer.Option(help="发布机关 (overrides what the documents say).")] = None,
    year: Annotated[int | None, typer.Option(help="报告年度 (overrides what the documents say).")] = None,
    force: Annotated[bool, typer.Option(help="Re-parse and re-validate documents already in the warehouse.")] = False,
    docs: Annotated[bool, typer.Option("--docs/--no-docs", help="Write the GX Data Docs site.")] = True,
    warehouse: WarehouseOpt = None,
    as_json: JsonOpt = False,
    crops: CropsOpt = None,
    inline_crops: InlineOpt = None,
) -> None:
    """Parse, load, validate and promote report documents; print what was promoted or quarantined and why,
    and the OCR cells to check with their image and the confirm command."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        raise fail(f"文件或文件夹不存在：{'、'.join(missing)}")
    from flows.cli import progress

    progress.begin("本地文件", kind="files")  # an interrupted ingest says what it completed
    from flows.ingest import ingest_paths
    from warehouse import runlock

    with one_line_errors():
        cfg = _config(warehouse)
        with runlock.hold(cfg.db_path):  # one run per warehouse: a second one is refused at once
            summary = ingest_paths(paths, agency, year, warehouse=cfg, force=force, data_docs=docs)
    if as_json:
        dump_json(summary.to_json())
    else:
        render_summary(summary, out)
        vids = [d.version_id for d in summary.documents if d.version_id]
        if vids:
            print_warehouse_pending(warehouse, vids, crops, inline_crops)
        render_publish(summary.publish, out)
    if summary.publish and summary.publish.get("error"):
        raise typer.Exit(code=1)


def print_warehouse_pending(
    warehouse: Path | None, version_ids: list[str] | None, crops: Path | None, inline: bool | None
) -> None:
    """The OCR cells still to check in the warehouse (of ``version_ids``, or of every version not
    superseded), each with its image written under ``crops`` (default: ``ocr-crops`` beside the
    warehouse file) and the ``xxgk confirm`` command naming its version."""
    from flows.cli.crops import from_warehouse, print_pending, show_inline
    from warehouse.confirmations import pending_cells

    with one_line_errors(), _reader(warehouse) as (con, cfg):
        rows = pending_cells(con, version_ids)
    if rows:
        folder = crops if crops is not None else Path(cfg.db_path).parent / "ocr-crops"
        print_pending(out, [from_warehouse(r) for r in rows], folder, inline=show_inline(out, inline))


def render_summary(summary: Any, console: Console) -> None:
    """The human report of an ingest run: one row per document, then the reasons for quarantine."""
    table = Table(title=f"入库结果（{summary.warehouse}）", title_justify="left", header_style="bold")
    for name in ("文件", "发布机关", "年度", "格式", "结果", "未通过的错误级规则"):
        table.add_column(name, overflow="fold")
    for d in summary.documents:
        state = _state(d.state) + ("" if d.new else "[dim]（未变化）[/]")
        table.add_row(
            Path(d.path).name,
            d.agency or "—",
            str(d.year or "—"),
            d.template or "—",
            state,
            ("、".join(d.failing_rules) or (escape(chinese.chinese(d.reason)) if d.state == "rejected" else "") or "")
            + (f"[cyan]{WAIVED_LABEL}：{'、'.join(d.waived_rules)}[/]" if getattr(d, "waived_rules", None) else ""),
        )
    console.print(table)
    for d in summary.documents:
        if d.state == "quarantined" and d.messages:
            console.print(f"[red]已隔离[/] {Path(d.path).name}（{d.agency} {d.year}）原因：")
            for m in d.messages:
                console.print(f"  • {m}", highlight=False)
    c = summary.counts
    console.print(
        f"已发布 {c.get('promoted', 0)}，已隔离 {c.get('quarantined', 0)}，已拒绝 {c.get('rejected', 0)}，"
        f"被取代 {c.get('superseded', 0) + c.get('previously_published_superseded', 0)}，"
        f"未变化 {c.get('unchanged', 0)}",
        highlight=False,
    )
    t = summary.timings
    if "load" in t:
        console.print(
            f"[dim]解析 {t.get('parse', 0):.2f}s · dlt 入库 {t['load']:.2f}s · SQL 检查 {t['checks_sql']:.2f}s · "
            f"GX 校验 {t['validate_gx']:.2f}s · 发布 {t['promote']:.2f}s[/]"
        )
    if summary.data_docs:
        console.print(f"[dim]GX Data Docs: {summary.data_docs}[/]")


def checks(
    agency: Annotated[str | None, typer.Option(help="发布机关 (substring).")] = None,
    year: Annotated[int | None, typer.Option(help="报告年度.")] = None,
    rule: Annotated[str | None, typer.Option(help="Rule id from templates.yaml, e.g. T3_BALANCE or T3_*.")] = None,
    severity: Annotated[str | None, typer.Option(help="error or warning.")] = None,
    all_versions: Annotated[bool, typer.Option("--all-versions", help="Include superseded versions.")] = False,
    warehouse: WarehouseOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List failing checks (error level first), with the Chinese explanation of each."""
    from warehouse.queries import failing_checks, years_seen

    with one_line_errors(), _reader(warehouse) as (con, cfg):
        rows = failing_checks(
            con, agency=agency, year=year, rule=rule, severity=severity, include_superseded=all_versions
        )
        unseen = year is not None and year not in years_seen(con)
    if as_json:
        dump_json(rows)
        return
    if not rows:
        if unseen:
            out.print(unseen_year(cfg.db_path, year))
        else:
            out.print("没有未通过的检查。")
        return
    table = Table(title=f"未通过的检查（{len(rows)} 项）", title_justify="left", header_style="bold")
    for name in ("发布机关", "年度", "状态", "规则", "级别", "结论", "说明"):
        table.add_column(name, overflow="fold")
    for r in rows:
        sev = SEVERITY_LABELS.get(r["severity"], r["severity"])
        outcome = OUTCOME_LABELS.get(r["outcome"], r["outcome"])
        message = r["message"] or ""
        if r.get("waived"):
            outcome = f"{outcome}（[cyan]{WAIVED_LABEL}[/]）"
            message += f"\n[cyan]{WAIVED_LABEL}：{r['waiver_reason']}（{r['waived_by']}，{_when(r['waived_at'])}）[/]"
        table.add_row(
            r["agency"] or "—",
            str(r["year"] or "—"),
            _state(r["state"]),
            r["rule_id"],
            f"[red]{sev}[/]" if r["blocking"] and not r.get("waived") else sev,
            outcome,
            message,
        )
    out.print(table)


def unseen_year(path: Path, year: int | None) -> str:
    """The notice for a report year the warehouse has recorded nothing for (never shown as a clean year)."""
    return (
        f"数据仓库 {path} 中没有 {year} 年度的任何记录（报告或采集结果）："
        f"先运行 xxgk run --year {year} 或 xxgk ingest。"
    )


def status(
    year: Annotated[int | None, typer.Option("--year", "-y", help="Only this report year (报告年度).")] = None,
    warehouse: WarehouseOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Counts of report versions by year and state, and the state of every version."""
    from warehouse.queries import status as query_status
    from warehouse.queries import years_seen

    with one_line_errors(), _reader(warehouse) as (con, cfg):
        data = query_status(con)
        seen = years_seen(con)
    data = {"warehouse": str(cfg.db_path), **data}
    if year is not None:
        data["year"] = year
        data["year_seen"] = year in seen
        data["by_year"] = [r for r in data["by_year"] if r["year"] == year]
        data["versions"] = [v for v in data["versions"] if v["year"] == year]
        data["counts"] = {s: sum(v["state"] == s for v in data["versions"]) for s in STATE_LABELS}
    for state in STATE_LABELS:
        data["counts"].setdefault(state, 0)
    if as_json:
        dump_json(data)
        return
    if year is not None and year not in seen and con is not None:
        out.print(unseen_year(cfg.db_path, year))
        return
    if not data["versions"]:
        if year is not None and con is not None:
            out.print(
                f"数据仓库 {cfg.db_path} 中 {year} 年度只有采集记录、没有报告版本："
                f"缺失情况见 xxgk report --year {year}。"
            )
        else:
            out.print(f"仓库 {cfg.db_path} 中还没有报告：先运行 xxgk ingest。")
        return
    by_year = Table(title="按年度统计", title_justify="left", header_style="bold")
    by_year.add_column("年度")
    for state in STATE_LABELS:
        by_year.add_column(STATE_LABELS[state], justify="right")
    for row in data["by_year"]:
        by_year.add_row(str(row["year"] or "未知"), *[str(row[s]) for s in STATE_LABELS])
    by_year.add_row("[bold]合计[/]", *[f"[bold]{data['counts'][s]}[/]" for s in STATE_LABELS])
    out.print(by_year)
    versions = Table(title="报告版本", title_justify="left", header_style="bold")
    for name in ("版本", "发布机关", "年度", "格式", "状态", "未通过的错误级规则"):
        versions.add_column(name, overflow="fold")
    for v in data["versions"]:
        rules = "、".join(v["failing_rules"]) or (
            escape(chinese.chinese(v["reason"])) if v["state"] == "rejected" else ""
        )
        if v.get("waived_rules"):
            rules = (rules + "\n" if rules else "") + f"[cyan]{WAIVED_LABEL}：{'、'.join(v['waived_rules'])}[/]"
        versions.add_row(
            v["version_id"],
            v["agency"] or "—",
            str(v["year"] or "—"),
            v["template"] or "—",
            _state(v["state"]),
            rules,
        )
    out.print(versions)
    for p in data.get("publications", []):
        when = _when(p["last_published_at"])
        out.print(f"发布目标 {escape(p['destination'])}：{p['reports']} 份报告，最近同步 {when} UTC", highlight=False)


def bench_load(
    reports: Annotated[int, typer.Option(help="Synthetic reports (the issue's target is 10,000).")] = 10_000,
    docs: Annotated[bool, typer.Option("--docs/--no-docs", help="Include the GX Data Docs update.")] = True,
    publish: Annotated[bool, typer.Option("--publish", help="Also time publishing to a SQLite file via dlt.")] = False,
) -> None:
    """Load, validate and promote N synthetic reports; print load, validation, promotion and fixed cost."""
    from flows.bench.bench import bench_load as run_bench

    run_bench(reports, data_docs=docs, echo=out.print, publish=publish)


def _when(value: Any) -> str:
    """A timestamp (datetime or ISO text) as ``2025-03-01 08:00`` UTC."""
    text = value.isoformat() if hasattr(value, "isoformat") else str(value or "")
    return text[:16].replace("T", " ")


def waive(
    version: Annotated[str, typer.Argument(help="Report version id (or a unique prefix of it; see xxgk status).")],
    rule: Annotated[str, typer.Argument(help="Rule id of the failing check, e.g. T4_BLOCK_TOTAL.")],
    reason: Annotated[str, typer.Option("--reason", "-r", help="Why the failure is acceptable (required).")],
    instance: Annotated[
        str | None, typer.Option(help="Only this instance of the rule (column/row/block); default: all of them.")
    ] = None,
    by: Annotated[str | None, typer.Option("--by", help="Who waives (default: the OS user).")] = None,
    warehouse: WarehouseOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Waive a failing check of one report version; the version is decided again (promoted if nothing else blocks)."""
    from warehouse.waivers import add_waiver

    with one_line_errors(), _writer(warehouse) as con:
        result = add_waiver(con, version, rule, reason, instance=instance, by=by)
    _report_waiver(result, as_json)


def unwaive(
    version: Annotated[str, typer.Argument(help="Report version id (or a unique prefix of it).")],
    rule: Annotated[str, typer.Argument(help="Rule id of the waiver to remove.")],
    instance: Annotated[str | None, typer.Option(help="The instance the waiver names (default: all, '*').")] = None,
    warehouse: WarehouseOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Remove a waiver; the version is decided again (taken out of pub if the check blocks it)."""
    from warehouse.waivers import remove_waiver

    with one_line_errors(), _writer(warehouse) as con:
        result = remove_waiver(con, version, rule, instance=instance)
    _report_waiver(result, as_json)


def _report_waiver(result: Any, as_json: bool) -> None:
    """What ``waive`` / ``unwaive`` did: the waiver and the version's state before and after."""
    r, d = result, result.redecision
    if as_json:
        dump_json(
            {
                "action": r.action,
                "version_id": r.version.version_id,
                "agency": r.version.agency,
                "year": r.version.year,
                "rule_id": r.rule_id,
                "instance": r.instance,
                "severity": r.severity,
                "reason": r.reason,
                "waived_by": r.waived_by,
                "waived_at": r.waived_at,
                "state_before": d.before,
                "state": d.after,
                "failing_rules": d.decision.failing_rules,
                "waived_rules": d.decision.waived_rules,
                "superseded": d.superseded,
                "superseded_by": d.superseded_by,
                "restored": d.restored,
            }
        )
        return
    verb = {"added": "已豁免", "updated": "已更新豁免", "removed": "已撤销豁免"}[r.action]
    what = r.rule_id + ("" if r.instance == "*" else f"（{r.instance}）")
    out.print(
        f"{verb} {what}：{r.version.agency or '?'} {r.version.year or '?'}（版本 {r.version.version_id}）",
        highlight=False,
    )
    if r.action != "removed":
        out.print(f"  理由：{r.reason}（{r.waived_by}，{_when(r.waived_at)} UTC）", highlight=False)
    if r.severity != "error":
        out.print("  该规则为警告级，本来就不阻止发布。", highlight=False)
    out.print(f"  状态：{_state(d.before)} → {_state(d.after)}", highlight=False)
    print_redecision(d)


def print_redecision(d: Redecision) -> None:
    """The lines after a version was decided again (waiver, confirmation): what still blocks it and
    which published versions it replaced or restored."""
    if d.decision.failing_rules:
        out.print(f"  仍未通过的错误级规则：{'、'.join(d.decision.failing_rules)}", highlight=False)
    if d.superseded:
        out.print(f"  取代了已发布的版本 {d.superseded}", highlight=False)
    if d.superseded_by:
        out.print(f"  同一机关同一年度已发布了更新的版本 {d.superseded_by}，本版本不发布", highlight=False)
    if d.restored:
        out.print(f"  重新发布了此前被取代的版本 {d.restored}", highlight=False)


def waivers(warehouse: WarehouseOpt = None, as_json: JsonOpt = False) -> None:
    """List the waivers: version, rule, why, who and when."""
    from warehouse.waivers import list_waivers

    with one_line_errors(), _reader(warehouse) as (con, cfg):
        rows = list_waivers(con)
    if as_json:
        dump_json(rows)
        return
    if not rows:
        out.print("没有豁免。")
        return
    table = Table(title=f"豁免（{len(rows)} 项）", title_justify="left", header_style="bold")
    for name in ("版本", "发布机关", "年度", "状态", "规则", "理由", "豁免人", "时间（UTC）"):
        table.add_column(name, overflow="fold")
    for r in rows:
        rule = r["rule_id"] + ("" if r["instance"] == "*" else f"（{r['instance']}）")
        if not r["checks_waived"]:
            rule += "\n[dim]（该规则现已通过）[/]"
        table.add_row(
            r["version_id"],
            r["agency"] or "—",
            str(r["year"] or "—"),
            _state(r["state"]) if r["state"] else "—",
            rule,
            r["reason"],
            r["waived_by"] or "—",
            _when(r["waived_at"]),
        )
    out.print(table)


def run_demo(paths: list[Path], console: Console, warehouse: Path | None = None) -> Any:
    """Run documents (the bundled samples) through the warehouse and print what was promoted and what
    was quarantined, and why.  Without ``warehouse`` a temporary warehouse is used and removed."""
    import tempfile

    from flows.ingest import ingest_paths
    from warehouse.config import WarehouseConfig

    console.rule("[bold]xxgk 演示：内置示例年报 → 数据仓库（解析、入库、校验、发布）")
    with tempfile.TemporaryDirectory(prefix="xxgk-demo-") as tmp, one_line_errors():
        cfg = WarehouseConfig.resolve(warehouse or Path(tmp) / "xxgk.duckdb")
        summary = ingest_paths(paths, warehouse=cfg, data_docs=warehouse is not None, publish=False)
        render_summary(summary, console)
    return summary


def render_publish(result: dict[str, Any] | None, console: Console) -> None:
    """One line on what was sent to the configured dlt destination (nothing when none is configured)."""
    if not result:
        return
    if result.get("error"):
        err.print(
            f"[red]发布失败[/]（数据仓库本身已更新，下次运行会重新发送）：{escape(result['error'])}", highlight=False
        )
        return
    tables = "、".join(result["tables_replaced"]) or "无"
    console.print(
        f"已同步到发布目标 {escape(result['destination'])}：更新 {result['slots_sent']} 份报告，撤下 "
        f"{result['slots_deleted']} 份，整表替换：{tables}（{result['seconds']:.1f} s）",
        highlight=False,
    )


def publish_cmd(
    full: Annotated[
        bool, typer.Option("--full", help="Replace every table at the destination (an exact copy again).")
    ] = False,
    warehouse: WarehouseOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Send the published reports, their checks, version states and missing reports to the dlt destination
    configured for the pipeline ``xxgk_publish`` (only what changed since the last publish)."""
    from flows.ingest import publish_configured
    from warehouse.db import missing_message
    from warehouse.publish import PIPELINE_NAME

    cfg = _config(warehouse)
    if not cfg.db_path.exists():
        raise fail(missing_message(cfg.db_path))
    with one_line_errors():
        result = publish_configured(cfg, full=full)
    if result is None:
        raise fail(
            "no publish destination configured: set destination_type under "
            f"[pipelines.{PIPELINE_NAME}] in .dlt/config.toml (or "
            f"PIPELINES__{PIPELINE_NAME.upper()}__DESTINATION_TYPE) and its credentials in .dlt/secrets.toml; "
            "until then the DuckDB file is the warehouse"
        )
    if as_json:
        dump_json(result)
    else:
        render_publish(result, out)
    if result.get("error"):
        if as_json:
            error(result["error"])
        raise typer.Exit(code=1)


def register(app: typer.Typer, bench: typer.Typer | None = None) -> None:
    """Attach ``ingest``, ``checks``, ``status``, ``waive``, ``unwaive``, ``waivers``, ``publish`` (and ``bench load``
    if a ``bench`` group exists)."""
    commands: list[tuple[str, Callable[..., None]]] = [
        ("ingest", ingest),
        ("checks", checks),
        ("status", status),
        ("waive", waive),
        ("unwaive", unwaive),
        ("waivers", waivers),
        ("publish", publish_cmd),
    ]
    from flows.cli.confirm import confirm, confirmations

    commands += [("confirm", confirm), ("confirmations", confirmations)]
    for name, fn in commands:
        app.command(name)(fn)
    if bench is not None:
        bench.command("load")(bench_load)
