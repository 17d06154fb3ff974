"""What a figure was drawn from, kept in the figure, so that a view redraws only what changed.

A view that draws from stored data (a machine's history) names each figure's inputs with
``inputs_digest``: the rows drawn, the marks on them, and the source of the code that draws.
``save_figure(..., metadata=stamped(digest))`` writes the digest into the PNG as a text chunk, and
``drawn_from`` reads it back from the chunks before the image data, never decoding the image.
So ``gpubench history`` asked again of a store that has not changed returns its PNGs as they are,
and imports no matplotlib. A figure edited by hand, drawn by another version of the drawing code
or from other rows carries another digest, or none: it is drawn again. Reading is Pillow's
(matplotlib's own PNG writer), a few milliseconds.
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from gpubench.files.safe import read_regular, safe_name

KEY = "gpubench inputs"
MAX_FIGURE_BYTES = 64 * 2**20  # larger is no figure of ours: drawn again


def inputs_digest(rows: pd.DataFrame, marks: object, code: Iterable[str | os.PathLike]) -> str | None:
    """A digest of ``rows`` (values, column names and order), ``marks`` (its ``repr``: plain
    values, timestamps) and the bytes of the ``code`` files; None when a code file cannot be read
    (an install without sources): then every figure is drawn."""
    digest = hashlib.sha256()
    try:
        for path in code:
            digest.update(read_regular(path))
    except OSError:
        return None
    digest.update(repr(list(rows.columns)).encode("utf-8", "surrogatepass"))
    digest.update(pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes())
    digest.update(repr(marks).encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def stamped(digest: str | None) -> dict[str, str]:
    """The PNG metadata that records ``digest`` (none without one)."""
    return {KEY: digest} if digest else {}


def drawn_from(path: str | os.PathLike) -> str | None:
    """The digest a PNG at ``path`` was drawn from, or None: missing, a link, not a regular file,
    too large, not a PNG, or drawn without one."""
    from PIL import Image, UnidentifiedImageError

    try:
        data = read_regular(path, MAX_FIGURE_BYTES, follow=False)
        with Image.open(io.BytesIO(data), formats=["PNG"]) as image:  # the header and text chunks only
            value = image.info.get(KEY)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError):  # Pillow's parse errors
        return None
    return value if isinstance(value, str) else None


def up_to_date(folder: str | os.PathLike, name: str, digest: str | None) -> Path | None:
    """The figure ``save_figure(fig, folder, name)`` wrote, if it was drawn from exactly
    ``digest``'s inputs; else None (draw it)."""
    path = Path(folder, safe_name(name))
    return path if digest is not None and drawn_from(path) == digest else None
