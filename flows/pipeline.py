"""The Prefect flows: one report year end to end, the annual and quarterly runs, backfills.

``ingest_year(year, agencies=None)`` runs, for every selected agency of the registry
(``sources/registry/``): discover → fetch → parse → load → validate → promote, and records what
became of each agency in ``qa.acquisitions`` (``warehouse/acquisitions.py``) — including reports
still missing after the deadline, with everything tried.  One failing agency never stops the run:
it is recorded as ``failed`` with the step and the reason, and the others complete.

Shape (Prefect's cost per task run is ~80 ms with its SQLite server, so documents are batched)::

    agencies ─chunks─▶ fetch-chunk tasks (fetch processes × threads inside, per-host limit and
                         │               politeness, retried)
                         │ as each chunk completes: skip documents the warehouse already holds
                         ▼
                       parse-chunk tasks (process pool inside, or Dask workers; cached by the
                         │             documents' sha256 + parser version)
                         ▼
                       load-validate-promote (one task per run: one dlt load, one GX run, one
                         │                     promotion transaction — ``flows.ingest``)
                         ▼
                       record-acquisitions (one transaction into qa.acquisitions)

Fetching and parsing overlap: a chunk is parsed while the next ones are fetched.  An unchanged
document (same sha256 as a version the warehouse already decided) is neither parsed nor loaded, so a
re-run with nothing new only makes conditional requests.  ``runner="dask"`` runs the parse tasks
on a local Dask cluster (``dask://host:port`` on an existing one) through prefect-dask.

``annual_run`` (last year), ``quarterly_run`` (the current and previous report year) and
``backfill`` call ``ingest_year`` once per year (a sub-flow run each).
"""

from __future__ import annotations

# isort: split
from flows import settings  # noqa: F401  - project Prefect settings, before prefect is imported

# isort: split
import functools
import hashlib
import importlib
import multiprocessing
import os
import queue
import statistics
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import FlowRunContext
from prefect.task_runners import ThreadPoolTaskRunner

from flows.cli import progress
from sources.fetching import FetchConfig, Fetcher, acquire, report_deadline
from sources.fetching.archive import Archive
from sources.registry import Agency, DirectSource, ListingSource, Registry, load_registry
from sources.rules import CHINA_TZ
from warehouse.config import WarehouseConfig, default_registry

PARSE_FAILED = "__parse_failed__"
STEP_MODULES = (  # deepest matching frame of a failure's traceback names the step
    ("warehouse.frames", "load"),
    ("warehouse.pipeline", "load"),
    ("dlt", "load"),
    ("warehouse.schema", "load"),
    ("warehouse.checks", "validate"),
    ("expectations", "validate"),
    ("great_expectations", "validate"),
    ("warehouse.promote", "promote"),
)


# ============================================================================ options and results


def default_sources() -> Path:
    """The registry used when none is given (:func:`warehouse.config.default_registry`)."""
    return default_registry()


def last_report_year(today: date | None = None) -> int:
    """The report year whose deadline is the coming/just passed 31 January: last calendar year (China time)."""
    return (today or datetime.now(CHINA_TZ).date()).year - 1


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
    status: str  # fetched | not_modified | missing | not_due | failed | refused
    deadline: date
    checked_at: str
    step: str | None = None  # for failed: discover | fetch | parse | load | validate | promote
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


# ============================================================================ per-run context


@dataclass
class RunContext:
    """Live objects of one ``ingest_year`` run shared by its in-process tasks (looked up by ``key``)."""

    key: str
    year: int
    today: date
    registry: Registry
    fetcher: Fetcher
    threads: int
    host_limit: int
    workers: FetchWorkers | None = None
    job: FetchJob | None = None
    docs: list[dict[str, Any]] = field(default_factory=list)
    _slots: dict[str, threading.BoundedSemaphore] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def host_slot(self, host: str) -> Iterator[None]:
        """Hold one of the ``host_limit`` concurrent fetch slots of ``host``."""
        with self._lock:
            sem = self._slots.setdefault(host, threading.BoundedSemaphore(self.host_limit))
        with sem:
            yield


_CONTEXTS: dict[str, RunContext] = {}


def _context(key: str) -> RunContext:
    return _CONTEXTS[key]


def host_of(agency: Agency, year: int) -> str:
    """The host an agency's report for ``year`` is fetched from first (``local`` for files)."""
    for src in agency.sources:
        if isinstance(src, DirectSource):
            for loc in src.for_year(year):
                if urlsplit(loc).hostname:
                    return urlsplit(loc).hostname or "local"
        elif isinstance(src, ListingSource):
            return urlsplit(src.urls[0]).hostname or "local"
    return "local"


# ============================================================================ fetch


def acquisition_status(status: str, tried: Sequence[Any], today: date, deadline: date) -> str:
    """The recorded status: ``refused`` when nothing was found and a URL was refused (a registry problem);
    ``not_due`` instead of ``missing`` until the agency's own deadline (31 March for a government's report)."""
    if status in ("missing", "not_due") and any(r.status == "refused" for r in tried):
        return "refused"
    if status == "missing" and today <= deadline:
        return "not_due"
    return status


