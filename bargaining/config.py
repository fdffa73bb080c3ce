"""Settings read from the environment (one place, so every entry point agrees)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .errors import ValidationError

DEFAULT_SQLITE_PATH = Path("var") / "bargaining.sqlite3"
# Usable only in development and tests; the product refuses to start elsewhere with it.
DEVELOPMENT_SECRET = "development-only-secret-do-not-use-in-production"


@dataclass(frozen=True)
class Settings:
    database_url: str
    environment: str  # "development" | "production" | "test"
    secret_key: str
    cookie_secure: bool  # force the Secure flag (it is also set whenever the request came over https)
    session_hours: int
    # PostgreSQL connections each process keeps open. A unit of work beyond them opens a connection
    # of its own and closes it after (a new server process each time): size it to the requests one
    # web worker serves at once. Measured: with 5 (SQLAlchemy's default), 8 concurrent transitions
    # on two workers cost PostgreSQL 1.8 ms of CPU each instead of 1.0 ms.
    db_pool_size: int = 10

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def is_development(self) -> bool:
        return self.environment in ("development", "test")


def load_settings() -> Settings:
    url = os.environ.get("BARGAINING_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"
    return Settings(
        database_url=url,
        environment=os.environ.get("BARGAINING_ENV", "development"),
        secret_key=os.environ.get("BARGAINING_SECRET_KEY", DEVELOPMENT_SECRET),
        cookie_secure=os.environ.get("BARGAINING_COOKIE_SECURE", "") in ("1", "true", "yes"),
        session_hours=int(os.environ.get("BARGAINING_SESSION_HOURS", "10")),
        db_pool_size=int(os.environ.get("BARGAINING_DB_POOL_SIZE", "10")),
    )


def check_production_ready(settings: Settings) -> None:
    """Refuse to serve outside development with a default or weak secret."""
    if settings.is_development:
        return
    if settings.secret_key == DEVELOPMENT_SECRET or len(settings.secret_key) < 32:
        raise ValidationError(
            "生产环境必须设置 BARGAINING_SECRET_KEY（至少32个字符的随机字符串），不能使用默认密钥。"
            "可用命令生成：python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"
        )
