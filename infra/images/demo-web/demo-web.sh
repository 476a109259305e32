#!/bin/sh
# Entry point of localhost/berth/demo-web: serve a page naming this container's hostname
# (and $MESSAGE, if set) on $PORT. Needs no capabilities and no particular user.
set -eu
www=/tmp/www
port="${PORT:-8080}"
mkdir -p "$www"
{
  echo "Hello from Berth demo-web on $(hostname)"
  if [ -n "${MESSAGE:-}" ]; then echo "$MESSAGE"; fi
} >"$www/index.html"
echo ok >"$www/healthz"
echo "demo-web: serving $www on port $port as uid $(id -u)"
# Not `exec httpd`: as PID 1, busybox httpd ignores SIGTERM, so every `stop` would wait out its
# whole timeout (10 s) before SIGKILL. The shell stays PID 1 and exits on TERM/INT instead;
# the kernel then ends httpd with the container.
httpd -f -p "$port" -h "$www" &
trap 'exit 0' TERM INT
wait $!
