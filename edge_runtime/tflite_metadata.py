"""Read one named metadata entry of a ``.tflite`` file without the TFLite schema module.

A TFLite model is a FlatBuffer whose root ``Model`` table lists ``metadata`` entries (a name and
the index of a buffer holding the bytes). LiteRT's generated schema module reads them, but it is
650 KB of Python that costs a device command's start several milliseconds to import; the few
lookups needed here are a vtable walk over the file's bytes with ``struct``. Field numbers follow
the TFLite schema (``Model``: 4 buffers, 6 metadata; ``Metadata``: 0 name, 1 buffer; ``Buffer``:
0 data, 1 offset, 2 size, the last two for models over 2 GB whose buffers follow the FlatBuffer).
"""

from __future__ import annotations

import struct

_MODEL_BUFFERS, _MODEL_METADATA = 4, 6
_META_NAME, _META_BUFFER = 0, 1
_BUFFER_DATA, _BUFFER_OFFSET, _BUFFER_SIZE = 0, 1, 2


class _Reader:
    def __init__(self, buf: bytes | memoryview) -> None:
        self.buf = buf

    def u32(self, at: int) -> int:
        return struct.unpack_from("<I", self.buf, at)[0]

    def field(self, table: int, slot: int) -> int | None:
        """Where field ``slot`` of the table at ``table`` lies, or None when it is absent."""
        vtable = table - struct.unpack_from("<i", self.buf, table)[0]
        entry = 4 + 2 * slot
        if entry >= struct.unpack_from("<H", self.buf, vtable)[0]:
            return None
        offset = struct.unpack_from("<H", self.buf, vtable + entry)[0]
        return table + offset if offset else None

    def deref(self, at: int) -> int:
        return at + self.u32(at)

    def vector(self, at: int) -> tuple[int, int]:
        """(first element, length) of the vector the offset at ``at`` points to."""
        start = self.deref(at)
        count = self.u32(start)
        if start + 4 + count > len(self.buf):  # every element takes at least a byte
            raise ValueError(f"a vector of {count} elements at byte {start} runs past the file")
        return start + 4, count


def metadata_entry(buf: bytes | memoryview, name: str) -> bytes | None:
    """The bytes of the metadata entry ``name`` in TFLite model ``buf``; None when it has none.

    Raises ``ValueError`` (also for ``struct.error`` and ``IndexError``) on bytes that are not a
    readable TFLite FlatBuffer.
    """
    r = _Reader(buf)
    wanted = name.encode()
    try:
        model = r.u32(0)
        meta = r.field(model, _MODEL_METADATA)
        if meta is None:
            return None
        start, count = r.vector(meta)
        for i in range(count):
            entry = r.deref(start + 4 * i)
            at = r.field(entry, _META_NAME)
            if at is None:
                continue
            s = r.deref(at)
            if bytes(buf[s + 4 : s + 4 + r.u32(s)]) != wanted:
                continue
            index_at = r.field(entry, _META_BUFFER)
            index = r.u32(index_at) if index_at is not None else 0
            buffers = r.field(model, _MODEL_BUFFERS)
            if buffers is None:
                return b""
            bstart, bcount = r.vector(buffers)
            if index >= bcount:
                raise ValueError(f"metadata {name!r} names buffer {index} of {bcount}")
            table = r.deref(bstart + 4 * index)
            data = r.field(table, _BUFFER_DATA)
            if data is not None:
                dstart, dlen = r.vector(data)
                return bytes(buf[dstart : dstart + dlen])
            off_at, size_at = r.field(table, _BUFFER_OFFSET), r.field(table, _BUFFER_SIZE)
            if off_at is not None and size_at is not None:
                off = struct.unpack_from("<Q", buf, off_at)[0]
                size = struct.unpack_from("<Q", buf, size_at)[0]
                return bytes(buf[off : off + size])
            return b""
    except (struct.error, IndexError) as exc:
        raise ValueError(str(exc)) from None
    return None


__all__ = ["metadata_entry"]
