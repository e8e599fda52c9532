"""``kv-gateway inbox``: local accounts of the rehabkoordinator web inbox."""

from __future__ import annotations

import secrets
from typing import Annotated

import typer

from gateway.cli.common import fail, settings_or_fail, user_errors

inbox_app = typer.Typer(help="The rehabkoordinator web inbox (/inbox).", no_args_is_help=True)

DEMO_USER = "rehab.halmstad"
DEMO_UNIT = "Organization/vc-halmstad-norr"


@inbox_app.command("add-user")
def add_user(
    username: Annotated[str, typer.Argument(help="Sign-in name, e.g. rehab.halmstad")],
    party: Annotated[
        str, typer.Option(help="The user's vårdcentral, e.g. Organization/vc-halmstad-norr")
    ],
    name: Annotated[str, typer.Option(help="Display name")] = "",
    password: Annotated[
        str | None,
        typer.Option(
            help="Password (at least 12 characters); omitted: a random one is generated "
            "and printed once",
        ),
    ] = None,
) -> None:
    """Create (or reset) a local inbox account bound to one vårdcentral."""
    from gateway.database import open_database
    from gateway.store.db import transaction
    from gateway.store.migrate import is_up_to_date
    from gateway.web.inbox.accounts import add_account

    settings = settings_or_fail()
    secret = password or secrets.token_urlsafe(12)
    with user_errors():
        if not is_up_to_date(settings.database_url.get_secret_value()):
            fail("the database schema is not current; run `kv-gateway db upgrade` first")
        database = open_database(settings)
        try:
            with transaction(database.sessions) as session:
                add_account(session, username, secret, party, name or username)
        finally:
            database.dispose()
    base = settings.public_base_url.rstrip("/")
    typer.echo(f"inbox account {username.strip().lower()} for {party}")
    typer.echo(f"  sign in at  {base}/inbox/logga-in")
    if password is None:
        typer.echo(f"  password    {secret}")


@inbox_app.command("demo-user")
def demo_user() -> None:
    """The demo account for Vårdcentralen Halmstad Norr (the demo's inbox unit), new password."""
    add_user(DEMO_USER, party=DEMO_UNIT, name="Rehabkoordinator Halmstad Norr", password=None)


@inbox_app.command("demo-request")
def demo_request(
    case_id: Annotated[
        str, typer.Option(help="The kommun's case id; a case id is submitted once only")
    ] = "DEMO-INKORG-1",
) -> None:
    """Send a demo request to the demo inbox unit, as Halmstad kommun, through the workflow."""
    from gateway.database import open_database
    from gateway.store.migrate import is_up_to_date
    from gateway.web.inbox.demo_request import submit_demo_request

    settings = settings_or_fail()
    with user_errors():
        if not is_up_to_date(settings.database_url.get_secret_value()):
            fail("the database schema is not current; run `kv-gateway db upgrade` first")
        database = open_database(settings)
        try:
            sent = submit_demo_request(database, settings, case_id)
        finally:
            database.dispose()
    state = "sent" if sent.created else "already sent"
    typer.echo(f"demo request {case_id} {state}: Task/{sent.task_id} for {DEMO_UNIT}")


@inbox_app.command("list")
def list_users() -> None:
    """List the local inbox accounts."""
    from gateway.database import open_database
    from gateway.store.db import transaction
    from gateway.web.inbox.accounts import list_accounts

    settings = settings_or_fail()
    with user_errors():
        database = open_database(settings)
        try:
            with transaction(database.sessions) as session:
                for account in list_accounts(session):
                    state = "enabled" if account.enabled else "disabled"
                    typer.echo(f"{account.username}\t{account.party}\t{state}")
        finally:
            database.dispose()
