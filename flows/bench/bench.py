"""Benchmark of the warehouse part of ingest: load, validation and promotion of N synthetic reports.

Prints four figures and the peak memory (asserts nothing), each with the target of the issue for 10,000 reports (about
2 million cells) on the 2-core machine:

* **load** — the parse results to Arrow and one dlt merge into ``stg`` (target ≤ 60 s);
* **validation** — every rule on every report: the SQL check view, one GX validation per rule,
  recording the verdicts with their messages and the decisions (≤ 30 s);
* **promotion** — the one transaction writing ``qa`` and ``pub`` (≤ 10 s);
* **fixed cost** — what a run pays before any report: a fresh interpreter importing the stack,
  the GX context with the suites of every rule, and the dlt pipeline (≤ 10 s);
* **memory** — the peak resident memory of the process (and of any process it started) while the
  reports are generated, loaded, validated and promoted (≤ 2 GB).

With ``publish`` it also times :func:`warehouse.publish.publish` of the result to a SQLite file
through dlt's ``sqlalchemy`` destination (no target: the figure depends on the destination), the
first publish and a second one with nothing changed.

The reports are generated first (not timed) by :mod:`warehouse.synthetic`; every one passes.  The
benchmark process sets GX and dlt up before the timed run, so that load and validation do not
include the fixed cost, which is measured on its own in a fresh process afterwards.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sources import rules
from warehouse.synthetic import synthetic_cells, synthetic_report

TARGETS = {"load": 60.0, "validation": 30.0, "promotion": 10.0, "fixed_cost": 10.0}
MEMORY_TARGET_MB = 2048

# Run in a fresh interpreter: everything a run pays before its first report.
_FIXED_COST = """
import sys
from pathlib import Path
import flows.ingest
from warehouse.config import WarehouseConfig
from warehouse.pipeline import make_pipeline
from expectations import gx_runner
cfg = WarehouseConfig.resolve(Path(sys.argv[1]))
make_pipeline(cfg)
gx_runner.prepare(cfg.gx_dir)
"""


def synthetic_batch(n: int, year: int = 2023) -> list[dict[str, Any]]:
    """``n`` consistent synthetic reports of ``year`` (2019 or later), one per agency (parse results),
    in the template the year requires (:func:`sources.rules.expected_edition`)."""
    variant = next(t for t, edition in rules.EDITIONS.items() if edition == rules.expected_edition(year))
    return [
        synthetic_report(f"示例市第{i:05d}局", year, synthetic_cells(variant, seed=year * 100_000 + i))
        for i in range(n)
    ]


def fixed_cost(db_path: Path, data_docs: bool = True) -> float:
    """Wall seconds of a fresh ``python`` that imports the stack and sets up GX and dlt (nothing else)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]), *sys.path])}
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-c", _FIXED_COST, str(db_path), "docs" if data_docs else "no-docs"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def warm_up(db_path: Path, data_docs: bool = True) -> None:
    """Pay the fixed cost in this process (imports, GX context with the rule suites, dlt pipeline)."""
    from expectations import gx_runner
    from warehouse.config import WarehouseConfig
    from warehouse.pipeline import make_pipeline

    cfg = WarehouseConfig.resolve(db_path)
    make_pipeline(cfg)
    gx_runner.prepare(cfg.gx_dir)


def _line(name: str, seconds: float, detail: str) -> str:
    """One figure: name, seconds, the target and whether it is met, what it covers."""
    target = TARGETS[name.replace(" ", "_")]
    verdict = "ok" if seconds <= target else "OVER"
    return f"{name:<11s} {seconds:7.1f} s   target ≤ {target:.0f} s  {verdict:<4s}  {detail}"


