import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { NotFoundError } from "@berth/core";
import { build } from "esbuild";
import { z } from "zod";
import type { Deps } from "../deps";

/** The agent's release; the bundle's version adds the first 12 hex digits of its SHA-256. */
export const AGENT_RELEASE = "0.1.0";
const ENTRY = resolve(import.meta.dirname, "../../../node-agent/src/index.ts");
export const AGENT_FILE = "berth-node-agent.mjs";

export interface AgentBundle {
  version: string;
  sha256: string;
  bytes: number;
  source: string;
}

let built: Promise<AgentBundle> | undefined;

/**
 * The node agent as one self-contained ES module for the machine's Node (20 or later): bundled
 * from this repository's source with esbuild, once per process, the same bytes for the same
 * source (no timestamps, no absolute paths, no source map), so its SHA-256 names it.
 */
export function agentBundle(): Promise<AgentBundle> {
  built ??= (async () => {
    const out = await build({
      entryPoints: [ENTRY],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      write: false,
      legalComments: "none",
      // ws's optional native helpers: absent, it uses its JavaScript paths.
      external: ["bufferutil", "utf-8-validate"],
      // Bundled CommonJS dependencies call require().
      banner: {
        js: 'import { createRequire as __berthRequire } from "node:module"; const require = __berthRequire(import.meta.url);',
      },
      logLevel: "silent",
    });
    const file = out.outputFiles[0];
    if (!file) throw new Error("esbuild produced no output");
    const sha256 = createHash("sha256").update(file.contents).digest("hex");
    return {
      version: `${AGENT_RELEASE}+${sha256.slice(0, 12)}`,
      sha256,
      bytes: file.contents.byteLength,
      source: file.text,
    };
  })();
  built.catch(() => {
    built = undefined;
  });
  return built;
}

export const agentReleaseInput = z.object({}).strict();
export const agentReleaseReply = z.strictObject({
  version: z.string().describe("the release and the first 12 hex digits of the bundle's SHA-256"),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int(),
  url: z.string().describe("where to download the agent"),
  installUrl: z.string().describe("the installer script"),
  requires: z.string().describe("what the host needs, in words"),
});
export const agentFileReply = z.strictObject({
  version: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  source: z.string().describe("the agent as one ES module"),
});
export const agentInstallerReply = z.strictObject({ script: z.string().describe("a POSIX shell script") });

/** What node hosts install: the current version, its checksum, and where to get it and the installer. */
export async function agentRelease(deps: Deps): Promise<z.output<typeof agentReleaseReply>> {
  const b = await agentBundle();
  return {
    version: b.version,
    sha256: b.sha256,
    bytes: b.bytes,
    url: `${deps.publicUrl}/v1/agent/${encodeURIComponent(b.version)}/${AGENT_FILE}`,
    installUrl: `${deps.publicUrl}/v1/agent/install.sh`,
    requires: "Node.js 20 or later, and a Docker-compatible engine (Podman or Docker)",
  };
}

export const agentFileInput = z
  .object({ version: z.string().min(1).max(64), file: z.literal(AGENT_FILE) })
  .strict();

export async function agentFile(
  _deps: Deps,
  input: z.infer<typeof agentFileInput>,
): Promise<z.output<typeof agentFileReply>> {
  const b = await agentBundle();
  // Only the version this control plane serves: an agent of another build is not ours to hand out.
  if (input.version !== b.version) throw new NotFoundError("agent version", input.version);
  return { version: b.version, sha256: b.sha256, source: b.source };
}

export const agentInstallerInput = z.object({}).strict();

export async function agentInstaller(deps: Deps): Promise<z.output<typeof agentInstallerReply>> {
  return { script: installScript(await agentRelease(deps), deps.publicUrl) };
}

/**
 * The installer (`curl -fsSL <api>/v1/agent/install.sh | sh`): downloads this control plane's
 * agent, checks its SHA-256, installs it under BERTH_AGENT_DIR (/opt/berth) with a
 * `berth-node-agent` command; then, given BERTH_JOIN_TOKEN, runs it — as a systemd service where
 * systemd runs (restarted on failure, on boot), else in the foreground (`exec`). BERTH_SERVER
 * overrides the control plane's address; BERTH_INSTALL_ONLY=1 stops after installing. Arguments
 * after `sh -s --` go to the agent.
 */
function installScript(r: { version: string; sha256: string }, publicUrl: string): string {
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
printf '#!/bin/sh\\nexec node "%s/${AGENT_FILE}" "$@"\\n' "$DIR" > "$DIR/bin/berth-node-agent"
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
