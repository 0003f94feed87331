"""Forms of the admin area (every POST form carries a CSRF token).

Labels, choices and messages are English, marked with ``N_``; an ``AdminForm`` shows
them in the signed-in admin's language (WTForms' own messages from its catalogue)."""

from __future__ import annotations

from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

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
from flask_funnel.auth import admin_session
from flask_funnel.i18n.messages import N_, SOURCE_LOCALE, translate
from flask_funnel.leads.stages import LEAD, LEAD_STAGES, LOST
from flask_funnel.settings import WEBHOOK_EVENTS
from flask_funnel.state import current_funnel
from flask_funnel.values import FIRST_DAY, LAST_DAY
from flask_funnel.views.admin.locale import ADMIN_LANGUAGES, STAGE_NAMES, form_translations
from flask_funnel.views.form_data import FunnelForm


def any_choice(label: str) -> SelectChoice:
    return SelectChoice("", label)


def stage_choice(stage: str) -> SelectChoice:
    return SelectChoice(stage, STAGE_NAMES.get(stage, stage))


def in_range(form, field) -> None:
    """A day the funnel stores and reports on (``values.FIRST_DAY`` to ``LAST_DAY``)."""
    if field.data and not FIRST_DAY <= field.data <= LAST_DAY:
        raise ValidationError(N_("Pick a date from 1970 to 2999."))


class AdminForm(FunnelForm):
    """A form in the signed-in admin's language: its labels and choices from the funnel's
    catalogue, the validators' messages from it or WTForms' own."""

    class Meta(FunnelForm.Meta):
        def get_translations(self, form):
            locale = form.admin_locale
            return None if locale == SOURCE_LOCALE else form_translations(locale)

    def __init__(self, *args, **kwargs):
        self.admin_locale = admin_session.area_locale()
        super().__init__(*args, **kwargs)
        if self.admin_locale == SOURCE_LOCALE:
            return
        for field in self:
            if field.label.text:
                field.label.text = self._t(field.label.text)
            if isinstance(field, SelectField) and field.choices:
                field.choices = [
                    SelectChoice(c.value, self._t(c.label), c.render_kw, c.optgroup)
                    if isinstance(c, SelectChoice)
                    else (c[0], self._t(c[1]))
                    for c in field.choices
                ]

    def _t(self, message: str) -> str:
        return translate(self.admin_locale, message)

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if not valid and self.admin_locale != SOURCE_LOCALE:
            # Messages the form itself gives (``message=...``, ``ValidationError``) are
            # marked with N_; WTForms' own come translated already and pass unchanged.
            for field in self:
                field.errors = [self._t(str(e)) for e in field.errors]
        return valid


