"""Property-based: arbitrary form posts, JSON bodies, query strings, headers and page
files at every route. The only answers are 2xx, 3xx and the 4xx a client can cause
(400, 401, 403, 404, 405, 413, 422, 429), never a 500; nothing malformed is stored; a
broken page file is named by file and field, never a traceback.

One app per database for the module, on SQLite and PostgreSQL (the database that
refuses the most; MariaDB's refusals are a subset of its own, checked by
test_hostile_input.py), or on the server of a server pass (FUNNEL_TEST_DATABASE); each
property tries a bounded number of examples (no deadline: a database server answers at
its own pace). FUNNEL_PROPERTY_EXAMPLES=500 tries more."""

from __future__ import annotations

import json
import os
import re
import uuid
from urllib.parse import quote

import pytest
from conftest import (
    ADMIN_EMAIL,
    ANSWERS,
    BACKENDS,
    DATABASE,
    DEMO_PAGES,
    Visitor,
    hidden_fields,
    make_app,
    signed_in_admin,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import String, select

from flask_funnel.db.models import Lead, metadata
from flask_funnel.pages.fields import display_path
from flask_funnel.pages.parser import PageParser
from landing import funnel

API_TOKEN = "property-token"
#: What a client may be answered besides 2xx and 3xx.
CLIENT_ERRORS = {400, 401, 403, 404, 405, 413, 422, 429}

PROPERTY = settings(
    max_examples=int(os.environ.get("FUNNEL_PROPERTY_EXAMPLES", "25")),
    deadline=None,
    database=None,  # nothing written into the checkout
    suppress_health_check=[HealthCheck.too_slow],
)

#: Values that broke something once, or could: what databases refuse, numbers and days
#: past their ranges, markup, injections, other scripts, line breaks.
AWKWARD = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\r\n",
    "\t",
    "\u202e",
    "\ufeff",
    "\U0001f600",
    "سلام",
    "x" * 300,
    "y" * 5000,
    "0",
    "-1",
    "99999999999999999999",
    "9223372036854775808",
    "1e400",
    "NaN",
    "0000-01-01",
    "1969-12-31",
    "9999-12-31",
    "99999-01-01",
    "2026-02-30",
    "2026-01-01T00:00:00+00:00_1",
    "<script>alert(1)</script>",
    "'); DROP TABLE funnel_leads;--",
    "%00",
    "../../etc/passwd",
    "//evil.example",
    "ann@example.com",
    "ANN@Example.COM ",
    "home-brewing",
    "qahve-dam",
    "custom",
    "black",
    "y",
]
# Form and query values: any text a browser can send (a surrogate cannot be sent).
text = st.one_of(st.sampled_from(AWKWARD), st.text(max_size=40))
# Header values: what HTTP carries (Latin-1, no line breaks).
header_text = st.one_of(
    st.sampled_from(["", "\u00e9", "x" * 2000, "fa-IR,fa;q=0.9,*;q=0.1", "1.2.3.4, ::1"]),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f")),
)
# JSON values: anything, lone surrogates and NUL included.
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.sampled_from([*AWKWARD, "\ud800", "a\udfffb"]),
    st.text(max_size=40),
)
json_value = st.recursive(
    json_scalar,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def with_nul(value: str) -> str:
    return f"{value[:1]}\x00{value[1:]}"


def field(*valid):
    """A field's values: one it takes, the same with a NUL inside, or any text."""
    good = st.sampled_from([str(v) for v in valid])
    return st.one_of(good, good.map(with_nul), text)


def fields(**valid):
    """A form or query string: some of its own fields (each as ``field``), now and then
    one it does not know."""
    own = st.fixed_dictionaries({}, optional={k: field(*v) for k, v in valid.items()})
    other = st.dictionaries(st.text(max_size=10), text, max_size=1)
    return st.tuples(own, other).map(lambda pair: pair[1] | pair[0])


def segment(value: str) -> str:
    """``value`` as one path segment of a URL."""
    return quote(value, safe="") or "x"


def headers():
    return (
        fields(
            **{
                "User-Agent": ["Mozilla/5.0 (iPhone)", "Googlebot", ""],
                "Referer": ["https://news.example/a", "http://[::1/", "https://www.localhost/"],
                "Accept-Language": ["fa-IR,fa;q=0.9", "de, en;q=0.5", "*"],
                "X-Forwarded-For": ["203.0.113.9", "::1", "999.1.1.1, 10.0.0.1"],
                "Accept": ["application/json", "text/html"],
            }
        )
        .map(lambda h: {k: v for k, v in h.items() if "\n" not in v and "\r" not in v})
        .map(lambda h: {k: v.encode("latin-1", "replace").decode("latin-1") for k, v in h.items()})
    )


def check(response) -> None:
    status = response.status_code
    assert 200 <= status < 400 or status in CLIENT_ERRORS, (status, response.text[:500])


# --- the app, its admin and a lead ------------------------------------------------


@pytest.fixture(scope="module", params=[b for b in BACKENDS if b != "mariadb" or b == DATABASE])
def app(request, module_database, tmp_path_factory):
    app = make_app(
        tmp_path_factory.mktemp(request.param),
        SQLALCHEMY_DATABASE_URI=module_database(request.param),
        FUNNEL_API_TOKEN=API_TOKEN,
        FUNNEL_VISIT_FLUSH_SECONDS=0,  # each view written in its request
        FUNNEL_RATELIMIT_ENABLED=False,  # every example reaches the view
    )
    yield app
    with app.app_context():
        funnel.db.engine.dispose()


@pytest.fixture(scope="module")
def admin(app):
    """A client signed in to the admin area."""
    return signed_in_admin(app)


@pytest.fixture(scope="module")
def contact(app):
    """A visitor at the quiz's contact step, and that form's fields."""
    visitor = Visitor(app.test_client())
    return visitor, visitor.contact_form()


@pytest.fixture(scope="module")
def lead(app, contact):
    """A lead (its id, email and result link) for the admin, the API and the visitor."""
    visitor, form = contact
    email = f"property-{uuid.uuid4().hex[:8]}@example.com"
    response = visitor.submit(dict(form, key=uuid.uuid4().hex), email=email)
    assert response.status_code == 303
    with app.app_context():
        lead_id = funnel.db.session.scalar(select(Lead.id).where(Lead.email == email))
    return lead_id, email, response.headers["Location"]


# --- public pages -----------------------------------------------------------------

UTM = {k: ["news", "Podcast", "x" * 255] for k in ("utm_source", "utm_medium", "utm_campaign")}
UTM |= {"utm_term": ["beans"], "utm_content": ["hero"], "preview": ["x.y"]}
CHOICES = ["black", "milk", "iced", "espresso", "1min", "5min", "10min", "none", "grinder"]
QUIZ = {f"q_{k}": CHOICES for k in ANSWERS} | {
    "step": ["1", "2", "3", "4", "99999999999999999999"],
    "google": ["off"],
    "google_error": ["expired", "denied"],
}
SLUGS = ["home-brewing", "qahve-dam"]


@PROPERTY
@given(slug=st.sampled_from(SLUGS) | text, args=fields(**UTM), head=headers())
def test_any_landing_page_view(app, slug, args, head):
    check(app.test_client().get(f"/p/{segment(slug)}", query_string=args, headers=head))


@PROPERTY
@given(slug=st.sampled_from(SLUGS), args=fields(**QUIZ, started=["x"]), head=headers())
def test_any_quiz_step(app, contact, slug, args, head):
    if args.get("started") == "x":
        args["started"] = contact[1]["started"]  # a real start stamp
    check(app.test_client().get(f"/p/{slug}/quiz", query_string=args, headers=head))


@PROPERTY
@given(
    changes=fields(
        **{f"q_{k}": [v, "espresso"] for k, v in ANSWERS.items()},
        email=["ann@example.com", "Ann@Example.com", "a" * 250 + "@x.io"],
        name=["Ann", "  Ann  Lee ", "n" * 201],
        consent=["y", ""],
        website=["", "http://spam.example"],
        started=["", "1"],
        step=["4", "1"],
        version=["", "x"],
        use_google=["1", ""],
        csrf_token=[""],
    ),
    key=st.uuids(),
)
def test_any_contact_step_post(contact, changes, key):
    visitor, form = contact
    data = {**form, "email": "ann@example.com", "consent": "y", "key": key.hex}
    data |= changes
    check(visitor.client.post(f"{visitor.base}/quiz", data=data))


@PROPERTY
@given(body=st.one_of(text, json_value.map(json.dumps)), kind=st.sampled_from(["json", "text"]))
def test_any_body_to_the_quiz_and_sign_in(app, body, kind):
    client = app.test_client()
    content_type = "application/json" if kind == "json" else "text/plain"
    for path in ("/p/home-brewing/quiz", "/p/admin/sign-in", "/p/google/one-tap"):
        data = body.encode("utf-8", "surrogatepass")
        check(client.post(path, data=data, content_type=content_type))


@PROPERTY
@given(token=text, form=fields(csrf_token=["x"], page=SLUGS, step=["4"], credential=["x.y.z"]))
def test_any_result_link_and_google_return(app, lead, token, form):
    client = app.test_client()
    result = lead[2]
    for path in (
        f"/p/home-brewing/thanks/{segment(token)}",
        f"/p/home-brewing/offer/{segment(token)}",
        f"/p/assets/{segment(token)}",
        f"/p/google/callback?state={quote(token)}",
        f"/p/home-brewing/google?started={quote(token)}",
        f"{result}?google_error={quote(token)}",
    ):
        check(client.get(path))
    check(client.post(f"/p/home-brewing/thanks/{segment(token)}/withdraw", data=form))
    check(client.post(f"{result}/withdraw", data=form))
    check(client.post("/p/google/one-tap", data=form))


# --- the admin area (signed in) ---------------------------------------------------

DAYS = ["2026-05-01", "1970-01-01", "2999-12-31", "1969-12-31", "9999-12-31", "0000-01-01"]
FILTERS = {
    "q": ["ann", "property-", "ann lee", "@example"],
    "stage": ["lead", "mql", "customer"],
    "landing_page": SLUGS,
    "country": ["DE", "ir"],
    "source": ["direct", "news"],
    "created_from": DAYS,
    "created_to": DAYS,
    "quarantined": ["exclude", "include", "only"],
    "sort": ["newest", "oldest"],
    "after": ["2026-01-01T00:00:00+00:00_5", "2026-01-01_99999999999999999999"],
}
REPORT = {
    "period": ["7d", "30d", "this_month", "last_month", "this_year", "custom"],
    "start": DAYS,
    "end": DAYS,
    "by": ["", "landing_page", "source", "country", "variant", "device"],
    "stage": ["lead", "mql", "customer"],
    "page": SLUGS,
    "address": ["203.0.113.9", "::1", "999.1.1.1", "2001:db8::1"],
    "country": ["DE", "IR", "ZZ"],
    "region": ["BE", "23"],
    "city": ["Berlin", "تهران"],
    "continent": ["EU", "AS"],
    "accept_language": ["fa-IR,fa;q=0.9", "de"],
}
LEAD_FORMS = {
    "stage": ["lead", "mql", "sal", "sql", "customer", "lost"],
    "reason": ["called", "r" * 501],
    "body": ["a note", "b" * 5001],
    "due": DAYS,
    "note": ["call back"],
    "amount": ["12.50", "1e400", "-1", "0.001", "99999999999", "NaN", "sNaN"],
    "currency": ["EUR", "eur", "XX"],
    "at": DAYS,
    "reference": ["ORD-1", "o" * 101],
}


@PROPERTY
@given(args=fields(**FILTERS), fmt=st.sampled_from(["", ".csv", ".json"]))
def test_any_leads_list_filter(admin, args, fmt):
    response = admin.get(f"/p/admin/leads{fmt}", query_string=args)
    response.get_data()  # a download is streamed: read it to the end
    check(response)


@PROPERTY
@given(
    args=fields(**REPORT),
    path=st.sampled_from(
        [
            "/p/admin/",
            "/p/admin/report.csv",
            "/p/admin/report.json",
            "/p/admin/pages/home-brewing",
            "/p/admin/pages/qahve-dam",
            "/p/admin/preview",
        ]
    ),
)
def test_any_report_or_preview(admin, args, path):
    check(admin.get(path, query_string=args))


@PROPERTY
@given(
    lead_text=st.one_of(st.integers(min_value=-1).map(str), text),
    action=st.sampled_from(["stage", "note", "follow-up", "purchase", "release", "erase"]),
    form=fields(**LEAD_FORMS),
    own=st.booleans(),
)
def test_any_lead_page_or_action(admin, lead, lead_text, action, form, own):
    lead_id = str(lead[0]) if own else segment(lead_text)
    check(admin.get(f"/p/admin/leads/{lead_id}"))
    check(admin.get(f"/p/admin/leads/{lead_id}.json"))
    token = hidden_fields(admin.get("/p/admin/follow-ups").text)["csrf_token"]
    if action == "erase":
        form["confirm"] = "no"  # the lead stays for the other examples
    check(
        admin.post(
            f"/p/admin/leads/{lead_id}", data={"intent": action, "csrf_token": token, **form}
        )
    )
    done = {"intent": "done", "follow_up_id": lead_id, "csrf_token": token}
    check(admin.post("/p/admin/follow-ups", data=done))


@PROPERTY
@given(
    form=fields(
        locale=["en", "fa"],
        next=["/p/admin/leads", "//evil.example", "/\\evil"],
        email=[ADMIN_EMAIL, "nobody@shop.example"],
        password=["wrong password"],
    )
)
def test_any_sign_in_or_language_form(app, admin, form):
    token = hidden_fields(admin.get("/p/admin/follow-ups").text)["csrf_token"]
    check(admin.post("/p/admin/language", data={"csrf_token": token, **form}))
    check(admin.get("/p/admin/audit"))
    anonymous = app.test_client()
    anonymous_token = hidden_fields(anonymous.get("/p/admin/sign-in").text)["csrf_token"]
    check(anonymous.post("/p/admin/sign-in", data={"csrf_token": anonymous_token, **form}))
    check(anonymous.get("/p/admin/sign-in", query_string={"next": form.get("next", "")}))


# --- the JSON API -----------------------------------------------------------------


def purchase_field(*valid):
    return st.one_of(st.sampled_from(valid), json_value)


@PROPERTY
@given(
    body=st.one_of(
        json_value,
        st.fixed_dictionaries(
            {},
            optional={
                "email": purchase_field("lead", "ann@example.com", "a\x00@example.com"),
                "amount": purchase_field(10, "12.50", 0, -1, "1e999", "sNaN", 10**30),
                "currency": purchase_field("EUR", "usd", "XXXX"),
                "at": purchase_field("2026-01-01", "2026-01-01T10:00:00+02:00", "0001-01-01"),
                "reference": purchase_field("R-1", 5, "r" * 101, "R\x00"),
            },
        ),
    ),
    authorization=st.one_of(st.just(f"Bearer {API_TOKEN}"), header_text),
)
def test_any_purchase_body(app, lead, body, authorization):
    if isinstance(body, dict) and body.get("email") == "lead":
        body["email"] = lead[1]  # the lead's own: the purchase may be recorded
    response = app.test_client().post(
        "/p/api/purchases",
        data=json.dumps(body).encode(),
        content_type="application/json",
        headers={"Authorization": authorization},
    )
    check(response)
    assert response.is_json


# --- page files -------------------------------------------------------------------

VALID = (DEMO_PAGES / "home-brewing.toml").read_text(encoding="utf-8")
_ASSIGNMENT = re.compile(r"^(\s*[A-Za-z_]+\s*=\s*)(.+)$", re.M)
ASSIGNMENTS = len(_ASSIGNMENT.findall(VALID))
# TOML values: strings as JSON writes them (a lone surrogate's escape is no TOML), and the
# other kinds a site owner may write where another was meant.
toml_value = st.recursive(
    st.one_of(
        json_scalar.filter(lambda v: v is not None).map(
            lambda v: json.dumps(v) if not isinstance(v, bool) else str(v).lower()
        ),
        st.sampled_from(["1979-05-27", "07:32:00", "inf", "-0", "0x1F", '"""a\nb"""', "''"]),
    ),
    lambda inner: (
        st.lists(inner, max_size=3).map(lambda vs: f"[{', '.join(vs)}]")
        | st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), inner, max_size=3).map(
            lambda d: "{" + ", ".join(f"{k} = {v}" for k, v in d.items()) + "}"
        )
    ),
    max_leaves=6,
)


