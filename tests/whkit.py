"""Warehouse test kit: synthetic reports with a known failure, and private copies of a warehouse built once."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flows.ingest import ingest_documents
from warehouse.config import WarehouseConfig
from warehouse.synthetic import synthetic_cells, synthetic_report


def hongze(agency: str = "示例区人民政府", revision: int = 0) -> dict[str, Any]:
    """A 2023 report whose 表四 行政复议 and 复议后起诉 totals are 0 (T4_BLOCK_TOTAL fails twice)."""
    cells = synthetic_cells("gov2021", seed=21)
    for block, parts in (("review", (10, 1, 0, 0)), ("litigation_after_review", (5, 0, 0, 0))):
        for m, v in zip(("upheld", "corrected", "other", "pending"), parts, strict=True):
            cells[f"t4.{block}.{m}"] = v
        cells[f"t4.{block}.total"] = 0
    return synthetic_report(agency, 2023, cells, revision=revision)


def vid(doc: Mapping[str, Any]) -> str:
    """The version id of a parse-output dict (first 16 hex of its sha256)."""
    return doc["source"]["sha256"][:16]


def ingest_once(root: Path, docs: Mapping[str, dict[str, Any]], states: list[str]) -> Path:
    """Ingest ``docs`` into ``root/xxgk.duckdb`` in one run; assert the states, in order; return ``root``."""
    summary = ingest_documents(list(docs.values()), warehouse=root / "xxgk.duckdb", data_docs=False)
    assert [d.state for d in summary.documents] == states
    return root


def private_copy(root: Path, tmp_path: Path) -> WarehouseConfig:
    """A copy of the warehouse in ``root`` (file, dlt state, GX project) that one test may change."""
    shutil.copytree(root, tmp_path / "wh")
    return WarehouseConfig.resolve(tmp_path / "wh" / "xxgk.duckdb")
