#!/usr/bin/env bash
# Berth's backing services for development, tests and CI: Postgres 15, Redis 7, Podman's
# Docker-compatible API and the image registry (infra/registry.sh), plus the local demo image
# localhost/berth/demo-web:latest and the local-vm guest image (.data/guest/current, made by
# infra/guest/build.sh).
#
#   infra/services.sh up       install missing Debian packages, start (or reuse) everything
#   infra/services.sh down     stop what `up` started here (data in .data/ is kept)
#   infra/services.sh status   what is running (exit 1 if something is down)
#   infra/services.sh env      `export …` lines for eval: DATABASE_URL (+ _SYSTEM_, _MIGRATION_), REDIS_URL, CONTAINER_HOST,
#                              REGISTRY_URL (+ REGISTRY_SERVICE, _TOKEN_ISSUER, _TOKEN_KEY_FILE, _TOKEN_CERT_FILE)
#   infra/services.sh check    run the demo image (non-root, no capabilities, memory limit,
#                              published port) through the container API and curl it
#
# DATABASE_URL, REDIS_URL and CONTAINER_HOST (or DOCKER_HOST) that are already set, and differ
# from the local defaults, name services of your own: they are checked, never started.
# BERTH_PG_FAST=1 starts Postgres without fsync (throw-away data, e.g. CI).
# BERTH_PG_PORT / BERTH_REDIS_PORT move the local services off 55432 / 56379.
# State and logs live in <repo>/.data/ (git-ignored).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
DATA=$ROOT/.data

PG_BIN=/usr/lib/postgresql/15/bin
PG_PORT=${BERTH_PG_PORT:-55432}
PG_DIR=$DATA/pg
PGDATA_DIR=$PG_DIR/data
PG_LOG=$PG_DIR/postgres.log
# Three roles: berth owns the schema (migrations); the apps connect as berth_app (tenant-scoped,
# row-level security) and berth_system (the platform's work across tenants).
LOCAL_DATABASE_URL=postgres://berth_app@127.0.0.1:$PG_PORT/berth
LOCAL_DATABASE_SYSTEM_URL=postgres://berth_system@127.0.0.1:$PG_PORT/berth
LOCAL_DATABASE_MIGRATION_URL=postgres://berth@127.0.0.1:$PG_PORT/berth

REDIS_PORT=${BERTH_REDIS_PORT:-56379}
REDIS_DIR=$DATA/redis
LOCAL_REDIS_URL=redis://127.0.0.1:$REDIS_PORT

