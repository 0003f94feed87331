"""Throughput of the demo app under gunicorn, measured against a bare Flask app.

Starts gunicorn twice with the same settings (bench/hello.py, then wsgi.py on a fresh
SQLite database in a temp dir), drives each with wrk, checks that every successful
answer stored exactly one row, and prints a table (also written to
bench/results/latest.json). A missed target is reported, not an error: exit status 0.

    .venv/bin/python bench/throughput.py [--seconds 15] [--workers 4] [--connections 16]
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import platform
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import gunicorn
import requests

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BIN = Path(sys.executable).parent
SLUG = "home-brewing"
ANSWERS = {"step": "4", "q_style": "black", "q_time": "5min", "q_gear": "grinder"}
MIN_FILL_SECONDS = 3.0  # the app's default FUNNEL_MIN_FILL_SECONDS, left unchanged
TARGETS = {"landing": 0.50, "submit": 0.15}  # requests/s as a share of hello's (issue 15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=15, help="length of each measured run")
    parser.add_argument("--warmup", type=int, default=3, help="length of each warm-up run")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    args = parser.parse_args()
    # Both apps as the README deploys them: preloaded, with the funnel's gunicorn config
    # (for hello.py it only freezes the heap: it has no funnel to warm up).
    args.preload = args.funnel_config = True

    with tempfile.TemporaryDirectory(prefix="funnel-bench-") as tmp:
        database = Path(tmp) / "bench.sqlite3"
        env = {k: v for k, v in os.environ.items() if k != "GUNICORN_CMD_ARGS"} | {
            "SECRET_KEY": secrets.token_hex(32),
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
            "FLASK_APP": "landing",
            # Every request comes from 127.0.0.1: the sign-up limit would refuse all but
            # the first 20 submissions a minute.
            "FUNNEL_RATELIMIT_ENABLED": "false",
        }
        migrate = [BIN / "flask", "db", "upgrade"]
        subprocess.run(migrate, cwd=ROOT, env=env, check=True, capture_output=True)

        runs, checks = {}, {}
        with gunicorn_server("hello:app", BENCH, args, env, Path(tmp)) as base:
            wrk(base + "/", "counts.lua", args.warmup, args)
            runs["hello"] = wrk(base + "/", "counts.lua", args.seconds, args)
        with gunicorn_server("wsgi:app", ROOT, args, env, Path(tmp)) as base:
            landing_url = f"{base}/p/{SLUG}"
            form_env, fetched_at = fetch_form(landing_url)
            wrk(landing_url, "counts.lua", args.warmup, args)
            with count_rows(database, "funnel_visits") as visits:
                runs["landing"] = wrk(landing_url, "counts.lua", args.seconds, args)
            checks["visits"] = (visits["stored"], runs["landing"]["2xx"] + runs["landing"]["3xx"])
            time.sleep(max(0.0, fetched_at + MIN_FILL_SECONDS + 0.5 - time.monotonic()))
            submit_url = f"{landing_url}/quiz"
            wrk(submit_url, "submit.lua", args.warmup, args, form_env)
            with (
                count_rows(database, "funnel_submissions") as submissions,
                count_rows(database, "funnel_leads") as leads,  # one per email: all new
            ):
                runs["submit"] = wrk(submit_url, "submit.lua", args.seconds, args, form_env)
            checks["submissions"] = (submissions["stored"], runs["submit"]["3xx"])
            checks["leads"] = (leads["stored"], runs["submit"]["3xx"])
        quarantined = query(database, "SELECT count(*) FROM funnel_submissions WHERE quarantined")

    report(args, runs, checks, quarantined)


@contextlib.contextmanager
def gunicorn_server(app: str, chdir: Path, args, env: dict, logs: Path):
    """Run gunicorn on a free port until the block ends; its stderr goes to a log file.
    Yields its address; ``gunicorn_server.master`` is the master's pid meanwhile."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [BIN / "gunicorn", *gunicorn_settings(args), "--bind", f"127.0.0.1:{port}"]
    log_path = logs / f"gunicorn-{app.split(':')[0]}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*command, "--chdir", chdir, app], env=env, stderr=log, start_new_session=True
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_answering(base, process)
        gunicorn_server.master = process.pid
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        errors = log_path.read_text().strip()
        if errors:
            print(f"--- gunicorn {app} log (last lines) ---", *errors.splitlines()[-15:], sep="\n")


def gunicorn_settings(args) -> list[str]:
    """The same for both apps. No access log is gunicorn's default."""
    # --preload as the README deploys it: the funnel's gunicorn settings (preload, a
    # warm-up in the master and a frozen heap); the bare app is preloaded plainly.
    preload = ["--preload"] if getattr(args, "preload", False) else []
    if preload and getattr(args, "funnel_config", False):
        preload += ["--config", "python:flask_funnel.gunicorn_config"]
    return [
        "--workers",
        str(args.workers),
        "--worker-class",
        "sync",
        "--log-level",
        "warning",
        *preload,
    ]


