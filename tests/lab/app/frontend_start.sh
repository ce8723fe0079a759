#!/bin/sh
# Fake Graphēon frontend (lab only), standing in for the real image's nginx
# (frontend/nginx.conf upstream: `listen 8080`, `location /api/ { proxy_pass
# http://grapheon-backend:8000; }`): it resolves the backend's name once, at start, as
# nginx does for a static proxy_pass name (and exits if it cannot), then answers every
# request: /api/* proxied to that address, anything else with a page naming its version.
# Like nginx with NGINX="3;" it serves an inherited socket, and only one bound to all IPv4
# addresses on its port (nginx adopts a socket only for the address its `listen` names).
set -u
# PID 1 ignores SIGTERM without a handler: trap it first thing.
nc_pid=""
# The server is waited for: fdserve answers the connections it took before it exits.
trap 'if [ -n "$nc_pid" ]; then kill "$nc_pid" 2>/dev/null; wait "$nc_pid"; fi; exit 0' TERM INT
: "${APP_VERSION:?APP_VERSION is baked into the image}"
port=${PORT:-8080}
backend=grapheon-backend
# /etc/hosts first (where podman --add-host writes), then DNS, as the C library does.
ip=$(awk -v n="$backend" '!/^#/ { for (i = 2; i <= NF; i++) if ($i == n) { print $1; exit } }' /etc/hosts)
if [ -z "$ip" ]; then
  ip=$(nslookup "$backend" 2>/dev/null | awk '/^Address/ { a = $NF } END { print a }')
  case "$ip" in *:53 | *#53) ip="" ;; esac
fi
if [ -z "$ip" ]; then
  echo "frontend $APP_VERSION: host not found in upstream \"$backend:8000\"" >&2
  exit 1
fi
inherited=${NGINX:-}
if [ -n "$inherited" ]; then
  fd=${inherited%%[;:]*}
  echo "frontend $APP_VERSION using inherited socket $fd; backend $backend at $ip" >&2
  /bin/fdserve frontend "fd:$fd:$port" "$ip" &
else
  echo "frontend $APP_VERSION listening on $port; backend $backend at $ip" >&2
  /bin/fdserve frontend "port:$port" "$ip" &
fi
nc_pid=$!
wait "$nc_pid"
