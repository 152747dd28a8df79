"""Pipeline commands of the ``xxgk`` CLI: ``run``, ``backfill``, ``serve`` and ``demo``.

:func:`register` attaches them to the typer app of ``flows/cli/app.py``.  Each command starts the local
Prefect API server first (when no ``PREFECT_API_URL`` is set), imports the pipeline while it starts,
runs the flow with heartbeats off, shows rich progress bars on stderr (agencies done, documents
fetched, parsed, promoted) and ends with a summary in Chinese — or, with ``--json``, a
machine-readable summary on stdout.  Registry and warehouse problems end in one line on stderr and
exit status 2.
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from flows.cli.clock import since_start
from flows.cli.console import dump_json, err, one_line_errors, out
from flows.cli.warehouse import render_publish
from flows.ingest import STATE_LABELS
from flows.options import RunOptions
from sources import chinese

# qa.acquisitions statuses (warehouse/acquisitions.py STATUSES)
STATUS_LABELS = chinese.ACQUISITION_STATUS
# The counts of a year run (flows.outcome.counts), in the order shown.
COUNT_LABELS = {
    "agencies_attempted": "机构",
    "documents_fetched": STATUS_LABELS["fetched"],
    "not_modified": STATUS_LABELS["not_modified"],
    "parsed": "已解析",
    "promoted": STATE_LABELS["promoted"],
    "quarantined": STATE_LABELS["quarantined"],
    "rejected": "已拒绝（非年报）",
    "unchanged": "仓库中已有",
    **{status: STATUS_LABELS[status] for status in ("missing", "not_due", "failed", "refused")},
    "wrong_year": "其中年度不符",
}
STEP_LABELS = chinese.STEP
PROGRESS_LABELS = {"agencies": "机构", "fetched": "已下载", "parsed": "已解析", "promoted": "已发布"}
# Registry and warehouse problems, an unknown agency id or runner (ValueError) and a missing registry file
# (FileNotFoundError) end a command in one line (per problem) on stderr, exit status 2.
run_errors = functools.partial(one_line_errors, ValueError, FileNotFoundError)

YearOpt = Annotated[int | None, typer.Option("--year", help="Report year (default: last year, China time).")]
AgenciesOpt = Annotated[
    list[str] | None,
    typer.Option("--agencies", "--agency", help="Agency ids from the registry (comma-separated or repeated)."),
]
SourcesOpt = Annotated[
    Path | None, typer.Option("--sources", help="Agency registry TOML (default: XXGK_SOURCES, else agencies.toml).")
]
WarehouseOpt = Annotated[Path | None, typer.Option("--warehouse", "-w", help="DuckDB file (default: project's).")]
RunnerOpt = Annotated[
    str, typer.Option("--runner", help="Parse tasks: local (process pool) | dask | dask://host:port.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable summary on stdout.")]
DocsOpt = Annotated[bool, typer.Option("--docs/--no-docs", help="Update the GX Data Docs site.")]
IntervalOpt = Annotated[float, typer.Option("--min-interval", help="Seconds between two requests to one host.")]
AsOfOpt = Annotated[
    datetime | None,
    typer.Option("--as-of", formats=["%Y-%m-%d"], help="Treat this date as today (missing vs not yet due)."),
]


# ============================================================================ plumbing


class RichSink:
    """Progress bars on stderr: agencies done, documents fetched, parsed, promoted."""

    def __init__(self, console: Console):
        self.progress = Progress(
            TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
        )
        self.ids = {k: self.progress.add_task(label, total=None) for k, label in PROGRESS_LABELS.items()}

    def advance(self, what: str, n: int = 1) -> None:
        self.progress.advance(self.ids[what], n)

    def set_total(self, what: str, total: int) -> None:
        self.progress.update(self.ids[what], total=total)

    def begin(self, label: str) -> None:
        for what, task_id in self.ids.items():
            self.progress.reset(task_id, total=None, description=f"{label} {PROGRESS_LABELS[what]}")


@contextmanager
def flow_session(
    show_progress: bool = True, api_out: list[Any] | None = None, check: Callable[[], None] | None = None
) -> Iterator[dict[str, float]]:
    """Start the API server, import the pipeline meanwhile, and run flows with heartbeats off.

    Yields the start-up timings (seconds): ``before_command`` (interpreter + CLI imports),
    ``imports`` (the pipeline), ``api_wait`` (left to wait for the server), ``api_start``, ``ready``
    (process age when flows can start).  ``api_out`` receives the server handle (to stop it early);
    ``check`` runs after the imports, while the server is still starting (configuration errors).
    """
    from flows import settings
    from flows.cli import signals

    startup = {"before_command": round(since_start(), 3)}
    settings.quiet_console()
    api = settings.start_api()
    signals.on_exit(api.stop)
    if api.local:  # the server's URL, before prefect is imported: see api_in_environment
        os.environ["PREFECT_API_URL"] = api.candidate_url
    if api_out is not None:
        api_out.append(api)
    t = time.perf_counter()
    from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings

    import flows.pipeline  # noqa: F401 - prefect, the registry, the fetcher: while the server starts
    from flows.cli import progress

    # what Prefect imports at the first flow call to record its parameters (~0.5 s): meanwhile too
    importlib.import_module("fastapi.encoders")

    startup["imports"] = round(time.perf_counter() - t, 3)
    if check is not None:
        check()
    t = time.perf_counter()
    url = api.wait()
    startup["api_wait"] = round(time.perf_counter() - t, 3)
    startup["api_start"] = round(api.seconds, 3)
    startup["ready"] = round(since_start(), 3)
    sink = RichSink(err) if show_progress else None
    with (
        api_in_environment(url),
        temporary_settings(updates={PREFECT_API_URL: url, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        if sink is None:
            yield startup
            return
        with sink.progress, progress.use(sink):
            yield startup


@contextmanager
def api_in_environment(url: str) -> Iterator[None]:
    """``PREFECT_API_URL`` in the environment from here on: Prefect's own threads (the process-pool
    runner's message forwarder, the events worker flushing at exit) do not see ``temporary_settings``
    and read the environment.  Left set: the server lives until this process exits.

    A local server's URL is also put in the environment before prefect is imported
    (:func:`flow_session`): the settings Prefect's threads fall back on are read at its import, and the
    forwarder, asked for an events worker after the exit handlers had drained the last one, started a
    temporary server of its own that outlived the run (seen in the stopping tests, holding their pipes)."""
    os.environ["PREFECT_API_URL"] = url
    yield


def split_ids(values: Sequence[str] | None) -> list[str] | None:
    """Agency ids from repeated and/or comma-separated options."""
    ids = [v.strip() for value in values or [] for v in value.split(",") if v.strip()]
    return ids or None


def machine_summary(year_summary: dict[str, Any], startup: dict[str, float] | None = None) -> dict[str, Any]:
    """The ``--json`` object of one year: the counts at top level, then agencies, timings, start-up."""
    return {
        "run_id": year_summary["run_id"],
        "year": year_summary["year"],
        **year_summary["counts"],
        "warehouse": year_summary["warehouse"],
        "agencies": year_summary["agencies"],
        "timings": year_summary["timings"],
        "tasks": year_summary["tasks"],
        "publish": year_summary.get("publish"),
        **({"startup": startup} if startup else {}),
    }


# ============================================================================ human summary


def _counts_table(counts: dict[str, int]) -> Table:
    table = Table(show_header=False, box=None, padding=(0, 2))
    for key, label in COUNT_LABELS.items():
        if counts.get(key) or key in ("agencies_attempted", "promoted", "quarantined", "missing", "failed"):
            table.add_row(label, str(counts.get(key, 0)))
    return table


def _agency(a: dict[str, Any]) -> str:
    return f"{a['agency_name']}\n[dim]{a['agency_id']}[/]"


def render_year(summary: dict[str, Any], console: Console) -> None:
    """Print one year's outcome: counts, then published, quarantined (rules and messages), missing, failed."""
    agencies = summary["agencies"]
    console.rule(f"[bold]{summary['year']} 年度报告：采集与入库结果")
    console.print(_counts_table(summary["counts"]))
    done = ("promoted", "rejected", "superseded")
    found = [a for a in agencies if a["doc_state"] in done and a["status"] != "failed"]
    if found:
        t = Table(title="已发布 / 已处理的报告", title_justify="left", show_lines=False)
        for col in ("机构", "状态", "格式", "版本", "采集"):
            t.add_column(col)
        for a in found:
            t.add_row(
                _agency(a),
                STATE_LABELS.get(a["doc_state"], a["doc_state"]),
                a["format"] or "",
                a["version_id"] or "",
                STATUS_LABELS.get(a["status"], a["status"]),
            )
        console.print(t)
    quarantined = [a for a in agencies if a["doc_state"] == "quarantined" and a["status"] != "failed"]
    if quarantined:
        t = Table(title="已隔离（未通过校验，不发布）", title_justify="left", show_lines=True)
        for col in ("机构", "未通过的规则", "说明"):
            t.add_column(col)
        for a in quarantined:
            t.add_row(_agency(a), "\n".join(a["failing_rules"]), "\n".join(a["messages"]))
        console.print(t)
    _render_missing(agencies, console)
    render_publish(summary.get("publish"), console)
    failed = [a for a in agencies if a["status"] == "failed"]
    if failed:
        t = Table(title="失败（下次运行重试）", title_justify="left", show_lines=True)
        for col in ("机构", "步骤", "原因"):
            t.add_column(col)
        for a in failed:
            t.add_row(
                _agency(a), STEP_LABELS.get(a["step"] or "", a["step"] or ""), escape(chinese.chinese(a["reason"]))
            )
        console.print(t)


