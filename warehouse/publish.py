"""Publishing the warehouse to the dlt destination the user configured (PostgreSQL, BigQuery, …).

xxgk works on one DuckDB file: dlt loads ``stg`` there, and the checks, the promotion and the
analyst views are DuckDB SQL on that file.  That file *is* the warehouse by default.  A user who
outgrows it (several analysts querying at once, a BI tool, a database the IT department runs) sets
the destination of the dlt pipeline ``xxgk_publish`` — dlt's own setting, no code change::

    # .dlt/config.toml                        # or: PIPELINES__XXGK_PUBLISH__DESTINATION_TYPE=postgres
    [pipelines.xxgk_publish]
    destination_type = "postgres"
    dataset_name = "xxgk"                     # default "xxgk"

    # .dlt/secrets.toml                       # or: DESTINATION__POSTGRES__CREDENTIALS=postgresql://…
    [destination.postgres]
    credentials = "postgresql://xxgk:…@db.example.org:5432/warehouse"

and every run then copies what passed the gate to that destination with dlt (:func:`publish`):

* per report slot (agency_key × year) — ``report_versions``, ``cells``, ``check_results``,
  ``parse_issues``, ``narrative_facts`` of the published version, each row carrying
  ``report_key``; merged with dlt's ``delete-insert`` on ``report_key``.  A slot whose published
  version changed (revised report, re-validation, waiver) is sent whole; a slot that left ``pub``
  (quarantined on re-validation, waiver withdrawn) is deleted at the destination.  Both use one
  tombstone row per slot and table marked ``_deleted`` (dlt's ``hard_delete`` hint): dlt deletes
  every destination row of the key and never inserts the tombstone, so ``_deleted`` is always
  false at the destination;
* whole, replaced when their content changed — ``version_state`` (every version's state and
  failing rules: the quarantine list), ``acquisitions`` (latest fetch outcome per agency × year:
  the missing-report list), ``rules`` and ``template_cells`` (labels for the codes).

What was sent is remembered per destination in ``qa.publications`` (one fingerprint per slot and
per whole table), so a run that changed nothing sends nothing, and a killed publish is simply
sent again (delete-insert is idempotent).  ``full=True`` (``xxgk publish --full``) replaces every
table: the destination becomes an exact copy again, e.g. after it was restored from a backup.

This module only reads the DuckDB layers; it never changes ``stg``, ``qa`` state or ``pub``.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from warehouse.config import WarehouseConfig, may_name, prepare_environment
from warehouse.db import WarehouseError, connect, has_table, transaction

PIPELINE_NAME = "xxgk_publish"
DEFAULT_DATASET = "xxgk"
TOMBSTONE = "_deleted"

#: slot tables: destination name → the ``pub`` relation with a ``version_id`` column
SLOT_TABLES: dict[str, str] = {
    "report_versions": "pub.report_versions",
    "cells": "pub.cells",
    "check_results": "pub.check_results",
    "parse_issues": "pub.parse_issues",
    "narrative_facts": "pub.narrative_facts",
}

#: whole tables: destination name → (the relation it needs, the SELECT that produces it)
WHOLE_TABLES: dict[str, tuple[str, str]] = {
    "version_state": (
        "qa.version_state",
        """SELECT v.version_id, v.agency_key, r.agency, v.year, v.state,
                  array_to_string(v.failing_rules, ',') AS failing_rules,
                  array_to_string(v.warning_rules, ',') AS warning_rules,
                  array_to_string(v.waived_rules, ',') AS waived_rules,
                  v.reason, v.superseded_by, v.run_id, v.decided_at,
                  r.source_url, r.source_path, r.sha256
           FROM qa.version_state v LEFT JOIN stg.report_versions r USING (version_id)
           ORDER BY v.year, v.agency_key, v.version_id""",
    ),
    "acquisitions": (
        "qa.v_acquisitions_latest",
        """SELECT * EXCLUDE (tried), CAST(to_json(tried) AS VARCHAR) AS tried
           FROM qa.v_acquisitions_latest ORDER BY year, agency_id""",
    ),
    "rules": ("ref.rules", "SELECT * FROM ref.rules ORDER BY rule_id"),
    "template_cells": ("ref.template_cells", "SELECT * FROM ref.template_cells ORDER BY variant, address"),
}

_PUBLICATIONS_DDL = """
CREATE TABLE IF NOT EXISTS qa.publications (
    destination VARCHAR NOT NULL,   -- destination type, dataset and credentials (password hidden)
    item VARCHAR NOT NULL,          -- 'slot:<agency_key>|<year>' or 'table:<name>'
    fingerprint VARCHAR NOT NULL,
    published_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (destination, item)
)"""

# one fingerprint per published slot: the report_versions row and every check result of it (a
# waiver or a re-validation changes the checks; a re-parse changes parsed_at / parser_version).
# DuckDB's hash() may change between DuckDB releases: then every slot is sent once more, harmlessly.
_SLOTS_SQL = """
CREATE OR REPLACE TEMP TABLE _publish_slots AS
WITH c AS (SELECT version_id, bit_xor(hash(c)) AS h, count(*) AS n FROM pub.check_results c GROUP BY version_id)
SELECT coalesce(r.agency_key, r.agency) || '|' || r.year AS report_key, r.version_id,
       CAST(hash(r) AS VARCHAR) || ':' || CAST(coalesce(c.h, 0) AS VARCHAR) || ':' || CAST(coalesce(c.n, 0) AS VARCHAR)
           AS fingerprint
