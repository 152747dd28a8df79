"""The year run's look-up of documents the warehouse already decided, over one connection."""

from __future__ import annotations

from flows.bench.bench import synthetic_batch
from flows.ingest import KnownVersions, ingest_documents, known_versions
from warehouse.config import WarehouseConfig


def test_one_connection_answers_every_look_up_as_a_fresh_one_would(tmp_path):
    cfg = WarehouseConfig.resolve(tmp_path / "wh.duckdb")
    docs = synthetic_batch(3)
    shas = [d["source"]["sha256"] for d in docs]
    lookup = KnownVersions(cfg)
    assert lookup(shas) == {}  # no warehouse yet: nothing known, nothing created
    assert not cfg.db_path.exists()

    ingest_documents(docs[:2], warehouse=cfg, data_docs=False)
    found = lookup(shas[:1])
    assert set(found) == {shas[0]} and found[shas[0]]["state"] == "promoted"
    assert lookup(shas) == known_versions(cfg, shas)  # the same rows as a look-up of its own
    assert set(lookup(shas)) == set(shas[:2])
    lookup.close()
    lookup.close()  # twice is harmless

    ingest_documents(docs[2:], warehouse=cfg, data_docs=False)  # the warehouse is writable once closed
    assert set(lookup(shas)) == set(shas)
    lookup.close()
