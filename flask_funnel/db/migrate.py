"""The funnel's Alembic revisions, run by the host's own ``flask db upgrade``.

The revisions ship inside the package (``flask_funnel/db/migrations``) on their own
branch, labelled ``funnel``, the way CTFd plugins ship theirs. When the host uses
Flask-Migrate, ``wire_flask_migrate`` adds that folder to the host's
``version_locations`` and keeps the two trees apart:

- the host's ``flask db migrate`` leaves the funnel's tables alone (its revisions
  create them) and bases a new revision on the host's own head, never on the funnel's;
- the host's ``flask db upgrade`` without a revision upgrades every head, so the
  funnel's branch and the host's both arrive (Alembic's ``head`` refuses two trees).

With ``FUNNEL_MIGRATIONS = "host"`` none of this happens: the host generates the
funnel's tables in its own revisions, and ``render_item`` writes the funnel's column
types with the import they need.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

from flask import Flask, appcontext_pushed, current_app

from flask_funnel.db import types
from flask_funnel.db.models import metadata

#: The funnel's revisions.
VERSIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Their branch label: ``flask db upgrade funnel@head`` upgrades the funnel alone.
BRANCH = "funnel"

_SEPARATORS = {"os": os.pathsep, ":": ":", ";": ";", "space": " ", "newline": "\n"}
_WIRED = "_funnel_migrations_wired"


def wire_flask_migrate(app: Flask, mode: str) -> None:
    """Hook into the app's Flask-Migrate, now or, when ``Migrate.init_app`` comes after
    ``Funnel.init_app``, the first time an app context is pushed (the ``flask``
    command pushes one before it looks up ``db``)."""
    if "migrate" in app.extensions:
        _wire(app, mode)
        return

    def wire_when_ready(sender: Flask, **_kwargs) -> None:
        if "migrate" in sender.extensions and not sender.extensions.get(_WIRED):
            _wire(sender, mode)
            appcontext_pushed.disconnect(wire_when_ready, sender)  # off the request path

    app.extensions[_WIRED + "_hook"] = wire_when_ready  # blinker keeps weak references
    appcontext_pushed.connect(wire_when_ready, app)


def _wire(app: Flask, mode: str) -> None:
    migrate_config = app.extensions["migrate"]
    args = migrate_config.configure_args
    args["render_item"] = _chain_render_item(args.get("render_item"))
    if mode == "shipped":
        migrate = migrate_config.migrate
        if _add_version_location not in migrate.configure_callbacks:
            migrate.configure(_add_version_location)
        args["include_object"] = _chain_include_object(args.get("include_object"))
        args["process_revision_directives"] = _chain_directives(
            args.get("process_revision_directives")
        )
        _upgrade_every_head(app, migrate.command)
    app.extensions[_WIRED] = True


def _add_version_location(config):
    """A Flask-Migrate configure callback: the funnel's revisions beside the host's."""
    if current_app.extensions.get(_WIRED) is None:
        return config  # another app sharing this Migrate object, without the funnel
    separator_name = config.get_main_option("path_separator") or "os"
    separator = _SEPARATORS.get(separator_name, os.pathsep)
    raw = config.get_main_option("version_locations")
    if raw:
        locations = [p.strip() for p in raw.split(separator) if p.strip()]
    else:
        locations = [os.path.join(config.get_main_option("script_location"), "versions")]
    if str(VERSIONS_DIR) not in locations:
        locations.append(str(VERSIONS_DIR))
    config.set_main_option("path_separator", separator_name)
    # Run env.py for `flask db revision` too, so a hand-written revision is also placed
    # on the host's head (see _chain_directives), not refused for the funnel's.
    config.set_main_option("revision_environment", "true")
    config.set_main_option("version_locations", separator.join(locations).replace("%", "%%"))
    return config


def is_funnel_table(name: str | None) -> bool:
    return name in metadata.tables


def _chain_include_object(host_hook):
    """Leave the funnel's tables (and their indexes) out of the host's autogenerate."""

    def include_object(obj, name, type_, reflected, compare_to):
        table = obj if type_ == "table" else getattr(obj, "table", None)
        if table is not None and is_funnel_table(getattr(table, "name", None)):
            return False
        return host_hook(obj, name, type_, reflected, compare_to) if host_hook else True

    include_object.funnel = True
    return host_hook if getattr(host_hook, "funnel", False) else include_object


def _chain_render_item(host_hook):
    """Render the funnel's column types with the import a revision needs to run them."""

    def render_item(type_, obj, autogen_context):
        if type_ == "type" and type(obj).__module__ == types.__name__:
            autogen_context.imports.add(f"import {types.__name__}")
            return f"{types.__name__}.{type(obj).__name__}()"
        return host_hook(type_, obj, autogen_context) if host_hook else False

    render_item.funnel = True
    return host_hook if getattr(host_hook, "funnel", False) else render_item


def _chain_directives(host_hook):
    """Base a host's new revision on the host's own head (a new base when it has none),
    in the host's own folder; and, like Flask-Migrate, write no empty autogenerated one."""

    def process_revision_directives(context, revision, directives):
        script = directives[0]
        if not script.head or script.head == "head":
            heads = context.script.get_heads()  # newest first
            own = [h for h in heads if not _ships_with_funnel(context.script, h)]
            script.head = own[0] if own else "base"
            if script.version_path is None:
                script.version_path = os.path.join(context.script.dir, "versions")
        config = context.config
        if getattr(config.cmd_opts, "autogenerate", False) and script.upgrade_ops.is_empty():
            directives[:] = []
            return
        if host_hook:
            host_hook(context, revision, directives)

    process_revision_directives.funnel = True
    return host_hook if getattr(host_hook, "funnel", False) else process_revision_directives


def _ships_with_funnel(script_directory, revision_id: str) -> bool:
    path = Path(script_directory.get_revision(revision_id).path).resolve()
    return path.parent == VERSIONS_DIR


def _upgrade_every_head(app: Flask, command_name: str) -> None:
    """This app's ``flask db upgrade`` without a revision goes to every head."""
    group = app.cli.commands.get(command_name)
    if group is None or "upgrade" not in getattr(group, "commands", {}):
        return
    upgrade = copy.copy(group.commands["upgrade"])
    upgrade.params = [copy.copy(p) for p in upgrade.params]
    for param in upgrade.params:
        if param.name == "revision":
            param.default = "heads"
    upgrade.help = (upgrade.help or "") + " Without REVISION: every head (yours and the funnel's)."
    own_group = copy.copy(group)  # Flask-Migrate's group is shared by every app
    own_group.commands = {**group.commands, "upgrade": upgrade}
    app.cli.add_command(own_group, command_name)
