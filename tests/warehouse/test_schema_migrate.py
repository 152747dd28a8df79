"""A warehouse written when three engines decided each check is brought to the one-verdict shape."""

from __future__ import annotations

import duckdb

from warehouse.db import table_columns
from warehouse.schema import CHECK_RESULTS, RUNS, columns_of, duck_type, ensure_layers


def test_engine_verdict_columns_are_dropped_and_rows_kept(tmp_path):
    con = duckdb.connect(str(tmp_path / "old.duckdb"))
    try:
        con.execute("CREATE SCHEMA qa")
        old = columns_of(CHECK_RESULTS)
        at = old.index("message") + 1
        old = old[:at] + ["gx_outcome", "sql_outcome", "py_outcome"] + old[at:]
        types = {f.name: duck_type(f.type) for f in CHECK_RESULTS}
        con.execute("CREATE TABLE qa.check_results (" + ", ".join(f"{c} {types.get(c, 'VARCHAR')}" for c in old) + ")")
        con.execute(
            "INSERT INTO qa.check_results (version_id, rule_id, instance, outcome, message, gx_outcome, sql_outcome, "
            "py_outcome) VALUES ('v1', 'T3_BALANCE', 'total', 'fail', '表三 总计列：…', 'fail', 'fail', 'fail')"
        )
        runs = {f.name: duck_type(f.type) for f in RUNS}
        con.execute(
            "CREATE TABLE qa.runs (" + ", ".join(f"{c} {t}" for c, t in runs.items()) + ", engines_disagree BIGINT)"
        )
        ensure_layers(con)
        assert table_columns(con, "qa", "check_results") == columns_of(CHECK_RESULTS)
        assert table_columns(con, "qa", "runs") == columns_of(RUNS)
        assert con.execute("SELECT version_id, outcome, message FROM qa.check_results").fetchall() == [
            ("v1", "fail", "表三 总计列：…")
        ]
    finally:
        con.close()