FROM pub.report_versions r LEFT JOIN c USING (version_id)
"""


class PublishFailed(WarehouseError):
    """The configured destination could not be reached or written; nothing was recorded as sent."""


@dataclass
class PublishResult:
    """What one publish sent: slots merged or deleted, whole tables replaced, rows per table."""

    destination: str | None  # None: no destination configured, nothing to do
    dataset: str | None = None
    slots_sent: int = 0
    slots_deleted: int = 0
    tables_replaced: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    full: bool = False
    seconds: float = 0.0

    @property
    def configured(self) -> bool:
        return self.destination is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "destination": self.destination,
            "dataset": self.dataset,
            "slots_sent": self.slots_sent,
            "slots_deleted": self.slots_deleted,
            "tables_replaced": list(self.tables_replaced),
            "rows": dict(self.rows),
            "full": self.full,
            "seconds": round(self.seconds, 3),
        }


# ---------------------------------------------------------------------------- destination


def make_pipeline(cfg: WarehouseConfig):  # -> dlt.Pipeline
    """The dlt pipeline ``xxgk_publish``: destination and dataset from dlt's config, state under ``cfg.dlt_dir``.

    Its destination is None when the user configured none (then nothing is published).
    """
    prepare_environment(cfg)
    import dlt
    from dlt.common.exceptions import MissingDependencyException

    logging.getLogger("dlt").setLevel(logging.ERROR)
    dataset: str | None = dlt.config.get(f"pipelines.{PIPELINE_NAME}.dataset_name") or DEFAULT_DATASET
    try:
        return dlt.pipeline(pipeline_name=PIPELINE_NAME, pipelines_dir=str(cfg.dlt_dir), dataset_name=str(dataset))
    except MissingDependencyException as exc:
        raise PublishFailed(_missing_driver(exc)) from None
    except ImportError as exc:  # a SQLAlchemy dialect whose DB-API driver is not installed
        raise PublishFailed(
            f"the publish destination needs a Python driver that is not installed ({exc}); install it "
            "in the same environment as xxgk"
        ) from None


def _missing_driver(exc: BaseException) -> str:
    hint = next((line.strip() for line in str(exc).splitlines() if line.strip().startswith("pip install")), "")
    what = next((line.strip() for line in str(exc).splitlines() if line.strip()), str(exc))
    return f"the publish destination needs more packages: {hint or what}"


def _credentials(pipeline: Any) -> Any:
    """The destination's resolved credentials (building the destination client once), or None."""
    try:
        return pipeline.destination_client().config.credentials
    except Exception:  # credentials resolved lazily by some destinations
        return None


