"""Suite-wide pytest configuration (helpers shared by tests live in plain modules: refdata, factory)."""

from refdata import ROOT, SHARED, shared_dir  # noqa: F401 - re-exported for older imports

from flows import settings

settings.configure()  # the project's Prefect settings (PREFECT_HOME …), before any test imports prefect
