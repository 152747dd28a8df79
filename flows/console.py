"""The two consoles every command prints to: ``out`` (stdout) and ``err`` (stderr, one-line errors).

When output is piped or captured, rich falls back to 80 columns, which folds 表三's labels into
unreadable stacks; a fixed wide width keeps the printed tables intact in logs and e-mails.
"""

from __future__ import annotations

import sys

from rich.console import Console

out = Console(width=None if sys.stdout.isatty() else 150)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)
