import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";

/** What the agent keeps across restarts: who it is, and the credential that proves it. */
const stateSchema = z.object({
  server: z.string(),
  nodeId: z.string(),
  clusterId: z.string(),
  credential: z.string(),
  expiresAt: z.string(),
});
export type AgentState = z.infer<typeof stateSchema>;

export async function loadState(dir: string): Promise<AgentState | null> {
  try {
    return stateSchema.parse(JSON.parse(await readFile(join(dir, "state.json"), "utf8")));
  } catch {
    return null;
  }
}

/** Written to a temporary file and renamed, so a crash never leaves half a state file. */
export async function saveState(dir: string, state: AgentState): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = join(dir, `state.json.${process.pid}.tmp`);
  await writeFile(tmp, JSON.stringify(state, null, 2), { mode: 0o600 });
  await rename(tmp, join(dir, "state.json"));
}
