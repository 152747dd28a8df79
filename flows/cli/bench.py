"""``xxgk bench run``: a full ``ingest_year`` over N local reports, timed, then a re-run in a fresh process.

:func:`register` attaches the command to the ``bench`` group of ``flows/cli/app.py``.  The run goes
through the same :func:`flows.cli.run.flow_session` as ``xxgk run`` (API server started while the
pipeline imports, heartbeats off); every figure is printed, none asserted.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from flows.cli.console import out
from flows.cli.run import RunnerOpt, flow_session
from flows.options import RunOptions


def bench_run(
    reports: Annotated[int, typer.Option(help="Report documents (one agency each).")] = 1000,
    workdir: Annotated[Path | None, typer.Option(help="Keep site, registry and warehouse here.")] = None,
    runner: RunnerOpt = RunOptions.runner,
    corpus: Annotated[
        str,
        typer.Option(help="realistic (documents shaped like published ones) | samples (the small bundled samples)."),
    ] = "realistic",
) -> None:
    """Time a full ingest_year over N local reports shaped like published ones (61 % HTML pages of ~100 KB,
    a quarter of them GBK; 28 % 5–6-page PDFs; 11 % DOCX), then a re-run; CPU per stage and per format.
    ``--corpus samples`` uses the small bundled samples instead (the figures measured before the
    realistic corpus existed were taken on them)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="xxgk-bench-run-") as tmp:
        run_benchmark(
            Path(workdir) if workdir else Path(tmp),
            reports,
            runner,
            corpus,
            lambda text: out.print(text, markup=False, highlight=False),
        )


def calibrate(n: int = 50) -> dict[str, float]:
    """Prefect's own cost here: an empty flow run, and per task run (called in turn, and submitted)."""
    from prefect import flow, task
    from prefect.cache_policies import NO_CACHE

    @task(cache_policy=NO_CACHE, persist_result=False)
    def noop(i: int) -> int:
        return i

    @flow(name="bench-calibration", persist_result=False)
    def calibration(k: int, submit: bool) -> int:
        if submit:
            return sum(f.result() for f in [noop.submit(i) for i in range(k)])
        return sum(noop(i) for i in range(k))

    def timed(k: int, submit: bool) -> float:
        t = time.perf_counter()
        calibration(k, submit)
        return time.perf_counter() - t

    empty = min(timed(0, False) for _ in range(3))
    return {
        "flow_run_ms": round(empty * 1000, 1),
        "task_called_ms": round((timed(n, False) - empty) / n * 1000, 1),
        "task_submitted_ms": round((timed(n, True) - empty) / n * 1000, 1),
    }


def _rerun_subprocess(
    registry: Path, warehouse: Path, year: int, api_url: str | None = None
) -> tuple[float, dict[str, Any], Any]:
    """``xxgk run --json`` in a fresh process (a machine where it has run before), against the API server
    at ``api_url`` (``PREFECT_API_URL``) or, without one, starting its own: wall seconds, its summary,
    the peak memory of its processes (:class:`flows.bench.memory.MemoryPeak`)."""
    import subprocess

    from flows.bench.memory import PeakMemory, run_role

    cmd = [
        sys.executable,
        "-c",
        "from flows.cli import app; app()",
        "run",
        "--year",
        str(year),
        "--sources",
        str(registry),
        "--warehouse",
        str(warehouse),
        "--min-interval",
        "0",
        "--json",
    ]
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    if api_url:
        env["PREFECT_API_URL"] = api_url
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    with PeakMemory(proc.pid, role=run_role(list, list)) as memory:
        stdout, stderr = proc.communicate()
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise RuntimeError(f"re-run failed ({proc.returncode}): {stderr.strip()[-2000:]}")
    return wall, json.loads(stdout), memory.peak


def _mix_line(root: Path) -> str:
    files = [p for p in root.rglob("*") if p.is_file()]
    kinds: dict[str, list[int]] = {}
    for p in files:
        kinds.setdefault(p.suffix.lstrip("."), []).append(p.stat().st_size)
    return ", ".join(f"{len(v)} {k.upper()} (mean {sum(v) / len(v) / 1024:.0f} KB)" for k, v in sorted(kinds.items()))


