"""GeoIP lookups: what each way of reading a MaxMind database costs, and whether it
survives the file being written over while it serves; then the landing view with
geo on against geo off.

    .venv/bin/python bench/geo.py [--database PATH]

The database is PATH, else the GeoLite2 City file of the maxminddb-geolite2 package
(``pip install -e '.[demo]'``), else 200,000 networks generated with mmdb-writer
(``pip install -e '.[test]'``). Each reader mode runs in a process of its own, so its
memory is its own: ``RSS +`` is what the process grew by after opening the database
and ``--lookups`` lookups; ``held`` is memory the mode keeps whole per process (a copy
of the file) beside pages it maps from the file itself, which every worker shares in
the page cache. Lookups are of random public addresses (nine in ten IPv4), the same
ones for each mode; the median and the 99th percentile of single lookups are printed.
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

#: name: (what it is, what a file written over in place does to it)
MODES = {
    "before": ("geoip2 Reader.city(), C extension mapping the file (until now)", "SIGBUS"),
    "mmap_ext": ("maxminddb get(), MODE_MMAP_EXT: C extension mapping the file", "SIGBUS"),
    "mmap": ("maxminddb get(), MODE_MMAP: pure Python mapping the file", "SIGBUS"),
    "file": ("maxminddb get(), MODE_FILE: pure Python reading the file", "torn reads"),
    "memory": ("maxminddb get(), MODE_MEMORY: pure Python, bytes in memory", "safe"),
    "chosen": ("geoip2 city(), C extension mapping a sealed memfd copy", "safe"),
    "locate": ("GeoLocator.locate(): the above plus parsing and checks", "safe"),
}


def addresses(count: int, seed: int = 7) -> list[str]:
    """Public addresses, nine in ten IPv4; IPv6 from prefixes in real use."""
    from flask_funnel.capture.geo import _is_public

    rng = random.Random(seed)
    prefixes = [ipaddress.ip_network(p) for p in ("2a02::/16", "2001:4860::/32", "2600::/12")]
    found: list[str] = []
    while len(found) < count:
        if rng.random() < 0.9:
            ip = ipaddress.IPv4Address(rng.getrandbits(32))
        else:
            net = rng.choice(prefixes)
            ip = net[rng.getrandbits(128 - net.prefixlen)]
        if _is_public(ip):
            found.append(str(ip))
    return found


def memory_kb() -> dict[str, int]:
    """This process's resident memory: all, and shared memory (shmem) mapped."""
    fields: dict[str, int] = {}
    with open("/proc/self/smaps_rollup") as rollup:
        for line in rollup:
            name, _, rest = line.partition(":")
            if rest.strip().endswith("kB"):
                fields[name] = int(rest.split()[0])
    return fields


def run_mode(mode: str, database: str, count: int) -> dict:
    """Open the database the way ``mode`` says, look ``count`` addresses up, report."""
    import geoip2.database
    import geoip2.errors
    import maxminddb

    from flask_funnel.capture import geo

    sample = addresses(count)
    before = memory_kb()
    held_kb = 0
    started = time.perf_counter()
    if mode == "before":
        reader = geoip2.database.Reader(database)

        def look_up(address: str):
            try:
                return reader.city(address)
            except geoip2.errors.AddressNotFoundError:
                return None

    elif mode in ("chosen", "locate"):
        if mode == "locate":
            locator = geo.GeoLocator(database)
            locator.locate("81.2.69.160")
            look_up = locator.locate
            opened = locator._open
        else:
            opened = geo._open_database(database)
            look_up = _ignoring_unknown(opened.lookup)
        if opened._memfd is not None:
            held_kb = os.fstat(opened._memfd).st_blocks * 512 // 1024
        else:
            held_kb = os.path.getsize(database) // 1024
    else:
        number = {
            "mmap_ext": maxminddb.MODE_MMAP_EXT,
            "mmap": maxminddb.MODE_MMAP,
            "file": maxminddb.MODE_FILE,
            "memory": maxminddb.MODE_MEMORY,
        }[mode]
        reader = maxminddb.open_database(database, number)
        look_up = reader.get
        if mode == "memory":
            held_kb = os.path.getsize(database) // 1024
    open_ms = (time.perf_counter() - started) * 1000
    for address in sample[:200]:  # warm up
        look_up(address)
    times = []
    clock = time.perf_counter_ns
    for address in sample:
        start = clock()
        look_up(address)
        times.append(clock() - start)
    times.sort()
    after = memory_kb()
    return {
        "mode": mode,
        "open_ms": open_ms,
        "median_us": statistics.median(times) / 1000,
        "p99_us": times[int(len(times) * 0.99)] / 1000,
        "rss_mb": (after["Rss"] - before["Rss"]) / 1024,
        "held_mb": held_kb / 1024,
    }


