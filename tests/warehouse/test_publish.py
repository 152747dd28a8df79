"""Publishing to another dlt destination, chosen by dlt settings alone (warehouse/publish.py).

The destination here is dlt's ``sqlalchemy`` destination on a SQLite file — a different engine than
DuckDB, available offline.  Every test compares the destination with the DuckDB ``pub`` layer row by
row, through revisions, waivers, withdrawals, failures and ``--full``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from whkit import cli, hongze, ingest_once, private_copy, vid

from flows.ingest import ingest_documents
from warehouse.config import WarehouseConfig
from warehouse.publish import SLOT_TABLES, TOMBSTONE, PublishFailed, make_pipeline, publish
from warehouse.synthetic import not_statutory, synthetic_cells, synthetic_report

ENV_TYPE = "PIPELINES__XXGK_PUBLISH__DESTINATION_TYPE"
ENV_CREDS = "DESTINATION__SQLALCHEMY__CREDENTIALS"
REASON = "原件如此，已向发布机关核实"


def warehouse_rows(cfg: WarehouseConfig, sql: str) -> list[tuple]:
    con = duckdb.connect(str(cfg.db_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


class Dest:
    """The SQLite destination: dlt's sqlalchemy destination attaches dataset ``xxgk`` as ``<file>__xxgk.db``."""

    def __init__(self, path: Path):
        self.path = path
        self.dataset_file = path.with_name(f"{path.stem}__xxgk{path.suffix}")

    @property
    def url(self) -> str:
        return f"sqlite:///{self.path}"

    def rows(self, sql: str) -> list[tuple]:
        con = sqlite3.connect(self.dataset_file)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    def loads(self) -> int:
        return self.rows("SELECT count(*) FROM _dlt_loads")[0][0]


def pub_cells(cfg: WarehouseConfig) -> set[tuple[str, str, float | None]]:
    return {
        (v, a, None if x is None else float(x))
        for v, a, x in warehouse_rows(cfg, "SELECT version_id, address, value FROM pub.cells")
    }


def dest_cells(dest: Dest) -> set[tuple[str, str, float | None]]:
    return {
        (v, a, None if x is None else float(x)) for v, a, x in dest.rows("SELECT version_id, address, value FROM cells")
    }


def assert_mirrors_pub(cfg: WarehouseConfig, dest: Dest) -> None:
    """Every slot table at the destination holds exactly the rows of ``pub`` (values included)."""
    published = warehouse_rows(cfg, "SELECT version_id, agency_key || '|' || year FROM pub.report_versions")
    assert sorted(dest.rows("SELECT version_id, report_key FROM report_versions")) == sorted(published)
    assert dest_cells(dest) == pub_cells(cfg)
    checks = warehouse_rows(cfg, "SELECT version_id, rule_id, instance, outcome, waived FROM pub.check_results")
    assert sorted(dest.rows("SELECT version_id, rule_id, instance, outcome, waived FROM check_results")) == sorted(
        (v, r, i, o, int(w)) for v, r, i, o, w in checks
    )
    for table in SLOT_TABLES:
        assert dest.rows(f"SELECT count(*) FROM {table} WHERE {TOMBSTONE}") == [(0,)], table
    states = warehouse_rows(cfg, "SELECT version_id, state FROM qa.version_state")
    assert sorted(dest.rows("SELECT version_id, state FROM version_state")) == sorted(states)


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> tuple[Path, dict[str, dict[str, Any]]]:
    """One ingest: A promoted, B quarantined (表四 总计 0), E rejected (not a statutory report)."""
    root = tmp_path_factory.mktemp("publish-base")
    docs = {
        "A": synthetic_report("示例市教育局", 2023, synthetic_cells("gov2021", seed=3)),
        "B": hongze("示例区人民政府"),
        "E": not_statutory("notice.html"),
    }
    return ingest_once(root, docs, ["promoted", "quarantined", "rejected"]), docs


@pytest.fixture()
def wh(base, tmp_path) -> tuple[WarehouseConfig, dict[str, dict[str, Any]]]:
    root, docs = base
    return private_copy(root, tmp_path), docs


