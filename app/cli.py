"""The `hocvuso` console script: migrate, seed, serve, create-user."""

from pathlib import Path
from typing import Annotated

import typer
from pydantic import SecretStr, ValidationError
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role
from app.accounts.schemas import UserCreate
from app.core.config import Settings
from app.core.db import make_engine
from app.core.errors import DomainError
from app.core.i18n import translate
from app.core.migrate import upgrade_to_head
from app.core.security import Passwords
from app.imports.models import ImportKind
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
    engine = make_engine(Settings().database_url)
    with Session(engine) as session:
        counts = seed_all(session)
        session.commit()
    engine.dispose()
    typer.echo(", ".join(f"{name}: {count}" for name, count in counts.items()))


@cli.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes")] = 1,
    prepare: Annotated[bool, typer.Option(help="Migrate and seed before serving")] = True,
) -> None:
    """Serve the API with uvicorn (migrating and seeding first, by default)."""
    import uvicorn

    if prepare:
        migrate()
        seed()
    uvicorn.run("app.main:app", host=host, port=port, workers=workers, proxy_headers=True)


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
