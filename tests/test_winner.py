"""Making an A/B test's winner the page's default from the admin: the page file is
rewritten so every visitor, in every language, sees what the winner's visitors saw; the
test ends; comments stay; nothing is written without CSRF, over a file changed since,
or when the site owner keeps page files read-only."""

from __future__ import annotations

import pytest
from conftest import EVERY_PART, PHONE_BROWSER, hidden_fields, make_app, signed_in_admin
from sqlalchemy import select

from flask_funnel.db.models import AuditEntry
from flask_funnel.pages.parser import PageParser
from flask_funnel.pages.versions import accept_languages, page_version, with_variant
from flask_funnel.pages.winner import WinnerError, fingerprint, plan, write

URL = "/p/admin/pages/home-brewing/variants/{}/make-default"
SHOWN = ("title", "description", "hero", "offer", "consent", "questions", "outcomes")


def _parser(pages_dir):
    return PageParser(pages_dir / "assets", pages_dir / "offers")


def _page(pages_dir):
    return _parser(pages_dir).parse_file(pages_dir / "home-brewing.toml").page


@pytest.mark.parametrize("variant", ["a", "b"])
@pytest.mark.parametrize("source", [False, True], ids=["demo", "every-part"])
def test_the_new_file_shows_the_winner_in_every_language(request, variant, source):
    pages_dir = request.getfixturevalue("every_part_pages" if source else "pages_dir")
    path, before = pages_dir / "home-brewing.toml", _page(pages_dir)
    promotion = plan(path, before, variant, _parser(pages_dir))
    write(promotion, promotion.fingerprint)
    after = _page(pages_dir)
    assert after is not None and after.variants == ()
    for language in ("en", "fa"):
        saw = with_variant(page_version(before, None, accept_languages(language)), variant)
        now = page_version(after, None, accept_languages(language))
        assert now.locale == saw.locale == language
        for field in SHOWN:
            assert getattr(now, field) == getattr(saw, field), (language, field)
    text = path.read_text(encoding="utf-8")
    assert "[[variants]]" not in text and "[locales.fa.variants" not in text
    assert text.startswith("# A landing page of the demo site.")  # comments are kept
    assert "# Versions for places (GeoIP)" in text


def test_a_place_rule_that_sets_the_same_field_is_named(pages_dir):
    promotion = plan(pages_dir / "home-brewing.toml", _page(pages_dir), "b", _parser(pages_dir))
    assert ("places[1] (london)", "hero.headline") in promotion.kept_by_places


def test_a_file_changed_since_the_diff_is_not_overwritten(pages_dir):
    path = pages_dir / "home-brewing.toml"
    page = _page(pages_dir)
    promotion = plan(path, page, "b", _parser(pages_dir))
    edited = path.read_text(encoding="utf-8").replace("Bean & Bloom", "Bean and Bloom")
    path.write_text(edited, encoding="utf-8")
    with pytest.raises(WinnerError, match="has changed since you saw the change"):
        write(promotion, fingerprint(edited))
    assert path.read_text(encoding="utf-8") == edited
    with pytest.raises(WinnerError, match="has changed since the site read it"):
        plan(path, page, "b", _parser(pages_dir))  # the site has not read the edit yet


# --- the admin's screen ---------------------------------------------------------------


@pytest.fixture
def site(tmp_path, every_part_pages):
    return make_app(tmp_path, FUNNEL_PAGES_DIR=str(every_part_pages))


def test_the_admin_makes_the_winner_the_default(site, every_part_pages):
    admin = signed_in_admin(site)
    shown = admin.get(URL.format("b"))
    assert shown.status_code == 200, shown.text
    assert "+title = &#34;The espresso crib sheet&#34;" in shown.text.replace("  ", "")
    assert "Write the page file" in shown.text
    response = admin.post(URL.format("b"), data=hidden_fields(shown.text))
    assert response.status_code == 303
    assert response.location.endswith("/p/admin/pages/home-brewing")
    report = admin.get(response.location).text
    assert "now gives every visitor variant b" in report
    assert "This page runs no test." in report
    visitor = site.test_client()
    visitor.environ_base["HTTP_USER_AGENT"] = PHONE_BROWSER
    assert (
        "Better coffee at home starts with the right method" in visitor.get("/p/home-brewing").text
    )
    with site.extensions["funnel"].engine.connect() as connection:
        entry = connection.execute(
            select(AuditEntry.action, AuditEntry.detail, AuditEntry.actor)
        ).all()[-1]
    assert entry.action == "page_change"
    assert entry.detail == "variant b made the default of home-brewing (home-brewing.toml)"


