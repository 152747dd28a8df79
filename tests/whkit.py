"""Warehouse test kit: synthetic reports with a known failure, queries and the CLI on a warehouse, and
private copies of a warehouse built once."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
from factory import T4_PARTS
from typer.testing import CliRunner

from flows.cli import app
from flows.ingest import ingest_documents
from warehouse.config import WarehouseConfig
from warehouse.synthetic import synthetic_cells, synthetic_report

runner = CliRunner()


def hongze_cells(variant: str = "gov2021") -> dict[str, Any]:
    """Cells whose 表四 行政复议 and 复议后起诉 totals are printed 0 (10/1/0/0 and 5/0/0/0):
    T4_BLOCK_TOTAL fails twice, as in 洪泽区's report."""
    cells = synthetic_cells(variant, seed=21)
    for block, parts in (("review", (10, 1, 0, 0)), ("litigation_after_review", (5, 0, 0, 0))):
        for m, v in zip(T4_PARTS, parts, strict=True):
            cells[f"t4.{block}.{m}"] = v
        cells[f"t4.{block}.total"] = 0
    return cells


def hongze(agency: str = "示例区人民政府", revision: int = 0) -> dict[str, Any]:
    """A 2023 report whose 表四 行政复议 and 复议后起诉 totals are 0 (T4_BLOCK_TOTAL fails twice)."""
    return synthetic_report(agency, 2023, hongze_cells(), revision=revision)


def vid(doc: Mapping[str, Any]) -> str:
    """The version id of a parse-output dict (first 16 hex of its sha256)."""
    return doc["source"]["sha256"][:16]


def q(cfg: WarehouseConfig, sql: str, params: list[Any] | None = None) -> list[tuple]:
    """The rows of one query on the warehouse file (opened and closed around it)."""
    con = duckdb.connect(str(cfg.db_path))
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def cli(cfg: WarehouseConfig, *args: str):
    """``xxgk ARGS… -w <warehouse>`` in this process (typer's test runner, 200 columns)."""
    return runner.invoke(app, [*args, "-w", str(cfg.db_path)], env={"COLUMNS": "200"})


def ingest_once(root: Path, docs: Mapping[str, dict[str, Any]], states: list[str]) -> Path:
    """Ingest ``docs`` into ``root/xxgk.duckdb`` in one run; assert the states, in order; return ``root``."""
    summary = ingest_documents(list(docs.values()), warehouse=root / "xxgk.duckdb", data_docs=False)
    assert [d.state for d in summary.documents] == states
    return root


def private_copy(root: Path, tmp_path: Path) -> WarehouseConfig:
    """A copy of the warehouse in ``root`` (file, dlt state, GX project) that one test may change."""
    shutil.copytree(root, tmp_path / "wh")
    return WarehouseConfig.resolve(tmp_path / "wh" / "xxgk.duckdb")


@contextmanager
def lock_held(db_path: Path) -> Iterator[subprocess.Popen]:
    """Another process holding the DuckDB file ``db_path`` open (DuckDB's writer lock) during the block."""
    code = f"import duckdb, time; c = duckdb.connect({str(db_path)!r}); print('ok', flush=True); time.sleep(30)"
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ok"
        yield holder
    finally:
        holder.kill()
        holder.wait()
