import { createHash } from "node:crypto";
import { BerthError } from "@berth/core";
import { endpointPods, objects, withTenant } from "@berth/db";
import {
  type Endpoint,
  type EndpointPod,
  type EndpointSliceView,
  endpointSlicesOf,
  type LabelSelector,
  type ServiceSpec,
  selectorMatches,
} from "@berth/kube";
import type { NetworkEndpoint } from "@berth/protocol";
import { and, desc, eq, lt } from "drizzle-orm";
import { z } from "zod";
import type { Deps, UserCaller } from "../../deps";
import { loadCluster } from "../clusters";
import { namespacedMetaReply } from "../objects/meta";
import type { ObjectRow } from "../objects/render";

/**
 * EndpointSlices (discovery.k8s.io/v1) are not stored: they are worked out, whenever they are
 * read, from the Services and the pods as their nodes last reported them (ready, terminating,
 * address). So a slice is never behind its pods — a pod whose readiness fails is out of every
 * slice as soon as its node's report is committed — and there is no controller to lag or crash.
 */
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";

/** The pods of a cluster as endpoints see them (in @berth/db: the gateway reads them too). */
export { endpointPods } from "@berth/db";

/** The slices of one Service row, from the pods of its namespace. */
export function slicesOfService(service: ObjectRow, pods: readonly EndpointPod[]): EndpointSliceView[] {
  return endpointSlicesOf(
    service.name,
    service.spec as unknown as ServiceSpec,
    pods.filter((p) => p.namespace === service.namespace),
  );
}

/** One endpoint as the nodes' network view carries it. */
export function networkEndpoint(e: Endpoint, port: number): NetworkEndpoint {
  return {
    podId: e.targetRef.uid,
    ip: e.addresses[0],
    port,
    nodeName: e.nodeName ?? null,
    ...(e.hostname !== undefined ? { hostname: e.hostname } : {}),
  };
}

/** Every endpoint address of a headless Service, once each whatever its ports (it may have none). */
export function headlessAddresses(slices: readonly EndpointSliceView[]): Omit<NetworkEndpoint, "port">[] {
  return slices.flatMap((slice) =>
    slice.endpoints.map((e) => {
      const { port: _, ...rest } = networkEndpoint(e, 0);
      return rest;
    }),
  );
}

/** An EndpointSlice in Kubernetes' shape: a Service's ready endpoints that share one resolution of its ports. */
export const endpointSliceReply = z.strictObject({
  apiVersion: z.literal("discovery.k8s.io/v1"),
  kind: z.literal("EndpointSlice"),
  metadata: namespacedMetaReply
    .omit({ deletionTimestamp: true })
    .describe("Worked out on each read: the version changes with the content"),
  addressType: z.literal("IPv4"),
  endpoints: z.array(
    z.strictObject({
      addresses: z.tuple([z.string()]),
      conditions: z.strictObject({
        ready: z.literal(true),
        serving: z.boolean().describe("false: a pod not ready, kept by publishNotReadyAddresses"),
        terminating: z.literal(false),
      }),
      hostname: z.string().optional(),
      nodeName: z.string().optional(),
      targetRef: z.strictObject({
        kind: z.literal("Pod"),
        name: z.string(),
        namespace: z.string(),
        uid: z.string(),
      }),
    }),
  ),
  ports: z.array(
    z.strictObject({ name: z.string(), port: z.number().int(), protocol: z.enum(["TCP", "UDP"]) }),
  ),
});

/** One slice in Kubernetes' shape, owned by its Service. */
function renderSlice(service: ObjectRow, slice: EndpointSliceView): z.output<typeof endpointSliceReply> {
  const labels = {
    [SERVICE_NAME_LABEL]: service.name,
    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
  };
  const version = createHash("sha256").update(JSON.stringify(slice)).digest("hex").slice(0, 12);
  return {
    apiVersion: "discovery.k8s.io/v1" as const,
    kind: "EndpointSlice" as const,
    metadata: {
      name: slice.name,
      namespace: service.namespace,
      // Derived objects: the uid names the Service and the ports; the version changes with the content.
      uid: `${service.id}/${slice.name}`,
      resourceVersion: version,
      generation: 1,
      creationTimestamp: service.createdAt.toISOString(),
      labels,
      annotations: {},
      ownerReferences: [
        {
          apiVersion: "v1",
          kind: "Service",
          name: service.name,
          uid: service.id,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    addressType: "IPv4" as const,
    endpoints: slice.endpoints,
    ports: slice.ports,
  };
}
export type EndpointSliceObject = ReturnType<typeof renderSlice>;

export interface SliceRef {
  clusterId: string;
  namespace: string;
  name: string;
}

/** GET of one slice by its name (`<service>-<hash>`). */
export async function getEndpointSlice(deps: Deps, caller: UserCaller, ref: SliceRef) {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, ref.clusterId);
    const services = await tx
      .select()
      .from(objects)
      .where(
        and(
          eq(objects.clusterId, ref.clusterId),
          eq(objects.kind, "Service"),
          eq(objects.namespace, ref.namespace),
        ),
      );
    const owner = services.find((s) => ref.name.startsWith(`${s.name}-`));
    const pods = owner ? await endpointPods(tx, ref.clusterId, [ref.namespace]) : [];
    for (const s of services.filter((x) => ref.name.startsWith(`${x.name}-`)))
      for (const slice of slicesOfService(s, pods)) if (slice.name === ref.name) return renderSlice(s, slice);
    throw new BerthError(
      "NOT_FOUND",
      `endpointslices.discovery.k8s.io ${JSON.stringify(ref.name)} not found`,
    );
  });
}

export interface SliceListInput {
  clusterId: string;
  namespace?: string | undefined;
  labelSelector?: LabelSelector | undefined;
  limit: number;
  cursor?: string | undefined;
}

/**
 * The slices of a page of Services (newest first, `limit` Services a page; the cursor is the last
 * Service's uid), filtered by `labelSelector` (`kubernetes.io/service-name=web` for one Service's).
 */
export async function listEndpointSlices(deps: Deps, caller: UserCaller, input: SliceListInput) {
  return withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    const rows = await tx
      .select()
      .from(objects)
      .where(
        and(
          eq(objects.clusterId, input.clusterId),
          eq(objects.kind, "Service"),
          input.namespace !== undefined ? eq(objects.namespace, input.namespace) : undefined,
          input.cursor ? lt(objects.id, input.cursor) : undefined,
        ),
      )
      .orderBy(desc(objects.id))
      .limit(input.limit + 1);
    const services = rows.slice(0, input.limit);
    const pods = await endpointPods(tx, input.clusterId, [...new Set(services.map((s) => s.namespace))]);
    const items = services
      .flatMap((s) => slicesOfService(s, pods).map((slice) => renderSlice(s, slice)))
      .filter((v) => !input.labelSelector || selectorMatches(input.labelSelector, v.metadata.labels));
    return { items, nextCursor: rows.length > input.limit ? (services.at(-1)?.id ?? null) : null };
  });
}
