"""``ingest_year`` ends by publishing to the dlt destination the settings name (here SQLite via SQLAlchemy)."""

from __future__ import annotations

import sqlite3
from datetime import date

import duckdb
import pytest

from flows.pipeline import ingest_year

pytestmark = pytest.mark.usefixtures("prefect_harness")


def test_the_year_run_publishes_reports_and_missing_ones(site_kit, tmp_path, monkeypatch):
    Spec = site_kit.Spec
    site = site_kit.serve(
        [Spec("edu", "示例市教育局", "html"), Spec("gone", "示例市审计局", "html")], [2023], absent=[("gone", 2023)]
    )
    target = tmp_path / "bi.db"
    monkeypatch.setenv("PIPELINES__XXGK_PUBLISH__DESTINATION_TYPE", "sqlalchemy")
    monkeypatch.setenv("DESTINATION__SQLALCHEMY__CREDENTIALS", f"sqlite:///{target}")
    wh = tmp_path / "xxgk.duckdb"
    params = dict(
        sources=str(site.registry), warehouse=str(wh), min_interval=0.0, today=date(2024, 6, 1), data_docs=False
    )

    first = ingest_year(2023, **params)
    assert first["counts"]["promoted"] == 1 and first["counts"]["missing"] == 1
    assert first["publish"]["slots_sent"] == 1
    assert "acquisitions" in first["publish"]["tables_replaced"]
    con = sqlite3.connect(tmp_path / "bi__xxgk.db")
    try:
        assert con.execute("SELECT agency, year FROM report_versions").fetchall() == [("示例市教育局", 2023)]
        assert dict(con.execute("SELECT agency_id, status FROM acquisitions").fetchall()) == {
            "edu": "fetched",
            "gone": "missing",
        }
        dest_cells = {(a, float(v)) for a, v in con.execute("SELECT address, value FROM cells WHERE value IS NOT NULL")}
    finally:
        con.close()
    wcon = duckdb.connect(str(wh), read_only=True)
    try:
        rows = wcon.execute("SELECT address, value FROM pub.cells WHERE value IS NOT NULL").fetchall()
        pub_cells = {(a, float(v)) for a, v in rows}
    finally:
        wcon.close()
    assert dest_cells == pub_cells and len(pub_cells) > 150

    second = ingest_year(2023, **params)  # nothing new: no report is sent again
    assert second["publish"]["slots_sent"] == 0 and second["publish"]["slots_deleted"] == 0
