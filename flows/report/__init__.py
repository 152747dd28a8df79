"""The data-quality report for the oversight office (政务公开办): Chinese HTML e-mail with charts and an
Excel workbook of evidence, sent by SMTP after every scheduled run, on demand, or written to a folder.

Modules: ``data`` (warehouse → report model), ``charts`` (matplotlib PNGs), ``html`` (HTML and
plain text), ``excel`` (openpyxl workbook), ``mail`` (MIME, SMTP, outbox), ``settings`` (``[smtp]``),
``service`` (what the CLI and the flows call).  The flows call :func:`send_after_run`.
"""

from __future__ import annotations

from typing import Any


def send_after_run(year: int, registry: Any, warehouse_cfg: Any = None, **kwargs: Any) -> Any:
    """See :func:`flows.report.service.send_after_run` (imported lazily)."""
    from flows.report.service import send_after_run as run

    return run(year, registry, warehouse_cfg, **kwargs)


__all__ = ["send_after_run"]
