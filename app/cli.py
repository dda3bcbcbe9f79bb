"""The `hocvuso` console script: migrate, seed, serve, create-user, keys, delivery, mock."""

import asyncio
import os
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import SecretStr, ValidationError
from sqlmodel import Session
from uvicorn.supervisors import Multiprocess

from app.accounts import service as accounts
from app.accounts.models import Role
from app.accounts.schemas import UserCreate
from app.core.config import Settings
from app.core.context import WriteContext, bind_context
from app.core.db import make_engine
from app.core.errors import DomainError
from app.core.i18n import translate
from app.core.migrate import upgrade_to_head
from app.core.security import Passwords, PersonalIds
from app.core.signing import KeyRing, rotate
from app.imports.models import ImportKind
from app.ledger.rebuild import compare, rebuild
from app.ledger.recount import run_to_end
from app.seed import seed_all

cli = typer.Typer(help="Bình dân học vụ số — digital-skills tracker", no_args_is_help=True)


@cli.command()
def migrate() -> None:
    """Apply the Alembic migrations up to the newest (head)."""
    settings = Settings()
    upgrade_to_head(settings.database_url)
    typer.echo("database schema is at head")


@cli.command()
def seed() -> None:
    """Load administrative units, the catalogue and national targets (idempotent)."""
    settings = Settings()
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        counts = seed_all(session, settings=settings)
        session.commit()
    engine.dispose()
    typer.echo(", ".join(f"{name}: {count}" for name, count in counts.items()))


def listening_url(host: str, port: int) -> str:
    """The address this machine reaches the service at, from what it listens on."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - every interface: this machine is one
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


class _Master(Multiprocess):
    """uvicorn's master, told at once when a worker dies while it starts.

    The master keeps its own copy of each worker's end of the health-check pipe, so a ping to a
    worker that died waits out the whole health-check time. Once the worker has its copy (a
    spawned process gets it when it starts), the master's is closed: the ping ends with the worker.
    """

    def init_processes(self) -> None:
        super().init_processes()
        for process in self.processes:
            process.child_conn.close()


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            help="Port; PUBLIC_BASE_URL (and, with the mock mounted, VNEID_BASE_URL and "
            "VNEID_ISSUER) follow it unless set"
        ),
    ] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
    prepare: Annotated[bool, typer.Option(help="Migrate and seed before serving")] = True,
    worker_healthcheck_seconds: Annotated[
        int,
        typer.Option(
            min=1,
            help="With --workers above 1: how long the master waits for a worker to answer "
            "its health check (and a new worker to start) before it kills and replaces it",
        ),
    ] = 30,
) -> None:
    """Serve the API with uvicorn (migrating and seeding first, by default)."""
    import uvicorn
    from uvicorn.config import STARTUP_FAILURE

    # The workers read their settings on their own: tell them where they listen.
    os.environ["SERVE_URL"] = listening_url(host, port)
    if prepare:
        migrate()
        seed()
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "workers": workers,
        # The client's address is worked out by the app from TRUSTED_PROXIES, not by uvicorn.
        "proxy_headers": False,
        # uvicorn's 5 seconds kill workers still importing on a busy machine.
        "timeout_worker_healthcheck": worker_healthcheck_seconds,
    }
    if workers == 1:
        # A failed start-up ends uvicorn.run with STARTUP_FAILURE (3).
        uvicorn.run("app.main:app", **options)
        return
    # uvicorn's master stops when a worker's start-up fails, but then exits 0: a supervisor
    # (systemd, Docker) must see the failure, so the master's status says it.
    config = uvicorn.Config("app.main:app", **options)
    supervisor = _Master(config, sockets=[config.bind_socket()])
    supervisor.run()
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        raise typer.Exit(code=STARTUP_FAILURE)


@cli.command("stats-rebuild")
def stats_rebuild(
    check: Annotated[bool, typer.Option("--check", help="Only compare; change nothing")] = False,
) -> None:
    """Recompute the running totals from the raw records and report any difference."""
    settings = Settings()
    engine = make_engine(settings.database_url)
    with Session(engine) as session:
        bind_context(session, WriteContext(settings.adult_age))
        result = compare(session) if check else rebuild(session)
        if not check:
            session.commit()
    engine.dispose()
    typer.echo(
        f"expected rows: {result.expected_rows}, stored rows: {result.stored_rows}, "
        f"differences: {len(result.differences)}"
    )
    for (level, unit, metric, day), expected, stored in result.differences[:20]:
        typer.echo(f"  {level} {unit} {metric} {day}: expected {expected}, stored {stored}")
    if check and not result.agree:
        raise typer.Exit(code=1)
    if not check and not result.agree:
        typer.echo("the totals were rebuilt from the raw records")


@cli.command("stats-recount")
def stats_recount() -> None:
    """Finish the recount a change to a program's standard started (the service runs it too)."""
    settings = Settings()
    engine = make_engine(settings.database_url)
    try:
        recount = run_to_end(engine, adult_age=settings.adult_age)
    finally:
        engine.dispose()
    if recount is None:
        typer.echo("no recount is pending")
    else:
        typer.echo(
            f"recount {recount.id} ({recount.program_code}) finished: "
            f"{recount.recounted} people recounted"
        )


