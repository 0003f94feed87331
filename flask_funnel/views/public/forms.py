"""The quiz form, built with WTForms from a page definition.

One form class per page holds every question plus the contact fields; each step
validates only what it has reached, so earlier answers carried in hidden inputs are
re-checked on every POST (a tampered value never gets past the server).
"""

from __future__ import annotations

import re
from functools import lru_cache

from wtforms import BooleanField, HiddenField, RadioField, SelectChoice, StringField
from wtforms.validators import StopValidation, ValidationError

from flask_funnel.i18n.messages import N_, translate
from flask_funnel.pages.model import Page, Question
from flask_funnel.values import FieldError, normalize_email
from flask_funnel.views.form_data import FunnelForm

NAME_MAX_LENGTH = 200
_KEY_PATTERN = re.compile(r"^[0-9a-f]{32}$")


def question_field_name(question: Question) -> str:
    return f"q_{question.id}"


class _ChoiceOf:
    """Accepts only the ids of the question's own choices."""

    def __init__(self, question: Question, locale: str):
        self.question, self.locale = question, locale

    def __call__(self, form, field) -> None:
        if not field.data:
            raise StopValidation(translate(self.locale, "Please choose an answer."))
        if self.question.choice(field.data) is None:
            raise StopValidation(
                translate(
                    self.locale, "That answer is not one of the options. Please choose again."
                )
            )


class _Email:
    """A syntactically valid address, normalised (trimmed, lower-cased)."""

    MESSAGES = {
        "required": N_("Please enter your email address."),
        "too_long": N_("This email address is too long."),
        "invalid": N_("Please enter a valid email address, like name@example.com."),
    }

    def __init__(self, locale: str):
        self.locale = locale

    def __call__(self, form, field) -> None:
        if form.use_google.data:
            raise StopValidation()  # the signed-in identity's email is used instead
        try:
            field.normalized = normalize_email(field.data)
        except FieldError as error:
            raise StopValidation(translate(self.locale, self.MESSAGES[error.code])) from None


class _MaxLength:
    def __init__(self, locale: str, limit: int):
        self.locale, self.limit = locale, limit

    def __call__(self, form, field) -> None:
        if field.data and len(field.data) > self.limit:
            raise ValidationError(
                translate(self.locale, "Please use at most {limit} characters.", limit=self.limit)
            )


class _Ticked:
    def __init__(self, locale: str):
        self.locale = locale

    def __call__(self, form, field) -> None:
        if not field.data:
            raise StopValidation(translate(self.locale, "Please tick the box to continue."))


def requested_step(page: Page, value: str | None) -> int:
    """The step a request asks for (its ``step`` value), within the page's steps."""
    try:
        step = int(value or 1)
    except ValueError:
        step = 1
    return min(max(step, 1), page.contact_step)


class QuestionsForm(FunnelForm):
    """A question step's form (a GET, no token): the answers so far, carried in the
    query; ``questions_form_class`` adds one radio field per question."""

    page: Page

    started = HiddenField()
    step = HiddenField()

    def question_field(self, question: Question):
        return self[question_field_name(question)]

    def answers(self) -> dict[str, str]:
        return {q.id: self.question_field(q).data for q in self.page.questions}

    def current_step(self) -> int:
        return requested_step(self.page, self.step.data)

    def first_invalid_step(self, through: int) -> int | None:
        """Validate every step up to ``through``: the first whose answer is wrong, or
        None when all are fine."""
        for number, question in enumerate(self.page.questions[:through], start=1):
            if not self.question_field(question).validate(self):
                return number
        return None


class QuizForm(QuestionsForm):
    """The contact step's form, and the quiz's POST: the answers, the email and the
    consent, under the session's CSRF token (``form_class`` adds the page's fields)."""

    email = StringField()
    name = StringField()
    consent = BooleanField(default=False)
    # Honeypot: hidden from people by CSS, filled in by naive bots.
    website = StringField()
    key = HiddenField()
    # "1" when the visitor continues with the account they signed in with (Google).
    use_google = HiddenField()

    def idempotency_key(self) -> str | None:
        key = (self.key.data or "").strip()
        return key if _KEY_PATTERN.match(key) else None

    def first_invalid_step(self, through: int) -> int | None:
        """Validate the CSRF token too, and the contact fields when ``through`` reaches
        the contact step."""
        csrf = getattr(self, "csrf_token", None)
        if csrf is not None and self.is_submitted():
            csrf.validate(self)
        invalid = super().first_invalid_step(through)
        if invalid is None and through >= self.page.contact_step:
            contact_ok = [self[name].validate(self) for name in ("email", "name", "consent")]
            if not all(contact_ok):
                return self.page.contact_step
        return invalid

    @property
    def csrf_failed(self) -> bool:
        csrf = getattr(self, "csrf_token", None)
        return bool(csrf is not None and csrf.errors)

    @property
    def normalized_email(self) -> str:
        return self.email.normalized


def _question_fields(page: Page) -> dict[str, object]:
    return {
        question_field_name(question): RadioField(
            question.text,
            choices=[SelectChoice(c.id, c.label) for c in question.choices],
            validators=[_ChoiceOf(question, page.locale)],
            validate_choice=False,
        )
        for question in page.questions
    }


@lru_cache(maxsize=128)
def questions_form_class(page: Page) -> type[QuestionsForm]:
    """A ``QuestionsForm`` subclass with the page's questions: a question step builds
    half the fields the contact step does (WTForms binds each one per request)."""
    attrs = {"page": page, **_question_fields(page)}
    return type(f"QuestionsForm_{page.slug}", (QuestionsForm,), attrs)


@lru_cache(maxsize=128)
def form_class(page: Page) -> type[QuizForm]:
    """A ``QuizForm`` subclass with the page's questions and localised messages."""
    locale = page.locale
    attrs: dict[str, object] = {"page": page, **_question_fields(page)}
    attrs["email"] = StringField(
        translate(locale, "Email"),
        validators=[_Email(locale)],
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )
    attrs["name"] = StringField(
        translate(locale, "Name (optional)"),
        validators=[_MaxLength(locale, NAME_MAX_LENGTH)],
        filters=[lambda v: " ".join(v.split()) if isinstance(v, str) else v],
    )
    attrs["consent"] = BooleanField(page.consent.text, validators=[_Ticked(locale)])
    return type(f"QuizForm_{page.slug}", (QuizForm,), attrs)


class WithdrawForm(FunnelForm):
    """Only a CSRF token: withdrawing consent is one button."""
