import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

/** What the agent keeps across restarts: who it is, and the credential that proves it. */
const stateSchema = z.object({
  server: z.string(),
  nodeId: z.string(),
  clusterId: z.string(),
  credential: z.string(),
  expiresAt: z.string(),
  /** A hash of the join token it joined with: a different token means another cluster was meant. */
  joinTokenHash: z.string().optional(),
});
export type AgentState = z.infer<typeof stateSchema>;

export function hashJoinToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export async function loadState(dir: string): Promise<AgentState | null> {
  try {
    return stateSchema.parse(JSON.parse(await readFile(join(dir, "state.json"), "utf8")));
  } catch {
    return null;
  }
}

/** Written to a temporary file and renamed, so a crash never leaves half a state file. */
export async function saveState(dir: string, state: AgentState): Promise<void> {
  await writeAtomically(dir, "state.json", JSON.stringify(state, null, 2));
}

/** Forgets the node identity (the installation id stays). */
export async function forgetState(dir: string): Promise<void> {
  await rm(join(dir, "state.json"), { force: true });
}

/**
 * The id of this installation of the agent, made once and kept in the state dir apart from the
 * node identity: every container it starts carries it, so that it can tell its own containers
 * (also those of identities it had before) from those of other agents sharing the engine.
 */
export async function installationId(dir: string): Promise<string> {
  const file = join(dir, "installation-id");
  try {
    const id = (await readFile(file, "utf8")).trim();
    if (/^[a-z0-9]{16,64}$/.test(id)) return id;
  } catch {}
  const id = randomBytes(12).toString("hex");
  await writeAtomically(dir, "installation-id", `${id}\n`);
  return id;
}

async function writeAtomically(dir: string, name: string, content: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `${name}.${process.pid}.tmp`);
  await writeFile(tmp, content, { mode: 0o600 });
  await rename(tmp, join(dir, name));
}
