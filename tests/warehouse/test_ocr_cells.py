"""OCR-read reports in the warehouse: provenance stored with the cells, unverified cells keep a report out of pub."""

from __future__ import annotations

import json
from typing import Any

from whkit import q, vid

from flows.ingest import ingest_documents
from warehouse.config import WarehouseConfig
from warehouse.synthetic import synthetic_cells, synthetic_report


def _as_ocr(doc: dict[str, Any], unverified: tuple[str, ...] = ()) -> dict[str, Any]:
    """The report as if every cell had been read by OCR on page 2 (``unverified`` cells marked so)."""
    for i, cell in enumerate(doc["cells"]):
        status = "unverified" if cell["address"] in unverified else "ok"
        box = [100.0, 50.0 + i, 120.0, 60.0 + i]
        cell["method"] = "ocr"
        cell["ocr"] = {
            "method": "ocr",
            "page": 2,
            "box": box,
            "text": cell["raw"],
            "confidence": 0.99,
            "status": status,
        }
    return doc


def test_ocr_provenance_is_stored_and_unverified_cells_block_promotion(tmp_path):
    cfg = WarehouseConfig.resolve(tmp_path / "xxgk.duckdb")
    clean = _as_ocr(synthetic_report("示例县财政局", 2023, synthetic_cells("gov2021", seed=11)))
    doubtful = _as_ocr(
        synthetic_report("示例县民政局", 2023, synthetic_cells("gov2021", seed=12)),
        unverified=("t3.new_received.total", "t3.new_received.natural_person"),
    )
    summary = ingest_documents([clean, doubtful], warehouse=cfg.db_path, data_docs=False)
    assert [d.state for d in summary.documents] == ["promoted", "quarantined"]
    failing = q(
        cfg,
        "SELECT rule_id, outcome FROM qa.check_results WHERE version_id = ? AND outcome <> 'pass' ORDER BY ALL",
        [vid(doubtful)],
    )
    assert failing == [("S_OCR_VERIFIED", "fail")]
    [(status, provenance)] = q(
        cfg,
        "SELECT ocr_status, ocr FROM pub.cells WHERE version_id = ? AND address = 't3.new_received.total'",
        [vid(clean)],
    )
    assert status == "ok"
    assert json.loads(provenance)["page"] == 2 and json.loads(provenance)["confidence"] == 0.99
    assert q(cfg, "SELECT count(*) FROM stg.cells WHERE ocr_status = 'unverified'") == [(2,)]