def _render_missing(agencies: list[dict[str, Any]], console: Console) -> None:
    gone = [a for a in agencies if a["status"] in ("missing", "not_due", "refused", "wrong_year")]
    if not gone:
        return
    t = Table(title="缺失的年报（将通知监督机构）", title_justify="left", show_lines=True)
    for col in ("机构", "状态", "截止日期", "监督机构", "已尝试"):
        t.add_column(col)
    for a in gone:
        tried = "\n".join(chinese.tried_text(x) for x in a["tried"]) or chinese.chinese(a["reason"])
        if a["status"] == "wrong_year":  # the document found: what it prints, then where it was
            tried = f"{chinese.chinese(a['reason'])}\n{tried}"
        t.add_row(
            _agency(a),
            STATUS_LABELS.get(a["status"], a["status"]),
            a["deadline"],
            a["oversight_name"] or a["oversight"],
            escape(tried),
        )
    console.print(t)


def render_startup(startup: dict[str, float], summary: dict[str, Any], console: Console) -> None:
    """One dim line: where the fixed start-up went, and the run time."""
    console.print(
        f"[dim]启动：解释器与命令 {startup.get('before_command', 0):.1f} s，"
        f"导入流程 {startup.get('imports', 0):.1f} s，"
        f"Prefect 服务启动 {startup.get('api_start', 0):.1f} s（导入后再等 {startup.get('api_wait', 0):.1f} s），"
        f"进程启动 {startup.get('ready', 0):.1f} s 后就绪，流程运行登记 {startup.get('flow_start', 0):.2f} s，"
        f"{startup.get('first_fetch', 0):.1f} s 时开始第一次下载；"
        f"运行 {summary['timings'].get('total', 0):.1f} s[/]",
        highlight=False,
    )


