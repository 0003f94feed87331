"""Client address, address truncation and GeoIP lookup (flask_funnel.capture.geo)."""

import json
import logging
import os
import select
import subprocess
import sys
import threading
import time

import pytest
from mmdb import build_city_db, build_country_db
from mmdb_writer import MMDBWriter
from netaddr import IPSet

from flask_funnel.capture import geo
from flask_funnel.capture.geo import GeoLocator, Place, client_address, truncate_address

LONDON = "81.2.69.160"
BERLIN_V6 = "2a02:8100::1"
MOUNTAIN_VIEW_V6 = "2001:4860:4860::8888"
GERMANY_ONLY = "85.214.1.1"
UNLISTED = "1.1.1.1"

CITY_ENTRIES = {
    "81.2.69.0/24": ("GB", "London"),
    "85.214.0.0/16": ("DE", None),
    "2a02:8100::/32": ("DE", "Berlin"),
    "2001:4860::/32": ("US", "Mountain View"),
    "90.0.0.0/8": ("fr", "Paris"),
    # Networks no visitor can be placed in; if they were looked up they would match.
    "10.0.0.0/8": ("DE", "Private"),
    "100.64.0.0/10": ("DE", "Shared"),
    "127.0.0.0/8": ("DE", "Loopback"),
    "169.254.0.0/16": ("DE", "Link-local"),
    "172.16.0.0/12": ("DE", "Private"),
    "192.168.0.0/16": ("DE", "Private"),
    "224.0.0.0/4": ("DE", "Multicast"),
    "240.0.0.0/4": ("DE", "Reserved"),
    "::/128": ("DE", "Unspecified"),
    "::1/128": ("DE", "Loopback"),
    "fc00::/7": ("DE", "Unique local"),
    "fe80::/10": ("DE", "Link-local"),
}


@pytest.fixture
def city_db(tmp_path):
    return build_city_db(tmp_path / "city.mmdb", CITY_ENTRIES)


@pytest.fixture
def country_db(tmp_path):
    return build_country_db(
        tmp_path / "country.mmdb", {"81.2.69.0/24": "GB", "2a02:8100::/32": "DE"}
    )


@pytest.fixture
def corrupt_db(tmp_path):
    path = tmp_path / "corrupt.mmdb"
    path.write_bytes(os.urandom(4096))
    return path


@pytest.fixture(params=["C extension", "pure Python"])
def reader(request, monkeypatch):
    """Run the test with each way of reading the private copy."""
    if request.param == "pure Python":
        monkeypatch.setattr(geo, "MAP_PRIVATE_COPY", False)
    elif not geo.MAP_PRIVATE_COPY:
        pytest.skip("no maxminddb C extension or memfd here")
    return request.param


@pytest.fixture
def reader_opens(monkeypatch):
    """Paths of the databases read (each read makes a new private copy)."""
    opened = []
    real_open = geo._open_database

    def counting_open(path):
        opened.append(path)
        return real_open(path)

    monkeypatch.setattr(geo, "_open_database", counting_open)
    return opened


@pytest.fixture
def geo_log(caplog):
    caplog.set_level(logging.DEBUG, logger="flask_funnel.capture.geo")
    return caplog


def warnings_in(caplog):
    return [
        r
        for r in caplog.records
        if r.name == "flask_funnel.capture.geo" and r.levelname == "WARNING"
    ]


# --- lookups ---------------------------------------------------------------------------


def test_city_db_places_ipv4_address_with_country_and_city(city_db, reader):
    assert GeoLocator(city_db).locate(LONDON) == Place(country="GB", city="London")


def test_city_db_places_ipv6_address(city_db, reader):
    locator = GeoLocator(city_db)
    assert locator.locate(BERLIN_V6) == Place(country="DE", city="Berlin")
    assert locator.locate(MOUNTAIN_VIEW_V6) == Place(country="US", city="Mountain View")


def test_city_db_entry_without_city_gives_country_only(city_db):
    assert GeoLocator(city_db).locate(GERMANY_ONLY) == Place(country="DE", city=None)


def test_country_code_is_upper_case(city_db):
    assert GeoLocator(city_db).locate("90.1.2.3") == Place(country="FR", city="Paris")


def test_country_db_places_ipv4_and_ipv6_without_city(country_db, reader):
    locator = GeoLocator(country_db)
    assert locator.locate(LONDON) == Place(country="GB")
    assert locator.locate(BERLIN_V6) == Place(country="DE")