def deadline_of(agency: Agency, year: int) -> date:
    """The statutory deadline of ``agency``'s ``year`` report (``sources.rules``: 31 January, or 31 March
    for a people's government's own report)."""
    return report_deadline(year, agency.name)


def _base_result(agency: Agency, registry: Registry, year: int, status: str, **kw: Any) -> AgencyResult:
    office = registry.office(agency.oversight)
    return AgencyResult(
        agency_id=agency.id,
        agency_name=agency.name,
        region=agency.region,
        level=agency.level,
        oversight=agency.oversight,
        oversight_name=office.name if office else None,
        year=year,
        status=status,
        deadline=deadline_of(agency, year),
        checked_at=kw.pop("checked_at", None) or datetime.now(UTC).isoformat(),
        **kw,
    )


def acquire_agency(ctx: RunContext, agency_id: str) -> AgencyResult:
    """Discover and fetch one agency's report of ``ctx.year``; an exception becomes a ``failed`` result."""
    agency = ctx.registry.agency(agency_id)
    try:
        with ctx.host_slot(host_of(agency, ctx.year)):
            acq = acquire(agency, ctx.year, ctx.fetcher, today=ctx.today)
    except Exception as exc:
        step = "discover" if _in_traceback(exc, "discover") else "fetch"
        return _base_result(agency, ctx.registry, ctx.year, "failed", step=step, reason=_reason(exc))
    tried = [{"url": r.url, "status": r.status, "http_status": r.http_status, "reason": r.reason} for r in acq.tried]
    status = acquisition_status(acq.status, acq.tried, ctx.today, deadline_of(agency, ctx.year))
    out = _base_result(
        agency,
        ctx.registry,
        ctx.year,
        status,
        checked_at=acq.checked_at,
        tried=tried,
        reason=acq.reason,
        downloaded_bytes=sum(r.downloaded for r in acq.tried),
    )
    if acq.result is not None:
        r = acq.result
        out.url, out.final_url, out.format, out.sha256 = r.url, r.final_url, r.kind, r.sha256
        out.reason = r.reason
    elif status == "failed":
        out.step = "fetch" if acq.candidates else "discover"
    elif acq.candidates:
        out.url = acq.candidates[0].location
    return out


def _in_traceback(exc: BaseException, function: str) -> bool:
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_name == function:
            return True
        tb = tb.tb_next
    return False


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def _report(results: Sequence[AgencyResult]) -> None:
    progress.advance("agencies", len(results))
    progress.advance("fetched", sum(1 for r in results if r.status == "fetched"))


def acquire_many(ctx: RunContext, agency_ids: Sequence[str], report: bool = False) -> list[AgencyResult]:
    """:func:`acquire_agency` for each id, ``ctx.threads`` at a time (per-host limits apply), in order."""

    def one(agency_id: str) -> AgencyResult:
        result = acquire_agency(ctx, agency_id)
        if report:
            _report([result])
        return result

    with ThreadPoolExecutor(max_workers=max(1, min(ctx.threads, len(agency_ids))), thread_name_prefix="fetch") as pool:
        return list(pool.map(one, agency_ids))


@dataclass(frozen=True)
class FetchJob:
    """What a fetch process needs to rebuild the run's context (the agencies come with each call)."""

    run_key: str
    registry: str
    archive_root: str
    config: dict[str, Any]
    year: int
    today: date
    threads: int
    host_limit: int


_WORKER_RUNS: dict[str, RunContext] = {}


def fetch_group(job: FetchJob, agency_ids: list[str]) -> tuple[list[AgencyResult], float]:
    """Fetch-process entry: acquire ``agency_ids`` with this process's fetcher for the run (made once);
    the results and the CPU seconds this process spent on them."""
    cpu = time.process_time()
    ctx = _WORKER_RUNS.get(job.run_key)
    if ctx is None:
        for old in _WORKER_RUNS.values():
            old.fetcher.close()
        _WORKER_RUNS.clear()
        fetcher = Fetcher(Archive(job.archive_root), FetchConfig(**job.config))
        ctx = RunContext(
            job.run_key, job.year, job.today, load_registry(job.registry), fetcher, job.threads, job.host_limit
        )
        _WORKER_RUNS[job.run_key] = ctx
    results = acquire_many(ctx, agency_ids)
    return results, time.process_time() - cpu


def _processes() -> Any:
    """The multiprocessing context of the worker processes: forkserver, preloaded with this module."""
    mp = multiprocessing.get_context("forkserver")
    mp.set_forkserver_preload(["flows.pipeline"])
    return mp


