"""Benchmark of the warehouse part of ingest: load + validate + promote of N synthetic reports.

Prints figures, asserts nothing.  Four runs against a fresh warehouse in a temporary directory:

1. cold: N reports of year Y (includes importing dlt and GX and creating the GX project);
2. warm: N reports of year Y+1 (cross-year checks against year Y now apply);
3. idempotent re-run of the same N documents (nothing changes: no load, no validation);
4. revisions: N revised documents of year Y+1, every tenth with a 表四 error (quarantined,
   the previous version stays published).
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from warehouse.synthetic import synthetic_cells, synthetic_report


def _reports(n: int, year: int, *, revision: int = 0, broken_every: int = 0) -> list[dict[str, Any]]:
    docs = []
    for i in range(n):
        variant = "gov2021" if year >= 2021 else "gov2019"
        cells = synthetic_cells(variant, seed=year * 10_000 + i + revision)
        if broken_every and i % broken_every == 0:
            cells["t4.review.total"] = cells["t4.review.total"] + 1
        docs.append(synthetic_report(f"示例市第{i:03d}局", year, cells, revision=revision))
    return docs


def bench_load(
    n_reports: int = 100,
    *,
    data_docs: bool = True,
    workdir: Path | None = None,
    echo: Callable[[str], None] = print,
) -> dict[str, dict[str, float]]:
    """Run the four benchmark runs and print one line per run; returns the timings per run."""
    from flows.ingest import ingest_documents
    from warehouse.config import WarehouseConfig

    with tempfile.TemporaryDirectory(prefix="xxgk-bench-") as tmp:
        root = workdir or Path(tmp)
        cfg = WarehouseConfig.resolve(root / "xxgk.duckdb")
        results: dict[str, dict[str, float]] = {}
        runs = [
            ("cold", _reports(n_reports, 2023)),
            ("warm", _reports(n_reports, 2024)),
            ("idempotent", _reports(n_reports, 2024)),
            ("revisions", _reports(n_reports, 2024, revision=1, broken_every=10)),
        ]
        echo(f"bench: load + validate + promote of {n_reports} synthetic reports per run → {cfg.db_path}")
        for name, docs in runs:
            started = time.perf_counter()
            summary = ingest_documents(docs, warehouse=cfg, data_docs=data_docs)
            total = time.perf_counter() - started
            t = {k: round(v, 3) for k, v in summary.timings.items()}
            t["total"] = round(total, 3)
            results[name] = t
            c = summary.counts
            echo(
                f"{name:10s} total {total:6.2f} s  load {t.get('load', 0):5.2f}  sql {t.get('checks_sql', 0):5.2f}  "
                f"gx {t.get('validate_gx', 0):5.2f}  promote {t.get('promote', 0):5.2f}  | "
                f"promoted {c.get('promoted', 0)} quarantined {c.get('quarantined', 0)} "
                f"unchanged {c.get('unchanged', 0)} superseded {c.get('previously_published_superseded', 0)}  "
                f"({total / max(n_reports, 1) * 1000:.1f} ms/report)"
            )
        size = cfg.db_path.stat().st_size / 1e6
        echo(f"warehouse file {size:.1f} MB; GX data docs {'on' if data_docs else 'off'}")
        return results


if __name__ == "__main__":  # pragma: no cover
    bench_load()