def test_ipv4_mapped_ipv6_address_is_looked_up_as_ipv4(city_db):
    assert GeoLocator(city_db).locate(f"::ffff:{LONDON}") == Place("GB", "London")


def test_path_may_be_a_path_object_or_a_string(city_db):
    assert GeoLocator(str(city_db)).locate(LONDON) == GeoLocator(city_db).locate(LONDON)


def test_address_not_in_database_gives_empty_place(city_db, country_db):
    assert GeoLocator(city_db).locate(UNLISTED) == Place()
    assert GeoLocator(country_db).locate("2001:4860::1") == Place()


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "100.64.0.1",
        "127.0.0.1",
        "169.254.10.10",
        "172.16.5.4",
        "192.168.1.20",
        "224.0.0.251",
        "240.0.0.1",
        "::",
        "::1",
        "::ffff:127.0.0.1",
        "fd12:3456:789a::1",
        "fe80::1",
    ],
)
def test_private_loopback_link_local_and_reserved_addresses_are_not_looked_up(city_db, address):
    assert GeoLocator(city_db).locate(address) == Place()


@pytest.mark.parametrize(
    "address",
    [None, "", " ", "garbage", "999.1.1.1", "81.2.69", "81.2.69.160:443", "[2a02:8100::1]", 42],
)
def test_invalid_addresses_give_empty_place_without_error(city_db, geo_log, address):
    assert GeoLocator(city_db).locate(address) == Place()
    assert warnings_in(geo_log) == []


@pytest.mark.parametrize("path", [None, ""])
def test_no_database_configured_gives_empty_place(path, reader_opens):
    assert GeoLocator(path).locate(LONDON) == Place()
    assert reader_opens == []


# --- a database that is missing, broken or of the wrong kind ----------------------------


def test_missing_database_gives_empty_place_and_warns_once(tmp_path, geo_log, reader_opens):
    path = tmp_path / "missing.mmdb"
    locator = GeoLocator(path)

    places = [locator.locate(LONDON) for _ in range(50)]

    assert set(places) == {Place()}
    [warning] = warnings_in(geo_log)
    assert str(path) in warning.getMessage()
    assert len(reader_opens) == 1


def test_corrupt_database_gives_empty_place_and_warns_once(corrupt_db, geo_log, reader_opens):
    locator = GeoLocator(corrupt_db)

    places = [locator.locate(address) for address in [LONDON, BERLIN_V6] * 25]

    assert set(places) == {Place()}
    [warning] = warnings_in(geo_log)
    assert str(corrupt_db) in warning.getMessage()
    assert len(reader_opens) == 1


def test_empty_file_and_directory_give_empty_place(tmp_path):
    empty = tmp_path / "empty.mmdb"
    empty.touch()
    assert GeoLocator(empty).locate(LONDON) == Place()
    assert GeoLocator(tmp_path).locate(LONDON) == Place()


def test_damaged_search_tree_gives_empty_place_and_warns_once(city_db, geo_log, reader):
    data = bytearray(city_db.read_bytes())
    metadata_start = data.rfind(b"\xab\xcd\xefMaxMind.com")
    data[:metadata_start] = b"\xff" * metadata_start
    city_db.write_bytes(bytes(data))
    locator = GeoLocator(city_db)

    assert [locator.locate(LONDON) for _ in range(10)] == [Place()] * 10
    assert len(warnings_in(geo_log)) == 1


def test_logs_never_contain_the_visitor_address(city_db, geo_log):
    data = bytearray(city_db.read_bytes())
    metadata_start = data.rfind(b"\xab\xcd\xefMaxMind.com")
    data[:metadata_start] = b"\xff" * metadata_start
    city_db.write_bytes(bytes(data))

    GeoLocator(city_db).locate(LONDON)

    assert geo_log.records, "the failed lookup should have been logged"
    assert "81.2.69" not in geo_log.text


def test_database_of_another_kind_gives_empty_place_and_warns(tmp_path, geo_log):
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoLite2-ASN")
    writer.insert_network(IPSet(["81.2.69.0/24"]), {"autonomous_system_number": 20712})
    path = tmp_path / "asn.mmdb"
    writer.to_db_file(str(path))
    locator = GeoLocator(path)

    assert locator.locate(LONDON) == Place()
    assert locator.locate(LONDON) == Place()
    [warning] = warnings_in(geo_log)
    assert "GeoLite2-ASN" in warning.getMessage()


