"""The SQL-owned layers of the warehouse: ``pub`` (published), ``qa`` (checks and states), ``ref``.

``stg`` belongs to dlt (:mod:`warehouse.pipeline`).  Everything else is created here with explicit
DDL derived from the same Arrow schemas, so the published shape is declared once:

* ``ref``: the template cells and the rule instances/terms of :mod:`sources.rules`, rewritten on
  every run (a few thousand rows), so the SQL checks always use the rules of the running code.
* ``qa``: ``version_state`` (one row per report version: promoted / quarantined / rejected /
  superseded), ``check_results`` (one row per report version × rule × instance), ``waivers`` (one
  row per waived version × rule × instance, ``*`` = every instance), ``ocr_confirmations`` (one row
  per document sha256 × OCR cell a reviewer confirmed), ``runs`` (one row per ingest
  run), the check views and views of every staged version in printed shape.
* ``pub``: the promoted report versions only — at most one per (agency_key, year) — with their
  cells, parse issues and narrative facts (copied by the promotion transaction), the view
  ``check_results`` (their rows of ``qa.check_results``, which only the same transactions write),
  and the analyst views ``v_t2_gov2021``, ``v_t2_gov2019``, ``v_t3`` (25 rows × 7 columns per
  report), ``v_t4`` (3 × 5) and ``v_reports``.

The bulky tables (``pub.cells``, ``qa.check_results``: about 200 and 260 rows per report) have no
PRIMARY KEY constraint: DuckDB's index roughly doubles their insert time (2 M cells: 4.4 s instead
of 1.9 s).  Their keys hold by construction — every write deletes the version's rows first, in the
same transaction — and the tests check them.
"""

from __future__ import annotations

from collections.abc import Iterable

import duckdb
import pyarrow as pa

from sources import rules
from sources.template import TABLE_NAMES, TEMPLATE_IDS, load_template
from warehouse.db import WarehouseError, table_columns, transaction
from warehouse.frames import CELLS, NARRATIVE_FACTS, PARSE_ISSUES, REPORT_VERSIONS, VALUE_TYPE

