#!/bin/sh
# One HTTP exchange of the fake backend: GET /health and /api/health (the
# contract's body), GET /api/updates/status (the status file as it is), and
# POST /api/updates/upgrade?target=X.Y.Z (writes the marker as the app does).
cr=$(printf '\r')
read -r method target _proto || exit 0
while IFS= read -r line; do
  line=${line%"$cr"}
  [ -z "$line" ] && break
done

respond() { # status reason body
  len=$(printf '%s' "$3" | wc -c)
  printf 'HTTP/1.1 %s %s\r\nContent-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
    "$1" "$2" "$len" "$3"
}

now() { date -u +%Y-%m-%dT%H:%M:%SZ; }

health() {
  started=$(cat /tmp/started-at 2>/dev/null || date +%s)
  uptime=$(($(date +%s) - started))
  version=$APP_VERSION
  status=healthy
  code="200 OK"
  check='{"name":"database","status":"ok","message":"fake","response_time_ms":0.2}'
  case "${FAKE_BEHAVIOR:-good}" in
  unhealthy)
    status=unhealthy
    code="503 Service Unavailable"
    check='{"name":"database","status":"error","message":"database is locked","response_time_ms":5000.0}'
    ;;
  wrong-version) version=${FAKE_REPORTED_VERSION:-0.0.1} ;;
  esac
  body=$(printf '{"status":"%s","app":"Graphēon","version":"%s","uptime_seconds":%s.0,"checks":[%s],"timestamp":"%s"}' \
    "$status" "$version" "$uptime" "$check" "$(now)")
  respond "${code% *}" "${code#* }" "$body"
}

case "$method $target" in
"GET /health" | "GET /api/health") health ;;
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