def _flow_start(startup: dict[str, float], called_at: float, summary: dict[str, Any]) -> None:
    """Add ``flow_start`` (the flow run's registration) and ``first_fetch`` (the process's age when the
    first fetch began: the start-up a user waits through) to ``startup``."""
    tasks = summary["tasks"]
    startup["flow_start"] = round(tasks["flow_started_at"] - called_at, 3)
    if tasks.get("first_fetch_at"):
        startup["first_fetch"] = round(startup["ready"] + tasks["first_fetch_at"] - called_at, 3)


# ============================================================================ commands


def _run_params(
    sources: Path | None, warehouse: Path | None, runner: str, docs: bool, min_interval: float, as_of: datetime | None
) -> dict[str, Any]:
    return {
        "sources": str(sources) if sources else None,
        "warehouse": str(warehouse) if warehouse else None,
        "runner": runner,
        "data_docs": docs,
        "min_interval": min_interval,
        "today": as_of.date() if as_of else None,
    }


def preflight(sources: Path | None, agencies: Sequence[str] | None, warehouse: Path | None) -> Callable[[], None]:
    """A check of the registry, the agency ids and the warehouse lock, before any flow runs.  Takes the
    warehouse's run lock for the rest of the command (:mod:`warehouse.runlock`): a second run on the
    same warehouse is refused here, before anything is fetched."""

    def check() -> None:
        from flows.options import make_options
        from flows.year import read_registry, select_agencies
        from warehouse import runlock
        from warehouse.db import check_not_locked

        opts = make_options(2000, sources=sources, warehouse=warehouse)
        if not opts.sources.is_file():
            raise FileNotFoundError(f"no agency registry at {opts.sources}: give --sources FILE or set XXGK_SOURCES")
        select_agencies(read_registry(opts.sources), agencies)
        runlock.acquire(opts.warehouse.db_path)
        check_not_locked(opts.warehouse)

    return check


