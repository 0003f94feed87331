"""Two hosts behind a load balancer: two gunicorn instances of the demo, each with its own
workers, sharing one PostgreSQL and one Redis. They behave as one site: the rate limits
count both, racing sign-ups of one person make one lead, an admin signed in on one is
signed in on the other, and both report the same numbers.

Runs when FUNNEL_TEST_POSTGRES_URL and FUNNEL_TEST_REDIS_URL are set (``.ci/run`` sets
both)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from conftest import ROOT, SERVERS, free_port, hidden_fields, live_contact_form

REDIS_URL = os.environ.get("FUNNEL_TEST_REDIS_URL")

pytestmark = pytest.mark.skipif(
    not (SERVERS["postgresql"] and REDIS_URL),
    reason="needs FUNNEL_TEST_POSTGRES_URL and FUNNEL_TEST_REDIS_URL",
)

ADMIN, PASSWORD = "boss@shop.example", "correct horse battery"
GUNICORN = [sys.executable, "-m", "gunicorn", "--workers", "2", "--threads", "4", "--timeout", "60"]


def _wait_until_up(base: str, process: subprocess.Popen) -> None:
    for _ in range(150):
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            requests.get(f"{base}/p/home-brewing", timeout=10)
            return
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.1)
    raise RuntimeError(f"{base} did not answer")


@pytest.fixture
def two_hosts(fresh_database, tmp_path):
    from redis import Redis

    Redis.from_url(REDIS_URL).flushdb()
    url = fresh_database("postgresql")
    env = os.environ | {
        "SECRET_KEY": "one-key-for-every-host",
        "DATABASE_URL": url,
        "FUNNEL_RATELIMIT_STORAGE_URI": REDIS_URL,
        "FUNNEL_RATELIMIT_SIGN_UPS": "6 per minute",
        "FUNNEL_RATELIMIT_SIGN_UPS_PER_EMAIL": "100 per hour",
        "FUNNEL_PROXY_COUNT": "1",
        "FUNNEL_MIN_FILL_SECONDS": "0",
        "FUNNEL_GEOIP_PATH": "null",
        "FUNNEL_PAGES_CACHE_DIR": str(tmp_path / "page-cache"),
    }
    flask = [sys.executable, "-m", "flask", "--app", "landing"]
    subprocess.run([*flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    subprocess.run(
        [*flask, "funnel", "create-admin", ADMIN, "--password-stdin"],
        env=env,
        cwd=ROOT,
        input=PASSWORD,
        text=True,
        check=True,
        capture_output=True,
    )
    hosts, processes, logs = [], [], []
    try:
        for n in range(2):
            port = free_port()
            logs.append(open(tmp_path / f"host-{n}.log", "w"))  # noqa: SIM115 - closed below
            processes.append(
                subprocess.Popen(
                    [*GUNICORN, "--bind", f"127.0.0.1:{port}", "wsgi:app"],
                    env=env,
                    cwd=ROOT,
                    stdout=logs[-1],
                    stderr=subprocess.STDOUT,
                )
            )
            hosts.append(f"http://127.0.0.1:{port}")
        for base, process in zip(hosts, processes, strict=True):
            _wait_until_up(base, process)
        yield hosts
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        for log in logs:
            log.close()


def _submit(browser, base, form, email, address) -> int:
    return browser.post(
        f"{base}/p/home-brewing/quiz",
        data=form | {"email": email, "name": "Ann", "consent": "y"},
        headers={"X-Forwarded-For": address},
        allow_redirects=False,
        timeout=30,
    ).status_code


def test_two_hosts_behave_as_one_site(two_hosts, tmp_path):
    first, second = two_hosts

    # The sign-up limit (6 a minute per address) counts both hosts' requests together.
    statuses = []
    for n in range(8):
        base = two_hosts[n % 2]
        browser, form = live_contact_form(f"{base}/p/home-brewing")  # a form from one host ...
        other = two_hosts[(n + 1) % 2]  # ... sent to the other (sessions are cookies)
        statuses.append(_submit(browser, other, form, f"p{n}@example.com", "203.0.113.9"))
    assert statuses == [303] * 6 + [429] * 2

    # One person racing on both hosts at once is one lead.
    jobs = []
    for n in range(12):
        base = two_hosts[n % 2]
        browser, form = live_contact_form(f"{base}/p/home-brewing")
        jobs.append((browser, base, form, f"198.51.100.{n}"))
    barrier = threading.Barrier(len(jobs))

    def race(job):
        browser, base, form, address = job
        barrier.wait()
        return _submit(browser, base, form, "Zoe@Example.com", address)

    with ThreadPoolExecutor(len(jobs)) as pool:
        assert list(pool.map(race, jobs)) == [303] * 12

    # An admin signed in on one host is signed in on the other.
    admin = requests.Session()
    token = hidden_fields(admin.get(f"{first}/p/admin/sign-in", timeout=10).text)["csrf_token"]
    signed_in = admin.post(
        f"{first}/p/admin/sign-in",
        data={"csrf_token": token, "email": ADMIN, "password": PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert signed_in.status_code == 303
    assert admin.get(f"{second}/p/admin/", allow_redirects=False, timeout=10).status_code == 200

    # Both report the same: 6 leads from the limited address plus one racing person.
    reports = [admin.get(f"{base}/p/admin/report.json", timeout=30).json() for base in two_hosts]
    assert reports[0] == reports[1]
    leads = admin.get(f"{second}/p/admin/leads.json", timeout=30).json()
    assert sorted(lead["email"] for lead in leads) == sorted(
        [f"p{n}@example.com" for n in range(6)] + ["zoe@example.com"]
    )

    for log in sorted(tmp_path.glob("host-*.log")):
        assert "Traceback" not in log.read_text(), log.read_text()
