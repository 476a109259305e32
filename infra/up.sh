#!/usr/bin/env bash
# `npm run up`: everything a developer needs, in the foreground.
#   dependencies (npm ci, from the lockfile, when node_modules is missing or stale) → Postgres, Redis, Podman, demo image,
#   registry (infra/services.sh up) → the demo and pause images pushed to the registry as library/demo-web and library/pause
#   → migrations → control-api, provisioner and the ingress gateway, until Ctrl-C.
# Ctrl-C / SIGTERM stops both apps (SIGTERM to each process tree, SIGKILL after
# BERTH_STOP_TIMEOUT seconds) and exits 0; if one app dies, the other is stopped and this exits
# non-zero. The backing services keep running: `npm run services -- down` stops them.
# Passed through: PORT (8080), HOST (127.0.0.1), PROVISIONER_PORT (8081), GATEWAY_HTTP_PORT (8880),
# GATEWAY_HTTPS_PORT (8443), GATEWAY_ADMIN_PORT (9480), GATEWAY_HOST (127.0.0.1), LOG_LEVEL,
# DATABASE_URL, REDIS_URL, CONTAINER_HOST, BERTH_MASTER_KEY, QUEUE_PREFIX.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"
LOGS=$ROOT/.data/logs
STOP_TIMEOUT=${BERTH_STOP_TIMEOUT:-15}
READY_TIMEOUT=${BERTH_READY_TIMEOUT:-60}
APPS=(control-api provisioner gateway)

