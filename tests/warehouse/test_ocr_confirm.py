"""xxgk confirm: a reviewer's reading of the page image settles unverified OCR cells, in the warehouse."""

from __future__ import annotations

import json
from typing import Any

import pytest
from whkit import cli, q, vid

from flows.ingest import ingest_documents, revalidator
from sources.parsing.assemble import verify_ocr
from warehouse.config import WarehouseConfig
from warehouse.confirmations import ConfirmError, confirm_cell
from warehouse.db import connect
from warehouse.synthetic import synthetic_cells, synthetic_report

TOTAL = "t3.new_received.total"


def _misread_report(agency: str = "示例县民政局") -> tuple[dict[str, Any], int]:
    """A synthetic 2023 report read by OCR whose 本年新收 总计 was misread (+10): unverified by its row total."""
    doc = synthetic_report(agency, 2023, synthetic_cells("gov2021", seed=12))
    printed = 0
    for i, cell in enumerate(doc["cells"]):
        if cell["address"] == TOTAL:
            printed = cell["value"]
            cell["value"] = printed + 10
            cell["raw"] = str(printed + 10)
        cell["method"] = "ocr"
        cell["ocr"] = {
            "method": "ocr",
            "page": 2,
            "box": [100.0, 50.0 + i, 120.0, 60.0 + i],
            "text": cell["raw"],
            "confidence": 0.99,
            "status": "ok",
        }
    doc["issues"] = [i.to_json() for i in verify_ocr(doc)]
    assert next(c for c in doc["cells"] if c["address"] == TOTAL)["ocr"]["status"] == "unverified"
    return doc, printed


def _confirm(cfg: WarehouseConfig, doc: dict[str, Any], address: str, value: str, by: str = "张三"):
    con = connect(cfg.db_path)
    try:
        return confirm_cell(con, vid(doc)[:8], address, value, by=by, validate=revalidator(cfg))
    finally:
        con.close()


@pytest.fixture
def quarantined(tmp_path) -> tuple[WarehouseConfig, dict[str, Any], int]:
    cfg = WarehouseConfig.resolve(tmp_path / "xxgk.duckdb")
    doc, printed = _misread_report()
    summary = ingest_documents([doc], warehouse=cfg.db_path, data_docs=False)
    assert [d.state for d in summary.documents] == ["quarantined"]
    assert "S_OCR_VERIFIED" in summary.documents[0].failing_rules
    return cfg, doc, printed


def test_confirming_the_printed_value_revalidates_and_promotes(quarantined):
    cfg, doc, printed = quarantined
    result = _confirm(cfg, doc, TOTAL, str(printed))
    assert result.action == "added" and result.ocr_text == str(printed + 10)
    assert result.redecision is not None and (result.redecision.before, result.redecision.after) == (
        "quarantined",
        "promoted",
    )
    assert result.still_unverified == []
    v = vid(doc)
    [(value, status, ocr)] = q(
        cfg, "SELECT value, ocr_status, ocr FROM pub.cells WHERE version_id = ? AND address = ?", [v, TOTAL]
    )
    assert value == printed and status == "confirmed"
    prov = json.loads(ocr)
    assert (
        prov["text"] == str(printed + 10)
        and prov["confirmed"]["by"] == "张三"
        and prov["confirmed"]["value"] == str(printed)
    )
    assert q(cfg, "SELECT count(*) FROM stg.cells WHERE version_id = ? AND ocr_status = 'unverified'", [v]) == [(0,)]
    assert q(cfg, "SELECT count(*) FROM stg.parse_issues WHERE version_id = ? AND code = 'ocr_unverified'", [v]) == [
        (0,)
    ]
    # the checks were computed again on the confirmed value (GX decided them), not just re-decided
    assert q(cfg, "SELECT count(*) FROM qa.check_results WHERE version_id = ? AND outcome <> 'pass'", [v]) == [(0,)]
    [(run_id,)] = q(cfg, "SELECT DISTINCT run_id FROM qa.check_results WHERE version_id = ?", [v])
    assert run_id.startswith("confirm-")
    assert q(cfg, "SELECT address, value, ocr_text, confirmed_by FROM qa.ocr_confirmations") == [
        (TOTAL, str(printed), str(printed + 10), "张三")
    ]
    # the same confirmation again changes nothing
    again = _confirm(cfg, doc, TOTAL, str(printed), by="李四")
    assert again.action == "unchanged" and again.redecision is None and again.confirmed_by == "张三"
    assert q(cfg, "SELECT DISTINCT run_id FROM qa.check_results WHERE version_id = ?", [v]) == [(run_id,)]
    # a re-parse of the same document (ingest --force) keeps what the reviewer read
    forced = ingest_documents([doc], warehouse=cfg.db_path, data_docs=False, skip_known=False)
    assert [d.state for d in forced.documents] == ["promoted"]
    assert q(cfg, "SELECT value, ocr_status FROM pub.cells WHERE version_id = ? AND address = ?", [v, TOTAL]) == [
        (printed, "confirmed")
    ]


