"""A run killed with SIGKILL in the middle of the dlt load or of the promotion transaction, then run
again, leaves the warehouse identical to one clean run; running the same ingest twice changes nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest
from factory import break_t4_total, make_facts, render, render_notice_html

from flows.ingest import ingest_paths
from warehouse.config import WarehouseConfig

ROOT = Path(__file__).resolve().parents[2]
STAGED = ("stg.report_versions", "stg.cells", "stg.parse_issues", "stg.narrative_facts")
# Columns that name a run or a moment: they differ between any two runs, so they are not compared.
VOLATILE = {
    "run_id",
    "loaded_at",
    "parsed_at",
    "checked_at",
    "decided_at",
    "promoted_at",
    "promoted_run_id",
    "started_at",
    "finished_at",
    "seconds_parse",
    "seconds_load",
    "seconds_validate",
    "seconds_promote",
}

# The ingest of a child process that stops (sleeps) at ``point`` after writing ``marker``:
# "load"    — dlt committed the merge of one staging table into stg; the merges of the other three
#             (dlt runs them in parallel threads) wait at a lock that is never released;
# "promote" — inside the promotion transaction, after the published rows were inserted.
CHILD = """
import os, sys, threading, time
from pathlib import Path
docs, warehouse, point, marker = sys.argv[1:5]

def pause():
    Path(marker).write_text(str(os.getpid()))
    time.sleep(600)

if point == "load":
    from dlt.destinations.job_client_impl import SqlLoadJob
    run, gate = SqlLoadJob.run, threading.Lock()
    def paused(self):
        gate.acquire()
        run(self)
        pause()
    SqlLoadJob.run = paused
else:
    import warehouse.promote as promote
    publish = promote.publish
    def paused(*args, **kwargs):
        publish(*args, **kwargs)
        pause()
    promote.publish = paused

from flows.ingest import ingest_paths
ingest_paths([docs], warehouse=warehouse, data_docs=False)
"""


def write_docs(folder: Path) -> None:
    """Seven documents: promoted, quarantined (表四), 2019 template, in three formats, and a notice."""
    folder.mkdir()
    for i, fmt in enumerate(("html", "text", "html", "docx")):
        facts = make_facts(f"示例市第{i}局", 2023, seed=40 + i)
        (folder / f"r{i}.{fmt}").write_bytes(render(facts, fmt))
    bad = make_facts("示例县人民政府", 2023, seed=50)
    bad["cells"] = break_t4_total(bad["cells"], "review", (10, 1, 0, 0), 0)
    (folder / "bad.txt").write_bytes(render(bad, "text"))
    (folder / "old.html").write_bytes(render(make_facts("示例市交通运输局", 2020, template="gov2019", seed=51), "html"))
    (folder / "notice.html").write_bytes(render_notice_html())


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """Every table of stg (without dlt's own), qa, pub and ref, without run ids and timestamps, sorted."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = con.execute(
            """
            SELECT table_schema, table_name FROM information_schema.tables
            WHERE table_type = 'BASE TABLE' AND table_schema IN ('stg', 'qa', 'pub', 'ref')
              AND table_name NOT LIKE '\\_dlt%' ESCAPE '\\'
            ORDER BY ALL
            """
        ).fetchall()
        out: dict[str, list[tuple]] = {}
        for schema, table in tables:
            cols = [
                c
                for (c,) in con.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
                    "ORDER BY ordinal_position",
                    [schema, table],
                ).fetchall()
                if c not in VOLATILE
            ]
            sql = f"SELECT {', '.join(cols)} FROM {schema}.{table} ORDER BY ALL"
            out[f"{schema}.{table}"] = con.execute(sql).fetchall()
        return out
    finally:
        con.close()


def without(snap: dict[str, list[tuple]], *tables: str) -> dict[str, list[tuple]]:
    return {t: rows for t, rows in snap.items() if t not in tables}


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> dict[str, Any]:
    """The documents and a warehouse made by one clean run."""
    root = tmp_path_factory.mktemp("kill")
    write_docs(root / "docs")
    cfg = WarehouseConfig.resolve(root / "clean" / "xxgk.duckdb")
    summary = ingest_paths([root / "docs"], warehouse=cfg, data_docs=False)
    states = sorted(d.state for d in summary.documents)
    assert states == ["promoted"] * 5 + ["quarantined", "rejected"]
    return {"root": root, "docs": root / "docs", "cfg": cfg, "snapshot": snapshot(cfg.db_path)}


def kill_during(point: str, docs: Path, db: Path, marker: Path) -> None:
    """Run the ingest in a child process and SIGKILL it once it reached ``point``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(docs), str(db), point, str(marker)], env=env)
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert child.poll() is None, f"the child ended (rc {child.returncode}) before reaching {point}"
            assert time.monotonic() < deadline, f"the child never reached {point}"
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def pending_packages(cfg: WarehouseConfig) -> bool:
    from warehouse.pipeline import make_pipeline

    return make_pipeline(cfg).has_pending_data


@pytest.mark.parametrize("point", ["load", "promote"])
def test_killed_run_then_rerun_equals_one_clean_run(clean, tmp_path, point):
    cfg = WarehouseConfig.resolve(tmp_path / "wh" / "xxgk.duckdb")
    kill_during(point, clean["docs"], cfg.db_path, tmp_path / "marker")
    half = snapshot(cfg.db_path)
    assert half.get("pub.report_versions", []) == []  # nothing was published by the killed run
    if point == "load":
        assert pending_packages(cfg)  # dlt's package of the killed run is still pending …
        merged = [t for t in STAGED if half.get(t)]
        assert len(merged) == 1 and half[merged[0]] == clean["snapshot"][merged[0]]  # one table of four merged

        # the next run loads *its* documents, not the killed run's package (dlt's default)
        subset = ingest_paths([clean["docs"] / "r0.html", clean["docs"] / "bad.txt"], warehouse=cfg, data_docs=False)
        assert [d.state for d in subset.documents] == ["promoted", "quarantined"]
        assert not pending_packages(cfg)  # … and a run settles it
        assert len(snapshot(cfg.db_path)["qa.version_state"]) == 2
    else:
        assert half["stg.report_versions"] == clean["snapshot"]["stg.report_versions"]
        assert half["qa.check_results"] == [] and half["qa.version_state"] == []

    again = ingest_paths([clean["docs"]], warehouse=cfg, data_docs=False)
    assert again.counts["unchanged"] == (2 if point == "load" else 0)
    after = snapshot(cfg.db_path)
    assert after.keys() == clean["snapshot"].keys()
    ignored = ("qa.runs", "qa.batch") if point == "load" else ()  # two runs instead of one
    for table, rows in without(clean["snapshot"], *ignored).items():
        assert after[table] == rows, table


def test_running_the_same_ingest_twice_changes_nothing(clean):
    cfg = clean["cfg"]
    second = ingest_paths([clean["docs"]], warehouse=cfg, data_docs=False)
    assert second.counts["unchanged"] == 7 and all(not d.new for d in second.documents)
    assert snapshot(cfg.db_path) == clean["snapshot"]
    forced = ingest_paths([clean["docs"]], warehouse=cfg, data_docs=False, force=True)
    assert forced.counts["unchanged"] == 0
    after = snapshot(cfg.db_path)
    assert without(after, "qa.runs") == without(clean["snapshot"], "qa.runs")
    assert len(after["qa.runs"]) == 2
