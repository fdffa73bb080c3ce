"""The document store: files under generated names, addressed by a path relative to the store.

Nothing a user typed ever becomes part of a path. Files are written to a temporary name and
renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

from bargaining.errors import NotFound, ValidationError

from . import settings


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def root() -> Path:
    return settings.load().storage_dir


def put(data: bytes, suffix: str, *, now: datetime | None = None) -> str:
    """Store ``data`` under a new generated name; returns the path relative to the store."""
    if suffix not in (".pdf", ".png", ".jpg", ".tif"):
        raise ValueError(f"unexpected suffix {suffix!r}")
    now = now or datetime.now(UTC)
    relative = f"{now:%Y}/{now:%m}/{uuid.uuid4().hex}{suffix}"
    target = root() / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".part")
    with open(temporary, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temporary, 0o640)
    os.replace(temporary, target)
    return relative


def _resolve(relative: str) -> Path:
    base = root().resolve()
    path = (base / relative).resolve()
    if not path.is_relative_to(base):
        raise ValidationError(f"文件路径不在文件库内：{relative}")
    return path


def get(relative: str, expected_sha256: str | None = None) -> bytes:
    """The stored bytes; refuses a file whose SHA-256 differs from the one on record."""
    path = _resolve(relative)
    if not path.is_file():
        raise NotFound(f"文件库中找不到文件 {relative}（可能已被移走或删除）。")
    data = path.read_bytes()
    if expected_sha256 is not None and sha256(data) != expected_sha256:
        raise ValidationError(
            f"文件库中的文件 {relative} 与登记的SHA-256不一致，可能已损坏或被篡改，请联系管理员。",
            code="storage_mismatch",
        )
    return data


def exists(relative: str) -> bool:
    try:
        return _resolve(relative).is_file()
    except ValidationError:
        return False


def remove(relative: str) -> None:
    """Remove a file written by a use case that then failed (never a recorded one)."""
    with contextlib.suppress(ValidationError):
        _resolve(relative).unlink(missing_ok=True)
