"""`jinef serve`: the national address service over HTTP (FastAPI on uvicorn)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import psycopg
import typer

from jinef.api.servicedb import open_store
from jinef.cli.index_cmd import compile_or_fail, image_is_current
from jinef.cli.language import shown
from jinef.cli.options import DbOption
from jinef.cli.output import console, fail, reason
from jinef.cli.verify import refusal
from jinef.common.config import (
    DEFAULT_BODY_TIMEOUT,
    DEFAULT_HEADER_TIMEOUT,
    DEFAULT_MAX_CONNS_PER_CLIENT,
    RegistryLocation,
    store_target,
)
from jinef.common.messages import message
from jinef.common.settings import settings
from jinef.read.certificates.keys import CertificateKeys
from jinef.read.verify import VerifyError, load_ring, open_verify_store
from jinef.write.store.base import RegistryNotFoundError


def serve(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
    db: DbOption = None,
    workers: Annotated[int, typer.Option("--workers", min=1, help="Worker processes.")] = 1,
    service_db: Annotated[str | None, typer.Option(
        "--service-db", help="Service database: a file or a postgresql://…?schema=… URL (default: beside a file "
        "registry, <stem>.service.sqlite; schema <schema>_service of a PostgreSQL registry's database).")] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn log level.")] = "warning",
    warm: Annotated[bool | None, typer.Option(
        "--warm/--lazy", help="Make every answering structure and read the image into the page cache at startup, "
        "in the background (default: the warm setting, else on first use).")] = None,
    verify_db: Annotated[str | None, typer.Option(
        "--verify-db", help="Verification hub database: a file or a postgresql://…?schema=… URL (default: beside a "
        "file registry, <stem>.verify.sqlite; schema <schema>_verify of a PostgreSQL registry's database).")] = None,
    sms_gateway: Annotated[str | None, typer.Option(
        "--sms-gateway", envvar="JINEF_SMS_GATEWAY_URL",
        help="The operator's SMS endpoint (JSON POST; bearer token from $JINEF_SMS_GATEWAY_TOKEN).")] = None,
    dev_sms_outbox: Annotated[bool, typer.Option(
        "--dev-sms-outbox", envvar="JINEF_DEV_SMS_OUTBOX",
        help="Development only: texts go to the hub's outbox table (sealed; read with `jinef outbox`). Without "
             "this or --sms-gateway, verification requests and citizen codes are refused (503 sms_unavailable).",
    )] = False,
    header_timeout: Annotated[float, typer.Option(
        "--header-timeout", envvar="JINEF_HEADER_TIMEOUT", min=0,
        help="Seconds a request's line and headers may take to arrive (then 408 and close; 0: no limit).",
    )] = DEFAULT_HEADER_TIMEOUT,
    body_timeout: Annotated[float, typer.Option(
        "--body-timeout", envvar="JINEF_BODY_TIMEOUT", min=0,
        help="Seconds a request's body may take to arrive after its headers (then the connection is closed).",
    )] = DEFAULT_BODY_TIMEOUT,
    max_conns_per_client: Annotated[int, typer.Option(
        "--max-conns-per-client", envvar="JINEF_MAX_CONNS_PER_CLIENT", min=0,
        help="Open connections one client address may hold per worker (one more: 429 and close; 0: no cap). "
             "Behind a reverse proxy every client has the proxy's address: cap there, and use 0 here.",
    )] = DEFAULT_MAX_CONNS_PER_CLIENT,
    fold_every: Annotated[float, typer.Option(
        "--fold-every", envvar="JINEF_FOLD_EVERY", min=0,
        help="Seconds between folding the registry's edits into a new read image (`jinef index --if-stale`, in a "
             "process of its own) when there are any; workers switch to it between requests (0: never — run "
             "`jinef index` yourself).",
    )] = 0,
    snapshot_every: Annotated[float, typer.Option(
        "--snapshot-every", envvar="JINEF_SNAPSHOT_EVERY", min=0,
        help="Seconds between dated snapshots of the dashboard's measures (`jinef stats snapshot`, in a process of "
             "its own), the points of the provinces' plans' trajectories (0: never — take them yourself).",
    )] = 0,
    max_connections: Annotated[int | None, typer.Option(
        "--max-connections", envvar="JINEF_MAX_CONNECTIONS", min=1,
        help="Connections and requests a worker serves at once (uvicorn's limit_concurrency; beyond: 503).",
    )] = None,
) -> None:
    """Serve the REST API v1, verification and the GNAF-compatible endpoints (OpenAPI at /openapi.json)."""
    import uvicorn

    location = RegistryLocation.of(db)
    if not location.exists():
        fail(message("cli.registry.missing", where=location.describe()))
    try:
        if not image_is_current(location, with_changes=False):
            # Workers answer only from the read image: make it now rather than have each worker wait for one.
            console.print(shown(message("cli.serve.compiling", where=location.describe())), markup=False)
            compile_or_fail(location)
    except RegistryNotFoundError as exc:
        fail(reason(exc))
    # Workers are separate processes: they find their paths in the environment (uvicorn factory mode).
    if not location.is_postgres:
        location = RegistryLocation(str(location.path.resolve()))
    os.environ["JINEF_DB"] = location.target
    os.environ["JINEF_IMAGE_DIR"] = str(location.image_root.resolve())
    configured = settings()  # options win over the settings (environment, then the --config file)
    service_db, verify_db = service_db or configured.service_db, verify_db or configured.verify_db
    # Replicas of a PostgreSQL registry share their service state and hub in its database (see docs/deployment.md).
    svc_target = _absolute(store_target(service_db, location.service_target))
    hub_target = _absolute(store_target(verify_db, location.verify_target))
    os.environ["JINEF_SERVICE_DB"] = str(svc_target)
    os.environ["JINEF_WARM"] = "1" if (configured.warm if warm is None else warm) else "0"
    os.environ["JINEF_VERIFY_DB"] = str(hub_target)
    if sms_gateway and dev_sms_outbox:
        fail(message("cli.sms.both"))
    os.environ["JINEF_SMS_GATEWAY_URL"] = sms_gateway or ""
    os.environ["JINEF_DEV_SMS_OUTBOX"] = "1" if dev_sms_outbox else "0"
    # Read by jinef.api.slow_clients in each worker (fresh processes that import the protocol by name).
    os.environ["JINEF_HEADER_TIMEOUT"] = str(header_timeout)
    os.environ["JINEF_BODY_TIMEOUT"] = str(body_timeout)
    os.environ["JINEF_MAX_CONNS_PER_CLIENT"] = str(max_conns_per_client)
    try:
        open_store(svc_target).close()  # its tables, once (and a clear stop when its database cannot be reached)
        # Create the hub's tables and key ring once, here: two workers starting together must not each
        # generate a different key. A hub already keyed (by another replica) is never given a new ring.
        hub = open_verify_store(hub_target)
        try:
            keyed = hub.key_state()[0] > 0
        finally:
            hub.close()
        load_ring(configured.verify_key_file, db_path=hub_target, create=not keyed)
        CertificateKeys.open(location.certificate_keys, create=True)  # likewise the certificate signing key
    except VerifyError as exc:
        fail(refusal(exc))
    except (OSError, psycopg.Error) as exc:
        fail(f"cannot open the service's state: {exc}")
    if fold_every > 0:
        # Edits folded into a new image only when there are any since the current one.
        threading.Thread(target=_every, args=(fold_every, ["index", "--db", location.target, "--if-stale"],
                                              lambda: not image_is_current(location)),
                         name="jinef-fold", daemon=True).start()
    if snapshot_every > 0:
        threading.Thread(target=_every, args=(snapshot_every, ["stats", "snapshot", "--db", location.target,
                                                                  "--service-db", str(svc_target),
                                                                  "--verify-db", str(hub_target)]),
                         name="jinef-snapshot", daemon=True).start()
    uvicorn.run("jinef.api.app:app_from_env", factory=True, host=host, port=port, workers=workers,
                log_level=log_level, access_log=False, timeout_graceful_shutdown=30,
                # Clients keep connections for batches of calls; 5 s (the default) races with busy clients.
                timeout_keep_alive=30,
                # uvicorn's httptools protocol with deadlines for slow headers and bodies and a cap per client.
                http="jinef.api.slow_clients:GuardedHttpToolsProtocol", limit_concurrency=max_connections)


def _absolute(target: str | Path) -> str | Path:
    """A file made absolute (workers may start elsewhere); a URL as it is."""
    return target.resolve() if isinstance(target, Path) else target


def _every(seconds: float, command: list[str], when: Callable[[], bool] = lambda: True) -> None:
    """Run ``jinef COMMAND`` in a process of its own every ``seconds`` (when ``when()`` says so), forever."""
    while True:
        time.sleep(seconds)
        try:
            if not when():
                continue
        except Exception:  # the registry being replaced: try again next time
            continue
        subprocess.run([sys.executable, "-m", "jinef.cli.main", *command], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)


def register(app: typer.Typer) -> None:
    """Attach `jinef serve`."""
    app.command()(serve)