def wait_until_answering(base: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {process.returncode}")
        with contextlib.suppress(requests.RequestException):  # not up yet, or busy
            if requests.get(base + "/", timeout=2).status_code < 500:
                return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer at {base} within {timeout} s")


def fetch_form(landing_url: str) -> tuple[dict[str, str], float]:
    """As a visitor would: the landing page, then the contact step of the quiz.
    Returns the BENCH_* variables submit.lua needs and when the form was fetched."""
    visitor = requests.Session()
    visitor.get(landing_url, timeout=10).raise_for_status()
    page = visitor.get(f"{landing_url}/quiz", params=ANSWERS, timeout=10)
    page.raise_for_status()
    fetched_at = time.monotonic()
    fields = {name: hidden_input(page.text, name) for name in ("csrf_token", "started")}
    fields |= {**ANSWERS, "name": "Bench", "consent": "y", "website": ""}
    cookie = "; ".join(f"{c.name}={c.value}" for c in visitor.cookies)
    return {"BENCH_FORM": urlencode(fields), "BENCH_COOKIE": cookie}, fetched_at


def hidden_input(page: str, name: str) -> str:
    match = re.search(rf'<input[^>]*\bname="{name}"[^>]*\bvalue="([^"]*)"', page)
    if match is None:
        raise RuntimeError(f"the quiz form has no {name!r} input")
    return html.unescape(match.group(1))


@contextlib.contextmanager
def count_rows(database: Path, table: str):
    """Rows the block added to ``table``. Both counts wait until the count holds still:
    wrk abandons up to one request per connection at its deadline (the warm-up's
    too), and the server may still commit those."""
    counted: dict[str, int] = {}

    def settled_count() -> int:
        now, previous = query(database, f"SELECT count(*) FROM {table}"), -1
        while now != previous:
            time.sleep(0.5)
            now, previous = query(database, f"SELECT count(*) FROM {table}"), now
        return now

    before = settled_count()
    yield counted
    counted["stored"] = settled_count() - before


def query(database: Path, sql: str) -> int:
    with contextlib.closing(sqlite3.connect(database, timeout=10)) as db:
        return db.execute(sql).fetchone()[0]


def wrk(url: str, script: str, seconds: int, args, extra_env: dict | None = None) -> dict:
    """One wrk run; each gets its own BENCH_RUN, so no two runs share an email or key."""
    env = os.environ | (extra_env or {}) | {"BENCH_RUN": secrets.token_hex(8)}
    command = ["wrk", "-t", str(args.threads), "-c", str(args.connections)]
    command += ["-d", f"{seconds}s", "-s", script, url]
    out = subprocess.run(command, cwd=BENCH, env=env, capture_output=True, text=True)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if out.returncode or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    result = json.loads(line.removeprefix("BENCH "))
    result["rps"] = round(result["requests"] / (result["duration_us"] / 1e6), 1)
    result["failed"] = result["4xx"] + result["5xx"]
    result["socket_errors"] += result.pop("timeouts")
    return result


def report(args, runs: dict, checks: dict, quarantined: int) -> None:
    hello = runs["hello"]["rps"]
    machine = {
        "nproc": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "gunicorn": f"{gunicorn.__version__} {' '.join(gunicorn_settings(args))}",
        "wrk": f"-t {args.threads} -c {args.connections} -d {args.seconds}s "
        f"(warm-up {args.warmup}s)",
    }
    ratios = {name: round(runs[name]["rps"] / hello, 3) for name in TARGETS}
    targets = {
        name: {"ratio": ratios[name], "target": goal, "pass": ratios[name] >= goal}
        for name, goal in TARGETS.items()
    }
    # wrk abandons up to one request per connection at its deadline; those may be stored.
    stored = {
        name: {"stored": s, "answered": a, "ok": 0 <= s - a <= args.connections}
        for name, (s, a) in checks.items()
    }
    results = {"machine": machine, "runs": runs, "targets": targets, "stored": stored}
    results["quarantined"] = quarantined
    results_dir = BENCH / "results"
    results_dir.mkdir(exist_ok=True)
    (results_dir / "latest.json").write_text(json.dumps(results, indent=2) + "\n")

    print(
        f"\n{'run':<9}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'2xx':>8}{'3xx':>8}"
        f"{'failed':>8}{'sock.err':>9}"
    )
    for name, run in runs.items():
        lat = run["latency_ms"]
        print(
            f"{name:<9}{run['rps']:>9.1f}{lat['p50']:>9.1f}{lat['p99']:>9.1f}{run['2xx']:>8}"
            f"{run['3xx']:>8}{run['failed']:>8}{run['socket_errors']:>9}"
        )
    print()
    for name, t in targets.items():
        mark = "PASS" if t["pass"] else "MISS"
        print(f"{name}/hello  {t['ratio']:.3f}  target >= {t['target']:.2f}  {mark}")
    for name, run in runs.items():
        failed = run["failed"] + run["socket_errors"]
        mark = "PASS" if failed == 0 else "MISS"
        print(f"{name} failed (non-2xx/3xx, socket errors)  {failed}  target 0  {mark}")
    slack = f"  (target: equal, or up to {args.connections} more abandoned by wrk at its end)"
    for name, s in stored.items():
        mark = "PASS" if s["ok"] else "MISS"
        print(f"{name} stored {s['stored']} vs answered {s['answered']}{slack}  {mark}")
    print(
        f"quarantined submissions  {quarantined}  target 0  "
        f"{'PASS' if quarantined == 0 else 'MISS'}"
    )
    print()
    for key, value in machine.items():
        print(f"{key:<9}{value}")
    print(f"\nwritten to {(results_dir / 'latest.json').relative_to(ROOT)}")


if __name__ == "__main__":
    main()
