"""Scale-out: the parse tasks of ``ingest_year`` on a local Dask cluster (prefect-dask), one worker process."""

from __future__ import annotations

import os
from datetime import date

import duckdb
import pytest

from flows.pipeline import ingest_year
from flows.tasks.parse import parse_runner

pytestmark = [pytest.mark.usefixtures("prefect_harness"), pytest.mark.dask]


def test_runner_choice():
    from prefect.task_runners import ProcessPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    assert parse_runner("local", 1) is None  # in the flow's own threads
    assert isinstance(parse_runner("local", 2), ProcessPoolTaskRunner)
    local = parse_runner("dask", 2)
    assert isinstance(local, DaskTaskRunner) and local.cluster_kwargs["n_workers"] == 2
    assert parse_runner("dask://10.0.0.5:8786", 2).address == "tcp://10.0.0.5:8786"
    with pytest.raises(ValueError, match="unknown runner"):
        parse_runner("ray", 2)


def test_parse_tasks_run_on_a_local_dask_cluster(site_kit, tmp_path):
    Spec = site_kit.Spec
    site = site_kit.serve(
        [Spec("d-jyj", "示例市教育局", "docx"), Spec("d-zrzyj", "示例县自然资源局", "html")], [2023], seed=3
    )
    wh = tmp_path / "wh.duckdb"
    out = ingest_year(
        2023,
        sources=str(site.registry),
        warehouse=str(wh),
        runner="dask",
        parse_workers=1,
        min_interval=0.0,
        today=date(2024, 6, 1),
        data_docs=False,
    )
    assert out["counts"]["parsed"] == 2 and out["counts"]["failed"] == 0
    assert out["tasks"]["parse"]["tasks"] == 1
    assert out["tasks"]["parse_pids"] and os.getpid() not in out["tasks"]["parse_pids"]  # parsed in a Dask worker
    con = duckdb.connect(str(wh), read_only=True)
    try:
        versions = con.execute("select agency, year from stg.report_versions order by 1").fetchall()
    finally:
        con.close()
    assert versions == [("示例县自然资源局", 2023), ("示例市教育局", 2023)]