def test_missing_database_is_tried_again_after_the_retry_interval(
    tmp_path, monkeypatch, reader_opens
):
    now = [1000.0]
    monkeypatch.setattr(geo, "monotonic", lambda: now[0])
    path = tmp_path / "later.mmdb"
    locator = GeoLocator(path)
    assert locator.locate(LONDON) == Place()

    build_city_db(path, CITY_ENTRIES)
    now[0] += geo.RETRY_SECONDS - 1
    assert locator.locate(LONDON) == Place()
    assert len(reader_opens) == 1

    now[0] += 2
    assert locator.locate(LONDON) == Place("GB", "London")
    assert len(reader_opens) == 2


# --- one reader per process -------------------------------------------------------------


def test_reader_is_opened_once_across_many_lookups(city_db, reader_opens):
    locator = GeoLocator(city_db)
    for _ in range(20):
        assert locator.locate(LONDON) == Place("GB", "London")
        assert locator.locate(UNLISTED) == Place()
    assert reader_opens == [str(city_db)]


def test_reader_is_not_opened_before_the_first_lookup(city_db, reader_opens):
    GeoLocator(city_db)
    assert reader_opens == []


def test_concurrent_first_lookups_open_one_reader(city_db, monkeypatch):
    opened = []
    real_open = geo._open_database

    def slow_open(path):
        opened.append(path)
        time.sleep(0.05)
        return real_open(path)

    monkeypatch.setattr(geo, "_open_database", slow_open)
    locator = GeoLocator(city_db)
    barrier = threading.Barrier(8)
    places = []

    def look_up():
        barrier.wait()
        places.append(locator.locate(LONDON))

    threads = [threading.Thread(target=look_up) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert places == [Place("GB", "London")] * 8
    assert len(opened) == 1


def test_close_releases_the_reader_and_a_later_lookup_reopens_it(city_db, reader_opens):
    locator = GeoLocator(city_db)
    assert locator.locate(LONDON) == Place("GB", "London")
    locator.close()
    locator.close()
    assert locator.locate(LONDON) == Place("GB", "London")
    assert len(reader_opens) == 2


def _locate_in_child(locator, address, reader_opens, *, hold_lock=False):
    """Fork; the child looks ``address`` up and reports ``<files read> country city
    <whose reader>`` (``own``: the child opened one for itself)."""
    read_fd, write_fd = os.pipe()
    held = locator._lock if hold_lock else None
    if held is not None:
        held.acquire()  # as if another thread were opening the database right now
    pid = os.fork()
    if pid == 0:
        try:
            place = locator.locate(address)
            own = locator._open is not None and locator._open.pid == os.getpid()
            report = f"{len(reader_opens)} {place.country} {place.city} {'own' if own else '-'}"
            os.write(write_fd, report.encode())
        finally:
            os._exit(0)
    if held is not None:
        held.release()
    os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], 5)
        report = os.read(read_fd, 200).decode() if ready else "child hung"
    finally:
        os.close(read_fd)
        if not ready:
            os.kill(pid, 9)
        os.waitpid(pid, 0)
    return report


needs_fork = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


@needs_fork
def test_forked_child_opens_its_own_reader_on_the_copy_without_reading_the_file(
    city_db, reader_opens, reader
):
    locator = GeoLocator(city_db)
    assert locator.locate(LONDON) == Place("GB", "London")

    assert _locate_in_child(locator, LONDON, reader_opens) == "1 GB London own"
    assert len(reader_opens) == 1
    assert locator.locate(LONDON) == Place("GB", "London")


@needs_fork
def test_forked_child_does_not_deadlock_on_a_lock_held_at_fork(city_db, reader_opens):
    locator = GeoLocator(city_db)

    assert _locate_in_child(locator, LONDON, reader_opens, hold_lock=True) == "1 GB London own"


# --- a new version of the file ----------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    """The locator's clock, moved by hand; files count as settled at once."""
    now = [1000.0]
    monkeypatch.setattr(geo, "monotonic", lambda: now[0])
    monkeypatch.setattr(geo, "SETTLE_SECONDS", 0.0)
    return now


PARIS = {"81.2.69.0/24": ("FR", "Paris"), "2a02:8100::/32": ("FR", "Lyon")}


