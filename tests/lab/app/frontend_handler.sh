#!/bin/sh
# One HTTP exchange of the fake frontend: /api/* relayed to the backend at the address
# resolved at start (502 when it does not answer, as nginx), else a page with its version.
cr=$(printf '\r')
read -r method target _proto || exit 0
while IFS= read -r line; do
  line=${line%"$cr"}
  [ -z "$line" ] && break
done
case "$target" in
/api/*)
  out=/tmp/relay.$$
  printf '%s %s HTTP/1.0\r\nHost: grapheon-backend\r\nConnection: close\r\n\r\n' "$method" "$target" |
    nc -w 30 "$(cat /tmp/backend-address)" 8000 >"$out" 2>/dev/null
  if [ -s "$out" ]; then
    cat "$out"
  else
    body='<html><title>502 Bad Gateway</title></html>'
    printf 'HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
      "${#body}" "$body"
  fi
  rm -f "$out"
  exit 0
  ;;
esac
body="<!doctype html><title>Graphēon</title><p>frontend $APP_VERSION</p>"
len=$(printf '%s' "$body" | wc -c)
printf 'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
  "$len" "$body"
