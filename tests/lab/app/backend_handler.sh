#!/bin/sh
# The fake backend's rarer routes, run by fdserve once per connection (fdserve.c answers
# GET /health and /api/health in its own process, with the contract's body):
# GET /api/updates/status (the status file as it is), and
# POST /api/updates/upgrade?target=X.Y.Z (writes the marker as the app does). fdserve has
# read the request head: REQUEST_METHOD and REQUEST_TARGET hold its first line.
method=${REQUEST_METHOD:-}
target=${REQUEST_TARGET:-}

respond() { # status reason body
  len=$(printf '%s' "$3" | wc -c)
  printf 'HTTP/1.1 %s %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
    "$1" "$2" "$len" "$3"
}

case "$method $target" in
"GET /api/updates/status")
  if [ -f "$DATA_DIR/upgrade-status.json" ]; then
    respond 200 OK "$(cat "$DATA_DIR/upgrade-status.json")"
  else
    respond 200 OK '{"status":"idle"}'
  fi
  ;;
"POST /api/updates/upgrade?target="*)
  want=${target#*=}
  case "$want" in
  "" | *[!0-9.]*) respond 400 "Bad Request" '{"detail":"bad target"}' ;;
  *)
    # Written in place, as the app does (the tool must cope with that).
    printf '{"requested_at": "%s", "current_version": "%s", "target_version": "%s", "target_backend_version": "%s", "target_frontend_version": "%s"}' \
      "$(date -u +%Y-%m-%dT%H:%M:%S)Z" "$APP_VERSION" "$want" "$want" "$want" >"$DATA_DIR/upgrade-requested"
    respond 200 OK '{"status":"requested"}'
    ;;
  esac
  ;;
*) respond 404 "Not Found" '{"detail":"Not Found"}' ;;
esac
