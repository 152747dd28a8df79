"""A local HTTP server for pipeline tests that records every request: when it started and ended, and how
many were in flight at once (politeness), optionally answering slowly (runs long enough to interrupt)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Hit:
    """One request: its path and its start / end on this process's monotonic clock."""

    path: str
    started: float
    ended: float


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that went away (an interrupted run) is no error of the site


class RecordingSite:
    """Serves the folder ``root`` on 127.0.0.1 (a thread); ``delay`` seconds before each answer."""

    def __init__(self, root: Path, delay: float = 0.0):
        self.root, self.delay = Path(root), delay
        self.hits: list[Hit] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._answering = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.base = ""

    def start(self) -> RecordingSite:
        site = self

        class Handler(SimpleHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                started = time.monotonic()
                with site._lock:
                    site.in_flight += 1
                    site._answering += 1
                    site.max_in_flight = max(site.max_in_flight, site._answering)
                try:
                    time.sleep(site.delay)
                    # ``max_in_flight`` counts requests from their arrival to the end of the delay,
                    # before the body is written: a window inside the client's own (it holds its host
                    # slot until the body is read), so a client keeping its limit never shows more.
                    # Counting to the end of the handler let the client's next request arrive before
                    # this thread had noted the end of the last one (CI saw 3 for a limit of 2).
                    with site._lock:
                        site._answering -= 1
                    super().do_GET()
                finally:
                    with site._lock:
                        site.in_flight -= 1
                        site.hits.append(Hit(self.path, started, time.monotonic()))

            def log_message(self, *args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), partial(Handler, directory=str(self.root)))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def starts(self) -> list[float]:
        """The start times of every request so far, in order."""
        with self._lock:
            return sorted(h.started for h in self.hits)

    def count(self) -> int:
        """Requests answered or in flight."""
        with self._lock:
            return len(self.hits) + self.in_flight

    def __enter__(self) -> RecordingSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
