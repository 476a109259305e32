import { BerthError, NotFoundError, ValidationError } from "@berth/core";
import { nodes, pods, withTenant } from "@berth/db";
import { dnsSubdomainName } from "@berth/kube";
import { dnsLabel, HEARTBEAT_INTERVAL_MS } from "@berth/protocol";
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import type { StreamTarget } from "../streams/open";
import { clusterId, loadCluster } from "./clusters";

/** A node not heard from for this long cannot be asked for a stream (its lease is about to lapse). */
export const STREAM_NODE_SILENCE_MS = 5 * HEARTBEAT_INTERVAL_MS;

/** The pod of a logs or exec call, as the path names it. */
export const podStreamRef = {
  clusterId,
  namespace: dnsLabel,
  name: dnsSubdomainName,
  container: dnsLabel.optional(),
};

/** A query-string boolean as Kubernetes' clients send them. */
export const queryBool = z
  .enum(["true", "false", "1", "0"], { error: "must be true or false" })
  .transform((v) => v === "true" || v === "1");

/** A query-string whole number of at most `digits` digits, then checked as a number. */
export const queryInt = (digits: number, min: number, max: number) =>
  z
    .string()
    .regex(new RegExp(`^\\d{1,${digits}}$`), "must be a whole number")
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const ago = (since: Date, now: Date) =>
  `${Math.max(0, Math.round((now.getTime() - since.getTime()) / 1000))} s ago`;

/**
 * Finds the container a logs or exec call is about, in the caller's tenant: the pod (404 for
 * another tenant's, as for a missing one), the container (named, or the pod's only one; 400 like
 * Kubernetes otherwise), its node (400 while unscheduled; 503 when the node is not ready or silent).
 */
export async function locateContainer(
  deps: Deps,
  caller: UserCaller,
  ref: { clusterId: string; namespace: string; name: string; container?: string | undefined },
): Promise<StreamTarget> {
  const now = deps.now();
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    const cluster = await loadCluster(tx, ref.clusterId);
    const [pod] = await tx
      .select()
      .from(pods)
      .where(and(eq(pods.clusterId, cluster.id), eq(pods.namespace, ref.namespace), eq(pods.name, ref.name)));
    if (!pod) throw new NotFoundError("pod", `${ref.namespace}/${ref.name}`);
    const names = pod.template.containers.map((c) => c.name);
    const all = [...names, ...(pod.template.initContainers ?? []).map((c) => c.name)];
    let container = ref.container;
    if (container === undefined) {
      if (names.length !== 1)
        throw new ValidationError(
          `a container name must be specified for pod ${pod.name}, choose one of: [${names.join(" ")}]`,
        );
      container = names[0] as string;
    } else if (!all.includes(container))
      throw new ValidationError(`container ${container} is not valid for pod ${pod.name}`);
    if (!pod.nodeId)
      throw new ValidationError(
        `pod ${pod.name} is not on a node yet (${pod.reason ?? pod.phase}): nothing to read`,
      );
    const [node] = await tx.select().from(nodes).where(eq(nodes.id, pod.nodeId));
    if (!node) throw new NotFoundError("pod", `${ref.namespace}/${ref.name}`);
    const silent = now.getTime() - node.lastHeartbeatAt.getTime() > STREAM_NODE_SILENCE_MS;
    if (node.status !== "ready" || silent)
      throw new BerthError(
        "NODE_UNAVAILABLE",
        `node ${JSON.stringify(node.name)} of pod ${pod.name} is ${node.status === "ready" ? "not answering" : node.status.replace("_", " ")} (last heard from ${ago(node.lastHeartbeatAt, now)}): its pods' logs and exec are unavailable until it is back`,
        { retryable: true, details: { retryAfterSeconds: 10 } },
      );
    return {
      tenantId: caller.tenantId,
      clusterId: cluster.id,
      nodeId: node.id,
      nodeName: node.name,
      podId: pod.id,
      podName: pod.name,
      namespace: pod.namespace,
      container,
    };
  });
}

/** A pod's resource name for IAM: `…:cluster/<id>/namespace/<ns>/pod/<name>`. */
export const podPath = (i: { clusterId: string; namespace: string; name: string }) =>
  `cluster/${i.clusterId}/namespace/${i.namespace}/pod/${i.name}`;
