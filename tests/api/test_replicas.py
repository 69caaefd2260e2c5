"""Two `jinef serve` replicas (separate processes, as on separate hosts: each its own state folder and read image)
against one PostgreSQL registry: a change made through one is answered by the other within 2 s, an
organisation's quota and the match hub's enumeration limit hold for the sum of both, and both replicas' calls
land in the one service store in PostgreSQL."""

from __future__ import annotations

import base64
import os
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass

import httpx
import pytest
from typer.testing import CliRunner

from jinef.api.servicedb import open_store
from jinef.cli.main import app as cli_app
from jinef.common.config import RegistryLocation
from jinef.read.registry.registry import Registry
from jinef.read.verify import national_code as ncode
from jinef.read.verify import open_verify_store
from jinef.write.ingest.generate import generate
from jinef.write.refdata.boundaries import Boundaries
from jinef.write.refdata.divisions import Divisions
from jinef.write.stats.plans import PlanStore
from jinef.write.store.open import open_writer
from jinef.write.store.postgres.writer import swap_previous
from tests.api.conftest import running_serve
from tests.conftest import LIVING_SEED, build_registry, pg_location
from tests.living.conftest import city_building, parts_beside

SECONDS = 2.0
UNITS = 500  # enough for a city building with two streets; the registry is built for this module alone


@dataclass
class Replicas:
    """The registry, the two replicas' URLs and the keys made for the tests."""

    registry: str
    a: str
    b: str
    writer: str  # registry_write, registry_read, lookup
    bank: str  # match


