import { readFile } from "node:fs/promises";
import { CONTAINER_LABELS } from "@berth/protocol";
import type { ContainerRuntime } from "./runtime";

/** Socket states in /proc/net/*: a listening TCP socket, a bound UDP socket. */
const TCP_LISTEN = "0A";
const UDP_UNCONNECTED = "07";

/**
 * The local ports with a listening TCP or bound UDP socket, from the text of /proc/net/tcp, tcp6,
 * udp and udp6 (`sl local_address rem_address st …`, addresses as `HEXIP:HEXPORT`).
 */
export function parseListeningPorts(files: { tcp: string[]; udp: string[] }): Set<number> {
  const ports = new Set<number>();
  const scan = (text: string, state: string) => {
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (fields[3] !== state || !local) continue;
      const port = Number.parseInt(local.slice(local.lastIndexOf(":") + 1), 16);
      if (Number.isInteger(port) && port > 0) ports.add(port);
    }
  };
  for (const t of files.tcp) scan(t, TCP_LISTEN);
  for (const u of files.udp) scan(u, UDP_UNCONNECTED);
  return ports;
}

/** The host's listening ports (in the agent's network namespace, the host's). */
export async function readListeningPorts(): Promise<Set<number>> {
  const read = (name: string) => readFile(`/proc/net/${name}`, "utf8").catch(() => "");
  const [tcp, tcp6, udp, udp6] = await Promise.all(["tcp", "tcp6", "udp", "udp6"].map(read));
  return parseListeningPorts({ tcp: [tcp ?? "", tcp6 ?? ""], udp: [udp ?? "", udp6 ?? ""] });
}

const HOLDING = new Set(["running", "paused", "restarting"]);

/**
 * Host ports of the node's range that something other than this node's pods holds: containers of
 * other agents or of an identity this host had before (whatever they carry), and any other
 * listener. The node's own containers hold theirs (the engine listens for them) and do not count.
 * Reported to the control plane, whose scheduler then never hands these ports out.
 */
export async function findReservedHostPorts(
  runtime: ContainerRuntime,
  nodeId: string,
  range: { min: number; max: number },
  listening: () => Promise<Set<number>> = readListeningPorts,
): Promise<number[]> {
  // Listeners first: a pod that starts in between is then seen as the node's own by the listing.
  const listeners = await listening();
  const own = new Set<number>();
  const foreign = new Set<number>();
  for (const c of await runtime.list({})) {
    if (!HOLDING.has(c.state)) continue;
    const mine = c.labels[CONTAINER_LABELS.node] === nodeId;
    for (const p of c.ports) (mine ? own : foreign).add(p.hostPort);
  }
  const reserved: number[] = [];
  for (let port = range.min; port <= range.max; port++)
    if (foreign.has(port) || (listeners.has(port) && !own.has(port))) reserved.push(port);
  return reserved;
}
