"""PAdES signatures (pyHanko) of both chief representatives on a rendered agreement.

The flow: the unsigned PDF (deterministic WeasyPrint output) → one incremental update that
pre-creates every visible signature field, each placed exactly over its HTML signature block →
one signature per party, in ``SIGNING_ORDER``, each with an RFC 3161 signature timestamp and
the validation information embedded (PAdES B-LT when the signer supplies a validation context,
B-T otherwise).

``Signer`` is the pluggable part: the built-in one uses the federation's test CA (keys.py) and
says "测试证书" on every signature appearance; a licensed CA's key in an HSM (pyHanko's PKCS#11
signer), a remote CSC signing service, or an SM2 signer can replace it by implementing the
protocol and naming its factory in ``BARGAINING_SIGNER=package.module:factory``.
"""

from __future__ import annotations

import hashlib
import importlib
import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from zoneinfo import ZoneInfo

from bargaining.errors import ValidationError

from . import keys, settings

if TYPE_CHECKING:
    from pyhanko.sign.signers import Signer as CmsSigner
    from pyhanko.sign.timestamps import TimeStamper
    from pyhanko_certvalidator import ValidationContext

CHINA = ZoneInfo("Asia/Shanghai")
# 甲方 (企业方) signs first, then 乙方 (职工方): the order of the blocks on the page.
SIGNING_ORDER = ("employer", "worker")
ROLE_LABELS = {"employer": "企业方首席代表", "worker": "职工方首席代表"}
TEST_LINE = "测试证书：仅供测试，不具法律效力"
# Every character a signature appearance may show (names are printed by the HTML signature block,
# not in the stamp, so this fixed set is all the stamp font needs).
STAMP_VOCABULARY = (
    "电子签名" + "".join(ROLE_LABELS.values()) + TEST_LINE + "签署时间北京时间证书序列号颁发者正式"
    "：（），。—·　 " + "".join(chr(c) for c in range(0x21, 0x7F))
)
STAMP_FONT_SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")  # fonts-noto-cjk
STAMP_FONT_FAMILY = "Noto Sans CJK SC"


def _stamp_font_source() -> Path:
    """The Noto Sans CJK collection: Debian's path, else wherever fontconfig finds it."""
    if STAMP_FONT_SOURCE.exists():
        return STAMP_FONT_SOURCE
    import subprocess

    found = subprocess.run(
        ["fc-match", "--format=%{file}", STAMP_FONT_FAMILY], capture_output=True, text=True, check=False
    ).stdout.strip()
    if not found or not Path(found).exists():
        raise ValidationError(f"找不到签名外观所用的字体“{STAMP_FONT_FAMILY}”：请安装 fonts-noto-cjk。")
    return Path(found)


@dataclass(frozen=True)
class SigningParty:
    side: str  # employer | worker
    name: str  # the chief representative
    person_key: str
    organisation: str  # enterprise or union name (goes into a test certificate)
    field_name: str  # the HTML anchor id and the PDF field name

    @property
    def role_label(self) -> str:
        return ROLE_LABELS[self.side]


class Signer(Protocol):
    """Who actually signs. ``prepare`` runs once before signing (in the calling process, e.g. to
    issue test certificates); the other methods may run in a worker process."""

    backend: str  # recorded on each Signature row
    is_test: bool  # True: the appearance and the records say "test certificate"

    def prepare(self, parties: Sequence[SigningParty]) -> list[str]: ...

    def cms_signer(self, party: SigningParty) -> CmsSigner: ...

    def timestamper(self) -> TimeStamper | None: ...

    def validation_context(self) -> ValidationContext | None: ...


@dataclass(frozen=True)
class AppliedSignature:
    sequence: int
    party: SigningParty
    certificate_subject: str
    certificate_issuer: str
    certificate_serial: str
    certificate_sha256: str
    test_certificate: bool
    signed_at: datetime
    revision_sha256: str


# --- the built-in test signer -------------------------------------------------------------------