def _replace_by_rename(path, entries):
    """Write a new database beside ``path`` and rename it over ``path``, as geoipupdate does."""
    fresh = build_city_db(path.with_name(path.name + ".new"), entries)
    os.replace(fresh, path)


def test_file_renamed_over_the_old_one_is_served_after_the_check_interval(
    city_db, clock, reader_opens, reader
):
    locator = GeoLocator(city_db)
    assert locator.locate(LONDON) == Place("GB", "London")

    _replace_by_rename(city_db, PARIS)
    clock[0] += geo.CHECK_SECONDS - 1
    assert locator.locate(LONDON) == Place("GB", "London")

    clock[0] += 2
    assert locator.locate(LONDON) == Place("FR", "Paris")
    assert locator.locate(BERLIN_V6) == Place("FR", "Lyon")
    assert len(reader_opens) == 2


def test_file_written_over_in_place_is_served_after_the_check_interval(city_db, clock):
    locator = GeoLocator(city_db)
    assert locator.locate(LONDON) == Place("GB", "London")

    city_db.write_bytes(build_city_db(city_db.with_name("paris.mmdb"), PARIS).read_bytes())
    assert locator.locate(LONDON) == Place("GB", "London")  # the copy, not the file

    clock[0] += geo.CHECK_SECONDS + 1
    assert locator.locate(LONDON) == Place("FR", "Paris")


def test_file_is_looked_at_once_per_check_interval_and_read_only_when_changed(
    city_db, clock, reader_opens, monkeypatch
):
    looks = []
    real_signature = geo._signature
    monkeypatch.setattr(geo, "_signature", lambda f: looks.append(f) or real_signature(f))
    locator = GeoLocator(city_db)

    for _ in range(10):
        for _ in range(100):
            assert locator.locate(LONDON) == Place("GB", "London")
        clock[0] += geo.CHECK_SECONDS / 2

    assert looks.count(str(city_db)) == 4  # at 5, 10, 15 and 20 seconds
    assert reader_opens == [str(city_db)]


def test_file_still_being_written_is_read_once_it_has_settled(city_db, clock, monkeypatch):
    monkeypatch.setattr(geo, "SETTLE_SECONDS", 30.0)
    locator = GeoLocator(city_db)
    assert locator.locate(LONDON) == Place("GB", "London")

    _replace_by_rename(city_db, PARIS)
    clock[0] += geo.CHECK_SECONDS + 1
    assert locator.locate(LONDON) == Place("GB", "London")

    written = time.time() - 31
    os.utime(city_db, (written, written))
    clock[0] += geo.CHECK_SECONDS + 1
    assert locator.locate(LONDON) == Place("FR", "Paris")


def test_unusable_new_version_keeps_the_old_data_warns_once_and_is_not_read_again(
    city_db, clock, geo_log, reader_opens
):
    locator = GeoLocator(city_db)
    assert locator.locate(LONDON) == Place("GB", "London")

    broken = city_db.with_name("broken.mmdb")
    broken.write_bytes(b"half a download" * 1000)
    os.replace(broken, city_db)
    for _ in range(5):
        clock[0] += geo.CHECK_SECONDS + 1
        assert locator.locate(LONDON) == Place("GB", "London")

    [warning] = warnings_in(geo_log)
    assert str(city_db) in warning.getMessage()
    assert len(reader_opens) == 2  # the first version, then the broken one once

    _replace_by_rename(city_db, PARIS)
    clock[0] += geo.CHECK_SECONDS + 1
    assert locator.locate(LONDON) == Place("FR", "Paris")


def test_deleted_file_keeps_serving_the_copy_and_warns_once(city_db, clock, geo_log):
    locator = GeoLocator(city_db)
    assert locator.locate(LONDON) == Place("GB", "London")

    city_db.unlink()
    for _ in range(5):
        clock[0] += geo.CHECK_SECONDS + 1
        assert locator.locate(LONDON) == Place("GB", "London")

    [warning] = warnings_in(geo_log)
    assert str(city_db) in warning.getMessage()

    build_city_db(city_db, PARIS)
    clock[0] += geo.CHECK_SECONDS + 1
    assert locator.locate(LONDON) == Place("FR", "Paris")