class SignInForm(AdminForm):
    """In the sign-in page's language (no admin yet: the browser's)."""

    email = EmailField(N_("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(N_("Password"), validators=[DataRequired(), Length(max=1000)])


class ActionForm(FunnelForm):
    """A button: only the CSRF token."""


class LanguageForm(FunnelForm):
    """The admin header's language switch: a button per language."""

    locale = SelectField(
        choices=[SelectChoice(code, name) for code, name in ADMIN_LANGUAGES.items()]
    )


class StageForm(AdminForm):
    stage = SelectField(N_("Move to"), choices=[stage_choice(s) for s in LEAD_STAGES])
    # The site's FUNNEL_LOST_REASONS, in the site owner's words.
    lost_reason = SelectField(N_("Why lost"), default="", choices=[])
    reason = StringField(N_("Reason"), validators=[DataRequired(), Length(max=500)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        reasons = current_funnel().settings.lost_reasons
        self.lost_reason.choices = [("", self._t(N_("(not lost)")))] + [(r, r) for r in reasons]

    def validate_lost_reason(self, field) -> None:
        if self.stage.data == LOST and not field.data:
            raise ValidationError(self._t(N_("Pick why the lead was lost.")))
        if self.stage.data != LOST:
            field.data = ""


class WebhookEndpointForm(AdminForm):
    """A webhook endpoint to add (its secret is made for it and shown once)."""

    name = StringField(N_("Name"), validators=[DataRequired(), Length(max=40)])
    url = StringField(N_("Address"), validators=[DataRequired(), Length(max=2000)])
    events = SelectMultipleField(
        N_("Events"),
        choices=[SelectChoice(e, e) for e in WEBHOOK_EVENTS],
        default=list(WEBHOOK_EVENTS),
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
    )


class WinnerForm(AdminForm):
    """Write the page file with an A/B test's winner as the page's own."""

    #: The fingerprint of the file the admin saw the change of.
    seen = HiddenField(validators=[DataRequired(), Length(max=64)])


class NoteForm(AdminForm):
    body = TextAreaField(N_("Note"), validators=[DataRequired(), Length(max=5000)])


class FollowUpForm(AdminForm):
    due = DateField(N_("Due"), validators=[DataRequired(message=N_("Pick a date.")), in_range])
    note = StringField(N_("What to do"), validators=[Optional(), Length(max=500)])


class PurchaseForm(AdminForm):
    amount = StringField(N_("Amount"), validators=[DataRequired()])
    currency = StringField(N_("Currency"), default="EUR", validators=[DataRequired()])
    at = DateField(N_("Date"), validators=[Optional(), in_range])
    reference = StringField(N_("Order reference"), validators=[Optional(), Length(max=100)])


class LeadFilterForm(AdminForm):
    """The leads list's filters: a GET form, so no CSRF token."""

    class Meta:
        csrf = False

    q = StringField(N_("Search"), validators=[Optional(), Length(max=254)])
    stage = SelectField(
        N_("Stage"),
        default="",
        choices=[any_choice(N_("any stage"))] + [stage_choice(s) for s in LEAD_STAGES],
    )
    landing_page = SelectField(
        N_("Page"), default="", choices=[any_choice(N_("any page"))], validate_choice=False
    )
    country = StringField(N_("Country"), validators=[Optional(), Length(min=2, max=2)])
    source = StringField(N_("Source"), validators=[Optional(), Length(max=255)])
    created_from = DateField(N_("From"), validators=[Optional(), in_range])
    created_to = DateField(N_("To"), validators=[Optional(), in_range])
    quarantined = SelectField(
        N_("Suspected bots"),
        default="exclude",
        choices=[
            SelectChoice("exclude", N_("hidden")),
            SelectChoice("include", N_("shown")),
            SelectChoice("only", N_("only them")),
        ],
    )
    sort = SelectField(
        N_("Order"),
        default="newest",
        choices=[
            SelectChoice("newest", N_("newest first")),
            SelectChoice("oldest", N_("oldest first")),
        ],
    )


class ReportForm(AdminForm):
    """The dashboard's period and breakdown: a GET form, so no CSRF token."""

    class Meta:
        csrf = False

    period = SelectField(
        N_("Period"),
        default=DEFAULT_PRESET,
        choices=[SelectChoice(k, v) for k, v in PRESETS.items()],
    )
    start = DateField(N_("From"), validators=[Optional(), in_range])
    end = DateField(N_("To"), validators=[Optional(), in_range])
    by = SelectField(
        N_("Break down by"),
        default="",
        choices=[any_choice(N_("nothing"))]
        + [SelectChoice(k, d.title) for k, d in BREAKDOWNS.items()],
    )
    stage = SelectField(
        N_("Conversion to"), default=LEAD, choices=[stage_choice(s) for s in REPORT_STAGES]
    )

    def validate_end(self, field) -> None:
        if field.data and self.start.data and self.start.data > field.data:
            raise ValidationError(N_("The end is before the start."))

    def period_of(self, settings: ReportSettings) -> Period:
        """The chosen period: the dates if given (a custom range), else the preset (its
        months and years those of the report's calendar)."""
        if self.period.data == "custom" or self.start.data or self.end.data:
            first = self.start.data.isoformat() if self.start.data else None
            last = self.end.data.isoformat() if self.end.data else None
            return parse_period(first, last, settings.zone)
        preset = self.period.data or DEFAULT_PRESET
        return preset_period(preset, settings.zone, calendar=settings.calendar)
