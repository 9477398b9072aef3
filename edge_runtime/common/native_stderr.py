"""Keep the C++ start-up chatter of TensorFlow and the runtimes out of the console.

TensorFlow's native libraries write lines such as ``E0000 ... failed call to cuInit`` (on every
machine without a GPU), ``I0000 ... oneDNN custom operations are on`` and the absl notice that
precedes them straight to file descriptor 2, before any Python logging is set up; LiteRT prints
``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.`` each time an interpreter is made. Inside
``native_stderr_filtered()`` descriptor 2 goes to a temporary file; afterwards every line that is
known start-up noise goes to this module's logger at DEBUG (``edgetk -v`` shows it) and every
other line is written to the real stderr, in order. Nothing is lost, and a real warning or error
still reaches the user.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from collections.abc import Iterator
from typing import BinaryIO

log = logging.getLogger(__name__)

# absl / glog lines ("E0000 00:00:1796504644.132186   21435 file.cc:52] ..."), absl's notice that
# they precede its set-up, LiteRT's line announcing its default CPU delegate, and the TFLite
# converter's print of its quantization settings.
_NOISE = re.compile(
    r"^(?:[IWE]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ [^\]]+\] "
    r"|WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|INFO: Created TensorFlow Lite XNNPACK delegate for CPU\."
    r"|fully_quantize: \d+, inference_type: \d+)"
)


def is_startup_noise(line: str) -> bool:
    """Whether ``line`` is native start-up chatter (kept at DEBUG) rather than a message."""
    return bool(_NOISE.match(line))


def _scratch_file() -> BinaryIO:
    """An unnamed file to hold the captured bytes: a memory file where the OS has one (no
    ``tempfile`` import, which costs a device command's start a few milliseconds), else a
    temporary file. A pipe would not do: a chatty library would block once it is full."""
    if hasattr(os, "memfd_create"):
        try:
            return os.fdopen(os.memfd_create("edgetk-stderr"), "w+b")
        except OSError:
            pass
    import tempfile

    return tempfile.TemporaryFile()


@contextlib.contextmanager
def native_stderr_filtered() -> Iterator[None]:
    """Capture descriptor 2 for the block; replay what is not start-up noise when it ends."""
    try:
        sys.stderr.flush()
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. captured by a test)
        yield
        return
    if fd != 2:
        yield
        return
    saved = os.dup(2)
    with _scratch_file() as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode(errors="replace")
            kept = []
            for line in text.splitlines():
                if is_startup_noise(line):
                    log.debug("%s", line)
                else:
                    kept.append(line)
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")
                sys.stderr.flush()


__all__ = ["is_startup_noise", "native_stderr_filtered"]
