"""The site's shared scripts and styles, in ``<site>/assets/``: copied once, linked by every page.

``plotly.min.js`` comes from the plotly wheel (``plotly/package_data/plotly.min.js``, the same
file ``plotly.offline.get_plotlyjs`` returns); it is copied when missing or different (by size
and digest), never inlined into a page. ``site.js`` (the charts) and ``site.css`` ship with
gpubench beside this module.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import importlib.util
from pathlib import Path

from gpubench.files.safe import safe_folder, write_file

FOLDER = "assets"
OWN = ("site.js", "site.css")
PLOTLY = "plotly.min.js"
MISSING_PLOTLY = "gpubench site needs the plotly package for its plotly.min.js: pip install plotly"


def own_assets() -> dict[str, bytes]:
    here = importlib.resources.files("gpubench.views.site") / "assets"
    return {name: (here / name).read_bytes() for name in OWN}


def plotly_js() -> Path:
    try:
        spec = importlib.util.find_spec("plotly")
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise OSError(MISSING_PLOTLY)
    path = Path(next(iter(spec.submodule_search_locations))) / "package_data" / PLOTLY
    if not path.is_file():
        raise OSError(f"{MISSING_PLOTLY} (no {path})")
    return path


def copy_plotly(out: Path) -> bool:
    """Copy plotly.min.js into ``out/assets`` unless the same file is there; True when copied."""
    source = plotly_js()
    folder = safe_folder(out, FOLDER)
    target = folder / PLOTLY
    content = source.read_bytes()
    if target.is_file() and target.stat().st_size == len(content) and _digest(target.read_bytes()) == _digest(content):
        return False
    write_file(folder, PLOTLY, content)
    return True


def _digest(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