def landing_view(database: str, requests: int) -> dict[str, float]:
    """Median server time of the demo's landing view (visit stored), geo off and on,
    the two apps taking turns request by request so that both see the same machine."""
    from landing import create_app, funnel

    sample = addresses(requests + 200, seed=11)
    clients = {}
    folder = Path(tempfile.mkdtemp(prefix="funnel-geo-bench-"))
    for name, path in (("off", None), ("on", database)):
        app = create_app(
            {
                "SECRET_KEY": "bench",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / (name + '.sqlite3')}",
                "FUNNEL_GEOIP_PATH": path,
            }
        )
        with app.app_context():
            funnel.db.create_all()
        clients[name] = app.test_client()
    times: dict[str, list[int]] = {"off": [], "on": []}
    for number, address in enumerate(sample):
        for name in ("off", "on") if number % 2 else ("on", "off"):
            start = time.perf_counter_ns()
            response = clients[name].get("/p/home-brewing", environ_base={"REMOTE_ADDR": address})
            if number >= 200:  # after warming up: templates, first visits, the copy
                times[name].append(time.perf_counter_ns() - start)
            assert response.status_code == 200, response.status_code
    return {name: statistics.median(values) / 1e6 for name, values in times.items()}


def generated_database(path: Path, networks: int) -> None:
    """City records shaped like MaxMind's (names in eight languages, subdivision,
    continent, location) for about ``networks`` networks covering IPv4 and some IPv6."""
    from mmdb_writer import MMDBWriter
    from netaddr import IPNetwork, IPSet

    rng = random.Random(3)
    languages = ["de", "en", "es", "fr", "ja", "pt-BR", "ru", "zh-CN"]

    def names(text: str) -> dict[str, str]:
        return {language: f"{text} ({language})" for language in languages}

    countries = [f"{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(250)]
    cities = [
        {
            "city": {"geoname_id": i, "names": names(f"City {i}")},
            "continent": {"code": "EU", "geoname_id": 6255148, "names": names("Europe")},
            "country": {"iso_code": countries[i % 250], "names": names(countries[i % 250])},
            "location": {
                "accuracy_radius": 20,
                "latitude": rng.uniform(-60, 60),
                "longitude": rng.uniform(-180, 180),
                "time_zone": "Europe/Berlin",
            },
            "subdivisions": [{"iso_code": f"S{i % 90:02d}", "names": names(f"Region {i}")}],
        }
        for i in range(20_000)
    ]
    writer = MMDBWriter(
        ip_version=6, ipv4_compatible=True, database_type="GeoIP2-City", languages=languages
    )
    # All of IPv4 in /17 networks, then /24 networks inside them (inserted later, so
    # they win), then IPv6 /32 networks under 2a02::/16: about 200,000 in all.
    wide = [IPNetwork((first << 15, 17), version=4) for first in range(1 << 9, 224 << 9)]
    narrow = [
        IPNetwork((rng.randrange(1 << 24, 224 << 24) >> 8 << 8, 24), version=4)
        for _ in range(networks * 3 // 10)
    ]
    ipv6 = [
        IPNetwork((0x2A02 << 112 | rng.getrandbits(16) << 96, 32), version=6)
        for _ in range(max(networks - len(wide) - len(narrow), 0))
    ]
    for network in wide + narrow + ipv6:
        writer.insert_network(IPSet([network]), rng.choice(cities))
    writer.to_db_file(str(path))


def find_database(requested: Path | None, networks: int) -> tuple[str, str]:
    if requested is not None:
        return str(requested), requested.name
    try:
        from geolite2 import geolite2
    except ImportError:
        path = Path(tempfile.gettempdir()) / f"funnel-bench-{networks}.mmdb"
        if not path.exists():
            print(f"generating {networks:,} networks into {path} ...", flush=True)
            generated_database(path, networks)
        return str(path), f"{networks:,} generated networks"
    return geolite2.filename, "GeoLite2 City of maxminddb-geolite2"


def _ignoring_unknown(lookup):
    """``lookup`` that answers None for an address the database does not know."""
    import geoip2.errors

    def look_up(address):
        try:
            return lookup(address)
        except geoip2.errors.AddressNotFoundError:
            return None

    return look_up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", type=Path)
    parser.add_argument("--networks", type=int, default=200_000)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--run", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(run_mode(args.run, str(args.database), args.lookups)))
        return

    from flask_funnel.capture import geo

    database, described = find_database(args.database, args.networks)
    Path(database).read_bytes()  # into the page cache: no mode pays for the disk
    size = os.path.getsize(database) / 2**20
    print(f"database: {described}, {size:.1f} MB; {args.lookups:,} lookups per mode")
    print(f"the extension's reader here: {geo.READER_MODE}\n")
    print("| mode | median | p99 | open | RSS + | held | file written over |")
    print("|---|---|---|---|---|---|---|")
    for mode, (what, overwrite) in MODES.items():
        if mode == "before" and importlib.util.find_spec("geoip2") is None:
            continue  # pip install -e '.[bench]'
        lookups = args.lookups // 4 if mode == "file" else args.lookups
        command = [sys.executable, __file__, "--run", mode, "--database", database]
        child = subprocess.run(
            [*command, "--lookups", str(lookups)], capture_output=True, text=True, check=True
        )
        r = json.loads(child.stdout)
        print(
            f"| {what} | {r['median_us']:.1f} µs | {r['p99_us']:.1f} µs | {r['open_ms']:.1f} ms"
            f" | {r['rss_mb']:.1f} MB | {r['held_mb']:.1f} MB | {overwrite} |",
            flush=True,
        )
    times = landing_view(database, args.requests)
    print(
        f"\nlanding view, median of {args.requests:,} each: geo off {times['off']:.3f} ms,"
        f" geo on {times['on']:.3f} ms ({times['on'] / times['off'] - 1:+.1%},"
        f" {(times['on'] - times['off']) * 1000:+.0f} µs)"
    )


if __name__ == "__main__":
    main()
