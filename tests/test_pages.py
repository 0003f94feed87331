"""Page files: valid ones are served, broken ones are named (file and field) and skipped."""

from __future__ import annotations

import os
import time

import pytest
from conftest import DEMO_PAGES, make_app, parse_page, shows_hero

from flask_funnel.pages.parser import PageParser

VALID = (DEMO_PAGES / "home-brewing.toml").read_text(encoding="utf-8")


def test_demo_pages_are_valid():
    parser = PageParser(DEMO_PAGES / "assets", DEMO_PAGES / "offers")
    for path in sorted(DEMO_PAGES.glob("*.toml")):
        result = parser.parse_file(path)
        assert result.errors == (), result.errors
        page = result.page
        assert 1 <= len(page.questions) <= 10
        assert all(2 <= len(q.choices) <= 6 for q in page.questions)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('title = "Which home brewing method suits you?"\n', ""), "title: is required"),
        (('slug = "home-brewing"', 'slug = "Home Brewing!"'), "slug: 'Home Brewing!' may only use"),
        (('slug = "home-brewing"', 'slug = "admin"'), "slug: 'admin' is taken by the funnel"),
        (('slug = "home-brewing"', 'slug = "assets"'), "slug: 'assets' is taken by the funnel"),
        (('slug = "home-brewing"', 'slug = "google"'), "slug: 'google' is taken by the funnel"),
        (('locale = "en"', 'locale = "de"'), "locale: 'de' is not supported"),
        (("mql_threshold = 7", 'mql_threshold = "high"'), "mql_threshold: must be a whole number"),
        (('kind = "download"', 'kind = "coupon"'), "offer.kind: 'coupon' is not one of"),
        (('file = "home-brewing-guide.pdf"', 'file = "missing.pdf"'), "offer.file: 'missing.pdf'"),
        (('file = "home-brewing-guide.pdf"', 'file = "../../etc/passwd"'), "offer.file:"),
        (
            ('image = "images/cup-milk.svg"', 'image = "images/nope.svg"'),
            "questions[1].choices[2].image: 'images/nope.svg' is not a file",
        ),
        (('id = "iced"', 'id = "black"'), "questions[1].choices: id 'black' is used twice"),
        (("points = 3\n", "points = 2.5\n"), "questions[1].choices[4].points: must be a whole"),
        (('id = "time"', 'id = "style"'), "questions: id 'style' is used twice"),
        (('cta = "Start', 'call_to_action = "Start'), "hero.cta: is required"),
        (('cta = "Start', 'call_to_action = "Start'), "hero.call_to_action: is not a known field"),
        (("min_score = 0", "min_score = 3"), "outcomes: no outcome covers the lowest possible"),
        (("[consent]", "[consents]"), "consent: is required"),
        (('text = "How do you like your coffee?"', "text = 5"), "questions[1].text: must be a"),
    ],
)
def test_broken_definition_names_the_file_and_the_field(pages_dir, change, expected):
    old, new = change
    assert old in VALID
    result = parse_page(pages_dir, VALID.replace(old, new, 1))
    assert result.page is None
    assert any(expected in error for error in result.errors), result.errors
    assert all(error.split(": ")[0].endswith("broken.toml") for error in result.errors)


def test_too_few_and_too_many_choices_are_reported(pages_dir):
    start = VALID.index("[[questions]]")
    one_choice = (
        VALID[:start]
        + '[[questions]]\nid = "q"\ntext = "Q?"\n[[questions.choices]]\nid = "a"\nlabel = "A"\n'
        + VALID[VALID.index("[[outcomes]]") :]
    )
    errors = parse_page(pages_dir, one_choice).errors
    assert any(
        "questions[1].choices: must have between 2 and 6 entries, has 1" in e for e in errors
    )
    choices = "".join(f'[[questions.choices]]\nid = "c{n}"\nlabel = "C{n}"\n' for n in range(7))
    seven = VALID[:start] + f'[[questions]]\nid = "q"\ntext = "Q?"\n{choices}'
    seven += VALID[VALID.index("[[outcomes]]") :]
    errors = parse_page(pages_dir, seven).errors
    assert any("has 7" in e for e in errors)


def test_invalid_toml_is_reported_with_its_line(pages_dir):
    result = parse_page(pages_dir, 'slug = "x"\ntitle = \n')
    assert result.page is None
    assert "broken.toml: (file): is not valid TOML" in result.errors[0]
    assert "line 2" in result.errors[0]


def test_a_broken_file_does_not_take_the_other_pages_down(tmp_path, pages_dir):
    (pages_dir / "broken.toml").write_text('slug = "broken"\n', encoding="utf-8")
    app = make_app(tmp_path, FUNNEL_PAGES_DIR=str(pages_dir))
    client = app.test_client()
    assert client.get("/p/home-brewing").status_code == 200
    assert client.get("/p/broken").status_code == 404


