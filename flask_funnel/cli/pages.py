"""``flask funnel pages``: every page file, valid or not, with its errors; and
``flask funnel make-default``: an A/B test's winner made the page's own."""

from __future__ import annotations

import sys

import click
from flask import current_app, url_for
from flask.cli import with_appcontext

from flask_funnel.cli.group import funnel_cli
from flask_funnel.cli.terminal import columns, echo, printable
from flask_funnel.pages.fields import display_path
from flask_funnel.pages.winner import WinnerError, plan, write
from flask_funnel.state import current_funnel
from flask_funnel.views.conflicts import route_conflicts


@funnel_cli.command("pages")
@with_appcontext
def list_pages() -> None:
    """List every page file: slug, URL and whether it is valid (an invalid file that was
    valid before is STALE: its last good version is served); and any route of the app that
    hides a funnel page (exit 1 if a file is invalid or a page is hidden)."""
    state = current_funnel()
    files = state.pages.files()
    conflicts = route_conflicts(
        current_app, state.settings.url_prefix, [page.slug for page in state.pages.pages()]
    )
    for conflict in conflicts:
        click.echo(f"HIDDEN   {conflict}", err=True)
    if not files:
        click.echo(f"No page files in {state.pages.pages_dir}")
        sys.exit(1 if conflicts else 0)
    broken = 0
    for page_file, heading in zip(files, columns(map(_heading, files)), strict=True):
        click.echo(heading)
        if page_file.page is not None:
            page = page_file.page
            click.echo(f"         locales: {', '.join(page.offered_locales)}")
            for rule in page.places:
                locale = f" -> {rule.locale}" if rule.locale else ""
                keys = ", ".join(sorted(rule.keys))
                click.echo(f"         place {rule.id}: {rule.level} {keys}{locale}")
            if page.confirm and not state.settings.mail_from:
                click.echo(
                    "         confirm = true, but FUNNEL_MAIL_FROM is not set: "
                    "sign-ups are not asked to confirm"
                )
            for variant in page.variants:
                changes = ", ".join(".".join(map(str, path)) for path, _ in variant.changes)
                click.echo(f"         variant {variant.id} ({variant.weight}): {changes or '-'}")
            continue
        broken += 1
        if page_file.last_good is not None:
            click.echo("         visitors get its last good version until these are fixed:")
        for error in page_file.errors:
            echo(f"         {error}")
    if broken:
        click.echo(f"{broken} of {len(files)} page files are invalid.", err=True)
    if broken or conflicts:
        sys.exit(1)


def _heading(page_file) -> tuple[str, str, str, str]:
    """A page file's line: its state (padded so the slug starts where the lines under it
    do), slug, URL and file name."""
    if page_file.page is not None:
        state, page = "ok", page_file.page
    elif page_file.last_good is not None:
        state, page = "STALE", page_file.last_good
    else:
        return "INVALID", "-", "-", page_file.path.name
    return f"{state:<7}", page.slug, _page_url(page.slug), page_file.path.name


def _page_url(slug: str) -> str:
    with current_app.test_request_context():
        return url_for("funnel.landing", slug=slug)


@funnel_cli.command("make-default")
@click.argument("slug")
@click.argument("variant")
@click.option(
    "--write", "write_file", is_flag=True, help="Write the page file (else show the change)."
)
@with_appcontext
def make_default(slug: str, variant: str, write_file: bool) -> None:
    """Make VARIANT of page SLUG's A/B test the page's own: show the page file's change
    as a diff (every language; the test ends), and write it with --write."""
    state = current_funnel()
    page_file = next((f for f in state.pages.files() if f.page and f.page.slug == slug), None)
    if page_file is None:
        raise click.ClickException(f"no valid page file has the slug {slug!r}")
    try:
        promotion = plan(page_file.path, page_file.page, variant, state.pages.parser)
        if write_file:
            write(promotion, promotion.fingerprint)
    except WinnerError as error:
        raise click.ClickException(str(error)) from None
    click.echo(printable(promotion.diff), nl=False)
    for rule, field in promotion.kept_by_places:
        click.echo(f"note: {rule} sets {field} too: its visitors keep the place's value", err=True)
    if write_file:
        click.echo(f"wrote {display_path(promotion.path)}", err=True)
