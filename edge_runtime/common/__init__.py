"""The foundation every layer stands on: typed errors with exit codes, atomic writes, JSON configs,
library versions.

It lives at the bottom of the import order (inside ``edge_runtime``, the one package a device
installs) so that nothing imports upward: ``edgetk`` (the CLI shell) -> ``trainer`` -> ``export``
-> ``calibration`` -> ``edge_runtime``. Standard library only; no numpy at import.
"""