def test_confirming_the_odd_value_as_printed_leaves_the_publishers_error_and_the_other_cells(quarantined):
    cfg, doc, printed = quarantined
    result = _confirm(cfg, doc, TOTAL, str(printed + 10))
    assert result.redecision is not None and result.redecision.after == "quarantined"
    # the components of the failing row total were OCR-read as well: still waiting for a look
    assert "t3.new_received.natural_person" in result.still_unverified and TOTAL not in result.still_unverified
    failing = {
        r[0]
        for r in q(cfg, "SELECT rule_id FROM qa.check_results WHERE version_id = ? AND outcome = 'fail'", [vid(doc)])
    }
    assert "S_OCR_VERIFIED" in failing and any(r.startswith("T3_") for r in failing)
    # a corrected confirmation replaces the first one and promotes
    fixed = _confirm(cfg, doc, TOTAL, str(printed))
    assert fixed.action == "updated" and fixed.previous == str(printed + 10)
    assert fixed.redecision is not None and fixed.redecision.after == "promoted"


@pytest.mark.parametrize(
    ("address", "value", "expected"),
    [
        ("t3.nonsense.total", "1", "has no cell"),
        (TOTAL, "1O", "is not a value of cell"),
        (TOTAL, "", "is not a value of cell"),
    ],
)
def test_refused_confirmations_say_what_to_do(quarantined, address, value, expected):
    cfg, doc, _printed = quarantined
    with pytest.raises(ConfirmError, match=expected):
        _confirm(cfg, doc, address, value)
    assert q(cfg, "SELECT count(*) FROM qa.ocr_confirmations") == [(0,)]


def test_a_text_layer_cell_is_not_confirmed(tmp_path):
    cfg = WarehouseConfig.resolve(tmp_path / "xxgk.duckdb")
    doc = synthetic_report("示例县财政局", 2023, synthetic_cells("gov2021", seed=11))
    ingest_documents([doc], warehouse=cfg.db_path, data_docs=False)
    with pytest.raises(ConfirmError, match="not by OCR"):
        _confirm(cfg, doc, TOTAL, "1")


def test_cli_confirm_and_confirmations(quarantined):
    cfg, doc, printed = quarantined
    done = cli(cfg, "confirm", vid(doc), TOTAL, "--value", str(printed), "--by", "张三")
    assert done.exit_code == 0, done.output
    assert f"已确认 {TOTAL} = {printed}" in done.output and "已隔离 → 已发布" in done.output
    listed = cli(cfg, "confirmations", "--json")
    rows = json.loads(listed.output)
    assert [(r["address"], r["value"], r["confirmed_by"], r["state"]) for r in rows] == [
        (TOTAL, str(printed), "张三", "promoted")
    ]
    bad = cli(cfg, "confirm", vid(doc), TOTAL, "--value", "abc")
    assert bad.exit_code == 2 and "is not a value of cell" in bad.output
