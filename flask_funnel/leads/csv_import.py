"""Importing existing contacts and past customers from a CSV file, with their history.

The file is read and checked first (``read_rows``) without touching the database; then
``import_leads`` writes the valid rows in one transaction: nothing at all while a row is
wrong, unless asked to skip the wrong ones. A lead whose email is already known is left
exactly as it is, so importing the same file twice changes nothing.

A lead imported at a later stage is taken to have passed the earlier ones. Each stage it
passed gets a stage-change row at the file's ``<stage>_at`` time when one is given, else
at the time of the stage before it (``created_at`` for the first), so times never go
backwards. A ``lost`` lead went as far as the furthest stage given a time, then was
lost at ``lost_at`` (else at its last time), for ``lost_reason`` when given. A lead
whose ``stage`` is behind a stage given a time came back to it at ``stage_changed_at``
(else at its last time); one at another stage with a ``lost_at`` was lost then, and
came back to its stage at ``stage_changed_at``: a history exported by ``flask funnel
export`` imports as it was.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from sqlalchemy import Connection, Engine, bindparam, insert, select

from flask_funnel import signals, values
from flask_funnel.db.models import Lead, StageChange
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.db.types import utcnow
from flask_funnel.db.upserts import supports_returning, upsert
from flask_funnel.leads import audit, stages
from flask_funnel.leads.name_terms import add_terms
from flask_funnel.leads.stages import FUNNEL_ORDER, LEAD, LEAD_STAGES, LOST, RANK, VISITOR
from flask_funnel.values import FieldError, normalize_email, shown

log = logging.getLogger("flask_funnel.leads.csv_import")

_leads, _changes = Lead.__table__, StageChange.__table__

#: Actor of the stage-change rows an import writes.
ACTOR = "import"
#: ``source`` of an imported lead without a ``utm_source``.
SOURCE = "import"
#: ``signup_method`` of every imported lead: its email came from a file, whatever the
#: file says (an export's ``signup_method`` column is passed over).
SIGNUP_METHOD = "import"
#: The optional time columns, one per stage a lead passes on its way up the funnel,
#: and when it was lost.
STAGE_TIME_COLUMNS = {f"{stage}_at": stage for stage in (*FUNNEL_ORDER[1:], LOST)}
#: When a lead that came back (or was lost) reached the stage it is at.
BACK_COLUMN = "stage_changed_at"
#: Every column a file may have; only ``email`` is required.
COLUMNS = (
    "email",
    "name",
    "stage",
    "created_at",
    "landing_page",
    "country",
    "city",
    "utm_source",
    "source",
    *STAGE_TIME_COLUMNS,
    "lost_reason",
    BACK_COLUMN,
)
#: Columns of ``flask funnel export`` that an import passes over, so an export
#: imports as it is (answers and scores belong to quiz submissions, not to leads; an
#: imported lead's sign-up method is ``import``).
EXPORT_ONLY_COLUMNS = ("id", "answers", "score", "quarantined", "signup_method")
_TEXT_COLUMNS = ("name", "landing_page", "city", "utm_source", "source", "lost_reason")
#: The longest value a text column takes: the width of its database column.
MAX_LENGTH = {
    column: (_leads.c[column] if column in _leads.c else _changes.c[column]).type.length
    for column in ("email", *_TEXT_COLUMNS)
}
#: Leads written per statement: few round trips, flat memory.
BATCH_SIZE = 1000
#: Earliest time accepted; anything before is taken for a typo.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)

_COUNTRY = re.compile(r"[A-Za-z]{2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


# --- what reading a file gives ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowError:
    """Why a line of the file cannot be imported; ``field`` names the column at fault
    (None when the line as a whole is wrong). ``line`` is the file's line number, the
    header being line 1; a row spanning several lines is named by its first."""

    line: int
    field: str | None
    message: str

    def __str__(self) -> str:
        if self.field:
            return f"line {self.line}: {self.field}: {self.message}"
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class LeadRow:
    """One valid row, normalised: what the database gets if the email is new."""

    line: int
    email: str
    name: str | None
    stage: str
    created_at: datetime
    #: The stages the lead went through (``stage_path``) and when, in order.
    path: tuple[str, ...]
    times: tuple[datetime, ...]
    landing_page: str | None
    country: str | None
    city: str | None
    utm_source: str | None
    source: str | None = None
    #: Why the lead was lost (its move to lost, when the path has one).
    lost_reason: str | None = None


@dataclass
class ReadResult:
    rows: list[LeadRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    #: False when the file as a whole cannot be imported (empty, not UTF-8, bad header).
    readable: bool = True

    @property
    def bad_rows(self) -> int:
        return len({error.line for error in self.errors})


@dataclass(frozen=True)
class ImportReport:
    """What an import did. ``imported`` counts the leads it created, ``known`` the
    valid rows whose email was already a lead (left unchanged)."""

    file_name: str
    valid: int
    imported: int
    known: int
    errors: tuple[RowError, ...]
    readable: bool
    written: bool

    @property
    def skipped(self) -> int:
        """Rows reported as wrong (each counted once, however many faults it has)."""
        return len({error.line for error in self.errors})

    def summary(self) -> str:
        if self.written:
            text = f"Imported {_plural(self.imported, 'lead')}"
            if self.known:
                text += f" ({self.known} already known, unchanged)"
            if self.skipped:
                text += f"; {_plural(self.skipped, 'row')} skipped"
            return text + "."
        if not self.readable:
            return "Nothing imported: the file cannot be read as a list of leads."
        return (
            f"Nothing imported: {_plural(self.skipped, 'row')} with errors, "
            f"{_plural(self.valid, 'valid row')}."
        )


class _NotUtf8(Exception):
    def __init__(self, line: int):
        self.line = line


# --- values -------------------------------------------------------------------------


def parse_email(value: str) -> str:
    """A syntactically valid address, trimmed and lower-cased (as the quiz form does)."""
    return normalize_email(value)


def parse_stage(value: str) -> str:
    """A stage a lead can be at; empty means ``lead``."""
    stage = value.strip().lower() or LEAD
    if stage not in LEAD_STAGES:
        raise FieldError("stage", f"{shown(value)} is not a stage ({', '.join(LEAD_STAGES)})")
    return stage


def parse_country(value: str) -> str | None:
    """An ISO 3166-1 alpha-2 code, upper-cased; empty means unknown."""
    value = value.strip()
    if not value:
        return None
    if not _COUNTRY.fullmatch(value):
        raise FieldError(
            "country", f"{shown(value)} is not a two-letter country code (ISO 3166-1 alpha-2)"
        )
    return value.upper()


def parse_text(column: str, value: str) -> str | None:
    """Free text with its runs of white space made single spaces; too long is an error,
    never cut short."""
    text = " ".join(value.split())
    if not text:
        return None
    if text[:1] == "'" and text[1:2] in ("=", "+", "-", "@"):
        text = text[1:]  # an export's guard against spreadsheet formulas
    if _CONTROL.search(text):
        raise FieldError(column, "contains a control character")
    if len(text) > MAX_LENGTH[column]:
        raise FieldError(column, f"is longer than {MAX_LENGTH[column]} characters")
    return text


def parse_time(column: str, value: str, now: datetime) -> datetime | None:
    """A date or ISO 8601 time (see ``values.parse_time``), not before 1970 and not in
    the future; empty gives None."""
    if not value.strip():
        return None
    moment = values.parse_time(value, column)
    if moment < EARLIEST:
        raise FieldError(column, f"{shown(value.strip())} is before {EARLIEST.year}")
    if moment > now:
        raise FieldError(column, f"{shown(value.strip())} is in the future")
    return moment


@cache
def stage_path(stage: str, furthest: str = LEAD) -> tuple[str, ...]:
    """The stages a lead now at ``stage`` went through, from ``lead`` on, having gone
    as far as ``furthest``: up to the further of the two, then lost or back to
    ``stage`` when that is behind."""
    top = furthest if stage == LOST or RANK[furthest] > RANK[stage] else stage
    path = FUNNEL_ORDER[1 : RANK[top] + 1]
    return path if path[-1] == stage else (*path, stage)


@cache
def lost_and_back(stage: str, furthest: str, after: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The stages of a lead now at ``stage`` that went as far as ``furthest``, was lost
    there, came back and first reached ``after`` since, ending at ``stage``."""
    back = after if after and after[-1] == stage else (*after, stage)
    return (*FUNNEL_ORDER[1 : RANK[furthest] + 1], LOST, *back)


