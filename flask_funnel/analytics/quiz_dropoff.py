"""Quiz drop-off for one page: how many visitors reached each step, where they left,
and what each answer's takers went on to become."""

from __future__ import annotations

from sqlalchemy import Connection, case, false, func, select

from flask_funnel.analytics import visitor_groups
from flask_funnel.analytics.funnel import new_visitors, rate, reached
from flask_funnel.analytics.periods import Period
from flask_funnel.db.models import Answer, Lead, Submission, Visitor
from flask_funnel.leads.stages import CUSTOMER, MQL
from flask_funnel.pages.model import Page

#: The stages each answer is followed to.
ANSWER_STAGES = (MQL, CUSTOMER)

_leads = Lead.__table__


def quiz_dropoff(connection: Connection, page: Page, period: Period) -> dict:
    """The page's visitors (first seen on it in the period, not suspected bots), and how
    many of them reached each step and sent the quiz, by now: each step's visitors are
    among the step before's (reaching a step records the ones passed)."""
    visitors = Visitor.__table__
    of_page = [*new_visitors(period), visitors.c.page_slug == page.slug]
    landed, _ = visitor_groups.count(connection, period, ["page_slug"]).get((page.slug,), (0, 0))
    reached_step = visitor_groups.steps_reached(connection, period, page.slug)
    sent = connection.execute(
        select(func.count(Submission.visitor_id.distinct()))
        .join(visitors, visitors.c.visitor_id == Submission.visitor_id)
        .where(
            *of_page,
            # Every browser with a real submission has signed up: the planner may start
            # from those (a million a year on a busy site, not 17).
            visitors.c.lead_id.is_not(None),
            Submission.page_slug == page.slug,
            Submission.quarantined == false(),
        )
    ).scalar()
    labels = [("landing", "Landing page", landed)]
    labels += [
        (f"question_{n}", f"Question {n}: {q.text}", reached_step.get(n, 0))
        for n, q in enumerate(page.questions, start=1)
    ]
    labels += [
        ("contact", "Contact step", reached_step.get(page.contact_step, 0)),
        ("sent", "Sent", sent),
    ]
    steps, before = [], None
    for key, label, count in labels:
        steps.append(
            {
                "step": key,
                "label": label,
                "visitors": count,
                "share_of_landing": rate(count, landed),
                "left": None if before is None else max(before - count, 0),
                "left_rate": None if before is None else rate(max(before - count, 0), before),
            }
        )
        before = count
    return {"page": page.slug, "steps": steps, "answers": _answers(connection, page, period)}


def _answers(connection: Connection, page: Page, period: Period) -> list[dict]:
    """Per question, each choice's share of the leads who answered, and how many of
    those leads reached each of ``ANSWER_STAGES``."""
    lead = Answer.lead_id
    rows = connection.execute(
        select(
            Answer.question_id,
            Answer.choice_id,
            func.count(lead.distinct()),
            *(func.count(case((reached(s).is_not(None), lead)).distinct()) for s in ANSWER_STAGES),
        )
        .join(Submission, Submission.id == Answer.submission_id)
        .join(_leads, _leads.c.id == lead)
        .where(
            Submission.page_slug == page.slug,
            Submission.created_at >= period.start,
            Submission.created_at < period.end,
            Submission.quarantined == false(),
            _leads.c.quarantined == false(),
        )
        .group_by(Answer.question_id, Answer.choice_id)
    ).all()
    counts = {(q, c): rest for q, c, *rest in rows}
    questions = []
    for number, question in enumerate(page.questions, start=1):
        total = sum(counts.get((question.id, c.id), (0,))[0] for c in question.choices)
        choices = []
        for choice in question.choices:
            leads, *stage_counts = counts.get(
                (question.id, choice.id), (0,) * (1 + len(ANSWER_STAGES))
            )
            choices.append(
                {
                    "choice": choice.id,
                    "label": choice.label,
                    "leads": leads,
                    "share": rate(leads, total),
                    "stages": {
                        stage: {"leads": n, "rate": rate(n, leads)}
                        for stage, n in zip(ANSWER_STAGES, stage_counts, strict=True)
                    },
                }
            )
        questions.append(
            {"number": number, "question": question.id, "text": question.text, "choices": choices}
        )
    return questions
