"""Place versions of a page: rules per city, region, country and continent in the page
file, the page in another locale, which version a visitor sees, what is recorded, and
the admin's preview."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from conftest import ANSWERS, DEMO_PAGES, Visitor, flush_visits, hidden_fields, make_app, parse_page
from mmdb import build_city_db
from sqlalchemy import insert, select

from flask_funnel.analytics.funnel import breakdown
from flask_funnel.analytics.periods import parse_period
from flask_funnel.capture.geo import GeoLocator, Place
from flask_funnel.db.models import Consent, Lead, Submission, Visit
from flask_funnel.db.models import Visitor as VisitorRow
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.pages.versions import accept_languages, page_version, with_variant
from landing import funnel

DEMO = (DEMO_PAGES / "home-brewing.toml").read_text(encoding="utf-8")
LONDON, MANCHESTER, PARIS, TEHRAN, BERLIN, PROXY = (
    "81.2.69.160",
    "81.2.70.10",
    "90.1.2.3",
    "5.160.0.10",
    "217.0.0.1",
    "203.0.113.9",
)
LONDON_HEADLINE = "Londoner? Find your brewing method, then taste it in Shoreditch"
LONDON_OFFER = "The Home Brewing Guide (PDF) and a free tasting in Shoreditch"
PERSIAN_HEADLINE = "روش دم‌کردن قهوهٔ مخصوص صبح‌های خودتان را پیدا کنید"
PERSIAN_VARIANT_HEADLINE = "قهوهٔ بهتر در خانه با روش درست شروع می‌شود"
PERSIAN_CONSENT = "راهنما و نکته‌های هفتگی دم‌کردن قهوهٔ بِین اند بلوم را برایم ایمیل کنید."


@pytest.fixture
def geoip(tmp_path):
    return build_city_db(
        tmp_path / "city.mmdb",
        {
            "81.2.69.0/24": ("GB", "London", "ENG", "EU"),
            "81.2.70.0/24": ("GB", "Manchester", "ENG", "EU"),
            "90.1.2.0/24": ("FR", "Paris", "IDF", "EU"),
            "5.160.0.0/16": ("IR", "Tehran", "23", "AS"),
        },
    )


@pytest.fixture
def geo_app(tmp_path, geoip):
    """The demo behind one trusted proxy, with a GeoIP database: ``X-Forwarded-For``
    says where a visitor is."""
    app = make_app(tmp_path, FUNNEL_GEOIP_PATH=str(geoip), FUNNEL_PROXY_COUNT=1)
    yield app
    with app.app_context():
        funnel.db.engine.dispose()


class PlacedVisitor(Visitor):
    """A visitor at ``address`` (behind the proxy), whose browser asks for ``language``."""

    def __init__(self, client, address: str | None = None, language: str | None = None):
        super().__init__(client)
        headers = {"X-Forwarded-For": address} if address else {}
        if language:
            headers["Accept-Language"] = language
        self.headers = headers
        client.environ_base["REMOTE_ADDR"] = PROXY

    def land(self, query: str = "", **headers):
        return self.client.get(f"{self.base}{query}", headers=self.headers | headers)

    def step(self, step, answers=None, started=None):
        params = {f"q_{k}": v for k, v in (answers or {}).items()} | {"step": str(step)}
        if started:
            params["started"] = started
        return self.client.get(f"{self.base}/quiz", query_string=params, headers=self.headers)

    def contact_form(self, answers=None):
        start = self.client.get(f"{self.base}/quiz", headers=self.headers)
        answers = ANSWERS if answers is None else answers
        response = self.step(len(answers) + 1, answers, hidden_fields(start.text)["started"])
        assert response.status_code == 200, response.text
        self.contact_html = response.text
        return hidden_fields(response.text)

    def submit(self, form=None, **fields):
        data = dict(self.contact_form() if form is None else form)
        data |= {"email": "ann@example.com", "name": "Ann", "consent": "y"} | fields
        return self.client.post(
            f"{self.base}/quiz",
            data={k: v for k, v in data.items() if v is not None},
            headers=self.headers,
        )


# --- which version: precedence, field by field ---------------------------------------------

LEVELS = """
[[places]]
id = "europe"
match = { continents = ["EU"] }
hero = { headline = "H europe", body = "B europe", cta = "C europe", image_alt = "A europe" }
offer = { title = "O europe" }

