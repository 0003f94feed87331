"""Database errors that say what failed, never with the values of the row.

``hide_parameters`` keeps a failed statement's parameters out of SQLAlchemy's error
text, but PostgreSQL and MariaDB quote the row themselves in the message of an error
about its values: ``Key (email)=(ann@example.com) already exists``, ``Failing row
contains (...)``, ``Duplicate entry 'ann@example.com' for key ...``, ``invalid input
syntax for type integer: "..."``. The funnel's rows hold emails and names, and an
error's text reaches the logs (Flask logs an unhandled one with its traceback). So on
those databases an integrity or data error keeps its class and the database's code and,
from PostgreSQL, the names of the constraint, table and column, but not the message.
SQLite's messages name columns, never values, and are left as they are.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import Engine, ExceptionContext
from sqlalchemy.exc import DataError, IntegrityError


def withhold_row_values(engine: Engine) -> None:
    """Make ``engine``'s integrity and data errors leave out the values of the row."""
    if engine.dialect.name != "sqlite" and not event.contains(engine, "handle_error", _withhold):
        event.listen(engine, "handle_error", _withhold)


def _withhold(context: ExceptionContext) -> None:
    error, original = context.sqlalchemy_exception, context.original_exception
    if not isinstance(error, (IntegrityError, DataError)):
        return
    summary = _describe(original)
    # The driver's exception is the error's cause: a traceback shows it too.
    code = original.args[0] if original.args and isinstance(original.args[0], int) else None
    original.args = (summary,) if code is None else (code, summary)
    error.args = (f"({type(original).__module__}.{type(original).__name__}) {summary}",)


def _describe(original: BaseException) -> str:
    """What a database error is about, in words that cannot hold a row's values."""
    kind = type(original).__name__
    sqlstate = getattr(original, "sqlstate", None)  # psycopg
    if sqlstate:
        diag = getattr(original, "diag", None)
        names = [
            f"{name} {value}"
            for name in ("constraint", "table", "column")
            if (value := getattr(diag, f"{name}_name", None))
        ]
        where = f" on {', '.join(names)}" if names else ""
        return f"{kind} (SQLSTATE {sqlstate}){where}; the database's message is withheld"
    if original.args and isinstance(original.args[0], int):  # PyMySQL: the error number
        return f"{kind} ({original.args[0]}); the database's message is withheld"
    return f"{kind}; the database's message is withheld"
