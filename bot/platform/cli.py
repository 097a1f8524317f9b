"""The `tsunagu` command: serve, demo, db, content, nlp, user, line."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

import typer
import uvicorn

from bot.settings import Settings

app = typer.Typer(help="tsunagu（つなぐ）: a LINE front door to 生活困窮者自立支援",
                  no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
content_app = typer.Typer(help="Administrator-edited content (flows, places, hotlines).",
                          no_args_is_help=True)
app.add_typer(content_app, name="content")
nlp_app = typer.Typer(help="Risk-phrase detection.", no_args_is_help=True)
app.add_typer(nlp_app, name="nlp")
user_app = typer.Typer(help="Console accounts.", no_args_is_help=True)
app.add_typer(user_app, name="user")
line_app = typer.Typer(help="The LINE account's own features (rich menu).",
                       no_args_is_help=True)
app.add_typer(line_app, name="line")


def _run(settings: Settings, host: str, port: int) -> None:
    from bot.content.files import ContentError
    from bot.platform import lifecycle
    from bot.platform.app import create_app
    from bot.platform.server import server_config

    lifecycle.configure_logging(settings.log_level)
    try:
        app_ = create_app(settings)
    except ContentError as e:  # an invalid flow is never served
        typer.echo(f"tsunagu: content is not valid, not starting:\n{e}", err=True)
        raise typer.Exit(2) from e
    uvicorn.Server(server_config(app_, settings, host=host, port=port)).run()


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Run against a real LINE channel (settings from TSUNAGU_* environment variables)."""
    from bot.platform.server import emulator_refusal

    try:
        settings = Settings()
    except ValueError as e:
        typer.echo(f"tsunagu: {e}", err=True)
        raise typer.Exit(2) from e
    refusal = emulator_refusal(settings)
    if refusal is None and settings.emulator and not _is_loopback(host):
        refusal = (f"TSUNAGU_EMULATOR=true lets anyone who reaches {host} write as any LINE "
                   "user: listen on 127.0.0.1 only, or use `tsunagu demo`")
    if refusal is not None:
        typer.echo(f"tsunagu: {refusal}", err=True)
        raise typer.Exit(2)
    if settings.emulator:
        typer.echo("tsunagu: WARNING: the built-in LINE emulator is on (TSUNAGU_EMULATOR=true): "
                   "anyone who can open this server can write as any resident. For trials on "
                   "this machine only, never on a server others can reach.", err=True)
    _run(settings, host, port)