@cli.command("create-user")
def create_user(
    username: Annotated[str, typer.Option(help="Login name")],
    role: Annotated[Role, typer.Option(help="Role")],
    full_name: Annotated[str, typer.Option(help="Full name")],
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
    province_code: Annotated[str | None, typer.Option(help="Province (province roles)")] = None,
    commune_code: Annotated[str | None, typer.Option(help="Commune (commune roles)")] = None,
    team_id: Annotated[int | None, typer.Option(help="Team (team members)")] = None,
) -> None:
    """Create a staff account as an operator (any role)."""
    settings = Settings()
    try:
        data = UserCreate(
            username=username,
            password=SecretStr(password).get_secret_value(),
            full_name=full_name,
            role=role,
            province_code=province_code,
            commune_code=commune_code,
            team_id=team_id,
        )
    except ValidationError as exc:
        raise typer.BadParameter(str(exc)) from None
    engine = make_engine(settings.database_url)
    try:
        with Session(engine) as session:
            user = accounts.create_user(
                session, actor=None, passwords=Passwords(settings), data=data
            )
            session.commit()
            typer.echo(f"created user {user.username} (id {user.id}, {user.role})")
    except DomainError as exc:
        detail = translate(exc.detail_key or exc.title_key, "en", **exc.params)
        fields = "; ".join(
            translate(str(e.get("type")), "en", **(e.get("params") or {})) for e in exc.errors
        )
        typer.echo(f"error: {detail} {fields}".strip(), err=True)
        raise typer.Exit(code=1) from None
    finally:
        engine.dispose()


@cli.command("rotate-keys")
def rotate_keys(
    mock_vneid: Annotated[bool, typer.Option(help="Rotate the mock VNeID's key instead")] = False,
) -> None:
    """Make a new signing key; the old one is retired but keeps verifying what it signed."""
    settings = Settings()
    directory = settings.mock_keys_dir if mock_vneid else settings.keys_dir
    kid = rotate(directory, prefix="vneid" if mock_vneid else "hocvuso")
    typer.echo(f"current signing key: {kid} (in {directory})")


