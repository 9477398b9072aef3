"""Fuzz the predict endpoint with corrupted images: byte flips, truncations, lying headers.

    .venv/bin/python scripts/fuzz_images.py [BUNDLE] [--artifact FILE] [--cases 3000] [--seed 0]

schemathesis fuzzes the API's shape; this fuzzes what is inside an upload, where decoder bugs live.
Valid PNG / JPEG / GIF / BMP / WebP / TIFF pictures are mutated at random and sent to a real
``edgetk serve`` process. Every answer must be 200 or a JSON 4xx error, never a 5xx or a dropped
connection, and a good image must still classify afterwards. Writes the tally to
``benchmarks/serve/fuzz_images.json``; exit code 1 on any 5xx or transport failure.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge_runtime.common.fileio import write_json  # noqa: E402
from scripts.bench_common import provenance, shown_path  # noqa: E402
from scripts.load_test import Connection, start_server, stop_server  # noqa: E402

FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "BMP": "image/bmp",
           "WEBP": "image/webp", "TIFF": "image/tiff"}  # fmt: skip


def seeds(rng: np.random.Generator) -> list[tuple[str, bytes]]:
    """Valid pictures in every format and a few modes, the starting points for mutation."""
    out = []
    for fmt in FORMATS:
        for mode, shape in (("L", (28, 28)), ("RGB", (40, 30, 3)), ("RGBA", (16, 16, 4))):
            if fmt == "JPEG" and mode == "RGBA":
                continue
            img = Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode=None)
            buf = io.BytesIO()
            img.save(buf, fmt)
            out.append((fmt, buf.getvalue()))
    return out


def mutate(data: bytes, rnd: random.Random) -> bytes:
    b = bytearray(data)
    kind = rnd.randrange(6)
    if kind == 0:  # flip a few bytes anywhere
        for _ in range(rnd.randint(1, 8)):
            b[rnd.randrange(len(b))] = rnd.randrange(256)
    elif kind == 1:  # flip bytes in the header, where sizes and offsets live
        for _ in range(rnd.randint(1, 4)):
            b[rnd.randrange(min(len(b), 64))] = rnd.randrange(256)
    elif kind == 2:  # truncate
        b = b[: rnd.randrange(1, len(b))]
    elif kind == 3:  # insert junk
        at = rnd.randrange(len(b))
        b[at:at] = bytes(rnd.randrange(256) for _ in range(rnd.randint(1, 64)))
    elif kind == 4:  # huge values in 32-bit fields of the header (dimensions, lengths)
        at = rnd.randrange(0, max(1, min(len(b), 48) - 4))
        b[at : at + 4] = rnd.choice([b"\xff\xff\xff\xff", b"\x7f\xff\xff\xff", b"\x00\x01\x00\x00"])
    else:  # delete a slice
        at = rnd.randrange(len(b))
        del b[at : at + rnd.randint(1, 32)]
    return bytes(b)


def request(host: str, body: bytes, content_type: str) -> bytes:
    head = (
        f"POST /v1/predict?top_k=1 HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "bundle", type=Path, nargs="?", default=ROOT / "tests" / "fixtures" / "tiny_bundle"
    )
    ap.add_argument("--artifact", default=None)
    ap.add_argument("--cases", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "serve" / "fuzz_images.json")
    args = ap.parse_args(argv)
    rnd = random.Random(args.seed)
    base = seeds(np.random.default_rng(args.seed))
    extra = ["--max-body-mb", "2"] + (["--artifact", args.artifact] if args.artifact else [])
    server = start_server(args.bundle, extra)
    statuses: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    failures: list[dict[str, str]] = []
    t0 = time.perf_counter()
    try:
        conn = Connection(server.host, server.port)
        for i in range(args.cases):
            fmt, data = base[rnd.randrange(len(base))]
            body = mutate(data, rnd)
            try:
                status = conn.post_raw(request(server.host, body, FORMATS[fmt]))
            except (OSError, ValueError) as exc:
                status, payload = f"transport:{type(exc).__name__}", b""
                conn.close()
                conn = Connection(server.host, server.port)
            else:
                status, payload = status
            statuses[str(status)] += 1
            if isinstance(status, int) and status != 200:
                try:
                    codes[json.loads(payload)["error"]["code"]] += 1
                except (ValueError, KeyError, TypeError):
                    failures.append({"case": str(i), "why": "error body is not the JSON shape"})
            if not isinstance(status, int) or status >= 500:
                failures.append({"case": str(i), "format": fmt, "status": str(status),
                                 "body_hex_head": body[:64].hex()})  # fmt: skip
        good_fmt, good = base[0]
        final = conn.post_raw(request(server.host, good, FORMATS[good_fmt]))[0]
        conn.close()
    finally:
        rc = stop_server(server)
    result = {
        **provenance(__file__, argv),
        "what": "mutated-image fuzzing of POST /v1/predict against edgetk serve",
        "bundle": shown_path(args.bundle),
        "artifact": args.artifact or "default",
        "cases": args.cases,
        "seed": args.seed,
        "seconds": round(time.perf_counter() - t0, 1),
        "statuses": dict(sorted(statuses.items())),
        "error_codes": dict(sorted(codes.items())),
        "failures": failures[:50],
        "good_request_after": final,
        "server_exit_code": rc,
        "passed": not failures and final == 200 and rc == 0,
    }
    write_json(args.out, result)
    print(json.dumps({k: v for k, v in result.items() if k != "failures"}, indent=1))
    for f in failures[:10]:
        print("FAIL", f)
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
