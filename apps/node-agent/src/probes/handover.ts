import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

/** What a container instance's probes had settled: startup passed, readiness passed. */
export interface ProbeState {
  started: boolean;
  ready: boolean;
}

/** Probe states by engine container id (the instance they were probed on). */
export type ProbeStates = Map<string, ProbeState>;

/**
 * Probe results handed from an agent that stops (an update, a restart) to the next one, as a
 * kubelet keeps its containers' readiness across its restarts: a container still running as the
 * same instance resumes as ready as it was, and its probes carry on from there (a failing one turns
 * it unready after its failureThreshold, as it would have), instead of every probed pod of the node
 * reading as not ready, and leaving its Services' endpoints, until its probes pass again. Read
 * once and removed: an agent that crashed hands nothing over, and its successor starts afresh.
 */
export async function takeProbeStates(file: string): Promise<ProbeStates> {
  const states: ProbeStates = new Map();
  try {
    const parsed: unknown = JSON.parse(await readFile(file, "utf8"));
    if (parsed && typeof parsed === "object")
      for (const [id, s] of Object.entries(parsed as Record<string, unknown>)) {
        const v = s as Partial<ProbeState> | null;
        if (typeof v?.started === "boolean" && typeof v.ready === "boolean")
          states.set(id, { started: v.started, ready: v.ready });
      }
  } catch {
    // none handed over, or unreadable: probes start afresh
  }
  await rm(file, { force: true });
  return states;
}

/** Written to a temporary file and renamed; a stop that fails to write it only loses the hand-over. */
export async function saveProbeStates(file: string, states: ProbeStates): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify(Object.fromEntries(states)), { mode: 0o600 });
  await rename(tmp, file);
}