PODMAN_CONF=$ROOT/infra/podman/containers.conf
PODMAN_DIR=$DATA/podman
PODMAN_SOCK=$PODMAN_DIR/podman.sock
if ((${#PODMAN_SOCK} > 100)); then
  # A unix socket path must fit in 108 bytes; deep checkouts get one in /tmp instead.
  PODMAN_SOCK=/tmp/berth-podman-$(printf '%s' "$ROOT" | sha256sum | cut -c1-12).sock
fi
PODMAN_PID=$PODMAN_DIR/podman.pid
# Written by podman_up from the registry's address (registry_podman_conf); the service and the CLI read it.
PODMAN_REGISTRIES_CONF=$PODMAN_DIR/registries.conf
PODMAN_LOG=$PODMAN_DIR/podman.log
LOCAL_CONTAINER_HOST=unix://$PODMAN_SOCK

DEMO_IMAGE=localhost/berth/demo-web:latest
DEMO_SRC=$ROOT/infra/images/demo-web
PAUSE_IMAGE=localhost/berth/pause:latest
PAUSE_SRC=$ROOT/infra/images/pause
API_VERSION=v1.41
# shellcheck source=infra/registry.sh
source "$ROOT/infra/registry.sh"

# Values given by the caller win; a value equal to the local default still means "start it here".
GIVEN_DATABASE_URL=${DATABASE_URL:-}
GIVEN_REDIS_URL=${REDIS_URL:-}
GIVEN_CONTAINER_HOST=${CONTAINER_HOST:-${DOCKER_HOST:-}}
[[ $GIVEN_DATABASE_URL == "$LOCAL_DATABASE_URL" ]] && GIVEN_DATABASE_URL=
# (the owner's URL was the apps' URL before the apps got roles of their own)
[[ $GIVEN_DATABASE_URL == "$LOCAL_DATABASE_MIGRATION_URL" ]] && GIVEN_DATABASE_URL=
[[ $GIVEN_REDIS_URL == "$LOCAL_REDIS_URL" ]] && GIVEN_REDIS_URL=
[[ $GIVEN_CONTAINER_HOST == "$LOCAL_CONTAINER_HOST" ]] && GIVEN_CONTAINER_HOST=
EFFECTIVE_DATABASE_URL=${GIVEN_DATABASE_URL:-$LOCAL_DATABASE_URL}
# With a Postgres of your own, give all three URLs (README, Operations).
if [[ -n $GIVEN_DATABASE_URL ]]; then
  EFFECTIVE_DATABASE_SYSTEM_URL=${DATABASE_SYSTEM_URL:?DATABASE_URL is given: give DATABASE_SYSTEM_URL too}
  EFFECTIVE_DATABASE_MIGRATION_URL=${DATABASE_MIGRATION_URL:?DATABASE_URL is given: give DATABASE_MIGRATION_URL too}
else
  EFFECTIVE_DATABASE_SYSTEM_URL=$LOCAL_DATABASE_SYSTEM_URL
  EFFECTIVE_DATABASE_MIGRATION_URL=$LOCAL_DATABASE_MIGRATION_URL
fi
EFFECTIVE_REDIS_URL=${GIVEN_REDIS_URL:-$LOCAL_REDIS_URL}
EFFECTIVE_CONTAINER_HOST=${GIVEN_CONTAINER_HOST:-$LOCAL_CONTAINER_HOST}

# The podman CLI must talk to local storage with the project's settings, never to a remote.
unset CONTAINER_HOST CONTAINER_CONNECTION
export CONTAINERS_CONF=$PODMAN_CONF
# Podman refuses to run with a CONTAINERS_REGISTRIES_CONF that does not exist: set once it is written.
[[ -f $PODMAN_REGISTRIES_CONF ]] && export CONTAINERS_REGISTRIES_CONF=$PODMAN_REGISTRIES_CONF
export PGCONNECT_TIMEOUT=5

say() { printf '%s\n' "$*"; }
warn() { printf 'services: warning: %s\n' "$*" >&2; }
die() {
  printf 'services: error: %s\n' "$*" >&2
  exit 1
}
is_root() { [[ $(id -u) == 0 ]]; }
# Print the last lines of a log file to stderr, for failures.
show_log() {
  if [[ -f $1 ]]; then
    printf -- '--- last lines of %s ---\n' "$1" >&2
    tail -n "${2:-25}" "$1" >&2
  fi
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# ---------------------------------------------------------------------------------------------
# Packages

wanted_packages() {
  local pkgs=(curl)
  [[ -z $GIVEN_DATABASE_URL ]] && pkgs+=(postgresql-15 postgresql-client-15)
  [[ -z $GIVEN_REDIS_URL ]] && pkgs+=(redis-server redis-tools)
  # busybox-static is the demo image's only content, catatonit the pause image's (the node
  # agent's pod sandboxes), whichever engine builds them; HAProxy serves the ingress gateway's
  # traffic; wrk is the load generator of the benches.
  pkgs+=(busybox-static catatonit haproxy wrk)
  # The image registry (CNCF Distribution) and what makes its token signing key.
  [[ -z $GIVEN_REGISTRY_URL ]] && pkgs+=(docker-registry openssl)
  # The node agent's native runtime: gcc and libc6-dev build its static berth-shim, ip and
  # iptables wire its containers' networks; its tests pull from a docker-registry of their own
  # (openssl makes the token-auth one's certificate).
  pkgs+=(gcc libc6-dev iproute2 iptables docker-registry openssl)
  # local-vm machines: QEMU (qemu-img makes PersistentVolumeClaims' qcow2 disks), and what
  # infra/guest/build.sh makes their guest image with (its e2fsprogs also goes into the guest).
  pkgs+=(qemu-system-x86 qemu-utils cpio kmod lz4 e2fsprogs binutils)
  # The set verified on these machines (ENVIRONMENT.md); runc first so apt never picks crun.
  [[ -z $GIVEN_CONTAINER_HOST ]] && pkgs+=(runc podman uidmap slirp4netns fuse-overlayfs)
  printf '%s\n' "${pkgs[@]}"
}

install_missing_packages() {
  local missing=() pkg
  while read -r pkg; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done < <(wanted_packages)
  ((${#missing[@]} == 0)) && return 0

  if ! command -v apt-get >/dev/null; then
    die "missing ${missing[*]} and apt-get is not available (not Debian?). Install Postgres 15, Redis 7,
podman + runc and a static busybox by hand, or point DATABASE_URL / REDIS_URL / CONTAINER_HOST at
services you already run."
  fi
  if ! is_root; then
    die "missing Debian packages: ${missing[*]}. Installing them needs root; run
  sudo apt-get update && sudo apt-get install -y ${missing[*]}
then run this again (or run it as root)."
  fi

  local log=$DATA/apt.log started
  started=$(date +%s%N)
  say "installing ${missing[*]} (apt-get; log: ${log#"$ROOT"/}) ..."
  # Daemons are started by this script on their own ports, never by the packages' postinst.
  local own_policy=
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    own_policy=1
  fi
  local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=300
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold)
  local ok=1
  { "${apt[@]}" update && "${apt[@]}" install "${missing[@]}"; } </dev/null >"$log" 2>&1 || ok=
  [[ -n $own_policy ]] && rm -f /usr/sbin/policy-rc.d
  if [[ -z $ok ]]; then
    show_log "$log" 30
    die "apt-get could not install ${missing[*]} (is Debian's archive reachable?). Full log: $log"
  fi
  say "installed in $(ms_since "$started") ms"
}

# ---------------------------------------------------------------------------------------------
# Postgres

as_postgres() {
  if is_root; then runuser -u postgres -- "$@"; else "$@"; fi
}
pg_ours_running() {
  [[ -f $PGDATA_DIR/PG_VERSION ]] && as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" status >/dev/null 2>&1
}
psql_admin() {
  psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres "$@"
}

# .data/pg must belong to the postgres user, and every directory above it must be traversable
# by that user (a checkout under /root is not, by default).
pg_prepare_dir() {
  mkdir -p "$PG_DIR"
  is_root || return 0
  [[ $(stat -c %U "$PG_DIR") == postgres ]] || chown -R postgres:postgres "$PG_DIR"
  runuser -u postgres -- test -w "$PG_DIR" && return 0
  local d=$PG_DIR perms
  while [[ $d != / ]]; do
    perms=$(stat -c %A "$d")
    if [[ ${perms:9:1} != x && ${perms:9:1} != t ]]; then
      chmod o+x "$d"
      say "note: chmod o+x $d (the postgres user must reach ${PG_DIR#"$ROOT"/})"
    fi
    d=$(dirname "$d")
  done
  runuser -u postgres -- test -w "$PG_DIR" ||
    die "the postgres user cannot write $PG_DIR (ACLs or mount options?); move the checkout or set DATABASE_URL"
}

pg_up() {
  if [[ -n $GIVEN_DATABASE_URL ]]; then
    if command -v psql >/dev/null && ! psql -X -q -At "$GIVEN_DATABASE_URL" -c 'select 1' >/dev/null 2>&1; then
      warn "DATABASE_URL is set but does not answer: $GIVEN_DATABASE_URL"
    fi
    PG_STATE="given"
    return
  fi
  [[ -x $PG_BIN/initdb ]] || die "$PG_BIN/initdb not found (package postgresql-15)"

  pg_prepare_dir
  if [[ ! -f $PGDATA_DIR/PG_VERSION ]]; then
    rm -rf "$PGDATA_DIR"
    as_postgres "$PG_BIN/initdb" -D "$PGDATA_DIR" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
      --no-instructions >"$PG_DIR/initdb.log" 2>&1 || {
      show_log "$PG_DIR/initdb.log"
      die "initdb failed"
    }
  fi

  if pg_ours_running; then
    PG_STATE="reused"
  elif port_open "$PG_PORT"; then
    # Someone else's server on our port (another checkout?): use it if it lets us in.
    warn "port $PG_PORT is taken by a Postgres that is not $PGDATA_DIR; using it"
    PG_STATE="reused (not ours)"
  else
    local opts="-p $PG_PORT -k /tmp -c listen_addresses=127.0.0.1 -c max_connections=300"
    if [[ ${BERTH_PG_FAST:-} == 1 ]]; then
      # Throw-away data only: a crash can corrupt the cluster.
      opts+=" -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi
    # 9>&-: the daemons must not inherit (and so hold) the lock of with_lock.
    as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -o "$opts" -l "$PG_LOG" -w -t 60 start \
      </dev/null >"$PG_DIR/pg_ctl.log" 2>&1 9>&- || {
      show_log "$PG_LOG"
      die "Postgres did not start (log: $PG_LOG)"
    }
    PG_STATE="started"
    [[ ${BERTH_PG_FAST:-} == 1 ]] && PG_STATE+=", fsync off"
  fi

  # Role `berth` (no superuser, no RLS bypass) owns `berth` and runs migrations; the apps connect as
  # berth_app and berth_system, which own nothing (the migrations grant them what they may do).
  psql_admin >/dev/null <<'SQL' || die "could not create the roles berth, berth_app, berth_system on port $PG_PORT"
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'berth') THEN CREATE ROLE berth; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'berth_app') THEN CREATE ROLE berth_app; END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'berth_system') THEN CREATE ROLE berth_system; END IF;
END $$;
ALTER ROLE berth LOGIN CREATEDB NOSUPERUSER NOBYPASSRLS;
ALTER ROLE berth_app LOGIN NOCREATEDB NOCREATEROLE NOSUPERUSER NOBYPASSRLS;
ALTER ROLE berth_system LOGIN NOCREATEDB NOCREATEROLE NOSUPERUSER NOBYPASSRLS;
-- Dropping a test database WITH (FORCE) ends the apps' sessions in it, which are other roles'.
GRANT pg_signal_backend TO berth;
SQL
  if [[ $(psql_admin -At -c "SELECT 1 FROM pg_database WHERE datname = 'berth'") != 1 ]]; then
    psql_admin -c 'CREATE DATABASE berth OWNER berth' >/dev/null || die "could not create database berth"
  fi
}

pg_down() {
  if pg_ours_running; then
    as_postgres "$PG_BIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 60 stop >/dev/null
    say "postgres  stopped"
  else
    say "postgres  not running here"
  fi
}

# ---------------------------------------------------------------------------------------------
# Redis

redis_ping() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; }
redis_ours_pid() {
  local pid
  pid=$(cat "$REDIS_DIR/redis.pid" 2>/dev/null) || return 1
  [[ -n $pid ]] && grep -q redis-server "/proc/$pid/cmdline" 2>/dev/null && echo "$pid"
}

redis_up() {
  if [[ -n $GIVEN_REDIS_URL ]]; then
    if command -v redis-cli >/dev/null && ! redis-cli -u "$GIVEN_REDIS_URL" ping 2>/dev/null | grep -q PONG; then
      warn "REDIS_URL is set but does not answer PING: $GIVEN_REDIS_URL"
    fi
    REDIS_STATE="given"
    return
  fi
  mkdir -p "$REDIS_DIR"
  if redis_ping; then
    if redis_ours_pid >/dev/null; then REDIS_STATE="reused"; else
      warn "port $REDIS_PORT is taken by a Redis not started from $ROOT; using it"
      REDIS_STATE="reused (not ours)"
    fi
    return
  fi
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$REDIS_DIR" \
    --appendonly yes --appendfsync everysec --maxmemory-policy noeviction \
    --daemonize yes --logfile "$REDIS_DIR/redis.log" --pidfile "$REDIS_DIR/redis.pid" </dev/null 9>&- ||
    die "redis-server did not start"
  local i
  for ((i = 0; i < 100; i++)); do
    redis_ping && break
    sleep 0.1
  done
  redis_ping || {
    show_log "$REDIS_DIR/redis.log"
    die "Redis does not answer PING on port $REDIS_PORT (log: $REDIS_DIR/redis.log)"
  }
  REDIS_STATE="started"
}

redis_down() {
  local pid
  if pid=$(redis_ours_pid); then
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown >/dev/null 2>&1 || kill "$pid" 2>/dev/null || true
    wait_gone "$pid" 20
    say "redis     stopped"
  else
    say "redis     not running here"
  fi
}

# ---------------------------------------------------------------------------------------------
# Container engine (Podman's Docker-compatible API, or the one CONTAINER_HOST names)

# api METHOD PATH [curl args...]: one Engine API call against EFFECTIVE_CONTAINER_HOST.
api() {
  local method=$1 path=$2
  shift 2
  case $EFFECTIVE_CONTAINER_HOST in
  unix://*) curl -sS --max-time 120 --unix-socket "${EFFECTIVE_CONTAINER_HOST#unix://}" -X "$method" "$@" "http://d/$API_VERSION$path" ;;
  tcp://*) curl -sS --max-time 120 -X "$method" "$@" "http://${EFFECTIVE_CONTAINER_HOST#tcp://}/$API_VERSION$path" ;;
  http://* | https://*) curl -sS --max-time 120 -X "$method" "$@" "${EFFECTIVE_CONTAINER_HOST%/}/$API_VERSION$path" ;;
  *) return 2 ;;
  esac
}
api_ping() { [[ $(api GET /_ping --max-time 5 2>/dev/null) == OK ]]; }
# json EXPR: evaluate a JavaScript expression over the JSON document on stdin (bound to `j`).
json() {
  node -e '
    let s = "";
    process.stdin.on("data", (d) => (s += d)).on("end", () => {
      let v;
      try { v = new Function("j", "return (" + process.argv[1] + ")")(JSON.parse(s)); } catch {}
      if (v !== undefined && v !== null) process.stdout.write(String(v));
    });' "$1"
}
podman_service_pid() {
  local pid
  pid=$(cat "$PODMAN_PID" 2>/dev/null) || return 1
  [[ -n $pid ]] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'system service' && echo "$pid"
}
# A process that exists and is not a zombie (this machine's PID 1 reaps orphans only lazily).
alive() {
  local stat
  stat=$(<"/proc/$1/stat") 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}
wait_gone() { # pid, tenths of a second
  local i
  for ((i = 0; i < $2; i++)); do
    alive "$1" || return 0
    sleep 0.1
  done
  return 1
}

podman_up() {
  if [[ -n $GIVEN_CONTAINER_HOST ]]; then
    case $GIVEN_CONTAINER_HOST in
    unix://* | tcp://* | http://* | https://*) ;;
    *) die "CONTAINER_HOST=$GIVEN_CONTAINER_HOST: only unix://, tcp:// and http(s):// are supported here" ;;
    esac
    api_ping || die "CONTAINER_HOST is set but $GIVEN_CONTAINER_HOST does not answer /_ping"
    PODMAN_STATE="given"
    return
  fi
  command -v podman >/dev/null || die "podman not found (package podman)"
  mkdir -p "$PODMAN_DIR"
  local want changed=1
  want=$(registry_podman_conf)
  [[ -f $PODMAN_REGISTRIES_CONF && $(<"$PODMAN_REGISTRIES_CONF") == "$want" ]] && changed=
  printf '%s\n' "$want" >"$PODMAN_REGISTRIES_CONF"
  export CONTAINERS_REGISTRIES_CONF=$PODMAN_REGISTRIES_CONF
  # A service started before the file changed, or without it, reads the old one: ours is restarted
  # (its containers keep running under conmon), one not ours is used as it is.
  local running= stale=
  if running=$(podman_service_pid); then
    tr '\0' '\n' <"/proc/$running/environ" 2>/dev/null |
      grep -qxF "CONTAINERS_REGISTRIES_CONF=$PODMAN_REGISTRIES_CONF" || stale=1
  fi
  if api_ping && { [[ -z $changed && -z $stale ]] || [[ -z $running ]]; }; then
    PODMAN_STATE="reused"
    return
  fi
  local pid
  if pid=$(podman_service_pid); then # alive but not answering: replace it
    kill "$pid" 2>/dev/null || true
    wait_gone "$pid" 50 || kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$PODMAN_SOCK"
  # Own session, stdio on files: it outlives this script and holds no caller's pipe open.
  setsid nohup podman system service --time=0 "unix://$PODMAN_SOCK" </dev/null >>"$PODMAN_LOG" 2>&1 9>&- &
  echo $! >"$PODMAN_PID"
  local i
  for ((i = 0; i < 300; i++)); do
    api_ping && break
    alive "$(cat "$PODMAN_PID")" || break
    sleep 0.1
  done
  api_ping || {
    show_log "$PODMAN_LOG"
    die "podman system service does not answer on $PODMAN_SOCK (log: $PODMAN_LOG)"
  }
  PODMAN_STATE="started"
}

