"""Admin accounts: creation, password check, the brake on guessing, and the accounts of
admins who sign in with Google."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from flask_funnel.auth.identity import VerifiedIdentity
from flask_funnel.db.models import Admin
from flask_funnel.db.sqlite_writer import writing
from flask_funnel.db.types import utcnow
from flask_funnel.leads import audit
from flask_funnel.settings import GoogleSettings
from flask_funnel.values import FieldError, email_key, normalize_email

MIN_PASSWORD_LENGTH = 12
# A hash of a password nobody has, checked when the email is unknown, so a wrong
# email takes as long to refuse as a wrong password.
_DUMMY_HASH = generate_password_hash("not the password of anyone here")
#: The password hash of an admin who signs in with Google only: no password matches it
#: (Werkzeug's hashes never start with "!"), so password sign-in never works for them.
UNUSABLE_PASSWORD = "!google-only"  # noqa: S105  (a marker, not a password)


@dataclass(frozen=True)
class SignedIn:
    admin_id: int
    email: str
    session_version: int


def check_password_rule(password: str) -> None:
    """A FieldError when ``password`` is too weak to be an admin's."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise FieldError(
            "password", f"must have at least {MIN_PASSWORD_LENGTH} characters", "too_short"
        )


def create_admin(engine: Engine, email: str, password: str) -> int:
    email = normalize_email(email)
    check_password_rule(password)
    try:
        with writing(engine) as connection:
            return connection.execute(
                insert(Admin.__table__),
                {
                    "email": email,
                    "password_hash": generate_password_hash(password),
                    "session_version": 1,
                    "disabled": False,
                    "created_at": utcnow(),
                },
            ).inserted_primary_key[0]
    except IntegrityError:
        raise FieldError(
            "email", f"an admin with the email {email} exists already", "taken"
        ) from None


def sign_in(engine: Engine, email: str, password: str, ip: str | None) -> SignedIn | None:
    """Check a password; every attempt, good or bad, goes to the audit trail."""
    email = email_key(email)
    with engine.connect() as connection:
        admin = connection.execute(
            select(Admin.id, Admin.password_hash, Admin.session_version, Admin.disabled).where(
                Admin.email == email
            )
        ).first()
    usable = admin is not None and not admin.password_hash.startswith(UNUSABLE_PASSWORD[0])
    ok = check_password_hash(admin.password_hash if usable else _DUMMY_HASH, password)
    ok = ok and usable and not admin.disabled
    with writing(engine) as connection:
        if ok:
            connection.execute(
                update(Admin).where(Admin.id == admin.id).values(last_sign_in_at=utcnow())
            )
        audit.record(connection, email, audit.SIGN_IN if ok else audit.SIGN_IN_FAILED, ip=ip)
    return SignedIn(admin.id, email, admin.session_version) if ok else None


def session_version(engine: Engine, admin_id: int) -> int | None:
    """The admin's current session version, or None when the account is gone or off."""
    with engine.connect() as connection:
        row = connection.execute(
            select(Admin.session_version, Admin.disabled).where(Admin.id == admin_id)
        ).first()
    return None if row is None or row.disabled else row.session_version


def account_state(engine: Engine, admin_id: int) -> tuple[int, str | None] | None:
    """The admin's session version and locale, or None when the account is gone or off."""
    with engine.connect() as connection:
        row = connection.execute(
            select(Admin.session_version, Admin.locale, Admin.disabled).where(Admin.id == admin_id)
        ).first()
    return None if row is None or row.disabled else (row.session_version, row.locale)


def set_locale(engine: Engine, admin_id: int, locale: str | None) -> None:
    """The language the admin reads the admin area in (None: English)."""
    with writing(engine) as connection:
        connection.execute(update(Admin).where(Admin.id == admin_id).values(locale=locale))


