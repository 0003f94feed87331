"""What the funnel's forms read from a request: the form body of a POST (a GET form is
given its query string), never a JSON body, and nothing a database cannot store."""

from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm
from werkzeug.datastructures import CombinedMultiDict, MultiDict

from flask_funnel.values import storable

#: "From the request" (Flask-WTF's own default also takes a JSON body).
_FROM_REQUEST = object()
#: The methods a form is submitted with (as Flask-WTF counts them).
_SUBMIT_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def storable_formdata(formdata) -> MultiDict | None:
    """``formdata`` (a MultiDict of a request) with NUL and lone surrogates removed from
    every text value (``values.storable``); files are kept as sent."""
    if formdata is None:
        return None
    return MultiDict(
        (key, storable(value) if isinstance(value, str) else value)
        for key, value in formdata.items(multi=True)
    )


class FunnelForm(FlaskForm):
    """The base of every form of the funnel. Without ``formdata`` it reads a POST's form
    body (a JSON body is no form: its fields stay empty, so the CSRF check refuses it
    with a 400); whatever it reads is made storable first, so no field ever holds a
    character a database refuses."""

    def __init__(self, formdata=_FROM_REQUEST, **kwargs):
        if formdata is _FROM_REQUEST:
            formdata = None
            if request.method in _SUBMIT_METHODS and request.files:
                formdata = CombinedMultiDict((request.files, request.form))
            elif request.method in _SUBMIT_METHODS and request.form:
                formdata = request.form
        super().__init__(formdata=storable_formdata(formdata), **kwargs)
