import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { NotFoundError } from "@berth/core";
import { AGENT_FILE, AGENT_RELEASE, type AgentAnnouncement } from "@berth/protocol";
import { build } from "esbuild";
import { z } from "zod";
import type { Deps } from "../deps";
import { installScript } from "./agent-installer";

const ENTRY = resolve(import.meta.dirname, "../../../node-agent/src/index.ts");

export interface AgentBundle {
  /** `<release>+<first 12 hex digits of sha256>`. */
  version: string;
  sha256: string;
  bytes: number;
  source: string;
}

/**
 * The node agent this control plane serves (`deps.agent`): its bundle, built when first asked for,
 * and what is built by now without waiting (the heartbeat's announcement never waits on esbuild).
 */
export interface AgentSource {
  bundle(): Promise<AgentBundle>;
  /** The bundle once built, else undefined (asking does not start a build). */
  built(): AgentBundle | undefined;
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
    return bundleOf(file.text);
  })();
  built.catch(() => {
    built = undefined;
  });
  return built;
}

/** A bundle's version, checksum and size from its text. */
export function bundleOf(source: string): AgentBundle {
  const bytes = Buffer.from(source);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  return { version: `${AGENT_RELEASE}+${sha256.slice(0, 12)}`, sha256, bytes: bytes.byteLength, source };
}

/** The bundle of this repository's agent source (memoised per process, see `agentBundle`). */
export function builtAgentSource(): AgentSource {
  let done: AgentBundle | undefined;
  return {
    async bundle() {
      done = await agentBundle();
      return done;
    },
    built: () => done,
  };
}

/** Where the bundle of `version` is served, relative to the control plane's address. */
export function agentFilePath(version: string): string {
  return `/v1/agent/${encodeURIComponent(version)}/${AGENT_FILE}`;
}

/** What a heartbeat reply announces: the served agent, once built (never waits for a build). */
export function agentAnnouncement(deps: Deps): AgentAnnouncement | undefined {
  const b = deps.agent.built();
  return b ? { version: b.version, sha256: b.sha256, url: agentFilePath(b.version) } : undefined;
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
  const b = await deps.agent.bundle();
  return {
    version: b.version,
    sha256: b.sha256,
    bytes: b.bytes,
    url: `${deps.publicUrl}${agentFilePath(b.version)}`,
    installUrl: `${deps.publicUrl}/v1/agent/install.sh`,
    requires: "Node.js 20 or later, and a Docker-compatible engine (Podman or Docker)",
  };
}

export const agentFileInput = z
  .object({ version: z.string().min(1).max(64), file: z.literal(AGENT_FILE) })
  .strict();

export async function agentFile(
  deps: Deps,
  input: z.infer<typeof agentFileInput>,
): Promise<z.output<typeof agentFileReply>> {
  const b = await deps.agent.bundle();
  // Only the version this control plane serves: an agent of another build is not ours to hand out.
  if (input.version !== b.version) throw new NotFoundError("agent version", input.version);
  return { version: b.version, sha256: b.sha256, source: b.source };
}

export const agentInstallerInput = z.object({}).strict();

export async function agentInstaller(deps: Deps): Promise<z.output<typeof agentInstallerReply>> {
  return { script: installScript(await agentRelease(deps), deps.publicUrl) };
}
