"""Fetch one file over HTTP: resumable, verified, and moved into place atomically.

The bytes go to ``<dest>.part``. A second call after an interrupted one asks
the server only for the missing tail (an HTTP ``Range: bytes=N-`` request);
a server that ignores the range sends the whole file and the part is
rewritten from the start. When the file is complete its digest is checked:
a mismatch deletes the part (it cannot be repaired by resuming) and raises;
a match renames it to ``dest`` in one step. A file found at ``dest`` (put
there by hand, as the offline message suggests) is checked the same way
before it is used, once: a ``.<name>.verified`` marker remembers the check
until the file changes.

Example (a file served from a local folder stands in for a server):
    >>> import hashlib, tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> (d / "src.bin").write_bytes(b"hello")
    5
    >>> digest = hashlib.sha256(b"hello").hexdigest()
    >>> fetch((d / "src.bin").as_uri(), d / "out.bin", sha256=digest).read_bytes()
    b'hello'
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from deepdojo.errors import DataError

CHUNK = 1 << 20  # 1 MiB per read: few syscalls, little memory


class DownloadError(DataError):
    """A download that could not be completed or verified (exit code 2 in the CLI)."""


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest of a file's bytes, streamed."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, algorithm).hexdigest()


def _host(url: str) -> str:
    parts = urlsplit(url)
    return parts.netloc or parts.path


OFFLINE_ALTERNATIVE = "or use a builtin: dataset (e.g. builtin:digits)"


def offline_error(url: str, dest: Path, reason: object, alternative: str = OFFLINE_ALTERNATIVE) -> DownloadError:
    """The one-line error for a server that cannot be reached, with the manual way out."""
    return DownloadError(f"cannot reach {_host(url)}: {reason}; download it elsewhere and put it at {dest}, {alternative}")


def _open(url: str, start: int, timeout: float):
    request = urllib.request.Request(url, headers={"User-Agent": "deepdojo"})
    if start:
        request.add_header("Range", f"bytes={start}-")
    return urllib.request.urlopen(request, timeout=timeout)


def _receive(url: str, part: Path, timeout: float, log) -> None:
    """Append the missing bytes of ``url`` to ``part`` (rewrite it when the server ignores Range)."""
    start = part.stat().st_size if part.exists() else 0
    try:
        response = _open(url, start, timeout)
    except urllib.error.HTTPError as e:
        if e.code == 416 and start:  # nothing left to send: the part is already whole
            return
        raise DownloadError(f"the server answered HTTP {e.code} {e.reason}", where=url,
                            fix="check the URL, or try again later") from None
    with response:
        resumed = start and response.status == 206
        if start and not resumed:
            log(f"{_host(url)} ignored the resume request; downloading {part.name} from the start")
        with open(part, "ab" if resumed else "wb") as out:
            while chunk := response.read(CHUNK):
                out.write(chunk)
        # urllib raises IncompleteRead itself only for chunked bodies; check Content-Length here
        expected = response.headers.get("Content-Length")
        got = part.stat().st_size - (start if resumed else 0)
        if expected is not None and got < int(expected):
            raise http.client.IncompleteRead(b"", int(expected) - got)


def _verify(part: Path, dest: Path, sha256: str | None, md5: str | None, size: int | None) -> None:
    """Check size and digest of the finished part; delete it on any mismatch."""
    actual_size = part.stat().st_size
    checks = []
    if size is not None and actual_size != size:
        checks.append(f"size {actual_size} bytes, expected {size}")
    for algorithm, expected in (("sha256", sha256), ("md5", md5)):
        if expected and not checks:
            actual = file_digest(part, algorithm)
            if actual != expected.lower():
                checks.append(f"{algorithm.upper()} {actual}, expected {expected.lower()}")
    if checks:
        part.unlink()
        raise DownloadError(f"corrupt download ({'; '.join(checks)}); deleted it", where=str(dest),
                            fix="run the command again to download it afresh")


def fetch(url: str, dest: str | Path, *, sha256: str | None = None, md5: str | None = None,
          size: int | None = None, retries: int = 3, timeout: float = 30.0, log=None,
          offline_alternative: str = OFFLINE_ALTERNATIVE) -> Path:
    """``url`` saved at ``dest`` (returned at once when ``dest`` exists), resumed and verified.

    ``sha256`` (or ``md5`` where only that is published) and ``size`` are
    checked when given. A connection that breaks mid-way is resumed up to
    ``retries`` times; what arrived stays in ``<dest>.part`` for the next call.
    A server that cannot be reached at all raises :class:`DownloadError` at once,
    saying where to put the file by hand and ``offline_alternative``.
    """
    dest = Path(dest)
    if dest.exists():
        return verified_in_place(dest, url, sha256, md5, size)
    log = log or (lambda msg: print(f"deepdojo: {msg}", file=sys.stderr))
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    log(f"downloading {url} -> {dest}" + (f" (resuming at {have} bytes)" if have else ""))
    for attempt in range(retries + 1):
        try:
            _receive(url, part, timeout, log)
            break
        except (http.client.IncompleteRead, ConnectionResetError, socket.timeout, TimeoutError) as e:
            have = part.stat().st_size if part.exists() else 0
            if attempt == retries:
                raise DownloadError(
                    f"the connection broke after {have} bytes ({type(e).__name__}) {retries + 1} times",
                    where=url, fix=f"run again to resume from {part}") from None
            log(f"connection broke after {have} bytes; resuming")
        except urllib.error.URLError as e:
            if isinstance(e, urllib.error.HTTPError):
                raise
            raise offline_error(url, dest, e.reason, offline_alternative) from None
        except OSError as e:
            if part.exists() and part.stat().st_size:
                raise DownloadError(f"cannot write {part}: {e.strerror or e}", where=url,
                                    fix="free disk space, then run again to resume") from None
            raise offline_error(url, dest, e.strerror or e, offline_alternative) from None
    _verify(part, dest, sha256, md5, size)
    os.replace(part, dest)  # atomic: dest appears only verified and whole
    _remember_verified(dest, sha256, md5, size)
    return dest


def _marker(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.verified")


def _stamp(dest: Path, sha256: str | None, md5: str | None, size: int | None) -> str:
    """What a verification vouched for: the expected digest and the file as it was (size, mtime)."""
    st = dest.stat()
    return json.dumps({"sha256": sha256, "md5": md5, "size": size, "bytes": st.st_size, "mtime_ns": st.st_mtime_ns})


def _remember_verified(dest: Path, sha256: str | None, md5: str | None, size: int | None) -> None:
    from deepdojo.io import atomic_write_bytes

    try:
        atomic_write_bytes(_marker(dest), _stamp(dest, sha256, md5, size).encode())
    except (OSError, DataError):
        pass  # only a cache of the check: without it the next use hashes the file again


def verified_in_place(dest: Path, url: str, sha256: str | None, md5: str | None, size: int | None) -> Path:
    """A file already at ``dest`` (downloaded earlier, or put there by hand as the offline message says)
    is used only when it matches the published size and digest; checked once, then remembered until the
    file changes."""
    marker = _marker(dest)
    try:
        if marker.read_text() == _stamp(dest, sha256, md5, size):
            return dest
    except OSError:
        pass
    actual_size = dest.stat().st_size
    problems = [f"size {actual_size} bytes, expected {size}"] if size is not None and actual_size != size else []
    for algorithm, expected in (("sha256", sha256), ("md5", md5)):
        if expected and not problems:
            actual = file_digest(dest, algorithm)
            if actual != expected.lower():
                problems.append(f"{algorithm.upper()} {actual}, expected {expected.lower()}")
    if problems:
        raise DownloadError(f"this file is not the published one ({'; '.join(problems)})", where=str(dest),
                            fix=f"replace it with {url}, or delete it and run again to download it")
    _remember_verified(dest, sha256, md5, size)
    return dest
