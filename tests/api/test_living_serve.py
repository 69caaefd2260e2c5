"""The living registry over HTTP on a real `jinef serve` with 2 workers, on both engines: concurrent clients get
unique valid postcodes, every worker answers each new postcode within 2 s of its 201, the feed lists every change
once in order, and a retired postcode shows its history and is never issued again."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from jinef.api.servicedb import open_store
from jinef.model.postcode import is_valid
from jinef.read.registry.registry import Registry
from jinef.write.stats import provinces
from jinef.write.stats.plans import PlanStore, dashboard_db_beside
from tests.api.conftest import running_serve
from tests.living.conftest import city_building, parts_beside

CLIENTS = 20
SECONDS = 2.0


@pytest.fixture
def living_server(editable: Path | str, tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """`jinef serve --workers 2` on an editable registry; (url, writer key, lookup-only key)."""
    store = open_store(tmp_path / "svc.sqlite")
    writer = store.create_key("post-office", ["registry_write", "registry_read", "lookup"], None)[1]
    reader = store.create_key("bank", ["lookup"], None)[1]
    store.close()
    with running_serve("--db", str(editable), "--service-db", str(tmp_path / "svc.sqlite"), "--verify-db",
                       str(tmp_path / "hub.sqlite"), "--workers", "2") as url:
        yield url, writer, reader


def _until_every_worker_answers(url: str, key: str, postcode: str, created: float,
                                want: str = "active") -> dict[str, float]:
    """Ask on new connections until both workers have answered ``postcode`` with status ``want``; each worker's
    delay after ``created``. A worker that still does not know it 2 s after ``created`` fails the test."""
    seen: dict[str, float] = {}
    while len(seen) < 2:
        r = httpx.get(f"{url}/v1/postcodes/{postcode}", headers={"X-API-Key": key})
        now = time.monotonic()
        worker = r.headers["x-jinef-worker"]
        if r.status_code == 200 and r.json()["status"] == want:
            seen.setdefault(worker, now - created)
        else:
            assert now - created < SECONDS, f"worker {worker} still answers {r.status_code} {r.text[:200]}"
        assert now - created < 30, f"only workers {sorted(seen)} were reached"
    return seen


def test_concurrent_clients_get_unique_postcodes_answered_by_every_worker(
        editable: Path | str, living_server: tuple[str, str, str]) -> None:
    url, key, lookup_only = living_server
    a = city_building(editable)
    headers = {"X-API-Key": key}
    start = httpx.get(f"{url}/v1/changes", params={"since": 0}, headers=headers).json()["next"]
    results: list[tuple[float, dict[str, object]]] = []
    failures: list[str] = []

    def client(i: int) -> None:
        body = {**parts_beside(a, plate=f"{700 + i}"), "units": [{"floor": f, "unit": str(f)} for f in (1, 2)],
                "reason": "new_building"}
        r = httpx.post(f"{url}/v1/buildings", json=body, headers=headers, timeout=30)
        if r.status_code != 201:
            failures.append(r.text)
        else:
            results.append((time.monotonic(), r.json()))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    codes = [p for _, body in results for p in body["postcodes"]]  # type: ignore[attr-defined]
    assert len(codes) == 2 * CLIENTS and len(set(codes)) == len(codes) and all(map(is_valid, codes))
    workers: set[str] = set()
    for created, body in results:
        for p in body["postcodes"]:  # type: ignore[attr-defined]
            workers |= set(_until_every_worker_answers(url, key, p, created))
    assert len(workers) == 2
    feed = httpx.get(f"{url}/v1/changes", params={"since": start, "limit": 1000}, headers=headers).json()
    assert [c["seq"] for c in feed["changes"]] == list(range(start + 1, start + 1 + len(codes)))
    assert sorted(c["postcode"] for c in feed["changes"]) == sorted(codes)
    assert feed["next"] == start + len(codes)
    again = httpx.get(f"{url}/v1/changes", params={"since": feed["next"]}, headers=headers).json()
    assert again["changes"] == [] and again["next"] == feed["next"]
    # A key without the write scope may read but not write.
    refused = httpx.post(f"{url}/v1/buildings", json={**parts_beside(a), "units": [{"unit": "1"}]},
                         headers={"X-API-Key": lookup_only})
    assert refused.status_code == 403


def test_a_retired_postcode_keeps_its_history_and_is_never_reissued(
        editable: Path | str, living_server: tuple[str, str, str]) -> None:
    url, key, _ = living_server
    a = city_building(editable)
    headers = {"X-API-Key": key}
    created = httpx.post(f"{url}/v1/buildings", headers=headers,
                         json={**parts_beside(a), "units": [{"floor": 1, "unit": "1", "usage": "مسکونی"}]})
    assert created.status_code == 201, created.text
    building, (postcode,) = created.json()["building_id"], created.json()["postcodes"]
    patched = httpx.patch(f"{url}/v1/postcodes/{postcode}", headers=headers,
                          json={"usage": "تجاری", "reason": "change_of_use"})
    assert patched.status_code == 200, patched.text
    retired = httpx.post(f"{url}/v1/postcodes/{postcode}/retire", headers=headers, json={"reason": "demolished"})
    assert retired.status_code == 200, retired.text
    _until_every_worker_answers(url, key, postcode, time.monotonic(), want="retired")
    history = httpx.get(f"{url}/v1/postcodes/{postcode}/history", headers=headers).json()
    assert [v["kind"] for v in history["versions"]] == ["create", "update", "retire"]
    assert history["versions"][1]["address"]["usage"] == "commercial"
    assert history["versions"][2]["reason"] == "demolished" and history["versions"][2]["org"] == "post-office"
    assert history["versions"][0]["valid_to"] == history["versions"][1]["valid_from"]
    twice = httpx.post(f"{url}/v1/postcodes/{postcode}/retire", headers=headers, json={"reason": "demolished"})
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "retired"
    more = httpx.post(f"{url}/v1/buildings/{building}/units", headers=headers,
                      json={"units": [{"unit": str(i)} for i in range(30)]})
    assert more.status_code == 201, more.text
    assert postcode not in more.json()["postcodes"] and len(set(more.json()["postcodes"])) == 30
    bad = httpx.post(f"{url}/v1/buildings", headers=headers,
                     json={**parts_beside(a, locality="ناکجاآباد"), "units": [{"unit": "1"}]})
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert error["code"] == "unknown_value" and error["field"] == "locality"
    assert "ناکجاآباد" in error["message_fa"]
    bad_fa = httpx.post(f"{url}/v1/buildings", headers={**headers, "Accept-Language": "fa"},
                        json={**parts_beside(a, locality="ناکجاآباد"), "units": [{"unit": "1"}]})
    assert bad_fa.status_code == 422 and bad_fa.json()["error"]["code"] == "unknown_value"
    assert bad_fa.json()["error"]["message"] == error["message_fa"] and error["message"] != error["message_fa"]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_serve_folds_the_edits_into_a_new_image(editable: Path | str, tmp_path: Path) -> None:
    """`jinef serve --fold-every` compiles a new image once edits were made; the workers switch to it and still
    answer the new postcode, now from the image itself."""
    store = open_store(tmp_path / "svc.sqlite")
    key = store.create_key("post-office", ["registry_write", "lookup"], None)[1]
    store.close()
    a = city_building(editable)
    with running_serve("--db", str(editable), "--service-db", str(tmp_path / "svc.sqlite"), "--verify-db",
                       str(tmp_path / "hub.sqlite"), "--fold-every", "1") as url:
        before = httpx.get(f"{url}/healthz").json()["generation"]
        r = httpx.post(f"{url}/v1/buildings", headers={"X-API-Key": key},
                       json={**parts_beside(a), "units": [{"unit": "1"}]})
        assert r.status_code == 201, r.text
        deadline = time.monotonic() + 60
        while (health := httpx.get(f"{url}/healthz").json())["generation"] == before:
            assert time.monotonic() < deadline, "no new image within 60 s"
            time.sleep(0.5)
        assert health["change_seq"] == r.json()["change_seq"]
        got = httpx.get(f"{url}/v1/postcodes/{r.json()['postcodes'][0]}", headers={"X-API-Key": key})
        assert got.status_code == 200
    with Registry.open(editable) as reg:  # the image alone answers it now
        assert reg.overlay.seq == r.json()["change_seq"] and reg.lookup(r.json()["postcodes"][0]) is not None


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_serve_takes_dashboard_snapshots_on_a_schedule(editable: Path | str, tmp_path: Path) -> None:
    """`jinef serve --snapshot-every` keeps dated snapshots of the measures: a plan's trajectory grows."""
    code = next(iter(provinces(editable)))
    svc = tmp_path / "svc.sqlite"
    beside = dashboard_db_beside(svc)  # with the serve's service database: where its /v1/plans reads them
    with PlanStore(beside) as plans:
        plans.set_plan(code, "units", 10_000, "1406-12-29")
    with running_serve("--db", str(editable), "--service-db", str(svc), "--verify-db",
                       str(tmp_path / "hub.sqlite"), "--snapshot-every", "1"):
        deadline = time.monotonic() + 60
        while True:
            with PlanStore(beside) as plans:
                points = plans.trajectory("province", code, "units")
            if len(points) >= 2:
                break
            assert time.monotonic() < deadline, f"{len(points)} snapshots in 60 s"
            time.sleep(0.5)