def cli(*args: str) -> tuple[int, str]:
    """`jinef ARGS` in this process."""
    result = CliRunner().invoke(cli_app, list(args))
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def replicas(pg_dsn: str, divisions: Divisions, boundaries: Boundaries,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    """A new PostgreSQL registry served by two replicas started together; the second host fetched the read image
    (a copy of the folder the build compiled, as a deployment copies it to each host)."""
    registry = str(build_registry(pg_location(pg_dsn, "replicas"), UNITS, LIVING_SEED, divisions, boundaries))
    image = RegistryLocation.of(registry).image_root
    host_b = tmp_path_factory.mktemp("host-b")
    shutil.copytree(image, host_b / "images" / image.name, symlinks=True)
    store = open_store(RegistryLocation.of(registry).service_target)  # the default: shared, in PostgreSQL
    writer = store.create_key("post-office", ["registry_write", "registry_read", "lookup"], None)[1]
    bank = store.create_key("bank-melli", ["match"], None)[1]
    store.close()
    # The hub's key ring, the same on every host (from a secret store; here the environment).
    ring = "1:" + base64.b64encode(os.urandom(32)).decode()
    hosts = [running_serve("--db", registry, env={"JINEF_VERIFY_KEY": ring}),
             running_serve("--db", registry, env={"JINEF_VERIFY_KEY": ring, "JINEF_STATE_DIR": str(host_b)})]
    with ExitStack() as stack, ThreadPoolExecutor(2) as pool:
        starts = [pool.submit(host.__enter__) for host in hosts]
        for host, start in zip(hosts, starts, strict=True):
            if start.exception() is None:  # stop every replica that started, whatever happens next
                stack.push(host.__exit__)
        a, b = (start.result() for start in starts)  # a failed start fails the fixture with its output
        yield Replicas(registry, a, b, writer, bank)


def test_a_change_through_one_replica_is_answered_by_the_other_within_2_s(replicas: Replicas) -> None:
    headers = {"X-API-Key": replicas.writer}
    beside = city_building(replicas.registry)
    body = {**parts_beside(beside, plate="7071"), "units": [{"floor": 1, "unit": "1"}], "reason": "new_building"}
    created = httpx.post(f"{replicas.a}/v1/buildings", json=body, headers=headers, timeout=30)
    at = time.monotonic()
    assert created.status_code == 201, created.text
    (postcode,) = created.json()["postcodes"]
    while True:
        r = httpx.get(f"{replicas.b}/v1/postcodes/{postcode}", headers=headers, timeout=30)
        if r.status_code == 200:
            break
        assert r.status_code == 404, r.text
        assert time.monotonic() - at < SECONDS, "replica B still does not know a postcode made through A"
        time.sleep(0.05)
    assert r.json()["status"] == "active" and r.json()["address"]["plate"] == "7071"
    assert r.headers["x-jinef-worker"] != created.headers["x-jinef-worker"]  # another process answered


def test_an_organisations_quota_holds_across_both_replicas(replicas: Replicas) -> None:
    # `jinef keys` against the PostgreSQL registry: the key lands in the store both replicas read.
    code, out = cli("keys", "create", "--db", replicas.registry, "--org", "metered", "--scopes", "lookup",
                    "--rate", "1/s")
    assert code == 0, out
    headers = {"X-API-Key": out.split()[0]}
    # One call to each replica: each alone is within 1/s, the two together are not.
    first = httpx.get(f"{replicas.a}/v1/postcodes/1111300003/validate", headers=headers)
    second = httpx.get(f"{replicas.b}/v1/postcodes/1111300003/validate", headers=headers)
    assert first.status_code == 200, first.text
    assert second.status_code == 429 and second.json()["error"]["code"] == "rate_limited"
    time.sleep(int(second.headers["Retry-After"]))
    assert httpx.get(f"{replicas.b}/v1/postcodes/1111300003/validate", headers=headers).status_code == 200


def test_the_enumeration_limit_holds_across_both_replicas(replicas: Replicas) -> None:
    with Registry.open(replicas.registry) as reg:
        postcode = next(iter(reg.addresses())).postcode
    codes = [ncode.complete(f"{n:09d}") for n in range(200000001, 200000013)]
    headers = {"X-API-Key": replicas.bank}

    def match(url: str, code: str) -> httpx.Response:
        return httpx.post(f"{url}/v1/match", headers=headers, timeout=30,
                          json={"national_code": code, "postcode": postcode, "purpose": "banking_kyc"})

    # Ten distinct codes about one postcode (the hub's limit per organisation), five through each replica.
    assert [match(replicas.a if i % 2 else replicas.b, c).status_code for i, c in enumerate(codes[:10])] == [200] * 10
    refused = match(replicas.a, codes[10])
    assert refused.status_code == 429 and refused.json()["error"]["code"] == "enumeration_suspected"
    # The block raised through A holds on B, even for a pair asked before.
    again = match(replicas.b, codes[0])
    assert again.status_code == 429 and again.json()["error"]["code"] == "enumeration_suspected"
    code, out = cli("verify", "alerts", "--db", replicas.registry, "--json")
    assert code == 0 and '.bank-melli"' in out and codes[10] not in out


def test_both_replicas_audit_into_the_one_service_store(replicas: Replicas) -> None:
    headers = {"X-API-Key": replicas.writer}
    ids = [httpx.get(f"{url}/v1/postcodes/1111300003/validate", headers=headers).headers["X-Request-ID"]
           for url in (replicas.a, replicas.b, replicas.a, replicas.b)]
    store = open_store(RegistryLocation.of(replicas.registry).service_target)
    try:
        records = {r.request_id: r for r in store.tail_audit(200, org="post-office")}
    finally:
        store.close()
    assert set(ids) <= set(records)  # committed before each answer left
    assert len({records[i].worker for i in ids}) == 2
    code, out = cli("audit", "tail", "--db", replicas.registry, "-n", "4", "--org", "post-office")
    assert code == 0 and all(i in out for i in ids)
    code, out = cli("audit", "verify", "--db", replicas.registry, "--json")
    assert code == 0 and '"ok": true' in out


def test_a_replace_and_a_rollback_leave_the_shared_state_alone(pg_dsn: str, divisions: Divisions,
                                                               boundaries: Boundaries) -> None:
    """The service, hub and dashboard schemas sit beside the registry's: a replacing build (live → _previous) and a
    rollback (swapping them back) never rename or drop them."""
    location = pg_location(pg_dsn, "swaps")
    writer = open_writer(location)
    generate(writer, n_units=30, seed=1, divisions=divisions, boundaries=boundaries)
    writer.commit()
    where = RegistryLocation.of(location)
    store = open_store(where.service_target)
    key = store.create_key("bank", ["lookup"], None)[1]
    store.close()
    hub = open_verify_store(where.verify_target)
    hub.init_keys(1, {1: "check"})
    hub.close()
    with PlanStore(where.dashboard_target) as plans:
        plans.set_plan("23", "units", 10, "1406-12-29")
    writer = open_writer(location)
    generate(writer, n_units=30, seed=2, divisions=divisions, boundaries=boundaries)
    writer.commit()
    swap_previous(location)
    store = open_store(where.service_target)
    hub = open_verify_store(where.verify_target)
    try:
        assert store.find_principal(key) is not None and hub.key_state() == (1, {1: "check"})
    finally:
        store.close()
        hub.close()
    with PlanStore(where.dashboard_target) as plans:
        assert [(p.province_code, p.target) for p in plans.plans()] == [("23", 10.0)]


def test_the_dashboard_and_plans_are_the_same_through_either_replica(replicas: Replicas) -> None:
    """The figures read the shared hub and service schemas, and a plan set or a snapshot taken through one replica
    is in the other's answers: the provinces' offices see one dashboard whichever host answers."""
    code, out = cli("keys", "create", "--db", replicas.registry, "--org", "ostandari", "--scopes", "stats,plans")
    assert code == 0, out
    office = {"X-API-Key": out.split()[0]}
    with Registry.open(replicas.registry) as reg:
        postcode = next(iter(reg.addresses())).postcode
    looked = httpx.get(f"{replicas.a}/v1/postcodes/{postcode}", headers={"X-API-Key": replicas.writer})
    assert looked.status_code == 200, looked.text
    board = httpx.get(f"{replicas.b}/v1/stats/provinces", headers=office, timeout=30)
    assert board.status_code == 200, board.text
    served = {row["org"]: row for row in board.json()["served"]}
    assert served["post-office"]["lookups"] >= 1  # a call answered by A, counted in B's figures
    province = next(p for p in board.json()["provinces"] if p["units"])
    assert province["verified_share"] is not None and province["open_requests"] is not None  # the hub is there
    plan = httpx.post(f"{replicas.a}/v1/plans", headers=office, timeout=30,
                      json={"province": province["code"], "measure": "units", "target": 1000,
                            "deadline": "1406-12-29"})
    assert plan.status_code == 201, plan.text
    shot = httpx.post(f"{replicas.b}/v1/stats/snapshots", headers=office, timeout=30)
    assert shot.status_code == 201, shot.text
    plans = httpx.get(f"{replicas.a}/v1/plans", headers=office, timeout=30).json()["plans"]
    mine = next(p for p in plans if p["id"] == plan.json()["id"])
    assert [point["snapshot"] for point in mine["trajectory"]] == [shot.json()["snapshot"]]
    assert mine["latest"] == province["units"]