def test_records_of_the_wrong_shape_give_only_strings_or_none(tmp_path, reader):
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type="GeoIP2-City")
    writer.insert_network(
        IPSet(["81.2.69.0/24"]),
        {
            "country": {"iso_code": 42},
            "city": {"names": ["London"]},
            "subdivisions": "ENG",
            "continent": {"code": "<script>"},
        },
    )
    writer.insert_network(IPSet(["85.214.0.0/16"]), {"country": "DE", "city": True})
    writer.insert_network(IPSet(["90.0.0.0/8"]), {"country": {"iso_code": "FRA"}})
    path = tmp_path / "odd.mmdb"
    writer.to_db_file(str(path))
    locator = GeoLocator(path)

    assert locator.locate(LONDON) == Place()
    assert locator.locate(GERMANY_ONLY) == Place()
    assert locator.locate("90.1.2.3") == Place()


def test_ipv6_address_in_an_ipv4_database_gives_empty_place_without_warning(tmp_path, geo_log):
    writer = MMDBWriter(ip_version=4, database_type="GeoIP2-Country")
    writer.insert_network(IPSet(["81.2.69.0/24"]), {"country": {"iso_code": "GB"}})
    path = tmp_path / "ipv4.mmdb"
    writer.to_db_file(str(path))
    locator = GeoLocator(path)

    assert locator.locate(LONDON) == Place("GB")
    assert locator.locate(BERLIN_V6) == Place()
    assert warnings_in(geo_log) == []


# In a child process: threads look addresses up while the database is replaced under
# them. A crash (SIGBUS when a mapped file is truncated) kills the child, not pytest.
REPLACE_WHILE_SERVING = """
import json, os, sys, threading, time
from flask_funnel.capture import geo

path, fresh, how, reader = sys.argv[1:]
geo.CHECK_SECONDS, geo.SETTLE_SECONDS = 0.02, 0.2
geo.MAP_PRIVATE_COPY = geo.MAP_PRIVATE_COPY and reader == "C extension"
locator = geo.GeoLocator(path)
addresses = ["81.2.69.160", "2a02:8100::1", "81.2.69.7"]
stop = threading.Event()
answers, errors, lookups = set(), [], [0]

def look_up():
    while not stop.is_set():
        for address in addresses:
            try:
                place = locator.locate(address)
                answers.add((address, type(place).__name__, place.country, place.city))
            except BaseException as exc:
                errors.append(repr(exc))
            lookups[0] += 1

threads = [threading.Thread(target=look_up) for _ in range(4)]
for thread in threads:
    thread.start()
time.sleep(0.3)
data = open(fresh, "rb").read()
if how == "in place":  # cp over the old file: truncated, then written a piece at a time
    with open(path, "wb") as target:
        for start in range(0, len(data), 4096):
            target.write(data[start : start + 4096])
            target.flush()
            time.sleep(0.002)
else:  # written beside it, then renamed over it
    with open(path + ".tmp", "wb") as target:
        target.write(data)
    os.replace(path + ".tmp", path)
deadline = time.monotonic() + 20
while time.monotonic() < deadline and locator.locate(addresses[0]).country != "FR":
    time.sleep(0.01)
time.sleep(0.2)
stop.set()
for thread in threads:
    thread.join()
print(json.dumps({
    "answers": sorted(answers),
    "errors": errors[:5],
    "lookups": lookups[0],
    "now": [list(vars(locator.locate(a)).values()) for a in addresses],
}))
"""


def _big_city_db(path, entries):
    """A database of some hundred kilobytes, so that a copy over it takes many writes."""
    filler = {f"{20 + i // 256}.{i % 256}.0.0/16": ("US", f"Town {i}") for i in range(3000)}
    return build_city_db(path, filler | entries)


