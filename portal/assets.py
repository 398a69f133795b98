"""Static file URLs that change when the file does (?v=<hash>), so nginx may let browsers cache them for a year."""
import functools
import hashlib
from pathlib import Path


@functools.lru_cache(maxsize=256)
def _digest(path, modified):
    """The first 12 hex digits of the file's sha256 (modified is part of the cache key only)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def init_app(app):
    """Add v=<content hash> to every url_for('static', ...)."""
    folder = Path(app.static_folder).resolve()

    def add_version(endpoint, values):
        if endpoint != "static" or "v" in values or "filename" not in values:
            return
        path = (folder / values["filename"]).resolve()
        try:
            if folder in path.parents:
                values["v"] = _digest(str(path), path.stat().st_mtime_ns)
        except OSError:
            pass  # a missing file keeps its plain URL and answers 404 as before

    app.url_defaults(add_version)
