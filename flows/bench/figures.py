"""Figures the benchmarks print beside their timings (nothing here is asserted in tests).

* :func:`text_layer_floor` — what pypdfium2 takes to read a PDF's text layer with every character's
  box: the floor a PDF parse is compared with (``xxgk bench parse`` prints both per file).
* :func:`cpu_lines` — the CPU of a year run per stage and per format (``xxgk bench run``).
"""

from __future__ import annotations

import ctypes
import time
from collections.abc import Mapping
from typing import Any


def text_layer_floor(data: bytes) -> tuple[float, int]:
    """Seconds pypdfium2 takes to open ``data``, read every page's text and every character's box
    (``FPDFText_GetCharBox``); and the number of characters read.  With the glyphs the PDF reader gives
    pdfium for fonts that are not embedded (:mod:`sources.parsing.readers.pdffont`), as the parse has
    them: the same, complete text layer."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    from sources.parsing.readers import pdffont

    pdffont.install()

    started = time.perf_counter()
    pdf = pdfium.PdfDocument(data)
    chars = 0
    box = [ctypes.c_double() for _ in range(4)]
    try:
        for index in range(len(pdf)):
            page = pdf[index]
            textpage = page.get_textpage()
            try:
                textpage.get_text_bounded()
                n = textpage.count_chars()
                for i in range(n):
                    pdfium_c.FPDFText_GetCharBox(textpage.raw, i, *box)
                chars += n
            finally:
                textpage.close()
                page.close()
    finally:
        pdf.close()
    return time.perf_counter() - started, chars


def _per_doc(entry: Mapping[str, Any]) -> str:
    n = entry.get("documents") or 0
    seconds = entry.get("cpu_seconds") or 0.0
    return f"{seconds:6.1f} s = {seconds / n * 1000 if n else 0:5.0f} ms/doc"


def cpu_lines(tasks: Mapping[str, Any], n: int) -> list[str]:
    """Lines giving a year run's CPU per stage and per format, from its ``tasks`` summary.

    Stages: the fetch threads (in the flow process), the parse processes, the rest of the flow process
    while fetching and parsing (Prefect's task runs, scheduling, the warehouse look-ups), load +
    validation + promotion, and recording + publishing.  Per format: fetch CPU (an attachment's page
    included) and parse CPU, each per document."""
    cpu = tasks.get("cpu_seconds", {})
    stages = tasks.get("flow_cpu_by_stage", {})
    fetch, parse = cpu.get("fetch_threads", 0.0), cpu.get("parse", 0.0)
    other = max(stages.get("fetch_parse", 0.0) - fetch, 0.0)
    total = cpu.get("flow_process", 0.0) + parse
    lines = [
        f"  CPU by stage: fetch threads {fetch:.1f} s ({fetch / max(n, 1) * 1000:.0f} ms/report), "
        f"parse processes {parse:.1f} s ({parse / max(n, 1) * 1000:.0f} ms/report), "
        f"flow process besides fetching {other:.1f} s, load+validate+promote "
        f"{stages.get('load_validate_promote', 0.0):.1f} s, record+publish {stages.get('record_publish', 0.0):.1f} s "
        f"→ {total:.1f} s in all = {total / max(n, 1) * 1000:.0f} ms/report"
    ]
    by_format = tasks.get("cpu_by_format", {})
    fetch_f, parse_f = by_format.get("fetch", {}), by_format.get("parse", {})
    for fmt in sorted(set(fetch_f) | set(parse_f)):
        f, p = fetch_f.get(fmt, {}), parse_f.get(fmt, {})
        docs = max(f.get("documents", 0), p.get("documents", 0))
        lines.append(f"  CPU {fmt:>5s} ×{docs:4d}: fetch {_per_doc(f)}, parse {_per_doc(p)}")
    return lines
