"""`jinef stats [provinces|counties|snapshot]` and `jinef plans set|list`: the provinces' dashboard on the command
line, a thin adapter on :mod:`jinef.write.stats`."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from jinef.cli.language import shown
from jinef.cli.options import DbOption, JsonOption, ServiceDbOption, VerifyDbOption
from jinef.cli.output import fail, headings, print_json, reason, stdout_console
from jinef.cli.registry_cmds import stats as counts
from jinef.common.config import RegistryLocation, RegistryNotFoundError, dashboard_beside, store_target
from jinef.common.messages import message
from jinef.write.stats import compute_dashboard, province_code, provinces
from jinef.write.stats.compute import Area
from jinef.write.stats.measures import PLANNABLE_KEYS, SCALAR_KEYS
from jinef.write.stats.plans import PlanStore, dashboard_db_path

stats_app = typer.Typer(help="Per-province counts; the dashboard's measures and their dated snapshots.",
                        invoke_without_command=True)
plans_app = typer.Typer(help="Provinces' operational plans: targets with Solar Hijri deadlines.",
                        no_args_is_help=True)
DashboardDbOption = Annotated[str | None, typer.Option(
    "--dashboard-db", help="Plans and snapshots: a file or a postgresql://…?schema=… URL (default: beside the "
                           "service database).")]


def _plans(db: str | None, dashboard_db: str | None, service_db: str | None = None) -> PlanStore:
    if dashboard_db:
        return PlanStore(store_target(dashboard_db, ""))
    # Beside the service state the serving replicas use, so their plans pages show what the offices set here.
    return PlanStore(dashboard_beside(store_target(service_db, "")) if service_db else dashboard_db_path(db))


def _fmt(key: str, v: Any) -> str:
    if v is None:
        return "—"
    if key.endswith("_share"):
        return f"{v:.1%}"
    if isinstance(v, float) and not v.is_integer():
        return f"{v:,.1f}"
    return f"{int(v):,}"


def _table(areas: list[Area], title: str) -> None:
    t = Table(*headings("code", "name"), *SCALAR_KEYS, title=title)  # the measures by their keys
    for a in areas:
        t.add_row(a.code, a.name, *(_fmt(k, a.values.get(k)) for k in SCALAR_KEYS))
    stdout_console().print(t)


@stats_app.callback()
def stats(ctx: typer.Context, db: DbOption = None, json_out: JsonOption = False) -> None:
    """Per-province counts (alone); `provinces`, `counties` and `snapshot` for the dashboard's measures."""
    if ctx.invoked_subcommand is None:
        counts(db, json_out)


@stats_app.command("provinces")
def stats_provinces(db: DbOption = None, service_db: ServiceDbOption = None, verify_db: VerifyDbOption = None,
                    json_out: JsonOption = False) -> None:
    """Every dashboard measure per province (and the monthly and per-organisation tables with --json)."""
    board = _board(db, service_db, verify_db)
    if json_out:
        print_json({"computed_at": board.computed_at, "generation": board.generation, "change_seq": board.change_seq,
                    "provinces": [p.as_dict() for p in board.provinces], "monthly": board.monthly,
                    "served": board.served})
        return
    _table(board.provinces, shown(message("cli.stats.computed_change", at=board.computed_at,
                                          change=board.change_seq)))


@stats_app.command("counties")
def stats_counties(province: Annotated[str | None, typer.Option(help="One province (code or name).")] = None,
                   db: DbOption = None, service_db: ServiceDbOption = None, verify_db: VerifyDbOption = None,
                   json_out: JsonOption = False) -> None:
    """Every dashboard measure per county."""
    board = _board(db, service_db, verify_db)
    rows = board.counties
    if province:
        try:
            code = province_code(province, {p.code: p.name for p in board.provinces})
        except ValueError as exc:
            fail(reason(exc))
        rows = [c for c in rows if c.province_code == code]
    if json_out:
        print_json([c.as_dict() for c in rows])
        return
    _table(rows, shown(message("cli.stats.computed", at=board.computed_at)))


