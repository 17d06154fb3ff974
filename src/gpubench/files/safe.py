"""Files written where data chooses the name: figures, reports, verdicts.

Names that come from data (a machine, a stored parameter) are sanitised (``safe_name``); no write
follows a symbolic link or leaves the folder it was asked for (``safe_path``); every file is
written to a hidden temporary file and renamed into place, so a reader never sees half a file and
a link planted at the name is never written through. Figures are drawn with matplotlib's mathtext
off: a ``$`` in a case name is text, not a formula that fails to parse (``save_figure``).
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path
from typing import Any

from gpubench.files.terminal import printable

MAX_NAME = 120
TEMP_SUFFIX = ".tmp"  # hidden temporary files: ".<name>.<random hex>.tmp"
_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")
_CONTROL_TEXT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # a title's own newlines are layout


class UnsafePathError(ValueError):
    """A write refused before anything was written: not a plain name, a link, or outside the folder."""


def safe_name(text: str, max_length: int = MAX_NAME) -> str:
    """``text`` as one file name: letters, digits, ``._+-`` (others become ``_``), no leading dot, no ``..``.

    A short extension (``.png``) is kept as it is, whatever the name before it holds.
    """
    stem, dot, extension = str(text).rpartition(".")
    if not (dot and stem and extension.isalnum() and len(extension) <= 8):
        stem, extension = str(text), ""
    name = _UNSAFE.sub("_", stem)
    name = re.sub(r"\.{2,}", "_", name).lstrip("._")[: max_length - len(extension) - 1].rstrip(".")
    return (name or "unnamed") + (f".{extension}" if extension else "")


def slug(text: str) -> str:
    """``text`` as part of a file name built from data (a machine, a model): ``[A-Za-z0-9.-]``, others ``_``."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", text).strip("_")[:80]


def safe_path(folder: str | os.PathLike, name: str) -> Path:
    """``folder/name`` for a new or replaced file: one plain name, inside ``folder``, not a symbolic link."""
    base = Path(folder)
    if name in ("", ".", "..") or any(char in name for char in "/\\\0"):
        raise UnsafePathError(f"{name!r} is not a plain file name; nothing written")
    path = base / name
    if path.is_symlink():
        raise UnsafePathError(f"{path} is a symbolic link; not writing through it")
    real_base = base.resolve()
    if path.resolve().parent != real_base:
        raise UnsafePathError(f"{path} leaves {base}; nothing written")
    return path


def safe_folder(base: str | os.PathLike, *parts: str) -> Path:
    """``base/part/...`` created as needed, each part one plain name, none a symbolic link."""
    folder = Path(base)
    folder.mkdir(parents=True, exist_ok=True)
    for part in parts:
        folder = safe_path(folder, part)
        folder.mkdir(exist_ok=True)
    return folder


def default_output(base: str | os.PathLike, *parts: str) -> Path | None:
    """``safe_folder(base, *parts)`` for a command's default output folder inside the store, or
    None, said in one line with the ``--out`` to give, when the store cannot be written (another
    user's, a read-only mount). A planted link is still refused (``UnsafePathError``)."""
    import sys

    try:
        folder = safe_folder(base, *parts)
        os.unlink(create_temporary(folder, ".writable."))  # a folder that exists may still refuse files
        return folder
    except UnsafePathError:
        raise
    except OSError as error:
        where = Path(base, *parts)
        print(f"gpubench: note: {where} cannot be written ({error.strerror or error}); no figures drawn "
              "(give --out DIR for them)", file=sys.stderr)  # fmt: skip
        return None


def write_file(folder: str | os.PathLike, name: str, content: str | bytes) -> Path:
    """Write ``folder/name`` atomically (hidden temporary file, then a rename); see ``safe_path``."""
    path = safe_path(folder, name)
    temporary = _temporary(path)
    try:
        with open(temporary, "wb") as out:
            out.write(content.encode("utf-8") if isinstance(content, str) else content)
        os.replace(temporary, path)
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)
    return path