class BuiltinTestSigner:
    """Signs with per-person certificates from the federation test CA and the test TSA."""

    backend = "builtin-test-ca"
    is_test = True
    # Room for the CMS container (ECDSA signature, certificates, RSA timestamp token, CRL: about
    # 9 KB). Fixed, so pyHanko need not make a dummy signature and timestamp to estimate it.
    bytes_reserved = 16384

    def __init__(self, directory: Path | None = None):
        self.directory = keys.require_ca(directory or keys.keys_dir())
        self._secret: bytes | None = None
        self._keys: dict[Path, Any] = {}  # decrypted once per process
        self._tsa: TimeStamper | None = None
        self._ca_cert: Any = None

    def _key(self, path: Path) -> Any:
        if path not in self._keys:
            self._keys[path] = _load_key(path, self._passphrase())
        return self._keys[path]

    def _passphrase(self) -> bytes:
        if self._secret is None:
            self._secret = keys.passphrase(self.directory)[0]
        return self._secret

    def prepare(self, parties: Sequence[SigningParty]) -> list[str]:
        found = keys.ensure_people([(p.person_key, p.name, p.organisation) for p in parties])
        return [
            f"已为{party.role_label}{party.name}签发测试证书"
            for party, (_key, issued) in zip(parties, found, strict=True)
            if issued
        ]

    def _ca(self) -> Any:
        """The test CA's certificate, read once (a new CA means a new signer: see load_signer)."""
        if self._ca_cert is None:
            from pyhanko.keys import load_cert_from_pemder

            self._ca_cert = load_cert_from_pemder(str(self.directory / "ca.pem"))
        return self._ca_cert

    def cms_signer(self, party: SigningParty) -> CmsSigner:
        from pyhanko.keys import load_cert_from_pemder

        found = keys.person(party.person_key, party.name)
        if found is None:
            raise ValidationError(
                f"{party.role_label}{party.name}还没有证书，请先运行 bargaining keys init。"
            )
        key = self._key(found.key_path)
        signer: CmsSigner = _simple_signer_class()(
            signing_cert=load_cert_from_pemder(str(found.cert_path)),
            signing_key=key,
            cert_registry=_registry([self._ca()]),
        )
        return signer

    def timestamper(self) -> TimeStamper | None:
        from pyhanko.keys import load_cert_from_pemder
        from pyhanko.sign.timestamps import HTTPTimeStamper

        url = settings.load().tsa_url
        if url:
            return HTTPTimeStamper(url)
        if self._tsa is None:
            self._tsa = _test_tsa(
                load_cert_from_pemder(str(self.directory / "tsa.pem")),
                self._key(self.directory / "tsa.key.pem"),
                _registry([self._ca()]),
            )
        return self._tsa

    def validation_context(self) -> ValidationContext | None:
        return validation_context(self.directory)


@cache
def _simple_signer_class() -> type:
    """pyHanko's SimpleSigner, with the signing-certificate-v2 attribute encoded once per certificate.

    pyHanko builds that attribute (ESSCertIDv2 with the issuer's name) afresh for every signature,
    and asn1crypto encodes a freshly built value again each time the signature is assembled:
    about 10 ms a signature, a quarter of it. Loaded from its DER encoding, the same value is
    written as it is; the bytes are the same. (``_signed_attr_providers`` is pyHanko 0.38.0's
    internal hook for the standard attributes.)
    """
    from asn1crypto import tsp
    from pyhanko.sign.attributes import SigningCertificateV2Provider
    from pyhanko.sign.signers import SimpleSigner

    class SigningCertificateOnce(SigningCertificateV2Provider):
        async def build_attr_value(self, dry_run: bool = False) -> Any:
            return tsp.SigningCertificateV2.load(_signing_certificate_v2(self.signing_cert.dump()))

    class BuiltinSimpleSigner(SimpleSigner):
        def _signed_attr_providers(self, *args: Any, **kwargs: Any) -> Any:
            for provider in super()._signed_attr_providers(*args, **kwargs):
                if type(provider) is SigningCertificateV2Provider:
                    provider = SigningCertificateOnce(provider.signing_cert)
                yield provider

    return BuiltinSimpleSigner


@lru_cache(maxsize=1024)
def _signing_certificate_v2(certificate_der: bytes) -> bytes:
    from asn1crypto import x509
    from pyhanko.sign.general import as_signing_certificate_v2

    return as_signing_certificate_v2(x509.Certificate.load(certificate_der)).dump()  # type: ignore[no-any-return]


