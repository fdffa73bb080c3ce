"""The federation test PKI for development and the demo: a test CA, a test time-stamping
authority and one certificate per signing person, issued by ``bargaining keys init`` and on
demand when a new chief representative signs.

Everything lives in the keys directory (``BARGAINING_KEYS_DIR``, default ``var/keys``, mode 0700),
never in the repository or the database. Private keys are PKCS#8 PEM encrypted with the
passphrase from ``BARGAINING_KEY_PASSPHRASE``; in development (only), when that is not set, a
random passphrase is generated into ``passphrase`` in the keys directory with mode 0600.

Every certificate says it is a test certificate (organisational unit "测试证书（仅供测试）",
the CA's name says so too), and signatures made with them say so on their appearance.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast, get_args

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from bargaining.errors import ValidationError

from . import settings

TEST_UNIT = "测试证书（仅供测试）"
CA_NAME = "工会联合会测试CA（仅供测试，不具法律效力）"
TSA_NAME = "工会联合会测试时间戳服务（仅供测试）"
PASSPHRASE_FILE = "passphrase"
INDEX = "index.json"
CA_YEARS = 10
PERSON_YEARS = 3
CRL_DAYS = 365
# The keys that can sign a certificate or a CRL, as cryptography lists them.
ISSUER_KEY_TYPES: tuple[type, ...] = get_args(CertificateIssuerPrivateKeyTypes)


class KeysMissing(ValidationError):
    code = "keys_missing"


@dataclass(frozen=True)
class PersonKey:
    key_id: str
    name: str
    organisation: str
    cert_path: Path
    key_path: Path
    serial: str
    fingerprint: str


def keys_dir() -> Path:
    return settings.load().keys_dir


def _name(common: str, organisation: str, *, unit: str = TEST_UNIT) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation[:64] or "工会"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            x509.NameAttribute(NameOID.COMMON_NAME, common[:64]),
        ]
    )


def passphrase(directory: Path | None = None, *, create: bool = False) -> tuple[bytes, str]:
    """The key passphrase and where it came from ("environment" or the file's path)."""
    from_env = os.environ.get("BARGAINING_KEY_PASSPHRASE")
    if from_env:
        return from_env.encode("utf-8"), "环境变量 BARGAINING_KEY_PASSPHRASE"
    directory = directory or keys_dir()
    path = directory / PASSPHRASE_FILE
    if path.exists():
        if settings.load().is_production:
            raise ValidationError(
                f"生产环境不得使用保存在文件中的私钥口令（{path}）：请设置 BARGAINING_KEY_PASSPHRASE。"
            )
        return path.read_bytes().strip(), str(path)
    if settings.load().is_production:
        raise ValidationError("生产环境必须通过 BARGAINING_KEY_PASSPHRASE 提供私钥口令。")
    if not create:
        raise KeysMissing(
            f"找不到私钥口令：请设置 BARGAINING_KEY_PASSPHRASE，或先运行 bargaining keys init（{directory}）。"
        )
    directory.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32).encode("ascii")
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(value + b"\n")
    return value, str(path)


def _write_key(path: Path, key: Any, secret: bytes) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(secret),
    )
    temporary = path.with_name(path.name + ".part")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    os.replace(temporary, path)


def _write_public(path: Path, data: bytes) -> None:
    temporary = path.with_name(path.name + ".part")
    temporary.write_bytes(data)
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)


def fingerprint(cert: x509.Certificate) -> str:
    return cert.fingerprint(hashes.SHA256()).hex()


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    with open(directory / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _index(directory: Path) -> dict[str, Any]:
    path = directory / INDEX
    if path.exists():
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data
    return {"ca": None, "tsa": None, "people": {}}


_READ_INDEX: dict[Path, tuple[tuple[int, int, int], dict[str, Any]]] = {}


def _index_for_lookup(directory: Path) -> dict[str, Any]:
    """The index as last written, parsed once per version of the file (read only: do not change).

    The file is only ever replaced (``os.replace``), so inode, size and mtime tell a new one.
    """
    path = directory / INDEX
    try:
        st = path.stat()
    except FileNotFoundError:
        return {"ca": None, "tsa": None, "people": {}}
    version = (st.st_ino, st.st_size, st.st_mtime_ns)
    cached = _READ_INDEX.get(path)
    if cached is None or cached[0] != version:
        cached = (version, _index(directory))
        _READ_INDEX[path] = cached
    return cached[1]


def _save_index(directory: Path, index: dict[str, Any]) -> None:
    """Compact JSON (``bargaining keys list`` shows it readably): json's C encoder, where
    ``indent`` would use the pure-Python one, about 10 ms per write at 400 people, paid on every
    certificate issued."""
    _write_public(directory / INDEX, (json.dumps(index, ensure_ascii=False) + "\n").encode("utf-8"))


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: Any, now: datetime, years: int
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * years))
    )


