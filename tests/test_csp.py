"""The funnel pages' Content-Security-Policy, as the host needs it (FUNNEL_CSP): extended
with the host's analytics, replaced, or left to the host; and a nonce for the inline
code of the host's layout."""

from __future__ import annotations

import re

import pytest
from conftest import PHONE_BROWSER, host_layout_app, make_app

from flask_funnel.settings import SettingsError


def landing(app):
    return app.test_client().get("/p/home-brewing", headers={"User-Agent": PHONE_BROWSER})


def test_the_host_layout_s_inline_code_passes_with_the_nonce(tmp_path):
    response = landing(host_layout_app(tmp_path))
    policy = response.headers["Content-Security-Policy"]
    [nonce] = set(re.findall(r'nonce="([^"]+)"', response.text))
    assert f"script-src 'self' 'nonce-{nonce}'" in policy
    assert f"style-src 'self' 'nonce-{nonce}'" in policy
    other = landing(host_layout_app(tmp_path))  # a new nonce for every response
    assert nonce not in other.headers["Content-Security-Policy"]


def test_a_page_without_the_nonce_keeps_the_strict_policy(app):
    policy = landing(app).headers["Content-Security-Policy"]
    assert "nonce" not in policy and "script-src" not in policy


def test_the_policy_can_be_extended_replaced_or_left_to_the_host(tmp_path):
    extended = make_app(
        tmp_path, FUNNEL_CSP={"script-src": ["https://plausible.io"], "connect-src": ["https:"]}
    )
    policy = landing(extended).headers["Content-Security-Policy"]
    assert "script-src 'self' https://plausible.io" in policy
    assert "connect-src 'self' https:" in policy and "object-src 'none'" in policy
    (tmp_path / "b").mkdir()
    replaced = host_layout_app(tmp_path / "b", FUNNEL_CSP="default-src 'self' 'nonce-{nonce}'")
    response = landing(replaced)
    [nonce] = set(re.findall(r'nonce="([^"]+)"', response.text))
    assert response.headers["Content-Security-Policy"] == f"default-src 'self' 'nonce-{nonce}'"
    (tmp_path / "c").mkdir()
    left = landing(make_app(tmp_path / "c", FUNNEL_CSP=False))
    assert "Content-Security-Policy" not in left.headers
    assert left.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"script-src": "https://x"}, "must be a list of sources"),
        ({"script-src": ["https://x; script-src *"]}, "must be a list of sources"),
        ({"Script Src": ["x"]}, "is not a directive name"),
        ("default-src 'self'\nX-Evil: 1", "one non-empty line"),
        (42, "must be None, False"),
    ],
)
def test_a_wrong_policy_stops_the_app_and_names_the_key(tmp_path, value, expected):
    with pytest.raises(SettingsError, match=expected):
        make_app(tmp_path, FUNNEL_CSP=value)
