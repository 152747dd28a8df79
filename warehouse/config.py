"""Settings of xxgk, read the dlt way, and where the warehouse lives.

Every setting is read through ``dlt.config`` / ``dlt.secrets`` (:func:`setting`, :func:`secret`,
:func:`section`), so each has its environment form and its TOML form, first match wins:

1. the environment: ``XXGK__WAREHOUSE_PATH``, ``SMTP__HOST``, ``SMTP__PASSWORD`` …;
2. ``.dlt/secrets.toml``, then ``.dlt/config.toml`` of the project (``[xxgk]``, ``[smtp]`` …);
3. the defaults of the code.

The project directory (where ``.dlt/`` is looked for, and what the defaults are relative to) is
``DLT_PROJECT_DIR`` if set, else ``XXGK_PROJECT_DIR``, else the source checkout this package was
imported from (it has ``pyproject.toml``), else the current directory.  ``.dlt/secrets.toml.example``
lists every setting.  Nothing is read or set at import: the functions below read when called.

The warehouse paths (:class:`WarehouseConfig`): ``--warehouse`` / ``XXGK__WAREHOUSE_PATH`` (relative to
the current directory, as a path typed in a shell is), else ``[xxgk] warehouse_path`` of
``.dlt/config.toml`` (relative to the project directory, where that file is), else
``<project>/warehouse/xxgk.duckdb``; likewise ``dlt_dir`` (dlt's pipeline state, default
``warehouse/.dlt_data``) and ``gx_dir`` (the GX project, default ``warehouse/gx``).  A warehouse
given by argument or environment keeps its dlt and GX state beside it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_DEFAULTS = {"warehouse_path": "warehouse/xxgk.duckdb", "dlt_dir": "warehouse/.dlt_data", "gx_dir": "warehouse/gx"}
# dlt's own settings for xxgk's use of it (the user's environment wins): no telemetry, quiet logs, and the
# merge's scratch copy (stg_staging) emptied after each load (file size).
_DLT_ENVIRONMENT = {
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "RUNTIME__LOG_LEVEL": "WARNING",
    "LOAD__TRUNCATE_STAGING_DATASET": "true",
}
_state: dict[str, Any] = {"project_dir_set": None, "loaded": None}


def project_dir() -> Path:
    """The project directory (see module docstring)."""
    dlt_dir = os.environ.get("DLT_PROJECT_DIR")
    if dlt_dir and dlt_dir != _state["project_dir_set"]:  # the user's, not the one set by _use_project
        return Path(dlt_dir).resolve()
    if os.environ.get("XXGK_PROJECT_DIR"):
        return Path(os.environ["XXGK_PROJECT_DIR"]).resolve()
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file():
        return checkout
    return Path.cwd().resolve()


def _use_project(root: Path | None = None) -> None:
    """Point dlt's configuration at ``root/.dlt`` (default: the project's) before a setting is read.

    dlt reads ``.dlt/`` from ``DLT_PROJECT_DIR`` and caches the TOML files it found; they are read again
    when the directory or one of the files changed since (tests and long-lived processes switch projects).
    """
    root = (root or project_dir()).resolve()
    for key, value in _DLT_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    if os.environ.get("DLT_PROJECT_DIR") in (None, _state["project_dir_set"]):
        os.environ["DLT_PROJECT_DIR"] = _state["project_dir_set"] = str(root)
    files = [Path(os.environ["DLT_PROJECT_DIR"]) / ".dlt" / name for name in ("config.toml", "secrets.toml")]
    stamp = (os.environ["DLT_PROJECT_DIR"], *(f.stat().st_mtime_ns if f.is_file() else None for f in files))
    if _state["loaded"] == stamp:
        return
    from dlt.common.configuration.container import Container
    from dlt.common.configuration.specs.pluggable_run_context import PluggableRunContext

    Container()[PluggableRunContext].reload_providers()
    _state["loaded"] = stamp


def setting(key: str, root: Path | None = None) -> Any:
    """The value of ``key`` (``"xxgk.warehouse_path"``, ``"smtp.host"``) through ``dlt.config``, or None.

    Without importing dlt (~1 s, before a run's first fetch) when its answer is certain: no environment
    variable of the key's form, no settings file but the project's (:func:`_plain_setting`)."""
    plain = _plain_setting(key, root)
    if plain is not _ASK_DLT:
        return plain
    _use_project(root)
    import dlt

    return dlt.config.get(key)


_ASK_DLT = object()


def may_name(words: tuple[str, ...], root: Path | None = None) -> bool:
    """Whether any setting dlt could read mentions one of ``words`` (``"destination_type"`` …): an
    environment variable containing one of them, or a key of that name at any depth of the project's
    ``.dlt/*.toml``.  True also whenever that is not certain without dlt (the cases of
    :func:`_plain_setting`): a False is a promise that dlt would find none of them."""
    names = [w.upper() for w in words]
    if any(n in k for k in os.environ for n in names) or not _plain_case():
        return True

    def has(node: Any) -> bool:
        return isinstance(node, dict) and any(k in words or has(v) for k, v in node.items())

    for file in _project_files(root):
        try:
            if has(tomllib.loads(file.read_text(encoding="utf-8"))):
                return True
        except (OSError, ValueError):
            return True
    return False


def _plain_case() -> bool:
    """No setting outside the project's ``.dlt/`` that dlt would read: its folder name is the default, no
    settings file in dlt's global folders, no ``/run/secrets``."""
    if "DLT_CONFIG_FOLDER" in os.environ or _may_exist(Path("/run/secrets")):
        return False
    home = Path(os.path.expanduser("~"))
    others = [home / ".dlt", Path("/var/dlt"), Path("/tmp/dlt"), Path(os.environ.get("XDG_DATA_HOME", home)) / "dlt"]
    return not any(_may_exist(d / f) for d in others for f in ("config.toml", "secrets.toml"))


def _may_exist(path: Path) -> bool:
    """Whether ``path`` exists, True when that cannot be known: a user who may not look into another's
    home (``/root/.dlt`` as ``nobody``) leaves the answer to dlt."""
    try:
        return path.exists()
    except OSError:
        return True


def _project_files(root: Path | None) -> list[Path]:
    """The project's ``.dlt/secrets.toml`` and ``.dlt/config.toml`` that exist, in dlt's order."""
    user_dir = os.environ.get("DLT_PROJECT_DIR")
    project = Path(user_dir) if user_dir and user_dir != _state["project_dir_set"] else (root or project_dir())
    return [f for f in (project / ".dlt" / "secrets.toml", project / ".dlt" / "config.toml") if f.is_file()]


def _plain_setting(key: str, root: Path | None) -> Any:
    """What ``dlt.config.get(key)`` answers, read without dlt, or :data:`_ASK_DLT` when it is not certain.

    Certain only in the plain case: no environment variable names the key or anything under it
    (``XXGK__FETCH``, ``XXGK__FETCH__…``), dlt's settings folder has its default name, no settings file
    exists outside the project's ``.dlt/`` (dlt's global folders) and no ``/run/secrets``; then the
    answer is None when neither ``.dlt/secrets.toml`` nor ``.dlt/config.toml`` has the key, and the
    value when exactly one of them has it as a plain value (text, number, true/false)."""
    name = key.upper().replace(".", "__")
    if any(k == name or k.startswith(name + "__") for k in os.environ) or not _plain_case():
        return _ASK_DLT
    found = []
    for file in _project_files(root):
        try:
            node: Any = tomllib.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return _ASK_DLT  # dlt says what is wrong with the file
        for part in key.split("."):
            node = node.get(part, _ASK_DLT) if isinstance(node, dict) else _ASK_DLT
        if node is not _ASK_DLT:
            found.append(node)
    if not found:
        return None
    if len(found) == 1 and isinstance(found[0], str | int | float | bool):
        return found[0]
    return _ASK_DLT


def secret(key: str, root: Path | None = None) -> Any:
    """The value of the secret ``key`` (``"smtp.password"``) through ``dlt.secrets``, or None."""
    _use_project(root)
    import dlt

    return dlt.secrets.get(key)


def section(name: str, root: Path | None = None) -> dict[str, Any]:
    """All keys of a settings section (``"xxgk.limits"``) through ``dlt.config``: the TOML table, and the
    environment's ``XXGK__LIMITS__<KEY>`` for every key the table or the environment names."""
    value = setting(name, root)
    values = dict(value) if isinstance(value, dict) else {}
    prefix = name.upper().replace(".", "__") + "__"
    keys = set(values) | {k[len(prefix) :].lower() for k in os.environ if k.startswith(prefix)}
    for key in keys:
        resolved = setting(f"{name}.{key}", root)
        if resolved is not None:
            values[key] = resolved
    return values


def default_registry() -> Path:
    """The agency registry used when none is given: ``[xxgk] sources`` (``XXGK__SOURCES``; ``XXGK_SOURCES`` as
    before), else ``<project>/agencies.toml``."""
    if os.environ.get("XXGK_SOURCES"):
        return Path(os.environ["XXGK_SOURCES"]).expanduser().absolute()
    value = setting("xxgk.sources")
    if value:
        return _absolute(value, from_environment="XXGK__SOURCES" in os.environ)
    return project_dir() / "agencies.toml"


def registry_configured() -> bool:
    """Whether a registry was named in the settings (else the default ``agencies.toml`` is only used if present)."""
    return bool(os.environ.get("XXGK_SOURCES") or setting("xxgk.sources"))


def _absolute(value: str | Path, *, from_environment: bool) -> Path:
    """``value`` as an absolute path: relative to the current directory when typed (argument, environment),
    to the project directory when written in ``.dlt/config.toml``."""
    path = Path(value).expanduser()
    if path.is_absolute():
        return path
    return (Path.cwd() if from_environment else project_dir()) / path


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

        When the warehouse file is given (argument or environment), dlt and GX state go next to it
        (``.dlt_data``, ``gx`` siblings) so that a warehouse in another directory is self-contained.
        """

        def pick(name: str, explicit: str | Path | None, sibling: Path | None) -> Path:
            if explicit is not None:
                return _absolute(explicit, from_environment=True).resolve()
            value = setting(f"xxgk.{name}")
            from_env = f"XXGK__{name.upper()}" in os.environ
            if value and (from_env or sibling is None):
                return _absolute(str(value), from_environment=from_env).resolve()
            if sibling is not None:
                return sibling.resolve()
            return (project_dir() / _DEFAULTS[name]).resolve()

        db = pick("warehouse_path", db_path, None)
        own_dir = db_path is not None or bool(os.environ.get("XXGK__WAREHOUSE_PATH"))
        return cls(
            db_path=db,
            dlt_dir=pick("dlt_dir", dlt_dir, db.parent / ".dlt_data" if own_dir else None),
            gx_dir=pick("gx_dir", gx_dir, db.parent / "gx" if own_dir else None),
        )

    @property
    def data_docs_index(self) -> Path:
        """The GX Data Docs entry page (written by each validation run)."""
        return self.gx_dir / "uncommitted" / "data_docs" / "local_site" / "index.html"


def prepare_environment(cfg: WarehouseConfig) -> None:
    """Point dlt at the project's settings and its state at ``cfg`` (never /var/dlt or ~/.dlt), before a
    pipeline is made."""
    os.environ.setdefault("DLT_DATA_DIR", str(cfg.dlt_dir))
    _use_project()