def _test_tsa(cert: Any, key: Any, certs: Any) -> TimeStamper:
    """pyHanko's in-process RFC 3161 time-stamping authority, signing with a key parsed once.

    (``DummyTimeStamper`` re-parses its RSA key for every token, about 45 ms; pinned to pyHanko
    0.38.0, whose ``_sign_tst_info`` this mirrors. The signing-certificate attribute, the same
    in every token, is encoded once: building it costs about 5 ms a token in asn1crypto.)
    """
    from asn1crypto import cms
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from pyhanko.sign import general
    from pyhanko.sign.general import simple_cms_attribute
    from pyhanko.sign.timestamps import DummyTimeStamper
    from pyhanko_certvalidator.util import get_pyca_cryptography_hash

    loaded = serialization.load_der_private_key(
        key.dump(), password=None, unsafe_skip_rsa_key_validation=True
    )
    if not isinstance(loaded, rsa.RSAPrivateKey):  # keys.init_keys makes the test TSA's key RSA
        raise TypeError(f"the test TSA's key must be an RSA key, not {type(loaded).__name__}")
    private: rsa.RSAPrivateKey = loaded  # (the narrowing does not reach into the class below)
    signing_certificate = simple_cms_attribute(
        "signing_certificate", general.as_signing_certificate(cert)
    ).dump()

    class TestTimeStamper(DummyTimeStamper):
        def _sign_tst_info(self, tst_info_data: bytes, md_algorithm: str, dt: datetime) -> tuple[bytes, Any]:
            digest = hashes.Hash(get_pyca_cryptography_hash(md_algorithm))
            digest.update(tst_info_data)
            signed_attrs = cms.CMSAttributes(
                [
                    simple_cms_attribute("content_type", "tst_info"),
                    simple_cms_attribute("signing_time", cms.Time({"utc_time": dt})),
                    cms.CMSAttribute.load(signing_certificate),
                    simple_cms_attribute("message_digest", digest.finalize()),
                ]
            )
            signature = private.sign(
                signed_attrs.dump(), PKCS1v15(), get_pyca_cryptography_hash(md_algorithm.upper())
            )
            return signature, signed_attrs

    return TestTimeStamper(tsa_cert=cert, tsa_key=key, certs_to_embed=certs)


def _load_key(path: Path, secret: bytes) -> Any:
    from asn1crypto import keys as asn1_keys
    from cryptography.hazmat.primitives import serialization

    # Our own keys: skip the RSA consistency check (about 80 ms a key).
    key = serialization.load_pem_private_key(
        path.read_bytes(), password=secret, unsafe_skip_rsa_key_validation=True
    )
    der = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return asn1_keys.PrivateKeyInfo.load(der)


def _registry(certs: list[Any]) -> Any:
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    return SimpleCertificateStore.from_certs(certs)


def trust_roots(directory: Path | None = None) -> list[Any]:
    """The test CA (when present) and any extra roots from BARGAINING_TRUST_ROOTS."""
    from pyhanko.keys import load_cert_from_pemder

    directory = directory or keys.keys_dir()
    roots = [load_cert_from_pemder(str(p)) for p in keys.ca_certificate_paths(directory)]
    roots += [load_cert_from_pemder(str(p)) for p in settings.load().trust_roots]
    return roots


def validation_context(directory: Path | None = None, *, for_signing: bool = True) -> ValidationContext:
    from asn1crypto import crl as asn1_crl
    from pyhanko_certvalidator import ValidationContext

    directory = directory or keys.keys_dir()
    crls = []
    crl_path = directory / "crl.der"
    if crl_path.exists():
        crls.append(asn1_crl.CertificateList.load(crl_path.read_bytes()))
    return ValidationContext(
        trust_roots=trust_roots(directory),
        crls=crls,
        allow_fetching=False,
        revocation_mode="hard-fail" if for_signing else "soft-fail",
    )


_BUILTIN: dict[tuple[Path, str | None], BuiltinTestSigner] = {}


