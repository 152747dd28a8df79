"""Prefect settings of xxgk, in one place; call :func:`configure` before ``prefect`` is imported.

Nothing happens at import.  :func:`configure` (called by the ``xxgk`` command line before any command
runs, and by :func:`start_api`) sets, only where the user has not set them already (these are
Prefect's own settings, read by Prefect from the environment, not xxgk's):

* ``PREFECT_HOME`` → ``<project>/warehouse/.prefect`` (the ephemeral server's SQLite database,
  cached task results), never ``~/.prefect``;
* ``PREFECT_SERVER_ANALYTICS_ENABLED=false`` (telemetry spams "database is locked" on SQLite);
* ``PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS=90`` (the default 20 s is too short on a
  busy 2-core machine);
* ``PREFECT_SERVER_LOGGING_LEVEL=CRITICAL`` when no ``PREFECT_API_URL`` is set: the temporary
  server logs cancelled event flushes as tracebacks when the process exits.

:func:`quiet_console` lowers Prefect's console output to warnings for the CLI (the API, hence the
UI, still receives every log line).  :func:`start_api` starts a local API server as a subprocess
when no ``PREFECT_API_URL`` is configured — the temporary server Prefect itself would start on the
first flow call (``xxgk run``), or a full one with the scheduler and the UI (``xxgk serve``) — so
that the CLI can start it before importing prefect (the ~7 s start overlaps the imports), and so
that Dask workers get a real URL instead of starting servers of their own.  The server runs in its
own session (a terminal's Ctrl-C is the CLI's to handle, which stops it) and dies with the CLI
(``PR_SET_PDEATHSIG``), SIGKILL included.  Once a server of this Prefect version has started on the
project's database, the next ones skip the database migrations and the block registration
(:func:`server_start_settings`).
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from flows.stopping import preexec_die_with_parent
from warehouse.config import project_dir

_DEFAULTS = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
}


def prefect_home() -> str:
    """The Prefect home used: ``PREFECT_HOME`` if set, else ``<project>/warehouse/.prefect``."""
    return os.environ.get("PREFECT_HOME") or str(project_dir() / "warehouse" / ".prefect")


def configure() -> None:
    """Set the project's Prefect defaults in the environment (user settings win)."""
    os.environ.setdefault("PREFECT_HOME", prefect_home())
    for key, value in _DEFAULTS.items():
        os.environ.setdefault(key, value)
    if not os.environ.get("PREFECT_API_URL"):
        os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")


def quiet_console() -> None:
    """Show only warnings of Prefect on the console (logs still go to the API / UI)."""
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")


def free_port(preferred: int | None = None) -> int:
    """``preferred`` if it can be bound on 127.0.0.1, else a free port chosen by the system."""
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise OSError("no free port on 127.0.0.1")


def configured_api_url() -> str | None:
    """``PREFECT_API_URL`` from the environment or, once prefect is imported, from its active settings."""
    if os.environ.get("PREFECT_API_URL"):
        return os.environ["PREFECT_API_URL"]
    if "prefect.settings" in sys.modules:
        from prefect.settings import PREFECT_API_URL

        return PREFECT_API_URL.value() or None
    return None


#: What a local server skips once its database is known to be set up (see :func:`server_start_settings`).
_SETUP_MARK = "xxgk-server-setup.json"
#: py-key-value (the server's task queue store) type-checks its own calls with beartype unless told not to.
_SERVER_ENV = {"PY_KEY_VALUE_DISABLE_BEARTYPE": "true"}


def _server_setup() -> dict[str, str]:
    """What identifies a set-up server database: Prefect's version and the database it uses."""
    from importlib.metadata import version

    home = prefect_home()
    url = os.environ.get("PREFECT_API_DATABASE_CONNECTION_URL") or f"sqlite:{Path(home) / 'prefect.db'}"
    return {"prefect": version("prefect"), "database": url}


