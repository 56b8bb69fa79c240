"""Fetch the Groove MIDI Dataset: download (or take a local copy), verify, extract safely.

The archive is the official MIDI-only zip published by Magenta. Its pinned
size and SHA-256 are those recorded by TensorFlow Datasets
(``tensorflow_datasets/url_checksums/groove.txt``); they were not re-verified
by downloading on the machine where this was written (no internet there), so
``sha256`` can be overridden. Extraction refuses any member that would escape
the destination (absolute paths, ``..``, drive letters, symbolic links) and
caps the total uncompressed size; nothing is written unless every member is safe.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from technorhythm.checksums import sha256_file

__all__ = [
    "GROOVE_URL",
    "GROOVE_SHA256",
    "GROOVE_SIZE",
    "UnsafeArchive",
    "ChecksumMismatch",
    "fetch_groove",
    "safe_extract_zip",
    "sha256_file",
]

GROOVE_URL = "https://storage.googleapis.com/magentadata/datasets/groove/groove-v1.0.0-midionly.zip"
GROOVE_SHA256 = "651cbc524ffb891be1a3e46d89dc82a1cecb09a57c748c7b45b844c4841dcc1e"
GROOVE_SIZE = 3_260_318
MAX_UNCOMPRESSED = 2 * 1024**3


class UnsafeArchive(ValueError):
    """An archive member would escape the destination or the archive is a zip bomb."""


class ChecksumMismatch(ValueError):
    """The archive's SHA-256 differs from the expected one."""


def _check_member(info: zipfile.ZipInfo) -> PurePosixPath:
    name = info.filename.replace("\\", "/")
    path = PurePosixPath(name)
    if name.startswith("/") or path.is_absolute() or (path.parts and ":" in path.parts[0]):
        raise UnsafeArchive(f"archive member {info.filename!r} has an absolute path; refused")
    if ".." in path.parts:
        raise UnsafeArchive(f"archive member {info.filename!r} escapes the destination; refused")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise UnsafeArchive(f"archive member {info.filename!r} is a symbolic link; refused")
    return path


def safe_extract_zip(archive: str | Path, dest: str | Path) -> list[Path]:
    """Extract ``archive`` into ``dest`` after checking every member; returns top-level entries.

    All members are checked before anything is written; extraction goes to a
    temporary folder inside ``dest`` and is moved into place when complete.
    """
    dest = Path(dest)
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as exc:
        raise UnsafeArchive(f"{str(archive)!r} is not a valid zip archive: {exc}") from exc
    with zf:
        members = zf.infolist()
        total = 0
        for info in members:
            _check_member(info)
            total += info.file_size
        if total > MAX_UNCOMPRESSED:
            raise UnsafeArchive(
                f"archive expands to {total:,} bytes, over the {MAX_UNCOMPRESSED:,}-byte cap"
            )
        dest.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest))
        try:
            for info in members:
                rel = _check_member(info)
                target = tmp.joinpath(*rel.parts)
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out)
            tops = sorted(p.name for p in tmp.iterdir())
            placed = []
            for name in tops:
                final = dest / name
                if final.exists():
                    raise FileExistsError(
                        f"{str(final)!r} already exists; remove it or choose another --dest"
                    )
            for name in tops:
                os.replace(tmp / name, dest / name)
                placed.append(dest / name)
            return placed
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _download(url: str, target: Path, progress: bool) -> None:
    import urllib.request

    from tqdm.auto import tqdm

    with urllib.request.urlopen(url, timeout=60) as resp, open(target, "wb") as out:
        total = int(resp.headers.get("Content-Length") or 0) or None
        with tqdm(
            total=total, unit="B", unit_scale=True, desc="download", disable=not progress
        ) as bar:
            for block in iter(lambda: resp.read(1 << 16), b""):
                out.write(block)
                bar.update(len(block))


def _skip_links(folder: str, names: list[str]) -> list[str]:
    """copytree filter: never copy symbolic links (they could point outside)."""
    return [n for n in names if os.path.islink(os.path.join(folder, n))]


def _find_corpus_root(paths: list[Path]) -> Path:
    for p in paths:
        if (p / "info.csv").is_file():
            return p
    for p in paths:
        hits = sorted(p.rglob("info.csv")) if p.is_dir() else []
        if hits:
            return hits[0].parent
    return paths[0] if paths else Path()


def fetch_groove(
    dest: str | Path = "data",
    *,
    source: str | Path | None = None,
    url: str = GROOVE_URL,
    sha256: str | None = GROOVE_SHA256,
    progress: bool = False,
) -> Path:
    """Get the Groove MIDI Dataset into ``dest``; returns the corpus folder (with info.csv).

    Parameters
    ----------
    dest : path
        Destination folder (created).
    source : path, optional
        A local zip (verified and extracted like a download) or an extracted folder
        (copied, regular files only). Without it, ``url`` is downloaded.
    url : str
        Download address.
    sha256 : str or None
        Expected SHA-256 of the zip; ``None`` skips the check (not recommended).
    """
    dest = Path(dest)
    if source is not None and Path(source).is_dir():
        src = Path(source)
        if not any(src.rglob("*.mid")):
            raise ValueError(f"folder {str(src)!r} holds no .mid files")
        final = dest / src.name
        if final.exists():
            raise FileExistsError(
                f"{str(final)!r} already exists; remove it or choose another --dest"
            )
        dest.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".copy-", dir=dest))
        try:
            shutil.copytree(src, tmp / src.name, symlinks=True, ignore=_skip_links)
            os.replace(tmp / src.name, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return _find_corpus_root([final])
    dest.mkdir(parents=True, exist_ok=True)
    downloaded = None
    if source is None:
        fd, name = tempfile.mkstemp(prefix=".groove-", suffix=".zip", dir=dest)
        os.close(fd)
        downloaded = Path(name)
        archive = downloaded
    else:
        archive = Path(source)
        if not archive.is_file():
            raise FileNotFoundError(f"{str(archive)!r} is neither a zip file nor a folder")
    try:
        if downloaded is not None:
            _download(url, downloaded, progress)
        if sha256 is not None:
            actual = sha256_file(archive)
            if actual != sha256.lower():
                raise ChecksumMismatch(
                    f"SHA-256 of {str(archive) if downloaded is None else url} is {actual}, "
                    f"expected {sha256.lower()}; refusing to extract"
                )
        return _find_corpus_root(safe_extract_zip(archive, dest))
    finally:
        if downloaded is not None:
            downloaded.unlink(missing_ok=True)
