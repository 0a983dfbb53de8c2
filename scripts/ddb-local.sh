#!/usr/bin/env bash
# The official DynamoDB Local (AWS's own emulator, docs/reference.md, "Local DynamoDB"), so the store and sync suites run on it and not
# only on dynalite.
#
#   scripts/ddb-local.sh fetch            # cache the jar under .ddb-local/ (and install Java 17 if missing)
#   scripts/ddb-local.sh start            # run it in the foreground on a free port; prints the endpoint
#   scripts/ddb-local.sh run -- CMD ARGS  # start it, run CMD with TOKENGATE_TEST_DYNAMODB_ENDPOINT and
#                                         # DYNAMODB_ENDPOINT set to it, stop it, exit with CMD's status
#
# The jar ships inside the npm tarball of amplify-dynamodb-simulator; we `npm pack` it (no install: the
# package has hundreds of dependencies) and unpack only package/emulator. Loopback only, in memory.
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=2.9.30
CACHE_DIR=${DDB_LOCAL_DIR:-.ddb-local}
EMULATOR_DIR="$CACHE_DIR/emulator-$VERSION"
JAR="$EMULATOR_DIR/DynamoDBLocal.jar"
log() { echo "ddb-local: $*" >&2; }

ensure_java() {
  if command -v java >/dev/null 2>&1; then return; fi
  log "java not found; installing openjdk-17-jre-headless"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  command -v java >/dev/null 2>&1 || { log "java still missing after apt-get"; exit 1; }
}

fetch() {
  ensure_java
  if [ -f "$JAR" ]; then return; fi
  mkdir -p "$CACHE_DIR"
  local scratch
  scratch=$(mktemp -d "$CACHE_DIR/fetch.XXXXXX")
  log "fetching amplify-dynamodb-simulator@$VERSION (npm pack)"
  (cd "$scratch" && npm pack --silent "amplify-dynamodb-simulator@$VERSION" >/dev/null)
  tar -xzf "$scratch"/amplify-dynamodb-simulator-"$VERSION".tgz -C "$scratch" package/emulator
  [ -f "$scratch/package/emulator/DynamoDBLocal.jar" ] || { log "DynamoDBLocal.jar not in the tarball"; exit 1; }
  rm -rf "$EMULATOR_DIR"
  mv "$scratch/package/emulator" "$EMULATOR_DIR"
  rm -rf "$scratch"
  log "cached in $EMULATOR_DIR"
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# Starts DynamoDB Local in the background; sets PID and ENDPOINT; waits until it answers.
start_background() {
  fetch
  local port=${DDB_LOCAL_PORT:-$(free_port)}
  LOG_FILE=$(mktemp -t ddb-local.XXXXXX.log)
  (cd "$EMULATOR_DIR" && DDB_LOCAL_TELEMETRY=0 exec java -Djava.library.path=./DynamoDBLocal_lib \
    -jar DynamoDBLocal.jar -port "$port" -inMemory -sharedDb -disableTelemetry) >"$LOG_FILE" 2>&1 &
  PID=$!
  ENDPOINT="http://127.0.0.1:$port"
  for _ in $(seq 1 300); do
    # Accepting TCP connections means it is ready (it binds only once the server is up).
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      log "DynamoDB Local $VERSION listening at $ENDPOINT (pid $PID)"
      return
    fi
    if ! kill -0 "$PID" 2>/dev/null; then log "DynamoDB Local exited:"; cat "$LOG_FILE" >&2; exit 1; fi
    sleep 0.1
  done
  log "DynamoDB Local did not answer within 30 s:"; cat "$LOG_FILE" >&2
  kill "$PID" 2>/dev/null || true
  exit 1
}

stop_background() {
  if [ -n "${PID:-}" ] && kill -0 "$PID" 2>/dev/null; then
    kill "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
  fi
  rm -f "${LOG_FILE:-}"
}

case "${1:-}" in
  fetch)
    fetch
    echo "$JAR"
    ;;
  start)
    start_background
    trap stop_background EXIT INT TERM
    echo "export TOKENGATE_TEST_DYNAMODB_ENDPOINT=$ENDPOINT DYNAMODB_ENDPOINT=$ENDPOINT"
    wait "$PID"
    ;;
  run)
    shift
    [ "${1:-}" = "--" ] && shift
    [ $# -gt 0 ] || { log "usage: $0 run -- CMD [ARGS…]"; exit 2; }
    start_background
    trap stop_background EXIT INT TERM
    started=$(date +%s)
    status=0
    TOKENGATE_TEST_DYNAMODB_ENDPOINT=$ENDPOINT DYNAMODB_ENDPOINT=$ENDPOINT "$@" || status=$?
    log "command finished with status $status in $(( $(date +%s) - started )) s"
    exit "$status"
    ;;
  *)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