@pytest.fixture()
def dest(tmp_path, monkeypatch) -> Dest:
    """dlt settings only (the environment form of .dlt/config.toml and secrets.toml): no code names SQLite."""
    d = Dest(tmp_path / "published.db")
    monkeypatch.setenv(ENV_TYPE, "sqlalchemy")
    monkeypatch.setenv(ENV_CREDS, d.url)
    return d


def test_without_a_destination_the_duckdb_file_is_the_warehouse(wh, monkeypatch):
    cfg, _ = wh
    monkeypatch.delenv(ENV_TYPE, raising=False)
    assert publish(cfg).configured is False
    result = cli(cfg, "publish")
    assert result.exit_code == 2
    assert "no publish destination configured" in result.output
    assert "[pipelines.xxgk_publish]" in result.output


def test_first_publish_copies_pub_and_a_second_sends_nothing(wh, dest):
    cfg, docs = wh
    first = publish(cfg)
    assert first.destination.startswith("sqlalchemy:sqlite:///")
    assert (first.slots_sent, first.slots_deleted) == (1, 0)
    assert first.tables_replaced == ["rules", "template_cells", "version_state"]  # no acquisitions: no flow ran
    assert first.rows["report_versions"] == 2  # the tombstone of the slot and its live row
    assert_mirrors_pub(cfg, dest)
    assert dest.rows("SELECT report_key FROM report_versions") == [("示例市教育局|2023",)]
    assert {r for (r,) in dest.rows("SELECT version_id FROM cells")} == {vid(docs["A"])}
    assert sorted(dest.rows("SELECT version_id, state FROM version_state")) == sorted(
        [(vid(docs["A"]), "promoted"), (vid(docs["B"]), "quarantined"), (vid(docs["E"]), "rejected")]
    )
    quarantined = dest.rows(f"SELECT failing_rules FROM version_state WHERE version_id = '{vid(docs['B'])}'")
    assert "T4_BLOCK_TOTAL" in quarantined[0][0]
    assert dest.rows("SELECT count(*) FROM rules") == warehouse_rows(cfg, "SELECT count(*) FROM ref.rules")
    loads = dest.loads()

    status = cli(cfg, "status", "--json")
    assert status.exit_code == 0
    assert [(p["destination"], p["reports"]) for p in json.loads(status.stdout)["publications"]] == [
        (first.destination, 1)
    ]
    assert f"发布目标 {first.destination}：1 份报告" in cli(cfg, "status").output

    again = publish(cfg)
    assert (again.slots_sent, again.slots_deleted, again.tables_replaced) == (0, 0, [])
    assert dest.loads() == loads  # nothing was loaded at all
    assert_mirrors_pub(cfg, dest)


def test_a_revised_report_replaces_its_slot(wh, dest):
    cfg, docs = wh
    publish(cfg)
    revised = synthetic_report("示例市教育局", 2023, synthetic_cells("gov2021", seed=4), revision=1)
    summary = ingest_documents([revised], warehouse=cfg, data_docs=False)
    assert [d.state for d in summary.documents] == ["promoted"]
    result = publish(cfg)
    assert (result.slots_sent, result.slots_deleted) == (1, 0)
    assert "version_state" in result.tables_replaced
    assert dest.rows("SELECT version_id FROM report_versions WHERE report_key = '示例市教育局|2023'") == [
        (vid(revised),)
    ]
    old = vid(docs["A"])
    for table in SLOT_TABLES:
        assert dest.rows(f"SELECT count(*) FROM {table} WHERE version_id = '{old}'") == [(0,)], table
    assert dest.rows(f"SELECT state FROM version_state WHERE version_id = '{old}'") == [("superseded",)]
    assert_mirrors_pub(cfg, dest)


