"""Where documents, keys and caches live, read from the environment in one place."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass(frozen=True)
class DocumentSettings:
    storage_dir: Path  # rendered and signed PDFs, scans (BARGAINING_STORAGE_DIR)
    keys_dir: Path  # test CA, TSA and signer keys, encrypted (BARGAINING_KEYS_DIR)
    cache_dir: Path  # derived files that can be rebuilt, e.g. the signature stamp font
    templates_dir: Path  # contracts_templates/ (BARGAINING_TEMPLATES_DIR to override)
    environment: str
    signer: str  # "builtin" or "package.module:factory" (BARGAINING_SIGNER)
    tsa_url: str | None  # an RFC 3161 time-stamping service instead of the built-in test TSA
    trust_roots: tuple[Path, ...]  # extra CA certificates (PEM/DER) trusted when verifying

    @property
    def is_production(self) -> bool:
        return self.environment not in ("development", "test")


def load() -> DocumentSettings:
    env = os.environ
    roots = tuple(Path(p) for p in env.get("BARGAINING_TRUST_ROOTS", "").split(os.pathsep) if p.strip())
    return DocumentSettings(
        storage_dir=Path(env.get("BARGAINING_STORAGE_DIR") or "var/documents"),
        keys_dir=Path(env.get("BARGAINING_KEYS_DIR") or "var/keys"),
        cache_dir=Path(env.get("BARGAINING_CACHE_DIR") or "var/cache"),
        templates_dir=Path(env.get("BARGAINING_TEMPLATES_DIR") or REPO_ROOT / "contracts_templates"),
        environment=env.get("BARGAINING_ENV", "development"),
        signer=env.get("BARGAINING_SIGNER", "builtin"),
        tsa_url=env.get("BARGAINING_TSA_URL") or None,
        trust_roots=roots,
    )
