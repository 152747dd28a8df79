"""The ``xxgk`` command line.

Commands are thin: they call the library (``sources`` for parsing, ``flows.*`` for the pipeline)
and format its results for a person (tables with Chinese labels) or a machine (``--json``).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from typer import _click as click  # typer 0.29 carries its own click: the classes its commands are made of
from typer.core import TyperArgument, TyperGroup, TyperOption

from flows.cli.console import error, fail, out, set_debug
from flows.cli.crops import CropsOpt, InlineOpt


def _usage_name(param: TyperArgument) -> str:
    """An argument in the usage line as click writes it: ``FILES...``, ``[FILES]...`` when optional."""
    name = (param.metavar or param.name or "").upper()
    name = name if param.required else f"[{name}]"
    return name + ("..." if param.nargs != 1 else "")


def tidy_help(command: click.Command, ctx: click.Context) -> click.Command:
    """``command`` with the help a person reads: no ``<bool>`` type beside a flag, arguments as ``FILES...``
    in the usage line (typer prints ``{files}...``), and no reStructuredText double back-ticks from the
    docstrings the help is made of."""
    for attr in ("help", "short_help"):
        if getattr(command, attr, None):
            setattr(command, attr, getattr(command, attr).replace("``", ""))
    for param in command.get_params(ctx):  # with --help
        if isinstance(param, TyperOption) and param.is_flag and param.metavar is None:
            param.metavar = ""  # typer shows a flag's type as <bool>; a flag takes no value
        if isinstance(param, TyperArgument):
            setattr(param, "_usage_display_name", partial(_usage_name, param))  # noqa: B010 - per instance
        text: Any = getattr(param, "help", None)  # options and typer's arguments have help; click's Parameter not
        if isinstance(text, str):
            setattr(param, "help", text.replace("``", ""))  # noqa: B010
    return command


class HelpGroup(TyperGroup):
    """The ``xxgk`` command group: every command it resolves (and itself) gets :func:`tidy_help`."""

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        return tidy_help(command, ctx) if command is not None else None

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        tidy_help(self, ctx)
        super().format_help(ctx, formatter)


class XxgkApp(typer.Typer):
    """The typer app, run as a command: Ctrl-C and SIGTERM are handled from the start
    (:mod:`flows.cli.signals`: the command stops within 5 s with one Chinese line, exit 130 / 143)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from flows.cli import signals

        signals.install()
        try:
            return super().__call__(*args, **kwargs)
        except signals.Stopped as exc:
            signals.finish(exc)
        finally:
            # a command that ends any other way after a signal (click's SystemExit(0) once Prefect or a
            # library absorbed the Stopped) still ends as interrupted: 130 / 143 and one line, never 0
            signals.finish_if_signalled()


app = XxgkApp(
    cls=HelpGroup,
    name="xxgk",
    help="政府信息公开工作年度报告 → 可信数据仓库：解析、入库、校验、报告。",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(
    cls=HelpGroup, help="Benchmarks that print figures (never asserted in tests).", no_args_is_help=True
)
app.add_typer(bench_app, name="bench")


@app.callback()
def main_options(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the traceback under an error's one line (for a bug report).")
    ] = False,
) -> None:
    """政府信息公开工作年度报告 → 可信数据仓库：解析、入库、校验、报告。"""
    from flows import settings

    set_debug(debug)
    # dlt logs the errors it raises with their tracebacks; the command reports them in one line instead
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING" if debug else "CRITICAL")
    logging.getLogger("dlt").setLevel(logging.WARNING if debug else logging.CRITICAL)  # if dlt logs already
    settings.configure()  # Prefect's settings of the project, before any command imports prefect


def sample_paths() -> list[Path]:
    """The bundled sample reports shipped with the package (sources/samples)."""
    root = resources.files("sources") / "samples"
    return sorted(
        Path(str(p))
        for p in root.iterdir()
        if p.is_file() and not p.name.startswith((".", "README", "expected")) and not p.name.endswith(".py")
    )


@app.command()
def parse(
    # readable=False: an unreadable file is that file's error object, not a usage error stopping the others
    files: Annotated[
        list[Path], typer.Argument(help="Report files (HTML, PDF, DOCX, text, PNG/JPEG/TIFF).", readable=False)
    ],
    as_json: Annotated[bool, typer.Option("--json", help="JSON Lines, one object per document.")] = False,
    crops: CropsOpt = None,
    inline_crops: InlineOpt = None,
) -> None:
    """Parse report files and print their statutory tables (or JSON Lines with --json); the OCR cells to
    check are listed with their image (a PNG file, and drawn in the terminal) and the confirm command."""
    from flows.tasks import parse_guard

    # Each file is parsed in one child process, reused for all of them and killed when a file runs past
    # the parse time limit (one reader call cannot be interrupted from inside); started first, so it
    # imports the readers while this process reads the settings.
    parse_guard.prestart()
    try:
        _parse_files(files, as_json, crops, inline_crops)
    finally:
        parse_guard.stop_children()


