"""The device's own reader of TFLite metadata entries (edge_runtime/tflite_metadata.py) against
LiteRT's generated schema module, on converter-written entries and on entries edgetk embeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_runtime.tflite_metadata import metadata_entry
from tests.fixtures.edge_helpers import BUNDLE

schema = pytest.importorskip("ai_edge_litert.schema_py_generated")


def _schema_entries(buf: bytes) -> dict[bytes, bytes]:
    model = schema.Model.GetRootAs(buf, 0)
    out = {}
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        out[entry.Name()] = model.Buffers(entry.Buffer()).DataAsNumpy().tobytes()
    return out


@pytest.mark.parametrize("name", ["model_fp32.tflite", "model_int8.tflite"])
def test_reads_what_the_schema_reads(name: str) -> None:
    buf = (BUNDLE / name).read_bytes()
    entries = _schema_entries(buf)
    assert b"min_runtime_version" in entries  # the converter writes it into every model
    for key, value in entries.items():
        assert metadata_entry(buf, key.decode()) == value
    assert metadata_entry(buf, "no such entry") is None


def test_reads_an_entry_edgetk_embeds(tmp_path: Path) -> None:
    pytest.importorskip("flatbuffers")
    from export.metadata import embed_tflite

    buf = (BUNDLE / "model_int8.tflite").read_bytes()
    payload = b'{"labels": ["a", "b"], "weird": "\\u00e9\\u0000"}'
    out = embed_tflite(buf, payload, name="my_tool.contract")
    assert metadata_entry(out, "my_tool.contract") == payload
    assert _schema_entries(out)[b"my_tool.contract"] == payload
    assert (
        metadata_entry(out, "min_runtime_version") == _schema_entries(out)[b"min_runtime_version"]
    )


@pytest.mark.parametrize("junk", [b"", b"\x00" * 3, b"\xff" * 64, b"TFL3" + b"\x7f" * 60])
def test_bytes_that_are_not_a_model_raise_value_error(junk: bytes) -> None:
    with pytest.raises(ValueError):
        metadata_entry(junk, "anything")
