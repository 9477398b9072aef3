"""Composition roots of ``edgetk`` subcommands that span several layers (e.g. export, which
reloads the trainer's dataset and calls the export library)."""
