"""What a whole visitor journey costs the server, and what a worker weighs.

A journey is the seven requests of a visitor who becomes a lead: the landing page, the
quiz's four steps (each records a step view), the contact step's POST and the result
page. Many visitors (``--clients`` at a time, each a real HTTP client with its own
cookies) take it against the demo under gunicorn on a fresh SQLite database; the CPU
time of the gunicorn workers (from /proc), divided by the leads stored, is the cost of a
lead. The bare Flask app (bench/hello.py) under the same gunicorn gives the floor: seven
of its requests. Worker memory is the PSS of each worker after the journeys, without
and with ``--preload``. Issue 15's targets are printed beside each figure; a missed
target is reported, not an error (exit status 0). Results: bench/results/journey.json.

    .venv/bin/python bench/journey.py [--journeys 400] [--clients 8] [--workers 4]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from throughput import ANSWERS, BENCH, BIN, ROOT, SLUG, gunicorn_server, hidden_input, query

TARGETS = {"journey_cpu_ms": 6.0, "worker_pss_mib": 40.0}
REQUESTS_PER_JOURNEY = 7
PHONE = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--journeys", type=int, default=400, help="visitors who become leads")
    parser.add_argument("--clients", type=int, default=8, help="visitors at a time")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--hello-requests", type=int, default=3000)
    args = parser.parse_args()

    results = {"journeys": args.journeys, "clients": args.clients, "workers": args.workers}
    with tempfile.TemporaryDirectory(prefix="funnel-journey-") as tmp:
        env = {k: v for k, v in os.environ.items() if k != "GUNICORN_CMD_ARGS"} | {
            "SECRET_KEY": secrets.token_hex(32),
            "FLASK_APP": "landing",
            "FUNNEL_RATELIMIT_ENABLED": "false",  # every visitor comes from 127.0.0.1
            # The visitors here answer at once: with the default 3 s every lead would be
            # a suspected bot, stored on another path.
            "FUNNEL_MIN_FILL_SECONDS": "0",
        }
        settings = argparse.Namespace(workers=args.workers)
        with gunicorn_server("hello:app", BENCH, settings, env, Path(tmp)) as base:
            workers = worker_pids(gunicorn_server.master)
            hello_ms = cpu_per_call(workers, args.hello_requests, lambda: hello(base))
            results["hello_cpu_ms_per_request"] = round(hello_ms, 3)
            results["hello_worker_pss_mib"] = median_pss(workers)
        for preload in (False, True):
            database = Path(tmp) / f"journey-{preload}.sqlite3"
            env["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{database}"
            subprocess.run(
                [BIN / "flask", "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True
            )
            settings.preload = settings.funnel_config = preload
            with gunicorn_server("wsgi:app", ROOT, settings, env, Path(tmp)) as base:
                workers = worker_pids(gunicorn_server.master)
                take_journeys(base, args.clients, args.clients * 4)  # warm-up
                leads_before = query(database, "SELECT count(*) FROM funnel_leads")
                spent = cpu_seconds(workers)
                take_journeys(base, args.clients, args.journeys)
                time.sleep(1)  # the visit buffer's last batch
                spent = cpu_seconds(workers) - spent
                leads = query(database, "SELECT count(*) FROM funnel_leads") - leads_before
                label = "preload" if preload else "no_preload"
                results[f"{label}_worker_pss_mib"] = median_pss(workers)
                if not preload:
                    results["leads_stored"] = leads
                    results["journey_cpu_ms_per_lead"] = round(spent / leads * 1000, 2)
    report(results)


def take_journeys(base: str, clients: int, count: int) -> None:
    with ThreadPoolExecutor(clients) as pool:
        for done in pool.map(lambda _: journey(base), range(count)):
            assert done


def journey(base: str) -> bool:
    """One visitor, landing to result, as a phone's browser sends it."""
    page = f"{base}/p/{SLUG}"
    visitor = requests.Session()
    visitor.headers["User-Agent"] = PHONE
    visitor.get(page, timeout=30).raise_for_status()
    step = visitor.get(f"{page}/quiz", timeout=30)
    started = hidden_input(step.text, "started")
    answers = {k: v for k, v in ANSWERS.items() if k.startswith("q_")}
    names = list(answers)
    for n in (2, 3, 4):
        given = {k: answers[k] for k in names[: n - 1]}
        step = visitor.get(
            f"{page}/quiz", params={**given, "step": n, "started": started}, timeout=30
        )
        step.raise_for_status()
    form = {
        name: hidden_input(step.text, name)
        for name in ("csrf_token", "started", "key", "step", *names)
    }
    form |= {"email": f"j-{uuid.uuid4().hex}@example.com", "consent": "y", "website": ""}
    sent = visitor.post(f"{page}/quiz", data=form, allow_redirects=False, timeout=30)
    if sent.status_code != 303:
        raise RuntimeError(f"the contact step answered {sent.status_code}: {sent.text[:300]}")
    visitor.get(base + sent.headers["Location"], timeout=30).raise_for_status()
    return True


def hello(base: str) -> bool:
    return requests.get(base + "/", timeout=10).ok


def cpu_per_call(workers: list[int], calls: int, call) -> float:
    """Milliseconds of worker CPU per ``call()`` (after 200 for warm-up)."""
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: call(), range(200)))
        spent = cpu_seconds(workers)
        list(pool.map(lambda _: call(), range(calls)))
    return (cpu_seconds(workers) - spent) / calls * 1000


def worker_pids(master: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True)
    return [int(pid) for pid in found.stdout.split()]


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def median_pss(pids: list[int]) -> float:
    """The median worker's proportional set size in MiB (shared pages split among the
    processes sharing them: what a worker really adds)."""
    sizes = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                sizes.append(int(line.split()[1]) / 1024)
    return round(statistics.median(sizes), 1)


def report(results: dict) -> None:
    floor = results["hello_cpu_ms_per_request"] * REQUESTS_PER_JOURNEY
    results["hello_cpu_ms_per_journey"] = round(floor, 2)
    rows = [
        (
            "journey, CPU per lead",
            f"{results['journey_cpu_ms_per_lead']} ms",
            f"<= {TARGETS['journey_cpu_ms']} ms",
            f"{floor:.2f} ms ({REQUESTS_PER_JOURNEY} requests)",
        ),
        (
            "worker PSS, no --preload",
            f"{results['no_preload_worker_pss_mib']} MiB",
            f"< {TARGETS['worker_pss_mib']} MiB",
            f"{results['hello_worker_pss_mib']} MiB",
        ),
        (
            "worker PSS, --preload",
            f"{results['preload_worker_pss_mib']} MiB",
            f"< {TARGETS['worker_pss_mib']} MiB",
            f"{results['hello_worker_pss_mib']} MiB",
        ),
    ]
    header = ("", "flask-funnel", "target", "bare Flask, same run")
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(4)]
    for row in (header, *rows):
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
    print(
        f"{results['leads_stored']} leads stored by {results['journeys']} journeys,"
        f" {results['clients']} visitors at a time, {results['workers']} workers"
    )
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    (out / "journey.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