def origin_key(email: str) -> str:
    """The ``origin_key`` of an imported lead: the same for the same email, every time."""
    return "import:" + hashlib.sha256(email.encode("utf-8")).hexdigest()[:24]


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# --- reading ------------------------------------------------------------------------


def read_rows(lines: Iterable[bytes], *, now: datetime | None = None) -> ReadResult:
    """Read and check a CSV file given as its lines of bytes (an open binary file).

    Streams the file: only the valid rows, normalised, and the errors are kept. Times
    not given default to ``now`` (by default the current time)."""
    now = now or utcnow()
    result = ReadResult()
    records = _records(csv.reader(_utf8_lines(lines), strict=True))
    try:
        columns = _header(records, result)
        if columns is None:
            result.readable = False
            return result
        seen: dict[str, int] = {}
        for line, record, csv_error in records:
            if csv_error is not None:
                result.errors.append(RowError(line, None, f"is not valid CSV: {csv_error}"))
            elif not any(value.strip() for value in record):
                continue  # a blank line
            elif len(record) != len(columns):
                result.errors.append(
                    RowError(
                        line,
                        None,
                        f"has {_plural(len(record), 'value')}, "
                        f"the header has {_plural(len(columns), 'column')}",
                    )
                )
            else:
                _check_row(line, dict(zip(columns, record, strict=True)), now, seen, result)
    except _NotUtf8 as error:
        result.errors.append(
            RowError(error.line, None, "is not UTF-8 text (save the file as CSV UTF-8)")
        )
        result.readable = False
    return result