def server_start_settings() -> dict[str, str]:
    """Environment for a local API server: its database migrations and block registration skipped when
    this Prefect version already did them on this database (a file beside it says so), and py-key-value's
    runtime type checks off.  Measured: the registration loads every Prefect collection installed
    (prefect-dask imports dask and distributed, ~0.7 s of CPU) only to find nothing new, and the
    migration check loads Alembic and every migration script, on every start."""
    out = dict(_SERVER_ENV)
    mark = Path(prefect_home()) / _SETUP_MARK
    try:
        done = json.loads(mark.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return out
    database = (Path(prefect_home()) / "prefect.db").is_file() or "PREFECT_API_DATABASE_CONNECTION_URL" in os.environ
    if done == _server_setup() and database:
        out.update({"PREFECT_API_DATABASE_MIGRATE_ON_START": "false", "PREFECT_API_BLOCKS_REGISTER_ON_START": "false"})
    return out


def remember_server_start() -> None:
    """Note that a server of this Prefect version started on this database (migrated, blocks registered)."""
    try:
        mark = Path(prefect_home()) / _SETUP_MARK
        mark.write_text(json.dumps(_server_setup()), encoding="utf-8")
    except OSError:  # only an optimisation of the next start
        pass


class ApiStarter:
    """Starts a local Prefect API server as a subprocess, without importing prefect, and waits on demand.

    ``ephemeral=True`` (``xxgk run``): the temporary server Prefect itself would start (no UI, no
    scheduler), but started first thing, so that its ~7 s start overlaps the CLI's imports.
    ``ephemeral=False`` (``xxgk serve``): a full server with the scheduler and the UI on
    ``port`` (default 4200, or a free one).  Nothing is started when an API URL is configured:
    ``url`` is that URL.  The server is stopped when this process exits.
    """

    def __init__(self, *, ephemeral: bool = True, port: int | None = None) -> None:
        self.url: str | None = configured_api_url()
        self.ephemeral = ephemeral
        self.port = port
        self.seconds = 0.0
        self.process: subprocess.Popen[bytes] | None = None
        self._started = 0.0

    @property
    def candidate_url(self) -> str:
        """The API URL of the server this process started (answering once :meth:`wait` returns)."""
        return self._candidate

    @property
    def local(self) -> bool:
        """Whether this process runs the server (no API URL was configured)."""
        return self.process is not None

    def start(self) -> ApiStarter:
        """Launch the server subprocess (no-op when an API URL is configured or already started)."""
        if self.url is not None or self.process is not None:
            return self
        configure()
        self._started = time.perf_counter()
        port = free_port(self.port)
        env = {**os.environ, "PREFECT_SERVER_API_PORT": str(port), "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api"}
        env.update({k: v for k, v in server_start_settings().items() if k not in os.environ})
        if self.ephemeral:
            env.update({"PREFECT_UI_ENABLED": "0", "PREFECT__SERVER_EPHEMERAL": "1", "PREFECT__SERVER_FINAL": "1"})
        elif env.get("PREFECT_SERVER_LOGGING_LEVEL") == "CRITICAL":  # our quiet default: a served server logs
            env.pop("PREFECT_SERVER_LOGGING_LEVEL")
        spec = importlib.util.find_spec("prefect")
        if spec is None or spec.origin is None:
            raise RuntimeError("prefect is not installed: pip install -e . in the project's environment")
        app_dir = str(Path(spec.origin).parent.parent)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                app_dir,
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # not in the terminal's process group: Ctrl-C is ours to handle
            preexec_fn=preexec_die_with_parent,  # SIGKILL when this process dies, even by SIGKILL
        )
        _STARTED.append(self)
        self._candidate = f"http://127.0.0.1:{port}/api"
        atexit.register(self.stop)
        return self

    def wait(self, timeout: float | None = None) -> str:
        """The API URL once the server answers ``/health`` (raises ``RuntimeError`` if it does not)."""
        if self.url is not None:
            return self.url
        if self.process is None:
            self.start()
        assert self.process is not None
        limit = timeout or float(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90"))
        deadline = time.perf_counter() + limit
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Prefect API server exited with code {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self._candidate}/health", timeout=2) as resp:
                    if resp.status == 200:
                        self.url = self._candidate
                        self.seconds = time.perf_counter() - self._started
                        remember_server_start()
                        return self.url
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the Prefect API server did not answer within {limit:.0f} s")

    def stop(self) -> None:
        """Stop the server this process started (terminate, then kill after 1.5 s)."""
        proc, self.process = self.process, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=1.5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


_STARTED: list[ApiStarter] = []


def local_server_pids() -> list[int]:
    """The pids of the API servers this process started and has not stopped."""
    return [s.process.pid for s in _STARTED if s.process is not None and s.process.poll() is None]


def start_api(*, ephemeral: bool = True, port: int | None = None) -> ApiStarter:
    """An :class:`ApiStarter`, already starting its server (if one is needed)."""
    return ApiStarter(ephemeral=ephemeral, port=port).start()
