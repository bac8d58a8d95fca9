"""The blob store: scanned materials on disk, content-addressed by SHA-256.

A blob is the file `<root>/<sha[:2]>/<sha>`. Writing one streams the bytes into a temporary
file in the store (`<root>/tmp/…`, the same file system), hashing as it goes; the file is
fsynced, then renamed under its hash and the directory fsynced. A crash at any moment
leaves either no blob or a whole one (a leftover temporary file is never a blob, and
`tongban files gc` sweeps it). The same bytes uploaded twice are stored once.

Nothing here derives a path from a name a person gave: only from a hash this code computed.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self

CHUNK = 1 << 20
_SHA = re.compile(r"[0-9a-f]{64}")
TMP = "tmp"


class TooLarge(Exception):
    """More bytes than the store was asked to accept."""


def is_sha256(value: str) -> bool:
    return bool(_SHA.fullmatch(value))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass
class Staged:
    """Bytes written to a temporary file and hashed, not yet a blob: `keep()` makes them
    one, leaving the block without it throws them away."""

    store: BlobStore
    temp: Path
    sha256: str
    size: int
    kept: bool = False

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.kept:
            self.temp.unlink(missing_ok=True)

    def keep(self) -> str:
        """Move the bytes under their hash (or drop them when that blob exists) and return
        the hash. An existing blob's time is refreshed, so that `gc` does not take it
        away from under an upload about to reference it."""
        final = self.store.path(self.sha256)
        if final.exists():
            self.temp.unlink(missing_ok=True)
            os.utime(final)
        else:
            final.parent.mkdir(mode=0o700, exist_ok=True)
            os.replace(self.temp, final)
            _fsync_dir(final.parent)
        self.kept = True
        return self.sha256


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        (self.root / TMP).mkdir(mode=0o700, exist_ok=True)

    def path(self, sha256: str) -> Path:
        if not is_sha256(sha256):
            raise ValueError(f"not a SHA-256: {sha256[:80]!r}")
        return self.root / sha256[:2] / sha256

    def stage(
        self,
        stream: BinaryIO,
        *,
        max_bytes: int | None = None,
        before_sync: Callable[[], None] | None = None,
    ) -> Staged:
        """Stream `stream` into a temporary file of the store, hashing it; TooLarge (and
        nothing left behind) past `max_bytes`."""
        temp = self.root / TMP / f"{secrets.token_hex(16)}.part"
        digest = hashlib.sha256()
        size = 0
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb", closefd=True) as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise TooLarge()
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                if before_sync is not None:
                    before_sync()
                os.fdatasync(out.fileno())  # data and the size needed to read it
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return Staged(self, temp, digest.hexdigest(), size)

    def put(self, stream: BinaryIO, *, max_bytes: int | None = None) -> tuple[str, int]:
        """Store `stream`; its SHA-256 and size."""
        with self.stage(stream, max_bytes=max_bytes) as staged:
            return staged.keep(), staged.size

    def open(self, sha256: str) -> BinaryIO:
        return self.path(sha256).open("rb")

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def delete(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)

    def iterate(self) -> Iterator[str]:
        """The hash of every blob present (names that are not hashes are left alone)."""
        for shard in sorted(self.root.iterdir()):
            if shard.name == TMP or not shard.is_dir() or len(shard.name) != 2:
                continue
            for blob in sorted(shard.iterdir()):
                if is_sha256(blob.name) and blob.name[:2] == shard.name:
                    yield blob.name

    def age_seconds(self, sha256: str, now: float | None = None) -> float:
        return (now if now is not None else time.time()) - self.path(sha256).stat().st_mtime

    def temporaries(self) -> Iterator[Path]:
        """Temporary files left by writes that never finished (a crash, a kill)."""
        yield from sorted((self.root / TMP).glob("*.part"))

    def rehash(self, sha256: str) -> str:
        digest = hashlib.sha256()
        with self.open(sha256) as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
        return digest.hexdigest()
