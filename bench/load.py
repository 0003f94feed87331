"""A mixed load on the demo under gunicorn, on SQLite and on PostgreSQL, beside bare Flask.

Starts gunicorn (bench/throughput.py's settings: sync workers) for bench/hello.py, then
for the demo on a fresh SQLite file and on a fresh PostgreSQL database (each migrated
with ``flask db upgrade``, the PostgreSQL one dropped afterwards), and drives each with
the same wrk script (bench/mixed.lua, one connection per wrk thread): visitors who view
the landing page, of whom ``--quiz-share`` take the quiz step by step and submit the
contact step (each a new visitor: its own cookie, CSRF token and start stamp), and a
signed-in admin who reads the dashboard or a leads page every ``--admin-every`` seconds.

For the run the demo gets ``FUNNEL_MIN_FILL_SECONDS=0`` (the script answers at once) and
``FUNNEL_RATELIMIT_ENABLED=false`` (every request comes from 127.0.0.1). It prints
throughput overall and per kind, p50 and p99 latency per kind, answers that were not
2xx/3xx (by status) and socket errors, where the CPU went, and stored rows against
answers: every submission answered 303 must be in funnel_submissions (by its key) and
every landing view answered 200 in funnel_visits (by its new visitor's cookie), counted
after gunicorn stopped, since each worker writes the views it still buffers when it
exits (and its timer writes them every ``FUNNEL_VISIT_FLUSH_SECONDS`` anyway). Numbers
are printed and written to bench/results/load.json; nothing fails on a slow run.

    apt-get install wrk && .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/load.py [--seconds 60] [--databases sqlite,postgresql]
        [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import resource
import secrets
import statistics
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import gunicorn
import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from throughput import (
    ANSWERS,
    BENCH,
    BIN,
    ROOT,
    SLUG,
    gunicorn_server,
    gunicorn_settings,
    hidden_input,
    wrk,
)

from flask_funnel.db.models import Lead, Submission, Visit

ADMIN, PASSWORD = "load@bench.example", secrets.token_urlsafe(16)
ADMIN_PAGES = {"dashboard": "/p/admin/", "leads": "/p/admin/leads"}
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
KINDS = ("landing", "quiz", "submit", *ADMIN_PAGES)
TICK = os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="length of each measured run")
    parser.add_argument("--warmup", type=int, default=5, help="length of each warm-up run")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--connections", type=int, default=16, help="wrk threads = connections")
    parser.add_argument("--quiz-share", type=float, default=0.5, help="visitors taking the quiz")
    parser.add_argument(
        "--admin-every", type=float, default=1.0, help="seconds between admin reads"
    )
    parser.add_argument("--databases", default="sqlite,postgresql", help="comma-separated")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("FUNNEL_BENCH_POSTGRES_URL", POSTGRES_URL),
        help="a server and a database to connect to for creating a fresh one",
    )
    args = parser.parse_args()
    args.threads = args.connections  # one connection per wrk thread (see mixed.lua)

    load_before = os.getloadavg()
    results = {}
    with tempfile.TemporaryDirectory(prefix="funnel-load-") as tmp:
        results["bare Flask"] = measure(
            "bare Flask", "hello:app", BENCH, base_env(), args, Path(tmp)
        )
        for name in args.databases.split(","):
            with fresh_database(name, args, Path(tmp)) as url:
                results[name] = measure_demo(name, url, args, Path(tmp))
    report(args, results, load_before)


def base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "GUNICORN_CMD_ARGS"} | {
        "SECRET_KEY": secrets.token_hex(32),
        "FLASK_APP": "landing",
    }


@contextlib.contextmanager
def fresh_database(name: str, args, tmp: Path):
    """A new, empty database of kind ``name``: an SQLite file, or a PostgreSQL database
    created on the server of ``--postgres-url`` and dropped at the end."""
    if name == "sqlite":
        yield f"sqlite:///{tmp / 'load.sqlite3'}"
        return
    if name != "postgresql":
        raise SystemExit(f"unknown database {name!r}: sqlite or postgresql")
    server = create_engine(args.postgres_url, isolation_level="AUTOCOMMIT")
    database = f"funnel_bench_load_{secrets.token_hex(4)}"
    with server.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {database}"))
    try:
        yield make_url(args.postgres_url).set(database=database).render_as_string(False)
    finally:
        with server.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        server.dispose()


def measure_demo(name: str, url: str, args, tmp: Path) -> dict:
    env = base_env() | {
        "SQLALCHEMY_DATABASE_URI": url,
        "FUNNEL_MIN_FILL_SECONDS": "0",
        "FUNNEL_RATELIMIT_ENABLED": "false",
    }
    flask = [BIN / "flask", "--app", "landing"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    subprocess.run(
        [*flask, "funnel", "create-admin", ADMIN, "--password-stdin"],
        cwd=ROOT,
        env=env,
        input=PASSWORD,
        text=True,
        check=True,
        capture_output=True,
    )
    return measure(name, "wsgi:app", ROOT, env, args, tmp, database=url)


def measure(name, app, chdir, env, args, tmp: Path, database: str | None = None) -> dict:
    """Warm up, then one measured run of mixed.lua; with ``database``, the stored rows
    are checked against the answers once the server stopped."""
    logs = tmp / name.replace(" ", "-")
    (logs / "warm-up").mkdir(parents=True)
    (logs / "run").mkdir()
    script_env = {
        "BENCH_PAGE": f"/p/{SLUG}",
        "BENCH_ANSWERS": urlencode({k: v for k, v in ANSWERS.items() if k.startswith("q_")}),
        "BENCH_QUIZ_SHARE": str(args.quiz_share),
        "BENCH_ADMIN_PATHS": " ".join(f"{kind}={path}" for kind, path in ADMIN_PAGES.items()),
        "BENCH_ADMIN_EVERY": str(args.admin_every),
        "BENCH_BARE": "0" if database else "1",
    }
    engine = database and create_engine(database)
    with gunicorn_server(app, chdir, args, env, tmp) as base:
        port = base.rsplit(":", 1)[1]
        script_env["BENCH_ADMIN"] = sign_in(base) if database else "admin=bare"
        wrk(base, "mixed.lua", args.warmup, args, script_env | {"BENCH_LOG": str(logs / "warm-up")})
        before = engine and settled_counts(engine)
        cpu = cpu_times(port, engine)
        run = wrk(
            base, "mixed.lua", args.seconds, args, script_env | {"BENCH_LOG": str(logs / "run")}
        )
        cpu = {key: value - cpu[key] for key, value in cpu_times(port, engine).items()}
    # gunicorn stopped: every worker wrote the views it still held as it exited.
    answers = read_logs(logs / "run")
    result = summarise(run, answers, cpu)
    if engine:
        result["stored"] = check_rows(engine, before, answers)
        engine.dispose()
    print(f"{name}: {result['rps']:,.0f} requests/s")
    return result


def sign_in(base: str) -> str:
    """The Cookie header of an admin signed in with a password, as a browser would."""
    browser = requests.Session()
    page = browser.get(f"{base}/p/admin/sign-in", timeout=10)
    token = hidden_input(page.text, "csrf_token")
    answer = browser.post(
        f"{base}/p/admin/sign-in",
        data={"csrf_token": token, "email": ADMIN, "password": PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    if answer.status_code != 303:
        raise RuntimeError(f"admin sign-in answered {answer.status_code}")
    if browser.get(f"{base}{ADMIN_PAGES['dashboard']}", timeout=30).status_code != 200:
        raise RuntimeError("the signed-in admin cannot read the dashboard")
    return "; ".join(f"{c.name}={c.value}" for c in browser.cookies if c.name != "funnel_vid")


def settled_counts(engine) -> dict[str, int]:
    """Rows of the checked tables once the visit buffers have written what they hold
    (the count holds still for a second)."""
    now, previous = row_counts(engine), None
    while now != previous:
        time.sleep(1.0)
        now, previous = row_counts(engine), now
    return now


def row_counts(engine) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table.__tablename__: connection.scalar(select(func.count()).select_from(table))
            for table in (Visit, Submission, Lead)
        }


def cpu_times(port: str, engine) -> dict[str, float]:
    """CPU seconds so far: this server's gunicorn processes (found by the port on their
    command line), the PostgreSQL backends serving its database (the workers' pooled
    connections), wrk (finished children of this process), and the whole machine's
    busy and idle time."""
    cpu = {"gunicorn": 0.0, "postgres": 0.0}
    backends = set()
    if engine and engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            backends = set(
                connection.scalars(
                    text(
                        "SELECT pid FROM pg_stat_activity"
                        " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                )
            )
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            line = stat.read_text()
            fields = line.rsplit(")", 1)[1].split()
            seconds = (int(fields[11]) + int(fields[12])) / TICK  # utime + stime
            if int(stat.parent.name) in backends:
                cpu["postgres"] += seconds
            elif f"127.0.0.1:{port}".encode() in (stat.parent / "cmdline").read_bytes():
                cpu["gunicorn"] += seconds
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu["wrk"] = children.ru_utime + children.ru_stime
    with open("/proc/stat") as machine:
        ticks = [int(n) for n in machine.readline().split()[1:]]
    cpu["idle"] = (ticks[3] + ticks[4]) / TICK  # idle + iowait
    cpu["busy"] = (sum(ticks[:8]) - ticks[3] - ticks[4]) / TICK
    cpu["wall"] = time.monotonic()
    return cpu


def read_logs(folder: Path) -> list[tuple[str, int, float, str | None]]:
    """(kind, status, latency in ms, visitor id or submission key) per answer."""
    answers = []
    for log in sorted(folder.glob("thread-*.log")):
        for line in log.read_text().splitlines():
            kind, status, micros, *note = line.split()
            answers.append((kind, int(status), int(micros) / 1000, note[0] if note else None))
    return answers


def summarise(run: dict, answers: list, cpu: dict) -> dict:
    seconds = run["duration_us"] / 1e6
    by_kind = defaultdict(list)
    for kind, status, latency, _ in answers:
        by_kind[kind].append((status, latency))
    kinds = {"all": [(s, ms) for kind in by_kind.values() for s, ms in kind]}
    kinds |= {kind: by_kind[kind] for kind in KINDS if by_kind[kind]}
    result = {
        "seconds": round(seconds, 1),
        "rps": round(len(kinds["all"]) / seconds, 1),
        "socket_errors": run["socket_errors"],
        "wrk_requests": run["requests"],
        "kinds": {},
        "cpu_cores": {
            key: round(cpu[key] / cpu["wall"], 2) for key in ("gunicorn", "postgres", "wrk", "idle")
        },
    }
    result["cpu_cores"]["other"] = round(
        (cpu["busy"] - cpu["gunicorn"] - cpu["postgres"] - cpu["wrk"]) / cpu["wall"], 2
    )
    for kind, rows in kinds.items():
        latencies = sorted(ms for _, ms in rows)
        statuses = Counter(status for status, _ in rows)
        result["kinds"][kind] = {
            "answers": len(rows),
            "rps": round(len(rows) / seconds, 1),
            "p50_ms": round(statistics.median(latencies), 1),
            "p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 1),
            "statuses": dict(sorted(statuses.items())),
            "errors": {s: n for s, n in sorted(statuses.items()) if not 200 <= s < 400},
        }
    return result


def check_rows(engine, before: dict[str, int], answers: list) -> dict:
    """Every 303 submission stored under its key, every 200 landing view under its new
    visitor; rows beyond those are requests wrk abandoned at its deadline (at most one
    per connection) that the server still completed."""
    keys = {note for kind, status, _, note in answers if kind == "submit" and status == 303}
    visitors = {note for kind, status, _, note in answers if kind == "landing" and status == 200}
    after = row_counts(engine)
    with engine.connect() as connection:
        stored_keys = set(connection.scalars(select(Submission.idempotency_key)))
        stored_visitors = set(connection.scalars(select(Visit.visitor_id).distinct()))
        quarantined = connection.scalar(
            select(func.count()).select_from(Submission).where(Submission.quarantined)
        )
    added = {table: after[table] - before[table] for table in after}
    return {
        "submissions": {
            "answered_303": len(keys),
            "missing": len(keys - stored_keys),
            "missing_keys": sorted(keys - stored_keys)[:10],
            "added": added["funnel_submissions"],
            "new_leads": added["funnel_leads"],
            "quarantined": quarantined,
        },
        "visits": {
            "answered_200": len(visitors),
            "missing": len(visitors - stored_visitors),
            "missing_visitors": sorted(visitors - stored_visitors)[:10],
            "added": added["funnel_visits"],
        },
    }


def report(args, results: dict, load_before: tuple) -> None:
    bare = results["bare Flask"]
    machine = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cores": len(os.sched_getaffinity(0)),
        "load average before, after": f"{load_before[0]:.2f}, {os.getloadavg()[0]:.2f}",
        "python": platform.python_version(),
        "gunicorn": f"{gunicorn.__version__} {' '.join(gunicorn_settings(args))}",
        "wrk": f"-t {args.threads} -c {args.connections} -d {args.seconds}s "
        f"(warm-up {args.warmup}s), bench/mixed.lua",
        "mix": f"{args.quiz_share:.0%} of visitors take the quiz; "
        f"an admin request every {args.admin_every:g} s",
    }
    results_dir = BENCH / "results"
    results_dir.mkdir(exist_ok=True)
    out = results_dir / "load.json"
    out.write_text(json.dumps({"machine": machine, "runs": results}, indent=2) + "\n")

    print(
        f"\n{'run':<12}{'kind':<11}{'answers':>9}{'req/s':>9}{'of bare':>9}"
        f"{'p50 ms':>9}{'p99 ms':>9}  errors (non-2xx/3xx by status)"
    )
    for name, run in results.items():
        for kind, row in run["kinds"].items():
            bare_rps = bare["kinds"].get(kind, {}).get("rps")
            ratio = f"{row['rps'] / bare_rps:.3f}" if bare_rps else ""
            errors = ", ".join(f"{s}: {n}" for s, n in row["errors"].items()) or "0"
            label = name if kind == "all" else ""
            print(
                f"{label:<12}{kind:<11}{row['answers']:>9,}{row['rps']:>9,.1f}{ratio:>9}"
                f"{row['p50_ms']:>9.1f}{row['p99_ms']:>9.1f}  {errors}"
            )
        print(f"{'':<12}{'socket errors':<20}{run['socket_errors']:>9}")
    print("\nstatuses per kind:")
    for name, run in results.items():
        statuses = "; ".join(
            f"{kind} " + ", ".join(f"{s}×{n:,}" for s, n in row["statuses"].items())
            for kind, row in run["kinds"].items()
            if kind != "all"
        )
        print(f"  {name:<12}{statuses}")
    print("\nCPU over the measured run, in cores (of the machine's):")
    for name, run in results.items():
        print(f"  {name:<12}" + ", ".join(f"{k} {v:.2f}" for k, v in run["cpu_cores"].items()))
    print("\nstored rows against answers (counted after gunicorn stopped):")
    for name, run in results.items():
        if "stored" not in run:
            continue
        sub, vis = run["stored"]["submissions"], run["stored"]["visits"]
        slack = f"(0 to {args.connections} more: requests wrk abandoned at its deadline)"
        print(
            f"  {name:<12}submissions: {sub['answered_303']:,} answered 303, "
            f"{sub['missing']} of them missing; {sub['added']:,} rows added {slack}; "
            f"{sub['new_leads']:,} new leads; {sub['quarantined']} quarantined"
        )
        print(
            f"  {'':<12}visits: {vis['answered_200']:,} landing views answered 200, "
            f"{vis['missing']} of them missing; {vis['added']:,} rows added {slack}"
        )
    print()
    for key, value in machine.items():
        print(f"{key:<27}{value}")
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