def load_signer(spec: str | None = None) -> Signer:
    """The configured signer: "builtin", or "package.module:factory" returning a Signer."""
    spec = spec or settings.load().signer
    if spec in ("builtin", "builtin-test-ca", ""):
        directory = keys.keys_dir().resolve()
        key = (directory, keys.test_ca_fingerprint(directory))
        if key not in _BUILTIN:
            _BUILTIN[key] = BuiltinTestSigner(directory)
        return _BUILTIN[key]
    module_name, _, attribute = spec.partition(":")
    if not attribute:
        raise ValidationError(f"BARGAINING_SIGNER 应写成 builtin 或 模块:工厂函数，现为“{spec}”。")
    factory = getattr(importlib.import_module(module_name), attribute)
    signer: Signer = factory()
    return signer


# --- the stamp font ---------------------------------------------------------------------------


def _font_number(path: Path, family: str) -> int:
    from fontTools.ttLib import TTCollection

    if path.suffix.lower() not in (".ttc", ".otc"):
        return -1  # a single face
    collection = TTCollection(str(path), lazy=True)
    for index, font in enumerate(collection.fonts):
        if font["name"].getDebugName(1) == family or font["name"].getDebugName(4) == family:
            return index
    raise RuntimeError(f"{family} not found in {path}")


@cache
def stamp_font() -> Path:
    """A small subset of Noto Sans CJK SC with the stamp vocabulary, built once and cached.

    pyHanko needs a single-face OTF (it cannot open a .ttc collection), and embedding the full
    16 MB face costs about 0.3 s per signature; this subset is about 70 KB.
    """
    from fontTools import subset
    from fontTools.ttLib import TTFont

    source = _stamp_font_source()
    stat = source.stat()
    key = hashlib.sha256(
        f"{STAMP_VOCABULARY}|{source}|{stat.st_size}|{stat.st_mtime_ns}".encode()
    ).hexdigest()
    target = settings.load().cache_dir / "fonts" / f"stamp-{key[:16]}.otf"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    options = subset.Options()
    options.name_IDs = ["*"]
    options.notdef_outline = True
    options.layout_features = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=STAMP_VOCABULARY)
    font = TTFont(str(source), fontNumber=_font_number(source, STAMP_FONT_FAMILY), lazy=True)
    subsetter.subset(font)
    temporary = target.with_name(f"{target.name}.{datetime.now(UTC).timestamp():.0f}.part")
    font.save(str(temporary))
    temporary.replace(target)
    return target


def stamp_text(party: SigningParty, *, is_test: bool, serial: str, when: datetime) -> str:
    lines = [f"电子签名　{party.role_label}"]
    if is_test:
        lines.append(TEST_LINE)
    lines.append(f"签署时间：{when.astimezone(CHINA):%Y-%m-%d %H:%M}（北京时间）")
    lines.append(f"证书序列号：{serial[:20]}")
    text = "\n".join(lines)
    missing = sorted(set(text) - set(STAMP_VOCABULARY) - {"\n"})
    if missing:
        raise RuntimeError(f"stamp text uses characters outside the stamp font: {missing}")
    return text


# --- signing ----------------------------------------------------------------------------------


_CFF_CACHE: dict[str, bytes] = {}


def _compiled_cff(cidfont: Any, key: str) -> bytes:
    """The stamp font's CFF program, compiled by fontTools once per process (about 0.15 s)."""
    if key not in _CFF_CACHE:
        buffer = io.BytesIO()
        cidfont.cff.compile(buffer, cidfont.tt_font)
        _CFF_CACHE[key] = buffer.getvalue()
    return _CFF_CACHE[key]


