"""Sign-ins under way, kept in the database: Authlib's cache for its state data (state,
nonce, PKCE verifier) and where each sign-in returns to. The session cookie then only
carries a short marker per attempt, so abandoned attempts cannot grow it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, delete, select

from flask_funnel.db.models import PendingSignIn
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.db.types import utcnow
from flask_funnel.db.upserts import upsert


class PendingStore:
    """The ``get``/``set``/``delete`` cache interface Authlib's Flask client asks for."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def get(self, key: str) -> str | None:
        with self.engine.connect() as connection:
            return connection.scalar(
                select(PendingSignIn.value).where(
                    PendingSignIn.key == key[:200], PendingSignIn.expires_at > utcnow()
                )
            )

    def set(self, key: str, value: str, expires: int | None = None) -> None:
        now = utcnow()
        with writing(self.engine) as connection:
            connection.execute(delete(PendingSignIn).where(PendingSignIn.expires_at <= now))
            statement = upsert(
                connection.dialect.name,
                PendingSignIn.__table__,
                ["key"],
                lambda new: {"value": new.value, "expires_at": new.expires_at},
            )
            connection.execute(
                statement,
                {
                    "key": key[:200],
                    "value": value,
                    "expires_at": now + timedelta(seconds=expires or 600),
                },
            )

    def take(self, key: str) -> str | None:
        """Read and delete in one go: whoever deletes the row is its only reader."""
        value = self.get(key)
        if value is None:
            return None
        with writing(self.engine) as connection:
            taken = connection.execute(
                delete(PendingSignIn).where(PendingSignIn.key == key[:200])
            ).rowcount
        return value if taken else None

    def delete(self, key: str) -> None:
        with writing(self.engine) as connection:
            connection.execute(delete(PendingSignIn).where(PendingSignIn.key == key[:200]))
