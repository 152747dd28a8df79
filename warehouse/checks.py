"""The statutory checks of a batch of staged report versions, computed in DuckDB SQL.

``qa.v_facts`` turns the staged data into facts (cells and derived ``meta.*``/``narr.*`` facts, the
same keys as :func:`sources.rules.report_facts`).  ``qa.v_check_inputs`` joins the facts of the
versions listed in ``qa.batch`` (and of their previous-year versions) with the rule instances and
terms in ``ref``; it yields one row per report version × rule × instance with ``lhs``, ``rhs``,
``assessable``, ``lhs_frac`` (the columns Great Expectations validates) and ``sql_outcome`` (the
same decision in SQL).  :func:`assemble_results` adds the Python evaluation (Chinese message,
``py_outcome``) and the GX outcome, and :func:`decide` turns the results into version states.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pandas as pd
import pyarrow as pa

from sources import rules
from warehouse.schema import CHECK_RESULTS

FACTS_VIEW = """
CREATE OR REPLACE VIEW qa.v_facts AS
SELECT version_id, address, CAST(value AS DOUBLE) AS value, semantic, raw FROM stg.cells
UNION ALL
SELECT version_id, 'meta.known.agency', CASE WHEN coalesce(agency, '') <> '' THEN 1.0 ELSE 0.0 END, 'NUMBER', NULL
FROM stg.report_versions WHERE variant IS NOT NULL
UNION ALL
SELECT version_id, 'meta.known.year', CASE WHEN year IS NOT NULL THEN 1.0 ELSE 0.0 END, 'NUMBER', NULL
FROM stg.report_versions WHERE variant IS NOT NULL
UNION ALL
SELECT version_id, 'meta.template_edition',
       CASE template WHEN 'gov2021' THEN 2021.0 WHEN 'gov2019' THEN 2019.0 END, 'NUMBER', template
FROM stg.report_versions WHERE variant IS NOT NULL
UNION ALL
SELECT version_id, 'meta.expected_edition',
       CASE WHEN year >= 2021 THEN 2021.0 WHEN year >= 2019 THEN 2019.0 ELSE 0.0 END, 'NUMBER', NULL
FROM stg.report_versions WHERE variant IS NOT NULL AND year IS NOT NULL
UNION ALL
SELECT version_id, 'meta.published_on',
       CAST(year(published_on) * 10000 + month(published_on) * 100 + day(published_on) AS DOUBLE), 'NUMBER', NULL
FROM stg.report_versions WHERE variant IS NOT NULL AND published_on IS NOT NULL
UNION ALL
SELECT version_id, 'meta.deadline',
       CAST(year(publication_deadline) * 10000 + month(publication_deadline) * 100
            + day(publication_deadline) AS DOUBLE), 'NUMBER', NULL
FROM stg.report_versions WHERE variant IS NOT NULL AND publication_deadline IS NOT NULL
UNION ALL
SELECT v.version_id, 'meta.section.' || s.section_key,
       CASE WHEN list_contains(string_split(coalesce(v.sections, ''), ','), s.section_key) THEN 1.0 ELSE 0.0 END,
       'NUMBER', NULL
FROM stg.report_versions v JOIN ref.sections s ON s.template = v.template
WHERE v.variant IS NOT NULL
UNION ALL
SELECT v.version_id, 'meta.present.' || tc.table_kind,
       CAST(count(c.address) FILTER (WHERE c.semantic <> 'MISSING') AS DOUBLE), 'NUMBER', NULL