@app.command()
def worker(
    metrics_port: int | None = typer.Option(
        None, help="Also serve GET /metrics on this port (TSUNAGU_METRICS_TOKEN as bearer)."),
    metrics_host: str = typer.Option("127.0.0.1", help="Interface for --metrics-port."),
) -> None:
    """Process events, send answers and run the scheduled jobs, without serving HTTP.

    For deployments that scale web and work apart: web replicas run with
    TSUNAGU_RUN_WORKER=false, and as many `tsunagu worker` processes as the load needs run
    beside them on the same PostgreSQL database (each resident's events stay in order)."""
    import asyncio
    import signal

    from bot.content.files import ContentError
    from bot.platform import lifecycle

    try:
        settings = Settings()
    except ValueError as e:
        typer.echo(f"tsunagu: {e}", err=True)
        raise typer.Exit(2) from e
    lifecycle.configure_logging(settings.log_level)

    async def until_signalled() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await lifecycle.work(settings, stop, metrics_at=None if metrics_port is None
                             else (metrics_host, metrics_port))

    try:
        asyncio.run(until_signalled())
    except ContentError as e:  # an invalid flow is never served
        typer.echo(f"tsunagu: content is not valid, not starting:\n{e}", err=True)
        raise typer.Exit(2) from e


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Run everything on this machine: SQLite and the built-in LINE emulator, no LINE channel."""
    base = f"http://{host}:{port}"
    if not _is_loopback(host):
        typer.echo(f"tsunagu: WARNING: the demo's LINE emulator is open to anyone who reaches "
                   f"{host}:{port}; they can write as any resident. Use it on a trusted "
                   "network only.", err=True)
    settings = Settings(
        emulator=True,
        api_docs=True,  # /docs: a look at the routes, for whoever tries the demo
        line_channel_secret=secrets.token_hex(16),
        line_channel_access_token=secrets.token_urlsafe(32),
        line_api_base_url=f"{base}/emulator",
        line_data_api_base_url=f"{base}/emulator",
    )
    from bot.db.migrations import upgrade
    from bot.releases.load import load_content
    from handoff.accounts import reset_demo_accounts

    upgrade(settings.database_url)
    # The desk that takes whoever does not name a town: the cases a first try produces.
    places = load_content(settings.content_dir).places
    team = places.team(places.default_team)
    counsellor, admin = reset_demo_accounts(settings.database_url, team.id)
    typer.echo(
        "\n  tsunagu demo\n"
        f"  はじめに開くページ:               {base}/\n"
        f"  相談者の画面（LINEエミュレーター）: {base}/emulator/\n"
        f"  相談員の画面（コンソール）:       {base}/console/\n"
        f"    相談員（{team.name}）のログイン: {counsellor.username} / {counsellor.password}\n"
        "      （相談員には、自分の窓口の相談だけが見えます）\n"
        f"    管理者（すべての窓口と管理画面）のログイン: {admin.username} / {admin.password}\n"
        f"  Webhook:                          {base}/line/webhook\n"
        f"  データベース:                     {settings.database_url}\n"
        "  止めるには Ctrl+C\n"
    )
    import threading

    threading.Thread(target=_demo_richmenu, args=(settings, base), daemon=True,
                     name="demo-richmenu").start()
    _run(settings, host, port)


def _demo_richmenu(settings: Settings, base: str) -> None:
    """The demo's phone shows the rich menus residents would see (the default, and one in
    each language): made at its own emulator once the server answers (without a Japanese font
    the demo goes on without them)."""
    import time

    import httpx

    from bot.edge.line_client import LineApiError, RichMenuClient
    from bot.platform import richmenu
    from bot.releases.load import load_content

    font = os.environ.get("TSUNAGU_RICHMENU_FONT")
    try:
        menus, _ = richmenu.drawn(load_content(settings.content_dir),
                                  richmenu.find_fonts(Path(font) if font else None))
    except Exception as e:  # no font, say: the demo goes on without the menu
        typer.echo(f"  （リッチメニューは表示しません: {e}）", err=True)
        return
    for _ in range(600):  # the server is starting in the main thread
        try:
            if httpx.get(f"{base}/healthz", trust_env=False, timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    client = RichMenuClient(base_url=settings.line_api_base_url,
                            data_base_url=settings.line_data_api_base_url,
                            access_token=settings.access_token,
                            timeout_seconds=settings.line_request_timeout_seconds)
    try:
        richmenu.publish_all(client, menus)
    except LineApiError as e:
        typer.echo(f"  （リッチメニューを作れませんでした: {e}）", err=True)
        return
    finally:
        client.close()
    _relink_rich_menus(settings)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head")) -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from bot.db.migrations import upgrade

    # Migrating needs no LINE channel, so skip the credentials check.
    url = Settings.model_validate({"emulator": True}).database_url
    upgrade(url, revision)
    typer.echo(f"database is at {revision}")


def _content_dir(directory: Path | None) -> Path:
    from bot.settings import DEFAULT_CONTENT_DIR

    return directory or Path(os.environ.get("TSUNAGU_CONTENT_DIR") or DEFAULT_CONTENT_DIR)


@content_app.command("validate")
def content_validate(
    directory: Path | None = typer.Argument(None, help="Content folder (default: the served one)."),
) -> None:
    """Check every content file; exits 1 and names file, state and problem if any is wrong."""
    from bot.content.files import ContentError
    from bot.releases.load import load_content

    folder = _content_dir(directory)
    try:
        content = load_content(folder)
    except ContentError as e:
        typer.echo(f"content is not valid:\n{e}", err=True)
        raise typer.Exit(1) from e
    flows = ", ".join(f"{f.flow.id} (version {f.version}, {len(f.flow.states)} states)"
                      for f in content.flows.values())
    resources = content.resources
    dangers = ", ".join(d.id for d in resources.dangers) or "none"
    typer.echo(f"content is valid: {folder}\nflows: {flows}\n"
               f"emergency numbers: {len(resources.hotlines)} ({len(resources.general())} "
               f"general); dangers: {dangers}")
    gaps = content.language_gaps()  # the refused ones failed above: these are reported
    typer.echo(f"languages: {', '.join(sorted(content.languages)) or 'standard Japanese only'}"
               f"; texts without a variant: {len(gaps)}")
    for gap in gaps:
        typer.echo(f"  {gap.language}: {gap.text.where}: {gap.text.ja[:40]}")


def _database_sessions() -> Any:
    from bot.db.engine import make_engine, make_session_factory

    # Content commands need no LINE channel, so skip the credentials check.
    return make_session_factory(make_engine(
        Settings.model_validate({"emulator": True}).database_url))


@content_app.command("export")
def content_export(
    directory: Path | None = typer.Argument(None, help="Folder to write (default: content/)."),
) -> None:
    """Write the published content (the newest release) as files, e.g. to commit it to git."""
    from bot.releases import store as content_store

    folder = _content_dir(directory)
    with _database_sessions()() as session:
        release = content_store.current_release(session)
        if release is None:
            typer.echo("nothing is published yet (start the app once, or import)", err=True)
            raise typer.Exit(1)
        content_store.write_directory(release.files, folder)
        typer.echo(f"release {release.id} written to {folder} ({len(release.files)} files)")


@content_app.command("import")
def content_import(
    directory: Path | None = typer.Argument(None, help="Folder to read (default: content/)."),
    reason: str = typer.Option("content/ フォルダから取り込み", "--reason",
                               help="Why, for the release history."),
) -> None:
    """Publish the folder's files as a new release (checked first; a bad folder changes nothing).
    Running apps serve it at once."""
    from bot.content.files import ContentError
    from bot.db.engine import transaction
    from bot.releases import store as content_store

    folder = _content_dir(directory)
    files = content_store.read_directory(folder)
    try:
        with transaction(_database_sessions()) as session:
            current = content_store.current_release(session)
            if current is not None and current.digest == content_store.digest(files):
                typer.echo(f"release {current.id} already has exactly these files")
                return
            release = content_store.publish(session, files, author_id=None, reason=reason)
            release_id = release.id
    except ContentError as e:
        typer.echo(f"content is not valid, nothing was published:\n{e}", err=True)
        raise typer.Exit(1) from e
    typer.echo(f"published {folder} as release {release_id}")


@content_app.command("diagram")
def content_diagram(
    flow_id: str = typer.Option("intake", "--flow", help="Which flow to draw."),
    directory: Path | None = typer.Option(None, "--dir", help="Content folder."),
) -> None:
    """Print the flow as a Mermaid state diagram."""
    from bot.content.files import ContentError
    from bot.flows.diagram import mermaid
    from bot.releases.load import load_content

    try:
        content = load_content(_content_dir(directory))
    except ContentError as e:
        typer.echo(f"content is not valid:\n{e}", err=True)
        raise typer.Exit(1) from e
    if flow_id not in content.flows:
        typer.echo(f"no flow '{flow_id}' (flows: {', '.join(content.flows)})", err=True)
        raise typer.Exit(1)
    typer.echo(mermaid(content.flows[flow_id].flow), nl=False)


def _analyzer(directory: Path | None) -> Any:
    """The rules and, where the content has a corpus, the model trained from it."""
    from bot.content.files import ContentError
    from bot.nlp import Analyzer, load_lexicon
    from bot.nlp import trained as risk_models
    from bot.nlp.corpus import load_corpus

    folder = _content_dir(directory) / "risk"
    try:
        model = risk_models.model_for(load_corpus(folder / "corpus"))
        return Analyzer(load_lexicon(folder), model)
    except ContentError as e:  # the lexicon's or the corpus's
        typer.echo(f"the risk lexicon or corpus is not valid:\n{e}", err=True)
        raise typer.Exit(1) from e


@nlp_app.command("eval")
def nlp_eval(
    directory: Path | None = typer.Option(None, "--dir", help="Content folder."),
    dev: Path | None = typer.Option(
        None, "--dev", help="An outside validation set (JSON Lines: id, text, level)."),
    labelled: Path | None = typer.Option(
        None, "--set", help="Also score a labelled YAML set (messages: text, level)."),
    show_misses: bool = typer.Option(False, "--misses", help="Explain every imminent miss."),
) -> None:
    """Leave-one-writer-out figures on the corpus (rules, model, both), then the outside set."""
    from bot.nlp.corpus import load_corpus
    from bot.nlp.crossval import (
        Labelled,
        corpus_lines,
        leave_one_writer_out,
        load_jsonl,
        outside,
    )
    from bot.nlp.evaluate import load_labelled

    folder = _content_dir(directory) / "risk"
    analyzer = _analyzer(directory)
    corpus = load_corpus(folder / "corpus")
    typer.echo("\n".join(corpus_lines(corpus)))
    if len(corpus.writers) >= 2:
        typer.echo("\nleave one writer out (no figure comes from a writer the model learnt from)")
        lowo = leave_one_writer_out(analyzer.lexicon, corpus)
        for name, title in (("combined", "rules + model"), ("model", "model alone"),
                            ("rules", "rules alone (the keyword baseline)")):
            typer.echo("\n".join(lowo.figures[name].lines(title)))
        typer.echo(f"unsure (grey band, offered a person and the numbers): "
                   f"{lowo.unsure_rate:.1%} of messages")
        typer.echo("by writer (rules + model): " + "; ".join(
            f"{w} high+ recall {f.high_plus_recall:.2f}, imminent below high "
            f"{f.imminent_below_high}/{f.imminent_total}" for w, f in lowo.per_writer.items()))
        _misses(lowo.misses(), show_misses)
    for title, path, items in (
            ("outside validation set", dev, load_jsonl(dev) if dev else []),
            ("labelled set", labelled, [Labelled(f"set-{i}", m.text, m.level) for i, m in
                                        enumerate(load_labelled(labelled))] if labelled else [])):
        if path is None:
            continue
        result = outside(analyzer, items)
        typer.echo(f"\n{title} {path.name} (model trained on the whole corpus)")
        for name, sub in (("combined", "rules + model"), ("rules", "rules alone")):
            typer.echo("\n".join(result.figures[name].lines(sub)))
        _misses(result.misses(), show_misses)


def _misses(misses: list[Any], explain: bool) -> None:
    typer.echo(f"imminent messages below high: {len(misses)}")
    for m in misses:
        typer.echo(f"  [{m.id} {m.writer} → {m.got['combined'].label}] {m.text[:100]!r}")
        if explain:
            for line in m.explanation:
                typer.echo(f"      {line}")


@nlp_app.command("explain")
def nlp_explain(
    text: str = typer.Argument(..., help="A message to assess."),
    directory: Path | None = typer.Option(None, "--dir", help="Content folder."),
) -> None:
    """Assess one message and say why: level, categories, matched words and modifiers."""
    result = _analyzer(directory).analyze(text)
    typer.echo(f"level: {result.level.label}  categories: {', '.join(result.categories) or '-'}")
    for line in result.explain():
        typer.echo(f"  {line}")


ROLES = "counsellor, supervisor, lead (sees every team) or admin"


def _password(from_stdin: bool) -> str:
    import sys

    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("password", hide_input=True, confirmation_prompt=True))


def _role(role: str) -> Any:
    from handoff.models import Role

    try:
        return Role(role)
    except ValueError as e:
        typer.echo(f"tsunagu: unknown role {role!r} ({ROLES})", err=True)
        raise typer.Exit(2) from e


def _cli_actor() -> str:
    """Who ran a `tsunagu user` command, for the audit log."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in this environment (some containers)
        return "cli"


