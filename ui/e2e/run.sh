#!/usr/bin/env bash
# Browser tests of the web UI against the REAL server, the way scripts/test runs them:
#   1. builds the server binary (which serves ui/dist; build the UI first: `cd ui && npm run build`),
#   2. starts Zammad, Kimai, Odoo and TimeTracker simulators (`timebridge sim … --seed small`) on free ports,
#   3. starts `timebridge serve` on a free port with a throw-away data directory and SQLite file,
#   4. checks ui/openapi.json against the server's /api/openapi.json (e2e/openapi-drift.mjs),
#   5. runs the browser tests in e2e/real/ (playwright-core + node --test, Debian's Chromium),
#   6. runs the mock-server tests (e2e/*.test.mjs) unless E2E_SKIP_MOCK=1,
# and stops everything it started on exit. Logs of the processes: $E2E_TMP (kept on failure).
#
# Options (environment): CHROMIUM_PATH (default /usr/bin/chromium), E2E_SKIP_MOCK=1,
# E2E_SKIP_BUILD=1 (use target/debug/timebridge as it is), E2E_KEEP_TMP=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
UI=$ROOT/ui

say() { printf '\n==> %s\n' "$*"; }
die() { printf 'e2e/run.sh: %s\n' "$*" >&2; exit 1; }

command -v node >/dev/null || die "node is required"
command -v curl >/dev/null || die "curl is required"
command -v setsid >/dev/null || die "setsid (util-linux) is required"
[ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] || die "Chromium not found at ${CHROMIUM_PATH:-/usr/bin/chromium} (apt-get install chromium)"
[ -f "$UI/dist/index.html" ] || die "ui/dist is missing: run 'cd ui && npm run build' first"
[ -d "$UI/node_modules/playwright-core" ] || die "ui/node_modules is missing: run 'cd ui && npm ci' first"