def test_a_waiver_publishes_and_its_withdrawal_deletes_the_slot(wh, dest):
    cfg, docs = wh
    publish(cfg)
    b = vid(docs["B"])
    assert cli(cfg, "waive", b, "T4_BLOCK_TOTAL", "--reason", REASON).exit_code == 0
    result = publish(cfg)
    assert (result.slots_sent, result.slots_deleted) == (1, 0)
    waived = dest.rows(f"SELECT instance FROM check_results WHERE version_id = '{b}' AND waived ORDER BY 1")
    assert waived == [("litigation_after_review",), ("review",)]  # both blocks of T4_BLOCK_TOTAL
    assert_mirrors_pub(cfg, dest)

    assert cli(cfg, "unwaive", b, "T4_BLOCK_TOTAL").exit_code == 0
    result = publish(cfg)
    assert (result.slots_sent, result.slots_deleted) == (0, 1)
    for table in SLOT_TABLES:
        assert dest.rows(f"SELECT count(*) FROM {table} WHERE version_id = '{b}'") == [(0,)], table
    assert dest.rows(f"SELECT state FROM version_state WHERE version_id = '{b}'") == [("quarantined",)]
    assert_mirrors_pub(cfg, dest)


def test_full_makes_an_exact_copy_again(wh, dest):
    cfg, _ = wh
    publish(cfg)
    con = sqlite3.connect(dest.dataset_file)
    con.execute("DELETE FROM cells WHERE address LIKE 't3.%'")  # someone damaged the copy
    con.commit()
    con.close()
    assert publish(cfg).slots_sent == 0  # the fingerprints cannot see it …
    assert dest_cells(dest) != pub_cells(cfg)
    result = publish(cfg, full=True)  # … --full replaces every table
    assert result.full and result.slots_sent == 1
    assert result.rows["report_versions"] == 1  # no tombstones: every table is replaced
    assert_mirrors_pub(cfg, dest)
    assert publish(cfg).slots_sent == 0


def test_a_failed_publish_records_nothing_and_the_next_one_sends_it(wh, dest, monkeypatch, tmp_path):
    cfg, _ = wh
    monkeypatch.setenv(ENV_CREDS, f"sqlite:///{tmp_path}/no/such/dir/published.db")
    with pytest.raises(PublishFailed) as caught:
        publish(cfg)
    message = str(caught.value)
    assert "\n" not in message and "publishing to sqlalchemy:" in message and "xxgk publish" in message
    assert warehouse_rows(cfg, "SELECT count(*) FROM qa.publications") == [(0,)]

    monkeypatch.setenv(ENV_CREDS, dest.url)
    assert publish(cfg).slots_sent == 1
    assert_mirrors_pub(cfg, dest)


@pytest.mark.skipif(importlib.util.find_spec("psycopg2") is not None, reason="the PostgreSQL driver is installed")
def test_a_destination_without_its_driver_says_what_to_install(wh, monkeypatch):
    cfg, _ = wh
    monkeypatch.setenv(ENV_TYPE, "postgres")
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", "postgresql://xxgk:secret@127.0.0.1:9/warehouse")
    with pytest.raises(PublishFailed) as caught:
        publish(cfg)
    assert 'pip install "dlt[postgres]"' in str(caught.value)
    assert "secret" not in str(caught.value)
    result = cli(cfg, "publish")
    assert result.exit_code == 1
    assert "发布失败" in result.output and "dlt[postgres]" in result.output


