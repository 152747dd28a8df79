"""Schedules of the pipeline, as Prefect deployments defined in code, and ``xxgk serve``.

* ``annual`` — :func:`flows.pipeline.annual_run` (last year's reports) on **1 February** 02:00, the
  day after the statutory 31 January deadline, and again on **1 April** 02:00 for late publishers.
* ``quarterly`` — :func:`flows.pipeline.quarterly_run` (current and previous report year: new,
  revised and still-missing reports) on the **10th of January, April, July and October**, 03:00.

All times are Asia/Shanghai.  :func:`serve_all` serves both deployments from this process with
``limit=1`` (DuckDB has one writer, so runs never overlap).  Scheduled runs need a Prefect server
with its scheduler: with ``PREFECT_API_URL`` set, that server is used (every run shows in its UI);
otherwise ``xxgk serve`` starts a local one on 127.0.0.1 (port 4200 if free) whose UI it prints.
"""

from __future__ import annotations

# isort: split
from flows import settings

# isort: split
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TIMEZONE = "Asia/Shanghai"


@dataclass(frozen=True)
class ScheduleSpec:
    """One deployment: its name, the flow it runs, its cron strings and fixed parameters."""

    name: str
    flow: str
    crons: tuple[str, ...]
    description: str
    parameters: dict[str, Any] = field(default_factory=dict)


def schedule_specs(sources: str | Path | None = None, warehouse: str | Path | None = None) -> list[ScheduleSpec]:
    """The deployments of the project; ``sources`` / ``warehouse`` are fixed as parameters when given
    (otherwise resolved when each run starts: ``XXGK_SOURCES`` / ``agencies.toml``, the project warehouse)."""
    params = {k: str(v) for k, v in (("sources", sources), ("warehouse", warehouse)) if v}
    return [
        ScheduleSpec(
            "annual",
            "annual-run",
            ("0 2 1 2 *", "0 2 1 4 *"),
            "上一年度年报：2月1日（1月31日截止后）采集，4月1日再采集一次迟报的年报",
            dict(params),
        ),
        ScheduleSpec(
            "quarterly",
            "quarterly-run",
            ("0 3 10 1,4,7,10 *",),
            "每季度复查本报告年度和上一报告年度：新发布、修订和仍缺失的年报",
            dict(params),
        ),
    ]


def build_deployments(sources: str | Path | None = None, warehouse: str | Path | None = None) -> list[Any]:
    """The Prefect ``RunnerDeployment`` objects of :func:`schedule_specs` (cron in Asia/Shanghai)."""
    from prefect import Flow
    from prefect.schedules import Cron

    from flows.pipeline import annual_run, quarterly_run

    flows: dict[str, Flow[..., Any]] = {"annual-run": annual_run, "quarterly-run": quarterly_run}
    return [
        flows[s.flow].to_deployment(
            name=s.name,
            schedules=[Cron(c, timezone=TIMEZONE) for c in s.crons],
            parameters=s.parameters,
            description=s.description,
            tags=["xxgk"],
        )
        for s in schedule_specs(sources, warehouse)
    ]


def _stop_on_sigterm() -> None:
    """Make SIGTERM stop ``serve`` like Ctrl-C.

    Prefect 3.8.8's runner installs its own SIGTERM handler, which calls an async ``stop`` without
    awaiting it and then hangs; it is replaced (in this process only) by one raising
    ``KeyboardInterrupt``, which ``serve`` handles by pausing the deployments and returning.
    """
    from prefect.runner.runner import Runner

    def handler(*_args: Any, **_kwargs: Any) -> None:
        raise KeyboardInterrupt

    Runner.handle_sigterm = handler  # type: ignore[method-assign]
    signal.signal(signal.SIGTERM, handler)


def serve_all(
    sources: str | Path | None = None,
    warehouse: str | Path | None = None,
    *,
    port: int = 4200,
    echo: Any = print,
    deployments: Sequence[Any] | None = None,
) -> None:
    """Serve the deployments until interrupted (Ctrl-C or SIGTERM), starting a local server if needed."""
    api = settings.start_api(ephemeral=False, port=port)
    url = api.wait()
    os.environ["PREFECT_API_URL"] = url  # flow runs are started as subprocesses: they read the environment
    from prefect import serve
    from prefect.settings import PREFECT_API_URL, temporary_settings

    ui = url.removesuffix("/api")
    echo(f"Prefect API {url}（{'本进程启动' if api.local else '来自 PREFECT_API_URL'}）；界面 {ui}")
    _stop_on_sigterm()
    with temporary_settings(updates={PREFECT_API_URL: url}):
        deps = list(deployments) if deployments is not None else build_deployments(sources, warehouse)
        try:
            serve(*deps, limit=1, print_starting_message=True)
        except KeyboardInterrupt:
            echo("已停止")
        finally:
            api.stop()
