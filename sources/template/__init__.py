"""The statutory templates: ``templates.yaml`` (data) and its in-memory model (:mod:`sources.template.model`)."""

from sources.template.model import (
    TABLE_NAMES,
    TEMPLATE_IDS,
    Column,
    RowDef,
    RuleSpec,
    Section,
    Table,
    Template,
    check_messages,
    checked_rules,
    load_template,
    raw_spec,
    t4_flattened_order,
)

__all__ = [
    "TABLE_NAMES",
    "TEMPLATE_IDS",
    "Column",
    "RuleSpec",
    "RowDef",
    "Section",
    "Table",
    "Template",
    "check_messages",
    "checked_rules",
    "load_template",
    "raw_spec",
    "t4_flattened_order",
]
