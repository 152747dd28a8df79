"""Ingest: parse → one batched dlt load → GX validation (one per rule) → promote / quarantine / reject.

Plain Python (no Prefect yet), batched because the fixed costs dominate: one dlt ``pipeline.run`` costs
~0.5 s and one GX validation ~0.1–0.3 s whatever the number of rows, so every fixed overhead (dlt run, GX
validations, promotion transaction) is paid once per run, whatever the number of reports.

* :func:`ingest_paths` reads files (directories are walked), skips documents the warehouse
  already holds (same sha256, state decided — loading the same document twice changes nothing),
  parses the rest with :func:`sources.parsing.parse.parse_bytes` and hands them to :func:`ingest_documents`.
* :func:`ingest_documents` takes parse results (the ``xxgk parse --json`` objects of
  ``sources/README.md``) and runs the warehouse part.

The result is an :class:`IngestSummary`: one :class:`DocumentOutcome` per input document.

(Over 500 lines: the look-up of documents the warehouse already holds, the load, the validation and
the decision are one batch on one warehouse connection, and the year run calls the same functions.)
"""

from __future__ import annotations

import copy
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warehouse.config import WarehouseConfig

if TYPE_CHECKING:  # imported lazily at run time (the CLI starts without dlt, GX or DuckDB)
    import duckdb

    from warehouse.checks import Decision
    from warehouse.frames import RunInfo

STATE_LABELS = {
    "promoted": "已发布",
    "quarantined": "已隔离",
    "rejected": "已拒绝",
    "superseded": "已被新版本取代",
}
# Chinese labels of a check's severity and outcome (xxgk checks, the report's workbook).
SEVERITY_LABELS = {"error": "错误", "warning": "警告", "info": "提示"}
OUTCOME_LABELS = {"fail": "不通过", "not_assessable": "无法核对", "pass": "通过"}
_SKIP_PREFIXES = (".", "README", "expected")


STEP_ATTRIBUTE = "xxgk_step"  # set on an exception by the step of ingest_documents that raised it


@contextmanager
def at_step(step: str) -> Iterator[None]:
    """Record on an error raised in the block that it came from ``step`` (``load``, ``validate`` or
    ``promote``; see :func:`failed_step`); the error itself propagates unchanged."""
    try:
        yield
    except Exception as exc:
        if not hasattr(exc, STEP_ATTRIBUTE):
            setattr(exc, STEP_ATTRIBUTE, step)
        raise


def failed_step(exc: BaseException, default: str = "load") -> str:
    """The step of :func:`ingest_documents` that raised ``exc`` (``default`` when none recorded it)."""
    return str(getattr(exc, STEP_ATTRIBUTE, default))


@dataclass
class DocumentOutcome:
    """What happened to one input document in a run."""

    path: str
    version_id: str | None
    sha256: str | None
    agency: str | None
    year: int | None
    template: str | None
    state: str  # promoted | quarantined | rejected | superseded
    new: bool  # False: the warehouse already held this document; nothing changed
    failing_rules: list[str] = field(default_factory=list)
    warning_rules: list[str] = field(default_factory=list)
    reason: str | None = None
    messages: list[str] = field(default_factory=list)  # failing error-level checks, Chinese
    waived_rules: list[str] = field(default_factory=list)  # failing rules a reviewer waived


@dataclass
class IngestSummary:
    """The outcome of one ingest run."""

    run_id: str
    warehouse: str
    documents: list[DocumentOutcome]
    counts: dict[str, int]
    timings: dict[str, float]
    data_docs: str | None = None
    superseded: dict[str, str] = field(default_factory=dict)
    publish: dict[str, Any] | None = None  # what was sent to the configured dlt destination (None: none)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def new_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)


def expand_paths(paths: Iterable[str | Path]) -> list[Path]:
    """Files to ingest: each file as given, and the files inside each directory (recursively,
    sorted, skipping hidden files, README*, expected* and *.py)."""
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and not f.name.startswith(_SKIP_PREFIXES) and f.suffix != ".py":
                    out.append(f)
        else:
            out.append(p)
    return out


