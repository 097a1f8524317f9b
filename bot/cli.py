"""The `tsunagu` command: serve, demo, db."""

from __future__ import annotations

import logging
import secrets

import typer
import uvicorn

from bot.settings import Settings

app = typer.Typer(help="tsunagu（つなぐ）: a LINE front door to 生活困窮者自立支援",
                  no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")


def _configure_logging(level: str) -> None:
    # Ids, states and counts only: modules never log message text or secrets.
    logging.basicConfig(level=level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _run(settings: Settings, host: str, port: int) -> None:
    from bot.app import create_app

    _configure_logging(settings.log_level)
    uvicorn.run(create_app(settings), host=host, port=port, log_level=settings.log_level.lower(),
                access_log=False)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Run against a real LINE channel (settings from TSUNAGU_* environment variables)."""
    try:
        settings = Settings()
    except ValueError as e:
        typer.echo(f"tsunagu: {e}", err=True)
        raise typer.Exit(2) from e
    _run(settings, host, port)


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Run everything on this machine: SQLite and the built-in LINE emulator, no LINE channel."""
    base = f"http://{host}:{port}"
    settings = Settings(
        emulator=True,
        line_channel_secret=secrets.token_hex(16),
        line_channel_access_token=secrets.token_urlsafe(32),
        line_api_base_url=f"{base}/emulator",
        line_data_api_base_url=f"{base}/emulator",
    )
    typer.echo(
        "\n  tsunagu demo\n"
        f"  相談者の画面（LINEエミュレーター）: {base}/emulator/\n"
        f"  Webhook:                          {base}/line/webhook\n"
        f"  データベース:                     {settings.database_url}\n"
        "  止めるには Ctrl+C\n"
    )
    _run(settings, host, port)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from bot.migrations import upgrade

    # Migrating needs no LINE channel, so skip the credentials check.
    url = Settings.model_validate({"emulator": True}).database_url
    upgrade(url, revision)
    typer.echo(f"database is at {revision}")


if __name__ == "__main__":
    app()