def _utf8_lines(lines: Iterable[bytes]) -> Iterator[str]:
    # Decoded line by line, so a wrong byte is reported with its line number.
    for number, raw in enumerate(lines, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise _NotUtf8(number) from None
        yield text.removeprefix("\ufeff") if number == 1 else text


def _records(reader) -> Iterator[tuple[int, list[str] | None, str | None]]:
    """(first line, values, None) for each record, or (first line, None, reason) for a
    record that is not valid CSV; reading goes on with the next line."""
    while True:
        line = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            yield line, None, str(error).split(" - ")[0]
            continue
        yield line, record, None


def _header(records, result: ReadResult) -> list[str] | None:
    for line, record, csv_error in records:
        if csv_error is not None:
            result.errors.append(RowError(line, None, f"is not valid CSV: {csv_error}"))
            return None
        if any(value.strip() for value in record):
            break
    else:
        result.errors.append(
            RowError(1, None, "the file is empty (expected a header line naming the columns)")
        )
        return None
    columns = [_column_name(value) for value in record]
    for position, (raw, column) in enumerate(zip(record, columns, strict=True)):
        if not column:
            result.errors.append(RowError(line, None, f"column {position + 1} has no name"))
        elif column in EXPORT_ONLY_COLUMNS:
            continue
        elif column not in COLUMNS:
            guess = difflib.get_close_matches(column, COLUMNS, n=1)
            hint = f"did you mean {guess[0]!r}?" if guess else f"known: {', '.join(COLUMNS)}"
            result.errors.append(RowError(line, None, f"unknown column {shown(raw)} ({hint})"))
        elif column in columns[:position]:
            result.errors.append(RowError(line, None, f"column {column!r} appears twice"))
    if "email" not in columns:
        result.errors.append(RowError(line, None, "there is no email column"))
    return None if result.errors else columns


def _column_name(value: str) -> str:
    return re.sub(r"[\s-]+", "_", value.strip().lower())


def _check_row(
    line: int, values: dict[str, str], now: datetime, seen: dict[str, int], result: ReadResult
) -> None:
    errors: list[RowError] = []

    def check(parse, *args):
        try:
            return parse(*args)
        except FieldError as error:
            errors.append(RowError(line, error.field, error.message))
            return None

    email = check(parse_email, values["email"])
    if email is not None:
        if email in seen:
            errors.append(RowError(line, "email", f"{shown(email)} is also on line {seen[email]}"))
        else:
            seen[email] = line
    text = {column: check(parse_text, column, values.get(column, "")) for column in _TEXT_COLUMNS}
    country = check(parse_country, values.get("country", ""))
    stage = check(parse_stage, values.get("stage", ""))
    created_at = check(parse_time, "created_at", values.get("created_at", ""), now)
    given: dict[str, tuple[str, str, datetime]] = {}
    for column, passed in STAGE_TIME_COLUMNS.items():
        moment = check(parse_time, column, values.get(column, ""), now)
        if moment is not None:
            given[passed] = (column, values[column].strip(), moment)
    back = check(parse_time, BACK_COLUMN, values.get(BACK_COLUMN, ""), now)
    path = ()
    if stage is not None:
        reached = [s for s in FUNNEL_ORDER[1:] if s in given]
        furthest = reached[-1] if reached else LEAD
        if LOST in given and stage != LOST:  # lost, then came back: stages by their times
            lost_at = given[LOST][2]
            before = [s for s in reached if given[s][2] <= lost_at]
            after = tuple(s for s in reached if given[s][2] > lost_at)
            path = lost_and_back(stage, before[-1] if before else LEAD, after)
        else:
            path = stage_path(stage, furthest)
    if text["lost_reason"] is not None and LOST not in path:
        errors.append(RowError(line, "lost_reason", "is given, but the lead was never lost"))
    if errors:
        result.errors.extend(errors)
        return
    # A lead that came back got to its stage again (or after a loss): at stage_changed_at.
    final = None
    if (path.count(stage) > 1 or LOST in path[:-1]) and back is not None:
        final = (BACK_COLUMN, values[BACK_COLUMN].strip(), back)
    times = _stage_times(line, path, values, created_at, given, now, errors, final)
    if errors:
        result.errors.extend(errors)
        return
    result.rows.append(
        LeadRow(
            line=line,
            email=email,
            name=text["name"],
            stage=stage,
            created_at=created_at or times[0],
            path=path,
            times=times,
            landing_page=text["landing_page"],
            country=country,
            city=text["city"],
            utm_source=text["utm_source"],
            source=text["source"],
            lost_reason=text["lost_reason"],
        )
    )


def _stage_times(
    line, path, values, created_at, given, now, errors, final=None
) -> tuple[datetime, ...]:
    """When each stage of ``path`` was reached: its own time if given, else the time of
    the stage before it; ``final`` is the last stage's when the lead came back to it.
    Without ``created_at`` the first given time starts the lead (or ``now`` when there
    is none)."""
    if created_at is not None:
        moment, since = created_at, ("created_at", values["created_at"].strip())
    else:
        first = next((given[stage] for stage in path if stage in given), None)
        moment, since = (first[2], first[:2]) if first else (now, None)
    times = []
    for n, stage in enumerate(path):
        if final is not None and n == len(path) - 1:
            this = final
        else:
            this = None if stage in path[:n] else given.get(stage)
        if this is not None:
            column, raw, at = this
            if at < moment:
                errors.append(
                    RowError(line, column, f"{shown(raw)} is earlier than {since[0]} {since[1]!r}")
                )
            moment, since = at, (column, raw)
        times.append(moment)
    return tuple(times)


# --- writing ------------------------------------------------------------------------

_INSERT_CHANGES = insert(_changes)
_EMAILS = bindparam("emails", expanding=True)
_LOCK_KNOWN = select(Lead.email).where(Lead.email.in_(_EMAILS)).with_for_update()
_IDS_BY_EMAIL = select(Lead.email, Lead.id).where(Lead.email.in_(_EMAILS))


@cache
def _insert_leads(dialect: str, returning: bool):
    # Insert-or-ignore: an email already there (or added meanwhile) is left alone.
    stmt = upsert(dialect, _leads, ["email"], None)
    if returning:
        stmt = stmt.returning(_leads.c.email, _leads.c.id)
    return stmt


def import_leads(
    engine: Engine, path: str | os.PathLike, *, skip_invalid: bool = False, actor: str = "cli"
) -> ImportReport:
    """Import the leads of a CSV file with their stage history, in one transaction.

    Nothing is written while a row is wrong, unless ``skip_invalid`` (then the valid rows
    are); a file that cannot be read at all writes nothing either way. Leads whose email
    is already known are left unchanged. The import is recorded in the audit trail, and
    once committed each stage-change row written is sent as ``stage_changed``."""
    path = Path(path)
    with path.open("rb") as stream:
        read = read_rows(stream)
    report = ImportReport(
        file_name=path.name,
        valid=len(read.rows),
        imported=0,
        known=0,
        errors=tuple(read.errors),
        readable=read.readable,
        written=False,
    )
    if not read.readable or (read.errors and not skip_invalid):
        log.info(
            "import refused: %d valid rows, %d rows with errors; nothing written",
            len(read.rows),
            read.bad_rows,
        )
        return report
    # Up to a row per stage of every lead: kept for stage_changed only when it has
    # receivers, so an import nobody listens to costs what it did before.
    written: list[dict] | None = [] if signals.listened(signals.stage_changed) else None
    with writing(engine) as connection:
        imported = _write(connection, read.rows, f"imported from {path.name}"[:500], written)
        known = len(read.rows) - imported
        audit.record(
            connection,
            actor,
            audit.IMPORT,
            detail=(
                f"{path.name}: {_plural(imported, 'lead')} created, {known} already known, "
                f"{_plural(read.bad_rows, 'row')} skipped"
            ),
        )
    log.info(
        "import: %d leads created, %d already known, %d rows skipped",
        imported,
        known,
        read.bad_rows,
    )
    if written:
        signals.send_stage_changes(written)
    return replace(report, imported=imported, known=known, written=True)


def _write(
    connection: Connection, rows: list[LeadRow], reason: str, written: list[dict] | None = None
) -> int:
    """Insert the leads that are new and their stage history; returns how many. The
    stage-change rows are added to ``written`` when one is given."""
    imported = 0
    for start in range(0, len(rows), BATCH_SIZE):
        batch = rows[start : start + BATCH_SIZE]
        created = _insert_batch(connection, batch)
        changes = [
            change
            for row in batch
            if row.email in created
            for change in _history(created[row.email], row, reason)
        ]
        if changes:
            connection.execute(_INSERT_CHANGES, changes)
            if written is not None:
                written.extend(changes)
        add_terms(
            connection,
            [
                (created[row.email], row.name, row.email, row.created_at)
                for row in batch
                if row.email in created
            ],
        )
        imported += len(created)
    return imported


def _insert_batch(connection: Connection, batch: list[LeadRow]) -> dict[str, int]:
    """Insert the batch's leads whose email is new; returns their ids by email."""
    dialect = connection.dialect.name
    values = [_lead_values(row) for row in batch]
    if supports_returning(dialect):
        inserted = connection.execute(_insert_leads(dialect, True), values)
        return {email: id_ for email, id_ in inserted}
    # No RETURNING (MariaDB, MySQL): lock the batch's emails first, which also keeps
    # other transactions from adding them, and tell the new ones by elimination.
    emails = [row.email for row in batch]
    known = set(connection.scalars(_LOCK_KNOWN, {"emails": emails}))
    connection.execute(_insert_leads(dialect, False), values)
    new = [email for email in emails if email not in known]
    if not new:
        return {}
    return {email: id_ for email, id_ in connection.execute(_IDS_BY_EMAIL, {"emails": new})}


def _lead_values(row: LeadRow) -> dict:
    last = row.times[-1]
    return {
        "email": row.email,
        "name": row.name,
        "stage": row.stage,
        "stage_changed_at": last,
        "quarantined": False,
        "locale": None,
        "landing_page": row.landing_page,
        "source": (row.source or row.utm_source or SOURCE).lower()[:255],
        "utm_source": row.utm_source,
        "utm_medium": None,
        "utm_campaign": None,
        "country": row.country,
        "city": row.city,
        "origin_key": origin_key(row.email),
        "signup_method": SIGNUP_METHOD,
        "created_at": row.created_at,
        # The last thing known to have happened to the lead, not the time of the import.
        "updated_at": last,
        # Every row of an executemany needs the same keys.
        **{stages.reached_column(m): None for m in stages.MILESTONES},
        **{  # the first time: a lead that came back reached its stage before
            stages.reached_column(stage): at
            for stage, at in reversed(list(zip(row.path, row.times, strict=True)))
            if stage in stages.MILESTONES
        },
    }


def _history(lead_id: int, row: LeadRow, reason: str) -> Iterator[dict]:
    previous = VISITOR
    for stage, at in zip(row.path, row.times, strict=True):
        yield {
            "lead_id": lead_id,
            "from_stage": previous,
            "to_stage": stage,
            "at": at,
            "actor": ACTOR,
            "reason": reason,
            "lost_reason": row.lost_reason if stage == LOST else None,
        }
        previous = stage