def _whole_font_factory() -> Any:
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulator, GlyphAccumulatorFactory

    class WholeFontFactory(GlyphAccumulatorFactory):
        """Embeds the (already tiny) stamp font as it is, compiled once per process.

        pyHanko would subset and recompile the CFF program for every signature (about 0.15 s
        each, in fontTools); the stamp font has only the stamp vocabulary, so the whole program
        is embedded instead. Tied to pyHanko 0.38.0's CIDFontType0.set_font_file.
        """

        def create_font_engine(self, writer: Any, obj_stream: Any = None) -> GlyphAccumulator:
            engine = super().create_font_engine(writer, obj_stream)
            engine._subset_created = True
            cidfont = engine.cidfont_obj
            key = self.font_file

            def set_font_file(target: Any) -> Any:
                stream = generic.StreamObject(
                    {generic.pdf_name("/Subtype"): generic.pdf_name("/CIDFontType0C")},
                    stream_data=_compiled_cff(cidfont, key),
                )
                stream.compress()
                reference = target.add_object(stream)
                cidfont._font_descriptor[generic.pdf_name("/FontFile3")] = reference
                return reference

            # This one font object's method is replaced on purpose (see the docstring).
            cidfont.set_font_file = set_font_file  # type: ignore[method-assign, assignment]
            return engine

    return WholeFontFactory


class _ExpectedOffline(logging.Filter):
    """We pass the CRL ourselves and never fetch: pyHanko's warning about that is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "fetching is not allowed" not in record.getMessage()


logging.getLogger("pyhanko.sign.signers.pdf_signer").addFilter(_ExpectedOffline())


def _certificate_facts(cert: Any) -> dict[str, str]:
    return {
        "subject": cert.subject.human_friendly,
        "issuer": cert.issuer.human_friendly,
        "serial": format(cert.serial_number, "x"),
        "sha256": hashlib.sha256(cert.dump()).hexdigest(),
        "unit": " ".join(cert.subject.native.get("organizational_unit_name", []) or [])
        if isinstance(cert.subject.native.get("organizational_unit_name"), list)
        else str(cert.subject.native.get("organizational_unit_name", "")),
    }


def sign_pdf(
    pdf: bytes,
    anchors: dict[str, tuple[int, float, float, float, float]],
    parties: Sequence[SigningParty],
    signer: Signer,
    *,
    reason: str,
    location: str,
) -> tuple[bytes, list[AppliedSignature]]:
    """Pre-create every party's field in one revision, then sign them in order."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.sign import fields, signers
    from pyhanko.stamp import TextStampStyle

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    for party in parties:
        page, x1, y1, x2, y2 = anchors[party.field_name]
        # pyHanko annotates the box as ints but writes any numbers (as FloatObject): the layout's are floats.
        box = (x1, y1, x2, y2)
        spec = fields.SigFieldSpec(party.field_name, on_page=page, box=box)  # type: ignore[arg-type]
        fields.append_signature_field(writer, spec)
    buffer = io.BytesIO()
    writer.write(buffer)
    data = buffer.getvalue()

    font = _whole_font_factory()(str(stamp_font()), font_size=9)
    timestamper = signer.timestamper()
    context = signer.validation_context()
    applied: list[AppliedSignature] = []
    for sequence, party in enumerate(parties, 1):
        cms = signer.cms_signer(party)
        cert = cms.signing_cert
        facts = _certificate_facts(cert)
        is_test = signer.is_test or keys.TEST_UNIT in facts["unit"]
        when = datetime.now(UTC)
        style = TextStampStyle(
            stamp_text=stamp_text(party, is_test=is_test, serial=facts["serial"], when=when),
            text_box_style=TextBoxStyle(font=font, leading=12),
            border_width=1,
        )
        meta = signers.PdfSignatureMetadata(
            field_name=party.field_name,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            embed_validation_info=context is not None,
            validation_context=context,
            name=party.name,
            reason=f"{party.role_label}签署：{reason}",
            location=location,
        )
        pdf_signer = signers.PdfSigner(meta, signer=cms, timestamper=timestamper, stamp_style=style)
        out = io.BytesIO()
        pdf_signer.sign_pdf(
            IncrementalPdfFileWriter(io.BytesIO(data)),
            existing_fields_only=True,
            output=out,
            bytes_reserved=getattr(signer, "bytes_reserved", None),
        )
        data = out.getvalue()
        applied.append(
            AppliedSignature(
                sequence=sequence,
                party=party,
                certificate_subject=facts["subject"],
                certificate_issuer=facts["issuer"],
                certificate_serial=facts["serial"],
                certificate_sha256=facts["sha256"],
                test_certificate=is_test,
                signed_at=when,
                revision_sha256=hashlib.sha256(data).hexdigest(),
            )
        )
    return data, applied
