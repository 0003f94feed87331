"""Preview a page as a visitor from some place: from an address (looked up in the GeoIP
database) or from a country, region and city typed in. Shows which place rules match
and why, the locale, every text of that version, and a link that opens the page as
that visitor in this browser. Read-only (GET) and nested in the admin blueprint, whose
guard it inherits; nothing here or behind the link records a visit."""

from __future__ import annotations

import ipaddress

from babel import Locale
from flask import Blueprint, render_template, request, url_for
from wtforms import SelectChoice, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from flask_funnel.capture.geo import Place
from flask_funnel.i18n.messages import N_, SOURCE_LOCALE
from flask_funnel.pages import geography
from flask_funnel.pages.versions import accept_languages, explain
from flask_funnel.state import current_funnel
from flask_funnel.views.admin.blueprint import admin_locale, say
from flask_funnel.views.admin.forms import AdminForm
from flask_funnel.views.preview import MAX_AGE, Preview, preview_token

preview = Blueprint("preview", __name__)


def _upper(value):
    return value.strip().upper() if isinstance(value, str) else value


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class PreviewForm(AdminForm):
    """Who to look as: a GET form, so no CSRF token."""

    class Meta:
        csrf = False

    page = SelectField(N_("Page"), validate_choice=False)
    address = StringField(
        N_("IP address"), filters=[_strip], validators=[Optional(), Length(max=45)]
    )
    country = StringField(N_("Country"), filters=[_upper], validators=[Optional(), Length(max=2)])
    region = StringField(N_("Region"), filters=[_upper], validators=[Optional(), Length(max=10)])
    city = StringField(N_("City"), filters=[_strip], validators=[Optional(), Length(max=128)])
    continent = SelectField(
        N_("Continent"),
        default="",
        choices=[SelectChoice("", N_("unknown"))]
        + [SelectChoice(code, f"{code} {name}") for code, name in geography.CONTINENTS.items()],
    )
    accept_language = StringField(
        N_("Browser languages"),
        filters=[_strip],
        validators=[Optional(), Length(max=200)],
        description="Accept-Language, e.g. fa-IR,fa;q=0.9",
    )

    variant = SelectField(N_("A/B variant"), default="", validate_choice=False)

    def validate_page(self, field) -> None:
        if current_funnel().pages.get(field.data or "") is None:
            raise ValidationError(N_("Choose one of the pages."))

    def validate_address(self, field) -> None:
        if not field.data:
            return
        if any(self[name].data for name in ("country", "region", "city", "continent")):
            raise ValidationError(N_("Give an address or a place, not both."))
        try:
            ip = ipaddress.ip_address(field.data)
        except ValueError:
            raise ValidationError(N_("This is not an IP address.")) from None
        if not ip.is_global:
            raise ValidationError(N_("A private or local address has no place: give a public one."))
        if current_funnel().geo.path is None:
            raise ValidationError(N_("No GeoIP database is set (FUNNEL_GEOIP_PATH)."))

    def validate_country(self, field) -> None:
        if field.data and not geography.is_country(field.data):
            raise ValidationError(
                say(N_("{code} is not an ISO 3166-1 alpha-2 country code."), code=repr(field.data))
            )

    def validate_region(self, field) -> None:
        if not field.data:
            return
        if not self.country.data:
            raise ValidationError(N_("Give the region's country too."))
        code = self.region_code
        if not geography.is_region(code):
            raise ValidationError(
                say(N_("{code} is not an ISO 3166-2 region code."), code=repr(code))
            )

    def validate_city(self, field) -> None:
        if field.data and not self.country.data:
            raise ValidationError(N_("Give the city's country too."))

    @property
    def region_code(self) -> str:
        """The region as a page rule names it: ``GB-ENG`` (typed as ``ENG`` or ``GB-ENG``)."""
        region, country = self.region.data or "", self.country.data or ""
        return region if region.startswith(f"{country}-") else f"{country}-{region}"

    def place(self) -> Place:
        """The place to look from: the address's (GeoIP), else the one typed in."""
        if self.address.data:
            return current_funnel().geo.locate(self.address.data)
        region = self.region_code.split("-", 1)[1] if self.region.data else None
        return Place(
            country=self.country.data or None,
            city=self.city.data or None,
            region=region,
            continent=self.continent.data or None,
        )


@preview.get("/preview")
def preview_page():
    pages = current_funnel().pages.pages()
    form = PreviewForm(formdata=request.args or None)
    form.page.choices = [SelectChoice(p.slug, f"{p.title} ({p.slug})") for p in pages]
    form.variant.choices = [SelectChoice("", say(N_("none: the page file's own")))] + [
        SelectChoice(variant, variant)
        for variant in sorted({v.id for p in pages for v in p.variants})
    ]
    if not request.args:
        return render_template("flask_funnel/admin/preview.html", form=form, result=None)
    if not form.validate():
        return render_template("flask_funnel/admin/preview.html", form=form, result=None), 422
    page = current_funnel().pages.get(form.page.data)
    place = form.place()
    accept = form.accept_language.data or ""
    variant = form.variant.data or None
    result = explain(page, place, accept_languages(accept) if accept else None, variant)
    token = preview_token(Preview(place, accept, result.version.variant))
    return render_template(
        "flask_funnel/admin/preview.html",
        form=form,
        page=page,
        place=place,
        country_name=_country_name(place.country) if place.country else None,
        result=result,
        version=result.version,
        open_url=url_for("funnel.landing", slug=page.slug, preview=token),
        minutes=MAX_AGE // 60,
    )


def _country_name(code: str) -> str:
    """The country in the admin's language (CLDR's names; English keeps ISO's)."""
    language = admin_locale()
    if language == SOURCE_LOCALE:
        return geography.country_name(code)
    return Locale.parse(language).territories.get(code) or geography.country_name(code)
