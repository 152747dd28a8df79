"""The local API server skips its database set-up once this Prefect version did it on this database."""

from __future__ import annotations

import json

from flows import settings


def test_set_up_is_skipped_only_on_the_same_database_and_prefect_version(tmp_path, monkeypatch):
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    monkeypatch.delenv("PREFECT_API_DATABASE_CONNECTION_URL", raising=False)
    skip = {"PREFECT_API_DATABASE_MIGRATE_ON_START": "false", "PREFECT_API_BLOCKS_REGISTER_ON_START": "false"}
    assert settings.server_start_settings() == {"PY_KEY_VALUE_DISABLE_BEARTYPE": "true"}  # never started here

    settings.remember_server_start()
    assert settings.server_start_settings().keys().isdisjoint(skip)  # the database file is gone: set it up again
    (tmp_path / "prefect.db").write_bytes(b"")
    assert settings.server_start_settings().items() >= skip.items()

    mark = tmp_path / "xxgk-server-setup.json"
    mark.write_text(json.dumps({**json.loads(mark.read_text()), "prefect": "3.0.0"}))  # another Prefect: migrate
    assert settings.server_start_settings().keys().isdisjoint(skip)
    mark.write_text("{")  # a damaged mark: set up as on a first start
    assert settings.server_start_settings().keys().isdisjoint(skip)

    settings.remember_server_start()
    monkeypatch.setenv("PREFECT_API_DATABASE_CONNECTION_URL", "postgresql+asyncpg://h/db")  # another database
    assert settings.server_start_settings().keys().isdisjoint(skip)
