"""A person as a sign-in provider vouched for them: the value the sign-in hands to the
quiz, and that the quiz stores with the lead."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class VerifiedIdentity:
    """An OpenID Connect identity whose ID token was checked and whose email the
    provider says is verified. ``issuer`` and ``subject`` identify the account for good;
    the email may change."""

    issuer: str
    subject: str
    email: str
    name: str | None = None
    #: Google Workspace domain (the ID token's ``hd`` claim), None for personal accounts.
    hosted_domain: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object) -> VerifiedIdentity | None:
        """The identity kept in a session, or None when the data is not one."""
        if not isinstance(data, dict):
            return None
        try:
            return cls(**{key: data.get(key) for key in cls.__dataclass_fields__})
        except TypeError:
            return None