def _key_usage(*, sign: bool = False, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=sign or not ca,
        content_commitment=sign,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass(frozen=True)
class InitReport:
    directory: Path
    created: bool
    passphrase_source: str
    ca_subject: str
    ca_fingerprint: str
    people: int


def init_keys(
    *, force: bool = False, directory: Path | None = None, organisation: str = "工会联合会"
) -> InitReport:
    """Create the test CA, the test TSA and an empty CRL (kept when they exist, unless ``force``)."""
    directory = directory or keys_dir()
    with _locked(directory):
        index = _index(directory)
        secret, source = passphrase(directory, create=True)
        if index.get("ca") and (directory / "ca.pem").exists() and not force:
            ca = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
            _refresh_crl(directory, secret)
            return InitReport(
                directory, False, source, ca.subject.rfc4514_string(), fingerprint(ca), len(index["people"])
            )
        now = datetime.now(UTC)
        ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        ca_name = _name(CA_NAME, organisation)
        ca = (
            _builder(ca_name, ca_name, ca_key.public_key(), now, CA_YEARS)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_key_usage(ca=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256())
        )
        # The built-in time-stamping authority signs RSA tokens (pyHanko's in-process TSA is RSA-only).
        tsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        tsa = (
            _builder(_name(TSA_NAME, organisation), ca.subject, tsa_key.public_key(), now, CA_YEARS)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_key_usage(sign=True), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        _write_key(directory / "ca.key.pem", ca_key, secret)
        _write_public(directory / "ca.pem", ca.public_bytes(serialization.Encoding.PEM))
        _write_key(directory / "tsa.key.pem", tsa_key, secret)
        _write_public(directory / "tsa.pem", tsa.public_bytes(serialization.Encoding.PEM))
        for stale in (directory / "people").glob("*") if (directory / "people").exists() else ():
            stale.unlink()
        index = {
            "ca": {"subject": ca.subject.rfc4514_string(), "fingerprint": fingerprint(ca)},
            "tsa": {"subject": tsa.subject.rfc4514_string(), "fingerprint": fingerprint(tsa)},
            "people": {},
        }
        _save_index(directory, index)
        _write_crl(directory, ca, ca_key)
        return InitReport(directory, True, source, ca.subject.rfc4514_string(), fingerprint(ca), 0)


def _write_crl(directory: Path, ca: x509.Certificate, ca_key: CertificateIssuerPrivateKeyTypes) -> None:
    now = datetime.now(UTC)
    crl = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.subject)
        .last_update(now - timedelta(minutes=5))
        .next_update(now + timedelta(days=CRL_DAYS))
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_public(directory / "crl.der", crl.public_bytes(serialization.Encoding.DER))


def _refresh_crl(directory: Path, secret: bytes) -> None:
    """Re-issue the (empty) CRL when it is due within a day, so validation keeps working."""
    path = directory / "crl.der"
    if path.exists():
        crl = x509.load_der_x509_crl(path.read_bytes())
        next_update = crl.next_update_utc
        if next_update is not None and next_update > datetime.now(UTC) + timedelta(days=1):
            return
    ca = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
    _write_crl(directory, ca, _ca_key(directory, secret))


def _ca_key(directory: Path, secret: bytes) -> CertificateIssuerPrivateKeyTypes:
    key = serialization.load_pem_private_key(
        (directory / "ca.key.pem").read_bytes(), password=secret, unsafe_skip_rsa_key_validation=True
    )
    if not isinstance(key, ISSUER_KEY_TYPES):
        # Signing a certificate or CRL with it would raise this too, only later.
        raise TypeError(f"the CA key is a {type(key).__name__}, which cannot sign certificates")
    return cast(CertificateIssuerPrivateKeyTypes, key)  # checked just above


def require_ca(directory: Path | None = None) -> Path:
    directory = directory or keys_dir()
    if not (directory / "ca.pem").exists():
        raise KeysMissing(
            f"尚未建立测试证书：请先运行 bargaining keys init（密钥目录 {directory}），"
            "或配置正式CA的签名服务（BARGAINING_SIGNER）。"
        )
    return directory


def person_key_id(person_key: str, name: str) -> str:
    return hashlib.sha256(f"{person_key}\0{name}".encode()).hexdigest()[:24]


def person(person_key: str, name: str, *, index: dict[str, Any] | None = None) -> PersonKey | None:
    directory = keys_dir()
    key_id = person_key_id(person_key, name)
    entry = (index if index is not None else _index_for_lookup(directory))["people"].get(key_id)
    if entry is None:
        return None
    return PersonKey(
        key_id,
        entry["name"],
        entry["organisation"],
        directory / "people" / f"{key_id}.pem",
        directory / "people" / f"{key_id}.key.pem",
        entry["serial"],
        entry["fingerprint"],
    )


def ensure_person(person_key: str, name: str, organisation: str) -> tuple[PersonKey, bool]:
    """The person's test certificate, issued now by the test CA if they have none (True)."""
    return ensure_people([(person_key, name, organisation)])[0]


def _usable(found: PersonKey | None) -> bool:
    return found is not None and found.cert_path.exists() and found.key_path.exists()


def ensure_people(people: Sequence[tuple[str, str, str]]) -> list[tuple[PersonKey, bool]]:
    """``ensure_person`` for several (person key, name, organisation) at once: the lock taken,
    the CA key decrypted and the index written once for all of them."""
    directory = require_ca()
    found = [person(k, n) for k, n, _o in people]
    if all(_usable(f) for f in found):
        return [(f, False) for f in found if f is not None]
    with _locked(directory):
        index = _index(directory)
        found = [person(k, n, index=index) for k, n, _o in people]
        if all(_usable(f) for f in found):
            return [(f, False) for f in found if f is not None]
        secret, _source = passphrase(directory)
        ca = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
        ca_key = _ca_key(directory, secret)
        _refresh_crl(directory, secret)
        results: list[tuple[PersonKey, bool]] = []
        for person_key, name, organisation in people:
            current = person(person_key, name, index=index)  # also sees those issued just above
            if current is not None and _usable(current):
                results.append((current, False))
                continue
            key_id = person_key_id(person_key, name)
            key = ec.generate_private_key(ec.SECP256R1())
            now = datetime.now(UTC)
            cert = (
                _builder(_name(name, organisation), ca.subject, key.public_key(), now, PERSON_YEARS)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .add_extension(_key_usage(sign=True), critical=True)
                .add_extension(
                    x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
                )
                .sign(ca_key, hashes.SHA256())
            )
            people_dir = directory / "people"
            people_dir.mkdir(exist_ok=True, mode=0o700)
            _write_key(people_dir / f"{key_id}.key.pem", key, secret)
            _write_public(people_dir / f"{key_id}.pem", cert.public_bytes(serialization.Encoding.PEM))
            index["people"][key_id] = {
                "name": name,
                "organisation": organisation,
                "serial": format(cert.serial_number, "x"),
                "fingerprint": fingerprint(cert),
                "not_after": cert.not_valid_after_utc.isoformat(),
                "issued_at": now.isoformat(),
            }
            issued = person(person_key, name, index=index)
            assert issued is not None
            results.append((issued, True))
        _save_index(directory, index)
        return results


def list_people() -> list[dict[str, Any]]:
    index = _index(keys_dir())
    return [{"key_id": k, **v} for k, v in sorted(index["people"].items(), key=lambda kv: kv[1]["issued_at"])]


def ca_certificate_paths(directory: Path | None = None) -> list[Path]:
    directory = directory or keys_dir()
    path = directory / "ca.pem"
    return [path] if path.exists() else []


def test_ca_fingerprint(directory: Path | None = None) -> str | None:
    directory = directory or keys_dir()
    path = directory / "ca.pem"
    if not path.exists():
        return None
    return fingerprint(x509.load_pem_x509_certificate(path.read_bytes()))
