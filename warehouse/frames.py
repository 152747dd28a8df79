"""Parse results (``xxgk parse --json``, ``sources/README.md``) → the Arrow tables dlt loads into staging.

Pure functions, no I/O.  The Arrow schemas below are the single declaration of the staging
shape; the published tables (``warehouse/schema.py``) are created from the same schemas, and the
dlt schema contract (columns and data types frozen) keeps both from drifting.

Grain and key of each table:

* ``report_versions`` — one row per distinct document (report version); key ``version_id``
  (the first 16 hex digits of the document's sha256).
* ``cells`` — one row per report version × template cell address; key (``version_id``, ``address``).
* ``parse_issues`` — one row per report version × parser issue; key (``version_id``, ``seq``).
* ``narrative_facts`` — one row per report version × figure read from the narrative; key
  (``version_id``, ``key``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from sources import rules

VALUE_TYPE = pa.decimal128(20, 6)
_QUANTUM = Decimal("0.000001")

REPORT_VERSIONS = pa.schema(
    [
        pa.field("version_id", pa.string(), nullable=False),
        pa.field("sha256", pa.string(), nullable=False),
        pa.field("agency", pa.string()),
        pa.field("agency_key", pa.string()),
        pa.field("year", pa.int64()),
        pa.field("template", pa.string()),
        pa.field("variant", pa.string()),
        pa.field("source_path", pa.string()),
        pa.field("source_url", pa.string()),
        pa.field("format", pa.string()),
        pa.field("bytes", pa.int64()),
        pa.field("published_on", pa.date32()),
        pa.field("publication_deadline", pa.date32()),
        pa.field("parsed_at", pa.timestamp("us", tz="UTC")),
        pa.field("parser_version", pa.string()),
        pa.field("sections", pa.string()),
        pa.field("cell_count", pa.int64()),
        pa.field("issue_count", pa.int64()),
        pa.field("parse_error", pa.string()),
        pa.field("reject_reason", pa.string()),
        pa.field("run_id", pa.string()),
        pa.field("loaded_at", pa.timestamp("us", tz="UTC")),
    ]
)

CELLS = pa.schema(
    [
        pa.field("version_id", pa.string(), nullable=False),
        pa.field("address", pa.string(), nullable=False),
        pa.field("table_id", pa.string()),
        pa.field("row_key", pa.string()),
        pa.field("col_key", pa.string()),
        pa.field("value", VALUE_TYPE),
        pa.field("raw", pa.string()),
        pa.field("semantic", pa.string()),
        pa.field("unit", pa.string()),
        pa.field("page", pa.int64()),
        pa.field("line", pa.int64()),
        pa.field("label", pa.string()),
        pa.field("reason", pa.string()),
        # OCR cells only: the reading's status (ok, low_confidence, unreadable, unverified) and its
        # provenance as JSON (page, box, text as recognised, confidence, method).
        pa.field("ocr_status", pa.string()),
        pa.field("ocr", pa.string()),
    ]
)

PARSE_ISSUES = pa.schema(
    [
        pa.field("version_id", pa.string(), nullable=False),
        pa.field("seq", pa.int64(), nullable=False),
        pa.field("code", pa.string()),
        pa.field("severity", pa.string()),
        pa.field("address", pa.string()),
        pa.field("page", pa.int64()),
        pa.field("message", pa.string()),
    ]
)

NARRATIVE_FACTS = pa.schema(
    [
        pa.field("version_id", pa.string(), nullable=False),
        pa.field("key", pa.string(), nullable=False),
        pa.field("value", pa.float64()),
    ]
)

# table name → (schema, primary key); every table is merged on version_id (delete-insert).
STAGING_TABLES: dict[str, tuple[pa.Schema, tuple[str, ...]]] = {
    "report_versions": (REPORT_VERSIONS, ("version_id",)),
    "cells": (CELLS, ("version_id", "address")),
    "parse_issues": (PARSE_ISSUES, ("version_id", "seq")),
    "narrative_facts": (NARRATIVE_FACTS, ("version_id", "key")),
}


@dataclass(frozen=True)
class RunInfo:
    """Identity of one ingest run, stamped on every staged row."""

    run_id: str
    loaded_at: datetime


def version_id_of(sha256: str) -> str:
    """The report-version id: the first 16 hex digits of the document's sha256."""
    return sha256[:16]


