"""Light workers: gunicorn's master warms the funnel up before it forks
(``flask_funnel.gunicorn_config``), and a worker serving visitors never loads what only
the command line needs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import requests
from conftest import ROOT, flush_visits, free_port
from sqlalchemy import func, select

from flask_funnel.db.models import StepView, Visit, Visitor
from flask_funnel.views.public.warm_up import warm_up


def _stored(app) -> tuple[int, int, int]:
    flush_visits(app)
    with app.extensions["funnel"].engine.connect() as connection:
        return tuple(
            connection.scalar(select(func.count()).select_from(table))
            for table in (Visit, Visitor, StepView)
        )


def test_warm_up_renders_every_step_and_records_nothing(app):
    pages = app.extensions["funnel"].pages.pages()
    warm_up(app)
    assert _stored(app) == (0, 0, 0)
    compiled = {name for _, name in app.jinja_env.cache}
    assert {"flask_funnel/landing.html", "flask_funnel/quiz.html", "site.html"} <= compiled
    # Every language's catalogue is loaded, and the visitors' pages still record visits.
    client = app.test_client()
    for page in pages:
        assert client.get(f"/p/{page.slug}").status_code == 200
    assert _stored(app)[0] == len(pages)


def test_gunicorn_with_the_funnel_config_serves_and_counts_only_visitors(tmp_path):
    database = tmp_path / "site.sqlite3"
    env = os.environ | {
        "SECRET_KEY": "gunicorn-config",
        "DATABASE_URL": f"sqlite:///{database}",
        "FUNNEL_GEOIP_PATH": "null",
        "FUNNEL_PAGES_CACHE_DIR": str(tmp_path / "page-cache"),
    }
    flask = [sys.executable, "-m", "flask", "--app", "landing"]
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    port = free_port()
    command = [sys.executable, "-m", "gunicorn", "-c", "python:flask_funnel.gunicorn_config"]
    command += ["--workers", "2", "--bind", f"127.0.0.1:{port}", "wsgi:app"]
    log = tmp_path / "gunicorn.log"
    with log.open("w") as errors:
        server = subprocess.Popen(command, env=env, cwd=ROOT, stderr=errors)
    try:
        base = f"http://127.0.0.1:{port}"
        landing = _first_answer(f"{base}/p/home-brewing", server)
        assert landing.status_code == 200
        assert requests.get(f"{base}/p/qahve-dam/quiz", timeout=10).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert "Traceback" not in log.read_text()
    counts = subprocess.run(
        [sys.executable, "-c", _COUNT_VIEWS, str(database)], capture_output=True, text=True
    )
    # The master rendered every page in both languages before forking; only the two
    # visitors' requests are stored (the buffer is written when a worker exits).
    assert json.loads(counts.stdout) == {"views": 1, "steps": 1}


_COUNT_VIEWS = """
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
one = lambda sql: db.execute(sql).fetchone()[0]
print(json.dumps({"views": one("SELECT count(*) FROM funnel_visits"),
                  "steps": one("SELECT count(*) FROM funnel_step_views")}))
"""


def _first_answer(url: str, server: subprocess.Popen) -> requests.Response:
    for _ in range(300):
        assert server.poll() is None, "gunicorn exited"
        try:
            return requests.get(url, timeout=10)
        except requests.ConnectionError:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer")


def test_a_web_worker_loads_no_command_line_module(tmp_path):
    """The ``flask funnel`` commands (an HTTP client for webhooks, a TOML writer, the
    text report) load when the command line asks for one, not in every worker."""
    script = f"""
import json, sys
from landing import create_app, funnel
app = create_app({{"SECRET_KEY": "x", "FUNNEL_GEOIP_PATH": None,
                  "SQLALCHEMY_DATABASE_URI": "sqlite:///{tmp_path / "w.sqlite3"}"}})
with app.app_context():
    funnel.db.create_all()
assert app.test_client().get("/p/home-brewing").status_code == 200
loaded = sorted(m for m in sys.modules if m.startswith("flask_funnel.cli.") or m == "requests")
print(json.dumps(loaded))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(done.stdout) == ["flask_funnel.cli.group"]


def test_every_command_is_listed_and_runs(runner):
    listed = runner.invoke(args=["funnel", "--help"])
    assert listed.exit_code == 0
    for command in ("create-admin", "deliver", "export", "pages", "report", "recount"):
        assert command in listed.output
    assert runner.invoke(args=["funnel", "pages"]).exit_code == 0
