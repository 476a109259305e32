import { AGENT_FILE } from "@berth/protocol";

/**
 * The installer (`curl -fsSL <api>/v1/agent/install.sh | sh`): downloads this control plane's
 * agent, checks its SHA-256, installs it under BERTH_AGENT_DIR (/opt/berth) with a
 * `berth-node-agent` command; then, given BERTH_JOIN_TOKEN, runs it — as a systemd service where
 * systemd runs (restarted on failure, on boot), else in the foreground (`exec`). BERTH_SERVER
 * overrides the control plane's address; BERTH_INSTALL_ONLY=1 stops after installing. Arguments
 * after `sh -s --` go to the agent.
 */
export function installScript(r: { version: string; sha256: string }, publicUrl: string): string {
  return `#!/bin/sh
# Berth node agent installer: agent ${r.version}
set -eu
SERVER="\${BERTH_SERVER:-${publicUrl}}"
VERSION='${r.version}'
SHA256='${r.sha256}'
DIR="\${BERTH_AGENT_DIR:-/opt/berth}"
command -v node >/dev/null 2>&1 || { echo "berth: the agent needs Node.js 20 or later (apt-get install nodejs)" >&2; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || { echo "berth: Node.js $(node --version) is too old: 20 or later" >&2; exit 1; }
mkdir -p "$DIR/bin"
TMP="$DIR/${AGENT_FILE}.download"
ENCODED=$(node -e 'process.stdout.write(encodeURIComponent(process.argv[1]))' "$VERSION")
curl -fsSL --retry 5 --retry-delay 2 "$SERVER/v1/agent/$ENCODED/${AGENT_FILE}" -o "$TMP"
GOT=$(sha256sum "$TMP" | cut -d' ' -f1)
if [ "$GOT" != "$SHA256" ]; then rm -f "$TMP"; echo "berth: checksum mismatch: got $GOT, want $SHA256" >&2; exit 1; fi
mv "$TMP" "$DIR/${AGENT_FILE}"
{ printf '#!/bin/sh\\nAGENT="%s/${AGENT_FILE}"\\n' "$DIR"; cat <<'WRAPPER'; } > "$DIR/bin/berth-node-agent"
${WRAPPER}WRAPPER
chmod 0755 "$DIR/bin/berth-node-agent"
echo "berth: agent $VERSION installed in $DIR (checksum verified)"
[ "\${BERTH_INSTALL_ONLY:-0}" = 1 ] && exit 0
[ -n "\${BERTH_JOIN_TOKEN:-}" ] || { echo "berth: set BERTH_JOIN_TOKEN to join a cluster" >&2; exit 1; }
if [ "\${BERTH_NO_SYSTEMD:-0}" != 1 ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
  mkdir -p /etc/berth
  umask 077
  printf 'BERTH_SERVER=%s\\nBERTH_JOIN_TOKEN=%s\\n' "$SERVER" "$BERTH_JOIN_TOKEN" > /etc/berth/agent.env
  cat > /etc/systemd/system/berth-node-agent.service <<UNIT
[Unit]
Description=Berth node agent
After=network-online.target
Wants=network-online.target

[Service]
EnvironmentFile=/etc/berth/agent.env
ExecStart=$DIR/bin/berth-node-agent --state-dir /var/lib/berth-agent $*
Restart=always
RestartSec=2
# 2: bad flags; 78: refused for its version (reinstall) — restarting would not help.
RestartPreventExitStatus=2 78

[Install]
WantedBy=multi-user.target
UNIT
  systemctl daemon-reload
  systemctl enable --now berth-node-agent.service
  echo "berth: berth-node-agent.service started"
else
  export BERTH_SERVER="$SERVER"
  exec "$DIR/bin/berth-node-agent" "$@"
fi
`;
}

/**
 * The body of the `berth-node-agent` command, after the line naming the bundle (AGENT). It runs the
 * agent and runs it again when it exits with 75 (EX_TEMPFAIL): the agent replaced its own bundle
 * with the version its control plane serves and stopped, leaving its pods running. Any other exit
 * ends the command (systemd restarts it). SIGTERM, SIGINT and SIGHUP are passed on to the agent,
 * whose exit status the command then takes.
 */
const WRAPPER = `# Berth node agent: exit status 75 means it updated itself; it is started again at once.
pid=
stop=
trap 'stop=1; if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; fi' TERM INT HUP
while :; do
  node "$AGENT" "$@" &
  pid=$!
  [ -z "$stop" ] || kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" && code=0 || code=$?
  # A signal interrupts wait while the agent stops: wait on until it has.
  while kill -0 "$pid" 2>/dev/null; do wait "$pid" && code=0 || code=$?; done
  if [ "$code" -ne 75 ] || [ -n "$stop" ]; then exit "$code"; fi
  echo "berth: the agent updated itself; starting the new version" >&2
done
`;
