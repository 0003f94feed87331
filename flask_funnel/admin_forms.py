"""Forms of the admin area (every POST form carries a CSRF token)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from .stages import LEAD_STAGES


def any_choice(label: str) -> SelectChoice:
    return SelectChoice("", label)


class SignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1000)])


class ActionForm(FlaskForm):
    """A button: only the CSRF token."""


class StageForm(FlaskForm):
    stage = SelectField("Move to", choices=[SelectChoice(s) for s in LEAD_STAGES])
    reason = StringField("Reason", validators=[DataRequired(), Length(max=500)])


class NoteForm(FlaskForm):
    body = TextAreaField("Note", validators=[DataRequired(), Length(max=5000)])


class FollowUpForm(FlaskForm):
    due = DateField("Due", validators=[DataRequired(message="Pick a date.")])
    note = StringField("What to do", validators=[Optional(), Length(max=500)])


class PurchaseForm(FlaskForm):
    amount = StringField("Amount", validators=[DataRequired()])
    currency = StringField("Currency", default="EUR", validators=[DataRequired()])
    at = DateField("Date", validators=[Optional()])
    reference = StringField("Order reference", validators=[Optional(), Length(max=100)])


class LeadFilterForm(FlaskForm):
    """The leads list's filters: a GET form, so no CSRF token."""

    class Meta:
        csrf = False

    q = StringField("Search", validators=[Optional(), Length(max=254)])
    stage = SelectField(
        "Stage",
        default="",
        choices=[any_choice("any stage")] + [SelectChoice(s) for s in LEAD_STAGES],
    )
    landing_page = SelectField(
        "Page", default="", choices=[any_choice("any page")], validate_choice=False
    )
    country = StringField("Country", validators=[Optional(), Length(min=2, max=2)])
    source = StringField("Source", validators=[Optional(), Length(max=255)])
    created_from = DateField("From", validators=[Optional()])
    created_to = DateField("To", validators=[Optional()])
    quarantined = SelectField(
        "Suspected bots",
        default="exclude",
        choices=[
            SelectChoice("exclude", "hidden"),
            SelectChoice("include", "shown"),
            SelectChoice("only", "only them"),
        ],
    )
    sort = SelectField(
        "Order",
        default="newest",
        choices=[SelectChoice("newest", "newest first"), SelectChoice("oldest", "oldest first")],
    )
