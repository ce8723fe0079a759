#!/bin/sh
# One HTTP exchange of the fake frontend: a small page with its version.
cr=$(printf '\r')
read -r _method _target _proto || exit 0
while IFS= read -r line; do
  line=${line%"$cr"}
  [ -z "$line" ] && break
done
body="<!doctype html><title>Graphēon</title><p>frontend $APP_VERSION</p>"
len=$(printf '%s' "$body" | wc -c)
printf 'HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
  "$len" "$body"