def reject_reason(doc: Mapping[str, Any]) -> str | None:
    """Why a document is not a statutory report (None when it is one).  Chinese, for analysts."""
    if doc.get("error"):
        return f"无法读取：{doc['error']}"
    if doc.get("template") is None:
        codes = {i.get("code") for i in doc.get("issues") or []}
        if "blank_template" in codes:
            return "空白模板：法定统计表中没有任何数字"
        return "不是法定格式（2019 试行 / 2021 版）的政府信息公开工作年度报告"
    return None


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return Decimal(str(value)).quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def version_row(doc: Mapping[str, Any], run: RunInfo, parsed_at: datetime | None = None) -> dict[str, Any]:
    """The ``report_versions`` row of one parsed document (identity already applied to ``doc``)."""
    source = doc.get("source") or {}
    sha = source.get("sha256") or ""
    template = doc.get("template")
    cells = doc.get("cells") or []
    reason = reject_reason(doc)
    variant = None if reason else rules.variant_of(template, (c["address"] for c in cells))
    path = source.get("path")
    url = source.get("url") or (path if isinstance(path, str) and path.startswith(("http://", "https://")) else None)
    return {
        "version_id": version_id_of(sha),
        "sha256": sha,
        "agency": doc.get("agency"),
        "agency_key": rules.agency_key(doc.get("agency")),
        "year": doc.get("year"),
        "template": template if not reason else None,
        "variant": variant,
        "source_path": None if url else path,
        "source_url": url,
        "format": source.get("format"),
        "bytes": source.get("bytes"),
        "published_on": _date(doc.get("published_on")),
        "publication_deadline": rules.publication_deadline(doc.get("agency"), doc.get("year")),
        "parsed_at": parsed_at or run.loaded_at,
        "parser_version": doc.get("parser_version"),
        "sections": ",".join(doc.get("sections") or []),
        "cell_count": len(cells),
        "issue_count": sum(1 for _ in issue_rows("", doc)),
        "parse_error": doc.get("error"),
        "reject_reason": reason,
        "run_id": run.run_id,
        "loaded_at": run.loaded_at,
    }


def decimal_values(values: Sequence[Any]) -> pa.Array:
    """Cell values (int, float, Decimal or None) as ``DECIMAL(20,6)``, rounded half-even at 6 places.

    Vectorised: ints are cast exactly; floats go through their shortest decimal text (Arrow's
    float → string cast gives the digits Python's ``str`` gives), so 7730.28 stays 7730.280000.
    Anything Arrow cannot convert that way (more than 18 decimals, mixed types) takes the
    per-value :class:`~decimal.Decimal` path, which gives the same result.
    """
    try:
        arr = pa.array(values)
        if pa.types.is_null(arr.type):
            return pa.nulls(len(arr), VALUE_TYPE)
        if pa.types.is_integer(arr.type):
            return pc.cast(pc.cast(arr, pa.decimal128(38, 6)), VALUE_TYPE)
        if pa.types.is_floating(arr.type):
            arr = pc.cast(pc.cast(arr, pa.string()), pa.decimal128(38, 18))
        if pa.types.is_decimal(arr.type):
            return pc.cast(pc.round(arr, ndigits=6, round_mode="half_to_even"), VALUE_TYPE)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError):
        pass
    return pa.array([_decimal(v) for v in values], type=VALUE_TYPE)


_ADDRESS = r"^(?P<table_id>[^.]*)(?:\.(?P<row_key>[^.]*))?(?:\.(?P<col_key>[^.]*))?"


def _address_parts(addresses: pa.Array) -> tuple[pa.Array, pa.Array, pa.Array]:
    """``t3.granted.natural_person`` → (``t3``, ``granted``, ``natural_person``); missing parts are ''."""
    parts = pc.extract_regex(addresses, _ADDRESS)
    return tuple(pc.struct_field(parts, name) for name in ("table_id", "row_key", "col_key"))


