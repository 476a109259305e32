import { createHash } from "node:crypto";
import { type MasterKey, UnauthenticatedError } from "@berth/core";
import { clusters, nodes, objects, pods, statement, type Tx, withTenant } from "@berth/db";
import { ConfigError, type ResolveContext, referencedObjects, resolvePod } from "@berth/kube";
import {
  type AssignmentInput,
  assignmentSchema,
  WATCH_MAX_WAIT_MS,
  type WatchReply,
  watchReplySchema,
  type watchRequestSchema,
} from "@berth/protocol";
import { and, asc, eq, inArray, isNull, or, sql } from "drizzle-orm";
import { z } from "zod";
import type { Deps, NodeCaller } from "../deps";
import type { RequestMeta } from "../operation";
import { openSecretData } from "./secret-data";

type NodeRow = typeof nodes.$inferSelect;
type ClusterRow = typeof clusters.$inferSelect;
type PodRow = typeof pods.$inferSelect;

const { initContainers, volumes, restartPolicy, terminationGracePeriodSeconds, terminal } =
  assignmentSchema.shape;
/**
 * An assignment as sent: the agent's contract (`@berth/protocol`), strict, with the fields the agent
 * defaults left out where the control plane leaves them out (all of them when a pod's configuration
 * does not resolve; `terminal` unless true). Its containers are sent as stored, the agent defaulting
 * their defaults too.
 */
export const assignmentReply = z.strictObject({
  ...assignmentSchema.shape,
  initContainers: initContainers.unwrap().optional(),
  volumes: volumes.unwrap().optional(),
  restartPolicy: restartPolicy.unwrap().optional(),
  terminationGracePeriodSeconds: terminationGracePeriodSeconds.unwrap().optional(),
  terminal: terminal.unwrap().optional(),
});
export const watchReply = z.strictObject({ ...watchReplySchema.shape, pods: z.array(assignmentReply) });

/** Whether a node is told to leave: it is being removed, or its cluster is going. */
export function mustLeave(node: Pick<NodeRow, "status">, cluster: Pick<ClusterRow, "status">): boolean {
  return node.status === "leaving" || cluster.status === "deleting" || cluster.status === "deleted";
}

/** What a pod's references resolve against on its node (its namespace's ConfigMaps and Secrets). */
export type References = Pick<ResolveContext, "configMaps" | "secrets" | "claims">;

/**
 * What should run on a node: every pod bound to it, those being removed (or evicted) to stop, those
 * that finished (Succeeded, Failed) as terminal: nothing of them runs again. A pod whose ConfigMap
 * or Secret reference points at nothing is held back (not run) with the reason.
 */
export function assignmentOf(
  p: PodRow,
  leave: boolean,
  node: Pick<NodeRow, "name" | "address">,
  refs: References,
): { assignment: AssignmentInput; configError: string | null } {
  // Evicted pods go; pods that finished by themselves stay (their exited containers too) until deleted.
  const evicted = p.phase === "Failed" && p.reason === "Evicted";
  const stop = leave || p.deletionRequestedAt !== null || evicted;
  const terminal = !stop && (p.phase === "Failed" || p.phase === "Succeeded");
  const base = {
    podId: p.id,
    name: p.name,
    namespace: p.namespace,
    ...(p.template.hostname !== undefined ? { hostname: p.template.hostname } : {}),
    hostPorts: p.hostPorts,
    ...(terminal ? { terminal: true } : {}),
  };
  try {
    const resolved = resolvePod(p.template, {
      ...refs,
      pod: {
        name: p.name,
        namespace: p.namespace,
        uid: p.id,
        nodeName: node.name,
        podIP: node.address,
        hostIP: node.address,
        serviceAccountName: "default",
        labels: p.labels,
        annotations: p.annotations,
      },
    });
    return { assignment: { ...base, action: stop ? "stop" : "run", ...resolved }, configError: null };
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    // Nothing to run without its configuration; the containers of a stopping pod still go.
    return {
      assignment: { ...base, action: "stop", containers: [] },
      configError: stop ? null : error.message,
    };
  }
}

