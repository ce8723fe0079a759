#!/bin/sh
# Fake Graphēon frontend (lab only): answers every request on $PORT with a page
# naming its version.
set -u
# PID 1 ignores SIGTERM without a handler: trap it first thing.
nc_pid=""
trap 'kill "$nc_pid" 2>/dev/null; exit 0' TERM INT
: "${APP_VERSION:?APP_VERSION is baked into the image}"
echo "frontend $APP_VERSION listening on ${PORT:-8080}" >&2
nc -ll -p "${PORT:-8080}" -e /app/frontend_handler.sh &
nc_pid=$!
wait "$nc_pid"
