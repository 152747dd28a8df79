"""The template cells of each variant, with the labels messages and views print.

Grain: one :class:`~sources.rules.model.CellSpec` per variant × template cell (200 gov2021, 186
gov2021_hybrid, 198 gov2019), in printed order.  Short names come from templates.yaml (``short:``
of a 表三 row or column); other rows are named by their label without its enumeration.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from sources.rules.model import HYBRID_ROW, CellSpec
from sources.template import load_template


def template_of_variant(variant: str) -> str:
    """The template a variant is printed in (gov2021_hybrid → gov2021)."""
    return "gov2019" if variant == "gov2019" else "gov2021"


@functools.cache
def hybrid_split_rows() -> tuple[str, ...]:
    """The 2021 表三 rows a hybrid report replaces by :data:`HYBRID_ROW`: its children in the template model."""
    return tuple(r.key for r in load_template("gov2021").table("t3").data_rows if r.group == HYBRID_ROW)


def variant_of(template: str | None, addresses: Iterable[str]) -> str | None:
    """The variant of a parsed report: gov2021 with a printed single （六） row is ``gov2021_hybrid``."""
    if template is None:
        return None
    if template == "gov2021" and any(a.startswith(f"t3.{HYBRID_ROW}.") for a in addresses):
        return "gov2021_hybrid"
    return template


def _strip_enum(label: str) -> str:
    return re.sub(r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|\d+\.)", "", label)


def _t3_short(short: str | None, label: str) -> str:
    return short or re.sub(r"（.*?）$", "", _strip_enum(label))


@functools.cache
def t4_block_names() -> dict[str, str]:
    """表四 block key → its name in messages: the row label under its printed header group
    (行政复议, 行政诉讼（未经复议直接起诉）, 行政诉讼（复议后起诉）)."""
    t4 = load_template("gov2021").table("t4")
    return {r.key: f"{r.header_group}（{r.label}）" if r.header_group else r.label for r in t4.rows}


def t3_short_label(row_key: str, template: str = "gov2021") -> str:
    """The short name of a 表三 row for messages and charts (本年新收, 予以公开, 不予处理 …)."""
    row = load_template(template).table("t3").row(row_key)
    return _t3_short(row.short, row.label)


def t3_column_name(col_key: str, template: str = "gov2021") -> str:
    """The name of a 表三 applicant column in messages (其他 → 其他（法人或其他组织）)."""
    col = load_template(template).table("t3").column(col_key)
    return col.short or col.label


def is_total(kind: str, row_key: str, col_key: str) -> bool:
    """A printed total: 表三 总计 column or （七）总计 row, 表四 总计 — blank means "not filled in"."""
    if kind == "t3":
        return col_key == "total" or row_key == "result_total"
    return kind == "t4" and col_key == "total"


@functools.cache
def cell_specs(variant: str) -> tuple[CellSpec, ...]:
    """Every template cell of ``variant`` in printed order (200 gov2021, 186 hybrid, 198 gov2019)."""
    template = load_template(template_of_variant(variant))
    out: list[CellSpec] = []
    for table in template.tables:
        rows = list(table.data_rows)
        if variant == "gov2021_hybrid" and table.id == "t3":
            split = hybrid_split_rows()
            at = next(i for i, r in enumerate(rows) if r.key == split[0])
            rows = [r for r in rows if r.key not in split]
            rows.insert(at, table.row(HYBRID_ROW))
        for r_order, row in enumerate(rows, start=1):
            for c_order, col in enumerate(table.columns, start=1):
                if table.kind == "t3":
                    row_short = _t3_short(row.short, row.label)
                elif table.kind == "t4":
                    row_short = t4_block_names().get(row.key, row.label)
                else:
                    row_short = row.label
                out.append(
                    CellSpec(
                        address=f"{table.id}.{row.key}.{col.key}",
                        table=table.kind,
                        subtable=table.id,
                        subtable_title=table.title,
                        row_key=row.key,
                        row_label=row.label,
                        row_short=row_short,
                        row_order=r_order,
                        col_key=col.key,
                        col_label=col.label,
                        col_order=c_order,
                        value_type=col.value_type,
                        is_total=is_total(table.kind, row.key, col.key),
                    )
                )
    return tuple(out)


@functools.cache
def cell_index(variant: str) -> dict[str, CellSpec]:
    """The cells of ``variant`` by address."""
    return {c.address: c for c in cell_specs(variant)}
