"""The shapes every rule module shares: template cells, rule instances, facts and check results.

Every rule of a report is reduced to one shape, a *rule instance*: ``lhs <op> rhs`` where each side
is a signed sum of *facts* (template cells such as ``t3.new_received.total``, or derived facts such
as ``meta.present.t4``), optionally of the previous year's report (``scope="prev"``).

Grain: one :class:`RuleInstance` per template variant × rule id × instance (a column, a row, a
block, a cell or a section); one :class:`CheckResult` per report × rule instance.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning", "info"]
Outcome = Literal["pass", "fail", "not_assessable"]
Scope = Literal["this", "prev"]

# Variants are the two templates plus gov2021_hybrid: a 2021 report printing the old single
# （六）其他处理 row, so 表三 sums ``other_handling`` instead of its three 2021 sub-rows.
VARIANTS = ("gov2021", "gov2021_hybrid", "gov2019")
# The 2019 single row （六）其他处理 that a hybrid 2021 report prints instead of its three sub-rows.
HYBRID_ROW = "other_handling"
# Sides are sums of printed decimals; counts compare exactly, amounts within this tolerance.
TOLERANCE = 1e-6
# Comparisons of two sides, and single-cell type rules (the left side only).
SIDE_OPS = ("eq", "le", "ge")
TYPE_OPS = ("nonneg_int", "int", "nonneg")


@dataclass(frozen=True)
class CellSpec:
    """One template cell of a variant, with the labels of its printed position.

    ``table`` is the statutory table (t2/t3/t4), ``subtable`` the table id of the address
    (``t2_art20_1`` … ``t3``, ``t4``); orders are 1-based in printed order.
    """

    address: str
    table: str
    subtable: str
    subtable_title: str
    row_key: str
    row_label: str
    row_short: str
    row_order: int
    col_key: str
    col_label: str
    col_order: int
    value_type: str
    is_total: bool


@dataclass(frozen=True)
class Term:
    """One summand of a rule side: ``coef × fact`` (or a constant when ``address`` is None)."""

    address: str | None
    coef: int = 1
    scope: Scope = "this"
    const: float | None = None
    label: str = ""
    is_total: bool = False


@dataclass(frozen=True)
class RuleInstance:
    """One checkable statement ``lhs <op> rhs`` of one rule for one variant.

    ``op``: eq | le | ge (sides compared), nonneg_int | nonneg | int (single-cell type rules).
    ``rhs_alt``: an accepted alternative right side (narrative counts may include carried-over).
    ``guard``: when the instance applies at all — ``always``; ``content`` (the cell carries a
    number or text); ``prev`` (a previous-year report exists, of ``prev_edition`` if set);
    ``lhs_present`` (the left-side facts exist, e.g. a publication date or a narrative figure).
    ``style`` names the message pattern (templates.yaml ``check_messages``).
    """

    rule_id: str
    instance: str
    variant: str
    severity: Severity
    op: str
    lhs: tuple[Term, ...]
    rhs: tuple[Term, ...] = ()
    rhs_alt: tuple[Term, ...] = ()
    guard: str = "always"
    prev_edition: int | None = None
    subject: str = ""
    style: str = "arithmetic"

    @property
    def blocking(self) -> bool:
        """Error-level instances block promotion when they fail or cannot be assessed."""
        return self.severity == "error"

    @property
    def key(self) -> tuple[str, str]:
        return (self.rule_id, self.instance)

    @property
    def cross_year(self) -> bool:
        """Whether the instance reads the previous year's report (it cannot be checked on one document)."""
        return self.guard == "prev"


@dataclass(frozen=True)
class Fact:
    """A value a rule can read: a template cell or a derived fact (``meta.*``, ``narr.*``)."""

    value: float | None
    semantic: str = "NUMBER"
    raw: str | None = None


MISSING = Fact(None, "MISSING")


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one rule instance on one report: values of both sides and a Chinese message."""

    rule_id: str
    instance: str
    severity: Severity
    blocking: bool
    outcome: Outcome
    lhs: float | None
    rhs: float | None
    message: str

    def to_json(self) -> dict[str, object]:
        """The parse-result form: rule_id, instance, severity, outcome, lhs, rhs, message."""
        return {
            "rule_id": self.rule_id,
            "instance": self.instance,
            "severity": self.severity,
            "outcome": self.outcome,
            "lhs": self.lhs,
            "rhs": self.rhs,
            "message": self.message,
        }


@dataclass(frozen=True)
class RuleDecl:
    """Catalogue entry of one rule id: effective and declared severity, title, origin."""

    rule_id: str
    severity: Severity
    declared_severity: Severity
    blocking: bool
    title: str
    origin: str  # templates.yaml | project
    explanation: str
