"""The facts of one parsed report: its cells plus derived ``meta.*`` and narrative ``narr.*`` facts.

Grain: one :class:`~sources.rules.model.Fact` per report × address.  The warehouse derives the
same facts in SQL (``qa.v_facts``) from the staged tables.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from sources.rules.cells import cell_specs, template_of_variant, variant_of
from sources.rules.expand import yaml_rules
from sources.rules.model import Fact
from sources.rules.reporting import EDITIONS, date_number, expected_edition, publication_deadline
from sources.template import load_template


def report_facts(doc: Mapping[str, Any]) -> dict[str, Fact]:
    """The facts of one parse result: its cells plus derived ``meta.*``/``narr.*``.

    Derived facts: ``meta.known.agency|year`` (1/0), ``meta.template_edition`` (2021/2019),
    ``meta.expected_edition`` (from the year), ``meta.published_on`` and ``meta.deadline`` (yyyymmdd),
    ``meta.section.<key>`` (1/0), ``meta.present.<t2|t3|t4>`` (number of cells read),
    ``meta.ocr_unverified`` (OCR-read cells marked unverified; only when OCR read cells), and the
    narrative figures ``narr.*`` (from ``doc["narrative"]`` or, if present, ``doc["text"]``).
    """
    facts: dict[str, Fact] = {}
    cells = doc.get("cells") or []
    for c in cells:
        value = c.get("value")
        facts[c["address"]] = Fact(
            None if value is None else float(value), c.get("semantic") or "MISSING", c.get("raw")
        )
    template = doc.get("template")
    variant = variant_of(template, (c["address"] for c in cells))
    year = doc.get("year")
    facts["meta.known.agency"] = Fact(1.0 if doc.get("agency") else 0.0)
    facts["meta.known.year"] = Fact(1.0 if year else 0.0)
    if template in EDITIONS:
        facts["meta.template_edition"] = Fact(float(EDITIONS[template]), raw=template)
    edition = expected_edition(year)
    if edition is not None:
        facts["meta.expected_edition"] = Fact(float(edition))
    published = date_number(doc.get("published_on"))
    if published is not None:
        facts["meta.published_on"] = Fact(float(published))
    deadline = date_number(doc.get("publication_deadline") or publication_deadline(doc.get("agency"), year))
    if deadline is not None:
        facts["meta.deadline"] = Fact(float(deadline))
    sections = set(doc.get("sections") or [])
    if variant:
        for section in load_template(template_of_variant(variant)).sections:
            facts[f"meta.section.{section.key}"] = Fact(1.0 if section.key in sections else 0.0)
        for table in ("t2", "t3", "t4"):
            n = sum(
                1
                for spec in cell_specs(variant)
                if spec.table == table and facts.get(spec.address, Fact(None, "MISSING")).semantic != "MISSING"
            )
            facts[f"meta.present.{table}"] = Fact(float(n))
    ocr = [c for c in cells if c.get("method") == "ocr"]
    if ocr:
        unverified = sum(1 for c in ocr if (c.get("ocr") or {}).get("status") == "unverified")
        facts["meta.ocr_unverified"] = Fact(float(unverified))
    for key, value in narrative_of(doc).items():
        if value is not None:
            facts[f"narr.{key}"] = Fact(float(value))
    return facts


# "未发生…行政复议、行政诉讼": one statement may deny both (the third alternative of the templates.yaml
# N_REVIEW_LITIGATION pattern stops at the first of the two words).
_NONE_OF = re.compile(r"未(?:发生|产生|收到)[^。；;]{0,30}")


@functools.cache
def _narrative_patterns() -> dict[str, re.Pattern[str]]:
    """The templates.yaml N_* patterns, compiled once: requests_received, zero_requests, review, litigation."""
    spec = yaml_rules()
    # N_REVIEW_LITIGATION is "<行政复议 N件>|<行政诉讼 N件>|<未发生…>": its first two alternatives.
    review, litigation, _none_of = spec["N_REVIEW_LITIGATION"]["pattern"].split("|", 2)
    return {
        "requests_received": re.compile(spec["N_REQUESTS_RECEIVED"]["pattern"]),
        "zero_requests": re.compile(spec["N_ZERO_REQUESTS"]["pattern"]),
        "review": re.compile(review),
        "litigation": re.compile(litigation),
    }


def narrative_of(doc: Mapping[str, Any]) -> dict[str, int]:
    """The narrative figures of a parse result: ``doc["narrative"]``, else read from ``doc["text"]``."""
    narrative = dict(doc.get("narrative") or {})
    if not narrative and doc.get("text"):
        narrative = narrative_facts(doc["text"])
    return narrative


def narrative_facts(text: str) -> dict[str, int]:
    """Figures stated in the narrative (templates.yaml N_* patterns), first occurrence each.

    ``requests_received`` (收到申请N件), ``zero_requests`` (0 when 未收到申请 is stated),
    ``review`` / ``litigation`` (行政复议/行政诉讼 N件, 0 when 未发生… is stated).
    """
    norm = unicodedata.normalize("NFKC", text)
    patterns = _narrative_patterns()
    out: dict[str, int] = {}
    m = patterns["requests_received"].search(norm)
    if m:
        out["requests_received"] = int(m.group(1))
    if patterns["zero_requests"].search(norm):
        out["zero_requests"] = 0
    for key in ("review", "litigation"):
        m = patterns[key].search(norm)
        if m:
            out[key] = int(m.group(1))
    for m in _NONE_OF.finditer(norm):
        if "行政复议" in m.group(0):
            out.setdefault("review", 0)
        if "行政诉讼" in m.group(0):
            out.setdefault("litigation", 0)
    return out
