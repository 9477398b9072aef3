"""Library versions recorded in the manifest (only those installed)."""

from edgetk.versions import library_versions

__all__ = ["library_versions"]