@pytest.fixture(scope="module")
def page_folder(tmp_path_factory):
    import shutil

    folder = tmp_path_factory.mktemp("pages")
    shutil.copytree(DEMO_PAGES, folder, dirs_exist_ok=True)
    return folder


@PROPERTY
@given(
    changes=st.dictionaries(
        st.integers(0, ASSIGNMENTS - 1), st.one_of(toml_value, st.just(None)), max_size=4
    ),
    extra=st.one_of(st.just(""), toml_value.map(lambda v: f"\nsurprise = {v}\n"), st.text()),
)
def test_any_page_file_names_file_and_field(page_folder, changes, extra):
    lines = iter(range(ASSIGNMENTS))

    def edit(match: re.Match) -> str:
        n = next(lines)
        if n not in changes:
            return match.group(0)
        value = changes[n]
        return "" if value is None else match.group(1) + value

    path = page_folder / "property.toml"
    path.write_text(_ASSIGNMENT.sub(edit, VALID) + extra, encoding="utf-8", errors="surrogatepass")
    result = PageParser(page_folder / "assets", page_folder / "offers").parse_file(path)
    assert (result.page is None) == bool(result.errors)
    for error in result.errors:
        assert error.startswith(f"{display_path(path)}: "), error
        assert "Traceback" not in error
    if result.page is not None:
        assert "\x00" not in json.dumps([str(q) for q in result.page.questions])


# --- what was stored --------------------------------------------------------------


def test_nothing_malformed_was_stored(app):
    """After every property above: no text a database would refuse, none past its
    column (SQLite does not check lengths)."""
    with app.app_context():
        connection = funnel.db.session.connection()
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String)]
            for row in connection.execute(select(*columns)) if columns else ():
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    where = f"{table.name}.{column.name}"
                    assert "\x00" not in value, where
                    assert not re.search("[\ud800-\udfff]", value), where
                    assert column.type.length is None or len(value) <= column.type.length, where
