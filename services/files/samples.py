"""Files the demo and the benchmarks upload: real PDFs and PNGs made without a library,
each distinct, of the size asked for."""

from __future__ import annotations

import os
import struct
import uuid
import zlib


def pdf_of_size(size: int, label: str = "scan") -> bytes:
    """A one-page PDF of about `size` bytes: its page draws `label`, and an unused stream
    of random bytes (an embedded scan's weight) brings it to the size."""
    text = f"BT /F1 24 Tf 72 720 Td ({label}) Tj ET".encode("latin-1", "replace")
    filler = max(0, size - 700)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % filler + os.urandom(filler) + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /ID [<%s><%s>] >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        uuid.uuid4().hex.encode(),
        uuid.uuid4().hex.encode(),
        xref,
    )
    return bytes(out)


def png(width: int = 8, height: int = 8, seed: int = 0) -> bytes:
    """A valid RGB PNG, its colour varying with `seed` (so each is a distinct file)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    pixel = bytes(((seed * 37) % 256, (seed * 91) % 256, (seed * 13) % 256))
    raw = b"".join(b"\x00" + pixel * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def multipart(fields: dict[str, str], name: str, data: bytes, media_type: str) -> tuple[bytes, str]:
    """A multipart/form-data body with text `fields` and one file; the body and its
    Content-Type."""
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in fields.items()
    ]
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        f"Content-Type: {media_type}\r\n\r\n"
    ).encode()
    body = b"".join(parts) + head + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"