[[places]]
id = "britain"
match = { countries = ["GB"] }
hero = { headline = "H britain", body = "B britain", cta = "C britain" }

[[places]]
id = "england"
match = { regions = ["GB-ENG"] }
hero = { headline = "H england", body = "B england" }
consent = { text = "England's consent", version = "eng-1" }

[[places]]
id = "london"
match = { country = "GB", cities = ["london"] }
hero = { headline = "H london" }
outcomes = [{ min_score = 5, headline = "Pour-over, Londoner" }]
"""


@pytest.fixture
def levels_page(pages_dir):
    """The demo page without its own rules, with one rule per level instead."""
    text = DEMO[: DEMO.index("[[places]]")] + LEVELS
    result = parse_page(pages_dir, text)
    assert result.errors == ()
    return result.page


@pytest.mark.parametrize(
    ("place", "expected"),
    [
        (
            Place("GB", "London", "ENG", "EU"),
            ("london", "H london", "B england", "C britain", "A europe", "O europe", "eng-1"),
        ),
        (
            Place("GB", "Manchester", "ENG", "EU"),
            ("england", "H england", "B england", "C britain", "A europe", "O europe", "eng-1"),
        ),
        (
            Place("GB", "Edinburgh", "SCT", "EU"),
            ("britain", "H britain", "B britain", "C britain", "A europe", "O europe", None),
        ),
        (
            Place("FR", "Paris", "IDF", "EU"),
            ("europe", "H europe", "B europe", "C europe", "A europe", "O europe", None),
        ),
        (Place("US", "London", None, "NA"), (None, None, None, None, None, None, None)),
        (Place(), (None, None, None, None, None, None, None)),
        (None, (None, None, None, None, None, None, None)),
    ],
)
def test_the_most_specific_rule_wins_field_by_field(levels_page, place, expected):
    version = page_version(levels_page, place, None)
    default = levels_page
    version_id, headline, body, cta, alt, offer, consent = expected
    assert version.place_version == version_id
    assert version.hero.headline == (headline or default.hero.headline)
    assert version.hero.body == (body or default.hero.body)
    assert version.hero.cta == (cta or default.hero.cta)
    assert version.hero.image_alt == (alt or default.hero.image_alt)
    assert version.hero.image == default.hero.image  # no rule changes it
    assert version.offer.title == (offer or default.offer.title)
    assert version.offer.file == default.offer.file
    assert version.consent.version == (consent or default.consent.version)
    assert version.consent.purpose == default.consent.purpose
    pour_over = version.outcome_for(6)
    assert pour_over.headline == (
        "Pour-over, Londoner" if version_id == "london" else default.outcome_for(6).headline
    )
    assert pour_over.body == default.outcome_for(6).body
    assert version.locale == "en" and version.questions == default.questions


def test_the_variant_changes_the_hero_of_the_place_version(levels_page):
    london = page_version(levels_page, Place("GB", "London", "ENG", "EU"), None)
    a, b = (with_variant(london, v.id) for v in london.variants)
    assert a.hero == london.hero and a.variant == "a"  # the control: the place version
    assert b.hero.headline == "Better coffee at home starts with the right method"
    assert b.hero.body == "B england"  # what the variant leaves alone stays the place's


def test_a_version_is_built_once_and_then_cached(levels_page):
    london = Place("GB", "London", "ENG", "EU")
    first = page_version(levels_page, london, None)
    assert page_version(levels_page, Place("GB", "LONDON", "ENG", "EU"), None) is first
    assert page_version(levels_page, Place(), None) is levels_page


# --- locales -------------------------------------------------------------------------------


def test_a_rule_that_switches_the_locale_serves_every_text_in_it(pages_dir):
    page = parse_page(pages_dir, DEMO).page
    persian = page_version(page, Place("IR", "Tehran", "23", "AS"), accept_languages("en"))
    assert (persian.locale, persian.place_version) == ("fa", "persian")
    assert persian.hero.headline == PERSIAN_HEADLINE
    assert persian.questions[1].choices[3].label == "فقط آخر هفته‌ها"
    assert persian.outcomes[2].headline == "اسپرسوی خانگی مال شماست"
    assert persian.consent.version == "2026-11-01-fa"
    assert with_variant(persian, "b").hero.cta == "روش من را در ۳۰ ثانیه پیدا کنید"
    assert [c.points for c in persian.questions[0].choices] == [2, 2, 1, 3]  # scoring stays


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("fa", "fa"),
        ("fa-IR,fa;q=0.9,en;q=0.5", "fa"),
        ("en-GB,en;q=0.9,fa;q=0.8", "en"),
        ("de-DE,de;q=0.9", "en"),
        (None, "en"),
    ],
)
def test_without_a_place_the_browser_picks_among_the_page_locales(pages_dir, header, locale):
    page = parse_page(pages_dir, DEMO).page
    version = page_version(page, Place(), accept_languages(header) if header else None)
    assert version.locale == locale
    assert version.place_version is None


def test_a_rule_texts_apply_only_to_visitors_reading_its_locale(pages_dir):
    page = parse_page(pages_dir, DEMO).page
    london = Place("GB", "London", "ENG", "EU")
    english = page_version(page, london, accept_languages("en"))
    assert (english.hero.headline, english.place_version) == (LONDON_HEADLINE, "london")
    persian = page_version(page, london, accept_languages("fa"))
    assert (persian.hero.headline, persian.place_version) == (PERSIAN_HEADLINE, None)


# --- page file rules -----------------------------------------------------------------------

RULE = '[[places]]\nid = "x"\n'


@pytest.mark.parametrize(
    ("added", "expected"),
    [
        (
            RULE + 'match = { countries = ["XX"] }',
            "places[3].match.countries[1]: 'XX' is not an ISO 3166-1",
        ),
        (
            RULE + 'match = { countries = ["GB", "ir"] }',
            "places[3].match.countries[2]: 'IR' is already matched by places[2] ('persian')",
        ),
        (
            RULE + 'match = { continents = ["EU", "XY"] }',
            "places[3].match.continents[2]: 'XY' is not a continent code",
        ),
        (
            RULE + 'match = { regions = ["GB-XXX"] }',
            "places[3].match.regions[1]: 'GB-XXX' is not an ISO 3166-2",
        ),
        (RULE + 'match = { cities = ["Paris"] }', "places[3].match.country: is required"),
        (
            RULE + 'match = { country = "GB", cities = ["LONDON"] }',
            "places[3].match.cities[1]: 'LONDON, GB' is already matched by places[1] ('london')",
        ),
        (
            RULE + 'match = { countries = ["FR"], continents = ["EU"] }',
            "places[3].match: give exactly one of",
        ),
        (
            RULE + 'match = { countries = ["FR"] }\nconsent = { text = "Oui" }',
            "places[3].consent.version: is required",
        ),
        (
            RULE + 'match = { countries = ["FR"] }\noffer = { code = "X" }',
            "places[3].offer.code: the page's offer is a 'download' one: give file",
        ),
        (
            RULE + 'match = { countries = ["FR"] }\nlocale = "de"',
            "places[3].locale: 'de' is not one of this page's locales",
        ),
        (
            RULE + 'match = { countries = ["FR"] }\noutcomes = [{ min_score = 3, headline = "H" }]',
            "places[3].outcomes[1].min_score: no outcome of the page has min_score 3",
        ),
        (
            RULE + 'match = { countries = ["FR"] }\nhero = { tagline = "T" }',
            "places[3].hero.tagline: is not a known field",
        ),
        (
            '[[places]]\nid = "london"\nmatch = { countries = ["FR"] }',
            "places[3].id: 'london' is already the id of places[1]",
        ),
    ],
)
def test_broken_place_rules_name_the_file_and_the_field(pages_dir, added, expected):
    result = parse_page(pages_dir, DEMO + "\n" + added + "\n")
    assert result.page is None
    assert any(expected in error for error in result.errors), result.errors
    assert all(error.split(": ")[0].endswith("broken.toml") for error in result.errors)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            ', weekend = "فقط آخر هفته‌ها" }',
            " }",
            "locales.fa.questions.time.choices.weekend: is required",
        ),
        ('cta = "شروع آزمون ۳۰ ثانیه‌ای"\n', "", "locales.fa.hero.cta: is required"),
        ('version = "2026-11-01-fa"', "", "locales.fa.consent.version: is required"),
        (
            '[locales.fa.questions.gear]\ntext = "در خانه چه وسایلی دارید؟"',
            '[locales.fa.questions.gears]\ntext = "?"',
            "locales.fa.questions.gear: is required",
        ),
        (
            'min_score = 8\nheadline = "اسپرسوی',
            'min_score = 9\nheadline = "اسپرسوی',
            "locales.fa.outcomes: the outcome with min_score 8 is not translated",
        ),
        (
            "[locales.fa.variants.b]",
            "[locales.fa.variants.c]",
            "locales.fa.variants.b.headline: is required",
        ),
        ("[locales.fa]", "[locales.de]", "locales.de: 'de' is not supported"),
    ],
)
def test_a_locale_must_give_every_text_of_the_page(pages_dir, old, new, expected):
    assert old in DEMO
    result = parse_page(pages_dir, DEMO.replace(old, new, 1))
    assert result.page is None
    assert any(expected in error for error in result.errors), result.errors


# --- through the app -----------------------------------------------------------------------


def test_visitors_in_iran_get_the_persian_page_and_quiz(geo_app):
    visitor = PlacedVisitor(geo_app.test_client(), TEHRAN, "en-US,en;q=0.9")
    landing = visitor.land()
    assert '<html lang="fa" dir="rtl">' in landing.text
    assert PERSIAN_HEADLINE in landing.text or PERSIAN_VARIANT_HEADLINE in landing.text
    assert "Accept-Language" in landing.headers["Vary"]
    step = visitor.step(1)
    assert '<html lang="fa" dir="rtl">' in step.text
    assert "قهوه‌تان را چطور دوست دارید؟" in step.text and "تلخ و ساده" in step.text
    assert "بعدی" in step.text and "قبلی" in step.text
    missing = visitor.step(2)  # no answer to the first question
    assert missing.status_code == 422 and "لطفاً یک گزینه را انتخاب کنید." in missing.text
    form = visitor.contact_form()
    assert PERSIAN_CONSENT in visitor.contact_html
    no_email = visitor.submit(form, email="")
    assert no_email.status_code == 422 and "لطفاً ایمیل خود را وارد کنید." in no_email.text
    done = visitor.submit(form)
    assert done.status_code == 303
    result = geo_app.test_client().get(done.headers["Location"], headers=visitor.headers)
    assert '<html lang="fa" dir="rtl">' in result.text
    assert "شما اهل پوراُور هستید" in result.text and "دریافت راهنما" in result.text
    with geo_app.app_context():
        lead = funnel.db.session.scalars(select(Lead)).one()
        consent = funnel.db.session.scalars(select(Consent)).one()
    assert (lead.locale, lead.place_version, lead.country) == ("fa", "persian", "IR")
    assert consent.text_version == "2026-11-01-fa" and consent.text.startswith(PERSIAN_CONSENT)


def test_the_browser_language_picks_the_locale_when_no_rule_does(geo_app):
    persian = PlacedVisitor(geo_app.test_client(), PARIS, "fa-IR,fa;q=0.9").land()
    assert '<html lang="fa" dir="rtl">' in persian.text
    english = PlacedVisitor(geo_app.test_client(), PARIS, "de").land()
    assert '<html lang="en" dir="ltr">' in english.text


def test_unknown_and_missing_places_get_the_default_version(geo_app, tmp_path):
    for address in (BERLIN, "10.0.0.1", None):  # not in the database, private, none
        page = PlacedVisitor(geo_app.test_client(), address).land()
        assert page.status_code == 200
        assert LONDON_HEADLINE not in page.text and '<html lang="en" dir="ltr">' in page.text
    flush_visits(geo_app)
    with geo_app.app_context():
        versions = funnel.db.session.scalars(select(Visit.place_version)).all()
    assert versions == [None, None, None]
    (tmp_path / "plain").mkdir()
    no_geoip = make_app(tmp_path / "plain").test_client()
    assert LONDON_HEADLINE not in no_geoip.get("/p/home-brewing").text


def test_a_london_quiz_becomes_a_lead_with_its_place_version(geo_app):
    visitor = PlacedVisitor(geo_app.test_client(), LONDON)
    landing = visitor.land()
    assert LONDON_HEADLINE in landing.text or "Better coffee at home starts" in landing.text
    assert LONDON_OFFER in landing.text
    done = visitor.submit()
    assert done.status_code == 303
    result = visitor.client.get(done.headers["Location"], headers=visitor.headers)
    assert LONDON_OFFER in result.text
    PlacedVisitor(geo_app.test_client(), MANCHESTER).land()
    flush_visits(geo_app)
    with geo_app.app_context():
        session = funnel.db.session
        visits = session.execute(select(Visit.city, Visit.place_version).order_by(Visit.id)).all()
        visitors = session.execute(
            select(VisitorRow.city, VisitorRow.place_version).order_by(VisitorRow.city)
        ).all()
        lead = session.scalars(select(Lead)).one()
    assert visits == [("London", "london"), ("Manchester", None)]
    assert visitors == [("London", "london"), ("Manchester", None)]
    assert (lead.place_version, lead.city, lead.locale) == ("london", "London", "en")


def test_the_contact_form_keeps_the_version_it_was_shown_in(geo_app):
    """The consent stored is the one the visitor saw, even if their address changes."""
    client = geo_app.test_client()
    form = PlacedVisitor(client, TEHRAN).contact_form()
    moved = PlacedVisitor(client, LONDON)
    assert moved.submit(form).status_code == 303
    with geo_app.app_context():
        consent = funnel.db.session.scalars(select(Consent)).one()
        submission = funnel.db.session.scalars(select(Submission)).one()
    assert consent.text_version == "2026-11-01-fa"
    assert submission.locale == "fa"
    forged = PlacedVisitor(client, TEHRAN).contact_form() | {"version": "forged"}
    assert PlacedVisitor(client, LONDON).submit(forged, email="bo@example.com").status_code == 303
    with geo_app.app_context():
        versions = funnel.db.session.scalars(select(Consent.text_version)).all()
    assert sorted(versions) == ["2026-11-01", "2026-11-01-fa"]  # forged: derived again


def test_place_versions_are_a_breakdown_of_the_report(app):
    engine = app.extensions["funnel"].engine
    now = datetime.now(UTC) - timedelta(hours=1)
    rows = [("london", 3), ("persian", 2), (None, 4)]
    with writing(engine) as connection:
        n = 0
        for version, count in rows:
            for _ in range(count):
                n += 1
                connection.execute(
                    insert(Lead.__table__),
                    {
                        "email": f"p{n}@example.com",
                        "stage": "lead",
                        "stage_changed_at": now,
                        "created_at": now,
                        "updated_at": now,
                        "quarantined": False,
                        "landing_page": "home-brewing",
                        "place_version": version,
                    },
                )
    with engine.connect() as connection:
        result = breakdown(
            connection, parse_period(None, None, ZoneInfo("UTC")), "place_version", 1
        )
    assert [(g["label"], g["stages"][0]["reached"]) for g in result["groups"]] == [
        ("home-brewing / default", 4),
        ("home-brewing / london", 3),
        ("home-brewing / persian", 2),
    ]


# --- the admin's preview ------------------------------------------------------------------


def test_the_preview_needs_an_admin(client):
    response = client.get("/p/admin/preview?page=home-brewing&country=IR")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_the_preview_shows_the_rule_that_matched_and_the_texts(admin_client):
    page = admin_client.get("/p/admin/preview?page=home-brewing&country=IR&accept_language=en")
    assert page.status_code == 200
    html = page.text
    assert re.search(
        r"places\[2\] persian</th>\s*<td>country</td><td>fa</td>\s*<td><span class=\"tag\">applies",
        html,
    )
    assert "the visitor&#39;s country IR is in its match" in html
    assert "no: the visitor&#39;s city is unknown" in html
    assert 'fa <span class="muted">(from place rule)</span>' in html
    assert PERSIAN_HEADLINE in html and "locales.fa" in html
    london = admin_client.get(
        "/p/admin/preview?page=home-brewing&country=gb&city=London&region=ENG"
    )
    assert LONDON_HEADLINE in london.text and "places[1] (london)" in london.text
    assert "<dt>Place version</dt><dd>london</dd>" in london.text


def test_the_preview_escapes_the_page_texts(tmp_path, pages_dir, sign_in_admin):
    path = pages_dir / "home-brewing.toml"
    path.write_text(DEMO.replace(LONDON_HEADLINE, "<script>alert(1)</script>"), encoding="utf-8")
    app = make_app(tmp_path, FUNNEL_PAGES_DIR=str(pages_dir))
    client = sign_in_admin(app.test_client())
    html = client.get("/p/admin/preview?page=home-brewing&country=GB&city=London").text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("country=ZZ", "country", "&#39;ZZ&#39; is not an ISO 3166-1 alpha-2 country code."),
        ("region=ENG", "region", "Give the region&#39;s country too."),
        ("country=GB&region=XXX", "region", "&#39;GB-XXX&#39; is not an ISO 3166-2 region code."),
        ("city=London", "city", "Give the city&#39;s country too."),
        ("address=nonsense", "address", "This is not an IP address."),
        ("address=10.1.2.3", "address", "A private or local address has no place"),
        ("address=81.2.69.160&country=GB", "address", "Give an address or a place, not both."),
        ("address=81.2.69.160", "address", "No GeoIP database is set"),
    ],
)
def test_the_preview_form_shows_errors_beside_the_fields(admin_client, query, field, message):
    response = admin_client.get(f"/p/admin/preview?page=home-brewing&{query}")
    assert response.status_code == 422
    assert f'<p class="error" id="{field}-error">{message}' in response.text


def test_the_preview_looks_up_an_address_and_its_link_records_nothing(geo_app, sign_in_admin):
    client = sign_in_admin(geo_app.test_client())
    page = client.get(f"/p/admin/preview?page=home-brewing&address={TEHRAN}")
    assert page.status_code == 200 and "IR (Iran)" in page.text
    link = re.search(r'href="(/p/home-brewing\?preview=[^"]+)"', page.text).group(1)
    link = link.replace("&amp;", "&")
    opened = client.get(link, headers={"X-Forwarded-For": LONDON})
    assert opened.status_code == 200
    assert '<html lang="fa" dir="rtl">' in opened.text and PERSIAN_HEADLINE in opened.text
    token = link.split("preview=")[1]
    assert f"preview={token}" in opened.text  # the quiz link keeps the preview
    step = client.get(f"/p/home-brewing/quiz?step=1&preview={token}")
    assert "بعدی" in step.text and f'name="preview" value="{token}"' in step.text
    form = hidden_fields(
        client.get(
            "/p/home-brewing/quiz",
            query_string={
                "preview": token,
                "step": "4",
                **{f"q_{k}": v for k, v in ANSWERS.items()},
            },
        ).text
    )
    posted = client.post(
        f"/p/home-brewing/quiz?preview={token}",
        data=form | {"email": "admin-test@example.com", "consent": "y"},
    )
    assert posted.status_code == 200 and "این یک پیش‌نمایش است" in posted.text
    flush_visits(geo_app)
    with geo_app.app_context():
        session = funnel.db.session
        assert session.scalars(select(Visit)).all() == []
        assert session.scalars(select(Lead)).all() == []
    stranger = geo_app.test_client().get(link)
    assert stranger.status_code == 403
    forged = client.get("/p/home-brewing?preview=forged")
    assert forged.status_code == 403


def test_geoip_gives_the_region_and_continent(geoip):
    assert GeoLocator(geoip).locate(LONDON) == Place("GB", "London", "ENG", "EU")
