"""What a visitor and an admin do on the shop of ``host_app.py``, through Flask's test
client, in the virtualenv where the wheel is installed.

``python walkthrough.py where|quiz|assets`` and ``admin ADMIN_EMAIL LEAD_EMAIL`` (the
password on standard input) print what they saw as JSON;
``tests/test_installed_wheel.py`` judges it. This script cannot import the repository's
test helpers (the point is that nothing of the checkout is importable here), so the
hidden-field parser of ``tests/conftest.py`` is repeated below.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import sysconfig
from html.parser import HTMLParser
from pathlib import Path

QUIZ = "/funnel/home-brewing/quiz"
#: The demo page's answers, as in tests/conftest.py.
ANSWERS = {"q_style": "black", "q_time": "5min", "q_gear": "grinder"}


class _HiddenInputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields: dict[str, str] = {}
        self.forms = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms += 1
        if tag == "input" and attrs.get("type") == "hidden" and attrs.get("name"):
            self.fields[attrs["name"]] = attrs.get("value") or ""


def parse(html: str) -> _HiddenInputs:
    parser = _HiddenInputs()
    parser.feed(html)
    return parser


def client():
    from host_app import create_app

    return create_app({"TESTING": True, "FUNNEL_MIN_FILL_SECONDS": 0}).test_client()


def where() -> dict:
    """Where the extension is imported from, and whether the demo host came along."""
    import flask_funnel

    package = Path(flask_funnel.__file__).resolve().parent
    return {
        "flask_funnel": str(package),
        "site_packages": str(Path(sysconfig.get_paths()["purelib"]).resolve()),
        "landing_importable": importlib.util.find_spec("landing") is not None,
        "sign_in_template": (
            package / "templates" / "flask_funnel" / "admin" / "sign_in.html"
        ).is_file(),
    }


def quiz() -> dict:
    """Land, walk the quiz to the contact step and submit it; list the stored leads."""
    from host_app import db

    from flask_funnel.db.models import Lead

    visitor = client()
    seen: dict = {"landing": visitor.get("/funnel/home-brewing").status_code}
    started = parse(visitor.get(QUIZ).text).fields["started"]
    contact = visitor.get(QUIZ, query_string={"step": "4", **ANSWERS, "started": started})
    seen["contact_step"] = contact.status_code
    hidden = parse(contact.text).fields
    seen["hidden_fields"] = sorted(hidden)
    submitted = visitor.post(
        QUIZ, data={**hidden, "email": "ann@example.com", "name": "Ann", "consent": "y"}
    )
    seen["submit"] = submitted.status_code
    seen["thanks"] = visitor.get(submitted.headers.get("Location", "/")).status_code
    with visitor.application.app_context():
        seen["leads"] = db.session.scalars(db.select(Lead.email)).all()
    return seen


def assets() -> dict:
    """The package's static files and Persian interface text."""
    visitor = client()
    seen = {
        name: visitor.get(f"/funnel/static/{name}").status_code
        for name in ("funnel.css", "funnel.js", "admin.css")
    }
    step = visitor.get("/funnel/qahve-dam/quiz", query_string={"step": "2", "q_style": "milk"})
    seen["persian_step"] = step.status_code
    seen["persian_next_button"] = ">بعدی<" in step.text
    seen["persian_step_count"] = "پرسش ۲ از ۳" in step.text  # the compiled catalogue
    return seen


def admin(email: str, lead_email: str) -> dict:
    """Sign in with the account made by ``flask funnel create-admin``; open the
    dashboard and the leads list."""
    password = sys.stdin.readline().rstrip("\n")
    browser = client()
    page = browser.get("/funnel/admin/sign-in")
    form = parse(page.text)
    seen: dict = {"sign_in": page.status_code, "sign_in_forms": form.forms}
    token = form.fields.get("csrf_token", "")
    signed_in = browser.post(
        "/funnel/admin/sign-in", data={"csrf_token": token, "email": email, "password": password}
    )
    seen["sign_in_post"] = signed_in.status_code
    seen["dashboard"] = browser.get("/funnel/admin/").status_code
    leads = browser.get("/funnel/admin/leads")
    seen["leads"] = leads.status_code
    # The list wraps emails at their @ and dots with <wbr> hints.
    seen["leads_show_the_lead"] = lead_email in leads.text.replace("<wbr>", "")
    return seen


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    actions = {"where": where, "quiz": quiz, "assets": assets, "admin": admin}
    print(json.dumps(actions[command](*args)))