def test_nothing_is_written_without_the_csrf_token_or_over_a_newer_file(site, every_part_pages):
    path = every_part_pages / "home-brewing.toml"
    admin = signed_in_admin(site)
    fields = hidden_fields(admin.get(URL.format("b")).text)
    refused = admin.post(URL.format("b"), data={"seen": fields["seen"]})
    assert refused.status_code == 400
    stale = admin.post(URL.format("b"), data=fields | {"seen": "0" * 64})
    assert stale.status_code == 409 and "review it again" in stale.text
    assert path.read_text(encoding="utf-8") == EVERY_PART


def test_a_read_only_site_shows_the_change_to_make_by_hand(tmp_path, every_part_pages):
    site = make_app(tmp_path, FUNNEL_PAGES_DIR=str(every_part_pages), FUNNEL_PAGES_WRITABLE=False)
    admin = signed_in_admin(site)
    shown = admin.get(URL.format("b"))
    assert shown.status_code == 200
    assert "make this change in the file yourself" in shown.text
    assert "Write the page file" not in shown.text
    assert "<textarea readonly" in shown.text
    token = hidden_fields(shown.text)["csrf_token"]  # the sign-out form's
    forged = {"csrf_token": token, "seen": fingerprint(EVERY_PART)}
    posted = admin.post(URL.format("b"), data=forged)
    assert posted.status_code == 409 and "may not write" in posted.text
    assert (every_part_pages / "home-brewing.toml").read_text(encoding="utf-8") == EVERY_PART


def test_only_a_signed_in_admin_reaches_it_and_only_for_a_real_variant(site):
    assert site.test_client().get(URL.format("b")).status_code in (302, 303)
    admin = signed_in_admin(site)
    assert admin.get(URL.format("zz")).status_code == 404
    assert admin.get("/p/admin/pages/nope/variants/b/make-default").status_code == 404


def test_the_page_report_links_each_variant_to_it(site):
    admin = signed_in_admin(site)
    report = admin.get("/p/admin/pages/home-brewing").text
    assert URL.format("a") in report and URL.format("b") in report
    assert "offer.file" in report  # what each variant changes


def test_the_cli_lists_variants_shows_the_change_and_writes_it(tmp_path, every_part_pages):
    runner = make_app(tmp_path, FUNNEL_PAGES_DIR=str(every_part_pages)).test_cli_runner()
    listed = runner.invoke(args=["funnel", "pages"])
    assert "variant a (50): -" in listed.output
    assert "variant b (50): hero.headline, hero.cta, offer.title" in listed.output
    shown = runner.invoke(args=["funnel", "make-default", "home-brewing", "b"])
    assert shown.exit_code == 0, shown.output
    assert '+title = "The espresso crib sheet"' in shown.output
    path = every_part_pages / "home-brewing.toml"
    assert path.read_text(encoding="utf-8") == EVERY_PART  # shown, not written
    unknown = runner.invoke(args=["funnel", "make-default", "home-brewing", "zz"])
    assert unknown.exit_code == 1 and "has no variant 'zz'" in unknown.output
    written = runner.invoke(args=["funnel", "make-default", "home-brewing", "b", "--write"])
    assert written.exit_code == 0, written.output
    assert "[[variants]]" not in path.read_text(encoding="utf-8")


def test_line_endings_and_comments_of_other_tables_are_kept(pages_dir):
    path = pages_dir / "home-brewing.toml"
    text = path.read_text(encoding="utf-8").replace(
        "# An A/B test:", '# body = "an older text, kept for later"\n\n# An A/B test:'
    )
    path.write_bytes(text.replace("\n", "\r\n").encode("utf-8"))
    page = _page(pages_dir)
    promotion = plan(path, page, "b", _parser(pages_dir))
    write(promotion, promotion.fingerprint)
    after = path.read_bytes().decode("utf-8")
    assert "\r\n" in after and "\n" not in after.replace("\r\n", "")
    assert '# body = "an older text, kept for later"' in after  # above a blank line
    assert "# An A/B test:" not in after  # right above the test: it goes with it
    assert _page(pages_dir).variants == ()
