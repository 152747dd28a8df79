"""Where the warehouse lives: the DuckDB file, dlt's working directory and the GX project.

Resolution order for each path (first match wins):

1. an explicit argument (tests, ``xxgk ingest --warehouse``);
2. the environment, the dlt way: ``XXGK__WAREHOUSE_PATH``, ``XXGK__DLT_DIR``, ``XXGK__GX_DIR``;
3. ``[xxgk]`` in ``.dlt/config.toml`` of the project (keys ``warehouse_path``, ``dlt_dir``, ``gx_dir``);
4. defaults inside the project: ``warehouse/xxgk.duckdb``, ``warehouse/.dlt_data``, ``warehouse/gx``
   (all gitignored).

Relative paths are taken relative to the project directory: ``XXGK_PROJECT_DIR`` if set, else the
source checkout this package was imported from (it has ``pyproject.toml``), else the current
directory.  Nothing here imports dlt; :func:`prepare_environment` sets ``DLT_DATA_DIR`` /
``DLT_PROJECT_DIR`` (only when unset) so that dlt never writes its working state to ``/var/dlt``
or ``~/.dlt``.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

_CONFIG_KEYS = {"warehouse_path": "warehouse/xxgk.duckdb", "dlt_dir": "warehouse/.dlt_data", "gx_dir": "warehouse/gx"}


def project_dir() -> Path:
    """The project directory (see module docstring)."""
    env = os.environ.get("XXGK_PROJECT_DIR")
    if env:
        return Path(env).resolve()
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file():
        return checkout
    return Path.cwd().resolve()


def default_registry() -> Path:
    """The agency registry used when none is given: ``XXGK_SOURCES``, else ``<project>/agencies.toml``."""
    return Path(os.environ.get("XXGK_SOURCES") or project_dir() / "agencies.toml").expanduser()


def _toml_section(root: Path) -> dict[str, str]:
    path = root / ".dlt" / "config.toml"
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        data = tomllib.load(fh)
    section = data.get("xxgk") or {}
    return {k: str(v) for k, v in section.items() if isinstance(v, str | Path)}


@dataclass(frozen=True)
class WarehouseConfig:
    """Resolved absolute paths of one warehouse: DuckDB file, dlt pipelines dir, GX project root."""

    db_path: Path
    dlt_dir: Path
    gx_dir: Path

    @classmethod
    def resolve(
        cls,
        db_path: str | Path | None = None,
        dlt_dir: str | Path | None = None,
        gx_dir: str | Path | None = None,
    ) -> WarehouseConfig:
        """Paths from arguments, environment, ``.dlt/config.toml`` and defaults, in that order.

        When only ``db_path`` is given, dlt and GX state go next to it (``<db>.dlt``, ``<db>.gx``
        style siblings) so that a warehouse in a temporary directory is self-contained.
        """
        root = project_dir()
        toml = _toml_section(root)

        def pick(name: str, explicit: str | Path | None, sibling: str | None) -> Path:
            if explicit is not None:
                value = Path(explicit)
            elif os.environ.get(f"XXGK__{name.upper()}"):
                value = Path(os.environ[f"XXGK__{name.upper()}"])
            elif sibling is not None:
                value = Path(sibling)
            elif name in toml:
                value = Path(toml[name])
            else:
                value = Path(_CONFIG_KEYS[name])
            return (value if value.is_absolute() else root / value).resolve()

        db = pick("warehouse_path", db_path, None)
        own_dir = db_path is not None or bool(os.environ.get("XXGK__WAREHOUSE_PATH"))
        return cls(
            db_path=db,
            dlt_dir=pick("dlt_dir", dlt_dir, str(db.parent / ".dlt_data") if own_dir else None),
            gx_dir=pick("gx_dir", gx_dir, str(db.parent / "gx") if own_dir else None),
        )

    @property
    def data_docs_index(self) -> Path:
        """The GX Data Docs entry page (written by each validation run)."""
        return self.gx_dir / "uncommitted" / "data_docs" / "local_site" / "index.html"


def prepare_environment(cfg: WarehouseConfig) -> None:
    """Point dlt at project-local state before it is imported (never /var/dlt or ~/.dlt)."""
    os.environ.setdefault("DLT_DATA_DIR", str(cfg.dlt_dir))
    os.environ.setdefault("DLT_PROJECT_DIR", str(project_dir()))
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    # the merge copies stg_staging into stg; keep the scratch copy empty afterwards (file size)
    os.environ.setdefault("LOAD__TRUNCATE_STAGING_DATASET", "true")
