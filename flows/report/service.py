"""Building, writing and e-mailing the data-quality reports: what the CLI and the Prefect flows call.

* :func:`build_reports` — one :class:`~flows.report.data.Report` per oversight office (or one for
  all agencies without a registry), each compared with the snapshot of its previous report;
* :func:`write_folder` — ``report-<office>-<year>.html`` (charts embedded as data URIs) and
  ``.xlsx`` in a folder;
* :func:`email_report` — the MIME message sent by SMTP or kept in the outbox; the snapshot for the
  next "changed since" is saved once the report is sent or queued;
* :func:`send_after_run` — the end of every annual / quarterly flow run: retry the outbox, then
  build and e-mail the report of every office; never raises, returns an :class:`AfterRunSummary`.

Snapshots live in ``<outbox>/snapshots/<office>/<year>.json`` (``warehouse/outbox`` by default).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from flows.report.data import ExpectedAgency, Office, Report, build_report, expected_from_registry
from flows.report.mail import Content, Delivery, build_message, content_id, deliver, resend_pending, safe_filename
from flows.report.settings import SmtpSettings, load_settings
from warehouse.config import WarehouseConfig, default_registry, registry_configured

log = logging.getLogger(__name__)


class ReportInputError(ValueError):
    """A report that cannot be made from what was given (one line saying what to give instead)."""


# ------------------------------------------------------------------------------------------ inputs


def registry_path(explicit: str | Path | None = None) -> Path | None:
    """The registry file, as the flows find it: the argument, ``[xxgk] sources`` (``XXGK__SOURCES``,
    ``XXGK_SOURCES``), or ``<project>/agencies.toml`` when it exists; None otherwise (the report then covers
    the agencies in the warehouse)."""
    if explicit:
        return Path(explicit).expanduser().absolute()
    path = default_registry()
    return path if registry_configured() or path.is_file() else None


def load_registry_file(path: str | Path | None) -> Any:
    """The :class:`sources.registry.Registry` at ``path`` (None when no path)."""
    if path is None:
        return None
    from sources.registry import load_registry

    return load_registry(path)


def offices(registry: Any, oversight: str | None = None) -> list[tuple[Office, list[ExpectedAgency] | None]]:
    """(office, expected agencies) to report on: the one asked for, every office of the registry,
    or — without a registry — one office "全部机关" whose agencies come from the warehouse."""
    if registry is None:
        if oversight is not None:
            raise ReportInputError(
                f"--oversight {oversight} 需要登记了该监督机关的机关名录：用 --registry FILE 或环境变量 XXGK_SOURCES "
                "指定（不加 --oversight 时报告覆盖数据仓库中的全部机关）"
            )
        return [(Office("all", "全部机关"), None)]
    if oversight is not None:
        if registry.office(oversight) is None and not registry.agencies_of(oversight):
            known = "、".join(
                dict.fromkeys([o.id for o in registry.oversight] + [a.oversight for a in registry.agencies])
            )
            raise ReportInputError(
                f"机关名录 {registry.path} 中没有监督机关 {oversight}（[[oversight]] id 或机关的 oversight）："
                f"可用的有 {known or '（无）'}；或用 --registry FILE 指定登记了它的名录"
            )
        return [expected_from_registry(registry, oversight)]
    ids = [o.id for o in registry.oversight]
    ids += sorted({a.oversight for a in registry.agencies} - set(ids))
    return [expected_from_registry(registry, i) for i in ids if registry.agencies_of(i)]


def year_seen(cfg: WarehouseConfig, year: int) -> bool:
    """Whether the warehouse has recorded anything for ``year`` (a report version or an acquisition)."""
    from warehouse.queries import years_seen

    with reader(cfg) as con:
        return year in years_seen(con)


@contextmanager
def reader(cfg: WarehouseConfig) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the warehouse, or an empty in-memory database when there is none yet
    (every expected agency is then missing)."""
    from warehouse.db import connect

    if not cfg.db_path.exists():
        con = duckdb.connect()
    else:
        try:
            con = connect(cfg.db_path, read_only=True)
        except duckdb.ConnectionException:  # this process still holds a read-write connection to it
            con = connect(cfg.db_path)
    try:
        yield con
    finally:
        con.close()


# ------------------------------------------------------------------------------------------ snapshots


def snapshot_path(outbox: Path, office_id: str, year: int) -> Path:
    """Where the snapshot of the last report of ``office_id`` for ``year`` is kept."""
    return outbox / "snapshots" / safe_filename(office_id, 60) / f"{int(year)}.json"


def load_snapshot(outbox: Path, office_id: str, year: int) -> dict[str, Any] | None:
    """The snapshot of the previous report (None if there was none or it is unreadable)."""
    path = snapshot_path(outbox, office_id, year)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def save_snapshot(outbox: Path, report: Report) -> Path:
    """Keep ``report``'s snapshot for the next report's "changed since"."""
    path = snapshot_path(outbox, report.office.id, report.year)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.snapshot(), ensure_ascii=False, indent=1), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------ building


def build_reports(
    year: int,
    cfg: WarehouseConfig,
    registry: Any = None,
    oversight: str | None = None,
    outbox: Path | None = None,
) -> list[Report]:
    """One report per office (see :func:`offices`), each compared with its last snapshot in ``outbox``."""
    outbox = outbox or load_settings(cfg).outbox_dir
    out = []
    with reader(cfg) as con:
        for office, expected in offices(registry, oversight):
            previous = load_snapshot(outbox, office.id, year)
            out.append(build_report(con, year, office, expected, previous, warehouse=str(cfg.db_path)))
    return out