def lock_check(warehouse: Path | None) -> Callable[[], None]:
    """Take the run lock of ``warehouse`` (default: the project's) for the rest of the command."""

    def check() -> None:
        from warehouse import runlock
        from warehouse.config import WarehouseConfig
        from warehouse.db import check_not_locked

        cfg = WarehouseConfig.resolve(warehouse)
        runlock.acquire(cfg.db_path)
        check_not_locked(cfg)

    return check


def run(
    year: YearOpt = None,
    agencies: AgenciesOpt = None,
    sources: SourcesOpt = None,
    warehouse: WarehouseOpt = None,
    runner: RunnerOpt = RunOptions.runner,
    as_json: JsonOpt = False,
    docs: DocsOpt = RunOptions.data_docs,
    min_interval: IntervalOpt = RunOptions.min_interval,
    as_of: AsOfOpt = None,
) -> None:
    """Collect one report year: discover → fetch → parse → load → validate → promote, for every agency."""
    with run_errors(), flow_session(check=preflight(sources, split_ids(agencies), warehouse)) as startup:
        from flows.pipeline import ingest_year, last_report_year

        called_at = time.time()
        summary = ingest_year(
            year or last_report_year(),
            agencies=split_ids(agencies),
            **_run_params(sources, warehouse, runner, docs, min_interval, as_of),
        )
    _flow_start(startup, called_at, summary)
    if as_json:
        dump_json(machine_summary(summary, startup))
        return
    render_year(summary, out)
    render_startup(startup, summary, out)


def backfill_cmd(
    from_year: Annotated[int, typer.Argument(help="First report year.")],
    to_year: Annotated[int, typer.Argument(help="Last report year (inclusive).")],
    agencies: AgenciesOpt = None,
    sources: SourcesOpt = None,
    warehouse: WarehouseOpt = None,
    runner: RunnerOpt = RunOptions.runner,
    as_json: JsonOpt = False,
    docs: DocsOpt = RunOptions.data_docs,
    min_interval: IntervalOpt = RunOptions.min_interval,
    as_of: AsOfOpt = None,
) -> None:
    """Collect every report year from FROM_YEAR to TO_YEAR (one flow run per year, oldest first)."""
    with run_errors(), flow_session(check=preflight(sources, split_ids(agencies), warehouse)) as startup:
        from flows.pipeline import backfill

        summaries = backfill(
            from_year,
            to_year,
            agencies=split_ids(agencies),
            **_run_params(sources, warehouse, runner, docs, min_interval, as_of),
        )
    if as_json:
        dump_json({"years": [machine_summary(s) for s in summaries], "startup": startup})
        return
    for s in summaries:
        render_year(s, out)
    totals = {k: sum(s["counts"].get(k, 0) for s in summaries) for k in COUNT_LABELS}
    out.rule(f"[bold]合计 {min(from_year, to_year)}–{max(from_year, to_year)}")
    out.print(_counts_table(totals))