@cli.command()
def deliver() -> None:
    """Deliver every certificate now due to VNeID once (the outbox), then stop."""
    from app.certificates import issuers
    from app.certificates.credentials import CredentialSigner
    from app.certificates.delivery import Outbox, drain
    from app.core.vneid_wire import make_http_client
    from app.vneid.client import VneidClient

    settings = Settings()
    engine = make_engine(settings.database_url)
    keys = KeyRing(settings.keys_dir, prefix="hocvuso", create=settings.environment != "production")

    signer = CredentialSigner(settings, keys)
    signer.trust(issuers.remember(engine, settings.base_url))

    async def run() -> Counter[str]:
        async with make_http_client(settings, base_url=settings.vneid_base_url) as http:
            outbox = Outbox(
                engine=engine,
                vneid=VneidClient(http, settings),
                signer=signer,
                personal_ids=PersonalIds(settings),
                settings=settings,
            )
            return await drain(outbox)

    try:
        results = asyncio.run(run())
    finally:
        engine.dispose()
    summary = ", ".join(f"{kind}: {count}" for kind, count in sorted(results.items()))
    typer.echo(summary or "nothing due")


mock_cli = typer.Typer(help="The mock VNeID: serve it alone, or add demonstration citizens.")
cli.add_typer(mock_cli, name="mock-vneid")


@mock_cli.callback(invoke_without_command=True)
def mock_vneid(
    context: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8100,
) -> None:
    """Serve the mock VNeID alone (its tables come with `hocvuso migrate`)."""
    if context.invoked_subcommand is not None:
        return
    import uvicorn

    uvicorn.run("app.vneid_mock.main:create_mock_app", factory=True, host=host, port=port)


@mock_cli.command("add-citizen")
def mock_vneid_add_citizen(
    full_name: Annotated[str, typer.Option(help="Họ và tên, with diacritics")],
    birth_date: Annotated[str, typer.Option(help="Ngày sinh, YYYY-MM-DD")],
    citizen_id: Annotated[
        str,
        typer.Option(
            prompt="Số định danh cá nhân / ID number",
            hide_input=True,
            help="12 digits; asked for (hidden) when left out, so it stays out of shell history",
        ),
    ],
    passcode: Annotated[
        str,
        typer.Option(
            prompt="Mật mã VNeID (6 chữ số) / passcode",
            hide_input=True,
            help="6 digits the citizen signs in with; asked for (hidden) when left out",
        ),
    ],
) -> None:
    """Add a demonstration citizen to the mock VNeID's registry (never in production)."""
    from app.vneid_mock.schemas import CitizenAdd
    from app.vneid_mock.service import CitizenIndex, add_citizen, find_citizen

    settings = Settings()
    if settings.environment == "production":
        typer.echo("the mock VNeID takes demonstration citizens only outside production", err=True)
        raise typer.Exit(1)
    try:
        data = CitizenAdd(
            citizen_id=citizen_id,
            full_name=full_name,
            birth_date=birth_date,
            passcode=passcode,
        )
    except ValidationError as exc:
        fields = sorted({str(error["loc"][0]) for error in exc.errors()})
        typer.echo(f"invalid: {', '.join(fields)}", err=True)
        raise typer.Exit(2) from None
    engine = make_engine(settings.database_url)
    index = CitizenIndex(settings)
    try:
        with Session(engine, expire_on_commit=False) as session:
            if find_citizen(session, index=index, citizen_id=data.citizen_id) is not None:
                typer.echo("already in the mock VNeID's registry", err=True)
                raise typer.Exit(1)
            citizen = add_citizen(
                session,
                index=index,
                citizen_id=data.citizen_id,
                full_name=data.full_name,
                birth_date=data.birth_date,
                passcode=data.passcode,
            )
            session.commit()
    finally:
        engine.dispose()
    typer.echo(f"added {citizen.full_name} (handle {citizen.id}) to the mock VNeID's registry")


@cli.command("import")
def import_command(
    path: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or XLSX file")
    ],
    kind: Annotated[ImportKind, typer.Option(help="What the file holds")],
    as_user: Annotated[str, typer.Option("--as", help="The staff account it is imported as")],
    commune: Annotated[
        str | None, typer.Option(help="Commune code for rows without one (e.g. 00070)")
    ] = None,
) -> None:
    """Import a file from disk as a user would upload it, with a progress bar."""
    from app.imports.console import import_file

    raise typer.Exit(code=import_file(path, kind=kind, username=as_user, commune_code=commune))


def main() -> None:
    cli()
