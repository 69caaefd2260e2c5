"""`jinef verify request|visit|confirm`: the whole «احراز نشانی» flow from the command line, as the HTTP API runs it.

Thin adapters on :class:`jinef.read.verify.VerifyHub`'s workflow (the calls behind ``POST /v1/verifications``,
``…/visit`` and ``…/confirm``). The national code, the mobile and the one-time code are asked for (not echoed) when
not given as options, so that they stay out of the shell's history and the process list.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from jinef.cli.language import shown
from jinef.cli.options import DbOption, JsonOption
from jinef.cli.output import fail, print_json, reason
from jinef.cli.verify import KeyOption, VerifyDbOption, refusal, verify_app
from jinef.common.config import RegistryLocation, verify_target
from jinef.common.messages import Message, catalogue, message
from jinef.common.settings import settings
from jinef.read.verify import VerifyError, VerifyHub
from jinef.read.verify.config import VerifyConfig
from jinef.read.verify.service import RequestInfo
from jinef.read.verify.sms import HttpSmsGateway, SmsGateway

OrgOption = Annotated[str, typer.Option("--org", help="The organisation as the hub records it (a lower-case "
                                                      "label): who asks, or whose field agent acts.")]
AgentOption = Annotated[str, typer.Option("--agent", help="The field agent's id within the organisation "
                                                          "(e.g. postman-12).")]
RequestIdArgument = Annotated[str, typer.Argument(help="The request's id (vr_…, from `jinef verify request`).")]
DEFAULT_ORG = "cli"


@contextmanager
def _hub(db: str | None, verify_db: str | None, key_file: Path | None, gateway: SmsGateway | None = None,
         dev_sms_outbox: bool = False) -> Iterator[VerifyHub]:
    """The hub beside the registry, asking the registry's read image whether a postcode is active."""
    from jinef.cli.registry_cmds import open_registry

    location = RegistryLocation.of(db)
    registry = open_registry(db)
    status: Callable[[str], str | None] = registry.status
    try:
        with VerifyHub.open(verify_target(location, verify_db), status, key_path=key_file, gateway=gateway,
                            config=VerifyConfig(dev_sms_outbox=dev_sms_outbox)) as hub:
            yield hub
    except VerifyError as exc:
        fail(message("cli.verify.refused", problem=refusal(exc), code=exc.code))
    finally:
        registry.close()


def _secret(value: str | None, label: Message) -> str:
    """An option's value, else asked on the terminal without echo (prompt on stderr), else a line of stdin."""
    if value is not None:
        return value
    if sys.stdin.isatty():
        return str(typer.prompt(shown(label), hide_input=True, err=True))
    line = sys.stdin.readline()
    if not line:
        fail(message("cli.verify.give_secret", what=label), code=2)
    return line.strip()


def _show(info: RequestInfo, json_out: bool, next_step: Message) -> None:
    if json_out:
        print_json(info.as_dict())
        return
    shown_state = _state(info.state)
    typer.echo(shown(message("cli.verify.shown_agent", id=info.id, state=shown_state, postcode=info.postcode,
                             role=info.role, agent=info.agent) if info.agent else
                     message("cli.verify.shown", id=info.id, state=shown_state, postcode=info.postcode,
                             role=info.role)))
    typer.echo(shown(next_step), err=True)


def _state(state: str) -> Message | str:
    """A request's state in the command's language (an unnamed state by its id)."""
    return message(f"verify.state.{state}") if f"verify.state.{state}" in catalogue() else state


def request(
    postcode: Annotated[str, typer.Option("--postcode", help="The address to verify (any digit form).")],
    national_code: Annotated[str | None, typer.Option("--national-code", help="The citizen's national code (asked, "
                                                                              "not echoed, when not given).")] = None,
    mobile: Annotated[str | None, typer.Option("--mobile", help="The mobile that gets the one-time code (asked when "
                                                                "not given).")] = None,
    role: Annotated[str, typer.Option("--role", help="resident, owner, tenant or business.")] = "resident",
    org: OrgOption = DEFAULT_ORG,
    dev_sms_outbox: Annotated[bool, typer.Option(
        "--dev-sms-outbox", envvar="JINEF_DEV_SMS_OUTBOX",
        help="Development only: write the text (sealed) to the outbox that `jinef outbox` reads.")] = False,
    sms_gateway: Annotated[str | None, typer.Option(
        "--sms-gateway", envvar="JINEF_SMS_GATEWAY_URL",
        help="The operator's SMS API (token in JINEF_SMS_GATEWAY_TOKEN).")] = None,
    db: DbOption = None,
    verify_db: VerifyDbOption = None,
    key_file: KeyOption = None,
    json_out: JsonOption = False,
) -> None:
    """Open a verification: the citizen's mobile gets a one-time code, a field agent visits."""
    if sms_gateway and dev_sms_outbox:
        fail(message("cli.sms.both"), code=2)
    if not (sms_gateway or dev_sms_outbox):
        fail(message("cli.sms.none"), code=2)
    try:
        token = settings().sms_gateway_token
        gateway = HttpSmsGateway(sms_gateway, token.reveal() if token else None) if sms_gateway else None
    except ValueError as exc:
        fail(reason(exc), code=2)
    national_code = _secret(national_code, message("cli.verify.label.national_code"))
    mobile = _secret(mobile, message("cli.verify.label.mobile"))
    with _hub(db, verify_db, key_file, gateway, dev_sms_outbox) as hub:
        info = hub.workflow.request(national_code, mobile, postcode, role, actor=org)
    where = message("cli.verify.sent_to_outbox", id=info.id) if dev_sms_outbox else \
        message("cli.verify.sent_to_mobile")
    _show(info, json_out, message("cli.verify.next_visit", where=where, id=info.id))


def visit(
    request_id: RequestIdArgument,
    agent: AgentOption,
    org: OrgOption = DEFAULT_ORG,
    db: DbOption = None,
    verify_db: VerifyDbOption = None,
    key_file: KeyOption = None,
    json_out: JsonOption = False,
) -> None:
    """The field agent is at the door (code_sent → visited)."""
    with _hub(db, verify_db, key_file) as hub:
        info = hub.workflow.visit(request_id, agent=agent, org=org)
    _show(info, json_out, message("cli.verify.next_confirm", id=info.id, agent=agent))


def confirm(
    request_id: RequestIdArgument,
    agent: AgentOption,
    code: Annotated[str | None, typer.Option("--code", help="The code the citizen shows at the door (asked when "
                                                            "not given).")] = None,
    org: OrgOption = DEFAULT_ORG,
    db: DbOption = None,
    verify_db: VerifyDbOption = None,
    key_file: KeyOption = None,
    json_out: JsonOption = False,
) -> None:
    """The citizen's code is right: the address is verified (a wrong code counts a try; exit 1)."""
    code = _secret(code, message("cli.verify.label.one_time_code"))
    with _hub(db, verify_db, key_file) as hub:
        info = hub.workflow.confirm(request_id, code, agent=agent, org=org)
    _show(info, json_out, message("cli.verify.verified") if info.state == "verified" else
          message("cli.verify.not_verified", why=info.reason or _state(info.state)))
    if info.state != "verified":
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Attach `jinef verify request|visit|confirm` to the `jinef verify` group (itself attached by jinef.cli.verify)."""
    for name, fn in (("request", request), ("visit", visit), ("confirm", confirm)):
        verify_app.command(name)(fn)
