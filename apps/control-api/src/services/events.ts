import { events, withTenant } from "@berth/db";
import { dnsLabelName } from "@berth/kube";
import { and, desc, eq, isNull, like, lt, or, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import { clusterId, loadCluster } from "./clusters";
import { page, pageInput } from "./paging";
import { timestamp } from "./replies";

type EventRow = typeof events.$inferSelect;

/** `?involvedObject=Kind/name` (the namespace from `?namespace=`), or an object's uid. */
const involvedObject = z
  .string()
  .max(320)
  .regex(
    /^([A-Za-z]{1,63}\/[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?|[a-z]{1,8}_[0-9a-z]{26})$/,
    "must be Kind/name or an object's uid",
  );

export const listEventsInput = pageInput
  .extend({ clusterId, namespace: dnsLabelName.optional(), involvedObject: involvedObject.optional() })
  .strict();

/** Older events name namespaced objects `<namespace>/<name>` without a namespace column. */
function involved(e: EventRow): { kind: string; namespace?: string; name: string; uid?: string } {
  let namespace = e.namespace ?? undefined;
  let name = e.objectName;
  const slash = name.indexOf("/");
  if (slash > 0 && (namespace === undefined || name.startsWith(`${namespace}/`))) {
    namespace = name.slice(0, slash);
    name = name.slice(slash + 1);
  }
  return {
    kind: e.objectKind,
    ...(namespace ? { namespace } : {}),
    name,
    ...(e.objectUid ? { uid: e.objectUid } : {}),
  };
}

/** An event in Kubernetes' shape (core/v1 Event), plus the flat fields the list always had. */
export const eventReply = z.strictObject({
  apiVersion: z.literal("v1"),
  kind: z.literal("Event"),
  metadata: z.strictObject({
    name: z.string(),
    namespace: z.string().optional(),
    uid: z.string(),
    creationTimestamp: timestamp,
  }),
  involvedObject: z.strictObject({
    kind: z.string(),
    namespace: z.string().optional(),
    name: z.string(),
    uid: z.string().optional(),
  }),
  reason: z.string(),
  message: z.string(),
  type: z.enum(["Normal", "Warning"]),
  count: z.number().int(),
  firstTimestamp: timestamp,
  lastTimestamp: timestamp,
  source: z.strictObject({ component: z.string() }),
  id: z.string(),
  object: z.string().describe("the involved object as `Kind/[namespace/]name`"),
  createdAt: timestamp,
});

export function renderEvent(e: EventRow): z.output<typeof eventReply> {
  const obj = involved(e);
  return {
    apiVersion: "v1" as const,
    kind: "Event" as const,
    metadata: {
      name: e.id,
      ...(obj.namespace ? { namespace: obj.namespace } : {}),
      uid: e.id,
      creationTimestamp: e.createdAt.toISOString(),
    },
    involvedObject: obj,
    reason: e.reason,
    message: e.message,
    type: e.type,
    count: e.count,
    firstTimestamp: e.createdAt.toISOString(),
    lastTimestamp: e.lastTimestamp.toISOString(),
    source: { component: e.source ?? "berth" },
    // The flat fields of earlier versions.
    id: e.id,
    object: `${obj.kind}/${obj.namespace ? `${obj.namespace}/` : ""}${obj.name}`,
    createdAt: e.createdAt.toISOString(),
  };
}

/** Events of one namespace: those with the column, and older ones that name `<namespace>/<name>`. */
function inNamespace(ns: string | undefined): SQL | undefined {
  if (ns === undefined) return undefined;
  return or(eq(events.namespace, ns), and(isNull(events.namespace), like(events.objectName, `${ns}/%`)));
}

/** Events of one object: by uid, or by kind and name (in the namespace asked for, if any). */
function ofObject(ref: string | undefined, ns: string | undefined): SQL | undefined {
  if (ref === undefined) return undefined;
  const slash = ref.indexOf("/");
  if (slash < 0) return eq(events.objectUid, ref);
  const kind = ref.slice(0, slash);
  const name = ref.slice(slash + 1);
  const legacy =
    ns === undefined ? like(events.objectName, `%/${name}`) : eq(events.objectName, `${ns}/${name}`);
  return and(
    eq(events.objectKind, kind),
    or(eq(events.objectName, name), and(isNull(events.namespace), legacy)),
  );
}

export async function listEvents(deps: Deps, caller: UserCaller, input: z.infer<typeof listEventsInput>) {
  const rows = await withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    return tx
      .select()
      .from(events)
      .where(
        and(
          eq(events.clusterId, input.clusterId),
          inNamespace(input.namespace),
          ofObject(input.involvedObject, input.namespace),
          input.cursor ? lt(events.id, input.cursor) : undefined,
        ),
      )
      .orderBy(desc(events.id))
      .limit(input.limit + 1);
  });
  return page(rows.map(renderEvent), input.limit);
}
