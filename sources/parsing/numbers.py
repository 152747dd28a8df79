"""Reading one printed cell: its semantic (NUMBER, ZERO, EMPTY, NA, TEXT) and its value.

Implements ``number_parsing`` and ``cell_semantics`` of templates.yaml.  A cell that is not a clean
number for its value type is TEXT with value ``None`` — never a guess.  Amounts are returned in 万元
(元 ÷ 10000, 亿元 × 10000), as :class:`~decimal.Decimal`.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

from sources.parsing.labels import clean_text, to_simplified
from sources.template import raw_spec

NA_FORMS = frozenset(raw_spec()["na_forms"])  # placeholders meaning "not applicable" (templates.yaml)
_UNITS = "件|条|个|项|份|人次|万元|亿元|元"
_UNIT = re.compile(rf"({_UNITS})$")
_ANNOTATION = re.compile(rf"^([+\-−]?[\d,]+(?:\.\d+)?)({_UNITS})?[(（\[【](.*)[)）\]】]$")
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
_WHITESPACE = re.compile(r"\s+")
_VALUE = re.compile(r"(?:增加|减少|增|减|[+\-−])?[\d,]+(?:\.\d+)?")
_INT = re.compile(r"\d+")
_INT_WITH_ZEROS = re.compile(r"\d+\.0+")
_DECIMAL = re.compile(r"\d+(\.\d+)?")
_SIGN_WORDS = (("增加", 1), ("减少", -1), ("增", 1), ("减", -1), ("+", 1), ("-", -1), ("−", -1))


@dataclass(frozen=True)
class CellValue:
    """A parsed cell: ``value`` is int (counts), Decimal (万元 amounts) or None."""

    semantic: str  # NUMBER | ZERO | EMPTY | NA | TEXT
    value: int | Decimal | None
    unit: str | None = None
    note: str | None = None  # e.g. an annotation such as "其中修订16件", or "元→万元"


@functools.lru_cache(maxsize=65536)
def squash(text: str) -> str:
    """Cell text with artefacts removed, NFKC applied and every whitespace dropped (remembered: a
    report's cell texts are squashed several times each — 868 calls for 82 texts in a 3-page PDF — and
    the statutory labels recur in every report)."""
    text = to_simplified(unicodedata.normalize("NFKC", clean_text(text)))
    return _WHITESPACE.sub("", text)


@functools.lru_cache(maxsize=65536)
def looks_like_value(text: str) -> bool:
    """True when the printed text is a value cell (number, placeholder, blank), not a label (remembered,
    as :func:`squash`)."""
    s = squash(text)
    if not s or s in NA_FORMS:
        return True
    if _ANNOTATION.match(s):
        return True
    s = _UNIT.sub("", s)
    return bool(_VALUE.fullmatch(s)) or s == "持平"


def parse_cell(text: str | None, value_type: str = "count") -> CellValue:
    """Parse printed text for a cell of ``value_type`` (count, signed_count, amount_*)."""
    if text is None:
        return CellValue("EMPTY", None)
    s = squash(text)
    if not s:
        return CellValue("EMPTY", None)
    if s in NA_FORMS:
        return CellValue("NA", None)
    note = None
    annotated = _ANNOTATION.match(s)
    if annotated:
        s = annotated.group(1) + (annotated.group(2) or "")
        note = annotated.group(3)
    unit_match = _UNIT.search(s)
    unit = unit_match.group(1) if unit_match else None
    if unit_match and unit:
        s = s[: unit_match.start()]
    if value_type == "signed_count":
        return _signed(s, unit, note)
    if _THOUSANDS.match(s):
        s = s.replace(",", "")
    if value_type.startswith("amount"):
        return _amount(s, unit, note)
    return _count(s, unit, note)


def _count(s: str, unit: str | None, note: str | None) -> CellValue:
    if _INT.fullmatch(s):
        n = int(s)
    elif _INT_WITH_ZEROS.fullmatch(s):
        n = int(s.split(".")[0])
        note = note or "integer printed with decimals"
    else:
        return CellValue("TEXT", None, unit, note)
    return CellValue("ZERO" if n == 0 else "NUMBER", n, unit, note)


def _amount(s: str, unit: str | None, note: str | None) -> CellValue:
    if not _DECIMAL.fullmatch(s):
        return CellValue("TEXT", None, unit, note)
    amount = to_wan_yuan(Decimal(s), unit)
    return CellValue("ZERO" if amount == 0 else "NUMBER", amount, unit, note)


def _signed(s: str, unit: str | None, note: str | None) -> CellValue:
    if s == "持平":
        return CellValue("ZERO", 0, unit, note)
    sign = 1
    for word, sgn in _SIGN_WORDS:
        if s.startswith(word):
            sign, s = sgn, s[len(word) :]
            break
    if not _INT.fullmatch(s):
        return CellValue("TEXT", None, unit, note)
    n = sign * int(s)
    return CellValue("ZERO" if n == 0 else "NUMBER", n, unit, note)


def to_wan_yuan(value: Decimal | int, unit: str | None) -> Decimal:
    """Convert an amount printed in ``unit`` (元, 万元, 亿元 or None = 万元) to 万元."""
    value = Decimal(value)
    if unit == "元":
        return value / Decimal(10000)
    if unit == "亿元":
        return value * Decimal(10000)
    return value