def _resolve(warehouse: WarehouseConfig | str | Path | None) -> WarehouseConfig:
    if isinstance(warehouse, WarehouseConfig):
        return warehouse
    return WarehouseConfig.resolve(warehouse)


class KnownVersions:
    """:func:`known_versions` over one connection for many look-ups (a year run asks once per fetched
    chunk: opening, checking and closing the warehouse each time cost ~130 ms of CPU and ~0.3 s on the
    run's main thread, per 25 documents).  Opened at the first look-up on an existing warehouse;
    :meth:`close` before anything writes to it."""

    def __init__(self, cfg: WarehouseConfig) -> None:
        self.cfg = cfg
        self._con: Any = None
        self._ready: tuple[bool, bool] | None = None  # (initialised, has waivers)

    def __call__(self, shas: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Documents (by sha256) among ``shas`` whose version has a decided state in the warehouse."""
        if not shas or not self.cfg.db_path.exists():
            return {}
        from warehouse.db import connect, has_column
        from warehouse.queries import is_initialised

        if self._con is None:
            self._con = connect(self.cfg.db_path)
        if self._ready is None or not self._ready[0]:  # a warehouse initialised meanwhile is seen at once
            ready = is_initialised(self._con)
            self._ready = (ready, ready and has_column(self._con, "qa", "version_state", "waived_rules"))
        if not self._ready[0]:
            return {}
        return _known_rows(self._con, shas, self._ready[1])

    def close(self) -> None:
        """Close the connection (look-ups after this open a new one)."""
        con, self._con, self._ready = self._con, None, None
        if con is not None:
            con.close()


def known_versions(cfg: WarehouseConfig, shas: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Documents (by sha256) whose version already has a decided state in the warehouse."""
    lookup = KnownVersions(cfg)
    try:
        return lookup(shas)
    finally:
        lookup.close()


def _known_rows(con: Any, shas: Sequence[str], waivers: bool) -> dict[str, dict[str, Any]]:
    """:func:`known_versions` on an open connection; ``waivers``: ``qa.version_state`` has
    ``waived_rules`` (False: written before waivers)."""
    rows = con.execute(
        f"""
        SELECT r.sha256, r.version_id, r.agency, r.year, r.template, s.state, s.failing_rules,
               s.warning_rules, s.reason,
               (SELECT list(k.message ORDER BY k.rule_id, k.instance) FROM qa.check_results k
                 WHERE k.version_id = r.version_id AND k.blocking AND k.outcome <> 'pass'
                   AND NOT {"coalesce(k.waived, false)" if waivers else "false"}) AS messages,
               {"s.waived_rules" if waivers else "NULL"}
        FROM stg.report_versions r JOIN qa.version_state s ON s.version_id = r.version_id
        WHERE r.sha256 IN (SELECT unnest(?::VARCHAR[]))
        """,
        [list(shas)],
    ).fetchall()
    keys = (
        "sha256",
        "version_id",
        "agency",
        "year",
        "template",
        "state",
        "failing_rules",
        "warning_rules",
        "reason",
        "messages",
        "waived_rules",
    )
    return {r[0]: dict(zip(keys, r, strict=True)) for r in rows}


def _unchanged(path: str, known: Mapping[str, Any]) -> DocumentOutcome:
    return DocumentOutcome(
        path=path,
        version_id=known["version_id"],
        sha256=known["sha256"],
        agency=known["agency"],
        year=known["year"],
        template=known["template"],
        state=known["state"],
        new=False,
        failing_rules=list(known["failing_rules"] or []),
        warning_rules=list(known["warning_rules"] or []),
        reason=known["reason"],
        messages=list(known["messages"] or []),
        waived_rules=list(known.get("waived_rules") or []),
    )


def apply_identity(doc: dict[str, Any], agency: str | None, year: int | None) -> dict[str, Any]:
    """Agency and year given as options win over what the parser read from the document."""
    out = dict(doc)
    if agency:
        out["agency"] = agency
    if year:
        out["year"] = year
    return out


def ingest_paths(
    paths: Iterable[str | Path],
    agency: str | None = None,
    year: int | None = None,
    *,
    warehouse: WarehouseConfig | str | Path | None = None,
    force: bool = False,
    data_docs: bool = True,
    publish: bool = True,
) -> IngestSummary:
    """Parse, load, validate and promote local documents (see module docstring).

    ``agency``/``year`` override what the documents say (they apply to every path of the call;
    a document the warehouse already holds keeps its identity unless ``force``); ``force``
    re-parses and re-validates documents the warehouse already holds; ``data_docs`` writes the GX
    Data Docs site; ``publish`` sends what changed to the configured dlt destination, if any.
    A file that cannot be opened is reported (state ``rejected``, not stored).
    """
    cfg = _resolve(warehouse)
    from flows.cli import progress
    from warehouse.pipeline import check_not_locked

    check_not_locked(cfg)
    progress.stage("read")
    started = time.perf_counter()
    blobs: list[tuple[str, bytes, str]] = []
    seen: set[str] = set()
    unreadable: list[DocumentOutcome] = []
    from flows.limits import read_limits
    from sources.parsing.document import UnreadableDocument
    from sources.parsing.parse import read_file

    limits = read_limits()
    for f in expand_paths(paths):
        try:
            data = read_file(f, limits.file_bytes)  # regular files only, at most file_bytes
        except UnreadableDocument as exc:
            reason = f"无法读取文件：{exc.message}"
            unreadable.append(DocumentOutcome(str(f), None, None, None, None, None, "rejected", False, reason=reason))
            continue
        digest = sha256(data).hexdigest()
        if digest not in seen:
            seen.add(digest)
            blobs.append((str(f), data, digest))
    known = {} if force else known_versions(cfg, [d for _p, _b, d in blobs])
    from sources.parsing.parse import parse_file_bytes

    parsed: list[dict[str, Any]] = []
    unchanged: list[DocumentOutcome] = []
    progress.set_total("parsed", sum(1 for _p, _b, d in blobs if d not in known))
    progress.stage("parse")
    for path, data, digest in blobs:
        if digest in known:
            unchanged.append(_unchanged(path, known[digest]))
        else:
            parsed.append(apply_identity(parse_file_bytes(data, path, limits), agency, year))
            progress.advance("parsed")
    progress.stage("load")
    summary = ingest_documents(
        parsed, warehouse=cfg, data_docs=data_docs, skip_known=False, parse_seconds=time.perf_counter() - started
    )
    progress.advance("promoted", summary.counts.get("promoted", 0))
    progress.stage("loaded")
    summary.documents = unchanged + summary.documents + unreadable
    summary.counts["unchanged"] = summary.counts.get("unchanged", 0) + len(unchanged)
    summary.counts["unreadable"] = len(unreadable)
    summary.publish = publish_configured(cfg) if publish else None
    return summary


def publish_configured(cfg: WarehouseConfig, *, full: bool = False) -> dict[str, Any] | None:
    """Send what changed to the dlt destination configured for ``xxgk_publish`` (:mod:`warehouse.publish`).

    None when no destination is configured (the DuckDB file is the warehouse).  A failure does not
    undo the run — the warehouse is consistent and the next publish sends the same data again — so
    it is returned as ``{"error": one line}`` for the caller to show.
    """
    from warehouse.publish import PublishFailed, publish

    try:
        result = publish(cfg, full=full)
    except PublishFailed as exc:
        return {"error": str(exc)}
    return result.to_json() if result.configured else None


def _outcome(doc: Mapping[str, Any], vid: str, state: str, reason: str | None = None) -> DocumentOutcome:
    source = doc.get("source") or {}
    return DocumentOutcome(
        path=str(source.get("path")),
        version_id=vid,
        sha256=source.get("sha256"),
        agency=doc.get("agency"),
        year=doc.get("year"),
        template=doc.get("template"),
        state=state,
        new=True,
        reason=reason,
    )


def ingest_documents(
    parsed: Sequence[Mapping[str, Any]],
    *,
    warehouse: WarehouseConfig | str | Path | None = None,
    data_docs: bool = True,
    skip_known: bool = True,
    parse_seconds: float = 0.0,
) -> IngestSummary:
    """Load, validate and promote parsed reports (parse results, ``sources/README.md``) in one run.

    One dlt load of the whole batch, one GX validation of all its statutory reports, one promotion
    transaction.  Documents without a sha256 get one computed from their content; documents whose
    version already has a state are skipped when ``skip_known``.
    """
    from warehouse import checks
    from warehouse.db import connect
    from warehouse.frames import RunInfo, build_frames
    from warehouse.pipeline import load_frames
    from warehouse.promote import apply_run

    cfg = _resolve(warehouse)
    now = datetime.now(UTC)
    run = RunInfo(new_run_id(now), now)
    timings = {"parse": parse_seconds}
    docs: list[Mapping[str, Any]] = []
    unchanged: list[DocumentOutcome] = []
    seen: set[str] = set()
    for doc in parsed:
        src = doc.get("source") or {}
        if not src.get("sha256"):
            import json

            digest = sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()
            doc = {**doc, "source": {**src, "sha256": digest}}
        digest = doc["source"]["sha256"]
        if digest not in seen:
            seen.add(digest)
            docs.append(doc)
    if skip_known:
        known = known_versions(cfg, [d["source"]["sha256"] for d in docs])
        unchanged = [
            _unchanged(str(d["source"].get("path")), known[d["source"]["sha256"]])
            for d in docs
            if d["source"]["sha256"] in known
        ]
        docs = [d for d in docs if d["source"]["sha256"] not in known]
    summary = IngestSummary(run.run_id, str(cfg.db_path), list(unchanged), {"unchanged": len(unchanged)}, timings)
    if not docs:
        for state in STATE_LABELS:
            summary.counts.setdefault(state, 0)
        return summary

    docs = with_confirmations(cfg, docs)
    t = time.perf_counter()
    with at_step("load"):
        frames = build_frames(docs, run)
        load = load_frames(frames, cfg)
    timings["load"] = time.perf_counter() - t

    versions = frames["report_versions"]  # one row per document, in order, with the reason it was rejected
    order = versions.column("version_id").to_pylist()
    rejected = {
        vid: reason for vid, reason in zip(order, versions.column("reject_reason").to_pylist(), strict=True) if reason
    }
    statutory = [vid for vid in order if vid not in rejected]
    con = connect(cfg.db_path)
    try:
        with at_step("validate"):
            validation = validate_batch(con, statutory, cfg, run, data_docs, timings)
        t = time.perf_counter()
        run_row = {
            "run_id": run.run_id,
            "started_at": now,
            "finished_at": datetime.now(UTC),
            "documents": len(docs) + len(unchanged),
            "unchanged": len(unchanged),
            "seconds_parse": timings["parse"],
            "seconds_load": timings["load"],
            "seconds_validate": timings["validate"],
            "seconds_promote": None,
        }
        with at_step("promote"):
            result = apply_run(
                con,
                run_id=run.run_id,
                decided_at=now,
                order=order,
                decisions=validation.decisions,
                rejected=rejected,
                checks=checks.CHECKS_TABLE,
                run_row=run_row,
            )
        timings["promote"] = time.perf_counter() - t
    finally:
        con.close()

    for vid, doc in zip(order, docs, strict=True):
        out = _outcome(doc, vid, result.states[vid], rejected.get(vid))
        decision = validation.decisions.get(vid)
        if decision is not None:
            out.failing_rules = decision.failing_rules
            out.warning_rules = decision.warning_rules
            out.waived_rules = decision.waived_rules
            out.reason = decision.reason
            out.messages = decision.messages
        summary.documents.append(out)
    for state in STATE_LABELS:
        summary.counts[state] = sum(1 for d in summary.documents if d.new and d.state == state)
    summary.counts["previously_published_superseded"] = len(result.superseded)
    summary.superseded = result.superseded
    summary.data_docs = validation.data_docs
    summary.timings.update(
        {
            "load_rows": float(sum(load.rows.values())),
            "checks": float(validation.checks),
            "gx_expectations": float(validation.gx_expectations),
        }
    )
    return summary


@dataclass
class Validation:
    """What :func:`validate_batch` produced: a decision per statutory version and run statistics;
    the check results themselves are in the connection's temporary table ``run_checks``."""

    decisions: dict[str, Decision]
    checks: int
    gx_expectations: int  # expectations evaluated: one per rule with checks in the run
    data_docs: str | None


def validate_batch(
    con: duckdb.DuckDBPyConnection,
    statutory: Sequence[str],
    cfg: WarehouseConfig,
    run: RunInfo,
    data_docs: bool,
    timings: dict[str, float],
) -> Validation:
    """Every rule on every statutory version of the run: the warehouse computes both sides of every
    check in SQL, Great Expectations decides them (one expectation per rule), the warehouse records
    the verdicts with their Chinese messages and aggregates the decisions; timings ``checks_sql``,
    ``validate_gx``, ``assemble`` and their sum ``validate``."""
    from warehouse import schema

    started = time.perf_counter()
    schema.prepare(con)
    return judge_batch(con, statutory, cfg, run, data_docs, timings, started)


def judge_batch(
    con: duckdb.DuckDBPyConnection,
    statutory: Sequence[str],
    cfg: WarehouseConfig,
    run: RunInfo,
    data_docs: bool,
    timings: dict[str, float],
    started: float | None = None,
) -> Validation:
    """:func:`validate_batch` on a prepared warehouse (no DDL: it may run inside the caller's transaction)."""
    from expectations.gx_runner import validate
    from warehouse import checks

    t = time.perf_counter()
    started = t if started is None else started
    checks.stage_batch(con, statutory)
    rows = checks.materialise_inputs(con)
    frame = checks.check_frame(con)
    timings["checks_sql"] = time.perf_counter() - t

    t = time.perf_counter()
    gx = validate(frame, cfg.gx_dir, run_name=run.run_id, docs=data_docs)
    del frame
    timings["validate_gx"] = time.perf_counter() - t

    t = time.perf_counter()
    checks.record_results(con, gx.failed, gx.not_assessable, run.run_id, run.loaded_at)
    decisions = checks.decide(con, statutory)
    timings["assemble"] = time.perf_counter() - t
    timings["validate"] = time.perf_counter() - started
    return Validation(decisions, rows, gx.evaluated_expectations, gx.data_docs)


def revalidator(cfg: WarehouseConfig) -> Callable[[duckdb.DuckDBPyConnection, str, str, datetime], None]:
    """``validate(con, version_id, run_id, at)`` for :func:`warehouse.confirmations.confirm_cell`: one staged
    version validated again like an ingest run validates it (check results in ``run_checks``)."""

    def validate(con: duckdb.DuckDBPyConnection, vid: str, run_id: str, at: datetime) -> None:
        from warehouse.frames import RunInfo

        judge_batch(con, [vid], cfg, RunInfo(run_id, at), False, {})

    return validate


def with_confirmations(cfg: WarehouseConfig, docs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Parse results with the OCR confirmations the warehouse holds for their documents applied
    (a re-parse of a document a reviewer confirmed cells of keeps what the reviewer read)."""
    ocr_docs = [d for d in docs if any(c.get("method") == "ocr" for c in d.get("cells") or [])]
    if not ocr_docs or not cfg.db_path.exists():
        return list(docs)
    from warehouse.confirmations import for_documents
    from warehouse.db import connect

    con = connect(cfg.db_path)  # the mode known_versions opens it in: one configuration per process
    try:
        found = for_documents(con, [d["source"]["sha256"] for d in ocr_docs])
    finally:
        con.close()
    if not found:
        return list(docs)
    from sources.parsing.confirm import apply_confirmations

    out: list[Mapping[str, Any]] = []
    for doc in docs:
        confirmations = found.get(doc["source"]["sha256"])
        if confirmations:
            confirmed = copy.deepcopy(dict(doc))
            apply_confirmations(confirmed, confirmations)
            doc = confirmed
        out.append(doc)
    return out
