"""Column types of the funnel's tables, and the clock they are filled from.

Times are stored as naive UTC and read back as aware UTC, on every database.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, DateTime, Integer, String, TypeDecorator
from sqlalchemy.dialects import mysql

# SQLite only auto-increments INTEGER PRIMARY KEY; elsewhere ids are 64-bit.
Id = BigInteger().with_variant(Integer, "sqlite")


def ExactString(length: int) -> String:
    """Text that identifies something (an email, an account, a reference), compared
    character for character on every database. MariaDB's default collation would take
    ``josé@`` for ``jose@`` and file one person's answers under another's address."""
    return String(length).with_variant(
        mysql.VARCHAR(length, charset="utf8mb4", collation="utf8mb4_bin"), "mysql", "mariadb"
    )


class UTCDateTime(TypeDecorator):
    """Stores aware datetimes as naive UTC; returns them aware (tzinfo=UTC). To the
    microsecond on every database: MariaDB's and MySQL's plain ``DATETIME`` would drop
    the fraction of the second."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
