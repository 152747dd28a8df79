"""The body of ``ingest_year``: one report year, discover → fetch → parse → load → validate → promote.

Shape (a Prefect task run costs 7.4 ms called / 60 ms submitted here, so documents are batched)::

    agencies ─chunks─▶ fetch-chunk tasks (flow's thread pool; threads inside share one Fetcher:
                         │               per-host interval and limit exact, retried)
                         │ as each chunk completes: skip documents the warehouse already holds
                         ▼
                       parse-chunk tasks (ProcessPoolTaskRunner or DaskTaskRunner; cached by the
                         │             documents' sha256 + parser version)
                         ▼
                       load-validate-promote (one task per run: one dlt load, one GX run, one
                         │                     promotion transaction — ``flows.ingest``)
                         ▼
                       record-acquisitions (one transaction into qa.acquisitions)

Fetching and parsing overlap: a chunk is parsed while the next ones are fetched.  An unchanged
document (same sha256 as a version the warehouse already decided) is neither parsed nor loaded, so
a re-run with nothing new only makes conditional requests.  A failing agency is recorded as
``failed`` with the step its task recorded, and the others complete.
"""

from __future__ import annotations

import functools
import os
import queue
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

from prefect.context import FlowRunContext
from prefect.futures import PrefectFuture
from prefect.utilities.annotations import quote

from flows.cli import progress
from flows.options import RunOptions
from flows.outcome import AgencyResult, YearSummary, counts, reason_of
from flows.tasks.fetch import base_result, fetch_chunk
from flows.tasks.load import LoadOutcome, load_validate_promote, publish_warehouse, record_acquisitions, warm_up_loading
from flows.tasks.parse import PARSE_FAILED, parse_chunk, parse_runner
from sources.fetching import FetchConfig, Fetcher
from sources.fetching.archive import Archive
from sources.registry import Registry, load_registry
from sources.rules import CHINA_TZ

TaskTimes = dict[str, list[tuple[float, float, float]]]  # kind → (submitted, started, ended) per task run


def last_report_year(today: date | None = None) -> int:
    """The report year whose deadline is the coming/just passed 31 January: last calendar year (China time)."""
    return (today or datetime.now(CHINA_TZ).date()).year - 1


_REGISTRY_READ: dict[tuple[str, int, int], Registry] = {}