def end_sessions(engine: Engine, admin_id: int, actor: str, ip: str | None) -> None:
    """Sign-out: every session cookie issued so far stops working."""
    with writing(engine) as connection:
        connection.execute(
            update(Admin)
            .where(Admin.id == admin_id)
            .values(session_version=Admin.session_version + 1)
        )
        audit.record(connection, actor, audit.SIGN_OUT, ip=ip)


def set_password(engine: Engine, admin_id: int, password: str, actor: str) -> None:
    """A new password; every session the admin had ends."""
    check_password_rule(password)
    with writing(engine) as connection:
        connection.execute(
            update(Admin)
            .where(Admin.id == admin_id)
            .values(
                password_hash=generate_password_hash(password),
                session_version=Admin.session_version + 1,
            )
        )
        audit.record(
            connection, actor, audit.PASSWORD_RESET, detail=_email_of(connection, admin_id)
        )


def set_disabled(engine: Engine, admin_id: int, disabled: bool, actor: str) -> bool:
    """Stop (or let again) the admin sign in, with a password or Google; False when the
    account was so already. Disabling ends the admin's sessions, and enabling does not
    bring them back (a stolen cookie may have been the reason to disable it)."""
    with writing(engine) as connection:
        values = {"disabled": disabled}
        if disabled:
            values["session_version"] = Admin.session_version + 1
        changed = connection.execute(
            update(Admin)
            .where(Admin.id == admin_id, Admin.disabled == (not disabled))
            .values(**values)
        ).rowcount
        if changed:
            action = audit.ADMIN_DISABLED if disabled else audit.ADMIN_ENABLED
            audit.record(connection, actor, action, detail=_email_of(connection, admin_id))
    return bool(changed)


def _email_of(connection, admin_id: int) -> str:
    return connection.execute(select(Admin.email).where(Admin.id == admin_id)).scalar_one()


def google_may_administer(identity: VerifiedIdentity, settings: GoogleSettings) -> bool:
    """Whether a Google identity may use the admin area: its verified email is listed in
    ``FUNNEL_ADMIN_EMAILS``, or its ID token's ``hd`` claim (never the email's text) is
    ``FUNNEL_ADMIN_DOMAIN``."""
    if identity.email in settings.admin_emails:
        return True
    return settings.admin_domain is not None and identity.hosted_domain == settings.admin_domain


def google_admin(
    engine: Engine, identity: VerifiedIdentity, settings: GoogleSettings, ip: str | None
) -> SignedIn | None:
    """Sign in with a verified Google identity: the admin account of its email (created,
    without a usable password, on the first sign-in), or None when the identity may not
    use the admin area or the account is disabled. Every attempt is audited."""
    email = identity.email
    if not google_may_administer(identity, settings):
        with writing(engine) as connection:
            audit.record(connection, email, audit.SIGN_IN_REFUSED, detail="google", ip=ip)
        return None
    try:
        return _google_sign_in(engine, email, ip)
    except IntegrityError:  # a parallel first sign-in created the account meanwhile
        return _google_sign_in(engine, email, ip)


def _google_sign_in(engine: Engine, email: str, ip: str | None) -> SignedIn | None:
    with writing(engine) as connection:
        admin = connection.execute(
            select(Admin.id, Admin.session_version, Admin.disabled).where(Admin.email == email)
        ).first()
        if admin is None:
            admin_id = connection.execute(
                insert(Admin.__table__),
                {
                    "email": email,
                    "password_hash": UNUSABLE_PASSWORD,
                    "session_version": 1,
                    "disabled": False,
                    "created_at": utcnow(),
                },
            ).inserted_primary_key[0]
            admin = SignedIn(admin_id, email, 1)
        elif admin.disabled:
            audit.record(connection, email, audit.SIGN_IN_REFUSED, detail="google: disabled", ip=ip)
            return None
        else:
            admin = SignedIn(admin.id, email, admin.session_version)
        connection.execute(
            update(Admin).where(Admin.id == admin.admin_id).values(last_sign_in_at=utcnow())
        )
        audit.record(connection, email, audit.SIGN_IN, detail="google", ip=ip)
    return admin
