"""Warehouse commands of the ``xxgk`` CLI: ``ingest``, ``checks``, ``status`` (and ``bench load``).

:func:`register` attaches them to the lead's typer app (``flows/cli.py``).  Human output uses the
Chinese labels of the templates in rich tables; ``--json`` prints machine-readable JSON on stdout.
Every warehouse problem (file locked by another process, no warehouse yet, load failure) ends in
one line on stderr and exit status 2.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from flows.console import err, out
from flows.ingest import STATE_LABELS

WarehouseOpt = Annotated[
    Path | None,
    typer.Option(
        "--warehouse",
        "-w",
        help="DuckDB file (default: XXGK__WAREHOUSE_PATH, .dlt/config.toml, warehouse/xxgk.duckdb).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")]
SEVERITY_LABELS = {"error": "错误", "warning": "警告", "info": "提示"}
OUTCOME_LABELS = {"fail": "不通过", "not_assessable": "无法核对", "pass": "通过"}
STATE_STYLE = {"promoted": "green", "quarantined": "red", "rejected": "yellow", "superseded": "dim"}


def _state(state: str) -> str:
    return f"[{STATE_STYLE.get(state, 'white')}]{STATE_LABELS.get(state, state)}[/]"


def _dump(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")
    sys.stdout.flush()


@contextmanager
def _one_line_errors() -> Iterator[None]:
    from warehouse.db import WarehouseError

    try:
        yield
    except WarehouseError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(code=2) from None


def _config(warehouse: Path | None):
    from warehouse.config import WarehouseConfig

    return WarehouseConfig.resolve(warehouse)


@contextmanager
def _reader(warehouse: Path | None) -> Iterator[Any]:
    """A read-only connection, or None when there is no warehouse file yet."""
    from warehouse.db import connect

    cfg = _config(warehouse)
    if not cfg.db_path.exists():
        yield None, cfg
        return
    con = connect(cfg.db_path, read_only=True)
    try:
        yield con, cfg
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
) -> None:
    """Parse, load, validate and promote report documents; print what was promoted or quarantined and why."""
    missing = [str(p) for p in paths if not p.exists()]
    if missing:
        err.print(f"[red]error:[/] no such file or folder: {', '.join(missing)}", highlight=False)
        raise typer.Exit(code=2)
    from flows.ingest import ingest_paths

    with _one_line_errors():
        summary = ingest_paths(paths, agency, year, warehouse=_config(warehouse), force=force, data_docs=docs)
    if as_json:
        _dump(summary.to_json())
        return
    render_summary(summary, out)


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
            "、".join(d.failing_rules) or (d.reason if d.state == "rejected" else ""),
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
    if summary.disagreements:
        console.print(
            f"[red]GX、SQL 与 Python 对 {len(summary.disagreements)} 项检查结论不一致（按最严重的结论处理）[/]"
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
    from warehouse.queries import failing_checks

    with _one_line_errors(), _reader(warehouse) as (con, cfg):
        rows = (
            []
            if con is None
            else failing_checks(
                con, agency=agency, year=year, rule=rule, severity=severity, include_superseded=all_versions
            )
        )
    if as_json:
        _dump(rows)
        return
    if not rows:
        out.print("没有未通过的检查。" if con is not None else f"仓库 {cfg.db_path} 尚未创建：先运行 xxgk ingest。")
        return
    table = Table(title=f"未通过的检查（{len(rows)} 项）", title_justify="left", header_style="bold")
    for name in ("发布机关", "年度", "状态", "规则", "级别", "结论", "说明"):
        table.add_column(name, overflow="fold")
    for r in rows:
        sev = SEVERITY_LABELS.get(r["severity"], r["severity"])
        table.add_row(
            r["agency"] or "—",
            str(r["year"] or "—"),
            _state(r["state"]),
            r["rule_id"],
            f"[red]{sev}[/]" if r["blocking"] else sev,
            OUTCOME_LABELS.get(r["outcome"], r["outcome"]),
            r["message"],
        )
    out.print(table)


def status(warehouse: WarehouseOpt = None, as_json: JsonOpt = False) -> None:
    """Counts of report versions by year and state, and the state of every version."""
    from warehouse.queries import status as query_status

    with _one_line_errors(), _reader(warehouse) as (con, cfg):
        data = query_status(con) if con is not None else {"counts": {}, "by_year": [], "versions": []}
    data = {"warehouse": str(cfg.db_path), **data}
    for state in STATE_LABELS:
        data["counts"].setdefault(state, 0)
    if as_json:
        _dump(data)
        return
    if not data["versions"]:
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
        versions.add_row(
            v["version_id"],
            v["agency"] or "—",
            str(v["year"] or "—"),
            v["template"] or "—",
            _state(v["state"]),
            "、".join(v["failing_rules"]) or ((v["reason"] or "") if v["state"] == "rejected" else ""),
        )
    out.print(versions)


def bench_load(
    reports: Annotated[int, typer.Option(help="Synthetic reports per run.")] = 100,
    docs: Annotated[bool, typer.Option("--docs/--no-docs", help="Include the GX Data Docs update.")] = True,
) -> None:
    """Time load + validate + promote of N synthetic reports (cold run, idempotent re-run, revisions)."""
    from flows.bench import bench_load as run_bench

    run_bench(reports, data_docs=docs, echo=out.print)


def run_demo(paths: list[Path], console: Console, warehouse: Path | None = None) -> Any:
    """Run documents (the bundled samples) through the warehouse and print what was promoted and what
    was quarantined, and why.  Without ``warehouse`` a temporary warehouse is used and removed."""
    import tempfile

    from flows.ingest import ingest_paths
    from warehouse.config import WarehouseConfig

    console.rule("[bold]xxgk 演示：内置示例年报 → 数据仓库（解析、入库、校验、发布）")
    with tempfile.TemporaryDirectory(prefix="xxgk-demo-") as tmp, _one_line_errors():
        cfg = WarehouseConfig.resolve(warehouse or Path(tmp) / "xxgk.duckdb")
        summary = ingest_paths(paths, warehouse=cfg, data_docs=warehouse is not None)
        render_summary(summary, console)
    return summary


def _find_group(app: typer.Typer, name: str) -> typer.Typer | None:
    for group in app.registered_groups:
        if group.name == name and group.typer_instance is not None:
            return group.typer_instance
    return None


def register(app: typer.Typer) -> None:
    """Attach ``ingest``, ``checks`` and ``status`` (and ``bench load`` if a ``bench`` group exists)."""
    commands: list[tuple[str, Callable[..., None]]] = [("ingest", ingest), ("checks", checks), ("status", status)]
    for name, fn in commands:
        app.command(name)(fn)
    bench = _find_group(app, "bench")
    if bench is not None:
        bench.command("load")(bench_load)