class FetchWorkers:
    """``n`` fetch processes (the page analysis after each download is CPU-bound).

    Agencies are dealt round-robin (many agencies share one portal host), and each process is
    given ``n`` × the politeness interval and 1/``n`` of the per-host limit, so that a host sees
    the configured rate in total.
    """

    def __init__(self, n: int):
        self.pools = [_processes().Pool(1) for _ in range(n)]

    @staticmethod
    def share(job: FetchJob, n: int) -> FetchJob:
        """The job as one of ``n`` processes runs it: politeness and per-host limit divided between them."""
        config = {**job.config, "min_interval": job.config.get("min_interval", 0.0) * n}
        return replace(job, config=config, host_limit=max(1, -(-job.host_limit // n)))

    def acquire(self, job: FetchJob, agency_ids: Sequence[str]) -> tuple[list[AgencyResult], float]:
        """Acquire ``agency_ids`` across the processes; results in the given order, and the CPU seconds."""
        n = len(self.pools)
        shared = self.share(job, n)
        pending = [
            pool.apply_async(fetch_group, (shared, list(agency_ids[i::n])))
            for i, pool in enumerate(self.pools)
            if agency_ids[i::n]
        ]
        by_id: dict[str, AgencyResult] = {}
        cpu = 0.0
        for res in pending:
            results, seconds = res.get()
            _report(results)
            by_id.update((r.agency_id, r) for r in results)
            cpu += seconds
        return [by_id[a] for a in agency_ids], cpu

    def close(self) -> None:
        """Stop the processes."""
        for pool in self.pools:
            pool.close()
        for pool in self.pools:
            pool.join()


@task(
    name="fetch-chunk",
    task_run_name="fetch {year} #{index}",
    retries=2,
    retry_delay_seconds=1,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def fetch_chunk(ctx_key: str, agency_ids: list[str], year: int, index: int) -> dict[str, Any]:
    """Acquire the reports of ``agency_ids`` (threads inside, in the fetch processes when there are
    any); ``{"results", "started", "ended", "cpu"}`` (``cpu``: seconds in the fetch processes)."""
    started = time.time()
    ctx = _context(ctx_key)
    cpu: float | None = None
    if ctx.workers is not None and ctx.job is not None:
        results, cpu = ctx.workers.acquire(ctx.job, agency_ids)
    else:
        results = acquire_many(ctx, agency_ids, report=True)
    return {"results": results, "started": started, "ended": time.time(), "cpu": cpu}


# ============================================================================ parse


@functools.cache
def code_fingerprint() -> str:
    """A hash of the parser's code and templates: a cached parse is reused only by the same parser."""
    root = Path(__file__).resolve().parents[1] / "sources"
    h = hashlib.sha256()
    for p in sorted([*root.rglob("*.py"), *root.rglob("*.yaml")]):
        h.update(p.relative_to(root).as_posix().encode())
        h.update(p.read_bytes())
    return h.hexdigest()[:16]


def parse_cache_key(_context: Any, parameters: Mapping[str, Any]) -> str:
    """Cache key of a parse chunk: parser version + code fingerprint + the documents' sha256."""
    from sources.parsing.assemble import PARSER_VERSION

    shas = sorted(sha for sha, _label in parameters["items"])
    parts = [PARSER_VERSION, code_fingerprint(), repr(_read_limits()), *shas]  # other limits, other outcome
    digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()
    return f"xxgk-parse-{digest}"


@functools.cache
def _read_limits() -> Any:
    """The project's parse limits (``flows.limits``), read once per process."""
    from flows.limits import read_limits

    return read_limits()


def parse_item(item: tuple[str, str, str]) -> dict[str, Any]:
    """Parse one archived document ``(sha256, label, archive root)`` within the project's read limits;
    a crash becomes a marked result."""
    sha, label, root = item
    from sources.parsing.parse import parse_bytes

    try:
        return parse_bytes(Archive(root).get(sha), label, limits=_read_limits())
    except Exception as exc:  # the parser reports unreadable files itself; this is a bug or a lost object
        return {"source": {"sha256": sha, "path": label}, PARSE_FAILED: _reason(exc)}


_POOL: Any = None
_POOL_SIZE = 0
_POOL_LOCK = threading.Lock()


def parse_pool(workers: int) -> Any:
    """The process pool for parsing (forkserver, preloaded with this module), created once."""
    global _POOL, _POOL_SIZE
    with _POOL_LOCK:
        if _POOL is None or _POOL_SIZE != workers:
            _close_pool()
            _POOL, _POOL_SIZE = _processes().Pool(processes=workers), workers
        return _POOL


def _close_pool() -> None:
    global _POOL
    if _POOL is not None:
        _POOL.close()
        _POOL.join()
        _POOL = None


def close_parse_pool() -> None:
    """Stop the parse processes (at the end of a flow run)."""
    with _POOL_LOCK:
        _close_pool()


def parse_timed(item: tuple[str, str, str]) -> tuple[dict[str, Any], float]:
    """:func:`parse_item` and the CPU seconds it took."""
    cpu = time.process_time()
    doc = parse_item(item)
    return doc, time.process_time() - cpu


def parse_documents(
    items: Sequence[tuple[str, str]], archive_root: str, workers: int
) -> tuple[list[dict[str, Any]], float]:
    """Parse archived documents ``(sha256, label)``: in this process when ``workers`` ≤ 1, else in the pool.

    Returns the parse results (in order) and the CPU seconds spent parsing."""
    jobs = [(sha, label, archive_root) for sha, label in items]
    if workers <= 1 or len(jobs) <= 1:
        timed = [parse_timed(j) for j in jobs]
    else:
        timed = parse_pool(workers).map(parse_timed, jobs, chunksize=1)
    return [d for d, _c in timed], sum(c for _d, c in timed)


@task(
    name="parse-chunk",
    task_run_name="parse {year} #{index}",
    cache_key_fn=parse_cache_key,
    persist_result=True,
    cache_expiration=timedelta(days=120),
)
def parse_chunk(items: list[tuple[str, str]], archive_root: str, workers: int, year: int, index: int) -> dict[str, Any]:
    """Parse a chunk of archived documents; ``{"docs": [parse dicts], "started", "ended", "pid", "cpu"}``.

    Cached by the documents' sha256 (and the parser's code), so an unchanged chunk is not parsed again.
    """
    started = time.time()
    docs, cpu = parse_documents(items, archive_root, workers)
    return {"docs": docs, "started": started, "ended": time.time(), "pid": os.getpid(), "cpu": cpu}


# ============================================================================ load → validate → promote


def failure_step(exc: BaseException) -> str:
    """The pipeline step an exception from ``ingest_documents`` came from (deepest known frame wins)."""
    step = "load"
    tb = exc.__traceback__
    while tb is not None:
        module = tb.tb_frame.f_globals.get("__name__", "")
        for prefix, name in STEP_MODULES:
            if module == prefix or module.startswith(prefix + "."):
                step = name
        tb = tb.tb_next
    return step


@dataclass
class LoadOutcome:
    """Ingest summaries of the batches that went through, and the documents that failed (sha → step, reason)."""

    summaries: list[Any]
    failures: dict[str, tuple[str, str]]
    attempts: int = 0


def ingest_isolating(
    docs: list[dict[str, Any]], cfg: WarehouseConfig, data_docs: bool, budget: int = 24
) -> LoadOutcome:
    """``ingest_documents`` on the whole batch; if it fails, on halves, until the failing documents are found.

    A locked warehouse is not a document's fault and is raised.  After ``budget`` attempts the
    remaining documents are all marked failed with the last reason.
    """
    from flows.ingest import ingest_documents
    from warehouse.db import WarehouseLocked

    outcome = LoadOutcome([], {})

    def attempt(batch: list[dict[str, Any]]) -> None:
        outcome.attempts += 1
        try:
            outcome.summaries.append(ingest_documents(batch, warehouse=cfg, data_docs=data_docs))
            return
        except WarehouseLocked:
            raise
        except Exception as exc:
            step, reason = failure_step(exc), _reason(exc)
        if len(batch) == 1 or outcome.attempts >= budget:
            outcome.failures.update({d["source"]["sha256"]: (step, reason) for d in batch})
            return
        mid = len(batch) // 2
        attempt(batch[:mid])
        attempt(batch[mid:])

    if docs:
        attempt(docs)
    return outcome


@task(
    name="load-validate-promote",
    task_run_name="load-validate-promote {year}",
    cache_policy=NO_CACHE,
    persist_result=False,
)
def load_validate_promote(ctx_key: str, warehouse: str, data_docs: bool, year: int) -> dict[str, Any]:
    """One dlt load, one GX validation and one promotion for the run's new documents (``ctx.docs``)."""
    started = time.time()
    ctx = _context(ctx_key)
    outcome = ingest_isolating(ctx.docs, WarehouseConfig.resolve(warehouse), data_docs)
    return {"outcome": outcome, "started": started, "ended": time.time()}


@task(
    name="record-acquisitions",
    task_run_name="record-acquisitions {year}",
    cache_policy=NO_CACHE,
    persist_result=False,
    retries=1,
    retry_delay_seconds=1,
)
def record_acquisitions(rows: list[dict[str, Any]], warehouse: str, year: int) -> int:
    """Append this run's acquisition rows to ``qa.acquisitions``; the number written."""
    from warehouse import acquisitions

    return acquisitions.record(WarehouseConfig.resolve(warehouse), rows)


@task(name="publish-warehouse", task_run_name="publish-warehouse {year}", cache_policy=NO_CACHE, persist_result=False)
def publish_warehouse(warehouse: str, year: int) -> dict[str, Any] | None:
    """Send what changed to the dlt destination configured for ``xxgk_publish``; None when none is.

    A failure is logged and returned as ``{"error": …}``: the run's warehouse work is done and the next
    run sends the same data again."""
    from flows.ingest import publish_configured

    result = publish_configured(WarehouseConfig.resolve(warehouse))
    if result and result.get("error"):
        get_run_logger().warning(result["error"])
    return result


# ============================================================================ the year run


@dataclass
class RunOptions:
    """Parameters of one ``ingest_year`` run (see the flow's docstring)."""

    year: int
    agencies: list[str] | None
    sources: Path
    warehouse: WarehouseConfig
    runner: str
    parse_workers: int
    chunk_size: int
    fetch_threads: int
    host_limit: int
    min_interval: float
    today: date
    data_docs: bool
    fetch_processes: int = 2
    fetch_options: dict[str, Any] | None = None
    fetch_parallel: int = 2


def select_agencies(registry: Registry, ids: Sequence[str] | None) -> list[str]:
    """The agency ids to run (all of the registry when ``ids`` is empty); unknown ids are an error."""
    known = [a.id for a in registry.agencies]
    if not ids:
        return known
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise ValueError(f"unknown agency id(s) {', '.join(unknown)} in {registry.path}")
    return list(dict.fromkeys(ids))


def parse_runner(runner: str, workers: int) -> Any:
    """``None`` for in-process parsing (``local``), or a prefect-dask ``DaskTaskRunner``.

    ``dask`` starts a local cluster of ``workers`` processes; ``dask://host:port`` (or
    ``tcp://host:port``) connects to a running scheduler.
    """
    if runner in ("local", "process", "threads"):
        return None
    from prefect_dask import DaskTaskRunner

    if runner == "dask":
        return DaskTaskRunner(
            cluster_kwargs={
                "n_workers": max(1, workers),
                "threads_per_worker": 1,
                "processes": True,
                "dashboard_address": None,
            }
        )
    if runner.startswith(("dask://", "tcp://")):
        return DaskTaskRunner(address="tcp://" + runner.split("://", 1)[1])
    raise ValueError(f"unknown runner {runner!r}: use local, dask or dask://host:port")


def _chunks(items: Sequence[str], size: int) -> list[list[str]]:
    return [list(items[i : i + size]) for i in range(0, len(items), max(1, size))]


class YearRun:
    """The body of ``ingest_year``: fetch chunks, parse what is new as chunks arrive, then load once."""

    def __init__(self, opts: RunOptions, ctx: RunContext, runner: Any):
        self.opts, self.ctx, self.runner = opts, ctx, runner
        self.cfg = opts.warehouse
        self.archive_root = str(ctx.fetcher.archive.root)
        self.events: queue.Queue[tuple[str, int]] = queue.Queue()
        self.results: list[AgencyResult] = []
        self.parse_jobs: list[tuple[list[tuple[str, str]], Any]] = []
        self.known: dict[str, dict[str, Any]] = {}
        self.parsed: dict[str, dict[str, Any]] = {}
        self.owner: dict[str, AgencyResult] = {}  # sha → the agency whose document it is
        self.task_times: dict[str, list[tuple[float, float, float]]] = {"fetch": [], "parse": [], "load": []}
        self.parse_pids: set[int | None] = set()
        self.cpu = {"fetch_processes": 0.0, "parse": 0.0}
        self.warmed = False

    # ------------------------------------------------------------------ fetch, then parse as chunks arrive
    def fetch_and_parse(self, agency_ids: list[str]) -> None:
        chunks = _chunks(agency_ids, self.opts.chunk_size)
        pending = list(range(len(chunks)))[::-1]
        futures: dict[int, tuple[Any, float]] = {}
        while pending and len(futures) < self.opts.fetch_parallel:
            self._submit_fetch(chunks, pending.pop(), futures)
        while futures:
            _kind, index = self.events.get()
            fut, submitted = futures.pop(index)
            self._fetched(chunks[index], index, fut, submitted)
            if pending:
                self._submit_fetch(chunks, pending.pop(), futures)

    def _submit_fetch(self, chunks: list[list[str]], index: int, futures: dict[int, tuple[Any, float]]) -> None:
        submitted = time.time()
        fut = fetch_chunk.submit(self.ctx.key, chunks[index], self.opts.year, index)
        fut.add_done_callback(lambda _f, i=index: self.events.put(("fetch", i)))
        futures[index] = (fut, submitted)

    def _fetched(self, chunk: list[str], index: int, fut: Any, submitted: float) -> None:
        try:
            out = fut.result()
        except Exception as exc:  # the chunk task failed after its retries
            registry = self.ctx.registry
            self.results += [
                _base_result(registry.agency(a), registry, self.opts.year, "failed", step="fetch", reason=_reason(exc))
                for a in chunk
            ]
            return
        self.task_times["fetch"].append((submitted, out["started"], out["ended"]))
        self.cpu["fetch_processes"] += out.get("cpu") or 0.0
        self.results += out["results"]
        self._submit_parse([r for r in out["results"] if r.found and r.sha256], index)

    def _submit_parse(self, found: list[AgencyResult], index: int) -> None:
        from flows.ingest import known_versions

        fresh = [r for r in found if r.sha256 not in self.owner]
        for r in fresh:
            self.owner[r.sha256] = r
        self.known.update(known_versions(self.cfg, [r.sha256 for r in fresh]))
        items = [(r.sha256, r.final_url or r.url or r.agency_id) for r in fresh if r.sha256 not in self.known]
        if not items:
            return
        if not self.warmed:  # there will be something to load: import the loaders meanwhile
            self.warmed = True
            threading.Thread(target=warm_up_loading, args=(self.cfg,), name="warm-up", daemon=True).start()
        progress.set_total("parsed", sum(len(i) for i, _ in self.parse_jobs) + len(items))
        submitted = time.time()
        params = {
            "items": items,
            "archive_root": self.archive_root,
            "year": self.opts.year,
            "index": index,
            "workers": 1 if self.runner is not None else self.opts.parse_workers,
        }
        fut = self.runner.submit(parse_chunk, params) if self.runner is not None else parse_chunk.submit(**params)
        count = len(items)
        fut.add_done_callback(lambda _f: progress.advance("parsed", count))
        self.parse_jobs.append((items, (fut, submitted)))

    def collect_parses(self) -> None:
        for items, (fut, submitted) in self.parse_jobs:
            try:
                out = fut.result()
            except Exception as exc:
                for sha, _label in items:
                    self.owner[sha].fail("parse", _reason(exc))
                continue
            self.task_times["parse"].append((submitted, out["started"], out["ended"]))
            self.parse_pids.add(out.get("pid"))
            if out["started"] >= submitted - 0.5:  # not a cache hit
                self.cpu["parse"] += out.get("cpu") or 0.0
            for doc in out["docs"]:
                sha = doc["source"]["sha256"]
                if PARSE_FAILED in doc:
                    self.owner[sha].fail("parse", doc[PARSE_FAILED])
                else:
                    self.parsed[sha] = doc

    # ------------------------------------------------------------------ identity, load, states
    def documents(self) -> list[dict[str, Any]]:
        """The parsed documents with the registry's identity applied (agency name; year if unread)."""
        from flows.ingest import apply_identity

        docs = []
        for sha, doc in self.parsed.items():
            r = self.owner[sha]
            if r.status == "failed":
                continue
            out = apply_identity(doc, r.agency_name, None)
            out["year"] = doc.get("year") or r.year
            out["source"] = {**doc["source"], "path": r.final_url or r.url, "url": r.final_url or r.url}
            docs.append(out)
        return docs

    def load(self) -> tuple[str | None, str | None]:
        """Run the load task on the new documents; apply its outcome; the warehouse run id and Data Docs."""
        self.ctx.docs = self.documents()
        progress.set_total("promoted", len(self.ctx.docs))
        if not self.ctx.docs:
            return None, None
        submitted = time.time()
        out = load_validate_promote(self.ctx.key, str(self.cfg.db_path), self.opts.data_docs, self.opts.year)
        self.task_times["load"].append((submitted, out["started"], out["ended"]))
        outcome: LoadOutcome = out["outcome"]
        for sha, (step, reason) in outcome.failures.items():
            self.owner[sha].fail(step, reason)
        for summary in outcome.summaries:
            for d in summary.documents:
                if d.sha256 in self.owner and d.new:
                    self._apply_state(
                        self.owner[d.sha256], d.version_id, d.state, d.failing_rules, d.messages, d.year, new=True
                    )
        progress.advance("promoted", sum(s.counts.get("promoted", 0) for s in outcome.summaries))
        first = outcome.summaries[0] if outcome.summaries else None
        return (first.run_id if first else None), (first.data_docs if first else None)

    def apply_known(self) -> None:
        """State of the documents the warehouse already held (not parsed, not loaded again)."""
        for sha, k in self.known.items():
            r = self.owner.get(sha)
            if r is not None and r.status != "failed":
                self._apply_state(
                    r,
                    k["version_id"],
                    k["state"],
                    list(k["failing_rules"] or []),
                    list(k["messages"] or []),
                    k["year"],
                    new=False,
                )
        for r in self.results:  # the same document under a second agency: link it to the same version
            owner = self.owner.get(r.sha256 or "")
            if owner is not None and owner is not r and r.found:
                self._apply_state(
                    r, owner.version_id, owner.doc_state, owner.failing_rules, owner.messages, owner.doc_year, new=False
                )

    @staticmethod
    def _apply_state(
        r: AgencyResult,
        version_id: str | None,
        state: str | None,
        failing: list[str],
        messages: list[str],
        doc_year: int | None,
        *,
        new: bool,
    ) -> None:
        r.version_id, r.doc_state, r.failing_rules, r.messages = version_id, state, list(failing), list(messages)
        r.doc_year, r.new_document = doc_year, new


def warm_up_loading(cfg: WarehouseConfig) -> None:
    """Import dlt, pandas and Great Expectations (~6 s) while documents are still being parsed, so the
    load step at the end of the run does not pay for it (best effort: a failure shows up there)."""
    from warehouse.config import prepare_environment

    try:
        prepare_environment(cfg)  # dlt's state directories, before dlt is imported
        import dlt  # noqa: F401

        import expectations.gx_runner  # noqa: F401
        import warehouse.pipeline  # noqa: F401

        # only loaded here; Great Expectations is used through expectations.gx_runner alone
        importlib.import_module("great_expectations")
    except Exception:  # pragma: no cover - the load step imports them again and reports
        pass


def _counts(results: Sequence[AgencyResult], parsed: int) -> dict[str, int]:
    def n(pred: Any) -> int:
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
        "missing": n(lambda r: r.status == "missing"),
        "not_due": n(lambda r: r.status == "not_due"),
        "failed": n(lambda r: r.status == "failed"),
        "refused": n(lambda r: r.status == "refused"),
    }


def task_overhead(times: Mapping[str, list[tuple[float, float, float]]]) -> dict[str, Any]:
    """Per task kind: runs, cache hits, median start latency (submit → body starts, ms), the sum of the
    bodies' seconds and their span (first start → last end: they overlap).

    A cache hit returns the body times of the run that computed it (before the submit): it is
    counted as ``cached`` and left out of the latency.
    """
    out: dict[str, Any] = {}
    for kind, rows in times.items():
        ran = [(sub, s, e) for sub, s, e in rows if s >= sub - 0.5]
        if rows:
            out[kind] = {
                "tasks": len(rows),
                "cached": len(rows) - len(ran),
                "start_latency_ms": round(statistics.median(s - sub for sub, s, _e in ran) * 1000, 1) if ran else None,
                "body_seconds": round(sum(e - s for _sub, s, e in ran), 3),
                "span_seconds": round(max(e for *_x, e in ran) - min(s for _sub, s, _e in ran), 3) if ran else 0.0,
            }
    return out


def _flow_run_id() -> str:
    ctx = FlowRunContext.get()
    return str(ctx.flow_run.id) if ctx and ctx.flow_run else f"local-{uuid.uuid4()}"


def run_year(opts: RunOptions) -> YearSummary:
    """Everything ``ingest_year`` does (see the module docstring); returns the :class:`YearSummary`."""
    from warehouse.pipeline import check_not_locked

    t0, cpu0 = time.time(), os.times()
    if not opts.sources.is_file():
        raise FileNotFoundError(f"no agency registry at {opts.sources}: give --sources FILE or set XXGK_SOURCES")
    registry = load_registry(opts.sources)
    ids = select_agencies(registry, opts.agencies)
    check_not_locked(opts.warehouse)
    progress.begin(str(opts.year))
    progress.set_total("agencies", len(ids))
    progress.set_total("fetched", len(ids))
    from flows.limits import fetch_settings

    config = FetchConfig(**{**fetch_settings(), "min_interval": opts.min_interval, **(opts.fetch_options or {})})
    archive = Archive(opts.warehouse.db_path.parent / "archive")
    key = uuid.uuid4().hex
    timings: dict[str, float] = {}
    with Fetcher(archive, config) as fetcher:
        ctx = RunContext(key, opts.year, opts.today, registry, fetcher, opts.fetch_threads, opts.host_limit)
        if opts.fetch_processes > 1 and len(ids) > opts.fetch_processes:
            ctx.workers = FetchWorkers(opts.fetch_processes)
            ctx.job = FetchJob(
                key,
                str(opts.sources),
                str(archive.root),
                asdict(config),
                opts.year,
                opts.today,
                opts.fetch_threads,
                opts.host_limit,
            )
        _CONTEXTS[key] = ctx
        runner = parse_runner(opts.runner, opts.parse_workers)
        try:
            with runner if runner is not None else _nothing():
                run = YearRun(opts, ctx, runner)
                run.fetch_and_parse(ids)
                progress.set_total("fetched", sum(1 for r in run.results if r.status == "fetched"))
                timings["fetch"] = time.time() - t0
                run.collect_parses()
                timings["fetch_parse"] = time.time() - t0
            t = time.time()
            ingest_run_id, data_docs = run.load()
            run.apply_known()
            timings["load_validate_promote"] = time.time() - t
            run_id = _flow_run_id()
            order = {a: i for i, a in enumerate(ids)}
            results = sorted(run.results, key=lambda r: order[r.agency_id])
            t = time.time()
            record_acquisitions(
                [r.to_row(run_id, ingest_run_id) for r in results], str(opts.warehouse.db_path), opts.year
            )
            timings["record"] = time.time() - t
            t = time.time()
            published = publish_warehouse(str(opts.warehouse.db_path), opts.year)
            timings["publish"] = time.time() - t
        finally:
            _CONTEXTS.pop(key, None)
            if ctx.workers is not None:
                ctx.workers.close()
            if runner is None:
                close_parse_pool()
    timings["total"] = time.time() - t0
    cpu1 = os.times()
    cpu = {"flow_process": cpu1.user - cpu0.user + cpu1.system - cpu0.system, **run.cpu}
    tasks = {
        "flow_started_at": t0,
        "flow_pid": os.getpid(),
        "parse_pids": sorted(p for p in run.parse_pids if p),
        "cpu_seconds": {k: round(v, 2) for k, v in cpu.items()},
        **task_overhead(run.task_times),
    }
    return YearSummary(
        run_id,
        opts.year,
        str(opts.warehouse.db_path),
        results,
        _counts(results, len(run.parsed)),
        {k: round(v, 3) for k, v in timings.items()},
        tasks,
        ingest_run_id,
        data_docs,
        published,
    )


@contextmanager
def _nothing() -> Iterator[None]:
    yield None


def make_options(
    year: int,
    *,
    agencies: Sequence[str] | None = None,
    sources: str | Path | None = None,
    warehouse: str | Path | None = None,
    runner: str = "local",
    parse_workers: int = 2,
    chunk_size: int = 25,
    fetch_threads: int = 8,
    host_limit: int = 4,
    min_interval: float = 1.0,
    today: date | None = None,
    data_docs: bool = True,
    fetch_processes: int = 2,
    fetch_options: Mapping[str, Any] | None = None,
) -> RunOptions:
    """:class:`RunOptions` with the project defaults resolved (registry, warehouse, today in China)."""
    return RunOptions(
        year=year,
        agencies=list(agencies) if agencies else None,
        sources=Path(sources) if sources else default_sources(),
        warehouse=WarehouseConfig.resolve(warehouse),
        runner=runner,
        parse_workers=parse_workers,
        chunk_size=chunk_size,
        fetch_threads=fetch_threads,
        host_limit=host_limit,
        min_interval=min_interval,
        today=today or datetime.now(CHINA_TZ).date(),
        data_docs=data_docs,
        fetch_processes=fetch_processes,
        fetch_options=dict(fetch_options) if fetch_options else None,
    )


# ============================================================================ flows


@flow(
    name="ingest-year",
    flow_run_name="ingest-{year}",
    task_runner=ThreadPoolTaskRunner(max_workers=64),
    persist_result=False,
)
def ingest_year(
    year: int,
    agencies: list[str] | None = None,
    sources: str | None = None,
    warehouse: str | None = None,
    runner: str = "local",
    parse_workers: int = 2,
    chunk_size: int = 25,
    fetch_threads: int = 8,
    host_limit: int = 4,
    min_interval: float = 1.0,
    today: date | None = None,
    data_docs: bool = True,
    fetch_processes: int = 2,
    fetch_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Discover → fetch → parse → load → validate → promote the ``year`` reports of the selected agencies.

    ``agencies``: registry ids (default: all); ``sources``: the registry TOML (default
    ``XXGK_SOURCES`` or ``agencies.toml``); ``warehouse``: the DuckDB file; ``runner``: ``local``
    (parse in a process pool of ``parse_workers``), ``dask`` or ``dask://host:port``;
    ``host_limit``: concurrent requests per host; ``min_interval``: seconds between two requests to
    one host (in total over the ``fetch_processes`` processes running the fetchers: the page
    analysis after a download is CPU-bound); ``fetch_threads``: concurrent fetches per process;
    ``today``: decides missing vs not yet due; ``fetch_options``: other ``FetchConfig`` fields
    (``retries``, ``backoff``, ``timeout`` …).  Returns :meth:`YearSummary.to_json`.
    """
    opts = make_options(
        year,
        agencies=agencies,
        sources=sources,
        warehouse=warehouse,
        runner=runner,
        parse_workers=parse_workers,
        chunk_size=chunk_size,
        fetch_threads=fetch_threads,
        host_limit=host_limit,
        min_interval=min_interval,
        today=today,
        data_docs=data_docs,
        fetch_processes=fetch_processes,
        fetch_options=fetch_options,
    )
    return run_year(opts).to_json()


@flow(name="backfill", flow_run_name="backfill-{from_year}-{to_year}", persist_result=False)
def backfill(
    from_year: int,
    to_year: int,
    agencies: list[str] | None = None,
    sources: str | None = None,
    warehouse: str | None = None,
    runner: str = "local",
    min_interval: float = 1.0,
    today: date | None = None,
    data_docs: bool = True,
) -> list[dict[str, Any]]:
    """``ingest_year`` for every year from ``from_year`` to ``to_year`` (inclusive, oldest first)."""
    lo, hi = sorted((from_year, to_year))
    return [
        ingest_year(
            y,
            agencies=agencies,
            sources=sources,
            warehouse=warehouse,
            runner=runner,
            min_interval=min_interval,
            today=today,
            data_docs=data_docs,
        )
        for y in range(lo, hi + 1)
    ]


@task(name="send-oversight-report")
def send_report(year: int, sources: str | None, warehouse: str | None) -> dict[str, Any]:
    """E-mail the data-quality report of ``year`` to every oversight office (or keep it in the outbox).

    Never fails the run: an SMTP outage leaves the message in the outbox for the next run."""
    from flows.report import send_after_run

    registry = Path(sources) if sources else default_sources()
    summary = send_after_run(year, registry if registry.is_file() else None, warehouse)
    return summary.to_json()


@flow(name="annual-run", persist_result=False)
def annual_run(
    year: int | None = None,
    sources: str | None = None,
    warehouse: str | None = None,
    runner: str = "local",
    email: bool = True,
) -> dict[str, Any]:
    """The annual collection after the 31 January deadline: ``ingest_year`` of ``year`` (default last year),
    then the oversight report e-mailed (``email``)."""
    year = year or last_report_year()
    result = ingest_year(year, sources=sources, warehouse=warehouse, runner=runner)
    if email:
        result["report"] = send_report(year, sources, warehouse)
    return result


def quarterly_years(today: date | None = None) -> list[int]:
    """The report years a quarterly run re-checks: the current one (last calendar year) and the one before."""
    current = last_report_year(today)
    return [current, current - 1]


@flow(name="quarterly-run", persist_result=False)
def quarterly_run(
    sources: str | None = None,
    warehouse: str | None = None,
    runner: str = "local",
    today: date | None = None,
    email: bool = True,
) -> list[dict[str, Any]]:
    """Re-check the current and previous report year: new and revised reports, and those still missing;
    then one oversight report per year e-mailed (``email``)."""
    results = []
    for y in quarterly_years(today):
        result = ingest_year(y, sources=sources, warehouse=warehouse, runner=runner, today=today)
        if email:
            result["report"] = send_report(y, sources, warehouse)
        results.append(result)
    return results
