"""Downloads against a real HTTP server on 127.0.0.1 (no internet)."""

from __future__ import annotations

import hashlib
import json
import os
import stat

import pytest

from oncoae.data.download import DownloadError, RetryPolicy, download, download_first_available, extract_tarball

from .public_fixtures import FixtureServer, cbioportal_tarball

FAST = RetryPolicy(attempts=3, backoff_seconds=0.01, timeout_seconds=5)
BODY = b"gene\tS1\tS2\n" * 5000


@pytest.fixture
def server():
    instance = FixtureServer(
        {"/data.tsv": BODY, "/study.tar.gz": cbioportal_tarball(), "/evil.tar.gz": cbioportal_tarball(evil=True)}
    )
    yield instance
    instance.stop()


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_good_download_writes_file_and_manifest(server, tmp_path):
    target = download(f"{server.url}/data.tsv", tmp_path / "data.tsv", hashlib.sha256(BODY).hexdigest(), FAST)
    assert target.read_bytes() == BODY
    manifest = json.loads((tmp_path / "data.tsv.manifest.json").read_text())
    assert manifest["url"] == f"{server.url}/data.tsv"
    assert manifest["bytes"] == len(BODY) and manifest["sha256"] == hashlib.sha256(BODY).hexdigest()
    assert manifest["downloaded_at"].endswith("Z")
    assert _leftovers(tmp_path) == ["data.tsv", "data.tsv.manifest.json"]


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_downloaded_files_get_the_umask_permissions(server, tmp_path, umask):
    """A shared resources/ cache must be readable by the lab, as any other tool's downloads are."""
    previous = os.umask(umask)
    try:
        target = download(f"{server.url}/data.tsv", tmp_path / "data.tsv", policy=FAST)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert stat.S_IMODE((tmp_path / "data.tsv.manifest.json").stat().st_mode) == 0o666 & ~umask


def test_checksum_mismatch_is_an_error_naming_the_file_and_leaves_nothing(server, tmp_path):
    with pytest.raises(DownloadError, match=r"data\.tsv from .*sha256 .* does not match"):
        download(f"{server.url}/data.tsv", tmp_path / "data.tsv", "0" * 64, FAST)
    assert _leftovers(tmp_path) == []


def test_connection_closed_mid_body_is_retried_and_never_leaves_a_truncated_file(server, tmp_path):
    server.truncate["/data.tsv"] = 2
    target = download(f"{server.url}/data.tsv", tmp_path / "data.tsv", policy=FAST)
    assert target.read_bytes() == BODY
    assert server.requests["/data.tsv"] == 3


def test_persistent_truncation_fails_cleanly(server, tmp_path):
    server.truncate["/data.tsv"] = 10
    with pytest.raises(DownloadError, match=r"failed after 3 attempts"):
        download(f"{server.url}/data.tsv", tmp_path / "data.tsv", policy=FAST)
    assert _leftovers(tmp_path) == []


def test_404_names_the_url(server, tmp_path):
    url = f"{server.url}/missing.tsv"
    with pytest.raises(DownloadError, match=rf"{url}: HTTP 404"):
        download(url, tmp_path / "missing.tsv", policy=FAST)
    assert server.requests["/missing.tsv"] == 1  # a 404 is final: no retries
    assert _leftovers(tmp_path) == []


def test_first_available_falls_back_to_the_gz_name(server, tmp_path):
    target = download_first_available([f"{server.url}/data", f"{server.url}/data.tsv"], tmp_path / "d", None, FAST)
    assert target.read_bytes() == BODY


def test_cached_rerun_works_with_the_server_stopped(server, tmp_path):
    url = f"{server.url}/data.tsv"
    download(url, tmp_path / "data.tsv", policy=FAST)
    server.stop()
    assert download(url, tmp_path / "data.tsv", policy=FAST).read_bytes() == BODY


def test_plain_http_is_refused_beyond_loopback(tmp_path):
    with pytest.raises(DownloadError, match="only https"):
        download("http://example.org/data.tsv", tmp_path / "x", policy=FAST)


def test_tarball_with_parent_member_is_refused(server, tmp_path):
    archive = download(f"{server.url}/evil.tar.gz", tmp_path / "evil.tar.gz", policy=FAST)
    with pytest.raises(DownloadError, match=r"refusing unsafe member '\.\./escaped\.txt'"):
        extract_tarball(archive, tmp_path / "study")
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "study").exists()


def test_tarball_extracts_the_study(server, tmp_path):
    archive = download(f"{server.url}/study.tar.gz", tmp_path / "study.tar.gz", policy=FAST)
    folder = extract_tarball(archive, tmp_path / "study")
    assert (folder / "brca_tcga_pan_can_atlas_2018" / "data_clinical_patient.txt").exists()
