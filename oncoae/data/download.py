"""Downloads that never leave a truncated file behind, with checksums, a manifest and a shared cache.

Bytes stream to a temporary file next to the target and are renamed only once complete (and, where a checksum
is configured, verified). Each cached file has a ``<file>.manifest.json`` beside it with URL, size, sha256 and
time; a file with a manifest is taken from the cache without touching the network, so re-runs work offline.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from oncoae.atomic import give_umask_permissions

log = logging.getLogger(__name__)

USER_AGENT = "oncoae (+https://pypi.org/project/oncoae/)"


class DownloadError(RuntimeError):
    """A download that failed for good; the message names the URL (and the file)."""


@dataclass
class RetryPolicy:
    attempts: int = 4
    backoff_seconds: float = 1.0  # doubles after each failed attempt
    timeout_seconds: float = 60.0


def check_url_allowed(url: str) -> None:
    """HTTPS only; plain HTTP and file:// only for loopback / local files (tests, mirrors on this machine)."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "https" or parsed.scheme == "file":
        return
    if parsed.scheme == "http":
        host = parsed.hostname or ""
        try:
            if host == "localhost" or ipaddress.ip_address(host).is_loopback:
                return
        except ValueError:
            pass
    raise DownloadError(f"{url}: only https:// URLs are downloaded (http:// only from localhost/127.0.0.1)")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def manifest_path(path: Path) -> Path:
    return path.with_name(path.name + ".manifest.json")


def _fetch_once(url: str, temporary: Path, timeout: float) -> int:
    """Stream ``url`` into ``temporary``; raise on a short body. Returns the byte count."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    with urllib.request.urlopen(request, timeout=timeout) as response, open(temporary, "wb") as handle:
        expected = response.headers.get("Content-Length")
        received = 0
        while block := response.read(1 << 20):
            handle.write(block)
            received += len(block)
    if expected is not None and received != int(expected):
        raise ConnectionError(f"connection closed after {received} of {expected} bytes")
    return received


def download(url: str, destination: str | Path, sha256: str | None = None, policy: RetryPolicy | None = None) -> Path:
    """Fetch ``url`` to ``destination`` (cached); verify ``sha256`` when given. Returns the path."""
    policy = policy or RetryPolicy()
    destination = Path(destination)
    manifest = manifest_path(destination)
    if destination.exists() and manifest.exists():
        recorded = json.loads(manifest.read_text())
        if recorded.get("url") == url and (sha256 is None or recorded.get("sha256") == sha256):
            log.info("cached: %s (%s)", destination, url)
            return destination
    check_url_allowed(url)
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        delay = policy.backoff_seconds
        for attempt in range(1, policy.attempts + 1):
            try:
                size = _fetch_once(url, temporary, policy.timeout_seconds)
                break
            except urllib.error.HTTPError as error:
                if error.code < 500 and error.code != 429:
                    raise DownloadError(f"{url}: HTTP {error.code} {error.reason}") from error
                problem = f"HTTP {error.code}"
            except (urllib.error.URLError, ConnectionError, TimeoutError, OSError) as error:
                problem = f"{type(error).__name__}: {error}"
            if attempt == policy.attempts:
                raise DownloadError(f"{url}: failed after {attempt} attempts ({problem})")
            log.warning("%s: attempt %d failed (%s); retrying in %.1f s", url, attempt, problem, delay)
            time.sleep(delay)
            delay *= 2
        digest = sha256_file(temporary)
        if sha256 is not None and digest != sha256.lower():
            raise DownloadError(
                f"{destination.name} from {url}: sha256 {digest} does not match the expected "
                f"{sha256}; the file was not kept"
            )
        give_umask_permissions(temporary)  # mkstemp made it 0600; a shared cache must be readable by the lab
        os.replace(temporary, destination)
        record = {
            "url": url,
            "file": destination.name,
            "bytes": size,
            "sha256": digest,
            "downloaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        manifest.write_text(json.dumps(record, indent=1) + "\n")
        log.info("downloaded %s (%d bytes, sha256 %s)", url, size, digest)
        return destination
    finally:
        if temporary.exists():
            temporary.unlink()


def download_first_available(
    urls: list[str], destination: str | Path, sha256: str | None = None, policy: RetryPolicy | None = None
) -> Path:
    """Try each URL in turn (e.g. a Xena dataset with and without '.gz'); 404s move on to the next."""
    errors = []
    for url in urls:
        try:
            return download(url, destination, sha256, policy)
        except DownloadError as error:
            if "HTTP 404" not in str(error):
                raise
            errors.append(str(error))
    raise DownloadError("; ".join(errors))


def extract_tarball(archive: str | Path, destination: str | Path) -> Path:
    """Extract safely: no absolute paths, no '..', no links leaving the folder, no device files.

    Extraction goes to a temporary folder renamed on success, so a refused archive leaves nothing behind.
    """
    archive, destination = Path(archive), Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                parts = Path(member.name).parts
                if member.name.startswith(("/", "\\")) or ".." in parts:
                    raise DownloadError(f"{archive}: refusing unsafe member {member.name!r} (path leaves the folder)")
            try:
                tar.extractall(staging, filter="data")
            except tarfile.FilterError as error:
                raise DownloadError(f"{archive}: refusing unsafe member ({error})") from error
        if destination.exists():
            shutil.rmtree(destination)
        os.replace(staging, destination)
        return destination
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
