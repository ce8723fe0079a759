#!/bin/sh
# Fake Graphēon backend (lab only), installed as `uvicorn` and run the way the real image
# runs its server (backend/Dockerfile upstream: CMD uvicorn main:app --host 0.0.0.0 --port
# 8000). It starts the way the release it stands in for does, then serves HTTP, one child per
# connection (fdserve.c, which answers /health itself, as uvicorn does in its process): on an
# inherited socket when told so as uvicorn is, by --fd N or UVICORN_FD=N (uvicorn's click
# options read UVICORN_* variables; a command-line option wins over its variable, and a
# socket from a file descriptor wins over --host/--port: uvicorn/config.py bind_socket), else
# on --port (default 8000).
# FAKE_BEHAVIOR (baked into the image): good | needs-jwt | unhealthy | wrong-version | slow.
set -u
# PID 1 ignores SIGTERM without a handler: trap it first thing, so that `podman stop`
# is quick at any moment, even during start-up.
nc_pid=""
# The server is waited for: fdserve answers the connections it took before it exits.
trap 'if [ -n "$nc_pid" ]; then kill "$nc_pid" 2>/dev/null; wait "$nc_pid"; fi; exit 0' TERM INT
port=${UVICORN_PORT:-8000}
fd=${UVICORN_FD:-}
while [ $# -gt 0 ]; do
  case "$1" in
  --port)
    port=$2
    shift 2
    ;;
  --fd)
    fd=$2
    shift 2
    ;;
  --host) shift 2 ;;
  *) shift ;;
  esac
done
: "${APP_VERSION:?APP_VERSION is baked into the image}"
DATA_DIR="${DATA_DIR:-/data}"
export DATA_DIR
case "${FAKE_BEHAVIOR:-good}" in
needs-jwt)
  # As the real 0.10.4: no secret, no start.
  if [ -z "${JWT_SECRET:-}" ]; then
    echo "FATAL: JWT_SECRET is not set; refusing to start" >&2
    exit 1
  fi
  ;;
slow)
  echo "backend $APP_VERSION: warming up for ${FAKE_SLOW_SECONDS:-6}s" >&2
  # In the background: a trapped signal is handled at once, not after the sleep.
  sleep "${FAKE_SLOW_SECONDS:-6}" &
  wait $!
  ;;
esac
# The real backend owns these directories and migrates network.db at start-up;
# the fake records each start so that tests can see which versions ran on the data.
mkdir -p "$DATA_DIR/backups" "$DATA_DIR/uploads"
echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $APP_VERSION started" >>"$DATA_DIR/fake-backend.log"
if [ -n "$fd" ]; then
  echo "backend $APP_VERSION serving the socket on fd $fd (behavior ${FAKE_BEHAVIOR:-good})" >&2
  /bin/fdserve backend "fd:$fd" /app/backend_handler.sh &
else
  echo "backend $APP_VERSION listening on $port (behavior ${FAKE_BEHAVIOR:-good})" >&2
  /bin/fdserve backend "port:$port" /app/backend_handler.sh &
fi
nc_pid=$!
wait "$nc_pid"
