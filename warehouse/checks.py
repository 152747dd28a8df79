"""The statutory checks of a batch of staged report versions: both sides computed in DuckDB SQL.

``qa.v_facts`` turns the staged data into facts (cells and derived ``meta.*``/``narr.*`` facts, the
same keys as :func:`sources.rules.report_facts`).  ``qa.v_check_inputs`` joins the facts of the
versions listed in ``qa.batch`` (and of their previous-year versions) with the rule instances and
terms in ``ref``; it yields one row per report version × rule × instance with ``op``, ``lhs``,
``rhs`` (NULL when a side has no value: a MISSING or TEXT term, a blank 总计) and ``assessable``.
These are the only computation of a check's sides; Great Expectations (``expectations/``) decides
each check from them, one expectation per rule.

A run works on two temporary tables of its connection, so that the ~260 rows per report never
pass through Python one by one:

1. :func:`materialise_inputs` — ``run_check_inputs``: the view, computed once (key ``rowid``);
2. :func:`check_frame` — the inputs as a pandas frame sorted by rule, for GX;
3. :func:`record_results` — ``run_checks``: the stored rows, from GX's verdicts (the keys it
   rejected), with the Chinese message of every check that did not pass (rendered by
   :mod:`sources.rules.messages` from the facts its terms read) and waivers applied;
4. :func:`decide` — one :class:`Decision` per version, aggregated in SQL over the verdicts (the
   same aggregation decides a version again after a waiver, :func:`warehouse.promote.redecide`,
   inside the waiver's transaction; why it stays here rather than in ``expectations``:
   ``expectations/README.md``, "Who decides what").
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sources import rules
from sources.rules import messages
from warehouse.schema import ALL_INSTANCES


def _edition_of(template: str) -> str:
    """SQL: the edition (2021, 2019) of a template column, from :data:`sources.rules.EDITIONS`."""
    return f"CASE {template} " + " ".join(f"WHEN '{t}' THEN {e}" for t, e in rules.EDITIONS.items()) + " END"


# SQL: the edition a report of ``year`` must use (:func:`sources.rules.expected_edition`), 0 before any.
_EXPECTED_EDITION = (
    "CASE "
    + " ".join(f"WHEN year >= {e} THEN {e}" for e in sorted(rules.EDITIONS.values(), reverse=True))
    + " ELSE 0 END"
)
_TOL = repr(rules.TOLERANCE)

FACTS_VIEW = f"""
CREATE OR REPLACE VIEW qa.v_facts AS
SELECT version_id, address, CAST(value AS DOUBLE) AS value, semantic, raw FROM stg.cells
UNION ALL
SELECT version_id, 'meta.known.agency', CASE WHEN coalesce(agency, '') <> '' THEN 1.0 ELSE 0.0 END, 'NUMBER', NULL
FROM stg.report_versions WHERE variant IS NOT NULL
UNION ALL
SELECT version_id, 'meta.known.year', CASE WHEN year IS NOT NULL THEN 1.0 ELSE 0.0 END, 'NUMBER', NULL
FROM stg.report_versions WHERE variant IS NOT NULL
UNION ALL
SELECT version_id, 'meta.template_edition', CAST({_edition_of("template")} AS DOUBLE), 'NUMBER', template
FROM stg.report_versions WHERE variant IS NOT NULL
UNION ALL
SELECT version_id, 'meta.expected_edition', CAST({_EXPECTED_EDITION} AS DOUBLE), 'NUMBER', NULL
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
SELECT c.version_id, 'meta.ocr_unverified',
       CAST(count(*) FILTER (WHERE c.ocr_status = 'unverified') AS DOUBLE), 'NUMBER', NULL
FROM stg.cells c JOIN stg.report_versions v ON v.version_id = c.version_id
WHERE v.variant IS NOT NULL AND c.ocr_status IS NOT NULL
GROUP BY c.version_id
UNION ALL
SELECT version_id, 'narr.' || key, value, 'NUMBER', NULL FROM stg.narrative_facts
"""

CHECK_INPUTS_VIEW = f"""
CREATE OR REPLACE VIEW qa.v_check_inputs AS
WITH inst AS (
  SELECT b.version_id, b.prev_version_id, i.*
  FROM qa.batch b
  JOIN ref.rule_instances i ON i.variant = b.variant
  LEFT JOIN stg.report_versions pv ON pv.version_id = b.prev_version_id
  WHERE i.guard <> 'prev'
     OR (b.prev_version_id IS NOT NULL
         AND (i.prev_edition IS NULL
              OR i.prev_edition = {_edition_of("pv.template")}))
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
              CASE WHEN coalesce(a.alt_ok, false) AND abs(a.lhs_sum - a.alt_sum) <= {_TOL} THEN a.alt_sum
                   ELSE a.rhs_sum END END AS rhs
  FROM inst i JOIN agg a USING (version_id, rule_id, instance)
  WHERE (i.guard <> 'content' OR coalesce(a.lhs_content, false))
    AND (i.guard <> 'lhs_present' OR coalesce(a.lhs_present, false))
)
SELECT version_id || '|' || rule_id || '|' || instance AS check_key,
       version_id, rule_id, instance, seq, severity, blocking, op, prev_version_id,
       lhs, rhs,
       CASE WHEN ok THEN 1.0 ELSE 0.0 END AS assessable
