"""Captured leads as rows for export (JSON or spreadsheet-safe CSV)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from typing import IO

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from .models import Answer, Lead, Submission

EXPORT_FIELDS = (
    "id",
    "email",
    "name",
    "stage",
    "landing_page",
    "answers",
    "score",
    "source",
    "country",
    "city",
    "quarantined",
    "created_at",
)
_BATCH = 1000
# A spreadsheet treats a cell starting with one of these as a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def lead_rows(
    session: Session, *, include_quarantined: bool = False, leads: Select | None = None
) -> Iterator[dict]:
    """Every lead (or those ``leads`` selects) with its latest submission's answers and
    score, oldest lead first.

    Read in batches, so memory stays flat however many leads there are.
    """
    latest = (
        select(Submission.lead_id, func.max(Submission.id).label("submission_id"))
        .group_by(Submission.lead_id)
        .subquery()
    )
    query = (
        select(Lead, latest.c.submission_id, Submission.score)
        .outerjoin(latest, latest.c.lead_id == Lead.id)
        .outerjoin(Submission, Submission.id == latest.c.submission_id)
        .order_by(Lead.id)
    )
    if leads is not None:
        query = query.where(Lead.id.in_(leads.with_only_columns(Lead.id).scalar_subquery()))
    elif not include_quarantined:
        query = query.where(Lead.quarantined.is_(False))
    last_id = 0
    while True:
        batch = session.execute(query.where(Lead.id > last_id).limit(_BATCH)).all()
        if not batch:
            return
        answers = _answers_of(session, [row.submission_id for row in batch if row.submission_id])
        for lead, submission_id, score in batch:
            yield {
                "id": lead.id,
                "email": lead.email,
                "name": lead.name,
                "stage": lead.stage,
                "landing_page": lead.landing_page,
                "answers": answers.get(submission_id, {}),
                "score": score,
                "source": lead.source,
                "country": lead.country,
                "city": lead.city,
                "quarantined": lead.quarantined,
                "created_at": lead.created_at.isoformat(),
            }
        last_id = batch[-1][0].id


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


def write_csv(rows: Iterator[dict], stream: IO[str]) -> int:
    writer = csv.writer(stream)
    writer.writerow(EXPORT_FIELDS)
    count = 0
    for row in rows:
        cells = dict(row, answers=json.dumps(row["answers"], ensure_ascii=False, sort_keys=True))
        writer.writerow([neutralize(cells[name]) for name in EXPORT_FIELDS])
        count += 1
    return count


def write_json(rows: Iterator[dict], stream: IO[str]) -> int:
    """A JSON array written row by row (valid JSON without holding every row)."""
    count = 0
    stream.write("[")
    for row in rows:
        stream.write(",\n" if count else "\n")
        stream.write(json.dumps(row, ensure_ascii=False))
        count += 1
    stream.write("\n]\n" if count else "]\n")
    return count
