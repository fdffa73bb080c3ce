"""Passwords, server-side sessions, CSRF tokens, API tokens and sign-in throttling."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import Connection, Select, bindparam, func, null, select, update
from sqlalchemy.orm import Session

from bargaining.config import Settings
from bargaining.errors import DomainError, ValidationError
from bargaining.models import ApiToken, LoginAttempt, OrgUnit, User, UserRole, WebSession

Credential = TypeVar("Credential", WebSession, ApiToken)

# argon2id with the library's current parameters; verify_and_update rehashes old hashes on sign-in.
PASSWORDS = PasswordHash((Argon2Hasher(),))
MAX_FAILURES_PER_USER = 5  # from one address
MAX_FAILURES_PER_USER_ANYWHERE = 50
MAX_FAILURES_PER_IP = 30
THROTTLE_WINDOW = timedelta(minutes=15)
LAST_SEEN_GRANULARITY = timedelta(minutes=1)
MIN_PASSWORD_LENGTH = 10


class SignInFailed(DomainError):
    code = "sign_in_failed"
    http_status = 401


class Throttled(DomainError):
    code = "throttled"
    http_status = 429


def keyed_hash(settings: Settings, token: str) -> str:
    return hmac.new(settings.secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"密码至少需要{MIN_PASSWORD_LENGTH}个字符。")
    return PASSWORDS.hash(password)


def _throttled(s: Session, username: str, ip: str, now: datetime) -> bool:
    """Too many recent failures for this user from this address, for this user from anywhere
    (a higher bar, so a stranger cannot lock a colleague out with five guesses), or from this address."""
    since = now - THROTTLE_WINDOW
    failed = select(func.count()).where(LoginAttempt.at >= since, LoginAttempt.success.is_(False))
    by_pair = s.scalar(failed.where(LoginAttempt.username == username, LoginAttempt.ip == ip)) or 0
    by_user = s.scalar(failed.where(LoginAttempt.username == username)) or 0
    by_ip = s.scalar(failed.where(LoginAttempt.ip == ip)) or 0
    return (
        by_pair >= MAX_FAILURES_PER_USER
        or by_user >= MAX_FAILURES_PER_USER_ANYWHERE
        or by_ip >= MAX_FAILURES_PER_IP
    )


def authenticate(s: Session, username: str, password: str, ip: str, now: datetime) -> User:
    """The user, if the password is right; records the attempt either way (commit by the caller)."""
    username = username.strip()
    if _throttled(s, username, ip, now):
        s.add(LoginAttempt(username=username, ip=ip, at=now, success=False))
        raise Throttled("登录失败次数过多，请15分钟后再试。")
    user = s.scalar(select(User).where(User.username == username))
    valid, updated = (False, None)
    if user is not None and user.password_hash:
        valid, updated = PASSWORDS.verify_and_update(password, user.password_hash)
    else:
        PASSWORDS.hash(password)  # same work for unknown users: timing does not tell who exists
    s.add(LoginAttempt(username=username, ip=ip, at=now, success=bool(valid and user and user.active)))
    if not valid or user is None:
        raise SignInFailed("用户名或密码不正确。")
    if not user.active:
        raise SignInFailed("该账号已停用，请联系管理员。")
    if updated is not None:
        user.password_hash = updated
    return user


@dataclass(frozen=True)
class NewSession:
    token: str
    csrf_token: str
    expires_at: datetime


def open_session(
    s: Session, settings: Settings, user: User, now: datetime, ip: str | None, agent: str | None
) -> NewSession:
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = now + timedelta(hours=settings.session_hours)
    s.add(
        WebSession(
            token_hash=keyed_hash(settings, token),
            user_id=user.id,
            csrf_token=csrf,
            created_at=now,
            last_seen_at=now,
            expires_at=expires,
            ip=ip,
            user_agent=(agent or "")[:300],
        )
    )
    return NewSession(token, csrf, expires)


@dataclass(frozen=True)
class Holder:
    """Who holds a live session or API token: what a request needs of the user and the credential."""

    credential_id: int
    user_id: int
    username: str
    display_name: str
    org_name: str
    org_path: str
    roles: frozenset[str]
    last_seen_at: datetime | None  # a session's last_seen_at, a token's last_used_at
    expires_at: datetime | None  # sessions only
    csrf_token: str | None  # sessions only

    def activity_due(self, now: datetime) -> bool:
        """Whether to record activity now (``touch_session``/``touch_token``): at most once a minute,
        so most requests' sign-in stays a read."""
        return self.last_seen_at is None or now - self.last_seen_at >= LAST_SEEN_GRANULARITY