def serve_cmd(
    sources: SourcesOpt = None,
    warehouse: WarehouseOpt = None,
    port: Annotated[int, typer.Option(help="Port of the local Prefect server (when PREFECT_API_URL is unset).")] = 4200,
    list_only: Annotated[bool, typer.Option("--list", help="Print the schedules and exit.")] = False,
) -> None:
    """Serve the annual and quarterly deployments on their cron schedules (Ctrl-C or SIGTERM stops)."""
    from flows.deployments import TIMEZONE, schedule_specs, serve_all

    t = Table(title=f"计划任务（{TIMEZONE}）", title_justify="left")
    for col in ("部署", "流程", "cron", "说明", "参数"):
        t.add_column(col)
    for s in schedule_specs(sources, warehouse):
        t.add_row(s.name, s.flow, "\n".join(s.crons), s.description, json.dumps(s.parameters, ensure_ascii=False))
    out.print(t)
    if not list_only:
        serve_all(sources, warehouse, port=port, echo=out.print)


def demo(
    parse_only: Annotated[
        bool, typer.Option("--parse-only", help="Only parse the bundled samples and print them.")
    ] = False,
    warehouse: WarehouseOpt = None,
    year: Annotated[int, typer.Option(help="Report year to collect.")] = 2023,
) -> None:
    """Collect the bundled sample reports from a local demo website (offline) and show what happened."""
    if parse_only:
        return parse_demo()
    import tempfile

    from flows.demo.site import SiteServer, build_demo_site, write_registry

    out.rule("[bold]xxgk 演示：本地示例网站 → 采集 → 解析 → 入库 → 校验 → 发布")
    check = lock_check(warehouse)
    with (
        tempfile.TemporaryDirectory(prefix="xxgk-demo-site-") as tmp,
        run_errors(),
        flow_session(check=check) as startup,
    ):
        agencies = build_demo_site(Path(tmp) / "site")
        with SiteServer(Path(tmp) / "site") as site:
            registry = write_registry(agencies, site.base, Path(tmp) / "agencies.toml")
            _print_site(agencies, site.base)
            from flows.pipeline import ingest_year

            called_at = time.time()
            summary = ingest_year(
                year, sources=str(registry), warehouse=str(warehouse) if warehouse else None, min_interval=0.0
            )
    _flow_start(startup, called_at, summary)
    render_year(summary, out)
    render_startup(startup, summary, out)
    out.print(f"数据仓库：{summary['warehouse']}（xxgk status / xxgk checks 查看；qa.acquisitions 记录每次采集）")


def _print_site(agencies: Sequence[Any], base: str) -> None:
    t = Table(title=f"示例网站 {base}", title_justify="left")
    for col in ("机构", "发布方式", "地址"):
        t.add_column(col)
    for a in agencies:
        where = a.listing or "\n".join(f"{y}: {p}" for y, p in sorted(a.reports.items()))
        t.add_row(f"{a.name}\n[dim]{a.id}[/]", a.note, where)
    out.print(t)


def parse_demo() -> None:
    """The parse-only demo: the bundled samples through the parser, 表二/表三/表四 printed."""
    from flows.cli.app import sample_paths
    from flows.cli.display import render_result
    from sources.parsing.parse import parse_path

    paths = sample_paths()
    if not paths:
        err.print("[red]no bundled samples found in sources/samples — reinstall the package[/]")
        raise typer.Exit(code=1)
    out.rule("[bold]xxgk 演示：解析内置示例年报")
    for path in paths:
        render_result(parse_path(path), out)


def register(app: typer.Typer) -> None:
    """Attach ``run``, ``backfill``, ``serve``, ``demo``."""
    commands: list[tuple[str, Callable[..., None]]] = [
        ("run", run),
        ("backfill", backfill_cmd),
        ("serve", serve_cmd),
        ("demo", demo),
    ]
    for name, fn in commands:
        app.command(name)(fn)
