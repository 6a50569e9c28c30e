"""Model files as data: a zip with ``manifest.json`` and ``arrays.npz`` (never pickle).

Loading checks the container, the format version, and a SHA-256 of the arrays recorded in the
manifest, then reads arrays with ``allow_pickle=False``. The class to rebuild comes from a
registry of known classes, never from a name in the file that could import code.
"""

from lookalike.persist._container import FORMAT_VERSION, Artifact, read_artifact, write_artifact

__all__ = ["FORMAT_VERSION", "Artifact", "read_artifact", "write_artifact"]