@stats_app.command("snapshot")
def snapshot(db: DbOption = None, dashboard_db: DashboardDbOption = None, service_db: ServiceDbOption = None,
             verify_db: VerifyDbOption = None, json_out: JsonOption = False) -> None:
    """Compute every measure now and keep it as a dated snapshot: the plans' trajectories."""
    board = _board(db, service_db, verify_db)
    with _plans(db, dashboard_db, service_db) as store:
        sid = store.snapshot(board)
    if json_out:
        print_json({"snapshot": sid, "taken_at": board.computed_at, "change_seq": board.change_seq})
        return
    typer.echo(shown(message("cli.stats.snapshot", id=sid, at=board.computed_at, change=board.change_seq,
                             provinces=len(board.provinces), counties=len(board.counties))))


def _board(db: str | None, service_db: str | None = None, verify_db: str | None = None) -> Any:
    try:
        loc = RegistryLocation.of(db)
        return compute_dashboard(loc, hub_db=store_target(verify_db, loc.verify_target),
                                 service_db=store_target(service_db, loc.service_target))
    except RegistryNotFoundError as exc:
        fail(reason(exc))


@plans_app.command("set")
def plans_set(province: Annotated[str, typer.Argument(help="Province code or Persian name.")],
              measure: Annotated[str, typer.Argument(help=f"One of {', '.join(PLANNABLE_KEYS)}.")],
              target: Annotated[float, typer.Argument(help="Target value (a share from 0 to 1 for *_share).")],
              deadline: Annotated[str, typer.Argument(help="Solar Hijri deadline, e.g. 1405-06-31.")],
              note: Annotated[str, typer.Option(help="What the target is for.")] = "",
              db: DbOption = None, dashboard_db: DashboardDbOption = None, json_out: JsonOption = False) -> None:
    """Set a province's target for a measure by a deadline (the same province, measure and deadline: replaced)."""
    try:
        known = provinces(RegistryLocation.of(db))
        code = province_code(province, known)
        with _plans(db, dashboard_db) as store:
            plan = store.set_plan(code, measure, target, deadline, note, "cli", set(known))
    except (ValueError, RegistryNotFoundError) as exc:
        fail(reason(exc))
    if json_out:
        print_json(plan.as_dict())
        return
    typer.echo(shown(message("cli.plans.set", id=plan.id, province=known[code], code=code, measure=plan.measure,
                             target=plan.target, deadline=plan.deadline_jalali)))


@plans_app.command("list")
def plans_list(province: Annotated[str | None, typer.Option(help="One province (code or name).")] = None,
               db: DbOption = None, dashboard_db: DashboardDbOption = None, json_out: JsonOption = False) -> None:
    """Plans with their latest snapshot value, share of target reached and trajectory length."""
    code = None
    if province:
        try:
            code = province_code(province, provinces(RegistryLocation.of(db)))
        except (ValueError, RegistryNotFoundError) as exc:
            fail(reason(exc))
    with _plans(db, dashboard_db) as store:
        rows = [store.progress(p) for p in store.plans(code)]
    if json_out:
        print_json(rows)
        return
    t = Table(*headings("id", "province", "measure", "target", "deadline", "latest", "reached", "snapshots"))
    for r in rows:
        t.add_row(str(r["id"]), r["province_code"], r["measure"], _fmt(r["measure"], r["target"]),
                  r["deadline_jalali"], _fmt(r["measure"], r["latest"]),
                  "—" if r["reached"] is None else f"{r['reached']:.0%}", str(len(r["trajectory"])))
    stdout_console().print(t)


def register(app: typer.Typer) -> None:
    """Attach `jinef stats …` and `jinef plans …`."""
    app.add_typer(stats_app, name="stats")
    app.add_typer(plans_app, name="plans")
