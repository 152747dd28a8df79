"""The end of an ``xxgk`` command (:func:`flows.cli.app.end_process`): what a normal exit does before the
interpreter's teardown still happens — threads waited for, exit handlers run, output flushed — and the
exit status is the command's.  Each case in a real subprocess (the function ends its process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

CHILD = """
import atexit, sys, threading, time
from pathlib import Path
from flows.cli.app import end_process

done = Path(sys.argv[1])
def late():
    time.sleep(0.3)
    done.write_text("thread finished")
threading.Thread(target=late).start()  # not a daemon: a normal exit waits for it
atexit.register(lambda: print("exit handler ran", flush=False))
sys.stdout.write("unflushed output")
end_process(eval(sys.argv[2]))
print("never reached")
"""


def _end(tmp_path: Path, code: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    done = tmp_path / "done.txt"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(done), code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    return proc, done


def test_the_command_ends_with_its_status_after_threads_and_exit_handlers(tmp_path):
    proc, done = _end(tmp_path, "3")
    assert proc.returncode == 3
    assert proc.stdout == "unflushed outputexit handler ran\n"
    assert done.read_text() == "thread finished"


def test_no_status_is_success_and_a_text_status_is_printed_as_a_failure(tmp_path):
    ok, _done = _end(tmp_path, "None")
    assert ok.returncode == 0 and "never reached" not in ok.stdout
    failed, _done = _end(tmp_path, "'registry missing'")
    assert failed.returncode == 1 and failed.stderr.strip().endswith("registry missing")


def test_an_xxgk_command_in_its_own_process_prints_everything_and_keeps_its_status(tmp_path):
    run = [sys.executable, "-c", "from flows.cli import app; app()"]
    missing = subprocess.run(
        [*run, "run", "--sources", str(tmp_path / "none.toml")], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert missing.returncode == 2 and "none.toml" in missing.stderr
    helped = subprocess.run([*run, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert helped.returncode == 0 and "run" in helped.stdout
