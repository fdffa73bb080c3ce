"""Settings read from the environment (one place, so every entry point agrees)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SQLITE_PATH = Path("var") / "bargaining.sqlite3"


@dataclass(frozen=True)
class Settings:
    database_url: str
    environment: str  # "development" | "production" | "test"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings() -> Settings:
    url = os.environ.get("BARGAINING_DATABASE_URL") or f"sqlite:///{DEFAULT_SQLITE_PATH}"
    return Settings(database_url=url, environment=os.environ.get("BARGAINING_ENV", "development"))