def run_benchmark(root: Path, n: int, runner: str, corpus: str, echo: Callable[[str], None]) -> dict[str, Any]:
    """Build the bench site, run ``ingest_year`` in this process, calibrate Prefect, re-run in a new process.

    Prints every figure (nothing asserted); returns them.
    """
    from flows.bench.memory import PeakMemory, run_role
    from flows.demo.site import SiteServer, build_bench_site, fresh_dir, write_registry
    from flows.settings import local_server_pids

    year, warehouse = 2023, root / "wh" / "xxgk.duckdb"
    t = time.perf_counter()
    import uuid

    agencies = build_bench_site(
        fresh_dir(root / "site"), n, year, tag=f"bench {uuid.uuid4().hex[:8]}", corpus_name=corpus
    )
    fresh_dir(warehouse.parent)
    echo(f"bench site: {n} reports in {time.perf_counter() - t:.1f} s — {_mix_line(root / 'site')}")
    apis: list[Any] = []
    with SiteServer(root / "site", process=True) as site:
        registry = write_registry(agencies, site.base, root / "agencies.toml")
        with flow_session(show_progress=sys.stderr.isatty(), api_out=apis) as startup:
            from flows.pipeline import ingest_year

            t, load_before, called_at = time.perf_counter(), os.getloadavg()[0], time.time()
            roles = run_role(local_server_pids, lambda: [site.pid] if site.pid else [])
            with PeakMemory(role=roles) as memory:
                first = ingest_year(
                    year, sources=str(registry), warehouse=str(warehouse), runner=runner, min_interval=0.0, host_limit=8
                )
            wall, load_after = time.perf_counter() - t, os.getloadavg()[0]
            cal = calibrate()
        figures = {
            "first": first,
            "first_wall": wall,
            "startup": startup,
            "first_fetch_after": (first["tasks"].get("first_fetch_at") or called_at) - called_at,
            "calibration": cal,
            "load": (load_before, load_after),
            "memory": memory.peak,
        }
        _print_first(figures, n, echo)
        _drain_events()
        reruns: list[tuple[str, tuple[float, dict[str, Any], Any]]] = []
        served = [api.url for api in apis if api.url]
        if served:  # PREFECT_API_URL set: a server already running (run 1's)
            label = "run 2 (nothing changed, fresh `xxgk run` process, PREFECT_API_URL: run 1's server)"
            reruns.append((label, _rerun_subprocess(registry, warehouse, year, served[0])))
            _print_rerun(*reruns[-1], echo)
        for api in apis:
            api.stop()
        label = f"run {len(reruns) + 2} (nothing changed, fresh `xxgk run` process starting its own API server)"
        reruns.append((label, _rerun_subprocess(registry, warehouse, year)))
        _print_rerun(*reruns[-1], echo)
    figures["reruns"] = reruns
    return figures


