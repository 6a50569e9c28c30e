"""Input and output paths: inputs must be files; outputs are never overwritten unasked and are
published atomically (temp file + rename)."""

from __future__ import annotations

import os
import secrets
import stat
from collections.abc import Callable, Sequence
from pathlib import Path

from lookalike.errors import OutputExistsError

__all__ = [
    "check_input_file",
    "check_output_path",
    "write_atomically",
    "write_text",
    "write_texts",
]


def check_input_file(path: Path, role: str, error: type[Exception]) -> None:
    """Raise ``error`` naming ``role`` unless ``path`` is a file that exists.

    >>> check_input_file(Path("no-such.yaml"), "Rules file", ValueError)
    Traceback (most recent call last):
    ...
    ValueError: Rules file 'no-such.yaml' does not exist.
    """
    if path.is_dir():
        raise error(f"{role} {str(path)!r} is a folder, not a file.")
    if not path.exists():
        raise error(f"{role} {str(path)!r} does not exist.")


def check_output_path(path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Check that ``path`` can be written: its folder exists and, unless ``force``, it does not.

    Raises :class:`~lookalike.errors.OutputExistsError` if the file exists and ``force`` is false
    (or if ``path`` is a folder), and :class:`FileNotFoundError` if its folder does not exist.
    Nothing is created.

    >>> check_output_path("new-file.csv").name
    'new-file.csv'
    """
    path = Path(path)
    shown = str(path)
    if path.is_dir():
        raise OutputExistsError(f"Output path {shown!r} is an existing folder; give a file name.")
    if path.exists() and not force:
        raise OutputExistsError(
            f"Output file {shown!r} already exists; use --force (force=True in Python) to overwrite it."
        )
    parent = path.parent
    if not parent.exists():
        raise FileNotFoundError(f"Cannot write {shown!r}: folder {str(parent)!r} does not exist.")
    if not parent.is_dir():
        raise NotADirectoryError(f"Cannot write {shown!r}: {str(parent)!r} is not a folder.")
    return path


def write_atomically(
    path: str | os.PathLike[str], write: Callable[[Path], None], *, force: bool = False
) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then move it to ``path``.

    Readers never see a half-written file, and a failure leaves no temporary file behind. Without
    ``force`` an existing file is never replaced, even one created while ``write`` was running.
    """
    path = check_output_path(path, force=force)
    tmp = _reserve_temporary(path)
    try:
        write(tmp)
        _publish(tmp, path, force=force)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text(text: str, path: str | os.PathLike[str], *, force: bool = False) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically; see :func:`write_atomically`."""

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    return write_atomically(path, write, force=force)


def write_texts(
    texts: Sequence[tuple[str, str | os.PathLike[str]]], *, force: bool = False
) -> list[Path]:
    """Write each ``(text, path)`` as UTF-8, all or none: like :func:`write_text`, but every file
    is written to its temporary file first, and they are moved into place only once all are.

    A report's HTML and JSON written one after the other left the HTML behind when the JSON
    could not be written. If moving one into place fails (a file appeared meanwhile), the files
    already moved are removed again, unless ``force`` replaced an existing file with them.
    """
    paths = [check_output_path(path, force=force) for _, path in texts]
    temporaries: list[Path] = []
    published: list[Path] = []
    try:
        for (text, _), path in zip(texts, paths, strict=True):
            temporaries.append(_reserve_temporary(path))
            temporaries[-1].write_text(text, encoding="utf-8")
        for tmp, path in zip(temporaries, paths, strict=True):
            _publish(tmp, path, force=force)
            published.append(path)
    except BaseException:
        for tmp in temporaries:
            tmp.unlink(missing_ok=True)
        if not force:  # without force each published file is new, so it is ours to remove
            for path in published:
                path.unlink(missing_ok=True)
        raise
    return paths


def _reserve_temporary(path: Path) -> Path:
    # Created by us with O_EXCL, so we never write into someone else's file; mode 0o666 lets the
    # umask decide the final permissions, as for any other file the user creates.
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        except OSError as exc:
            raise type(exc)(f"Cannot write {str(path)!r}: {exc.strerror}.") from None
        os.close(fd)
        return tmp
    raise FileExistsError(f"Cannot write {str(path)!r}: no free temporary file name beside it.")


def _publish(tmp: Path, path: Path, *, force: bool) -> None:
    if force:
        _keep_mode(tmp, path)
        os.replace(tmp, path)
        return
    # A hard link fails if the target exists, so "do not overwrite" holds even if another process
    # created the file after our first check. Some file systems have no hard links: fall back.
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise OutputExistsError(
            f"Output file {str(path)!r} already exists; use --force (force=True in Python) to overwrite it."
        ) from None
    except OSError:
        if path.exists():
            raise OutputExistsError(
                f"Output file {str(path)!r} already exists; use --force (force=True in Python) to overwrite it."
            ) from None
        os.replace(tmp, path)
        return
    tmp.unlink()


def _keep_mode(tmp: Path, path: Path) -> None:
    # Replacing a file keeps its permissions, as writing into it with open(path, "w") would:
    # overwriting a report the user made private must not make it readable by others.
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return
    os.chmod(tmp, stat.S_IMODE(mode))
