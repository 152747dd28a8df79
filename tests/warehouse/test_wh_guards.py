"""Guards of the warehouse: schema contracts, published-shape drift, atomic promotion, locks, configuration."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pytest
from whkit import lock_held

from flows.ingest import ingest_documents
from warehouse import schema
from warehouse.checks import Decision
from warehouse.config import WarehouseConfig
from warehouse.db import WarehouseError, WarehouseLocked, connect
from warehouse.frames import RunInfo, build_frames
from warehouse.pipeline import LoadFailed, load_frames
from warehouse.promote import apply_run
from warehouse.synthetic import synthetic_cells, synthetic_report


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    cfg = WarehouseConfig.resolve(tmp_path_factory.mktemp("guards") / "xxgk.duckdb")
    doc = synthetic_report("示例市教育局", 2023, synthetic_cells("gov2021", seed=1))
    summary = ingest_documents([doc], warehouse=cfg, data_docs=False)
    assert summary.counts["promoted"] == 1
    return cfg, doc


def _count(cfg: WarehouseConfig, sql: str) -> int:
    con = duckdb.connect(str(cfg.db_path))
    try:
        return con.execute(sql).fetchall()[0][0]
    finally:
        con.close()


def test_schema_contract_freezes_staging_columns_and_types(loaded):
    cfg, doc = loaded
    run = RunInfo("contract-test", datetime.now(UTC))
    frames = build_frames([synthetic_report("示例市教育局", 2024, synthetic_cells("gov2021", seed=2))], run)
    frames["cells"] = frames["cells"].append_column("unexpected_col", pa.array(["x"] * frames["cells"].num_rows))
    with pytest.raises(LoadFailed, match="(?i)contract"):
        load_frames(frames, cfg)
    frames = build_frames([synthetic_report("示例市教育局", 2024, synthetic_cells("gov2021", seed=2))], run)
    frames["cells"] = frames["cells"].set_column(
        frames["cells"].schema.get_field_index("page"), "page", pa.array(["p1"] * frames["cells"].num_rows)
    )
    with pytest.raises(LoadFailed):
        load_frames(frames, cfg)
    assert _count(cfg, "SELECT count(*) FROM stg.report_versions WHERE year = 2024") == 0
    # the pipeline is usable again afterwards (pending packages were aborted)
    ok = ingest_documents(
        [synthetic_report("示例市教育局", 2024, synthetic_cells("gov2021", seed=3))], warehouse=cfg, data_docs=False
    )
    assert ok.counts["promoted"] == 1


def test_published_shape_drift_is_refused(tmp_path):
    con = duckdb.connect(str(tmp_path / "drift.duckdb"))
    try:
        schema.ensure_layers(con)
        con.execute("ALTER TABLE pub.cells ADD COLUMN surprise VARCHAR")
        with pytest.raises(WarehouseError, match="pub.cells has columns"):
            schema.ensure_layers(con)
    finally:
        con.close()


def test_promotion_is_one_transaction(loaded):
    """A failure inside the promotion transaction leaves qa and pub exactly as they were."""
    cfg, _doc = loaded
    new = synthetic_report("示例县人民政府", 2023, synthetic_cells("gov2021", seed=9))
    run = RunInfo("atomic-test", datetime.now(UTC))
    load_frames(build_frames([new], run), cfg)
    vid = new["source"]["sha256"][:16]
    con = connect(cfg.db_path)
    try:
        (old_run,) = con.execute("SELECT min(run_id) FROM qa.runs").fetchall()[0]
        before = [
            con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
            for t in ("pub.report_versions", "pub.cells", "qa.version_state", "qa.check_results")
        ]
        empty_checks = pa.Table.from_pylist([], schema=schema.CHECK_RESULTS)
        with pytest.raises(duckdb.ConstraintException):
            apply_run(
                con,
                run_id=old_run,
                decided_at=run.loaded_at,
                order=[vid],
                decisions={vid: Decision(vid, "promoted", [], [], None)},
                rejected={},
                checks=empty_checks,
                run_row={"run_id": old_run},  # duplicate run id: the last statement of the transaction fails
            )
        after = [
            con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]
            for t in ("pub.report_versions", "pub.cells", "qa.version_state", "qa.check_results")
        ]
    finally:
        con.close()
    assert after == before


def _contents(cfg: WarehouseConfig) -> list[tuple]:
    tables = ("stg.report_versions", "stg.cells", "qa.version_state", "qa.check_results", "pub.cells", "qa.runs")
    con = duckdb.connect(str(cfg.db_path))
    try:
        return [tuple(con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()) for t in tables]
    finally:
        con.close()


def test_locked_warehouse_gives_one_line_with_pid(loaded):
    """A second process holding the file: a one-line error naming it, and nothing written or broken."""
    cfg, doc = loaded
    before = _contents(cfg)
    other = synthetic_report("示例市水务局", 2023, synthetic_cells("gov2021", seed=11))
    with lock_held(cfg.db_path) as holder:
        with pytest.raises(WarehouseLocked) as exc:
            ingest_documents([doc, other], warehouse=cfg, data_docs=False)
        message = str(exc.value)
        assert f"正被进程 {holder.pid}" in message and f"kill {holder.pid}" in message and "\n" not in message
        assert "正被进程" in message and "重试" in message
    time.sleep(0.1)
    assert _contents(cfg) == before
    assert ingest_documents([doc], warehouse=cfg, data_docs=False).counts["unchanged"] == 1


def test_configuration_resolution(tmp_path, monkeypatch):
    monkeypatch.delenv("XXGK__WAREHOUSE_PATH", raising=False)
    monkeypatch.delenv("XXGK__DLT_DIR", raising=False)
    monkeypatch.delenv("XXGK__GX_DIR", raising=False)
    monkeypatch.setenv("XXGK_PROJECT_DIR", str(tmp_path))
    default = WarehouseConfig.resolve()
    assert default.db_path == tmp_path / "warehouse" / "xxgk.duckdb"
    assert default.dlt_dir == tmp_path / "warehouse" / ".dlt_data"
    assert default.gx_dir == tmp_path / "warehouse" / "gx"
    (tmp_path / ".dlt").mkdir()
    (tmp_path / ".dlt" / "config.toml").write_text('[xxgk]\nwarehouse_path = "data/wh.duckdb"\n', encoding="utf-8")
    assert WarehouseConfig.resolve().db_path == tmp_path / "data" / "wh.duckdb"
    monkeypatch.setenv("XXGK__WAREHOUSE_PATH", str(tmp_path / "env" / "w.duckdb"))
    from_env = WarehouseConfig.resolve()
    assert from_env.db_path == tmp_path / "env" / "w.duckdb"
    assert from_env.dlt_dir == tmp_path / "env" / ".dlt_data"
    assert WarehouseConfig.resolve(tmp_path / "arg.duckdb").db_path == tmp_path / "arg.duckdb"