def subject_of(report: Report) -> str:
    """The e-mail subject: office, year and the counts that call for action."""
    s = report.summary
    return (
        f"【政务公开数据质量】{report.office.name} {report.year}年度年报：应报送{s.expected}，"
        f"已发布{s.promoted}，未通过校验{s.quarantined}，缺失{s.missing}，逾期{s.late}"
    )


def attachment_name(report: Report) -> str:
    """The workbook's file name (Chinese, file-system safe)."""
    return safe_filename(f"{report.year}年度政府信息公开年报数据质量-{report.office.name}.xlsx")


def email_content(report: Report) -> Content:
    """Subject, plain text, HTML with ``cid:`` images, the images and the workbook of ``report``."""
    from flows.report.charts import render_charts
    from flows.report.excel import workbook_bytes
    from flows.report.html import crop_images, render_html, render_text

    charts = render_charts(report) | crop_images(report)
    cids = {name: content_id(name) for name in charts}
    html = render_html(report, {name: f"cid:{cid}" for name, cid in cids.items()})
    return Content(
        subject=subject_of(report),
        text=render_text(report),
        html=html,
        images={cids[name]: png for name, png in charts.items()},
        attachment=workbook_bytes(report),
        attachment_name=attachment_name(report),
    )


def write_folder(report: Report, out_dir: str | Path) -> dict[str, Path]:
    """Write ``report-<office>-<year>.html`` (self-contained: charts and the Chinese font embedded) and
    ``.xlsx`` into ``out_dir``."""
    from flows.report.charts import render_charts
    from flows.report.excel import workbook_bytes
    from flows.report.html import crop_images, data_uris, render_html

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"report-{safe_filename(report.office.id, 60)}-{report.year}"
    html = out / f"{stem}.html"
    images = data_uris(render_charts(report) | crop_images(report))
    html.write_text(render_html(report, images, embed_font=True), encoding="utf-8")
    xlsx = out / f"{stem}.xlsx"
    xlsx.write_bytes(workbook_bytes(report))
    return {"html": html, "xlsx": xlsx}


def email_report(report: Report, settings: SmtpSettings, to: Sequence[str] | None = None) -> Delivery:
    """E-mail ``report`` to ``to`` (default: the office's recipients): sent, or kept in the outbox.

    The report's snapshot becomes the baseline of the next report once the message is sent or queued.
    Raises :class:`~flows.report.mail.AddressError` for an unusable address.
    """
    recipients = list(to) if to else list(report.office.recipients)
    msg = build_message(email_content(report), settings.sender, recipients, "" if to else report.office.name)
    delivery = deliver(msg, settings, tag=f"{report.office.id}-{report.year}")
    if delivery.status in ("sent", "queued"):
        save_snapshot(settings.outbox_dir, report)
    delivery.extra = {"office": report.office.id, "year": str(report.year)}
    return delivery


# ------------------------------------------------------------------------------------------ after a run


@dataclass
class AfterRunSummary:
    """What :func:`send_after_run` did: outbox retries, one delivery per office, errors (never raised)."""

    year: int
    resent: list[Delivery] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    smtp: str = ""

    @property
    def sent(self) -> int:
        return sum(d.status == "sent" for d in (*self.resent, *self.deliveries))

    @property
    def queued(self) -> int:
        return sum(d.status == "queued" for d in self.deliveries) + sum(d.status == "queued" for d in self.resent)

    def lines(self) -> list[str]:
        """Chinese lines for the run summary (the outbox path when something could not be sent)."""
        out = [f"数据质量报告（{self.year} 年度，{self.smtp}）："]
        out += [f"  发件箱重试 {d.line()}" for d in self.resent]
        out += [f"  {d.line()}" for d in self.deliveries]
        out += [f"  出错：{e}" for e in self.errors]
        return out

    def to_json(self) -> dict[str, Any]:
        from dataclasses import asdict

        return {
            "year": self.year,
            "smtp": self.smtp,
            "sent": self.sent,
            "queued": self.queued,
            "resent": [asdict(d) for d in self.resent],
            "deliveries": [asdict(d) for d in self.deliveries],
            "errors": list(self.errors),
        }


def send_after_run(
    year: int,
    registry: Any,
    warehouse_cfg: WarehouseConfig | str | Path | None = None,
    *,
    settings: SmtpSettings | None = None,
    oversight: str | None = None,
) -> AfterRunSummary:
    """Called by the annual and quarterly flows at the end of a run; never raises.

    Retries the messages waiting in the outbox, then builds the report of ``year`` for every
    oversight office of ``registry`` (a :class:`sources.registry.Registry`, a path to one, or None:
    one report on every agency of the warehouse) and e-mails it (or keeps it in the outbox).
    """
    summary = AfterRunSummary(year)
    try:
        cfg = warehouse_cfg if isinstance(warehouse_cfg, WarehouseConfig) else WarehouseConfig.resolve(warehouse_cfg)
        settings = settings or load_settings(cfg)
        summary.smtp = settings.describe()
        if isinstance(registry, str | Path):
            registry = load_registry_file(registry)
        summary.resent = resend_pending(settings)
        reports = build_reports(year, cfg, registry, oversight, settings.outbox_dir)
    except Exception as exc:  # the run must not fail because of its report
        log.exception("data-quality report not built")
        summary.errors.append(f"报告未生成：{type(exc).__name__}: {exc}")
        return summary
    for report in reports:
        try:
            summary.deliveries.append(email_report(report, settings))
        except Exception as exc:
            log.exception("data-quality report of %s not delivered", report.office.id)
            summary.errors.append(f"{report.office.name}：{type(exc).__name__}: {exc}")
    return summary