FROM stg.report_versions v
JOIN ref.template_cells tc ON tc.variant = v.variant
LEFT JOIN stg.cells c ON c.version_id = v.version_id AND c.address = tc.address
GROUP BY v.version_id, tc.table_kind
UNION ALL
SELECT version_id, 'narr.' || key, value, 'NUMBER', NULL FROM stg.narrative_facts
"""

CHECK_INPUTS_VIEW = """
CREATE OR REPLACE VIEW qa.v_check_inputs AS
WITH inst AS (
  SELECT b.version_id, b.prev_version_id, i.*
  FROM qa.batch b
  JOIN ref.rule_instances i ON i.variant = b.variant
  LEFT JOIN stg.report_versions pv ON pv.version_id = b.prev_version_id
  WHERE i.guard <> 'prev'
     OR (b.prev_version_id IS NOT NULL
         AND (i.prev_edition IS NULL
              OR i.prev_edition = CASE pv.template WHEN 'gov2021' THEN 2021 WHEN 'gov2019' THEN 2019 END))
),
facts AS (
  SELECT f.* FROM qa.v_facts f
  WHERE f.version_id IN (SELECT version_id FROM qa.batch UNION SELECT prev_version_id FROM qa.batch)
),
terms AS (
  SELECT inst.version_id, inst.rule_id, inst.instance, t.side, t.coef, t.const, f.semantic,
         CASE WHEN t.address IS NULL THEN t.const
              WHEN f.semantic IN ('NUMBER', 'ZERO') AND f.value IS NOT NULL THEN f.value
              WHEN f.semantic IN ('EMPTY', 'NA') AND NOT t.is_total THEN 0.0 END AS v,
         (t.address IS NULL OR f.semantic IS NOT NULL) AS present
  FROM inst
  JOIN ref.rule_terms t ON t.variant = inst.variant AND t.rule_id = inst.rule_id AND t.instance = inst.instance
  LEFT JOIN facts f
    ON f.version_id = CASE t.scope WHEN 'prev' THEN inst.prev_version_id ELSE inst.version_id END
   AND f.address = t.address
),
agg AS (
  SELECT version_id, rule_id, instance,
         sum(coef * v) FILTER (WHERE side = 'lhs') AS lhs_sum,
         coalesce(sum(coef * v) FILTER (WHERE side = 'rhs'), 0.0) AS rhs_sum,
         sum(coef * v) FILTER (WHERE side = 'rhs_alt') AS alt_sum,
         bool_and(v IS NOT NULL) FILTER (WHERE side IN ('lhs', 'rhs')) AS ok,
         bool_and(v IS NOT NULL) FILTER (WHERE side = 'rhs_alt') AS alt_ok,
         bool_or(semantic IN ('NUMBER', 'ZERO', 'TEXT')) FILTER (WHERE side = 'lhs') AS lhs_content,
         bool_and(present) FILTER (WHERE side = 'lhs') AS lhs_present,
         count(*) FILTER (WHERE side = 'rhs') AS rhs_terms
  FROM terms GROUP BY version_id, rule_id, instance
),
checked AS (
  SELECT i.version_id, i.rule_id, i.instance, i.seq, i.severity, i.blocking, i.op, i.prev_version_id,
         a.ok,
         CASE WHEN a.ok THEN a.lhs_sum END AS lhs,
         CASE WHEN a.ok AND a.rhs_terms > 0 THEN
              CASE WHEN coalesce(a.alt_ok, false) AND abs(a.lhs_sum - a.alt_sum) <= 1e-6 THEN a.alt_sum
                   ELSE a.rhs_sum END END AS rhs
  FROM inst i JOIN agg a USING (version_id, rule_id, instance)
  WHERE (i.guard <> 'content' OR coalesce(a.lhs_content, false))
    AND (i.guard <> 'lhs_present' OR coalesce(a.lhs_present, false))
)
SELECT version_id || '|' || rule_id || '|' || instance AS check_key,
       version_id, rule_id, instance, seq, severity, blocking, op, prev_version_id,
       lhs, rhs,
       CASE WHEN ok THEN 1.0 ELSE 0.0 END AS assessable,
       abs(lhs - round(lhs)) AS lhs_frac,
       CASE WHEN NOT ok THEN 'not_assessable'
            WHEN op = 'eq' AND abs(lhs - rhs) <= 1e-6 THEN 'pass'
            WHEN op = 'le' AND lhs <= rhs + 1e-6 THEN 'pass'
            WHEN op = 'ge' AND lhs >= rhs - 1e-6 THEN 'pass'
            WHEN op = 'nonneg' AND lhs >= 0 THEN 'pass'
            WHEN op = 'int' AND abs(lhs - round(lhs)) <= 1e-6 THEN 'pass'
            WHEN op = 'nonneg_int' AND lhs >= 0 AND abs(lhs - round(lhs)) <= 1e-6 THEN 'pass'
            ELSE 'fail' END AS sql_outcome