podman_down() {
  local pid
  if pid=$(podman_service_pid); then
    kill "$pid" 2>/dev/null || true
    wait_gone "$pid" 100 || kill -9 "$pid" 2>/dev/null || true
    rm -f "$PODMAN_SOCK" "$PODMAN_PID"
    say "podman    stopped (containers it started keep running; \`podman ps\` lists them)"
  else
    say "podman    not running here"
  fi
}

# An image is rebuilt only when its context (its directory + the one binary copied in) changes;
# the context's hash is stored in the image as the label berth.context-hash.
#   image_context_hash <src dir> <binary>
image_context_hash() {
  {
    (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
    sha256sum <"$2"
  } | sha256sum | cut -c1-32
}
# image_hash <image>
image_hash() {
  api GET "/images/$1/json" 2>/dev/null | json 'j.Config && j.Config.Labels && j.Config.Labels["berth.context-hash"]'
}
demo_image_hash() { image_hash "$DEMO_IMAGE"; }

# image_up <image> <src dir> <binary> <its name in the context>: sets BUILT to present|built.
image_up() {
  local image=$1 src=$2 binary=$3 as=$4
  [[ -x $binary ]] || die "$binary not found (package $(dpkg -S "$binary" 2>/dev/null | cut -d: -f1 || echo unknown))"
  local want have
  want=$(image_context_hash "$src" "$binary")
  have=$(image_hash "$image" || true)
  if [[ $want == "$have" ]]; then
    BUILT="present"
    return
  fi
  local base=${image##*/} stage log labels old_id new_id
  base=${base%%:*}
  stage=$DATA/build/$base log=$PODMAN_DIR/build-$base.log
  old_id=$(api GET "/images/$image/json" 2>/dev/null | json 'j.Id' || true)
  mkdir -p "$PODMAN_DIR"
  rm -rf "$stage"
  mkdir -p "$stage"
  cp -R "$src/." "$stage/"
  cp "$binary" "$stage/$as"
  chmod -R a+rX "$stage"
  chmod 755 "$stage/$as"
  find "$stage" -name '*.sh' -exec chmod 755 {} +
  labels=$(node -p 'encodeURIComponent(JSON.stringify({ "berth.context-hash": process.argv[1] }))' "$want")
  tar -C "$stage" -cf - . |
    api POST "/build?t=$image&dockerfile=Containerfile&rm=1&forcerm=1&labels=$labels" \
      -H 'Content-Type: application/x-tar' --data-binary @- >"$log" 2>&1 || true
  # The build endpoint answers 200 and reports failures inside its JSON stream.
  if grep -q '"error' "$log" || [[ $(image_hash "$image" || true) != "$want" ]]; then
    show_log "$log" 30
    die "building $image failed (log: $log)"
  fi
  new_id=$(api GET "/images/$image/json" | json 'j.Id' || true)
  if [[ -n $old_id && $old_id != "$new_id" ]]; then # best effort: it may still be in use
    api DELETE "/images/${old_id#sha256:}" >/dev/null 2>&1 || true
  fi
  BUILT="built"
}

# The local-vm guest image (kernel, initramfs, read-only disk), built when its inputs changed.
guest_image_up() {
  local log=$DATA/guest-build.log key
  key=$(bash "$ROOT/infra/guest/build.sh" --print-key 2>"$log") || {
    show_log "$log"
    die "the guest image's inputs could not be read (log: $log)"
  }
  if [[ -f $DATA/guest/$key/image.json ]]; then
    GUEST_STATE="present"
  else
    say "building the local-vm guest image (log: ${log#"$ROOT"/}) ..."
    bash "$ROOT/infra/guest/build.sh" >>"$log" 2>&1 || {
      show_log "$log"
      die "building the guest image failed (log: $log)"
    }
    GUEST_STATE="built"
  fi
  ln -sfn "$key" "$DATA/guest/current"
}

demo_image_up() {
  image_up "$DEMO_IMAGE" "$DEMO_SRC" /usr/bin/busybox busybox
  IMAGE_STATE=$BUILT
}

# The pods' sandbox (network namespace holder) image: Debian's static catatonit in pause mode.
pause_image_up() {
  image_up "$PAUSE_IMAGE" "$PAUSE_SRC" /usr/bin/catatonit catatonit
  PAUSE_STATE=$BUILT
}

# Run the demo image the way the node agent will: non-root, all capabilities dropped, a memory
# limit and a port published on 127.0.0.1; then fetch the page and expect the hostname in it.
demo_smoke_test() {
  local name=berth-smoke-$$ body id="" port="" hostname page i
  body=$(
    cat <<JSON
{"Image":"$DEMO_IMAGE","User":"65534:65534","Env":["MESSAGE=smoke test"],
 "Labels":{"berth.smoke-test":"1"},"ExposedPorts":{"8080/tcp":{}},
 "HostConfig":{"Memory":67108864,"CapDrop":["ALL"],"SecurityOpt":["no-new-privileges"],
  "PortBindings":{"8080/tcp":[{"HostIp":"127.0.0.1","HostPort":""}]}}}
JSON
  )
  id=$(api POST "/containers/create?name=$name" -H 'Content-Type: application/json' -d "$body" | json 'j.Id') ||
    true
  [[ -n $id ]] || die "smoke test: could not create a container from $DEMO_IMAGE"
  # shellcheck disable=SC2064 # expand $id now
  trap "api DELETE '/containers/$id?force=true' >/dev/null 2>&1 || true" EXIT
  api POST "/containers/$id/start" >/dev/null
  port=$(api GET "/containers/$id/json" | json 'j.NetworkSettings.Ports["8080/tcp"][0].HostPort')
  hostname=$(api GET "/containers/$id/json" | json 'j.Config.Hostname')
  [[ -n $port ]] || die "smoke test: no published port for 8080/tcp"
  for ((i = 0; i < 50; i++)); do
    page=$(curl -fsS --max-time 2 "http://127.0.0.1:$port/" 2>/dev/null) && break
    sleep 0.1
  done
  api DELETE "/containers/$id?force=true" >/dev/null 2>&1 || true
  trap - EXIT
  [[ ${page:-} == *"Hello from Berth demo-web on $hostname"* ]] ||
    die "smoke test: http://127.0.0.1:$port/ answered '${page:-nothing}', expected the container's hostname $hostname"
  SMOKE="smoke-tested"
}

# ---------------------------------------------------------------------------------------------
# Subcommands

with_lock() {
  mkdir -p "$DATA"
  exec 9>"$DATA/.services.lock"
  flock -w 600 9 || die "another infra/services.sh is still running (lock: $DATA/.services.lock)"
}

# The ingress gateway (HAProxy) opens a connection to a pod per request without keep-alive: with
# its connections' TIME_WAIT ports not reusable (Linux's default reuses them on loopback only) the
# ephemeral ports to one pod run out within seconds and every connect() scans them (measured: the
# gateway fell from ~5,500 to ~700 req/s). HAProxy's own advice for busy proxies; per host, as root.
tune_kernel() {
  local f=/proc/sys/net/ipv4/tcp_tw_reuse
  [[ -w $f && $(cat "$f") != 1 ]] && echo 1 >"$f" && say "net.ipv4.tcp_tw_reuse=1 (the gateway's connections to pods)"
  return 0
}

cmd_up() {
  local started
  started=$(date +%s%N)
  with_lock
  install_missing_packages
  tune_kernel
  PG_STATE="" REDIS_STATE="" PODMAN_STATE="" IMAGE_STATE="" PAUSE_STATE="" GUEST_STATE="" SMOKE="" REGISTRY_STATE=""
  pg_up
  redis_up
  podman_up
  demo_image_up
  pause_image_up
  registry_up
  guest_image_up
  if [[ $PODMAN_STATE != reused || $IMAGE_STATE == built || ${BERTH_SMOKE_TEST:-} == 1 ]]; then
    demo_smoke_test
  fi
  printf '%-9s %s  (%s)\n' \
    postgres "$EFFECTIVE_DATABASE_URL" "$PG_STATE" \
    redis "$EFFECTIVE_REDIS_URL" "$REDIS_STATE" \
    podman "$EFFECTIVE_CONTAINER_HOST" "$PODMAN_STATE" \
    image "$DEMO_IMAGE" "$IMAGE_STATE${SMOKE:+, $SMOKE}" \
    image "$PAUSE_IMAGE" "$PAUSE_STATE" \
    registry "$EFFECTIVE_REGISTRY_URL" "$REGISTRY_STATE" \
    guest "$DATA/guest/current" "$GUEST_STATE"
  say "services ready in $(ms_since "$started") ms (logs in .data/; stop with: npm run services -- down)"
}

cmd_down() {
  with_lock
  pg_down
  redis_down
  podman_down
  registry_down
}

cmd_status() {
  local down=0
  if [[ -n $GIVEN_DATABASE_URL ]]; then
    printf '%-9s %-9s %s\n' postgres given "$GIVEN_DATABASE_URL"
  elif pg_ours_running; then
    printf '%-9s %-9s %s\n' postgres running "$LOCAL_DATABASE_URL (data ${PGDATA_DIR#"$ROOT"/})"
  else
    printf '%-9s %-9s %s\n' postgres stopped "$LOCAL_DATABASE_URL"
    down=1
  fi
  if [[ -n $GIVEN_REDIS_URL ]]; then
    printf '%-9s %-9s %s\n' redis given "$GIVEN_REDIS_URL"
  elif command -v redis-cli >/dev/null && redis_ping; then
    printf '%-9s %-9s %s\n' redis running "$LOCAL_REDIS_URL"
  else
    printf '%-9s %-9s %s\n' redis stopped "$LOCAL_REDIS_URL"
    down=1
  fi
  if api_ping; then
    printf '%-9s %-9s %s\n' podman running "$EFFECTIVE_CONTAINER_HOST"
    local img
    for img in "$DEMO_IMAGE" "$PAUSE_IMAGE"; do
      if [[ -n $(image_hash "$img" || true) ]]; then
        printf '%-9s %-9s %s\n' image present "$img"
      else
        printf '%-9s %-9s %s\n' image missing "$img"
        down=1
      fi
    done
  else
    printf '%-9s %-9s %s\n' podman stopped "$EFFECTIVE_CONTAINER_HOST"
    down=1
  fi
  registry_status || down=1
  return "$down"
}

cmd_env() {
  printf 'export DATABASE_URL=%q\n' "$EFFECTIVE_DATABASE_URL"
  printf 'export DATABASE_SYSTEM_URL=%q\n' "$EFFECTIVE_DATABASE_SYSTEM_URL"
  printf 'export DATABASE_MIGRATION_URL=%q\n' "$EFFECTIVE_DATABASE_MIGRATION_URL"
  printf 'export REDIS_URL=%q\n' "$EFFECTIVE_REDIS_URL"
  printf 'export CONTAINER_HOST=%q\n' "$EFFECTIVE_CONTAINER_HOST"
  # For the podman CLI when CONTAINER_HOST is unset again (it goes remote while it is set).
  printf 'export CONTAINERS_CONF=%q\n' "$PODMAN_CONF"
  # Written here too when `up` has not yet (podman refuses a registries.conf that does not exist).
  if [[ ! -f $PODMAN_REGISTRIES_CONF ]]; then
    mkdir -p "$PODMAN_DIR"
    registry_podman_conf >"$PODMAN_REGISTRIES_CONF"
  fi
  printf 'export CONTAINERS_REGISTRIES_CONF=%q\n' "$PODMAN_REGISTRIES_CONF"
  registry_env
}

cmd_check() {
  api_ping || die "no container API at $EFFECTIVE_CONTAINER_HOST (run: infra/services.sh up)"
  [[ -n $(demo_image_hash || true) ]] || die "$DEMO_IMAGE is missing (run: infra/services.sh up)"
  demo_smoke_test
  say "$DEMO_IMAGE runs as 65534:65534 without capabilities, memory-limited, and answers on a published port"
}

case ${1:-} in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
check) cmd_check ;;
*)
  say "usage: infra/services.sh up|down|status|env|check" >&2
  exit 2
  ;;
esac
