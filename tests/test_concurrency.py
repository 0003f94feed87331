"""Many people (or one impatient person) posting at once, over a real HTTP server.

Runs on SQLite always, and on PostgreSQL and MariaDB when their URLs are given in
FUNNEL_TEST_POSTGRES_URL / FUNNEL_TEST_MYSQL_URL (``.ci/run`` sets both), each on a
fresh database built by the real migrations.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from conftest import BACKENDS, live_contact_form, live_site
from sqlalchemy import func, select

from flask_funnel.db.models import Lead, StageChange, Submission
from landing import funnel


@pytest.fixture(params=BACKENDS)
def live_server(request, fresh_database):
    config = {
        "SECRET_KEY": "live",
        "SQLALCHEMY_DATABASE_URI": fresh_database(request.param),
        "FUNNEL_MIN_FILL_SECONDS": 0,
        # One address posting dozens at once on purpose (test_rate_limits.py has limits).
        "FUNNEL_RATELIMIT_ENABLED": False,
    }
    with live_site(config) as site:
        yield site


def _post_all_at_once(posts: list[tuple[requests.Session, dict, str]], base: str) -> list[int]:
    barrier = threading.Barrier(len(posts))

    def post(job):
        browser, form, email = job
        data = form | {"email": email, "name": "Ann", "consent": "y"}
        barrier.wait()
        response = browser.post(f"{base}/quiz", data=data, allow_redirects=False, timeout=30)
        return response.status_code

    with ThreadPoolExecutor(len(posts)) as pool:
        return list(pool.map(post, posts))


def _count(app, model) -> int:
    with app.app_context():
        return funnel.db.session.scalar(select(func.count()).select_from(model))


def test_parallel_posts_of_one_email_in_different_cases_make_one_lead(live_server):
    app, base = live_server
    people = 24
    cases = ["ann@example.com", "ANN@example.com", "Ann@Example.Com", "aNN@EXAMPLE.COM"]
    posts = [(*live_contact_form(base), cases[n % len(cases)]) for n in range(people)]
    statuses = _post_all_at_once(posts, base)
    assert statuses == [303] * people
    assert _count(app, Lead) == 1
    assert _count(app, Submission) == people
    assert _count(app, StageChange) == 2  # visitor -> lead -> mql, once


def test_the_same_submission_sent_many_times_at_once_is_stored_once(live_server):
    app, base = live_server
    browser, form = live_contact_form(base)
    statuses = _post_all_at_once([(browser, form, "once@example.com")] * 20, base)
    assert statuses == [303] * 20
    assert _count(app, Submission) == 1
    assert _count(app, Lead) == 1
