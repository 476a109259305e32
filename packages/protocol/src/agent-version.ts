/**
 * The node agent's versions and the skew allowed between an agent and its control plane, as
 * Kubernetes allows between a kubelet and its API server: never newer, at most a few minor
 * releases older, never of another major release.
 */

/** The release of the agent this source builds (and of the control plane built with it). */
export const AGENT_RELEASE = "0.1.0";

/** The name of the agent's bundle, as the control plane serves it and the installer installs it. */
export const AGENT_FILE = "berth-node-agent.mjs";

/** How many minor releases an agent may lag behind its control plane. */
export const AGENT_MINOR_SKEW = 2;

/**
 * `MAJOR.MINOR.PATCH`, optionally a pre-release (`-rc.1`) and build metadata (`+3f9c0a1b2c4d`, the
 * first 12 hex digits of a bundle's SHA-256), as semver writes them.
 */
export const AGENT_VERSION_PATTERN =
  /^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

export interface AgentVersion {
  major: number;
  minor: number;
  patch: number;
}

/** The release of a version string, or null when it is not one. */
export function parseAgentVersion(version: string): AgentVersion | null {
  const m = AGENT_VERSION_PATTERN.exec(version);
  if (!m) return null;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) };
}

export type AgentSkew =
  | { ok: true }
  | {
      ok: false;
      /** newer: than the control plane; older: by more than AGENT_MINOR_SKEW minors; major: another major. */
      reason: "malformed" | "newer" | "older" | "major";
      message: string;
    };

/**
 * Whether an agent of `agentVersion` may join a control plane of release `controlPlane`. Only
 * major.minor count: patches and builds of a release are always compatible (the control plane
 * updates them itself).
 */
export function agentSkew(controlPlane: string, agentVersion: string): AgentSkew {
  const cp = parseAgentVersion(controlPlane);
  if (!cp) throw new Error(`the control plane's release ${JSON.stringify(controlPlane)} is not a version`);
  const agent = parseAgentVersion(agentVersion);
  const release = `${cp.major}.${cp.minor}`;
  if (!agent)
    return {
      ok: false,
      reason: "malformed",
      message: `agent version ${JSON.stringify(agentVersion)} is not MAJOR.MINOR.PATCH[+BUILD]`,
    };
  const mine = `${agent.major}.${agent.minor}`;
  if (agent.major !== cp.major)
    return {
      ok: false,
      reason: "major",
      message: `agent ${agentVersion} is of major release ${agent.major}; this control plane runs ${release} and admits agents ${window(cp)}`,
    };
  if (agent.minor > cp.minor)
    return {
      ok: false,
      reason: "newer",
      message: `agent ${agentVersion} (${mine}) is newer than this control plane (${release}); an agent may not be newer than its control plane: admitted are ${window(cp)}`,
    };
  if (cp.minor - agent.minor > AGENT_MINOR_SKEW)
    return {
      ok: false,
      reason: "older",
      message: `agent ${agentVersion} (${mine}) is more than ${AGENT_MINOR_SKEW} minor releases older than this control plane (${release}): admitted are ${window(cp)}`,
    };
  return { ok: true };
}

function window(cp: AgentVersion): string {
  const oldest = Math.max(0, cp.minor - AGENT_MINOR_SKEW);
  return oldest === cp.minor ? `${cp.major}.${cp.minor}` : `${cp.major}.${oldest} to ${cp.major}.${cp.minor}`;
}