FROM checked
"""

INPUTS_TABLE = "run_check_inputs"
CHECKS_TABLE = "run_checks"


def stage_batch(con: duckdb.DuckDBPyConnection, version_ids: Sequence[str]) -> int:
    """Fill ``qa.batch`` with the statutory versions to validate and their previous-year version.

    The previous-year version of (agency_key, year) is the published one for year − 1 if any,
    else the most recently loaded statutory version for year − 1 that was validated (or is in this
    batch) — never a version a killed run left unvalidated in ``stg``.  Returns the batch size.
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
              AND (p.version_id IN (SELECT version_id FROM qa.version_state)
                   OR list_contains(?::VARCHAR[], p.version_id))
            ORDER BY (pp.version_id IS NOT NULL) DESC, p.loaded_at DESC, p.version_id
            LIMIT 1) AS prev_version_id,
          b.seq
        FROM (SELECT unnest(?::VARCHAR[]) AS version_id, unnest(range(1, len(?::VARCHAR[]) + 1)) AS seq) b
        JOIN stg.report_versions v ON v.version_id = b.version_id
        WHERE v.variant IS NOT NULL
        """,
        [list(version_ids), list(version_ids), list(version_ids)],
    )
    return int(con.execute("SELECT count(*) FROM qa.batch").fetchall()[0][0])


def materialise_inputs(con: duckdb.DuckDBPyConnection) -> int:
    """``run_check_inputs`` (temporary): ``qa.v_check_inputs`` of the batch, computed once.

    One row per version × rule × instance; its ``rowid`` (0 … n−1) is the key GX reports.
    Returns the number of rows.
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE {INPUTS_TABLE} AS SELECT * FROM qa.v_check_inputs")
    return int(con.execute(f"SELECT count(*) FROM {INPUTS_TABLE}").fetchall()[0][0])