def _holder_query(kind: type[Credential]) -> Select[*tuple[Any, ...]]:
    """The credential with its user, the user's unit and roles (a row per role), in one statement.

    Columns, not entities: every request signs in, and loading ORM objects for it cost twice the
    statement itself. Built once per kind, with the hash as a bound parameter."""
    session = kind is WebSession
    return (
        select(
            kind.id.label("credential_id"),
            kind.revoked_at,
            (WebSession.last_seen_at if session else ApiToken.last_used_at).label("last_seen_at"),
            (WebSession.expires_at if session else null()).label("expires_at"),
            (WebSession.csrf_token if session else null()).label("csrf_token"),
            User.id.label("user_id"),
            User.username,
            User.display_name,
            User.active,
            OrgUnit.name.label("org_name"),
            OrgUnit.path.label("org_path"),
            UserRole.role,
        )
        .join(User, User.id == kind.user_id)
        .join(OrgUnit, OrgUnit.id == User.org_unit_id)
        .outerjoin(UserRole, UserRole.user_id == User.id)
        .where(kind.token_hash == bindparam("token_hash"))
    )


_HOLDER_QUERIES: dict[type[WebSession | ApiToken], Select[*tuple[Any, ...]]] = {
    WebSession: _holder_query(WebSession),
    ApiToken: _holder_query(ApiToken),
}


def session_user(s: Session | Connection, settings: Settings, token: str, now: datetime) -> Holder | None:
    """The signed-in user of a session cookie, or None when it is unknown, expired, revoked or disabled."""
    found = _holder(s, WebSession, keyed_hash(settings, token))
    if found is None or found.expires_at is None or found.expires_at <= now:
        return None
    return found


def _holder(s: Session | Connection, kind: type[Credential], token_hash: str) -> Holder | None:
    """A session's or token's holder; None unless both the credential and its user are live."""
    rows = s.execute(_HOLDER_QUERIES[kind], {"token_hash": token_hash}).all()
    if not rows:
        return None
    first = rows[0]
    if first.revoked_at is not None or not first.active:
        return None
    return Holder(
        credential_id=first.credential_id,
        user_id=first.user_id,
        username=first.username,
        display_name=first.display_name,
        org_name=first.org_name,
        org_path=first.org_path,
        roles=frozenset(r.role for r in rows if r.role is not None),
        last_seen_at=first.last_seen_at,
        expires_at=first.expires_at,
        csrf_token=first.csrf_token,
    )


def touch_session(s: Session, holder: Holder, now: datetime) -> None:
    """Record the session's activity (when ``holder.activity_due(now)``)."""
    s.execute(update(WebSession).where(WebSession.id == holder.credential_id).values(last_seen_at=now))


def close_session(s: Session, settings: Settings, token: str, now: datetime) -> None:
    s.execute(
        update(WebSession)
        .where(WebSession.token_hash == keyed_hash(settings, token), WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def revoke_user_sessions(s: Session, user_id: int, now: datetime) -> None:
    s.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    s.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


def create_api_token(s: Session, settings: Settings, user: User, name: str, now: datetime) -> str:
    token = "bgt_" + secrets.token_urlsafe(32)
    s.add(ApiToken(token_hash=keyed_hash(settings, token), user_id=user.id, name=name, created_at=now))
    return token


def token_user(s: Session | Connection, settings: Settings, token: str) -> Holder | None:
    return _holder(s, ApiToken, keyed_hash(settings, token))


def touch_token(s: Session, holder: Holder, now: datetime) -> None:
    """Record the token's use (when ``holder.activity_due(now)``)."""
    s.execute(update(ApiToken).where(ApiToken.id == holder.credential_id).values(last_used_at=now))


def csrf_matches(expected: str | None, given: str | None) -> bool:
    return bool(expected and given and hmac.compare_digest(expected, given))