def test_the_destination_is_read_from_dlt_config_files(wh, tmp_path):
    """`xxgk publish` in a fresh process whose only setting is the project's .dlt/config.toml + secrets.toml."""
    cfg, docs = wh
    project = tmp_path / "project"
    (project / ".dlt").mkdir(parents=True)
    (project / ".dlt" / "config.toml").write_text(
        '[pipelines.xxgk_publish]\ndestination_type = "sqlalchemy"\ndataset_name = "gov_reports"\n', encoding="utf-8"
    )
    target = tmp_path / "bi.db"
    (project / ".dlt" / "secrets.toml").write_text(
        f'[destination.sqlalchemy]\ncredentials = "sqlite:///{target}"\n', encoding="utf-8"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DLT_", "PIPELINES__", "DESTINATION__", "XXGK"))}
    env["XXGK_PROJECT_DIR"] = str(project)
    command = [sys.executable, "-c", "from flows.cli import app; app()", "publish", "-w", str(cfg.db_path), "--json"]
    proc = subprocess.run(
        command, capture_output=True, text=True, env=env, cwd=Path(__file__).resolve().parents[2], timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["dataset"] == "gov_reports" and out["slots_sent"] == 1
    con = sqlite3.connect(tmp_path / "bi__gov_reports.db")
    try:
        assert con.execute("SELECT version_id FROM report_versions").fetchall() == [(vid(docs["A"]),)]
        cells = {(a, float(v)) for a, v in con.execute("SELECT address, value FROM cells WHERE value IS NOT NULL")}
    finally:
        con.close()
    printed = {
        (a, float(v)) for a, v in warehouse_rows(cfg, "SELECT address, value FROM pub.cells WHERE value IS NOT NULL")
    }
    assert cells == printed and len(cells) > 150


def test_decimal_amounts_keep_their_value(wh, dest):
    """表二 收费金额 (万元) is DECIMAL(20,6) in DuckDB; the destination gets the same number, not a rounded one."""
    cfg, _ = wh
    publish(cfg)
    amounts = warehouse_rows(cfg, "SELECT address, value FROM pub.cells WHERE value <> round(value)")
    assert amounts, "the synthetic report should have fractional amounts"
    got = dict(dest.rows("SELECT address, value FROM cells"))
    for address, value in amounts:
        assert Decimal(str(got[address])) == value, address


# A child process that publishes and stops (sleeps) after dlt's first load job at the destination
# committed: the destination holds part of the load, qa.publications nothing of it.
KILLED_CHILD = """
import os, sys, time
from pathlib import Path
from dlt.common.destination.client import RunnableLoadJob
warehouse, marker = sys.argv[1:3]
run = RunnableLoadJob.run_managed
def paused(self, *args, **kwargs):
    run(self, *args, **kwargs)
    Path(marker).write_text(str(os.getpid()))
    time.sleep(600)
RunnableLoadJob.run_managed = paused
from warehouse.config import WarehouseConfig
from warehouse.publish import publish
publish(WarehouseConfig.resolve(warehouse))
"""


def test_a_publish_killed_mid_load_is_completed_by_the_next_one(wh, dest, tmp_path):
    cfg, _ = wh
    marker = tmp_path / "paused"
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_CHILD, str(cfg.db_path), str(marker)],
        cwd=Path(__file__).resolve().parents[2],
        env=dict(os.environ),
    )
    try:
        for _ in range(1200):
            if marker.exists() or child.poll() is not None:
                break
            time.sleep(0.1)
        assert marker.exists(), f"the child never reached the pause (exit {child.poll()})"
    finally:
        child.kill()
        child.wait()
    assert warehouse_rows(cfg, "SELECT count(*) FROM qa.publications") == [(0,)]
    assert make_pipeline(cfg).has_pending_data  # the killed load package is still there
    result = publish(cfg)
    assert result.slots_sent == 1
    assert not make_pipeline(cfg).has_pending_data
    assert_mirrors_pub(cfg, dest)
    assert publish(cfg).slots_sent == 0


def test_another_duckdb_file_is_a_destination_too_and_the_warehouse_stays_put(wh, monkeypatch, tmp_path):
    """``destination_type = "duckdb"`` with its own file: the copy lands there, while the working
    warehouse keeps loading into its own file (its dlt destination is given explicitly, not by the setting)."""
    cfg, _ = wh
    copy = tmp_path / "analysts.duckdb"
    monkeypatch.setenv(ENV_TYPE, "duckdb")
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(copy))
    result = publish(cfg)
    assert result.destination.startswith("duckdb:") and result.slots_sent == 1
    revised = synthetic_report("示例市教育局", 2023, synthetic_cells("gov2021", seed=4), revision=1)
    assert [d.state for d in ingest_documents([revised], warehouse=cfg, data_docs=False).documents] == ["promoted"]
    assert warehouse_rows(cfg, f"SELECT count(*) FROM stg.report_versions WHERE version_id = '{vid(revised)}'") == [
        (1,)
    ]
    assert publish(cfg).slots_sent == 1
    con = duckdb.connect(str(copy), read_only=True)
    try:
        assert con.execute("SELECT version_id FROM xxgk.report_versions").fetchall() == [(vid(revised),)]
        got = {
            (v, a, None if x is None else float(x))
            for v, a, x in con.execute("SELECT version_id, address, value FROM xxgk.cells").fetchall()
        }
        assert not con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'stg'").fetchall()[
            0
        ][0]
    finally:
        con.close()
    assert got == pub_cells(cfg)