say() { printf '[up] %s\n' "$*"; }
die() {
  printf '[up] error: %s\n' "$*" >&2
  exit 1
}
# Children that the terminal's Ctrl-C must not kill: when a foreground child dies of SIGINT,
# bash runs the trap and then exits (130) instead of carrying on with the shutdown.
nap() { (trap '' INT && exec sleep "$1"); }
probe() { (trap '' INT && exec curl -fsS -o /dev/null --max-time 2 "$1" 2>/dev/null); }
now_ms() { NOW_MS=$((${EPOCHREALTIME//[!0-9]/} / 1000)); }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

source infra/deps.sh
ensure_node_modules

bash infra/services.sh up
service_env=$(bash infra/services.sh env)
eval "$service_env"

# The platform's images in the registry's public namespace, which every tenant may pull and only the
# platform pushes: <REGISTRY_URL's host>/library/demo-web:latest, and library/pause:latest, the pod
# sandbox that local-vm nodes pull (their agents rewrite localhost/berth/ to it). Signed with the
# registry token key (the platform's own push token), so it needs no API; skipped for a registry of
# your own.
publish_image() { # local image, repository in library/
  local image=$1 repository=$2 layout out
  layout=$ROOT/.data/registry/${repository##*/}.oci
  rm -rf "$layout"
  # The podman CLI on local storage (CONTAINER_HOST would make it remote).
  if ! out=$( (unset CONTAINER_HOST && podman save -q --format oci-dir -o "$layout" "$image") 2>&1); then
    say "warning: could not export $image for the registry: $out"
    return 0
  fi
  out=$(npx --no-install tsx packages/registry/scripts/push-platform-image.ts --registry "$REGISTRY_URL" \
    --key "$REGISTRY_TOKEN_KEY_FILE" --service "$REGISTRY_SERVICE" --issuer "$REGISTRY_TOKEN_ISSUER" \
    --layout "$layout" --repository "$repository" --tag latest 2>&1) || die "pushing $image to $REGISTRY_URL failed: $out"
  rm -rf "$layout"
  say "registry: $out"
}
if [[ -z ${REGISTRY_TOKEN_KEY_FILE:-} ]]; then
  say "registry: REGISTRY_URL is your own; the platform's images are not pushed there"
else
  publish_image localhost/berth/demo-web:latest library/demo-web
  publish_image localhost/berth/pause:latest library/pause
fi

# Development, said explicitly: a master key is generated and kept under .data/ when none is given.
export BERTH_DEV=${BERTH_DEV:-1}
export PORT=${PORT:-8080} HOST=${HOST:-127.0.0.1} PROVISIONER_PORT=${PROVISIONER_PORT:-8081}
# The ingress gateway: unprivileged ports on loopback in development (80/443 in production).
export GATEWAY_HOST=${GATEWAY_HOST:-127.0.0.1} GATEWAY_HTTP_PORT=${GATEWAY_HTTP_PORT:-8880}
export GATEWAY_HTTPS_PORT=${GATEWAY_HTTPS_PORT:-8443} GATEWAY_ADMIN_PORT=${GATEWAY_ADMIN_PORT:-9480}
for port in "$PORT" "$PROVISIONER_PORT" "$GATEWAY_HTTP_PORT" "$GATEWAY_HTTPS_PORT" "$GATEWAY_ADMIN_PORT"; do
  port_open "$port" && die "port $port is already in use (another \`npm run up\`?); stop it, or set PORT / PROVISIONER_PORT / GATEWAY_*_PORT"
done
case $HOST in
0.0.0.0 | :: | "") url_host=127.0.0.1 ;;
*:*) url_host="[$HOST]" ;;
*) url_host=$HOST ;;
esac
API_URL=http://$url_host:$PORT

say "applying database migrations ..."
npm run --silent migrate || die "migrations failed (npm run migrate)"

# ---------------------------------------------------------------------------------------------
# The apps. Each runs in its own session (setsid), so its process group holds the whole tree
# (npm → sh → tsx → node) and is signalled as one. Output goes to .data/logs/<app>.log and,
# prefixed, to this terminal; the prefixers ignore Ctrl-C so that shutdown logs still arrive.

declare -A APP_PID=()
STOPPING=
FORCE=

start_app() {
  local name=$1 log=$LOGS/$1.log
  : >"$log"
  setsid npm run --silent start -w "@berth/$name" </dev/null \
    > >(
      trap '' INT TERM
      tee -a "$log" | sed -u "s/^/[$name] /"
    ) 2>&1 &
  APP_PID[$name]=$!
}

# Is any process of group $1 still running? Zombies do not count: this machine's PID 1 reaps
# orphans lazily, and tsx's parent exits before it does.
group_alive() {
  local f stat state pgrp
  for f in /proc/[0-9]*/stat; do
    { read -r stat <"$f"; } 2>/dev/null || continue
    stat=${stat##*) }
    read -r state _ pgrp _ <<<"$stat"
    [[ $pgrp == "$1" && $state != Z ]] && return 0
  done
  return 1
}

stop_apps() {
  local name pid deadline
  for name in "${!APP_PID[@]}"; do
    kill -TERM -- "-${APP_PID[$name]}" 2>/dev/null || true
  done
  deadline=$((SECONDS + STOP_TIMEOUT))
  for name in "${!APP_PID[@]}"; do
    pid=${APP_PID[$name]}
    while group_alive "$pid" && [[ -z $FORCE ]] && ((SECONDS < deadline)); do
      nap 0.2
    done
    if group_alive "$pid"; then
      if [[ -n $FORCE ]]; then say "killing $name"; else say "$name did not stop in ${STOP_TIMEOUT}s; killing it"; fi
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    unset "APP_PID[$name]"
  done
}

# The traps only take note; the main flow does the stopping (running it inside a trap lets a
# second signal interrupt it halfway).
on_signal() {
  now_ms
  if [[ -z $STOPPING ]]; then
    STOPPING=$NOW_MS
  elif ((NOW_MS - STOPPING >= 500)); then
    # A second Ctrl-C skips the graceful wait. Not the echo of the first one: npm forwards the
    # terminal's SIGINT to its script, so one keypress can arrive twice.
    FORCE=1
  fi
}

stop_and_exit() {
  printf '\n'
  say "stopping the apps (Postgres, Redis and Podman keep running; \`npm run services -- down\` stops them)"
  stop_apps
  say "stopped"
  exit 0
}

show_logs() {
  local name
  for name in "${APPS[@]}"; do
    printf -- '--- last lines of .data/logs/%s.log ---\n' "$name" >&2
    tail -n 20 "$LOGS/$name.log" >&2 || true
  done
}

mkdir -p "$LOGS"
trap on_signal INT TERM
trap stop_apps EXIT
for app in "${APPS[@]}"; do start_app "$app"; done

# Which app has exited? Sets DEAD (empty if none); no subshell, see nap().
dead_app() {
  local name
  DEAD=
  for name in "${!APP_PID[@]}"; do
    if ! kill -0 "${APP_PID[$name]}" 2>/dev/null; then
      DEAD=$name
      return
    fi
  done
}

app_died() { # name [exit code, when already reaped]
  local code=${2:-}
  if [[ -z $code ]]; then
    code=0
    wait "${APP_PID[$1]}" 2>/dev/null || code=$?
  fi
  say "$1 exited (code $code); stopping the other app. Logs: .data/logs/"
  stop_apps # both groups: the dead app's may still hold orphans
  exit $((code == 0 ? 1 : code))
}

deadline=$((SECONDS + READY_TIMEOUT))
until probe "$API_URL/readyz"; do
  if [[ -n $STOPPING ]]; then stop_and_exit; fi
  dead_app
  if [[ -n $DEAD ]]; then app_died "$DEAD"; fi
  if ((SECONDS >= deadline)); then
    say "control-api is not ready after ${READY_TIMEOUT}s ($API_URL/readyz); stopping"
    show_logs
    stop_apps
    exit 1
  fi
  nap 0.5
done
if [[ -n $STOPPING ]]; then stop_and_exit; fi

cat <<EOF
[up] Berth is up: $API_URL  (provisioner health: http://127.0.0.1:$PROVISIONER_PORT)
[up] ingress gateway: http://$GATEWAY_HOST:$GATEWAY_HTTP_PORT https://$GATEWAY_HOST:$GATEWAY_HTTPS_PORT (health and metrics: http://127.0.0.1:$GATEWAY_ADMIN_PORT)
[up] next, create a tenant:
  curl -s -X POST $API_URL/v1/signup -H 'content-type: application/json' -d '{"tenantName":"acme","email":"me@acme.test","password":"correct horse battery"}'
[up] see README for the walkthrough. Ctrl-C stops the apps; logs are in .data/logs/.
EOF

while :; do
  finished='' code=0
  wait -n -p finished "${APP_PID[@]}" || code=$?
  # A trapped signal interrupts `wait` as well.
  if [[ -n $STOPPING ]]; then stop_and_exit; fi
  for app in "${!APP_PID[@]}"; do
    if [[ ${APP_PID[$app]} == "$finished" ]]; then app_died "$app" "$code"; fi
  done
  dead_app
  if [[ -n $DEAD ]]; then app_died "$DEAD"; fi
done