def check_inputs(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per version × rule × instance of the batch (``qa.v_check_inputs``), floats for GX.

    For inspection and tests (string ``check_key``); a run uses :func:`materialise_inputs`.
    """
    df = con.sql("SELECT * FROM qa.v_check_inputs ORDER BY version_id, seq").df()
    for col in ("lhs", "rhs", "assessable"):
        df[col] = df[col].astype("float64")
    return df


def check_frame(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """``run_check_inputs`` as the frame GX validates, sorted by rule, via Arrow.

    ``check_key`` is the row's ``rowid``; ``version_id``, ``rule_id`` and ``op`` are categorical:
    integer keys and dictionary-encoded strings keep GX's batch hashing cheap on 2.6 M rows.
    """
    table = con.sql(
        f"""SELECT rowid AS check_key, version_id, rule_id, op, CAST(lhs AS DOUBLE) AS lhs,
                   CAST(rhs AS DOUBLE) AS rhs, CAST(assessable AS DOUBLE) AS assessable
            FROM {INPUTS_TABLE} ORDER BY rule_id, rowid"""
    ).to_arrow_table()
    for name in ("version_id", "rule_id", "op"):
        i = table.schema.get_field_index(name)
        table = table.set_column(i, name, pc.dictionary_encode(table.column(name)))
    return table.to_pandas()


def _verdicts(failed: Iterable[int], not_assessable: Iterable[int]) -> pa.Table:
    """(k, outcome) of the rows GX rejected; every other row passed."""
    na = sorted(set(not_assessable))
    fail = sorted(set(failed) - set(na))
    return pa.table(
        {
            "k": pa.array(na + fail, pa.int64()),
            "outcome": pa.array(["not_assessable"] * len(na) + ["fail"] * len(fail), pa.string()),
        }
    )


@functools.cache
def facts_read_by(variant: str, rule_id: str, instance: str) -> tuple[frozenset[str], frozenset[str]]:
    """(this-year, previous-year) fact addresses the message of one instance reads: its terms, and
    every cell of the table a "complete" message lists."""
    inst = rules.instance_index(variant).get((rule_id, instance))
    if inst is None:
        return frozenset(), frozenset()
    terms = (*inst.lhs, *inst.rhs, *inst.rhs_alt)
    this = {t.address for t in terms if t.address and t.scope != "prev"}
    prev = {t.address for t in terms if t.address and t.scope == "prev"}
    if inst.style == "complete":
        this.update(c.address for c in rules.cell_specs(variant) if c.table == inst.instance)
    if inst.style == "template_year":
        this.add("meta.expected_edition")
    return frozenset(this), frozenset(prev)


def _facts_by_version(rows: Iterable[tuple]) -> dict[str, dict[str, rules.Fact]]:
    """Rows (version_id, address, value, semantic, raw) of ``qa.v_facts`` as facts by version."""
    out: dict[str, dict[str, rules.Fact]] = defaultdict(dict)
    for vid, address, value, semantic, raw in rows:
        out[vid][address] = rules.Fact(value, semantic or "MISSING", raw)
    return out


def batch_facts(
    con: duckdb.DuckDBPyConnection, versions: Iterable[tuple[str, str, str | None]] | None = None
) -> dict[str, dict[str, rules.Fact]]:
    """Every fact of ``versions`` and of their previous-year versions (default: the batch), by version."""
    if versions is None:
        where = "SELECT version_id FROM qa.batch UNION SELECT prev_version_id FROM qa.batch"
        params: list = []
    else:
        ids = sorted({v for vid, _variant, prev in versions for v in (vid, prev) if v})
        where, params = "SELECT unnest(?::VARCHAR[])", [ids]
    rows = con.execute(
        f"SELECT version_id, address, value, semantic, raw FROM qa.v_facts WHERE version_id IN ({where})", params
    ).fetchall()
    return _facts_by_version(rows)


def batch_versions(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str | None]]:
    """(version_id, variant, prev_version_id) of the batch, in ingest order."""
    return [
        tuple(r)
        for r in con.execute("SELECT version_id, variant, prev_version_id FROM qa.batch ORDER BY seq").fetchall()
    ]


def _messages(con: duckdb.DuckDBPyConnection) -> pa.Table:
    """(k, message) of every check GX rejected (registered as ``_verdicts``): its Chinese message,
    rendered from the facts its terms read — only those facts are read from ``qa.v_facts``."""
    rejected = con.execute(
        f"""SELECT i.rowid, b.variant, i.version_id, i.prev_version_id, i.rule_id, i.instance, v.outcome
            FROM {INPUTS_TABLE} i JOIN _verdicts v ON v.k = i.rowid JOIN qa.batch b ON b.version_id = i.version_id"""
    ).fetchall()
    if not rejected:  # the facts view spans every staged version: not even planned when nothing is needed
        return pa.table({"k": pa.array([], pa.int64()), "message": pa.array([], pa.string())})
    pairs: set[tuple[str, str]] = set()
    for _k, variant, vid, prev_id, rule_id, instance, _outcome in rejected:
        this, prev = facts_read_by(variant, rule_id, instance)
        pairs.update((vid, a) for a in this)
        if prev_id:
            pairs.update((prev_id, a) for a in prev)
    ordered = sorted(pairs)
    needed = pa.table(
        {
            "version_id": pa.array([p[0] for p in ordered], pa.string()),
            "address": pa.array([p[1] for p in ordered], pa.string()),
        }
    )
    con.register("_needed", needed)
    try:
        rows = con.execute(
            """SELECT f.version_id, f.address, f.value, f.semantic, f.raw FROM qa.v_facts f
               WHERE f.version_id IN (SELECT DISTINCT version_id FROM _needed)
                 AND (f.version_id, f.address) IN (SELECT (version_id, address) FROM _needed)"""
        ).fetchall()
    finally:
        con.unregister("_needed")
    facts = _facts_by_version(rows)
    keys, texts = [], []
    for k, variant, vid, prev_id, rule_id, instance, outcome in rejected:
        inst = rules.instance_index(variant)[(rule_id, instance)]
        prev_facts = facts.get(prev_id, {}) if prev_id else None
        keys.append(k)
        texts.append(messages.format_message(inst, outcome, facts.get(vid, {}), prev_facts))
    return pa.table({"k": pa.array(keys, pa.int64()), "message": pa.array(texts, pa.string())})


WAIVED_SQL = (
    """EXISTS (SELECT 1 FROM qa.waivers w WHERE w.version_id = {t}.version_id AND w.rule_id = {t}.rule_id
                  AND w.instance IN ({t}.instance, '"""
    + ALL_INSTANCES
    + """'))"""
)


def record_results(
    con: duckdb.DuckDBPyConnection,
    failed: Iterable[int],
    not_assessable: Iterable[int],
    run_id: str,
    checked_at: datetime,
) -> int:
    """``run_checks`` (temporary): the ``qa.check_results`` rows of the run, plus ``seq``.

    The outcome is GX's verdict (``failed``/``not_assessable``: the check keys it rejected; every
    other check passed); ``message`` is the Chinese message of a check that did not pass (NULL for a
    passing one); ``waived`` marks a non-passing check covered by ``qa.waivers``.  Returns the rows.
    """
    con.register("_verdicts", _verdicts(failed, not_assessable))
    try:
        con.register("_messages", _messages(con))
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {CHECKS_TABLE} AS
            WITH judged AS (
              SELECT i.*, coalesce(v.outcome, 'pass') AS outcome, m.message
              FROM {INPUTS_TABLE} i
              LEFT JOIN _verdicts v ON v.k = i.rowid
              LEFT JOIN _messages m ON m.k = i.rowid
            )
            SELECT version_id, rule_id, instance, severity, blocking, outcome,
                   lhs AS lhs_value, rhs AS rhs_value, message, prev_version_id,
                   ?::VARCHAR AS run_id, ?::TIMESTAMPTZ AS checked_at,
                   outcome <> 'pass' AND {WAIVED_SQL.format(t="judged")} AS waived,
                   seq
            FROM judged
            """,
            [run_id, checked_at],
        )
        return int(con.execute(f"SELECT count(*) FROM {CHECKS_TABLE}").fetchall()[0][0])
    finally:
        con.unregister("_verdicts")
        con.unregister("_messages")


@dataclass(frozen=True)
class Decision:
    """The state a validated version gets and why.

    ``failing_rules``: error-level rules with a failing or not assessable check that is not waived;
    ``warning_rules``: warning-level rules that did not pass (not waived); ``waived_rules``: rules
    with a waived non-passing check; ``messages``: the Chinese messages of the blocking checks.
    """

    version_id: str
    state: str  # promoted | quarantined
    failing_rules: list[str]
    warning_rules: list[str]
    reason: str | None
    waived_rules: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)


def decisions_sql(source: str) -> str:
    """Per version of ``source`` (rows of check results with ``seq``): the lists a decision needs."""
    blocking = "blocking AND outcome <> 'pass' AND NOT coalesce(waived, false)"
    warning = "NOT blocking AND outcome <> 'pass' AND NOT coalesce(waived, false)"
    return f"""
        SELECT version_id,
          list_sort(list_distinct(coalesce(list(rule_id) FILTER (WHERE {blocking}), []))) AS failing,
          list_sort(list_distinct(coalesce(list(rule_id) FILTER (WHERE {warning}), []))) AS warnings,
          list_sort(list_distinct(coalesce(list(rule_id) FILTER (WHERE coalesce(waived, false)), []))) AS waived,
          coalesce(list(message ORDER BY seq, instance) FILTER (WHERE {blocking}), []) AS messages
        FROM {source} GROUP BY version_id
    """


def reason_of(messages: Sequence[str]) -> str | None:
    """The ``qa.version_state.reason`` of a quarantined version: its first three blocking messages."""
    if not messages:
        return None
    return "；".join(messages[:3]) + ("；…" if len(messages) > 3 else "")


def decision_of(vid: str, failing: list[str], warnings: list[str], waived: list[str], messages: list[str]) -> Decision:
    """Promote iff no error-level check failed or was not assessable, except waived ones."""
    return Decision(
        vid,
        "quarantined" if failing else "promoted",
        list(failing),
        list(warnings),
        reason_of(messages),
        list(waived),
        list(messages),
    )


def decide(
    con: duckdb.DuckDBPyConnection, version_ids: Iterable[str], source: str = CHECKS_TABLE
) -> dict[str, Decision]:
    """One :class:`Decision` per version (a version without check rows passes)."""
    found = {r[0]: r[1:] for r in con.execute(decisions_sql(source)).fetchall()}
    out: dict[str, Decision] = {}
    for vid in version_ids:
        failing, warnings, waived, messages = found.get(vid, ([], [], [], []))
        out[vid] = decision_of(vid, failing, warnings, waived, messages)
    return out