FROM checked
"""

# Columns GX sees; nullable SQL numbers arrive as float64 (pandas nullable Int64 breaks GX pair rules).
GX_COLUMNS = ("check_key", "rule_id", "op", "lhs", "rhs", "assessable", "lhs_frac")


def stage_batch(con: duckdb.DuckDBPyConnection, version_ids: Sequence[str]) -> int:
    """Fill ``qa.batch`` with the statutory versions to validate and their previous-year version.

    The previous-year version of (agency_key, year) is the published one for year − 1 if any,
    else the most recently loaded statutory version for year − 1.  Returns the batch size.
    """
    con.execute("DELETE FROM qa.batch")
    if not version_ids:
        return 0
    con.execute(
        """
        INSERT INTO qa.batch
        SELECT v.version_id, v.variant,
          (SELECT p.version_id FROM stg.report_versions p
             LEFT JOIN pub.report_versions pp ON pp.version_id = p.version_id
            WHERE p.agency_key = v.agency_key AND p.year = v.year - 1 AND p.variant IS NOT NULL
            ORDER BY (pp.version_id IS NOT NULL) DESC, p.loaded_at DESC, p.version_id
            LIMIT 1) AS prev_version_id,
          b.seq
        FROM (SELECT unnest(?::VARCHAR[]) AS version_id, unnest(range(1, len(?::VARCHAR[]) + 1)) AS seq) b
        JOIN stg.report_versions v ON v.version_id = b.version_id
        WHERE v.variant IS NOT NULL
        """,
        [list(version_ids), list(version_ids)],
    )
    return int(con.execute("SELECT count(*) FROM qa.batch").fetchall()[0][0])


def check_inputs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per version × rule × instance of the batch (``qa.v_check_inputs``), floats for GX."""
    df = con.sql("SELECT * FROM qa.v_check_inputs ORDER BY version_id, seq").df()
    for col in ("lhs", "rhs", "assessable", "lhs_frac"):
        df[col] = df[col].astype("float64")
    return df


def batch_facts(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, rules.Fact]]:
    """Facts of the batch versions and of their previous-year versions, by version id."""
    rows = con.execute(
        """
        SELECT version_id, address, value, semantic, raw FROM qa.v_facts
        WHERE version_id IN (SELECT version_id FROM qa.batch UNION SELECT prev_version_id FROM qa.batch)
        """
    ).fetchall()
    out: dict[str, dict[str, rules.Fact]] = defaultdict(dict)
    for vid, address, value, semantic, raw in rows:
        out[vid][address] = rules.Fact(value, semantic or "MISSING", raw)
    return out


def batch_versions(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str | None]]:
    """(version_id, variant, prev_version_id) of the batch, in ingest order."""
    return [
        tuple(r)
        for r in con.execute("SELECT version_id, variant, prev_version_id FROM qa.batch ORDER BY seq").fetchall()
    ]


def python_results(
    versions: Iterable[tuple[str, str, str | None]], facts: Mapping[str, Mapping[str, rules.Fact]]
) -> dict[str, rules.CheckResult]:
    """The reference evaluation of :mod:`sources.rules` on the warehouse facts, by check key."""
    out: dict[str, rules.CheckResult] = {}
    for vid, variant, prev_id in versions:
        this = facts.get(vid, {})
        prev = facts.get(prev_id) if prev_id else None
        for inst in rules.rule_instances(variant):
            result = rules.evaluate(inst, this, prev)
            if result is not None:
                out[f"{vid}|{inst.rule_id}|{inst.instance}"] = result
    return out


_RANK = {"pass": 0, "fail": 1, "not_assessable": 2}


@dataclass
class Assembled:
    """Check results of a batch ready to store, plus the keys where the three engines disagree."""

    table: pa.Table
    disagreements: list[tuple[str, str | None, str | None, str | None]] = field(default_factory=list)


