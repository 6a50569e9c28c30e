"""Reading and writing the model container."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lookalike.errors import ModelFileError
from lookalike.io._files import write_atomically

FORMAT_VERSION = 1
_MANIFEST = "manifest.json"
_ARRAYS = "arrays.npz"
_MAGIC = "lookalike-model"
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


@dataclass(frozen=True)
class Artifact:
    """What a model file holds: a JSON manifest and named numpy arrays."""

    manifest: dict[str, Any]
    arrays: dict[str, np.ndarray]


def write_artifact(path: str | Path, artifact: Artifact, *, force: bool = False) -> Path:
    """Write ``artifact`` to ``path`` atomically (temporary file in the same folder, then rename)."""
    payload = _npz_bytes(artifact.arrays)
    manifest = {
        **artifact.manifest,
        "format": _MAGIC,
        "format_version": FORMAT_VERSION,
        "arrays_sha256": hashlib.sha256(payload).hexdigest(),
    }
    manifest["manifest_sha256"] = _manifest_digest(manifest)

    def write(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as archive:
            # A fixed date: the same model gives the same bytes, whenever it is saved.
            for name, data in (
                (_MANIFEST, json.dumps(manifest, indent=2, allow_nan=False).encode("utf-8")),
                (_ARRAYS, payload),
            ):
                archive.writestr(zipfile.ZipInfo(name, date_time=_ZIP_DATE), data)

    return write_atomically(path, write, force=force)


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """What ``np.savez_compressed`` writes, with fixed dates: the same arrays, the same bytes."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w", force_zip64=True) as file:
                np.lib.format.write_array(file, np.asanyarray(array), allow_pickle=False)
    return buffer.getvalue()


def read_artifact(path: str | Path) -> Artifact:
    """Read and verify a model file; ModelFileError names what is wrong."""
    path = Path(path)
    where = repr(str(path))
    if not path.exists():
        raise ModelFileError(f"Model file {where} does not exist.")
    if not path.is_file():
        raise ModelFileError(f"Model file {where} is not a file.")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if _MANIFEST not in names or _ARRAYS not in names:
                raise ModelFileError(
                    f"{where} is not a lookalike model: it lacks {_MANIFEST} or {_ARRAYS}."
                )
            manifest_bytes = archive.read(_MANIFEST)
            payload = archive.read(_ARRAYS)
    except zipfile.BadZipFile:
        raise ModelFileError(
            f"{where} is not a lookalike model file (not a zip archive, or truncated)."
        ) from None
    except (zipfile.LargeZipFile, EOFError, OSError, ValueError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(f"{where} is corrupt or truncated: {exc}") from None
    try:
        manifest = json.loads(manifest_bytes.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise ModelFileError(f"{where} has a corrupt manifest (not valid JSON).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != _MAGIC:
        raise ModelFileError(f"{where} is not a lookalike model file (unknown manifest).")
    version = manifest.get("format_version")
    if not isinstance(version, int):
        raise ModelFileError(f"{where} has no valid format_version.")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            f"{where} uses model format {version}, newer than this lookalike reads ({FORMAT_VERSION}); "
            "upgrade lookalike."
        )
    if hashlib.sha256(payload).hexdigest() != manifest.get("arrays_sha256"):
        raise ModelFileError(
            f"{where} is corrupt or was modified: its arrays do not match the manifest checksum."
        )
    # Files written before the manifest had its own checksum carry none, and still load.
    if "manifest_sha256" in manifest and manifest["manifest_sha256"] != _manifest_digest(manifest):
        raise ModelFileError(
            f"{where} is corrupt or was modified: its manifest does not match its checksum."
        )
    try:
        with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise ModelFileError(f"{where} has unreadable arrays: {exc}") from None
    # Only plain numeric arrays belong in a model file.
    for name, array in arrays.items():
        if not isinstance(array, np.ndarray) or array.dtype.kind not in "biuf":
            raise ModelFileError(f"{where} has a non-numeric array {name!r}.")
    return Artifact(manifest=manifest, arrays=arrays)


def _manifest_digest(manifest: dict[str, Any]) -> str:
    """SHA-256 of the manifest without its own checksum, in one canonical JSON spelling.

    Like the arrays' checksum, it catches a damaged or hand-edited file (a renamed column, a
    changed dtype), not a forger, who can recompute it.
    """
    body = {k: v for k, v in manifest.items() if k != "manifest_sha256"}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