def test_two_files_with_one_slug_keep_the_first_and_report_the_second(tmp_path, pages_dir):
    (pages_dir / "zz-copy.toml").write_text(VALID.replace("Find the brewing", "Copy"), "utf-8")
    app = make_app(tmp_path, FUNNEL_PAGES_DIR=str(pages_dir))
    registry = app.extensions["funnel"].pages
    assert registry.get("home-brewing").hero.headline.startswith("Find the brewing")
    copy = next(f for f in registry.files() if f.path.name == "zz-copy.toml")
    assert "slug: 'home-brewing' is already used" in copy.errors[0]


def test_an_edited_page_file_is_picked_up_without_a_restart(tmp_path, pages_dir):
    app = make_app(tmp_path, FUNNEL_PAGES_DIR=str(pages_dir))
    client = app.test_client()
    assert shows_hero(client.get("/p/home-brewing").text)
    path = pages_dir / "home-brewing.toml"
    edited = VALID.replace("Find the brewing method", "Brew better")
    path.write_text(edited.replace("Better coffee at home", "Brew better"), encoding="utf-8")
    _touch(path)
    assert "Brew better" in client.get("/p/home-brewing").text


def _touch(path, seconds_ahead: float = 5) -> None:
    """Move the file's modification time on, as a later edit would."""
    later = time.time() + seconds_ahead
    os.utime(path, (later, later))


def test_a_file_deleted_while_the_folder_is_read_takes_only_itself_down(
    tmp_path, pages_dir, monkeypatch
):
    second = pages_dir / "second.toml"
    second.write_text(VALID.replace('slug = "home-brewing"', 'slug = "second"'), "utf-8")
    client = make_app(tmp_path, FUNNEL_PAGES_DIR=str(pages_dir)).test_client()
    assert client.get("/p/second").status_code == 200
    listed = os.scandir

    def deleted_after_listing(folder):
        entries = list(listed(folder))
        second.unlink()  # a deploy removing a file between the listing and its stat
        return iter(entries)

    monkeypatch.setattr(os, "scandir", deleted_after_listing)
    assert client.get("/p/second").status_code == 404
    monkeypatch.undo()
    assert shows_hero(client.get("/p/home-brewing").text)


def test_a_pages_folder_gone_for_a_moment_leaves_every_page_up(tmp_path, pages_dir):
    client = make_app(tmp_path, FUNNEL_PAGES_DIR=str(pages_dir)).test_client()
    assert shows_hero(client.get("/p/home-brewing").text)
    pages_dir.rename(tmp_path / "pages-old")  # a deploy swapping the folder by renames
    assert shows_hero(client.get("/p/home-brewing").text)
    (tmp_path / "pages-old").rename(pages_dir)
    assert shows_hero(client.get("/p/home-brewing").text)


def test_a_page_whose_file_turns_invalid_keeps_serving_its_last_good_version(tmp_path, pages_dir):
    app = make_app(tmp_path, FUNNEL_PAGES_DIR=str(pages_dir))
    client = app.test_client()
    assert shows_hero(client.get("/p/home-brewing").text)
    path = pages_dir / "home-brewing.toml"
    path.write_text(VALID.replace("mql_threshold = ", "mql_threshold = 'x' #"), "utf-8")
    _touch(path)
    assert shows_hero(client.get("/p/home-brewing").text)
    # A worker started now (same host, same cache folder) serves the same version ...
    restarted = make_app(tmp_path, FUNNEL_PAGES_DIR=str(pages_dir)).test_client()
    assert shows_hero(restarted.get("/p/home-brewing").text)
    # ... and the command line says what is served and what to fix.
    listing = app.test_cli_runner().invoke(args=["funnel", "pages"])
    assert listing.exit_code == 1
    assert "STALE    home-brewing" in listing.output
    assert "home-brewing.toml: mql_threshold:" in listing.output
    # Once fixed, the file is served again as it now is.
    fixed = VALID.replace("Find the brewing method", "Brew better")
    path.write_text(fixed.replace("Better coffee at home", "Brew better"), "utf-8")
    _touch(path, 10)
    assert "Brew better" in client.get("/p/home-brewing").text


def test_a_new_file_that_was_never_valid_is_not_served(tmp_path, pages_dir):
    app = make_app(tmp_path, FUNNEL_PAGES_DIR=str(pages_dir))
    (pages_dir / "draft.toml").write_text('slug = "draft"\n', "utf-8")
    assert app.test_client().get("/p/draft").status_code == 404
    listing = app.test_cli_runner().invoke(args=["funnel", "pages"])
    assert "INVALID  -" in listing.output


def test_page_images_are_served_and_paths_cannot_escape_the_assets_folder(client):
    image = client.get("/p/assets/images/cup-black.svg")
    assert image.status_code == 200
    assert image.mimetype == "image/svg+xml"
    image.close()
    assert client.get("/p/assets/../pages/home-brewing.toml").status_code == 404
    assert client.get("/p/assets/%2e%2e/home-brewing.toml").status_code == 404
