import { readFile, rename, writeFile } from "node:fs/promises";
import type { Logger } from "@berth/core";
import { type NetworkView, networkViewSchema } from "@berth/protocol";
import type { NodeIdentity } from "../pod-spec";
import type { ContainerRuntime, NetworkInfo } from "../runtime";
import { PodFirewall } from "./firewall";
import { removePodRoutes } from "./pod-routes";

/**
 * The engine network of a node's pods: its own, on the node's pod range; a control plane that
 * gives no range (older) gets the cluster's network of the host, on a subnet the engine picks.
 */
export const podNetworkName = (
  identity: Pick<NodeIdentity, "nodeId" | "clusterId">,
  podCidr: string | undefined,
) => (podCidr ? `berth-${identity.nodeId}` : `berth-${identity.clusterId}`);

/**
 * Makes the node's pod network on the range of `view`. When something on this host holds that
 * subnet already (a leftover, a network of another platform's node), the control plane is asked
 * for another range (`reread`), a few times.
 */
export async function makePodNetwork(
  o: { runtime: ContainerRuntime; identity: Pick<NodeIdentity, "nodeId" | "clusterId">; logger: Logger },
  view: NetworkView,
  reread: (podCidrTaken: string) => Promise<NetworkView | null>,
): Promise<{ network: NetworkInfo; view: NetworkView } | null> {
  const labels = { "berth.io/cluster": o.identity.clusterId, "berth.io/node": o.identity.nodeId };
  let current = view;
  for (let attempt = 1; ; attempt++) {
    const podCidr = current.podCidr;
    try {
      const network = await o.runtime.ensureNetwork(podNetworkName(o.identity, podCidr), labels, podCidr);
      return { network, view: current };
    } catch (error) {
      const taken = /already used|overlap/i.test((error as Error).message);
      if (!podCidr || !taken || attempt >= 5) throw error;
      o.logger.warn({ podCidr }, "the node's pod range is taken on this host; asking for another");
      const next = await reread(podCidr);
      if (!next) return null;
      current = next;
    }
  }
}

/**
 * Removes a node's pod network from the host once no container uses it (tried for a few seconds:
 * its pods' containers may still be going), and then its firewall chains and pod routes.
 */
export async function dismantlePodNetwork(runtime: ContainerRuntime, network: NetworkInfo): Promise<boolean> {
  const { name, subnet } = network;
  for (let attempt = 1; ; attempt++) {
    if (await runtime.removeNetwork(name).catch(() => false)) break;
    if (attempt >= 10) return false;
    await new Promise((r) => setTimeout(r, 500));
  }
  await new PodFirewall(subnet).remove();
  await removePodRoutes(subnet);
  return true;
}

/** Removes the pod network a node of this host had (tests and tools: the agent leaves its own). */
export async function dismantleNodeNetwork(
  runtime: ContainerRuntime,
  identity: Pick<NodeIdentity, "nodeId" | "clusterId">,
): Promise<boolean> {
  const name = podNetworkName(identity, "own");
  const network = await runtime.ensureNetwork(name, {}).catch(() => null);
  return network ? dismantlePodNetwork(runtime, network) : false;
}

/**
 * The last network view, kept on disk so pods started while the control plane is away still get
 * DNS; it is the node's own (its pod range is in it): a view another node of this host's agent
 * kept — before it left and joined again under another id — is not read.
 */
export async function readViewCache(file: string, nodeId: string): Promise<NetworkView | null> {
  try {
    const kept = JSON.parse(await readFile(file, "utf8")) as { nodeId?: unknown; view?: unknown };
    return kept.nodeId === nodeId ? networkViewSchema.parse(kept.view) : null;
  } catch {
    return null;
  }
}

export async function writeViewCache(file: string, nodeId: string, view: NetworkView): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify({ nodeId, view }));
  await rename(tmp, file);
}
