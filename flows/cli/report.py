"""``xxgk report``: the data-quality report for the oversight office, written to a folder or e-mailed.

::

    xxgk report --year 2023 --out DIR                 # report-<office>-2023.html + .xlsx per office
    xxgk report --year 2023 --email [--oversight ID] [--to ADDRESS ...]
    xxgk report --resend                              # retry the messages waiting in the outbox
    xxgk report --year 2023                           # the summary counts only

The registry (``--registry``, else ``XXGK_SOURCES``, else ``agencies.toml``, as in the flows) names the offices,
their agencies and recipients; without it one report covers every agency of the warehouse.
:func:`register` attaches the command to the typer app of ``flows/cli/app.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flows.cli.console import dump_json, error, fail, out

REGISTRY_HELP = "Agency registry TOML (default: XXGK_SOURCES, else agencies.toml when present)."


def _summary_line(report) -> str:  # noqa: ANN001 - flows.report.data.Report (imported lazily)
    s = report.summary
    return (
        f"{report.office.name} {report.year} 年度：应报送 {s.expected}，已找到 {s.found}，已发布 {s.promoted}，"
        f"已隔离 {s.quarantined}，缺失 {s.missing}，逾期 {s.late}，修订 {s.revised}"
    )


def report(
    year: Annotated[int | None, typer.Option("--year", "-y", help="Report year (报告年度).")] = None,
    oversight: Annotated[str | None, typer.Option("--oversight", help="Only this oversight office (id).")] = None,
    to: Annotated[list[str] | None, typer.Option("--to", help="Send to this address instead (repeatable).")] = None,
    email: Annotated[bool, typer.Option("--email", help="E-mail the report (SMTP, else the outbox).")] = False,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Write HTML + XLSX into this folder.")] = None,
    resend: Annotated[bool, typer.Option("--resend", help="Retry the messages waiting in the outbox.")] = False,
    registry: Annotated[Path | None, typer.Option("--registry", help=REGISTRY_HELP)] = None,
    warehouse: Annotated[Path | None, typer.Option("--warehouse", "-w", help="DuckDB warehouse file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON on stdout.")] = False,
) -> None:
    """Data-quality report (数据质量报告) for the oversight office: --out DIR, --email, or --resend."""
    from flows.cli.warehouse import unseen_year
    from flows.report import service
    from flows.report.mail import AddressError
    from flows.report.settings import SettingsError, load_settings
    from sources.registry import RegistryError
    from warehouse.config import WarehouseConfig
    from warehouse.db import WarehouseError, missing_message

    if year is None and not resend:
        raise fail("--year is required (or --resend to retry the outbox)")
    cfg = WarehouseConfig.resolve(warehouse)
    if year is not None and not cfg.db_path.exists():  # a mistyped path is no report of "all missing"
        raise fail(missing_message(cfg.db_path))
    result: dict[str, object] = {}
    try:
        settings = load_settings(cfg)
        if resend:
            deliveries = service.resend_pending(settings)
            result["resent"] = [d.__dict__ for d in deliveries]
            _say([d.line() for d in deliveries] or [_nothing_to_resend(settings)], as_json)
        if year is None:
            return dump_json(result) if as_json else None
        reg = service.load_registry_file(service.registry_path(registry))
        if not service.year_seen(cfg, year):
            raise fail(f"未生成报告：{unseen_year(cfg.db_path, year)}", code=1)
        reports = service.build_reports(year, cfg, reg, oversight, settings.outbox_dir)
        result["reports"] = [_summary_line(r) for r in reports]
        if out_dir is not None:
            written = [service.write_folder(r, out_dir) for r in reports]
            result["written"] = [{k: str(v) for k, v in w.items()} for w in written]
            _say(
                [
                    f"{_summary_line(r)}\n  → {w['html']}\n  → {w['xlsx']}"
                    for r, w in zip(reports, written, strict=True)
                ],
                as_json,
            )
        if email:
            deliveries = [service.email_report(r, settings, to) for r in reports]
            result["deliveries"] = [d.__dict__ for d in deliveries]
            _say([settings.describe(), *(d.line() for d in deliveries)], as_json)
        if out_dir is None and not email:
            _say([*map(_summary_line, reports), "（--out DIR 写出 HTML 与 Excel；--email 发送邮件）"], as_json)
    except RegistryError as exc:
        for problem in exc.problems:
            error(problem)
        raise typer.Exit(code=2) from None
    except (WarehouseError, SettingsError, AddressError, KeyError, service.ReportInputError) as exc:
        raise fail(str(exc).strip("'\"")) from None
    if as_json:
        dump_json(result)


def _nothing_to_resend(settings) -> str:  # noqa: ANN001 - SmtpSettings
    from flows.report.mail import pending

    waiting = pending(settings.outbox_dir)
    if waiting and not settings.configured:
        return f"发件箱中有 {len(waiting)} 封邮件，但未配置 SMTP 服务器（{settings.outbox_dir / 'pending'}）"
    return "发件箱中没有待发送的邮件"


def _say(lines: list[str], as_json: bool) -> None:
    if as_json:
        return
    for line in lines:
        out.print(line, highlight=False, soft_wrap=True, markup=False)


def register(app: typer.Typer) -> None:
    """Attach ``xxgk report`` to ``app``."""
    app.command("report")(report)
