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
  # busybox wget, not nc: nc half-closes after the request, and systemd-socket-proxyd then
  # drops the exchange (nginx keeps its side open). wget prints an error status as "server
  # returned error: HTTP/1.1 503 …" and keeps no error body (its -S and -T crash in the static
  # busybox): an error is relayed with an empty body; a client judges the status line.
  body=/tmp/relay-body.$$
  head=/tmp/relay-head.$$
  if wget -q -O "$body" "http://$(cat /tmp/backend-address):8000$target" 2>"$head"; then
    status=200
  else
    status=$(awk '/server returned error: HTTP\// { s = $6 } END { print s }' "$head")
  fi
  if [ -n "$status" ]; then
    len=$(wc -c <"$body" 2>/dev/null || echo 0)
    printf 'HTTP/1.1 %s Relayed\r\nContent-Type: application/json\r\nContent-Length: %s\r\nConnection: close\r\n\r\n' \
      "$status" "$len"
    cat "$body" 2>/dev/null
  else
    msg='<html><title>502 Bad Gateway</title></html>'
    printf 'HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
      "${#msg}" "$msg"
  fi
  rm -f "$body" "$head"
  exit 0
  ;;
esac
body="<!doctype html><title>Graphēon</title><p>frontend $APP_VERSION</p>"
len=$(printf '%s' "$body" | wc -c)
printf 'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
  "$len" "$body"