def _account_change(work: Any) -> Any:
    """Runs `work(session)` in one transaction; an AccountError ends the command with exit 1."""
    from bot.db.engine import make_engine, make_session_factory, transaction
    from handoff.accounts import AccountError

    engine = make_engine(Settings.model_validate({"emulator": True}).database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            return work(session)
    except AccountError as e:
        typer.echo(f"tsunagu: {e}", err=True)
        raise typer.Exit(1) from e
    finally:
        engine.dispose()


PASSWORD_STDIN = typer.Option(False, "--password-stdin",
                              help="Read the password from standard input.")


@user_app.command("add")
def user_add(
    username: str = typer.Argument(..., help="Login name."),
    display_name: str = typer.Option(..., "--name", help="Name shown to colleagues."),
    role: str = typer.Option("counsellor", help=f"{ROLES}."),
    team: str | None = typer.Option(None, help="Team id from content/places.yaml."),
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Create a console account (the password is asked for, never taken as an argument; it
    must be at least 12 characters and hard to guess)."""
    from handoff import audit
    from handoff.accounts import add_counsellor

    password = _password(password_stdin)
    chosen = _role(role)

    def work(session: Any) -> None:
        account = add_counsellor(session=session, username=username, display_name=display_name,
                                 password=password, role=chosen, team_id=team)
        audit.record_account_event(session=session, actor=_cli_actor(), action="account_added",
                                   account_id=account.id,
                                   detail=f"name {username}: {chosen}, team {team or '-'}")

    _account_change(work)
    typer.echo(f"account {username} ({chosen}) created")
    if team is None and chosen in ("counsellor", "supervisor"):
        # Need-to-know: counsellors and supervisors see their own team's cases only.
        typer.echo(f"tsunagu: {username} has no --team, so sees no resident's case until "
                   "given one (a lead or an administrator sees every team)", err=True)


def _changed(what: str, change: Any) -> None:
    typer.echo(f"account {change.account.username}: {what}; "
               f"{change.sessions_ended} console session(s) ended")


@user_app.command("disable")
def user_disable(username: str = typer.Argument(..., help="Login name.")) -> None:
    """No more logins for the account; its open console sessions end at once."""
    from handoff.accounts import set_active

    _changed("disabled", _account_change(lambda s: set_active(
        session=s, username=username, active=False, actor=_cli_actor())))


@user_app.command("enable")
def user_enable(username: str = typer.Argument(..., help="Login name.")) -> None:
    """Allow a disabled account to log in again."""
    from handoff.accounts import set_active

    _changed("enabled", _account_change(lambda s: set_active(
        session=s, username=username, active=True, actor=_cli_actor())))


@user_app.command("role")
def user_role(
    username: str = typer.Argument(..., help="Login name."),
    role: str = typer.Argument(..., help=f"The new role: {ROLES}."),
) -> None:
    """Change the account's role; it logs in again to use the new one."""
    from handoff.accounts import set_role

    chosen = _role(role)
    _changed(f"role {chosen}", _account_change(lambda s: set_role(
        session=s, username=username, role=chosen, actor=_cli_actor())))


@user_app.command("password")
def user_password(
    username: str = typer.Argument(..., help="Login name."),
    password_stdin: bool = PASSWORD_STDIN,
) -> None:
    """Set a new password (asked for; the same rule as `user add`); every console session of
    the account ends."""
    from handoff.accounts import set_password

    password = _password(password_stdin)
    _changed("password changed", _account_change(lambda s: set_password(
        session=s, username=username, password=password, actor=_cli_actor())))


@user_app.command("revoke")
def user_revoke(username: str = typer.Argument(..., help="Login name.")) -> None:
    """End every console session of the account (a lost or shared computer, say)."""
    from handoff.accounts import revoke_sessions

    _changed("sessions revoked", _account_change(lambda s: revoke_sessions(
        session=s, username=username, actor=_cli_actor())))


@user_app.command("unlock")
def user_unlock(username: str = typer.Argument(..., help="Login name.")) -> None:
    """Lift the short wait after wrong passwords for this name (an address that tried too
    often still waits its ten minutes)."""
    from handoff import logins
    from handoff.accounts import find

    def work(session: Any) -> bool:
        return logins.unlock(session=session, account=find(session=session, username=username),
                             actor=_cli_actor())

    was = _account_change(work)
    typer.echo(f"account {username}: " + ("unlocked" if was else "was not waiting; "
                                          "its earlier failures no longer count"))



@line_app.command("richmenu")
def line_richmenu(
    directory: Path | None = typer.Option(None, "--dir", help="Content folder."),
    out: Path | None = typer.Option(
        None, "--out", help="Also write the default image (PNG) here, and each language's "
                            "beside it (menu.png, menu.en.png, ...)."),
    dry_run: bool = typer.Option(False, "--dry-run",
                                 help="Only draw the images (see --out); LINE is not called."),
    font: Path | None = typer.Option(None, "--font", envvar="TSUNAGU_RICHMENU_FONT",
                                     help="A font with Japanese glyphs (.ttf/.otf/.ttc)."),
    keep_old: bool = typer.Option(False, "--keep-old",
                                  help="Keep the rich menus this command made before."),
) -> None:
    """Create the rich menu below the chat (相談する・人と話す・緊急の連絡先・ことば) from
    messages.yaml `richmenu`: its image is drawn from those words, and it becomes every
    resident's default menu. One more menu is drawn in each language of content/languages/;
    a resident who chooses that language is given it. Uses TSUNAGU_LINE_CHANNEL_ACCESS_TOKEN
    and the API base URLs."""
    from bot.content import richmenu as layout
    from bot.content.files import ContentError
    from bot.edge.line_client import LineApiError, RichMenuClient
    from bot.platform import richmenu
    from bot.releases.load import load_content

    folder = _content_dir(directory)
    try:
        content = load_content(folder)
    except ContentError as e:
        typer.echo(f"content is not valid:\n{e}", err=True)
        raise typer.Exit(1) from e
    copy = content.messages.richmenu
    commands = {name for f in content.flows.values() for name in f.flow.globals}
    wrong = layout.problems(copy, commands)
    if wrong:
        typer.echo("content is not valid:\n" + "\n".join(wrong), err=True)
        raise typer.Exit(1)
    try:
        menus, skipped = richmenu.drawn(content, richmenu.find_fonts(font))
    except richmenu.NoFont as e:
        typer.echo(f"tsunagu: {e}", err=True)
        raise typer.Exit(2) from e
    for code in skipped:
        typer.echo(f"tsunagu: no font for the script of {code}: its residents keep the "
                   "default menu (Debian: apt-get install fonts-noto-ui-core)", err=True)
    if out is not None:
        for menu in menus:
            path = out if menu.language is None else \
                out.with_name(f"{out.stem}.{menu.language}{out.suffix}")
            path.write_bytes(menu.image)
            typer.echo(f"image: {path} ({len(menu.image)} bytes)")
    tiles = " / ".join(a.label for a in copy.areas)
    if dry_run:
        typer.echo(f"rich menus drawn, not sent (--dry-run): {tiles}; "
                   f"in {', '.join(str(m.language) for m in menus[1:]) or 'no other language'}")
        return
    try:
        settings = Settings()
    except ValueError as e:
        typer.echo(f"tsunagu: {e}", err=True)
        raise typer.Exit(2) from e
    client = RichMenuClient(base_url=settings.line_api_base_url,
                            data_base_url=settings.line_data_api_base_url,
                            access_token=settings.access_token,
                            timeout_seconds=settings.line_request_timeout_seconds)
    try:
        made = richmenu.publish_all(client, menus, replace=not keep_old)
    except LineApiError as e:
        typer.echo(f"tsunagu: LINE refused the rich menu ({e})", err=True)
        raise typer.Exit(1) from e
    finally:
        client.close()
    relinked = _relink_rich_menus(settings)
    typer.echo(f"rich menu {made[None]} is everyone's default: {tiles}")
    for language, menu_id in made.items():
        if language is not None:
            typer.echo(f"rich menu {menu_id} for residents who chose {language}")
    if relinked:
        typer.echo(f"{relinked} residents get their language's new menu from the sender")


def _relink_rich_menus(settings: Settings) -> int:
    """New menus replaced the old: residents who chose a language are linked again (LINE
    dropped their links with the old menus)."""
    from sqlalchemy.exc import SQLAlchemyError

    from bot.db.engine import make_engine, make_session_factory, transaction
    from bot.edge import richmenu_links

    engine = make_engine(settings.database_url)
    try:
        with transaction(make_session_factory(engine)) as session:
            return richmenu_links.relink_all(session)
    except SQLAlchemyError as e:  # the menus are made: say what is left to do
        typer.echo(f"tsunagu: the database was not reachable ({type(e).__name__}): residents "
                   "who chose a language keep the default menu until they choose again",
                   err=True)
        return 0
    finally:
        engine.dispose()


if __name__ == "__main__":
    app()