def save_figure(fig: Any, out_dir: str | os.PathLike, name: str, *, tight: bool = True, **savefig: Any) -> Path:
    """Lay out and save a matplotlib figure as ``out_dir/<safe name>``; mathtext off for data.

    ``name`` may come from data: it is sanitised (``safe_name``). Every text that can come from
    data (titles, labels, legends, annotations, tick labels set from data) is drawn as plain
    text, so ``$...$`` in a case name is not maths; tick labels a formatter writes (``10^3`` on a
    log axis) keep their mathtext. Returns the path written.
    """
    from matplotlib.text import Text

    path = safe_path(out_dir, safe_name(name))  # keeps the extension: the format saved
    formatted = _formatter_texts(fig)
    for text in fig.findobj(Text):
        if id(text) not in formatted:
            text.set_parse_math(False)
            if _CONTROL_TEXT.search(text.get_text()):  # a name's newline or escape: drawn as its escape
                text.set_text(printable(text.get_text()))
    if savefig.get("dpi") not in (None, "figure"):
        fig.set_dpi(savefig["dpi"])  # lay out at the resolution drawn: text is measured once, not per resolution
    if tight:
        fig.tight_layout()
        # Laid out now: no layout engine left, else savefig draws the whole figure once more first
        # (to run the engine; tight_layout leaves a placeholder engine that does nothing).
        fig.set_layout_engine(None)
    temporary = _temporary(path)
    try:
        with open(temporary, "wb") as out:
            fig.savefig(out, format=path.suffix.lstrip(".") or "png", **savefig)
        os.replace(temporary, path)
    finally:
        if os.path.lexists(temporary):
            os.unlink(temporary)
    return path


def _formatter_texts(fig: Any) -> set[int]:
    """Tick labels and offset texts written by an axis's own formatter (not set from data)."""
    from matplotlib.ticker import FixedFormatter

    found: set[int] = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            found.add(id(axis.get_offset_text()))
            for ticks, formatter in (
                (axis.get_major_ticks(), axis.get_major_formatter()),
                (axis.get_minor_ticks(), axis.get_minor_formatter()),
            ):
                if not isinstance(formatter, FixedFormatter):
                    found.update(id(label) for tick in ticks for label in (tick.label1, tick.label2))
    return found


def read_regular(path: str | os.PathLike, limit: int | None = None, *, follow: bool = True) -> bytes:
    """The bytes of the regular file ``path``: never waits on a FIFO, never reads a device
    (``/dev/zero``) without end; ``follow`` False refuses a symbolic link at ``path`` too.
    ``OSError`` (one line) for anything else, or beyond ``limit`` bytes."""
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | (0 if follow else getattr(os, "O_NOFOLLOW", 0))
    descriptor = os.open(path, flags)
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{path}: not a regular file")
        if limit is not None and info.st_size > limit:
            raise OSError(f"{path}: {info.st_size} bytes, more than the {limit} this file may hold")
        os.set_blocking(descriptor, True)
        with open(descriptor, "rb", closefd=False) as handle:
            data = handle.read(limit + 1 if limit is not None else -1)
    finally:
        os.close(descriptor)
    if limit is not None and len(data) > limit:
        raise OSError(f"{path}: more than the {limit} bytes this file may hold")
    return data


def _temporary(path: Path) -> Path:
    """A new hidden file beside ``path``, created exclusively (never an existing file or link)."""
    return create_temporary(path.parent, f".{path.name}.")


def create_temporary(folder: Path, prefix: str) -> Path:
    """A new, empty, hidden file in ``folder`` with the umask's permissions; never an existing name or link."""
    for _ in range(100):
        path = folder / f"{prefix}{os.urandom(6).hex()}{TEMP_SUFFIX}"
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666))
        except FileExistsError:
            continue
        return path
    raise UnsafePathError(f"{folder}: could not create a temporary file")