def cells_table(docs: Sequence[tuple[str, Mapping[str, Any]]]) -> pa.Table:
    """The ``cells`` table of (version_id, parse result) pairs: one row per cell, column-wise.

    No per-cell dict is built: each column is one list comprehension, then Arrow does the rest.
    """
    cells = [c for _vid, doc in docs for c in doc.get("cells") or []]
    vids = [vid for vid, doc in docs for _c in doc.get("cells") or []]
    addresses = pa.array([c["address"] for c in cells], pa.string())
    table_id, row_key, col_key = _address_parts(addresses)

    def column(name: str, arrow_type: pa.DataType) -> pa.Array:
        return pa.array([c.get(name) for c in cells], arrow_type)

    columns = {
        "version_id": pa.array(vids, pa.string()),
        "address": addresses,
        "table_id": table_id,
        "row_key": row_key,
        "col_key": col_key,
        "value": decimal_values([c.get("value") for c in cells]),
        "raw": column("raw", pa.string()),
        "semantic": column("semantic", pa.string()),
        "unit": column("unit", pa.string()),
        "page": column("page", pa.int64()),
        "line": column("line", pa.int64()),
        "label": column("label", pa.string()),
        "reason": column("reason", pa.string()),
        "ocr_status": pa.array([(c.get("ocr") or {}).get("status") for c in cells], pa.string()),
        "ocr": pa.array(
            [json.dumps(c["ocr"], ensure_ascii=False) if c.get("ocr") else None for c in cells], pa.string()
        ),
    }
    return pa.Table.from_arrays([columns[f.name] for f in CELLS], schema=CELLS)


def issue_rows(version_id: str, doc: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    """One ``parse_issues`` row per parser issue, numbered in document order; plus ``published_on_unreadable``
    when the document gives a publication date that is not a date (it is stored as NULL, never guessed)."""
    issues = list(doc.get("issues") or [])
    printed = doc.get("published_on")
    if printed not in (None, "") and _date(printed) is None:
        issues.append(
            {
                "code": "published_on_unreadable",
                "severity": "warning",
                "message": f"发布日期无法识别：{printed!s}（按空值入库，发布时限无法检查）",
            }
        )
    for seq, issue in enumerate(issues, start=1):
        yield {
            "version_id": version_id,
            "seq": seq,
            "code": issue.get("code"),
            "severity": issue.get("severity"),
            "address": issue.get("address"),
            "page": issue.get("page"),
            "message": issue.get("message"),
        }


def narrative_rows(version_id: str, doc: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    """Figures stated in the narrative (``doc["narrative"]``, or read from ``doc["text"]``)."""
    for key, value in sorted(rules.narrative_of(doc).items()):
        if value is not None:
            yield {"version_id": version_id, "key": key, "value": float(value)}


def _table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=schema)


def build_frames(docs: Sequence[Mapping[str, Any]], run: RunInfo) -> dict[str, pa.Table]:
    """The four staging tables for a batch of parsed documents (one Arrow table each).

    Rejected documents (not statutory, unreadable) get a ``report_versions`` row and their parse
    issues, but no cells.  Cells (the bulk: about 200 per report) are built column-wise.
    """
    versions: list[dict[str, Any]] = []
    statutory: list[tuple[str, Mapping[str, Any]]] = []
    issues: list[dict[str, Any]] = []
    narrative: list[dict[str, Any]] = []
    for doc in docs:
        row = version_row(doc, run)
        versions.append(row)
        vid = row["version_id"]
        issues.extend(issue_rows(vid, doc))
        if row["reject_reason"] is None:
            statutory.append((vid, doc))
            narrative.extend(narrative_rows(vid, doc))
    return {
        "report_versions": _table(versions, REPORT_VERSIONS),
        "cells": cells_table(statutory),
        "parse_issues": _table(issues, PARSE_ISSUES),
        "narrative_facts": _table(narrative, NARRATIVE_FACTS),
    }
