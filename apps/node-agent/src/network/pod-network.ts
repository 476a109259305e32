import { readFile, rename, writeFile } from "node:fs/promises";
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

/** The last network view, kept on disk so pods started while the control plane is away still get DNS. */
export async function readViewCache(file: string): Promise<NetworkView | null> {
  try {
    return networkViewSchema.parse(JSON.parse(await readFile(file, "utf8")));
  } catch {
    return null;
  }
}

export async function writeViewCache(file: string, view: NetworkView): Promise<void> {
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify(view));
  await rename(tmp, file);
}
