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
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from flask_funnel.analytics.funnel import BREAKDOWNS
from flask_funnel.analytics.funnel import STAGES as REPORT_STAGES
from flask_funnel.analytics.periods import (
    DEFAULT_PRESET,
    PRESETS,
    Period,
    ReportSettings,
    parse_period,
    preset_period,
)
from flask_funnel.leads.stages import LEAD, LEAD_STAGES


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


class ReportForm(FlaskForm):
    """The dashboard's period and breakdown: a GET form, so no CSRF token."""

    class Meta:
        csrf = False

    period = SelectField(
        "Period", default=DEFAULT_PRESET, choices=[SelectChoice(k, v) for k, v in PRESETS.items()]
    )
    start = DateField("From", validators=[Optional()])
    end = DateField("To", validators=[Optional()])
    by = SelectField(
        "Break down by",
        default="",
        choices=[any_choice("nothing")] + [SelectChoice(k, d.title) for k, d in BREAKDOWNS.items()],
    )
    stage = SelectField(
        "Conversion to", default=LEAD, choices=[SelectChoice(s) for s in REPORT_STAGES]
    )

    def validate_end(self, field) -> None:
        if field.data and self.start.data and self.start.data > field.data:
            raise ValidationError("The end is before the start.")

    def period_of(self, settings: ReportSettings) -> Period:
        """The chosen period: the dates if given (a custom range), else the preset (its
        months and years those of the report's calendar)."""
        if self.period.data == "custom" or self.start.data or self.end.data:
            first = self.start.data.isoformat() if self.start.data else None
            last = self.end.data.isoformat() if self.end.data else None
            return parse_period(first, last, settings.zone)
        preset = self.period.data or DEFAULT_PRESET
        return preset_period(preset, settings.zone, calendar=settings.calendar)