def destination_id(pipeline: Any, credentials: Any = None) -> str:
    """Type, dataset and credentials (password hidden) of the destination: the key of ``qa.publications``."""
    creds = "" if credentials is None else str(credentials)
    return f"{pipeline.destination.destination_name}:{creds}/{pipeline.dataset_name}"


def _single_writer(credentials: Any) -> bool:
    """SQLite takes one writer at a time: dlt's parallel load jobs would hit "database is locked" and retry."""
    return str(getattr(credentials, "drivername", "") or "").startswith("sqlite")


# ---------------------------------------------------------------------------- what to send


@dataclass
class _Plan:
    """The Arrow tables to send and the fingerprints to record once dlt has loaded them."""

    slot_tables: dict[str, pa.Table]
    whole_tables: dict[str, pa.Table]
    record: list[tuple[str, str]]  # (item, fingerprint)
    forget: list[str]  # items no longer published
    slots_sent: int
    slots_deleted: int


def ensure_publications(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS qa")
    con.execute(_PUBLICATIONS_DDL)


def _sent(con: duckdb.DuckDBPyConnection, dest: str) -> dict[str, str]:
    rows = con.execute("SELECT item, fingerprint FROM qa.publications WHERE destination = ?", [dest]).fetchall()
    return dict(rows)


def _relation_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    return has_table(con, *qualified.split("."))


def plan(con: duckdb.DuckDBPyConnection, dest: str, *, full: bool = False) -> _Plan:
    """Compare the warehouse with what ``dest`` was last sent; the tables of the difference (all with ``full``)."""
    ensure_publications(con)
    sent = {} if full else _sent(con, dest)
    record: list[tuple[str, str]] = []
    slot_tables: dict[str, pa.Table] = {}
    forget: list[str] = []
    n_sent = n_deleted = 0
    if _relation_exists(con, "pub.report_versions"):
        con.execute(_SLOTS_SQL)
        current = dict(con.execute("SELECT 'slot:' || report_key, fingerprint FROM _publish_slots").fetchall())
        changed = [item for item, fp in current.items() if sent.get(item) != fp]
        gone = [item for item in sent if item.startswith("slot:") and item not in current]
        con.execute("CREATE OR REPLACE TEMP TABLE _publish_keys (report_key VARCHAR, live BOOLEAN)")
        keys = [(i.removeprefix("slot:"), True) for i in changed] + [(i.removeprefix("slot:"), False) for i in gone]
        if keys:
            con.executemany("INSERT INTO _publish_keys VALUES (?, ?)", keys)
        for name, source in SLOT_TABLES.items():
            live = f"""SELECT s.report_key, false AS {TOMBSTONE}, t.*
                       FROM _publish_slots s JOIN {source} t ON t.version_id = s.version_id"""
            if full:  # every published row, no tombstones: the table is replaced (emptied when pub is)
                slot_tables[name] = con.sql(live).to_arrow_table()
            elif keys:  # one tombstone per key (deletes the slot's rows at the destination) + the live rows
                slot_tables[name] = con.sql(f"""
                    SELECT k.report_key, true AS {TOMBSTONE}, t.* FROM _publish_keys k LEFT JOIN {source} t ON false
                    UNION ALL
                    {live} JOIN _publish_keys k ON k.report_key = s.report_key AND k.live
                """).to_arrow_table()
        record += [(item, current[item]) for item in changed]
        forget += gone
        n_sent, n_deleted = len(changed), len(gone)
    whole_tables: dict[str, pa.Table] = {}
    for name, (needs, select) in WHOLE_TABLES.items():
        if not _relation_exists(con, needs):
            continue
        item = f"table:{name}"
        fingerprint = "{}:{}".format(*con.execute(f"SELECT count(*), bit_xor(hash(t)) FROM ({select}) t").fetchall()[0])
        if sent.get(item) != fingerprint:
            whole_tables[name] = con.sql(select).to_arrow_table()
            record.append((item, fingerprint))
    return _Plan(slot_tables, whole_tables, record, forget, n_sent, n_deleted)


def _resources(p: _Plan, full: bool) -> list[Any]:
    import dlt

    out = []
    for name, table in p.slot_tables.items():
        if full:  # the destination becomes an exact copy (the hint is only meaningful for merges)
            out.append(
                dlt.resource(table, name=name, write_disposition="replace", columns={TOMBSTONE: {"hard_delete": False}})
            )
        else:
            out.append(
                dlt.resource(
                    table,
                    name=name,
                    write_disposition={"disposition": "merge", "strategy": "delete-insert"},
                    merge_key="report_key",
                    columns={TOMBSTONE: {"hard_delete": True}},
                )
            )
    for name, table in p.whole_tables.items():
        out.append(dlt.resource(table, name=name, write_disposition="replace"))
    return out


def _remember(cfg: WarehouseConfig, dest: str, p: _Plan, full: bool) -> None:
    now = datetime.now(UTC)
    con = connect(cfg.db_path)
    try:
        ensure_publications(con)
        with transaction(con):
            if full:
                con.execute("DELETE FROM qa.publications WHERE destination = ?", [dest])
            if p.forget:
                con.execute(
                    "DELETE FROM qa.publications WHERE destination = ? AND list_contains(?, item)", [dest, p.forget]
                )
            if p.record:
                con.executemany(
                    "INSERT OR REPLACE INTO qa.publications VALUES (?, ?, ?, ?)",
                    [(dest, item, fp, now) for item, fp in p.record],
                )
    finally:
        con.close()


# ---------------------------------------------------------------------------- publish


#: The settings that can name a dlt pipeline's destination (dlt's PipelineConfiguration, and its sections).
_DESTINATION_KEYS = ("destination", "destination_type", "destination_name")


def publish(cfg: WarehouseConfig, *, full: bool = False) -> PublishResult:
    """Send what changed in ``pub`` (and the whole tables) to the configured dlt destination.

    Returns a result with ``destination=None`` when none is configured.  Raises :class:`PublishFailed`
    with one line naming what to fix when the destination cannot be written; then nothing is
    recorded as sent, and the next publish sends it again.
    """
    started = time.perf_counter()
    if not may_name(_DESTINATION_KEYS):  # no destination can be configured: known without importing dlt (~1 s)
        return PublishResult(destination=None)
    pipeline = make_pipeline(cfg)
    if pipeline.destination is None:
        return PublishResult(destination=None)
    credentials = _credentials(pipeline)
    dest = destination_id(pipeline, credentials)
    con = connect(cfg.db_path)
    try:
        p = plan(con, dest, full=full)
    finally:
        con.close()
    result = PublishResult(
        dest,
        pipeline.dataset_name,
        p.slots_sent,
        p.slots_deleted,
        sorted(p.whole_tables),
        {k: t.num_rows for k, t in {**p.slot_tables, **p.whole_tables}.items()},
        full,
    )
    resources = _resources(p, full)
    if resources:
        if pipeline.has_pending_data:  # a killed publish: its package is superseded by this one
            pipeline.abort_packages()
        try:
            pipeline.extract(resources)
            pipeline.normalize()
            if _single_writer(credentials):
                pipeline.load(workers=1)
            else:
                pipeline.load()  # workers from dlt's settings ([load] workers, default 20)
        except Exception as exc:  # dlt wraps everything in PipelineStepFailed
            try:
                if pipeline.has_pending_data:
                    pipeline.abort_packages()
            except Exception:
                pipeline.drop()
            raise PublishFailed(_failure_line(dest, exc)) from exc
    if p.record or p.forget or full:
        _remember(cfg, dest, p, full)
    result.seconds = time.perf_counter() - started
    return result


def _failure_line(dest: str, exc: BaseException) -> str:
    from dlt.common.exceptions import MissingDependencyException

    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, MissingDependencyException):
            return _missing_driver(cause)
        cause = cause.__cause__ or cause.__context__
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return (
        f"publishing to {dest} failed: {lines[-1] if lines else type(exc).__name__} "
        "(check the destination settings in .dlt/config.toml / secrets.toml; run `xxgk publish` again)"
    )
