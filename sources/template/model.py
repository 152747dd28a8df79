"""The statutory templates (gov2021, gov2019) as an in-memory model built from the packaged YAML.

``sources/template/templates.yaml`` is the project's own copy of the researched template facts
(keys, official labels, aliases, typos, value types and consistency rules).  This module turns it
into small frozen dataclasses that the assembler, the rules and the warehouse all share, so each
label and each address is declared exactly once.

The ``rules:`` of templates.yaml that the project checks carry a ``check:`` entry (title, how the
rule expands into instances, its message pattern, a severity decided differently from the declared
one with its reason); :func:`checked_rules` reads them and :func:`check_messages` the Chinese
message patterns (``check_messages:``).

Grain: one :class:`Template` per template id; one :class:`Table` per statutory (sub-)table
(表二 has one per 条例第二十条 item, 表三 is ``t3``, 表四 is ``t4`` with blocks as rows); one
address per template cell, ``<table>.<row>.<col>``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from sources.parsing.labels import normalize_label

TEMPLATE_IDS = ("gov2021", "gov2019")
# The three statutory tables as the report prints their names.
TABLE_NAMES = {"t2": "表二", "t3": "表三", "t4": "表四"}
_YAML = Path(__file__).with_name("templates.yaml")


@dataclass(frozen=True)
class Column:
    """A value column: canonical key, official label, value type and its normalised match keys."""

    key: str
    label: str
    value_type: str  # count | signed_count | amount_wan_yuan | amount_unit_in_cell
    match_keys: tuple[str, ...]
    short: str | None = None  # its name in messages where the label is ambiguous (表三 其他 → 其他（法人或其他组织）)


@dataclass(frozen=True)
class RowDef:
    """A row of a table.  ``is_data_row`` rows carry numbers; group rows only label their children."""

    key: str
    label: str
    is_data_row: bool
    group: str | None
    match_keys: tuple[str, ...]
    header_group: str | None = None  # a header printed above this row's block and its neighbours (表四 行政诉讼)
    short: str | None = None  # the short name in messages and charts (表三 本年新收, 办理结果总计 …)


@dataclass(frozen=True)
class Table:
    """One statutory (sub-)table: ``t2_art20_1`` … ``t3``, ``t4``.  ``kind`` is t2, t3 or t4."""

    id: str
    kind: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[RowDef, ...]
    caption_keys: tuple[str, ...] = ()
    # Header texts that announce this table in a row stream (表三's 勾稽 note and 申请人情况, 表四's
    # 行政复议 …) without being row labels; only texts no other table uses.
    marker_keys: tuple[str, ...] = ()

    @property
    def data_rows(self) -> tuple[RowDef, ...]:
        return tuple(r for r in self.rows if r.is_data_row)

    def row(self, key: str) -> RowDef:
        return next(r for r in self.rows if r.key == key)

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


@dataclass(frozen=True)
class Section:
    """One of the six report headings (一、总体情况 …)."""

    no: int
    key: str
    label: str
    match_keys: tuple[str, ...]


@dataclass(frozen=True)
class Template:
    """A statutory template: its six sections and its tables, in printed order."""

    id: str
    name: str
    sections: tuple[Section, ...]
    tables: tuple[Table, ...]

    def table(self, table_id: str) -> Table:
        return next(t for t in self.tables if t.id == table_id)

    def tables_of(self, kind: str) -> tuple[Table, ...]:
        return tuple(t for t in self.tables if t.kind == kind)

    @functools.cached_property
    def addresses(self) -> tuple[str, ...]:
        """Every cell address of the template, in printed order (200 for gov2021, 198 for gov2019)."""
        return tuple(f"{t.id}.{r.key}.{c.key}" for t in self.tables for r in t.data_rows for c in t.columns)

    def value_type(self, address: str) -> str:
        table_id, _row, col = address.split(".")
        return self.table(table_id).column(col).value_type

    def label_of(self, address: str) -> str:
        """Human label of a cell address in Chinese, e.g. ``表三 一、本年新收… / 自然人``."""
        table_id, row_key, col_key = address.split(".")
        table = self.table(table_id)
        return f"{table.title} {table.row(row_key).label} / {table.column(col_key).label}"


@functools.cache
def raw_spec() -> dict[str, Any]:
    """The packaged templates.yaml as a dict (read once per process; libyaml's loader when available)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with _YAML.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=loader)


def _keys(entry: dict[str, Any], *fields: str) -> tuple[str, ...]:
    """Normalised match keys of a YAML entry from its label, match_key and alias lists, deduplicated."""
    out: list[str] = []
    for name in fields:
        value = entry.get(name)
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                key = normalize_label(text)
                if key and key not in out:
                    out.append(key)
    return tuple(out)


_LABEL_FIELDS = ("match_key", "label", "core_label", "aliases", "aliases_traditional", "typos")


def _columns(entries: list[dict[str, Any]]) -> tuple[Column, ...]:
    return tuple(
        Column(e["key"], e["label"], e.get("value_type", "count"), _keys(e, *_LABEL_FIELDS), e.get("short"))
        for e in entries
    )


def _rows(entries: list[dict[str, Any]], *, all_data: bool = False) -> tuple[RowDef, ...]:
    return tuple(
        RowDef(
            e["key"],
            e["label"],
            bool(all_data or e.get("is_data_row", True)),
            e.get("group"),
            _keys(e, *_LABEL_FIELDS),
            e.get("header_group"),
            e.get("short"),
        )
        for e in entries
    )


def _build(template_id: str) -> Template:
    spec = raw_spec()["templates"][template_id]
    sections = tuple(
        Section(s["no"], s["key"], s["label"], _keys(s, "match_key", "label", "aliases", "aliases_traditional"))
        for s in spec["sections"]
    )
    tables: list[Table] = []
    for sub in spec["tables"]["t2"]["subtables"]:
        tables.append(
            Table(
                sub["id"],
                "t2",
                f"{TABLE_NAMES['t2']} {sub['caption']}",
                _columns(sub["columns"]),
                _rows(sub["rows"], all_data=True),
                _keys(sub, "caption", "caption_aliases"),
            )
        )
    t3 = spec["tables"]["t3"]
    t3_columns, t3_rows = _columns(t3["columns"]), _rows(t3["rows"])
    header = t3.get("header", {})
    t3_markers = (
        _keys(header, "top_left_note", "top_left_note_aliases")
        + tuple(normalize_label(c.get("header_group", "")) for c in t3["columns"] if c.get("header_group"))
        + t3_columns[0].match_keys
    )  # 自然人: the first applicant column, printed only in the header
    t4 = spec["tables"]["t4"]
    t4_columns, t4_rows = _columns(t4["columns"]), _rows(t4["rows"], all_data=True)
    t3_items: tuple[Column | RowDef, ...] = (*t3_columns, *t3_rows)
    t3_words = {k for item in t3_items for k in item.match_keys}
    # 行政诉讼 spans the two litigation blocks in the printed header (their header_group); it is no block.
    t4_items: tuple[Column | RowDef, ...] = (*t4_rows, *t4_columns)
    t4_words = [k for item in t4_items for k in item.match_keys] + [
        normalize_label(r.header_group) for r in t4_rows if r.header_group
    ]
    t4_markers = tuple(dict.fromkeys(k for k in t4_words if k not in t3_words and len(k) >= 4))
    t3_table = Table("t3", "t3", TABLE_NAMES["t3"], t3_columns, t3_rows, marker_keys=tuple(dict.fromkeys(t3_markers)))
    tables.append(t3_table)
    tables.append(Table("t4", "t4", TABLE_NAMES["t4"], t4_columns, t4_rows, marker_keys=t4_markers))
    return Template(template_id, spec["name"], sections, tuple(tables))


@functools.cache
def load_template(template_id: str) -> Template:
    """The :class:`Template` for ``gov2021`` or ``gov2019`` (cached)."""
    if template_id not in TEMPLATE_IDS:
        raise KeyError(f"unknown template {template_id!r}; expected one of {', '.join(TEMPLATE_IDS)}")
    return _build(template_id)


@functools.cache
def t4_flattened_order() -> tuple[str, ...]:
    """The 15 表四 cells in printed left-to-right order, as ``<block>.<measure>``."""
    return tuple(raw_spec()["templates"]["gov2021"]["tables"]["t4"]["flattened_order"])


@dataclass(frozen=True)
class RuleSpec:
    """One rule of templates.yaml that the project checks (an entry with ``check:``).

    ``severity`` is the one the checks use: ``check.severity`` where the project decides differently
    from the declared ``severity`` (``severity_reason`` says why), else the declared one.
    ``expand`` names how the rule becomes instances (``expr``: from its expression; ``cell_types``,
    ``table_present``, ``cells_complete``, ``sections``, ``identity``, ``template_year``,
    ``deadline``, ``narrative``); ``message`` names its pattern in ``check_messages``.
    """

    id: str
    title: str
    severity: str
    declared_severity: str
    severity_reason: str
    expand: str
    message: str
    applies_to: tuple[str, ...]
    expr: str | None
    for_each: dict[str, Any]
    requires_prev: tuple[str, ...]
    pattern: str | None
    explanation: str
    origin: str  # templates.yaml (a researched rule) | project (added by this project)

    @property
    def blocking(self) -> bool:
        """Error-level rules block promotion when an instance fails or cannot be assessed."""
        return self.severity == "error"


@functools.cache
def checked_rules() -> tuple[RuleSpec, ...]:
    """Every rule with a ``check:`` entry, in the order of templates.yaml."""
    out: list[RuleSpec] = []
    for r in raw_spec()["rules"]:
        check = r.get("check")
        if not check:
            continue
        out.append(
            RuleSpec(
                id=r["id"],
                title=check["title"],
                severity=check.get("severity", r["severity"]),
                declared_severity=r["severity"],
                severity_reason=check.get("severity_reason", ""),
                expand=check["expand"],
                message=check["message"],
                applies_to=tuple(r.get("applies_to") or ()),
                expr=r.get("expr"),
                for_each=dict(r.get("for_each") or {}),
                requires_prev=tuple(r.get("requires_prev") or ()),
                pattern=r.get("pattern"),
                explanation=r.get("explanation", ""),
                origin="project" if r.get("basis") == "project" else "templates.yaml",
            )
        )
    return tuple(out)


@functools.cache
def check_messages() -> dict[str, dict[str, Any]]:
    """The Chinese message patterns of the checks by name (``check_messages:`` of templates.yaml)."""
    return dict(raw_spec()["check_messages"])
