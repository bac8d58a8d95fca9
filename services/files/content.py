"""What an uploaded file is, by its content: PDF, JPEG, PNG or OFD (GB/T 33190, a zip
package with `OFD.xml` at its root). The name only has to agree with the content; it never
decides it. An encrypted PDF is refused: the home reviewer could not open it.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from ..core.errors import InvalidInput, UnsupportedFile

MAX_NAME_CHARS = 255


@dataclass(frozen=True)
class Kind:
    key: str
    label: str
    media_type: str
    extensions: tuple[str, ...]
    inline: bool  # shown in the workbench page (else offered as a download)


PDF = Kind("pdf", "PDF", "application/pdf", (".pdf",), True)
JPEG = Kind("jpeg", "JPEG 图片", "image/jpeg", (".jpg", ".jpeg", ".jpe"), True)
PNG = Kind("png", "PNG 图片", "image/png", (".png",), True)
OFD = Kind("ofd", "OFD 版式文件", "application/ofd", (".ofd",), False)
KINDS = (PDF, JPEG, PNG, OFD)
KIND_OF_MEDIA = {k.media_type: k for k in KINDS}
_BY_EXTENSION = {ext: k for k in KINDS for ext in k.extensions}
ACCEPTED = "PDF、JPEG、PNG 或 OFD"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Examined:
    kind: Kind
    pages: int | None = None


def _short(name: str) -> str:
    return name if len(name) <= 40 else name[:39] + "…"


def clean_name(given: str | None) -> str:
    """The name to record: the last part of whatever path was given (either slash), no
    control characters; 422 when it is longer than a file system allows."""
    raw = _CONTROL.sub("", unicodedata.normalize("NFC", given or ""))
    base = re.split(r"[/\\]", raw)[-1].strip()
    if base in ("", ".", ".."):
        base = "未命名"
    if len(base) > MAX_NAME_CHARS:
        raise InvalidInput(
            f"文件名：文件「{_short(base)}」的名称过长（{len(base)} 个字符，最多 "
            f"{MAX_NAME_CHARS} 个），请改短后重新上传。",
            code="file.name_too_long",
            field="file",
        )
    return base


def _sniff(path: Path, name: str) -> Kind:
    with path.open("rb") as f:
        head = f.read(8)
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(path) as z:
                names = z.namelist()
        except (zipfile.BadZipFile, OSError, ValueError):
            names = []
        if "OFD.xml" in names:
            return OFD
        raise UnsupportedFile(
            f"文件「{_short(name)}」是压缩包而不是 OFD 文件（包内没有 OFD.xml）。"
            f"请上传{ACCEPTED}格式的扫描件。",
            code="file.not_ofd",
            field="file",
        )
    raise UnsupportedFile(
        f"文件「{_short(name)}」不是可接受的文件类型。请上传{ACCEPTED}格式的扫描件。",
        field="file",
    )


def _pdf_pages(path: Path, name: str) -> int:
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise UnsupportedFile(
                f"文件「{_short(name)}」是加密的 PDF，办理地无法打开。请上传未加密的扫描件。",
                code="file.encrypted",
                field="file",
            )
        return len(reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, OSError):
        raise UnsupportedFile(
            f"文件「{_short(name)}」不是完整的 PDF（无法读取页面）。请重新扫描后上传。",
            code="file.damaged",
            field="file",
        ) from None


def examine(path: Path, name: str) -> Examined:
    """What the bytes at `path` are, checked against the extension of `name`; 415
    (UnsupportedFile, naming the file) when they are none of the accepted kinds, an
    encrypted or unreadable PDF, or another kind than the name says."""
    kind = _sniff(path, name)
    suffix = PurePosixPath(name).suffix.lower()
    if suffix:
        named = _BY_EXTENSION.get(suffix)
        if named is None:
            raise UnsupportedFile(
                f"文件「{_short(name)}」的扩展名 {suffix[:16]} 不可接受。"
                f"请上传{ACCEPTED}格式的扫描件。",
                field="file",
            )
        if named is not kind:
            raise UnsupportedFile(
                f"文件「{_short(name)}」的内容是{kind.label}，与扩展名 {suffix} 不符。"
                "请核对文件后重新上传。",
                code="file.mismatch",
                field="file",
            )
    pages = _pdf_pages(path, name) if kind is PDF else None
    return Examined(kind, pages)
