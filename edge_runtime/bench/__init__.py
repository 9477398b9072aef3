"""``edgetk bench``: per-artifact latency, throughput, memory and accuracy on this device."""

from edge_runtime.bench.config import BenchConfig
from edge_runtime.bench.report import format_comparison, format_details, format_table, load_record
from edge_runtime.bench.run import SCHEMA, run_bench

__all__ = [
    "SCHEMA",
    "BenchConfig",
    "format_comparison",
    "format_details",
    "format_table",
    "load_record",
    "run_bench",
]
