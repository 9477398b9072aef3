#!/usr/bin/env bash
# Fuzz the REST API from its own OpenAPI schema with schemathesis, against a real `edgetk serve`.
#
#   scripts/fuzz_api.sh [BUNDLE] [MAX_EXAMPLES]     (defaults: tests/fixtures/tiny_bundle, 300)
#   ARTIFACT=model_int8.tflite scripts/fuzz_api.sh runs/bundles/quick   (a non-default artifact)
#
# Starts the server on a free loopback port with an API key, runs every schemathesis check
# (positive and negative data, the key included: `ignored_auth`), then reads the server's own
# /metrics to count 5xx responses independently of schemathesis. Writes, under benchmarks/serve/:
#   fuzz_output.txt   schemathesis' report (no colour)
#   fuzz_summary.md   what ran, how many requests by status, the verdict (no 5xx)
#   fuzz_metrics.txt  the server's request counters after the run
# Exit code: 0 when the server answered no 5xx, 1 otherwise. Needs the `dev` extra (schemathesis).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUNDLE="${1:-$ROOT/tests/fixtures/tiny_bundle}"
MAX_EXAMPLES="${2:-300}"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
ST="${SCHEMATHESIS:-$(dirname "$PY")/schemathesis}"
OUT="$ROOT/benchmarks/serve"
KEY="fuzz-$RANDOM-$RANDOM"
LOG="$(mktemp -t edgetk-fuzz-server.XXXXXX)"
mkdir -p "$OUT"

cd "$ROOT"
"$PY" -m edgetk serve "$BUNDLE" --port 0 --api-key "$KEY" --no-access-log --log-level warning \
  --max-body-mb 2 ${ARTIFACT:+--artifact "$ARTIFACT"} >"$LOG" 2>&1 &
SERVER=$!
cleanup() { kill -TERM "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; }
trap cleanup EXIT

URL=""
for _ in $(seq 1 600); do
  URL="$(grep -o 'on http://127\.0\.0\.1:[0-9]*' "$LOG" | head -1 | cut -c4- || true)"
  [ -n "$URL" ] && curl -sf "$URL/v1/health" >/dev/null 2>&1 && break
  kill -0 "$SERVER" 2>/dev/null || { cat "$LOG"; echo "server exited" >&2; exit 1; }
  sleep 0.1
done
[ -n "$URL" ] || { cat "$LOG"; echo "server did not start" >&2; exit 1; }
echo "fuzzing $URL (bundle $BUNDLE, $MAX_EXAMPLES examples per operation)"

set +e
"$ST" run "$URL/openapi.json" \
  --checks all \
  --exclude-checks positive_data_acceptance \
  --header "X-API-Key: $KEY" \
  --max-examples "$MAX_EXAMPLES" \
  --seed 7 \
  --workers 2 \
  --request-timeout 30 \
  --no-color \
  --suppress-health-check too_slow,data_too_large \
  --generation-database none \
  --continue-on-failure \
  ${FUZZ_EXTRA:-} \
  >"$OUT/fuzz_output.txt" 2>&1
ST_RC=$?
set -e
tail -n 40 "$OUT/fuzz_output.txt"

curl -sf -H "X-API-Key: $KEY" "$URL/metrics" | grep '^edgetk_http_requests_total' >"$OUT/fuzz_metrics.txt"
ALIVE=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/health")

"$PY" - "$OUT" "$BUNDLE" "$MAX_EXAMPLES" "$ST_RC" "$ALIVE" "${ARTIFACT:-default}" <<'PYEOF'
import re, sys, time
from importlib import metadata
from pathlib import Path

out, bundle, examples, st_rc, alive, artifact = (
    Path(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], sys.argv[6]
)
by_status: dict[str, float] = {}
rows = []
for line in (out / "fuzz_metrics.txt").read_text().splitlines():
    m = re.match(r'edgetk_http_requests_total\{method="(\w+)",route="([^"]*)",status="(\d+)"\} (\S+)', line)
    if m:
        method, route, status, n = m.groups()
        by_status[status] = by_status.get(status, 0) + float(n)
        rows.append(f"| {method} | `{route}` | {status} | {int(float(n))} |")
server_errors = int(sum(n for s, n in by_status.items() if s.startswith("5")))
report = (out / "fuzz_output.txt").read_text()
tail = "\n".join(report.strip().splitlines()[-25:])
text = f"""# API fuzzing (schemathesis {metadata.version('schemathesis')})

Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by `scripts/fuzz_api.sh` against a real
`edgetk serve` process (bundle `{bundle}`, artifact {artifact}, API key set, body limit 2 MiB) on this 2-core VM.
Schema: the service's own `/openapi.json`; checks: all but `positive_data_acceptance` (see below); up to {examples} examples per operation,
positive and negative data, seed 7.

**5xx responses counted by the server's own metrics: {server_errors}.**
Health after the run: HTTP {alive}. schemathesis exit code: {st_rc} (non-zero means some check
other than 5xx failed; see below and `fuzz_output.txt`).

`positive_data_acceptance` is left out because the schema cannot say "a decodable image":
schemathesis' schema-valid bodies include arbitrary bytes typed `image/png`, which the service
rightly refuses with 400 `invalid_image`. Every other check runs, `ignored_auth` included.

Requests the server saw, by route and status (from `/metrics`):

| method | route | status | requests |
|---|---|---:|---:|
{chr(10).join(rows)}

schemathesis summary (end of `fuzz_output.txt`):

```
{tail}
```
"""
(out / "fuzz_summary.md").write_text(text)
print(f"5xx responses: {server_errors}; health after: {alive}")
sys.exit(1 if server_errors or alive != "200" else 0)
PYEOF
