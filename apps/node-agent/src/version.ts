import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import { AGENT_FILE, AGENT_RELEASE } from "@berth/protocol";

export interface AgentBuild {
  /** `<release>+<first 12 hex digits of the bundle's SHA-256>`, or the plain release from source. */
  version: string;
  /** The installed bundle this process runs from, with its SHA-256; null for a development agent. */
  bundle: { file: string; sha256: string } | null;
}

/**
 * What this agent is: run as the installed bundle (a module file named berth-node-agent.mjs), its
 * version names the bundle's bytes, as the control plane's does; run from source, it is a
 * development agent of the plain release, which never updates itself.
 */
export function agentBuild(moduleUrl: string): AgentBuild {
  const file = moduleUrl.startsWith("file:") ? fileURLToPath(moduleUrl) : "";
  if (basename(file) !== AGENT_FILE) return { version: AGENT_RELEASE, bundle: null };
  const sha256 = createHash("sha256").update(readFileSync(file)).digest("hex");
  return { version: `${AGENT_RELEASE}+${sha256.slice(0, 12)}`, bundle: { file, sha256 } };
}
