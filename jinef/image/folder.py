"""The read image on disk: a versioned folder of flat arrays, published atomically, opened memory-mapped.

Layout of an image root (``var/registry.image`` beside ``var/registry.sqlite``)::

    current -> 5f0c…/            a symlink, replaced atomically to publish a new image
    5f0c…/manifest.json          format, version, registry generation, counts, every array's dtype and shape
    5f0c…/<name>.npy             one array per file (numpy's own format: memory-mappable, no pickle)

The writer fills a hidden staging folder, fsyncs it and renames it to its generation; publishing swaps the
``current`` link. A reader opens every array of one generation at once (memory maps stay valid even if the
folder is deleted later), so it never mixes two generations and never sees a half-written one.
"""

from __future__ import annotations

import json
import mmap
import os
import shutil
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from jinef.common.messages import Message, message
from jinef.common.processes import process_alive
from jinef.image.strings import StringTable, pack_strings
from jinef.text.rules import text_rules_fingerprint

FORMAT = "jinef-read-image"
FORMAT_VERSION = 3  # 2: units and buildings as records, the reverse grid sorted by sub-cell; 3: bare streets placed
MANIFEST = "manifest.json"
CURRENT = "current"
_STAGING = ".staging-"


class ImageError(Exception):
    """No usable read image at a location (missing, unfinished or of another format version); ``text`` says why
    in either language, ``str()`` in English."""

    def __init__(self, text: Message) -> None:
        super().__init__(text.text("en"))
        self.text = text


class ImageMissingError(ImageError):
    """No read image at all at ``path`` (never compiled): the usual first error, so adapters name it in kind."""

    def __init__(self, path: Path) -> None:
        super().__init__(message("image.missing", path=str(path)))
        self.path = path