def read_registry(path: Path) -> Registry:
    """The registry at ``path`` (:func:`sources.registry.load_registry`), parsed once per process for one
    version of the file: the command's check before the run and the run itself read the same file, and a
    registry is parsed at ~0.5 ms an agency here (5 s for 10,000 agencies, before the first fetch)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size)
    if key not in _REGISTRY_READ:
        _REGISTRY_READ.clear()  # one file at a time: an edited file is read again
        _REGISTRY_READ[key] = load_registry(path)
    return _REGISTRY_READ[key]


def select_agencies(registry: Registry, ids: Sequence[str] | None) -> list[str]:
    """The agency ids to run (all of the registry when ``ids`` is empty); unknown ids are an error."""
    known = [a.id for a in registry.agencies]
    if not ids:
        return known
    known_ids = set(known)
    unknown = [i for i in ids if i not in known_ids]
    if unknown:
        raise ValueError(f"unknown agency id(s) {', '.join(unknown)} in {registry.path}")
    return list(dict.fromkeys(ids))


def as_is(value: Any) -> Any:
    """``value`` passed to a task without Prefect walking it (``prefect.utilities.annotations.quote``).

    Measured: a task called with the 1,000 parse dicts of ``xxgk bench run`` (200 cells each) started
    147 s after the call on a loaded 2-core machine, Prefect visiting every nested value for futures."""
    return quote(value)


def _put_index(events: queue.Queue[int], index: int, _future: Any) -> None:
    events.put(index)


def _advance_parsed(n: int) -> Any:
    def done(_future: Any) -> None:
        progress.advance("parsed", n)

    return done


def _add_formats(total: dict[str, list[float]], part: Mapping[str, Sequence[float]] | None) -> None:
    """Add a task's ``format → [CPU seconds, documents]`` to the run's."""
    for fmt, (seconds, n) in (part or {}).items():
        entry = total.setdefault(fmt, [0.0, 0])
        entry[0] += seconds
        entry[1] += n


def _chunks(items: Sequence[Any], size: int) -> list[list[Any]]:
    return [list(items[i : i + size]) for i in range(0, len(items), max(1, size))]


class YearRun:
    """Fetch chunks, parse what is new as chunks arrive, then load once; collects the results."""

    def __init__(self, opts: RunOptions, registry: Registry, fetcher: Fetcher, runner: Any):
        self.opts, self.registry, self.fetcher, self.runner = opts, registry, fetcher, runner
        self.cfg = opts.warehouse
        self.archive_root = str(fetcher.archive.root)
        self.offices = {o.id: o.name for o in registry.oversight}
        self.events: queue.Queue[int] = queue.Queue()
        self.results: list[AgencyResult] = []
        self.parse_jobs: list[tuple[list[tuple[str, str]], PrefectFuture[Any], float]] = []
        self.known: dict[str, dict[str, Any]] = {}
        self.parsed: dict[str, dict[str, Any]] = {}
        self.owner: dict[str, AgencyResult] = {}  # sha → the agency whose document it is
        self.task_times: TaskTimes = {"fetch": [], "parse": [], "load": []}
        self.parse_pids: set[int] = set()
        self.cpu = {"fetch_threads": 0.0, "parse": 0.0}
        self.cpu_by_format: dict[str, dict[str, list[float]]] = {"fetch": {}, "parse": {}}
        self.warmed = False
        from flows.ingest import KnownVersions

        self.lookup = KnownVersions(self.cfg)  # one warehouse connection for every chunk's look-up

    # ------------------------------------------------------------------ fetch, then parse as chunks arrive
    def fetch_and_parse(self, agency_ids: list[str]) -> None:
        """Run the fetch tasks (``fetch_parallel`` chunks in flight) and submit parse tasks as they end."""
        by_id = {a.id: a for a in self.registry.agencies}  # Registry.agency() scans: quadratic over a year
        chunks = _chunks([by_id[a] for a in agency_ids], self.opts.chunk_size)
        pending = list(range(len(chunks)))[::-1]
        futures: dict[int, tuple[PrefectFuture[Any], float]] = {}
        while pending and len(futures) < self.opts.fetch_parallel:
            self._submit_fetch(chunks, pending.pop(), futures)
        try:
            while futures:
                index = self.events.get()
                fut, submitted = futures.pop(index)
                if pending:  # the next chunk first: fetching goes on while this one is looked up
                    self._submit_fetch(chunks, pending.pop(), futures)
                self._fetched(chunks[index], fut, submitted)
        finally:
            self.lookup.close()  # before anything writes to the warehouse

    def _submit_fetch(
        self, chunks: list[list[Any]], index: int, futures: dict[int, tuple[PrefectFuture[Any], float]]
    ) -> None:
        submitted = time.time()
        fut = fetch_chunk.submit(
            chunks[index],
            self.offices,
            self.opts.year,
            self.opts.today,
            self.fetcher,
            self.opts.fetch_threads,
            index,
        )
        fut.add_done_callback(functools.partial(_put_index, self.events, index))
        futures[index] = (fut, submitted)

    def _fetched(self, chunk: list[Any], fut: PrefectFuture[Any], submitted: float) -> None:
        try:
            out = fut.result()
        except Exception as exc:  # the chunk task failed after its retries: every agency of it at "fetch"
            self.results += [
                base_result(
                    a, self.offices.get(a.oversight), self.opts.year, "failed", step="fetch", reason=reason_of(exc)
                )
                for a in chunk
            ]
            return
        self.task_times["fetch"].append((submitted, out["started"], out["ended"]))
        self.cpu["fetch_threads"] += out.get("cpu") or 0.0
        _add_formats(self.cpu_by_format["fetch"], out.get("cpu_by_format"))
        self.results += out["results"]
        self._submit_parse([r for r in out["results"] if r.found and r.sha256])

    def _submit_parse(self, found: list[AgencyResult]) -> None:
        fresh = [r for r in found if r.sha256 and r.sha256 not in self.owner]
        for r in fresh:
            self.owner[r.sha256 or ""] = r
        self.known.update(self.lookup([r.sha256 or "" for r in fresh]))
        items = [(r.sha256 or "", r.final_url or r.url or r.agency_id) for r in fresh if r.sha256 not in self.known]
        if not items:
            return
        if not self.warmed:  # there will be something to load: import the loaders meanwhile
            self.warmed = True
            threading.Thread(target=warm_up_loading, args=(self.cfg,), name="warm-up", daemon=True).start()
        progress.set_total("parsed", sum(len(i) for i, _f, _s in self.parse_jobs) + len(items))
        for part in _chunks(items, self.opts.parse_chunk_size):
            params: dict[str, Any] = {"items": part, "archive_root": self.archive_root, "year": self.opts.year}
            params["index"] = len(self.parse_jobs)
            params["hard_limit"] = True  # each document in a child process killed past the parse time limit
            submitted = time.time()
            fut = self.runner.submit(parse_chunk, params) if self.runner is not None else parse_chunk.submit(**params)
            fut.add_done_callback(_advance_parsed(len(part)))
            self.parse_jobs.append((part, fut, submitted))

    def collect_parses(self) -> None:
        """Wait for every parse task; keep the parsed documents, record parse failures."""
        for items, fut, submitted in self.parse_jobs:
            try:
                out = fut.result()
            except Exception as exc:  # the task failed: each of its documents at "parse"
                for sha, _label in items:
                    self.owner[sha].fail("parse", reason_of(exc))
                continue
            self.task_times["parse"].append((submitted, out["started"], out["ended"]))
            self.parse_pids.add(out["pid"])
            if out["started"] >= submitted - 0.5:  # not a cache hit
                self.cpu["parse"] += out.get("cpu") or 0.0
                _add_formats(self.cpu_by_format["parse"], out.get("cpu_by_format"))
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
        docs = self.documents()
        progress.set_total("promoted", len(docs))
        if not docs:
            return None, None
        submitted = time.time()
        out = load_validate_promote(as_is(docs), str(self.cfg.db_path), self.opts.data_docs, self.opts.year)
        self.task_times["load"].append((submitted, out["started"], out["ended"]))
        outcome: LoadOutcome = out["outcome"]
        for sha, (step, reason) in outcome.failures.items():
            self.owner[sha].fail(step, reason)
        for summary in outcome.summaries:
            for d in summary.documents:
                if d.sha256 in self.owner and d.new:
                    self.owner[d.sha256].set_state(d.version_id, d.state, d.failing_rules, d.messages, d.year, new=True)
        progress.advance("promoted", sum(s.counts.get("promoted", 0) for s in outcome.summaries))
        first = outcome.summaries[0] if outcome.summaries else None
        return (first.run_id if first else None), (first.data_docs if first else None)

    def apply_known(self) -> None:
        """State of the documents the warehouse already held (not parsed, not loaded again)."""
        for sha, k in self.known.items():
            r = self.owner.get(sha)
            if r is not None and r.status != "failed":
                r.set_state(
                    k["version_id"],
                    k["state"],
                    k["failing_rules"] or [],
                    k["messages"] or [],
                    k["year"],
                    new=False,
                )
        for r in self.results:  # the same document under a second agency: link it to the same version
            owner = self.owner.get(r.sha256 or "")
            if owner is not None and owner is not r and r.found:
                r.set_state(
                    owner.version_id, owner.doc_state, owner.failing_rules, owner.messages, owner.doc_year, new=False
                )


def flow_run_id() -> str:
    """The id of the current Prefect flow run (``local-<uuid>`` outside one)."""
    ctx = FlowRunContext.get()
    return str(ctx.flow_run.id) if ctx and ctx.flow_run else f"local-{uuid.uuid4()}"


def _runner_context(runner: Any) -> AbstractContextManager[Any]:
    """The parse runner's context; without one (the flow's threads) the parse children this process
    started are ended with it (a process runner's workers take theirs with them)."""
    return runner if runner is not None else _own_parse_children()


@contextmanager
def _own_parse_children() -> Iterator[None]:
    from flows.tasks.parse_guard import stop_children

    try:
        yield None
    finally:
        stop_children()


def _cpu_since(start: os.times_result) -> float:
    """CPU seconds (user + system) of this process since ``start`` (``os.times()``)."""
    now = os.times()
    return now.user - start.user + now.system - start.system


def run_year(opts: RunOptions) -> YearSummary:
    """Everything ``ingest_year`` does (see the module docstring); returns the :class:`YearSummary`.

    Holds the warehouse's run lock throughout (:mod:`warehouse.runlock`): a second run on the same
    warehouse is refused before anything is fetched."""
    from warehouse import runlock
    from warehouse.db import check_not_locked

    t0 = time.time()
    if not opts.sources.is_file():
        raise FileNotFoundError(f"no agency registry at {opts.sources}: give --sources FILE or set XXGK_SOURCES")
    registry = read_registry(opts.sources)
    ids = select_agencies(registry, opts.agencies)
    with runlock.hold(opts.warehouse.db_path):
        check_not_locked(opts.warehouse)
        return _run(opts, registry, ids, t0)


def _run(opts: RunOptions, registry: Registry, ids: list[str], t0: float) -> YearSummary:
    from flows.bench.overhead import task_overhead

    cpu0 = os.times()
    progress.begin(str(opts.year))
    progress.set_total("agencies", len(ids))
    progress.set_total("fetched", len(ids))
    from flows.limits import fetch_settings

    run_settings = {"min_interval": opts.min_interval, "host_limit": opts.host_limit}
    config = FetchConfig(**{**fetch_settings(), **run_settings, **(opts.fetch_options or {})})
    archive = Archive(opts.warehouse.db_path.parent / "archive")
    timings: dict[str, float] = {}
    with Fetcher(archive, config) as fetcher, _runner_context(parse_runner(opts.runner, opts.parse_workers)) as runner:
        run = YearRun(opts, registry, fetcher, runner)
        run.fetch_and_parse(ids)
        progress.set_total("fetched", sum(1 for r in run.results if r.status == "fetched"))
        timings["fetch"] = time.time() - t0
        run.collect_parses()
        timings["fetch_parse"] = time.time() - t0
    stage_cpu = {"fetch_parse": _cpu_since(cpu0)}
    t, cpu_load = time.time(), os.times()
    ingest_run_id, data_docs = run.load()
    run.apply_known()
    timings["load_validate_promote"] = time.time() - t
    stage_cpu["load_validate_promote"] = _cpu_since(cpu_load)
    cpu_record = os.times()
    run_id = flow_run_id()
    order = {a: i for i, a in enumerate(ids)}
    results = sorted(run.results, key=lambda r: order[r.agency_id])
    t = time.time()
    rows = [r.to_row(run_id, ingest_run_id) for r in results]
    record_acquisitions(as_is(rows), str(opts.warehouse.db_path), opts.year)
    timings["record"] = time.time() - t
    t = time.time()
    published = publish_warehouse(str(opts.warehouse.db_path), opts.year)
    timings["publish"] = time.time() - t
    timings["total"] = time.time() - t0
    stage_cpu["record_publish"] = _cpu_since(cpu_record)
    cpu = {"flow_process": _cpu_since(cpu0), **run.cpu}
    tasks = {
        "flow_started_at": t0,
        # when the first fetch task's body began (epoch): the end of the run's start-up
        "first_fetch_at": min((started for _sub, started, _end in run.task_times["fetch"]), default=None),
        "flow_pid": os.getpid(),
        "parse_pids": sorted(run.parse_pids),
        "cpu_seconds": {k: round(v, 2) for k, v in cpu.items()},
        "flow_cpu_by_stage": {k: round(v, 2) for k, v in stage_cpu.items()},
        "cpu_by_format": {
            stage: {fmt: {"cpu_seconds": round(sec, 3), "documents": int(n)} for fmt, (sec, n) in sorted(f.items())}
            for stage, f in run.cpu_by_format.items()
        },
        **task_overhead(run.task_times),
    }
    return YearSummary(
        run_id,
        opts.year,
        str(opts.warehouse.db_path),
        results,
        counts(results, len(run.parsed)),
        {k: round(v, 3) for k, v in timings.items()},
        tasks,
        ingest_run_id,
        data_docs,
        published,
    )
