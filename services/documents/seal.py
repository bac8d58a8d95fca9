"""The document seal (电子印章): PAdES signatures through pyHanko, under the deployment's
seal certificate (TONGBAN_SEAL_P12 and TONGBAN_SEAL_PASSWORD), or the self-signed demo seal
`tongban init` creates beside the audit key when none is configured.

The signing time is the time of the event the document renders (pyHanko takes it from the
signing session), so the signed bytes too are the same for the same case: RSA PKCS#1 v1.5
signatures are deterministic.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from ..core.config import Settings
from ..core.errors import ConfigurationError

DEMO_SEAL_NAME = "tongban 演示电子印章（非正式用章）"
FIELD = "Seal"


@dataclass(frozen=True)
class Seal:
    signer: signers.SimpleSigner
    subject: str  # who seals: the certificate's subject, as people read it
    certificate_der: bytes


def seal_path(settings: Settings) -> Path:
    """The PKCS#12 file in force: TONGBAN_SEAL_P12, else the demo seal beside the audit key."""
    return settings.seal_p12 or settings.audit_key_file.with_name("tongban-seal.p12")


def _password(settings: Settings) -> bytes | None:
    secret = settings.seal_password
    return secret.get_secret_value().encode() if secret is not None else None


def load_seal(settings: Settings) -> Seal:
    path = seal_path(settings)
    if not path.exists():
        raise ConfigurationError(
            f"未配置电子印章：请设置 TONGBAN_SEAL_P12 和 TONGBAN_SEAL_PASSWORD，或运行 "
            f"`tongban init` 生成演示印章 {path}。",
            code="config.seal_missing",
        )
    data = path.read_bytes()
    try:
        _key, cert, _others = pkcs12.load_key_and_certificates(data, _password(settings))
        signer = signers.SimpleSigner.load_pkcs12_data(data, (), _password(settings))
    except ValueError:
        raise ConfigurationError(
            f"{path}：无法读取电子印章证书（PKCS#12），请核对文件和 TONGBAN_SEAL_PASSWORD。",
            code="config.seal_invalid",
        ) from None
    if cert is None:
        raise ConfigurationError(f"{path}：PKCS#12 文件中没有证书。", code="config.seal_invalid")
    return Seal(signer, _subject(cert), cert.public_bytes(serialization.Encoding.DER))


def _subject(cert: x509.Certificate) -> str:
    def first(oid: x509.ObjectIdentifier) -> str:
        found = cert.subject.get_attributes_for_oid(oid)
        return str(found[0].value) if found else ""

    names = [first(NameOID.ORGANIZATION_NAME), first(NameOID.COMMON_NAME)]
    return "，".join(n for n in names if n) or cert.subject.rfc4514_string()


def make_demo_p12(name: str = DEMO_SEAL_NAME, password: bytes | None = None) -> bytes:
    """A self-signed seal certificate (RSA 2048, valid 2000–2100) as PKCS#12."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "tongban 通办（演示）"),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2000, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2100, 1, 1, tzinfo=UTC))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(b"tongban-seal", key, cert, None, encryption)


def ensure_seal(settings: Settings) -> Path | None:
    """Create the demo seal (0600) when no seal is configured; the path when it was made."""
    path = seal_path(settings)
    if settings.seal_p12 is not None or path.exists():
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    data = make_demo_p12(password=_password(settings))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return path


class _SignerAt(signers.PdfSigner):
    """pyHanko takes the signing time from the clock; this signer takes the event's."""

    def __init__(self, at: datetime, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._at = at

    def init_signing_session(self, pdf_out: Any, existing_fields_only: bool = False) -> Any:
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self._at
        return session


def seal_pdf(seal: Seal, pdf: bytes, *, at: datetime, reason: str, location: str) -> bytes:
    """`pdf` with a PAdES signature (an incremental update) made at `at`."""
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        name=seal.subject,
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    out = _SignerAt(at.astimezone(UTC), meta, signer=seal.signer).sign_pdf(writer)
    return bytes(out.getvalue())


@contextmanager
def _quiet() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in ("pyhanko", "pyhanko_certvalidator")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@dataclass(frozen=True)
class Verification:
    sealed: bool  # the file carries a seal at all
    sealed_by: str
    sealed_at: datetime | None
    intact: bool  # the sealed bytes are unchanged and the signature is sound
    covers_whole_file: bool  # nothing was appended after sealing
    ours: bool  # sealed with this deployment's seal certificate
    problem: str

    @property
    def ok(self) -> bool:
        return self.sealed and self.intact and self.covers_whole_file


def verify_pdf(data: bytes, seal: Seal | None = None) -> Verification:
    """Who sealed `data`, when, and whether its bytes are intact."""
    try:
        reader = PdfFileReader(io.BytesIO(data), strict=False)
        sigs = reader.embedded_signatures
    except Exception as err:  # a damaged file: pyHanko raises many kinds
        return Verification(False, "", None, False, False, False, f"无法解析PDF：{err}")
    if not sigs:
        return Verification(False, "", None, False, False, False, "文件没有电子印章（未签名）。")
    sig = sigs[-1]
    roots = [asn1_x509.Certificate.load(seal.certificate_der)] if seal else []
    try:
        with _quiet():  # pyHanko logs a traceback for every certificate it cannot trust
            status = validate_pdf_signature(
                sig, ValidationContext(trust_roots=roots), skip_diff=True
            )
    except Exception as err:
        return Verification(True, "", None, False, False, False, f"印章无法校验：{err}")
    cert = status.signing_cert
    by = ""
    if cert is not None:
        parsed = x509.load_der_x509_certificate(cert.dump())
        by = _subject(parsed)
    ours = bool(seal and cert is not None and cert.dump() == seal.certificate_der)
    whole = status.coverage is not None and status.coverage.name == "ENTIRE_FILE"
    intact = bool(status.intact and status.valid)
    problem = "" if intact else "签名所覆盖的内容已被改动，或签名值无效。"
    if intact and not whole:
        problem = "签名之后文件又被追加了内容。"
    return Verification(True, by, status.signer_reported_dt, intact, whole, ours, problem)
