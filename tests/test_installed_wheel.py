"""The wheel as a site owner gets it: ``pip install`` (not editable) into a virtualenv
of its own, and a host app of its own (``installed/host_app.py``, not the demo).

Collected only when ``FUNNEL_TEST_WHEEL_VENV`` names such a virtualenv (``.ci/run``
builds the wheel and makes one). Every check runs with that virtualenv's Python in a
folder outside the checkout, so nothing of the repository is importable there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

VENV = Path(os.environ["FUNNEL_TEST_WHEEL_VENV"]).resolve()
ROOT = Path(__file__).resolve().parent.parent
SITE_FILES = Path(__file__).resolve().parent / "installed"
DEMO_PAGES = ROOT / "landing" / "pages"
ADMIN = "boss@example.com"
PASSWORD = "correct horse battery staple"


@dataclass
class Site:
    """A shop's folder: ``host_app.py``, its pages and its SQLite database."""

    path: Path
    env: dict[str, str]

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        """A command of the virtualenv (``python``, ``flask``) run in the shop's folder."""
        command, *rest = args
        return subprocess.run(
            [str(VENV / "bin" / command), *rest],
            cwd=self.path,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=90,
        )

    def flask(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        return self.run("flask", "--app", "host_app", *args, stdin=stdin)

    def walk(self, *args: str, stdin: str | None = None) -> dict:
        """What ``installed/walkthrough.py`` saw, as a dict."""
        result = self.run("python", "walkthrough.py", *args, stdin=stdin)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.splitlines()[-1])


def create_tables(site: Site) -> None:
    """The site owner's migration commands, as the README gives them: the shop's own
    migrations folder, the funnel's revisions (shipped in the wheel) by ``flask db
    upgrade``, then the shop's own model by ``flask db migrate`` and ``upgrade``."""
    for command in (
        ["db", "init"],
        ["db", "upgrade"],
        ["db", "migrate", "-m", "customers"],
        ["db", "upgrade"],
    ):
        result = site.flask(*command)
        assert result.returncode == 0, " ".join(command) + ": " + result.stdout + result.stderr
    revisions = list((site.path / "migrations" / "versions").glob("*.py"))
    assert len(revisions) == 1 and "funnel_" not in revisions[0].read_text()


@pytest.fixture
def site(tmp_path) -> Site:
    path = tmp_path / "shop"
    path.mkdir()
    for name in ("host_app.py", "walkthrough.py"):
        shutil.copy(SITE_FILES / name, path / name)
    shutil.copytree(DEMO_PAGES, path / "pages")
    # Only what a shop's server would have: no PYTHONPATH, no settings of this test run.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "FLASK_", "FUNNEL_", "SQLALCHEMY_", "VIRTUAL_ENV"))
    }
    env.update(
        PATH=f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '')}",
        SECRET_KEY="a-shop-secret-of-its-own",
        DATABASE_URL=f"sqlite:///{path / 'shop.sqlite3'}",
    )
    site = Site(path, env)
    create_tables(site)
    return site


def test_the_funnel_is_imported_from_the_installed_wheel_without_the_demo(site):
    seen = site.walk("where")
    assert not site.path.resolve().is_relative_to(ROOT)
    assert Path(seen["flask_funnel"]).is_relative_to(VENV), seen
    assert Path(seen["flask_funnel"]).is_relative_to(seen["site_packages"]), seen
    assert seen["sign_in_template"] is True
    assert seen["landing_importable"] is False


def test_pages_command_lists_both_demo_pages(site):
    result = site.flask("funnel", "pages")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "home-brewing" in result.stdout and "/funnel/home-brewing" in result.stdout
    assert "qahve-dam" in result.stdout and "/funnel/qahve-dam" in result.stdout


def test_a_visitor_walks_the_quiz_and_is_stored_as_a_lead(site):
    seen = site.walk("quiz")
    assert seen["landing"] == 200
    assert seen["contact_step"] == 200
    assert {"csrf_token", "key", "started"} <= set(seen["hidden_fields"])
    assert seen["submit"] == 303
    assert seen["thanks"] == 200
    assert seen["leads"] == ["ann@example.com"]


def test_static_files_and_persian_text_ship_with_the_wheel(site):
    seen = site.walk("assets")
    assert seen == {
        "funnel.css": 200,
        "funnel.js": 200,
        "admin.css": 200,
        "persian_step": 200,
        "persian_next_button": True,
        "persian_step_count": True,
    }


def test_an_admin_made_on_the_command_line_signs_in_and_sees_the_lead(site):
    site.walk("quiz")
    created = site.flask("funnel", "create-admin", ADMIN, "--password-stdin", stdin=PASSWORD)
    assert created.returncode == 0, created.stdout + created.stderr
    seen = site.walk("admin", ADMIN, "ann@example.com", stdin=PASSWORD)
    assert seen["sign_in"] == 200
    assert seen["sign_in_forms"] >= 1
    assert seen["sign_in_post"] == 303
    assert seen["dashboard"] == 200
    assert seen["leads"] == 200
    assert seen["leads_show_the_lead"] is True