/** The ConfigMaps and Secrets the given pods refer to, by namespace, read (and opened) once. */
export async function referencesOf(
  tx: Tx,
  master: MasterKey,
  cluster: Pick<ClusterRow, "id" | "dataKeyEnc">,
  list: readonly PodRow[],
): Promise<Map<string, References>> {
  const wanted = new Map<string, { configMaps: Set<string>; secrets: Set<string>; claims: Set<string> }>();
  for (const p of list) {
    const r = referencedObjects(p.template);
    const w = wanted.get(p.namespace) ?? {
      configMaps: new Set<string>(),
      secrets: new Set<string>(),
      claims: new Set<string>(),
    };
    for (const n of r.configMaps) w.configMaps.add(n);
    for (const n of r.secrets) w.secrets.add(n);
    for (const n of r.claims) w.claims.add(n);
    wanted.set(p.namespace, w);
  }
  const out = new Map<string, References>();
  for (const [namespace, w] of wanted) {
    const names = [...w.configMaps, ...w.secrets, ...w.claims];
    const rows =
      names.length === 0
        ? []
        : await tx
            .select()
            .from(objects)
            .where(
              and(
                eq(objects.clusterId, cluster.id),
                eq(objects.namespace, namespace),
                inArray(objects.kind, ["ConfigMap", "Secret", "PersistentVolumeClaim"]),
                inArray(objects.name, names),
                // A claim being deleted still serves the pods that mount it (pvc-protection).
                or(isNull(objects.deletionTimestamp), eq(objects.kind, "PersistentVolumeClaim")),
              ),
            );
    const configMaps = new Map<
      string,
      { data: Record<string, string>; binaryData: Record<string, string> }
    >();
    const secrets = new Map<string, Record<string, string>>();
    const claims = new Map<string, string>();
    for (const o of rows) {
      if (o.kind === "PersistentVolumeClaim" && w.claims.has(o.name)) claims.set(o.name, o.id);
      if (o.kind === "ConfigMap" && w.configMaps.has(o.name)) {
        const spec = o.spec as { data?: Record<string, string>; binaryData?: Record<string, string> };
        configMaps.set(o.name, { data: spec.data ?? {}, binaryData: spec.binaryData ?? {} });
      }
      if (o.kind === "Secret" && w.secrets.has(o.name) && o.dataEnc)
        secrets.set(o.name, openSecretData(master, cluster, o.id, o.dataEnc));
    }
    out.set(namespace, { configMaps, secrets, claims });
  }
  return out;
}

const NO_REFERENCES: References = { configMaps: new Map(), secrets: new Map() };

/** A digest of the assignments: equal digests, nothing for the agent to do. */
export function assignmentsVersion(leave: boolean, list: readonly AssignmentInput[]): string {
  return createHash("sha256").update(JSON.stringify({ leave, list })).digest("base64url").slice(0, 32);
}

/** The pods bound to a node, in id order (every watch and sync of every node reads them). */
export const podsOfNode = statement((tx) =>
  tx
    .select()
    .from(pods)
    .where(eq(pods.nodeId, sql.placeholder("nodeId")))
    .orderBy(asc(pods.id)),
);

/** A node and its cluster, as a node's calls name them. */
const nodeWithCluster = statement((tx) =>
  tx
    .select({ node: nodes, cluster: clusters })
    .from(nodes)
    .innerJoin(clusters, eq(clusters.id, nodes.clusterId))
    .where(and(eq(nodes.id, sql.placeholder("nodeId")), eq(nodes.clusterId, sql.placeholder("clusterId")))),
);

/**
 * The node's current assignments, read in the caller's tenant transaction, with each pod's
 * references resolved (a node receives the values of its own pods' ConfigMaps and Secrets only).
 * The version covers resolved values, so a changed ConfigMap reaches its pods' nodes.
 */
export async function currentAssignments(
  tx: Tx,
  master: MasterKey,
  node: NodeRow,
  cluster: ClusterRow,
): Promise<WatchReply & { configErrors: Map<string, string> }> {
  const leave = mustLeave(node, cluster);
  const rows = await podsOfNode(tx, { nodeId: node.id });
  const refs = await referencesOf(tx, master, cluster, rows);
  const configErrors = new Map<string, string>();
  const list = rows.map((p) => {
    const { assignment, configError } = assignmentOf(p, leave, node, refs.get(p.namespace) ?? NO_REFERENCES);
    if (configError) configErrors.set(p.id, configError);
    return assignment;
  });
  return { version: assignmentsVersion(leave, list), leave, pods: list as WatchReply["pods"], configErrors };
}

async function readAssignments(deps: Deps, caller: NodeCaller): Promise<WatchReply> {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    const [row] = await nodeWithCluster(tx, { nodeId: caller.nodeId, clusterId: caller.clusterId });
    if (!row || row.node.status === "left")
      throw new UnauthenticatedError("this node is not part of the cluster");
    const { configErrors: _errors, ...reply } = await currentAssignments(
      tx,
      deps.master,
      row.node,
      row.cluster,
    );
    return reply;
  });
}

/**
 * The long poll that pushes assignments: answers at once when they differ from the version the
 * agent holds, otherwise as soon as a committed change concerns this node (the hub hears it from
 * Postgres), otherwise after `waitMs` with what is current. The subscription is taken before the
 * first read, so a change committed in between is never missed.
 */
export async function watchNode(
  deps: Deps,
  caller: NodeCaller,
  input: z.infer<typeof watchRequestSchema>,
  request: RequestMeta,
): Promise<WatchReply> {
  const deadline = Date.now() + Math.min(input.waitMs ?? WATCH_MAX_WAIT_MS, WATCH_MAX_WAIT_MS);
  const subscription = deps.assignments.subscribe(caller.nodeId);
  try {
    for (;;) {
      const current = await readAssignments(deps, caller);
      if (current.version !== input.version) return current;
      const changed = await subscription.next(deadline - Date.now(), request.signal);
      if (!changed) return current;
    }
  } finally {
    subscription.close();
  }
}
