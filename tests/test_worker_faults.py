"""A worker killed in the middle of storing a submission (gunicorn's worker timeout, the
OOM killer, a deploy): nothing of it is left half-written, the master starts a new
worker, and the visitor's retry of the same form is stored once. On SQLite, and on
PostgreSQL and MariaDB when their URLs are given."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests
from conftest import BACKENDS, ROOT, free_port, live_contact_form
from sqlalchemy import create_engine, func, select

from flask_funnel.db.models import Answer, Lead, Submission

GUNICORN = [sys.executable, "-m", "gunicorn", "--workers", "1", "--timeout", "300"]
GUNICORN += ["--chdir", "tests/installed"]


def _counts(url: str) -> tuple[int, int, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return tuple(
                connection.execute(select(func.count()).select_from(model)).scalar_one()
                for model in (Submission, Lead, Answer)
            )
    finally:
        engine.dispose()


def _workers(master: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_worker_killed_mid_submission_leaves_nothing_half_written(
    backend, fresh_database, tmp_path
):
    url = fresh_database(backend)
    flag = tmp_path / "held"
    env = os.environ | {
        "SECRET_KEY": "killed-worker",
        "DATABASE_URL": url,
        "FUNNEL_MIN_FILL_SECONDS": "0",
        "FUNNEL_GEOIP_PATH": "null",
        "FUNNEL_TEST_HELD_FLAG": str(flag),
        "FUNNEL_PAGES_CACHE_DIR": str(tmp_path / "page-cache"),
        "PYTHONPATH": str(ROOT),
    }
    flask = [sys.executable, "-m", "flask", "--app", "landing", "db", "upgrade"]
    subprocess.run(flask, env=env, cwd=ROOT, check=True, capture_output=True)
    port = free_port()
    master = subprocess.Popen(
        [*GUNICORN, "--bind", f"127.0.0.1:{port}", "held_submissions:app"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}/p/home-brewing"
    try:
        for _ in range(200):  # until gunicorn answers
            try:
                browser, form = live_contact_form(base)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        data = form | {"email": "ann@example.com", "name": "Ann", "consent": "y"}
        outcome = {}

        def send():
            try:
                outcome["status"] = browser.post(
                    f"{base}/quiz", data=data, allow_redirects=False, timeout=60
                ).status_code
            except requests.ConnectionError as error:
                outcome["error"] = error

        sending = threading.Thread(target=send)
        sending.start()
        for _ in range(300):
            if flag.exists():
                break
            time.sleep(0.05)
        assert flag.exists(), "the submission never reached its answers"
        [worker] = _workers(master.pid)
        os.kill(worker, signal.SIGKILL)
        sending.join(timeout=60)
        assert "error" in outcome  # the visitor saw the connection drop ...
        assert _counts(url) == (0, 0, 0)  # ... and nothing of it was kept

        for _ in range(200):  # the master starts a new worker
            try:
                retried = browser.post(f"{base}/quiz", data=data, allow_redirects=False, timeout=10)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert retried.status_code == 303
        again = browser.post(f"{base}/quiz", data=data, allow_redirects=False, timeout=10)
        assert again.status_code == 303  # a second retry of the same form ...
        assert _counts(url) == (1, 1, 3)  # ... is the same submission
    finally:
        master.terminate()
        master.wait(timeout=30)