def _drain_events() -> None:
    """Flush Prefect's log/event workers (before another process uses the server, or it is stopped)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all()
    EventsWorker.drain_all()


def _print_first(f: dict[str, Any], n: int, echo: Callable[[str], None]) -> None:
    first, cal, st = f["first"], f["calibration"], f["startup"]
    c, tm, tasks = first["counts"], first["timings"], first["tasks"]
    echo(
        f"run 1 (new warehouse): {f['first_wall']:.1f} s end to end = {n / f['first_wall']:.1f} reports/s  "
        f"[fetch {tm['fetch']:.1f} s, fetch+parse {tm['fetch_parse']:.1f} s, load+validate+promote "
        f"{tm['load_validate_promote']:.1f} s, record {tm['record']:.2f} s]"
    )
    echo(f"  counts: {json.dumps(c, ensure_ascii=False)}")
    failures = Counter(f"{a['step']}: {a['reason']}" for a in first["agencies"] if a["status"] == "failed")
    for text, count in failures.most_common(3):
        echo(f"  failed ×{count}: {text[:300]}")
    n_tasks = 0
    for kind in ("fetch", "parse", "load"):
        if kind in tasks:
            k = tasks[kind]
            n_tasks += k["tasks"]
            echo(
                f"  {kind:5s} tasks {k['tasks']:3d} (cached {k['cached']}): start latency median "
                f"{k['start_latency_ms']} ms, bodies {k['body_seconds']:.1f} s in a span of {k['span_seconds']:.1f} s"
            )
    n_tasks += 1  # record-acquisitions
    cpu = tasks.get("cpu_seconds", {})
    total_cpu = cpu.get("flow_process", 0) + cpu.get("parse", 0)
    echo(
        f"  CPU seconds: flow process {cpu.get('flow_process', 0):.1f} (of which fetch threads "
        f"{cpu.get('fetch_threads', 0):.1f}), parsing {cpu.get('parse', 0):.1f} → "
        f"{total_cpu:.1f} s in all, "
        f"{n / max(total_cpu, 1e-9):.1f} reports per CPU-second; load average {f['load'][0]:.1f} before, "
        f"{f['load'][1]:.1f} after (other processes share the 2 cores)"
    )
    from flows.bench.figures import cpu_lines

    for line in cpu_lines(tasks, n):
        echo(line)
    est = cal["flow_run_ms"] / 1000 + n_tasks * cal["task_submitted_ms"] / 1000
    echo(
        f"  Prefect calibration: empty flow run {cal['flow_run_ms']} ms, task run {cal['task_called_ms']} ms "
        f"called / {cal['task_submitted_ms']} ms submitted → ≈ {est:.1f} s for this run's {n_tasks} task runs "
        f"({est / f['first_wall'] * 100:.1f} % of the run)"
    )
    echo(
        f"  start-up in this process: imports {st['imports']:.1f} s, Prefect API server {st['api_start']:.1f} s "
        f"(waited {st['api_wait']:.1f} s after the imports); first fetch {f['first_fetch_after']:.1f} s after the "
        "flow was called"
    )
    echo(f"  {f['memory'].line()}")


def _print_rerun(label: str, rerun: tuple[float, dict[str, Any], Any], echo: Callable[[str], None]) -> None:
    wall, r, memory = rerun
    rs = r.get("startup", {})
    echo(
        f"{label}: {wall:.1f} s wall — fetched {r['documents_fetched']}, not modified {r['not_modified']}, "
        f"parsed {r['parsed']}, unchanged {r['unchanged']}; flow {r['timings']['total']:.1f} s"
    )
    echo(
        f"  start-up: interpreter + CLI {rs.get('before_command', 0):.1f} s, imports {rs.get('imports', 0):.1f} s, "
        f"API server {rs.get('api_start', 0):.1f} s (waited {rs.get('api_wait', 0):.1f} s), ready at "
        f"{rs.get('ready', 0):.1f} s, flow run registered in {rs.get('flow_start', 0):.2f} s, "
        f"first fetch at {rs.get('first_fetch', 0):.1f} s; "
        f"exit after the flow {wall - rs.get('ready', 0) - r['timings']['total']:.1f} s"
    )
    cpu = r.get("tasks", {}).get("cpu_seconds", {})
    echo(
        f"  CPU: flow process {cpu.get('flow_process', 0):.1f} s (fetch threads {cpu.get('fetch_threads', 0):.1f} s) "
        f"= {cpu.get('flow_process', 0) / max(r['agencies_attempted'], 1) * 1000:.1f} ms/report"
    )
    projection = rerun_projection(wall, r)
    if projection:
        echo(projection)
    echo(f"  {memory.line()}")


def rerun_projection(wall: float, r: dict[str, Any], reports: int = 10_000) -> str | None:
    """The line projecting an unchanged re-run of ``reports`` from this one (None when it fetched nothing):
    the start-up until the first fetch and the time after the last as measured, the fetching scaled by
    the number of reports.  A projection, printed as one; ``--reports 10000`` measures it."""
    tasks, n = r.get("tasks", {}), r.get("agencies_attempted") or 0
    first, start = tasks.get("first_fetch_at"), tasks.get("flow_started_at")
    first_fetch = r.get("startup", {}).get("first_fetch")
    if not (n and first and start and first_fetch) or n >= reports:
        return None
    span = start + r["timings"]["fetch"] - first  # the first fetch task's start → the last chunk fetched
    after = wall - first_fetch - span
    projected = first_fetch + span * reports / n + after
    return (
        f"  fetching {span:.1f} s = {span / n * 1000:.1f} ms a report (wall); {reports:,} unchanged at this rate ≈ "
        f"{first_fetch:.1f} + {span * reports / n:.1f} + {after:.1f} s = {projected:.0f} s (a projection, not a "
        f"measurement: `xxgk bench run --reports {reports}` measures it)"
    )


def register(bench: typer.Typer) -> None:
    """Attach ``bench run`` to the ``bench`` group."""
    bench.command("run")(bench_run)
