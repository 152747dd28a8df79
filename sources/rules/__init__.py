"""The statutory consistency rules, declared once: templates.yaml ``rules:`` expanded into rule instances.

Every rule of a report is one shape, a *rule instance* ``lhs <op> rhs`` over *facts* (template
cells and derived ``meta.*``/``narr.*`` facts); templates.yaml declares each checked rule with its
title, severity and message pattern (``check:``).  The same instances drive

* the rule tables the warehouse loads into DuckDB (``ref.rule_instances`` / ``ref.rule_terms``),
  from which its SQL computes both sides of every check of a report version;
* the Great Expectations suite, one expectation per rule id (``expectations/``), which decides
  each stored check;
* the Chinese messages of every check result (:mod:`sources.rules.messages`), and
* the parse-time evaluation of one document (:func:`check_report`, ``xxgk parse``).

Modules: :mod:`~sources.rules.model` (shapes), :mod:`~sources.rules.cells` (template cells per
variant), :mod:`~sources.rules.expand` (the catalogue), :mod:`~sources.rules.facts`,
:mod:`~sources.rules.sides`, :mod:`~sources.rules.evaluate`, :mod:`~sources.rules.messages`,
:mod:`~sources.rules.reporting` (agency key, deadline, editions, China time).  No I/O except
reading the packaged templates.yaml once (through :mod:`sources.template`).
"""

from sources.rules.cells import (
    cell_index,
    cell_specs,
    hybrid_split_rows,
    t3_column_name,
    t3_short_label,
    t4_block_names,
    template_of_variant,
    variant_of,
)
from sources.rules.evaluate import applies, check_report, compare, evaluate, evaluate_report
from sources.rules.expand import (
    instance_index,
    rule_catalogue,
    rule_ids,
    rule_instances,
    rule_specs,
    severity_of,
    yaml_rules,
)
from sources.rules.facts import narrative_facts, narrative_of, report_facts
from sources.rules.messages import fmt_number, format_message, render_side, side_text
from sources.rules.model import (
    HYBRID_ROW,
    TOLERANCE,
    VARIANTS,
    CellSpec,
    CheckResult,
    Fact,
    Outcome,
    RuleDecl,
    RuleInstance,
    Severity,
    Term,
)
from sources.rules.reporting import (
    CHINA_TZ,
    EDITIONS,
    agency_key,
    date_number,
    expected_edition,
    number_date,
    publication_deadline,
)

__all__ = [
    "CHINA_TZ",
    "EDITIONS",
    "HYBRID_ROW",
    "TOLERANCE",
    "VARIANTS",
    "CellSpec",
    "CheckResult",
    "Fact",
    "Outcome",
    "RuleDecl",
    "RuleInstance",
    "Severity",
    "Term",
    "agency_key",
    "applies",
    "cell_index",
    "cell_specs",
    "check_report",
    "compare",
    "date_number",
    "evaluate",
    "evaluate_report",
    "expected_edition",
    "fmt_number",
    "format_message",
    "hybrid_split_rows",
    "instance_index",
    "narrative_facts",
    "narrative_of",
    "number_date",
    "publication_deadline",
    "render_side",
    "report_facts",
    "rule_catalogue",
    "rule_ids",
    "rule_instances",
    "rule_specs",
    "severity_of",
    "side_text",
    "t3_column_name",
    "t3_short_label",
    "t4_block_names",
    "template_of_variant",
    "variant_of",
    "yaml_rules",
]
