"""Small real files of every kind a clerk may upload, and hostile ones."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from PIL import Image
from pypdf import PdfReader, PdfWriter
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas


def pdf_bytes(text: str = "scan", pages: int = 1) -> bytes:
    """A real PDF of `pages` A4 pages (reportlab), each with a line of text."""
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    for n in range(pages):
        c.setFont("Helvetica", 28)
        c.drawString(72, 720, f"{text} page {n + 1}")
        c.rect(60, 600, 400, 80)
        c.showPage()
    c.save()
    return out.getvalue()


def encrypted_pdf_bytes() -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes("secret"))))
    writer.encrypt(user_password="1234", owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def jpeg_bytes(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), colour).save(out, format="JPEG")
    return out.getvalue()


def png_bytes(width: int = 4, height: int = 3) -> bytes:
    """A valid PNG made by hand (signature, IHDR, IDAT, IEND)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    raw = b"".join(b"\x00" + b"\x10\x80\xf0" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def ofd_bytes() -> bytes:
    """A minimal OFD package: a zip with OFD.xml at its root naming one document."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(
            "OFD.xml",
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0">'
            "<ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>",
        )
        z.writestr("Doc_0/Document.xml", "<ofd:Document/>")
    return out.getvalue()


def plain_zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("readme.txt", "not an OFD")
    return out.getvalue()


# An ELF header: an executable whatever its name says.
EXECUTABLE = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 56 + b"\x90" * 200
