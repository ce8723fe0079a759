#!/bin/sh
# Fake Graphēon backend (lab only): starts the way the release it stands in for
# does, then serves HTTP on $PORT with busybox nc, one handler per connection.
# FAKE_BEHAVIOR (baked into the image): good | needs-jwt | unhealthy |
# wrong-version | slow.
set -u
# PID 1 ignores SIGTERM without a handler: trap it first thing, so that `podman stop`
# is quick at any moment, even during start-up.
nc_pid=""
trap 'kill "$nc_pid" 2>/dev/null; exit 0' TERM INT
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
date +%s >/tmp/started-at
echo "backend $APP_VERSION listening on ${PORT:-8000} (behavior ${FAKE_BEHAVIOR:-good})" >&2
nc -ll -p "${PORT:-8000}" -e /app/backend_handler.sh &
nc_pid=$!
wait "$nc_pid"
