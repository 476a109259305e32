# shellcheck shell=bash
# Sourced by infra/services.sh: Berth's image registry, Debian's `docker-registry` (the CNCF
# Distribution server 2.8) on loopback, with token auth. control-api issues the tokens
# (GET /v1/registry/token, the registry's realm), signed with the key generated here once:
#   .data/registry/token.key   EC P-256 private key (control-api: REGISTRY_TOKEN_KEY_FILE)
#   .data/registry/token.crt   its self-signed certificate (the registry's rootcertbundle)
#   .data/registry/config.yml  the registry's configuration (rewritten by `up`; a change restarts it)
#   .data/registry/storage/    the images; registry.log, registry.pid
# BERTH_REGISTRY_PORT (55000) moves it; BERTH_REGISTRY_REALM names the token service when the API
# is not at http://127.0.0.1:${PORT:-8080}; REGISTRY_URL set to something else names a registry of
# your own (checked, never started).

REGISTRY_PORT=${BERTH_REGISTRY_PORT:-55000}
REGISTRY_DIR=$DATA/registry
REGISTRY_CONFIG=$REGISTRY_DIR/config.yml
REGISTRY_PID=$REGISTRY_DIR/registry.pid
REGISTRY_LOG=$REGISTRY_DIR/registry.log
REGISTRY_KEY=$REGISTRY_DIR/token.key
REGISTRY_CERT=$REGISTRY_DIR/token.crt
REGISTRY_SERVICE_NAME=${REGISTRY_SERVICE:-berth-registry}
REGISTRY_ISSUER=${REGISTRY_TOKEN_ISSUER:-berth}
REGISTRY_REALM=${BERTH_REGISTRY_REALM:-http://127.0.0.1:${PORT:-8080}/v1/registry/token}
LOCAL_REGISTRY_URL=http://127.0.0.1:$REGISTRY_PORT
GIVEN_REGISTRY_URL=${REGISTRY_URL:-}
[[ $GIVEN_REGISTRY_URL == "$LOCAL_REGISTRY_URL" ]] && GIVEN_REGISTRY_URL=
EFFECTIVE_REGISTRY_URL=${GIVEN_REGISTRY_URL:-$LOCAL_REGISTRY_URL}
# The registry as image names give it (REGISTRY_HOST): control-api's admission rule, the nodes'
# credential, the provisioner's digest pins.
EFFECTIVE_REGISTRY_HOST=${REGISTRY_HOST:-${EFFECTIVE_REGISTRY_URL#*://}}
EFFECTIVE_REGISTRY_HOST=${EFFECTIVE_REGISTRY_HOST%%/*}

# A registry with token auth answers /v2/ without a token with 401 and a Bearer challenge.
registry_ping() {
  [[ $(curl -s -o /dev/null -m 2 -w '%{http_code}' "$1/v2/" 2>/dev/null) == 401 ]]
}
registry_ours_pid() {
  local pid
  pid=$(cat "$REGISTRY_PID" 2>/dev/null) || return 1
  [[ -n $pid ]] && alive "$pid" && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q docker-registry &&
    echo "$pid"
}

# The token signing key and its certificate, made once (the certificate for 10 years).
registry_key_up() {
  [[ -s $REGISTRY_KEY && -s $REGISTRY_CERT ]] && return 0
  command -v openssl >/dev/null || die "openssl not found (package openssl)"
  (
    umask 077
    openssl ecparam -name prime256v1 -genkey -noout 2>/dev/null |
      openssl pkcs8 -topk8 -nocrypt -out "$REGISTRY_KEY.tmp"
  ) || die "could not generate the registry token key"
  openssl req -new -x509 -key "$REGISTRY_KEY.tmp" -out "$REGISTRY_CERT.tmp" -days 3650 \
    -subj "/CN=berth registry token signer" 2>/dev/null || die "could not make the registry token certificate"
  mv "$REGISTRY_KEY.tmp" "$REGISTRY_KEY"
  mv "$REGISTRY_CERT.tmp" "$REGISTRY_CERT"
  say "registry  token key made: ${REGISTRY_KEY#"$ROOT"/} (certificate ${REGISTRY_CERT#"$ROOT"/})"
}

registry_config() {
  cat <<YAML
version: 0.1
log:
  level: info
  formatter: text
  fields: { service: registry }
storage:
  filesystem: { rootdirectory: $REGISTRY_DIR/storage }
  delete: { enabled: true }
  cache: { blobdescriptor: inmemory }
http:
  addr: 127.0.0.1:$REGISTRY_PORT
  headers: { X-Content-Type-Options: [nosniff] }
auth:
  token:
    realm: $REGISTRY_REALM
    service: $REGISTRY_SERVICE_NAME
    issuer: $REGISTRY_ISSUER
    rootcertbundle: $REGISTRY_CERT
YAML
}

registry_up() {
  if [[ -n $GIVEN_REGISTRY_URL ]]; then
    registry_ping "$GIVEN_REGISTRY_URL" || warn "REGISTRY_URL is set but $GIVEN_REGISTRY_URL/v2/ does not ask for a token"
    REGISTRY_STATE="given"
    return
  fi
  command -v docker-registry >/dev/null || die "docker-registry not found (package docker-registry)"
  mkdir -p "$REGISTRY_DIR/storage"
  registry_key_up
  local want changed=1 pid
  want=$(registry_config)
  [[ -f $REGISTRY_CONFIG && $(<"$REGISTRY_CONFIG") == "$want" ]] && changed=
  printf '%s\n' "$want" >"$REGISTRY_CONFIG"
  if pid=$(registry_ours_pid); then
    if [[ -z $changed ]] && registry_ping "$LOCAL_REGISTRY_URL"; then
      REGISTRY_STATE="reused"
      return
    fi
    kill "$pid" 2>/dev/null || true
    wait_gone "$pid" 50 || kill -9 "$pid" 2>/dev/null || true
  elif port_open "$REGISTRY_PORT"; then
    warn "port $REGISTRY_PORT is taken by a registry not started from $ROOT; using it"
    REGISTRY_STATE="reused (not ours)"
    return
  fi
  setsid nohup docker-registry serve "$REGISTRY_CONFIG" </dev/null >>"$REGISTRY_LOG" 2>&1 9>&- &
  echo $! >"$REGISTRY_PID"
  local i
  for ((i = 0; i < 100; i++)); do
    registry_ping "$LOCAL_REGISTRY_URL" && break
    alive "$(cat "$REGISTRY_PID")" || break
    sleep 0.1
  done
  registry_ping "$LOCAL_REGISTRY_URL" || {
    show_log "$REGISTRY_LOG"
    die "docker-registry does not answer on $LOCAL_REGISTRY_URL (log: $REGISTRY_LOG)"
  }
  REGISTRY_STATE="started"
}

registry_down() {
  local pid
  if pid=$(registry_ours_pid); then
    kill "$pid" 2>/dev/null || true
    wait_gone "$pid" 50 || kill -9 "$pid" 2>/dev/null || true
    rm -f "$REGISTRY_PID"
    say "registry  stopped"
  else
    say "registry  not running here"
  fi
}

registry_status() {
  if [[ -n $GIVEN_REGISTRY_URL ]]; then
    printf '%-9s %-9s %s\n' registry given "$GIVEN_REGISTRY_URL"
  elif registry_ping "$LOCAL_REGISTRY_URL"; then
    printf '%-9s %-9s %s\n' registry running "$LOCAL_REGISTRY_URL (token realm $REGISTRY_REALM)"
  else
    printf '%-9s %-9s %s\n' registry stopped "$LOCAL_REGISTRY_URL"
    return 1
  fi
}

# Podman's registries.conf (CONTAINERS_REGISTRIES_CONF): Berth's registry, when it is plain http,
# is the one registry podman reaches without TLS; nothing else changes.
registry_podman_conf() {
  echo "# Written by infra/services.sh: the registries podman treats specially."
  if [[ $EFFECTIVE_REGISTRY_URL == http://* ]]; then
    echo "# Berth's registry is served over plain http (on loopback): podman must not ask it for TLS."
    echo "[[registry]]"
    echo "location = \"$EFFECTIVE_REGISTRY_HOST\""
    echo "insecure = true"
  fi
}

registry_env() {
  printf 'export REGISTRY_URL=%q\n' "$EFFECTIVE_REGISTRY_URL"
  printf 'export REGISTRY_HOST=%q\n' "$EFFECTIVE_REGISTRY_HOST"
  printf 'export REGISTRY_SERVICE=%q\n' "$REGISTRY_SERVICE_NAME"
  printf 'export REGISTRY_TOKEN_ISSUER=%q\n' "$REGISTRY_ISSUER"
  if [[ -z $GIVEN_REGISTRY_URL ]]; then
    printf 'export REGISTRY_TOKEN_KEY_FILE=%q\n' "$REGISTRY_KEY"
    printf 'export REGISTRY_TOKEN_CERT_FILE=%q\n' "$REGISTRY_CERT"
  fi
}