@pytest.mark.parametrize("how", ["in place", "by rename"])
def test_database_replaced_while_threads_look_up_keeps_answering(tmp_path, how, reader):
    london = {"81.2.69.0/24": ("GB", "London"), "2a02:8100::/32": ("DE", "Berlin")}
    path = _big_city_db(tmp_path / "city.mmdb", london)
    fresh = _big_city_db(tmp_path / "fresh.mmdb", PARIS)
    assert path.stat().st_size > 100_000

    child = subprocess.run(
        [sys.executable, "-c", REPLACE_WHILE_SERVING, str(path), str(fresh), how, reader],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert child.returncode == 0, f"child died ({child.returncode}): {child.stderr[-2000:]}"
    report = json.loads(child.stdout)
    assert report["errors"] == []
    assert report["lookups"] > 1000
    assert {tuple(answer) for answer in report["answers"]} <= {
        ("81.2.69.160", "Place", "GB", "London"),
        ("81.2.69.160", "Place", "FR", "Paris"),
        ("81.2.69.7", "Place", "GB", "London"),
        ("81.2.69.7", "Place", "FR", "Paris"),
        ("2a02:8100::1", "Place", "DE", "Berlin"),
        ("2a02:8100::1", "Place", "FR", "Lyon"),
    }
    assert report["now"] == [
        ["FR", "Paris", None, None],
        ["FR", "Lyon", None, None],
        ["FR", "Paris", None, None],
    ]


# --- client address ---------------------------------------------------------------------


def test_spoofed_forwarded_for_is_ignored_without_trusted_proxies():
    assert client_address("198.51.100.7", "81.2.69.160", 0) == "198.51.100.7"


def test_spoofed_forwarded_for_does_not_change_the_place(city_db):
    address = client_address("2a02:8100::7", "81.2.69.160", 0)
    assert GeoLocator(city_db).locate(address) == Place("DE", "Berlin")


def test_no_forwarded_for_gives_remote_addr():
    assert client_address("81.2.69.160", None, 1) == "81.2.69.160"
    assert client_address("81.2.69.160", "", 2) == "81.2.69.160"


def test_one_proxy_takes_the_rightmost_forwarded_value():
    header = "6.6.6.6, 81.2.69.160"
    assert client_address("10.0.0.2", header, 1) == "81.2.69.160"


def test_two_proxies_take_the_second_value_from_the_right():
    header = "6.6.6.6, 81.2.69.160, 10.0.0.3"
    assert client_address("10.0.0.2", header, 2) == "81.2.69.160"


def test_values_left_of_the_trusted_ones_are_ignored():
    header = "garbage, 7.7.7.7, 81.2.69.160, 10.0.0.3"
    assert client_address("10.0.0.2", header, 2) == "81.2.69.160"


def test_spaces_around_forwarded_values_are_stripped():
    assert client_address("10.0.0.2", "  2a02:8100::1  ,10.0.0.3", 2) == "2a02:8100::1"


@pytest.mark.parametrize("header", ["81.2.69.160", "81.2.69.160, 10.0.0.3"])
def test_forwarded_for_shorter_than_proxy_count_falls_back_to_remote_addr(header):
    assert client_address("10.0.0.2", header, 3) == "10.0.0.2"


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        "unknown",
        ",",
        "81.2.69.160:443",
        "[2a02:8100::1]",
        "81.2.69.160 10.0.0.3",
        "<script>alert(1)</script>",
    ],
)
def test_garbage_forwarded_value_falls_back_to_remote_addr(header):
    assert client_address("10.0.0.2", header, 1) == "10.0.0.2"


def test_invalid_remote_addr_and_no_usable_header_gives_none():
    assert client_address(None, None, 0) is None
    assert client_address("not-an-ip", "81.2.69.160", 0) is None
    assert client_address("", "garbage", 1) is None


def test_addresses_are_normalised():
    assert client_address("::ffff:81.2.69.160", None, 0) == "81.2.69.160"
    assert client_address("10.0.0.2", "2A02:8100:0:0::1", 1) == "2a02:8100::1"


# --- truncation -------------------------------------------------------------------------


def test_ipv4_is_truncated_to_its_24_network():
    assert truncate_address("203.0.113.77") == "203.0.113.0"


def test_ipv6_is_truncated_to_its_48_network():
    assert truncate_address("2001:db8:abcd:1234:5678::1") == "2001:db8:abcd::"


def test_ipv4_mapped_ipv6_is_truncated_as_ipv4():
    assert truncate_address("::ffff:203.0.113.77") == "203.0.113.0"


@pytest.mark.parametrize("address", [None, "", "garbage", "203.0.113.0/24", "203.0.113.77:80"])
def test_invalid_address_truncates_to_none(address):
    assert truncate_address(address) is None
    assert truncate_address(address, keep_full=True) is None


def test_keep_full_returns_the_normalised_address():
    assert truncate_address("203.0.113.77", keep_full=True) == "203.0.113.77"
    assert truncate_address("2001:DB8:0:0::1", keep_full=True) == "2001:db8::1"
