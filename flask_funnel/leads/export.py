"""Captured leads as rows for export (JSON or spreadsheet-safe CSV)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from functools import partial
from typing import IO

from sqlalchemy import Select, false, func, select
from sqlalchemy.orm import Session

from flask_funnel.db.models import Answer, Lead, StageChange, Submission
from flask_funnel.leads.stages import LOST, MILESTONES, reached_column

EXPORT_FIELDS = (
    "id",
    "email",
    "name",
    "stage",
    "landing_page",
    "answers",
    "score",
    "source",
    # How the email was obtained: typed, google or import.
    "signup_method",
    "country",
    "city",
    "quarantined",
    "created_at",
    # When it first reached each stage after lead, when it was last lost (and why), and
    # when it got to the stage it is at: an export imports as the same history.
    *(f"{stage}_at" for stage in MILESTONES),
    "lost_at",
    "lost_reason",
    "stage_changed_at",
)
_BATCH = 1000
# A spreadsheet treats a cell starting with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def lead_rows(
    session: Session, *, include_quarantined: bool = False, leads: Select | None = None
) -> Iterator[dict]:
    """Every lead (or those the ``select(Lead)`` query ``leads`` picks) with its latest
    submission's answers and score, oldest lead first.

    Read in batches by id, each batch's submissions looked up by its lead ids, so time
    and memory grow with the leads exported, not with the database.
    """
    query = leads if leads is not None else select(Lead)
    if leads is None and not include_quarantined:
        query = query.where(Lead.quarantined == false())
    query = query.order_by(Lead.id)
    last_id = 0
    while True:
        batch = session.scalars(query.where(Lead.id > last_id).limit(_BATCH)).all()
        if not batch:
            return
        latest = dict(
            session.execute(
                select(Submission.lead_id, func.max(Submission.id))
                .where(Submission.lead_id.in_([lead.id for lead in batch]))
                .group_by(Submission.lead_id)
            ).all()
        )
        scores = dict(
            session.execute(
                select(Submission.id, Submission.score).where(Submission.id.in_(latest.values()))
            ).all()
        )
        answers = _answers_of(session, list(latest.values()))
        losses = _last_losses(session, [lead.id for lead in batch])
        for lead in batch:
            submission_id = latest.get(lead.id)
            yield {
                "id": lead.id,
                "email": lead.email,
                "name": lead.name,
                "stage": lead.stage,
                "landing_page": lead.landing_page,
                "answers": answers.get(submission_id, {}),
                "score": scores.get(submission_id),
                "source": lead.source,
                "signup_method": lead.signup_method,
                "country": lead.country,
                "city": lead.city,
                "quarantined": lead.quarantined,
                "created_at": lead.created_at.isoformat(),
                **{
                    f"{stage}_at": _iso(getattr(lead, reached_column(stage)))
                    for stage in MILESTONES
                },
                "lost_at": _iso(losses[lead.id][0]) if lead.id in losses else None,
                "lost_reason": losses[lead.id][1] if lead.id in losses else None,
                "stage_changed_at": _iso(lead.stage_changed_at),
            }
        last_id = batch[-1].id


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def _last_losses(session: Session, lead_ids: list[int]) -> dict[int, tuple]:
    """Each lead's last move to lost (by time, a backdated one in its place): when, and why."""
    rows = session.execute(
        select(StageChange.lead_id, StageChange.at, StageChange.lost_reason)
        .where(StageChange.lead_id.in_(lead_ids), StageChange.to_stage == LOST)
        .order_by(StageChange.at, StageChange.id)
    )
    return {lead_id: (at, why) for lead_id, at, why in rows}  # the last one wins


def _answers_of(session: Session, submission_ids: list[int]) -> dict[int, dict[str, str]]:
    answers: dict[int, dict[str, str]] = {}
    if not submission_ids:
        return answers
    rows = session.execute(
        select(Answer.submission_id, Answer.question_id, Answer.choice_id)
        .where(Answer.submission_id.in_(submission_ids))
        .order_by(Answer.id)
    )
    for submission_id, question_id, choice_id in rows:
        answers.setdefault(submission_id, {})[question_id] = choice_id
    return answers


def neutralize(value: object) -> object:
    """Prefix a formula-looking text cell with ``'`` so spreadsheets show it as text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_chunks(rows: Iterator[dict], counter: list[int], bom: bool = True) -> Iterator[str]:
    """The CSV text piece by piece (a web response can send it while it is made);
    ``counter[0]`` holds how many rows went out. It starts with a byte order mark unless
    ``bom`` is false: spreadsheet programs read UTF-8 (Persian names) only with it."""
    line = io.StringIO()
    writer = csv.writer(line)

    def take() -> str:
        text = line.getvalue()
        line.seek(0)
        line.truncate()
        return text

    writer.writerow(EXPORT_FIELDS)
    yield ("\ufeff" if bom else "") + take()
    for row in rows:
        cells = dict(row, answers=json.dumps(row["answers"], ensure_ascii=False, sort_keys=True))
        writer.writerow([neutralize(cells[name]) for name in EXPORT_FIELDS])
        counter[0] += 1
        yield take()


def json_chunks(rows: Iterator[dict], counter: list[int]) -> Iterator[str]:
    """A JSON array piece by piece (valid JSON without holding every row)."""
    yield "["
    for row in rows:
        yield (",\n" if counter[0] else "\n") + json.dumps(row, ensure_ascii=False)
        counter[0] += 1
    yield "\n]\n" if counter[0] else "]\n"


def write_csv(rows: Iterator[dict], stream: IO[str], bom: bool = True) -> int:
    return _write(partial(csv_chunks, bom=bom), rows, stream)


def write_json(rows: Iterator[dict], stream: IO[str]) -> int:
    return _write(json_chunks, rows, stream)


def _write(chunks, rows: Iterator[dict], stream: IO[str]) -> int:
    counter = [0]
    for chunk in chunks(rows, counter):
        stream.write(chunk)
    return counter[0]