def assemble_results(
    inputs: pd.DataFrame,
    gx_outcomes: Mapping[str, str],
    py: Mapping[str, rules.CheckResult],
    run_id: str,
    checked_at: datetime,
) -> Assembled:
    """``qa.check_results`` rows: GX decides the outcome; SQL and Python must agree with it.

    Where they do not, the worst of the three outcomes is kept (a check never passes on one
    engine's word) and the key is reported in ``disagreements``.
    """
    keys = inputs["check_key"].tolist()
    sql = inputs["sql_outcome"].tolist()
    gx = [gx_outcomes.get(k) for k in keys]
    ref = [py.get(k) for k in keys]
    py_out = [r.outcome if r else None for r in ref]
    outcome: list[str] = []
    disagreements: list[tuple[str, str | None, str | None, str | None]] = []
    for key, g, s_, p_ in zip(keys, gx, sql, py_out, strict=True):
        outcome.append(max((o for o in (g, s_, p_) if o is not None), key=_RANK.__getitem__))
        if not (g == s_ == p_):
            disagreements.append((key, g, s_, p_))

    def floats(name: str) -> pa.Array:
        return pa.array(inputs[name].to_numpy(dtype="float64", na_value=float("nan")), from_pandas=True)

    def strings(name: str) -> list[str | None]:
        return [None if v is None or (isinstance(v, float) and v != v) else str(v) for v in inputs[name].tolist()]

    n = len(keys)
    columns = {
        "version_id": strings("version_id"),
        "rule_id": strings("rule_id"),
        "instance": strings("instance"),
        "severity": strings("severity"),
        "blocking": [bool(b) for b in inputs["blocking"].tolist()],
        "outcome": outcome,
        "lhs_value": floats("lhs"),
        "rhs_value": floats("rhs"),
        "message": [
            r.message if r else f"{rid} {inst}"
            for r, rid, inst in zip(ref, inputs["rule_id"].tolist(), inputs["instance"].tolist(), strict=True)
        ],
        "gx_outcome": gx,
        "sql_outcome": sql,
        "py_outcome": py_out,
        "prev_version_id": strings("prev_version_id"),
        "run_id": [run_id] * n,
        "checked_at": pa.array([checked_at] * n, type=pa.timestamp("us", tz="UTC")),
    }
    table = pa.Table.from_arrays(
        [
            pa.array(columns[f.name], type=f.type, from_pandas=True)
            if not isinstance(columns[f.name], pa.Array)
            else columns[f.name]
            for f in CHECK_RESULTS
        ],
        schema=CHECK_RESULTS,
    )
    seen = set(inputs["check_key"]) if len(inputs) else set()
    for key in py.keys() - seen:  # the Python reference applies a check SQL did not produce
        disagreements.append((key, None, None, py[key].outcome))
    return Assembled(table, disagreements)


@dataclass(frozen=True)
class Decision:
    """The state a validated version gets and why."""

    version_id: str
    state: str  # promoted | quarantined
    failing_rules: list[str]
    warning_rules: list[str]
    reason: str | None


def decide(results: pa.Table, version_ids: Iterable[str]) -> dict[str, Decision]:
    """Promote iff no error-level (blocking) check failed or was not assessable."""
    failing: dict[str, list[tuple[str, str]]] = defaultdict(list)
    warnings: dict[str, set[str]] = defaultdict(set)
    cols = results.select(["version_id", "rule_id", "blocking", "outcome", "message"]).to_pylist()
    for r in cols:
        if r["outcome"] == "pass":
            continue
        if r["blocking"]:
            failing[r["version_id"]].append((r["rule_id"], r["message"]))
        else:
            warnings[r["version_id"]].add(r["rule_id"])
    out: dict[str, Decision] = {}
    for vid in version_ids:
        fails = failing.get(vid, [])
        rule_list = sorted({rule for rule, _m in fails})
        out[vid] = Decision(
            vid,
            "quarantined" if fails else "promoted",
            rule_list,
            sorted(warnings.get(vid, set())),
            "；".join(m for _r, m in fails[:3]) + ("；…" if len(fails) > 3 else "") if fails else None,
        )
    return out
