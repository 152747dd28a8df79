"""What a year run produces: one :class:`AgencyResult` per agency, the run's :class:`YearSummary`, its
counts, and the Prefect table artifact that publishes them.

These are plain values: the tasks return them, the flow collects them, the CLI prints them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from typing import Any

from sources.fetching import wrong_year

# The statuses of an agency-year (``qa.acquisitions.status``) and the steps a failure is recorded at.
STEPS = ("discover", "fetch", "parse", "load", "validate", "promote")


@dataclass
class AgencyResult:
    """What became of one agency's report for one year in one run (one ``qa.acquisitions`` row)."""

    agency_id: str
    agency_name: str
    region: str
    level: str
    oversight: str
    oversight_name: str | None
    year: int
    status: str  # fetched | not_modified | missing | not_due | failed | refused | wrong_year
    deadline: date
    checked_at: str
    step: str | None = None  # for failed: one of STEPS
    reason: str | None = None
    url: str | None = None
    final_url: str | None = None
    format: str | None = None
    sha256: str | None = None
    downloaded_bytes: int = 0
    tried: list[dict[str, Any]] = field(default_factory=list)
    version_id: str | None = None
    doc_state: str | None = None
    doc_year: int | None = None
    new_document: bool | None = None
    failing_rules: list[str] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        """Whether a report document is in hand (fetched or not modified, not failed later)."""
        return self.status in ("fetched", "not_modified")

    def fail(self, step: str, reason: str) -> None:
        """Mark this agency failed at ``step`` (keeping what was fetched)."""
        self.status, self.step, self.reason = "failed", step, reason

    def set_state(
        self,
        version_id: str | None,
        state: str | None,
        failing: Sequence[str],
        messages: Sequence[str],
        doc_year: int | None,
        *,
        new: bool,
    ) -> None:
        """Link this agency-year to the warehouse version of its document and that version's state.

        ``doc_year`` is the year the warehouse stored the document under (the year it prints, when it
        prints one): a report of another year leaves the asked year ``wrong_year`` (counted missing)."""
        self.version_id, self.doc_state = version_id, state
        self.failing_rules, self.messages = list(failing), list(messages)
        self.doc_year, self.new_document = doc_year, new
        reason = wrong_year(self.year, doc_year) if self.found and state != "rejected" else None
        if reason:
            self.status, self.reason = "wrong_year", reason

    def to_row(self, run_id: str, ingest_run_id: str | None) -> dict[str, Any]:
        """The ``qa.acquisitions`` row."""
        row = {k: v for k, v in asdict(self).items() if k not in ("failing_rules", "messages")}
        row.update(run_id=run_id, ingest_run_id=ingest_run_id, checked_at=datetime.fromisoformat(self.checked_at))
        return row


@dataclass
class YearSummary:
    """The outcome of ``ingest_year``: one :class:`AgencyResult` per agency, counts and timings."""

    run_id: str
    year: int
    warehouse: str
    agencies: list[AgencyResult]
    counts: dict[str, int]
    timings: dict[str, float]
    tasks: dict[str, Any]
    ingest_run_id: str | None = None
    data_docs: str | None = None
    publish: dict[str, Any] | None = None  # sent to the configured dlt destination (None: none configured)

    def to_json(self) -> dict[str, Any]:
        """A JSON-serialisable dict (dates as ISO strings)."""
        out = asdict(self)
        for a in out["agencies"]:
            a["deadline"] = a["deadline"].isoformat()
        return out


def reason_of(exc: BaseException) -> str:
    """One line naming an exception: ``Type: first line of its message``."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def counts(results: Sequence[AgencyResult], parsed: int) -> dict[str, int]:
    """The counts of a year run (the ``--json`` top-level keys), ``parsed`` being the documents parsed."""

    def n(pred: Callable[[AgencyResult], bool | None]) -> int:
        return sum(1 for r in results if pred(r))

    return {
        "agencies_attempted": len(results),
        "documents_fetched": n(lambda r: r.status == "fetched"),
        "not_modified": n(lambda r: r.status == "not_modified"),
        "parsed": parsed,
        "promoted": n(lambda r: r.new_document and r.doc_state == "promoted"),
        "quarantined": n(lambda r: r.new_document and r.doc_state == "quarantined"),
        "rejected": n(lambda r: r.new_document and r.doc_state == "rejected"),
        "unchanged": n(lambda r: r.new_document is False and r.status != "failed"),
        "missing": n(lambda r: r.status in ("missing", "wrong_year")),
        "not_due": n(lambda r: r.status == "not_due"),
        "failed": n(lambda r: r.status == "failed"),
        "refused": n(lambda r: r.status == "refused"),
        "wrong_year": n(lambda r: r.status == "wrong_year"),  # also counted in missing
    }


def artifact_rows(summary: YearSummary) -> list[dict[str, Any]]:
    """The rows of the run's outcome table: every count, then one row per quarantined, missing, refused
    or failed agency with what explains it (failing rules, URLs tried, step and reason)."""
    rows: list[dict[str, Any]] = [
        {"section": "count", "item": key, "value": value, "detail": ""} for key, value in summary.counts.items()
    ]
    for r in summary.agencies:
        if r.status == "failed":
            rows.append(
                {"section": "failed", "item": f"{r.agency_id} {r.agency_name}", "value": r.step, "detail": r.reason}
            )
        elif r.status in ("missing", "not_due", "refused", "wrong_year"):
            tried = "; ".join(f"{t['url']} → {t['status']}" for t in r.tried) or (r.reason or "")
            if r.status == "wrong_year":
                tried = f"{r.reason}; {tried}"
            rows.append(
                {
                    "section": r.status,
                    "item": f"{r.agency_id} {r.agency_name}",
                    "value": r.deadline.isoformat(),
                    "detail": tried,
                }
            )
        elif r.doc_state == "quarantined":
            rows.append(
                {
                    "section": "quarantined",
                    "item": f"{r.agency_id} {r.agency_name}",
                    "value": r.version_id,
                    "detail": ", ".join(r.failing_rules),
                }
            )
    return rows


def publish_artifact(summary: YearSummary) -> str | None:
    """Publish the run's outcome (:func:`artifact_rows`) as the Prefect table artifact
    ``xxgk-ingest-<year>`` of the current flow run; its id (None outside a flow run)."""
    from prefect.artifacts import create_table_artifact
    from prefect.context import FlowRunContext

    if FlowRunContext.get() is None:
        return None
    c = summary.counts
    description = (
        f"{summary.year} 年度报告采集：机构 {c['agencies_attempted']}，已发布 {c['promoted']}，"
        f"已隔离 {c['quarantined']}，缺失 {c['missing']}，未到截止日期 {c['not_due']}，失败 {c['failed']}"
    )
    artifact_id = create_table_artifact(
        table=artifact_rows(summary), key=f"xxgk-ingest-{summary.year}", description=description
    )
    return str(artifact_id)