CHECK_RESULTS = pa.schema(
    [
        pa.field("version_id", pa.string(), nullable=False),
        pa.field("rule_id", pa.string(), nullable=False),
        pa.field("instance", pa.string(), nullable=False),
        pa.field("severity", pa.string()),
        pa.field("blocking", pa.bool_()),
        pa.field("outcome", pa.string()),
        pa.field("lhs_value", pa.float64()),
        pa.field("rhs_value", pa.float64()),
        pa.field("message", pa.string()),
        pa.field("prev_version_id", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("checked_at", pa.timestamp("us", tz="UTC")),
        pa.field("waived", pa.bool_()),  # a failing check a reviewer waived (qa.waivers): not blocking
    ]
)

VERSION_STATE = pa.schema(
    [
        pa.field("version_id", pa.string(), nullable=False),
        pa.field("agency_key", pa.string()),
        pa.field("year", pa.int64()),
        pa.field("state", pa.string()),
        pa.field("failing_rules", pa.list_(pa.string())),
        pa.field("warning_rules", pa.list_(pa.string())),
        pa.field("reason", pa.string()),
        pa.field("superseded_by", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("decided_at", pa.timestamp("us", tz="UTC")),
        pa.field("waived_rules", pa.list_(pa.string())),
    ]
)

ALL_INSTANCES = "*"
WAIVERS = pa.schema(
    [
        pa.field("version_id", pa.string(), nullable=False),
        pa.field("rule_id", pa.string(), nullable=False),
        pa.field("instance", pa.string(), nullable=False),  # '*': every instance of the rule
        pa.field("reason", pa.string(), nullable=False),
        pa.field("waived_by", pa.string()),
        pa.field("waived_at", pa.timestamp("us", tz="UTC")),
    ]
)

# What a reviewer read on the page image for an OCR cell (``xxgk confirm``), keyed by the document's
# sha256 and the cell address: it applies to every parse of the same document.
OCR_CONFIRMATIONS = pa.schema(
    [
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("address", pa.string(), nullable=False),
        pa.field("value", pa.string(), nullable=False),  # as the reviewer read it: 12, 0, /
        pa.field("ocr_text", pa.string()),  # what OCR had read
        pa.field("confirmed_by", pa.string()),
        pa.field("confirmed_at", pa.timestamp("us", tz="UTC")),
    ]
)

RUNS = pa.schema(
    [
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("started_at", pa.timestamp("us", tz="UTC")),
        pa.field("finished_at", pa.timestamp("us", tz="UTC")),
        pa.field("documents", pa.int64()),
        pa.field("unchanged", pa.int64()),
        pa.field("promoted", pa.int64()),
        pa.field("quarantined", pa.int64()),
        pa.field("rejected", pa.int64()),
        pa.field("superseded", pa.int64()),
        pa.field("seconds_parse", pa.float64()),
        pa.field("seconds_load", pa.float64()),
        pa.field("seconds_validate", pa.float64()),
        pa.field("seconds_promote", pa.float64()),
    ]
)

_PROMOTED = [pa.field("promoted_at", pa.timestamp("us", tz="UTC")), pa.field("promoted_run_id", pa.string())]

# (schema, table) → Arrow schema of every SQL-owned table.
TABLES: dict[tuple[str, str], pa.Schema] = {
    ("pub", "report_versions"): pa.schema(list(REPORT_VERSIONS) + _PROMOTED),
    ("pub", "cells"): CELLS,
    ("pub", "parse_issues"): PARSE_ISSUES,
    ("pub", "narrative_facts"): NARRATIVE_FACTS,
    ("qa", "check_results"): CHECK_RESULTS,
    ("qa", "version_state"): VERSION_STATE,
    ("qa", "waivers"): WAIVERS,
    ("qa", "ocr_confirmations"): OCR_CONFIRMATIONS,
    ("qa", "runs"): RUNS,
}
# (schema, table) → key; only the keys in ENFORCED_KEYS are PRIMARY KEY constraints (see module docstring).
KEYS: dict[tuple[str, str], tuple[str, ...]] = {
    ("pub", "report_versions"): ("version_id",),
    ("pub", "cells"): ("version_id", "address"),
    ("pub", "parse_issues"): ("version_id", "seq"),
    ("pub", "narrative_facts"): ("version_id", "key"),
    ("qa", "check_results"): ("version_id", "rule_id", "instance"),
    ("qa", "version_state"): ("version_id",),
    ("qa", "waivers"): ("version_id", "rule_id", "instance"),
    ("qa", "ocr_confirmations"): ("sha256", "address"),
    ("qa", "runs"): ("run_id",),
}
UNENFORCED_KEYS = {("pub", "cells"), ("qa", "check_results")}
PRIMARY_KEYS = {name: key for name, key in KEYS.items() if name not in UNENFORCED_KEYS}

PUB_CHECK_RESULTS_VIEW = f"""
CREATE OR REPLACE VIEW pub.check_results AS
SELECT {", ".join("k." + f.name for f in CHECK_RESULTS)}
FROM qa.check_results k JOIN pub.report_versions p ON p.version_id = k.version_id
"""


def duck_type(t: pa.DataType) -> str:
    """The DuckDB type of an Arrow type (the subset used by the warehouse tables)."""
    if pa.types.is_string(t):
        return "VARCHAR"
    if pa.types.is_int64(t):
        return "BIGINT"
    if pa.types.is_float64(t):
        return "DOUBLE"
    if pa.types.is_boolean(t):
        return "BOOLEAN"
    if pa.types.is_date32(t):
        return "DATE"
    if pa.types.is_timestamp(t):
        return "TIMESTAMP WITH TIME ZONE" if t.tz else "TIMESTAMP"
    if pa.types.is_decimal(t):
        return f"DECIMAL({t.precision},{t.scale})"
    if pa.types.is_list(t):
        return duck_type(t.value_type) + "[]"
    if pa.types.is_struct(t):
        return "STRUCT(" + ", ".join(f"{f.name} {duck_type(f.type)}" for f in t) + ")"
    raise TypeError(f"no DuckDB type for {t}")


def columns_of(schema: pa.Schema) -> list[str]:
    return [f.name for f in schema]


def column_list(schema: pa.Schema, prefix: str = "") -> str:
    return ", ".join(f"{prefix}{name}" for name in columns_of(schema))


def _create_table_sql(schema_name: str, table: str, schema: pa.Schema) -> str:
    cols = [f"{f.name} {duck_type(f.type)}{'' if f.nullable else ' NOT NULL'}" for f in schema]
    key = PRIMARY_KEYS.get((schema_name, table))
    if key:
        cols.append(f"PRIMARY KEY ({', '.join(key)})")
    return f"CREATE TABLE IF NOT EXISTS {schema_name}.{table} ({', '.join(cols)})"


def _migrate(con: duckdb.DuckDBPyConnection) -> None:
    """Bring a warehouse written by earlier code to the current shape, where that loses nothing.

    ``pub.check_results`` was a copy of ``qa.check_results`` and is now a view of it.  Checks were
    once decided by three engines: their verdict columns (``gx_outcome``, ``sql_outcome``,
    ``py_outcome``) and the count of their disagreements (``qa.runs.engines_disagree``) are dropped;
    the decided ``outcome`` stays.
    """
    kind = con.execute(
        "select table_type from information_schema.tables where table_schema='pub' and table_name='check_results'"
    ).fetchall()
    if kind and kind[0][0] == "BASE TABLE":
        con.execute("DROP TABLE pub.check_results")
    old = {("qa", "check_results"): ("gx_outcome", "sql_outcome", "py_outcome"), ("qa", "runs"): ("engines_disagree",)}
    for (schema_name, table), columns in old.items():
        present = set(table_columns(con, schema_name, table))
        dropped = [c for c in columns if c in present]
        if dropped:
            con.execute("DROP VIEW IF EXISTS pub.check_results")
        for column in dropped:
            con.execute(f"ALTER TABLE {schema_name}.{table} DROP COLUMN {column}")


def ensure_layers(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``pub``, ``qa`` and ``ref`` schemas and tables; refuse a drifted published shape.

    Columns the code added at the end of a table (``waived``, ``waived_rules``) are added to an
    existing warehouse; any other difference is drift and stops the run.
    """
    for name in ("pub", "qa", "ref"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {name}")
    _migrate(con)
    for (schema_name, table), schema in TABLES.items():
        con.execute(_create_table_sql(schema_name, table, schema))
        found, expected = table_columns(con, schema_name, table), columns_of(schema)
        if found != expected and found == expected[: len(found)]:
            for f in list(schema)[len(found) :]:
                con.execute(f"ALTER TABLE {schema_name}.{table} ADD COLUMN {f.name} {duck_type(f.type)}")
            found = table_columns(con, schema_name, table)
        if found != expected:
            raise WarehouseError(
                f"{schema_name}.{table} has columns {found}, the code expects {expected}; "
                "the published shape drifted — migrate the table (or start a new warehouse file)"
            )
    con.execute(PUB_CHECK_RESULTS_VIEW)


# ------------------------------------------------------------------------------------------ ref


def _ref_tables() -> dict[str, pa.Table]:
    cells, instances, terms, sections = [], [], [], []
    for variant in rules.VARIANTS:
        row_seq: dict[tuple[str, str, str], int] = {}
        for c in rules.cell_specs(variant):
            key = (c.table, c.subtable, c.row_key)
            row_seq.setdefault(key, 1 + sum(1 for k in row_seq if k[0] == c.table))
            cells.append(
                {
                    "variant": variant,
                    "address": c.address,
                    "table_kind": c.table,
                    "subtable": c.subtable,
                    "subtable_caption": c.subtable_title.removeprefix(f"{TABLE_NAMES['t2']} "),
                    "row_key": c.row_key,
                    "row_label": c.row_label,
                    "row_short": c.row_short,
                    "row_order": c.row_order,
                    "row_seq": row_seq[key],
                    "col_key": c.col_key,
                    "col_label": c.col_label,
                    "col_order": c.col_order,
                    "value_type": c.value_type,
                    "is_total": c.is_total,
                }
            )
        for seq, inst in enumerate(rules.rule_instances(variant)):
            instances.append(
                {
                    "variant": variant,
                    "rule_id": inst.rule_id,
                    "instance": inst.instance,
                    "seq": seq,
                    "severity": inst.severity,
                    "blocking": inst.blocking,
                    "op": inst.op,
                    "guard": inst.guard,
                    "prev_edition": inst.prev_edition,
                    "subject": inst.subject,
                }
            )
            for side, side_terms in (("lhs", inst.lhs), ("rhs", inst.rhs), ("rhs_alt", inst.rhs_alt)):
                for pos, t in enumerate(side_terms):
                    terms.append(
                        {
                            "variant": variant,
                            "rule_id": inst.rule_id,
                            "instance": inst.instance,
                            "side": side,
                            "pos": pos,
                            "scope": t.scope,
                            "address": t.address,
                            "coef": t.coef,
                            "const": t.const,
                            "is_total": t.is_total,
                            "label": t.label,
                        }
                    )
    for template in TEMPLATE_IDS:
        for s in load_template(template).sections:
            sections.append({"template": template, "section_no": s.no, "section_key": s.key, "label": s.label})
    catalogue = [
        {
            "rule_id": d.rule_id,
            "severity": d.severity,
            "declared_severity": d.declared_severity,
            "blocking": d.blocking,
            "title": d.title,
            "origin": d.origin,
            "explanation": d.explanation,
        }
        for d in rules.rule_catalogue()
    ]
    return {
        "template_cells": pa.Table.from_pylist(cells),
        "rule_instances": pa.Table.from_pylist(
            instances,
            schema=pa.schema(
                [
                    ("variant", pa.string()),
                    ("rule_id", pa.string()),
                    ("instance", pa.string()),
                    ("seq", pa.int64()),
                    ("severity", pa.string()),
                    ("blocking", pa.bool_()),
                    ("op", pa.string()),
                    ("guard", pa.string()),
                    ("prev_edition", pa.int64()),
                    ("subject", pa.string()),
                ]
            ),
        ),
        "rule_terms": pa.Table.from_pylist(
            terms,
            schema=pa.schema(
                [
                    ("variant", pa.string()),
                    ("rule_id", pa.string()),
                    ("instance", pa.string()),
                    ("side", pa.string()),
                    ("pos", pa.int64()),
                    ("scope", pa.string()),
                    ("address", pa.string()),
                    ("coef", pa.int64()),
                    ("const", pa.float64()),
                    ("is_total", pa.bool_()),
                    ("label", pa.string()),
                ]
            ),
        ),
        "sections": pa.Table.from_pylist(sections),
        "rules": pa.Table.from_pylist(catalogue),
    }


def refresh_reference(con: duckdb.DuckDBPyConnection) -> None:
    """Rewrite the ``ref`` tables from :mod:`sources.rules` (the rules of the running code)."""
    for name, table in _ref_tables().items():
        con.register("_ref_in", table)
        try:
            con.execute(f"CREATE OR REPLACE TABLE ref.{name} AS SELECT * FROM _ref_in")
        finally:
            con.unregister("_ref_in")


# ------------------------------------------------------------------------------------------ views


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _value_column(key: str, label: str, value_type: str) -> str:
    """One value column of a printed view: an amount as stored; a count as BIGINT — a count printed
    with decimals (its T*_TYPES check fails) is NULL there, never rounded to a whole number."""
    if value_type in ("count", "signed_count"):
        whole, cast = " AND c.value = trunc(c.value)", "BIGINT"
    else:
        whole, cast = "", duck_type(VALUE_TYPE)
    return f"CAST(max(c.value) FILTER (WHERE tc.col_key = '{key}'{whole}) AS {cast}) AS {_quote(label)}"


def _pivot_columns(variant: str, kinds: Iterable[str]) -> list[tuple[str, str, str]]:
    """(col_key, label, value_type) of the value columns of a printed table, in printed order."""
    seen: dict[str, tuple[str, str, str]] = {}
    for c in rules.cell_specs(variant):
        if c.table in kinds and c.col_key not in seen:
            seen[c.col_key] = (c.col_key, c.col_label, c.value_type)
    return list(seen.values())


def _printed_view(
    name: str,
    versions_from: str,
    cells_table: str,
    kind: str,
    variants: tuple[str, ...],
    label_cols: str,
    extra_select: str = "",
) -> str:
    cols = _pivot_columns(variants[0], [kind])
    pivots = ",\n  ".join(_value_column(key, label, vt) for key, label, vt in cols)
    variant_list = ", ".join(f"'{v}'" for v in variants)
    return f"""
CREATE OR REPLACE VIEW {name} AS
SELECT r.agency, r.year, r.version_id, r.template{extra_select},
  tc.row_seq AS row_no, tc.row_key, {label_cols},
  {pivots}
FROM {versions_from}
JOIN ref.template_cells tc ON tc.variant = r.variant AND tc.table_kind = '{kind}'
LEFT JOIN {cells_table} c ON c.version_id = r.version_id AND c.address = tc.address
WHERE r.variant IN ({variant_list})
GROUP BY ALL
ORDER BY r.agency, r.year, r.version_id, row_no
"""


def _variants_of_templates() -> dict[str, tuple[str, ...]]:
    """Template id → its variants (gov2021 → gov2021, gov2021_hybrid)."""
    return {t: tuple(v for v in rules.VARIANTS if rules.template_of_variant(v) == t) for t in TEMPLATE_IDS}


def printed_views_sql(layer: str) -> list[str]:
    """The printed-shape views of one layer: ``pub`` (published versions) or ``qa`` (every staged one)."""
    if layer == "pub":
        versions_from, cells, extra = "pub.report_versions r", "pub.cells", ""
    else:
        versions_from = "stg.report_versions r JOIN qa.version_state s ON s.version_id = r.version_id"
        cells, extra = "stg.cells", ", s.state"
    t2_labels = '''tc.subtable_caption AS "子表", tc.row_label AS "信息内容"'''
    return [
        _printed_view(f"{layer}.v_t3", versions_from, cells, "t3", rules.VARIANTS, 'tc.row_label AS "项目"', extra),
        _printed_view(f"{layer}.v_t4", versions_from, cells, "t4", rules.VARIANTS, 'tc.row_short AS "类别"', extra),
        *(
            _printed_view(f"{layer}.v_t2_{template}", versions_from, cells, "t2", variants, t2_labels, extra)
            for template, variants in _variants_of_templates().items()
        ),
    ]


REPORTS_VIEW = """
CREATE OR REPLACE VIEW pub.v_reports AS
SELECT r.agency, r.agency_key, r.year, r.template, r.variant, r.version_id, r.published_on,
       coalesce(r.source_url, r.source_path) AS source, r.format, r.parsed_at, r.parser_version, r.promoted_at,
       (SELECT count(*) FROM pub.check_results k
         WHERE k.version_id = r.version_id AND k.outcome <> 'pass' AND NOT k.blocking) AS warnings,
       (SELECT count(*) FROM pub.check_results k WHERE k.version_id = r.version_id AND k.waived) AS waived_checks
FROM pub.report_versions r
ORDER BY r.year, r.agency
"""

CHECK_WAIVERS_VIEW = f"""
CREATE OR REPLACE VIEW qa.v_check_waivers AS
SELECT k.version_id, k.rule_id, k.instance,
       coalesce(w.instance, wa.instance) AS waiver_instance,
       coalesce(w.reason, wa.reason) AS waiver_reason,
       coalesce(w.waived_by, wa.waived_by) AS waived_by,
       coalesce(w.waived_at, wa.waived_at) AS waived_at
FROM qa.check_results k
LEFT JOIN qa.waivers w ON w.version_id = k.version_id AND w.rule_id = k.rule_id AND w.instance = k.instance
LEFT JOIN qa.waivers wa ON wa.version_id = k.version_id AND wa.rule_id = k.rule_id AND wa.instance = '{ALL_INSTANCES}'
WHERE k.outcome <> 'pass' AND (w.version_id IS NOT NULL OR wa.version_id IS NOT NULL)
"""

FAILING_CHECKS_VIEW = """
CREATE OR REPLACE VIEW qa.v_failing_checks AS
SELECT r.agency, r.agency_key, r.year, r.template, k.version_id, s.state, k.rule_id, k.instance,
       k.severity, k.blocking, k.outcome, coalesce(k.waived, false) AS waived, k.lhs_value, k.rhs_value,
       k.message, k.checked_at, coalesce(r.source_url, r.source_path) AS source,
       w.waiver_reason, w.waived_by, w.waived_at
FROM qa.check_results k
JOIN stg.report_versions r ON r.version_id = k.version_id
JOIN qa.version_state s ON s.version_id = k.version_id
LEFT JOIN qa.v_check_waivers w
  ON w.version_id = k.version_id AND w.rule_id = k.rule_id AND w.instance = k.instance
WHERE k.outcome <> 'pass'
"""


def create_views(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)create the analyst views of ``pub`` and ``qa`` (needs the staging tables to exist)."""
    from warehouse.checks import CHECK_INPUTS_VIEW, FACTS_VIEW

    views = [FACTS_VIEW, CHECK_INPUTS_VIEW, REPORTS_VIEW, CHECK_WAIVERS_VIEW, FAILING_CHECKS_VIEW]
    for sql in [*views, *printed_views_sql("pub")]:
        con.execute(sql)
    for sql in printed_views_sql("qa"):
        con.execute(sql)
    from warehouse.regions import ensure_view

    ensure_view(con)  # pub.v_region_year, once the runs have recorded acquisitions


def prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Layers, reference tables and views, in one transaction (run after each staging load)."""
    with transaction(con):
        ensure_layers(con)
        refresh_reference(con)
        con.execute(
            "CREATE TABLE IF NOT EXISTS qa.batch (version_id VARCHAR PRIMARY KEY, variant VARCHAR, "
            "prev_version_id VARCHAR, seq BIGINT)"
        )
        create_views(con)
