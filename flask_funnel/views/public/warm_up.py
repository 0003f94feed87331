"""Everything a worker does on its first requests, done once before the workers fork.

Under gunicorn ``--preload`` the app is loaded in the master and each worker is a fork
of it: what the master has built, the workers share page for page until they write to
it. Compiling the templates, loading each language's catalogue and number formats,
building each page's quiz form and parsing its versions would otherwise happen once in
every worker, in memory of its own. ``warm_up`` renders every page's landing and each
of its quiz steps in every language as an admin's preview: the code of a real visit,
with nothing recorded and no database touched.
"""

from __future__ import annotations

from flask import Flask, g, url_for

from flask_funnel.capture.geo import Place
from flask_funnel.i18n.messages import SUPPORTED_LOCALES
from flask_funnel.state import current_funnel
from flask_funnel.views.preview import Preview
from flask_funnel.views.public.routes import landing, quiz


def warm_up(app: Flask) -> None:
    """Render each page of ``app``'s funnel the way its first visitors would see it."""
    with app.app_context():
        pages = current_funnel().pages.pages()
    for page in pages:
        for locale in SUPPORTED_LOCALES:
            _render(app, page.slug, locale, landing)
            for step in range(1, page.contact_step + 1):
                answers = {f"q_{q.id}": q.choices[0].id for q in page.questions[: step - 1]}
                _render(app, page.slug, locale, quiz, {"step": str(step), **answers})


def _render(app: Flask, slug: str, locale: str, view, args: dict | None = None) -> None:
    with app.test_request_context():
        path = url_for(f"funnel.{view.__name__}", slug=slug)
    headers = {"Accept-Language": locale}
    with app.test_request_context(path, query_string=args, headers=headers):
        g._funnel_preview = Preview(Place(), accept_language=locale)
        view(slug)