E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/timebridge-e2e.XXXXXX")
export E2E_TMP
PIDS=()   # servers and simulators
GROUPS_=() # test runs, each in its own process group (node --test, its workers and Chromium)
STATUS=1
cleanup() {
  local pid
  for pid in "${GROUPS_[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${GROUPS_[@]}" "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ "$STATUS" != 0 ]; then
    for f in "$E2E_TMP"/*.log; do
      [ -f "$f" ] || continue
      printf '\n--- last lines of %s\n' "$f" >&2
      tail -n 25 "$f" >&2 || true
    done
    printf '\n(logs kept in %s)\n' "$E2E_TMP" >&2
  elif [ -z "${E2E_KEEP_TMP:-}" ]; then
    rm -rf "$E2E_TMP"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_tests CMD…: runs a test command in its own process group and waits for it; a signal to this
# script interrupts the wait and the EXIT trap stops the whole group (no orphaned Chromium).
run_tests() {
  TMPDIR="$E2E_TMP" setsid "$@" &
  local pid=$!
  GROUPS_+=("$pid")
  wait "$pid"
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{process.stdout.write(String(s.address().port));s.close();})'
}

# wait_http NAME PID URL SECONDS [EXPECTED_CODE]: until URL answers (any status, or the expected one).
wait_http() {
  local name=$1 pid=$2 url=$3 secs=$4 want=${5:-} code deadline
  deadline=$((SECONDS + secs))
  while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)
    if [ "$code" != 000 ] && { [ -z "$want" ] || [ "$code" = "$want" ]; }; then return 0; fi
    kill -0 "$pid" 2>/dev/null || die "$name exited before answering on $url"
    [ "$SECONDS" -lt "$deadline" ] || die "$name did not answer on $url within ${secs}s (last status $code)"
    sleep 0.2
  done
}

BIN=$ROOT/target/debug/timebridge
build_server() {
  say "cargo build -p timebridge $*"
  cargo build -p timebridge --quiet "$@"
}
[ -n "${E2E_SKIP_BUILD:-}" ] || build_server
[ -x "$BIN" ] || die "$BIN is missing"

ZAMMAD_PORT=$(free_port)
KIMAI_PORT=$(free_port)
while [ "$KIMAI_PORT" = "$ZAMMAD_PORT" ]; do KIMAI_PORT=$(free_port); done
export ZAMMAD_URL="http://127.0.0.1:$ZAMMAD_PORT" ZAMMAD_TOKEN=zt
export KIMAI_URL="http://127.0.0.1:$KIMAI_PORT" KIMAI_TOKEN=kt

say "Starting the Zammad and Kimai simulators ($ZAMMAD_URL, $KIMAI_URL)"
# Run from the temp dir so that no .env of the checkout is read.
(cd "$E2E_TMP" && exec "$BIN" sim zammad --port "$ZAMMAD_PORT" --token "$ZAMMAD_TOKEN" --seed small --log-format json) >"$E2E_TMP/sim-zammad.log" 2>&1 &
PIDS+=($!)
ZAMMAD_PID=$!
(cd "$E2E_TMP" && exec "$BIN" sim kimai --port "$KIMAI_PORT" --token "$KIMAI_TOKEN" --seed small --log-format json) >"$E2E_TMP/sim-kimai.log" 2>&1 &
PIDS+=($!)
KIMAI_PID=$!
wait_http "Zammad simulator" "$ZAMMAD_PID" "$ZAMMAD_URL/" 60
wait_http "Kimai simulator" "$KIMAI_PID" "$KIMAI_URL/" 60

# The v2 connectors the UI configures from their settings schemas.
ODOO_PORT=$(free_port)
TIMETRACKER_PORT=$(free_port)
export ODOO_URL="http://127.0.0.1:$ODOO_PORT" ODOO_TOKEN=ok
export TIMETRACKER_URL="http://127.0.0.1:$TIMETRACKER_PORT" TIMETRACKER_TOKEN=tt_e2e
say "Starting the Odoo and TimeTracker simulators ($ODOO_URL, $TIMETRACKER_URL)"
(cd "$E2E_TMP" && exec "$BIN" sim odoo --port "$ODOO_PORT" --token "$ODOO_TOKEN" --seed small --log-format json) >"$E2E_TMP/sim-odoo.log" 2>&1 &
PIDS+=($!)
ODOO_PID=$!
(cd "$E2E_TMP" && exec "$BIN" sim timetracker --port "$TIMETRACKER_PORT" --token "$TIMETRACKER_TOKEN" --seed small --log-format json) >"$E2E_TMP/sim-timetracker.log" 2>&1 &
PIDS+=($!)
TIMETRACKER_PID=$!
wait_http "Odoo simulator" "$ODOO_PID" "$ODOO_URL/" 60
wait_http "TimeTracker simulator" "$TIMETRACKER_PID" "$TIMETRACKER_URL/api/v1/info" 60

SERVER_PID=
start_server() {
  local port
  port=$(free_port)
  export TIMEBRIDGE_URL="http://127.0.0.1:$port"
  export TIMEBRIDGE_ADMIN_PASSWORD="e2e-admin-password-$RANDOM$RANDOM"
  rm -rf "$E2E_TMP/data"
  mkdir -p "$E2E_TMP/data"
  say "Starting timebridge serve on $TIMEBRIDGE_URL"
  (
    cd "$E2E_TMP"
    unset ENCRYPTION_KEY SECRET_KEY CORS_ORIGINS ADMIN_USERNAME SYNC_SCHEDULE_HOURS TRUST_FORWARDED_FOR
    exec env DATA_DIR="$E2E_TMP/data" DATABASE_URL="sqlite://$E2E_TMP/data/tb.db" \
      ADMIN_PASSWORD="$TIMEBRIDGE_ADMIN_PASSWORD" LOG_FORMAT=json BIND="127.0.0.1:$port" \
      "$BIN" serve
  ) >"$E2E_TMP/server.log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_http "timebridge serve" "$SERVER_PID" "$TIMEBRIDGE_URL/api/health" 120 200
}
stop_server() {
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
}
# Whether the server answers / with the index.html of this ui/dist build.
serves_current_ui() {
  curl -s --max-time 5 "$TIMEBRIDGE_URL/" | cmp -s - "$UI/dist/index.html"
}

start_server
if ! serves_current_ui; then
  # A debug build of timebridge-server compiled while ui/dist did not exist keeps a path that
  # never resolves (rust-embed canonicalizes the folder at compile time), and cargo does not
  # rebuild it when ui/dist appears. Build that crate once more under a distinct profile
  # setting, which gives a separate artifact compiled with ui/dist present (nothing is cleaned).
  [ -z "${E2E_SKIP_BUILD:-}" ] || die "the server does not serve the current ui/dist (rebuild it)"
  echo "The server does not serve the current ui/dist; rebuilding timebridge-server with ui/dist present." >&2
  stop_server
  build_server --config 'profile.dev.package.timebridge-server.codegen-units=255'
  start_server
  serves_current_ui || die "the server still does not serve ui/dist/index.html at $TIMEBRIDGE_URL/"
fi

say "OpenAPI drift check (ui/openapi.json vs $TIMEBRIDGE_URL/api/openapi.json)"
node "$UI/e2e/openapi-drift.mjs"

say "Browser tests against the real server (e2e/real)"
cd "$UI"
run_tests node --test --test-concurrency=1 e2e/real/*.test.mjs

if [ -z "${E2E_SKIP_MOCK:-}" ]; then
  say "Browser tests against the in-memory mock API (e2e/*.test.mjs)"
  run_tests env -u TIMEBRIDGE_URL -u TIMEBRIDGE_ADMIN_PASSWORD E2E_SCREENSHOT_DIR="$E2E_TMP/mock-screenshots" \
    node --test --test-concurrency=1 e2e/*.test.mjs
fi

STATUS=0
say "Browser tests passed."