@contextmanager
def _sqlite_destination(path: Path) -> Iterator[None]:
    """dlt settings naming a SQLite file (sqlalchemy destination) as the publish destination, for the block."""
    keys = {
        "PIPELINES__XXGK_PUBLISH__DESTINATION_TYPE": "sqlalchemy",
        "DESTINATION__SQLALCHEMY__CREDENTIALS": f"sqlite:///{path}",
    }
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update(keys)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def bench_publish(cfg: Any, echo: Callable[[str], None] = print) -> dict[str, float]:
    """Publish the warehouse of ``cfg`` to a new SQLite file twice; print and return both wall times."""
    from warehouse.publish import publish

    with _sqlite_destination(cfg.db_path.parent / "published.db"):
        first = publish(cfg)
        again = publish(cfg)
    rows = sum(first.rows.values())
    echo(
        f"{'publish':<11s} {first.seconds:7.1f} s   to SQLite (dlt sqlalchemy destination): {first.slots_sent:,} "
        f"reports, {rows:,} rows"
    )
    echo(f"{'re-publish':<11s} {again.seconds:7.1f} s   nothing changed: {again.slots_sent} reports sent")
    return {"publish": first.seconds, "republish": again.seconds}


def bench_load(
    n_reports: int = 10_000,
    *,
    data_docs: bool = True,
    workdir: Path | None = None,
    echo: Callable[[str], None] = print,
    publish: bool = False,
) -> dict[str, float]:
    """Load, validate and promote ``n_reports`` synthetic reports in one run into a new warehouse,
    then measure the fixed cost; print a header, the four figures and the peak memory; return them
    (seconds; ``peak_memory_mb`` in MB)."""
    from flows.bench.memory import PeakMemory
    from flows.ingest import ingest_documents
    from warehouse.config import WarehouseConfig

    with tempfile.TemporaryDirectory(prefix="xxgk-bench-") as tmp:
        cfg = WarehouseConfig.resolve((workdir or Path(tmp)) / "xxgk.duckdb")
        with PeakMemory() as memory:
            docs = synthetic_batch(n_reports)
            cells = sum(len(d["cells"]) for d in docs)
            warm_up(cfg.db_path, data_docs)
            summary = ingest_documents(docs, warehouse=cfg, data_docs=data_docs)
            del docs
        t = summary.timings
        fixed = fixed_cost(cfg.db_path, data_docs)
        echo(
            f"bench: {n_reports:,} synthetic reports, {cells:,} cells, {int(t.get('checks', 0)):,} checks → "
            f"{cfg.db_path} ({os.cpu_count()} CPUs; promoted {summary.counts.get('promoted', 0):,}, "
            f"GX Data Docs {'on' if data_docs else 'off'})"
        )
        figures = {
            "load": t.get("load", 0.0),
            "validation": t.get("validate", 0.0),
            "promotion": t.get("promote", 0.0),
            "fixed_cost": fixed,
        }
        echo(_line("load", figures["load"], "Arrow frames + one dlt merge into stg"))
        echo(
            _line(
                "validation",
                figures["validation"],
                f"SQL {t.get('checks_sql', 0):.1f} · GX {t.get('validate_gx', 0):.1f} "
                f"({int(t.get('gx_expectations', 0))} rules) · "
                f"results + decisions {t.get('assemble', 0):.1f}",
            )
        )
        echo(_line("promotion", figures["promotion"], "one transaction: qa.check_results, qa.version_state, pub.*"))
        echo(_line("fixed cost", figures["fixed_cost"], "fresh process: imports, GX rule suites, dlt pipeline"))
        figures["peak_memory_mb"] = memory.peak.total_mb
        verdict = "ok" if memory.peak.total_mb <= MEMORY_TARGET_MB else "OVER"
        echo(
            f"{'memory':<11s} {memory.peak.total_mb:7.0f} MB  target ≤ {MEMORY_TARGET_MB} MB "
            f"{verdict:<4s}  {memory.peak.line()}"
        )
        if publish:
            figures.update(bench_publish(cfg, echo))
        return figures


if __name__ == "__main__":  # pragma: no cover
    bench_load(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