def _parse_files(files: list[Path], as_json: bool, crops: Path | None, inline_crops: bool | None) -> None:
    """``xxgk parse``'s loop: each path its own object (or error line), exit status 1 if any failed."""
    from flows.limits import read_limits
    from flows.tasks.parse_guard import parse_path_guarded
    from sources import chinese

    try:
        limits = read_limits()
    except ValueError as exc:  # a misspelt or non-positive limit in [xxgk.limits] / XXGK__LIMITS__*
        raise fail(
            f"读取限制设置有误：{exc}；请修改 .dlt/config.toml 的 [xxgk.limits] 或 XXGK__LIMITS__* 环境变量"
        ) from exc
    failed = 0
    for path in files:
        result = parse_path_guarded(path, limits)
        if result.get("error"):
            failed += 1
            error(f"无法读取：{chinese.chinese(result['error'])}")
        if as_json:
            sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        else:
            from flows.cli.crops import pending_cells, print_pending, show_inline
            from flows.cli.display import render_result

            render_result(result, out)
            folder = crops if crops is not None else Path("ocr-crops")
            print_pending(out, pending_cells(result), folder, inline=show_inline(out, inline_crops), document=path.name)
    if failed:
        raise typer.Exit(code=1)


@bench_app.command("parse")
def bench_parse(
    files: Annotated[list[Path] | None, typer.Argument(help="Documents to time (default: bundled samples).")] = None,
    repeat: Annotated[int, typer.Option(help="Timed repetitions per file.")] = 5,
    batch: Annotated[int, typer.Option(help="Documents in the mixed batch run (0: none).")] = 100,
) -> None:
    """Time parsing per document (median of --repeat) and a mixed batch of --batch documents; for a PDF
    also what pypdfium2 takes to read its text layer with every character box, and the ratio."""
    t0 = time.perf_counter()
    from sources.parsing.parse import parse_bytes

    startup = time.perf_counter() - t0
    paths = files or sample_paths()
    blobs = [(p, p.read_bytes()) for p in paths]
    s = time.perf_counter()
    for p, data in blobs:  # warm-up: the first call of each reader imports its libraries
        parse_bytes(data, str(p))
    warm = time.perf_counter() - s
    medians: list[float] = []
    out.print(f"start-up: import {startup:.3f} s; first pass over {len(blobs)} documents {warm:.3f} s")
    from flows.bench.figures import text_layer_floor

    for p, data in blobs:
        is_pdf = data[:1024].find(b"%PDF-") >= 0
        times, cpus, floors = [], [], []
        for _ in range(repeat):  # parse and floor alternate, so that both see the same load of the machine
            s, c = time.perf_counter(), time.process_time()
            parse_bytes(data, str(p))
            times.append(time.perf_counter() - s)
            cpus.append(time.process_time() - c)
            if is_pdf:  # beside it, pypdfium2 reading the text layer with every char box
                c = time.process_time()
                text_layer_floor(data)
                floors.append(time.process_time() - c)
        med, cpu = sorted(times)[len(times) // 2], sorted(cpus)[len(cpus) // 2]
        medians.append(med)
        floor = ""
        if floors:
            low = max(sorted(floors)[len(floors) // 2], 1e-6)
            floor = f"; pypdfium2 text layer + char boxes CPU {low * 1000:5.1f} ms → {cpu / low:4.1f} ×"
        out.print(
            f"{p.name:32s} {len(data) / 1024:6.1f} KB  median {med * 1000:7.1f} ms, CPU {cpu * 1000:7.1f} ms{floor}",
            highlight=False,
        )
    _bench_ocr(blobs)
    if batch <= 0:  # --batch 0: the files only
        return
    mean = sum(medians) / len(medians)
    s = time.perf_counter()
    for i in range(batch):
        p, data = blobs[i % len(blobs)]
        parse_bytes(data, str(p))
    total = time.perf_counter() - s
    out.print(
        f"batch of {batch} mixed documents: {total:.2f} s  (= {total / batch * 1000:.1f} ms each; "
        f"{batch} × mean single {mean * 1000:.1f} ms = {batch * mean:.2f} s)"
    )


def _bench_ocr(blobs: list[tuple[Path, bytes]]) -> None:
    """Seconds per OCR page and per scanned report, for the documents that needed OCR (one more parse each)."""
    from sources.parsing.parse import parse_bytes

    pages = seconds = 0.0
    for p, data in blobs:
        s = time.perf_counter()
        cpu = time.process_time()
        result = parse_bytes(data, str(p))
        src = result.get("source") or {}
        if not src.get("ocr_pages"):
            continue
        wall, used = time.perf_counter() - s, time.process_time() - cpu
        n = src["ocr_pages"]
        pages += n
        seconds += src["ocr_seconds"]
        read = sum(1 for c in result.get("cells") or [] if c.get("value") is not None)
        unverified = sum(1 for c in result.get("cells") or [] if (c.get("ocr") or {}).get("status") == "unverified")
        out.print(
            f"OCR {p.name:36s} {n} pages: {src['ocr_seconds'] / n:.2f} s per OCR page; report {wall:.2f} s "
            f"(CPU {used:.2f} s); cells read {read}/{len(result.get('cells') or [])}, unverified {unverified}"
        )
    if pages:
        out.print(f"OCR overall: {int(pages)} pages, {seconds / pages:.2f} s per OCR page")


def main() -> None:  # pragma: no cover - console entry point
    app()


def _register_commands() -> None:
    """Attach the pipeline commands: warehouse (ingest, checks, status, waive …), report, flows (run …), bench run."""
    from flows.cli import bench, report, run, warehouse

    warehouse.register(app, bench_app)
    report.register(app)
    run.register(app)
    bench.register(bench_app)


_register_commands()