def new_generation() -> str:
    """A fresh generation id: sortable by time, unique across machines."""
    return f"{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{uuid.uuid4().hex[:12]}"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ImageWriter:
    """Fills one generation of an image in a staging folder; :meth:`finish` makes it a complete generation."""

    def __init__(self, root: Path, generation: str) -> None:
        self.root = Path(root)
        self.generation = generation
        self.root.mkdir(parents=True, exist_ok=True)
        _remove_abandoned(self.root)
        self.staging = self.root / f"{_STAGING}{generation}-{os.getpid()}"
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging.mkdir()
        self.arrays: dict[str, dict[str, Any]] = {}

    def array(self, name: str, values: np.ndarray) -> None:
        """Store one array under ``name`` (``/`` makes subfolders)."""
        if name in self.arrays:
            raise ValueError(f"array {name!r} written twice")
        arr = np.asarray(values)
        if not arr.flags.c_contiguous:
            arr = np.ascontiguousarray(arr)
        if arr.dtype.hasobject:
            raise TypeError(f"array {name!r} holds Python objects: store text with strings()")
        path = self.staging / f"{name}.npy"
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("wb") as fh:
            np.save(fh, arr, allow_pickle=False)
        self.arrays[name] = {"dtype": arr.dtype.str if arr.dtype.names is None else arr.dtype.descr,
                             "shape": list(arr.shape)}

    def strings(self, name: str, values: Iterable[str]) -> None:
        """Store text as a packed string table (``name.blob`` and ``name.offsets``)."""
        blob, offsets = pack_strings(values)
        self.array(f"{name}.blob", blob)
        self.array(f"{name}.offsets", offsets)

    def finish(self, meta: Mapping[str, Any]) -> Path:
        """Write the manifest, sync everything and rename the staging folder to the generation's folder."""
        manifest = {"format": FORMAT, "format_version": FORMAT_VERSION, "generation": self.generation,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **meta,
                    "arrays": self.arrays}
        (self.staging / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        for path in sorted(self.staging.rglob("*"), reverse=True):
            if path.is_file():
                fd = os.open(path, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            else:
                _fsync_dir(path)
        _fsync_dir(self.staging)
        final = self.root / self.generation
        if final.exists():
            shutil.rmtree(final)
        os.replace(self.staging, final)
        _fsync_dir(self.root)
        return final

    def abort(self) -> None:
        """Remove the unfinished generation."""
        shutil.rmtree(self.staging, ignore_errors=True)


def publish(root: Path, generation: str, keep: int = 2) -> None:
    """Make ``generation`` the current image of ``root`` (one atomic rename), then drop older generations.

    The ``keep`` most recent generations stay, so a worker still switching over can finish opening its image.
    """
    root = Path(root)
    if not (root / generation / MANIFEST).is_file():
        raise ImageError(message("image.no_generation", generation=generation, root=str(root)))
    link = root / f".{CURRENT}.{os.getpid()}"
    link.unlink(missing_ok=True)
    os.symlink(generation, link)
    os.replace(link, root / CURRENT)
    _fsync_dir(root)
    finished = sorted((p for p in root.iterdir() if p.is_dir() and not p.is_symlink()
                       and not p.name.startswith(".") and (p / MANIFEST).is_file()),
                      key=lambda p: p.stat().st_mtime, reverse=True)
    kept = {generation, *(p.name for p in finished[:keep])}
    for p in finished:
        if p.name not in kept:
            shutil.rmtree(p, ignore_errors=True)


def current_generation(root: Path) -> str | None:
    """The generation ``root/current`` points at, None when there is no published image."""
    try:
        return os.readlink(Path(root) / CURRENT)
    except OSError:
        return None


def _remove_abandoned(root: Path) -> None:
    """Staging folders of writers that died (their process is gone)."""
    for p in root.glob(f"{_STAGING}*"):
        pid = p.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(p, ignore_errors=True)


@dataclass
class ReadImage:
    """One generation of a read image, every array memory-mapped read-only."""

    path: Path
    manifest: dict[str, Any]
    arrays: dict[str, np.ndarray] = field(repr=False)

    @classmethod
    def open(cls, location: str | os.PathLike[str]) -> ReadImage:
        """The current generation of an image root, or one generation's folder."""
        path = Path(location)
        if not (path / MANIFEST).is_file():
            target = current_generation(path)
            if target is None:
                raise ImageMissingError(path)
            path = path / target
        try:
            manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ImageError(message("image.no_manifest", path=str(path), detail=str(exc))) from exc
        if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
            raise ImageError(message("image.other_format", path=str(path), format=FORMAT, version=FORMAT_VERSION,
                                     found=f"{manifest.get('format')} {manifest.get('format_version')}"))
        if manifest.get("text_rules") != text_rules_fingerprint():
            raise ImageError(message("image.other_text_rules", path=str(path)))
        arrays = {}
        for name in manifest["arrays"]:
            # Opened all at once: a later cleanup of this generation cannot leave an array unopened.
            file = path / f"{name}.npy"
            try:
                # A plain ndarray over the map: np.memmap's Python-level slicing costs microseconds per slice.
                arrays[name] = np.load(file, mmap_mode="r", allow_pickle=False).view(np.ndarray)
            except ValueError:  # an empty array cannot be mapped: it costs nothing to read
                arrays[name] = np.load(file, allow_pickle=False)
        return cls(path, manifest, arrays)

    @property
    def generation(self) -> str:
        """The generation id (changes with every compile)."""
        return str(self.manifest["generation"])

    def array(self, name: str) -> np.ndarray:
        """An array by name (memory-mapped, read-only)."""
        try:
            return self.arrays[name]
        except KeyError:
            raise ImageError(message("image.no_array", path=str(self.path), name=name)) from None

    def field(self, table: str, name: str) -> np.ndarray:
        """One field of a table stored as records (``<table>/rows``): a strided view, nothing copied."""
        return self.array(f"{table}/rows")[name]

    def strings(self, name: str) -> StringTable:
        """A string table by name."""
        return StringTable(self.array(f"{name}.blob"), self.array(f"{name}.offsets"))

    def has(self, name: str) -> bool:
        """Whether the image holds an array (or string table) by that name."""
        return name in self.arrays or f"{name}.blob" in self.arrays

    def advise_willneed(self) -> None:
        """Ask the kernel to read every file of the image into the page cache now (in the background)."""
        for name in self.arrays:
            try:
                fd = os.open(self.path / f"{name}.npy", os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
            finally:
                os.close(fd)

    def fault_in(self) -> None:
        """Touch one byte of every page of every mapped array, so this process's page tables hold them all.

        Without it each page costs a fault on its first read by this process: at 30M units the first tens of
        thousands of random lookups ran at two thirds of the speed of the ones after them. Reads from the disk
        if the page cache is cold (about 3 GB at 30M units); shared pages count once in the machine's memory.
        """
        page = mmap.PAGESIZE
        for a in self.arrays.values():
            if a.nbytes and a.flags.c_contiguous:  # every array the compiler writes is
                a.reshape(-1).view(np.uint8)[::page].max()

    @property
    def nbytes(self) -> int:
        """Bytes of every array (the image's size on disk, less headers and the manifest)."""
        return int(sum(a.nbytes for a in self.arrays.values()))
